//! The API's own documentation: `GET /v1/openapi.json` (built by `api/openapi.rs`) and the
//! Swagger UI page at `/swagger`, as the old server had, from the Swagger UI release that
//! `utoipa-swagger-ui-vendored` ships (so the page works with no network). Both are public:
//! they describe the API and touch no job.

use crate::http::Body;
use crate::http::respond::{ApiError, full, json};
use bytes::Bytes;
use hyper::{Response, StatusCode};
use std::io::Read;
use std::sync::OnceLock;

/// The files of the Swagger UI page jobod serves, under `/swagger/`.
const ASSETS: &[(&str, &str)] = &[
    ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    ("swagger-ui.css", "text/css; charset=utf-8"),
];

const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>jobo API</title>
<link rel="stylesheet" href="/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/swagger/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: "/v1/openapi.json", dom_id: "#swagger-ui" });
</script>
</body>
</html>
"##;

pub fn openapi() -> Response<Body> {
    json(StatusCode::OK, &crate::api::openapi::document())
}

/// `/swagger` (the page) or `/swagger/{file}` (one of [`ASSETS`]).
pub fn swagger(file: Option<&str>) -> Response<Body> {
    let Some(file) = file else {
        return full(StatusCode::OK, "text/html; charset=utf-8", PAGE);
    };
    let Some((i, (_, media))) = ASSETS.iter().enumerate().find(|(_, (n, _))| *n == file) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no file /swagger/{file}: the page is /swagger"),
        )
        .native();
    };
    match assets() {
        Ok(files) => full(StatusCode::OK, media, files[i].clone()),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the Swagger UI files: {e}"),
        )
        .native(),
    }
}

/// [`ASSETS`] out of the vendored zip, unpacked on first use and kept.
fn assets() -> Result<&'static [Bytes], String> {
    static FILES: OnceLock<Result<Vec<Bytes>, String>> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let zip = std::io::Cursor::new(utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED);
            let mut zip = zip::ZipArchive::new(zip).map_err(|e| e.to_string())?;
            let root = zip
                .file_names()
                .find_map(|n| n.ok()?.split_once('/').map(|(top, _)| top.to_string()))
                .ok_or("the zip is empty")?;
            ASSETS
                .iter()
                .map(|(name, _)| {
                    let mut entry = zip
                        .by_name(&format!("{root}/dist/{name}"))
                        .map_err(|e| format!("{name}: {e}"))?;
                    let mut bytes = Vec::new();
                    entry
                        .read_to_end(&mut bytes)
                        .map_err(|e| format!("{name}: {e}"))?;
                    Ok(Bytes::from(bytes))
                })
                .collect()
        })
        .as_deref()
        .map_err(Clone::clone)
}
