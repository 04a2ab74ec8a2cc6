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
    let mut ops: Vec<(String, String, Value)> = Vec::new();
    for (template, methods) in doc["paths"].as_object().expect("paths") {
        for (method, op) in methods.as_object().expect("operations") {
            ops.push((template.clone(), method.to_ascii_uppercase(), op.clone()));
        }
    }
    assert!(ops.len() >= 29, "{} operations", ops.len());
    // Stopping the server goes last.
    ops.sort_by_key(|(template, _, _)| template == "/v1/system/stop");
    // The check can fail: an undocumented path is the router's 404.
    let (code, body) = d.http_unix("GET", "/v1/nosuch", &[], b"");
    assert!(unrouted(code, &body));
    for (template, method, op) in &ops {
        let path = template
            .replace("{id}", "999")
            .replace("{stream}", "stdout")
            .replace("{node}", "nosuch")
            .replace("{file}", "swagger-ui.css");
        let (code, body) = d.http_unix(method, &path, &[], b"");
        assert!(
            !unrouted(code, &body),
            "{method} {path} is documented but not served: {code} {}",
            String::from_utf8_lossy(&body)
        );
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()));
    }
}

#[test]
fn the_document_and_its_page_are_public() {
    let d = Daemon::builder().tcp().start();
    let anyone = [("Authorization", "Bearer x")];
    let (code, _) = d.http("GET", "/v1/openapi.json", &anyone, b"");
    assert_eq!(code, 200);
    let (code, page) = d.http("GET", "/swagger", &anyone, b"");
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&page).contains("/v1/openapi.json"));
    let (code, js) = d.http("GET", "/swagger/swagger-ui-bundle.js", &anyone, b"");
    assert_eq!(code, 200);
    assert!(js.len() > 100_000, "{} bytes", js.len());
    let (code, _) = d.http_unix("GET", "/swagger/jobo.db", &[], b"");
    assert_eq!(code, 404);
    // A job route next to them still wants a token.
    let (code, _) = d.http("GET", "/v1/jobs", &anyone, b"");
    assert_eq!(code, 401);
}
