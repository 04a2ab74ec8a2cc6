//! `/v1/openapi.json` names every route jobod serves, and jobod serves every route it names;
//! the Swagger UI page and its files load. (That every native `Route` is in the document is
//! checked by the unit test in `src/api/openapi.rs`.)

mod common;
use common::*;
use serde_json::Value;

/// Whether an answer is the router's own "no such route" (404 naming the route, or 405),
/// rather than a served route's answer about its input.
fn unrouted(code: u16, body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    code == 405 || (code == 404 && text.contains("no route for"))
}

#[test]
fn every_documented_route_is_served() {
    let d = Daemon::builder().tcp().start();
    let (code, body) = d.http_unix("GET", "/v1/openapi.json", &[], b"");
    assert_eq!(code, 200);
    let doc: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut seen = 0;
    for (template, ops) in paths {
        for (method, op) in ops.as_object().expect("operations") {
            let path = template
                .replace("{id}", "999")
                .replace("{stream}", "stdout")
                .replace("{node}", "nosuch")
                .replace("{file}", "swagger-ui.css");
            let method = method.to_ascii_uppercase();
            let (code, body) = d.http_unix(&method, &path, &[], b"");
            assert!(
                !unrouted(code, &body),
                "{method} {path} is documented but not served: {code} {}",
                String::from_utf8_lossy(&body)
            );
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()));
            seen += 1;
        }
    }
    assert!(seen >= 27, "{seen} operations");
    // The check can fail: an undocumented path is the router's 404.
    let (code, body) = d.http_unix("GET", "/v1/nosuch", &[], b"");
    assert!(unrouted(code, &body));

    // Public, like the page that renders it, on TCP too (they touch no job).
    let (code, _) = d.http(
        "GET",
        "/v1/openapi.json",
        &[("Authorization", "Bearer x")],
        b"",
    );
    assert_eq!(code, 200);
    let (code, page) = d.http("GET", "/swagger", &[("Authorization", "Bearer x")], b"");
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&page).contains("/v1/openapi.json"));
    let (code, js) = d.http_unix("GET", "/swagger/swagger-ui-bundle.js", &[], b"");
    assert_eq!(code, 200);
    assert!(js.len() > 100_000, "{} bytes", js.len());
    let (code, _) = d.http_unix("GET", "/swagger/../jobo.db", &[], b"");
    assert_eq!(code, 404);
}
