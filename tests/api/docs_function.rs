//! The docs function in-process: schema, Swagger UI, health, conventions.

use http::StatusCode;
use shared::http::HttpConfig;
use shared::runtime::dynamodb_client;
use shared::store::{CursorSigner, Store};
use tests::iam::function_store;
use tests::{fresh_store, get, post_json};

async fn app() -> axum::Router {
    docs::router(
        docs::AppState {
            store: function_store(&fresh_store().await, "docs"),
        },
        &HttpConfig::default(),
    )
}

#[tokio::test]
async fn serves_the_openapi_document_with_and_without_trailing_slash() {
    let app = app().await;
    for uri in ["/api/schema/", "/api/schema"] {
        let res = get(&app, uri).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        let doc = res.json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        assert!(doc["paths"]["/api/schema/"]["get"].is_object());
        assert!(doc["paths"]["/api/health/"]["get"].is_object());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}

#[tokio::test]
async fn the_openapi_document_is_gzip_compressed_for_clients_that_accept_it() {
    let app = app().await;
    let plain = get(&app, "/api/schema/").await;
    assert!(plain.headers.get("content-encoding").is_none());
    let request = http::Request::get("/api/schema/")
        .header("accept-encoding", "gzip")
        .body(axum::body::Body::empty())
        .unwrap();
    let gzip = tests::send(&app, request).await;
    assert_eq!(gzip.status, StatusCode::OK);
    assert_eq!(gzip.headers["content-encoding"], "gzip");
    assert_eq!(&gzip.body[..2], &[0x1f, 0x8b], "a gzip stream");
    // At least four times smaller than the plain document.
    assert!(
        gzip.body.len() * 4 < plain.body.len(),
        "{} of {} bytes",
        gzip.body.len(),
        plain.body.len()
    );
}

#[tokio::test]
async fn serves_swagger_ui_pointing_at_the_schema() {
    let app = app().await;
    let res = get(&app, "/api/docs/").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.text().contains("swagger-ui"), "{}", res.text());
    let init = get(&app, "/api/docs/swagger-initializer.js").await;
    assert_eq!(init.status, StatusCode::OK);
    assert!(init.text().contains("/api/schema/"), "{}", init.text());
    let css = get(&app, "/api/docs/swagger-ui.css").await;
    assert_eq!(css.status, StatusCode::OK);
    // The slash-less form reaches the UI too (redirect or page).
    let bare = get(&app, "/api/docs").await;
    assert!(
        bare.status.is_success() || bare.status.is_redirection(),
        "{}",
        bare.status
    );
}

#[tokio::test]
async fn swagger_ui_assets_are_sent_compressed_or_plain_as_the_client_asks() {
    let app = app().await;
    let asking = |encoding: Option<&str>| {
        let mut request = http::Request::get("/api/docs/swagger-ui-bundle.js");
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        request.body(axum::body::Body::empty()).unwrap()
    };
    let gzip = tests::send(&app, asking(Some("gzip, br"))).await;
    assert_eq!(gzip.status, StatusCode::OK);
    assert_eq!(gzip.headers["content-encoding"], "gzip");
    assert_eq!(&gzip.body[..2], &[0x1f, 0x8b], "a gzip stream");
    let plain = tests::send(&app, asking(None)).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.headers.get("content-encoding").is_none());
    assert!(plain.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    // The whole bundle, which the page needs to start.
    assert!(plain.text().contains("SwaggerUIBundle"));
    assert!(plain.body.len() > 2 * gzip.body.len());
    // Only what the page loads is embedded: no source maps.
    let map = get(&app, "/api/docs/swagger-ui-bundle.js.map").await;
    assert_eq!(map.status, StatusCode::NOT_FOUND);
    assert_eq!(map.json()["code"], "not_found");
    // The page's own links are absolute, so /api/docs works as /api/docs/.
    let page = get(&app, "/api/docs/").await;
    for asset in [
        "/api/docs/swagger-ui.css",
        "/api/docs/swagger-ui-bundle.js",
        "/api/docs/swagger-ui-standalone-preset.js",
        "/api/docs/swagger-initializer.js",
    ] {
        assert!(page.text().contains(asset), "{asset}");
        assert_eq!(get(&app, asset).await.status, StatusCode::OK, "{asset}");
    }
}

#[tokio::test]
async fn health_reports_dynamodb() {
    let app = app().await;
    let res = get(&app, "/api/health/").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["dynamodb"], "ok");
}

#[tokio::test]
async fn health_is_503_json_when_dynamodb_is_unreachable() {
    let client = dynamodb_client(Some("http://127.0.0.1:9"));
    let store = Store::new(client, "nowhere", CursorSigner::new(b"s".to_vec()));
    let app = docs::router(docs::AppState { store }, &HttpConfig::default());
    let res = get(&app, "/api/health/").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.json()["code"], "service_unavailable");
    assert!(res.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_json_errors() {
    let app = app().await;
    // What API Gateway's catch-all routes (`/` and `/{proxy+}`) bring here.
    for uri in [
        "/api/nothing-here/",
        "/",
        "/nothing",
        "/a/b/c?x=1",
        "/wp-login.php",
    ] {
        let res = get(&app, uri).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(
            res.json(),
            serde_json::json!({"detail": "Not found.", "code": "not_found"}),
            "{uri}"
        );
        assert!(res.headers.contains_key("x-request-id"));
    }
    let res = post_json(&app, "/nothing/", &serde_json::json!({}), None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = post_json(&app, "/api/health/", &serde_json::json!({}), None).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.json()["code"], "method_not_allowed");
}
