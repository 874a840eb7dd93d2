//! Swagger UI at `/api/docs/`: our page and initializer, and the files of
//! the Swagger UI distribution that the page loads, embedded gzip-compressed
//! by build.rs and sent as they are to every client that accepts gzip.

use crate::gzipped;
use axum::extract::Path;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use shared::http::ApiError;

/// Absolute asset paths: the page works at `/api/docs` as at `/api/docs/`.
const INDEX: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Swagger UI</title>
    <link rel="stylesheet" type="text/css" href="/api/docs/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="/api/docs/index.css" />
    <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="/api/docs/favicon-16x16.png" sizes="16x16" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/api/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/api/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/api/docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"#;

const INITIALIZER: &str = r##"window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/schema/",
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
};
"##;

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        (
            $name,
            $content_type,
            include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".gz")) as &[u8],
        )
    };
}

/// (file name, content type, gzip bytes), as build.rs wrote them.
const ASSETS: &[(&str, &str, &[u8])] = &[
    asset!("index.css", "text/css; charset=utf-8"),
    asset!("swagger-ui.css", "text/css; charset=utf-8"),
    asset!("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    asset!(
        "swagger-ui-standalone-preset.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("favicon-32x32.png", "image/png"),
    asset!("favicon-16x16.png", "image/png"),
    asset!("oauth2-redirect.html", "text/html; charset=utf-8"),
];

/// The routes, for any state (none is used).
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/api/docs/", get(index))
        .route("/api/docs/swagger-initializer.js", get(initializer))
        .route("/api/docs/{file}", get(asset))
}

async fn index() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX)
}

async fn initializer() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        INITIALIZER,
    )
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (_, content_type, gzipped) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or(ApiError::NotFound)?;
    gzipped::respond(
        content_type,
        gzipped,
        &headers,
        Some("public, max-age=3600"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_gzip() {
        for (name, _, bytes) in ASSETS {
            assert_eq!(&bytes[..2], &[0x1f, 0x8b], "{name}");
        }
    }
}
