//! The docs function: the platform's OpenAPI document (every function's
//! operations merged), Swagger UI, and a health check.

mod gzipped;
mod health;
mod schema;
mod swagger;

pub use schema::{openapi, openapi_json};

use axum::routing::get;
use axum::Router;
use shared::http::{self, HttpConfig};
use shared::store::Store;
use tower_http::compression::CompressionLayer;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
}

/// Every operation: method, path and handler on one line. [`document`]
/// lists the same handlers; `tests/api/layout.rs` holds the two together.
#[rustfmt::skip]
fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/schema/", get(schema::get_schema))
        .route("/api/health/", get(health::health))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(schema::get_schema, health::health))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

/// The complete HTTP app: operations plus Swagger UI.
///
/// Responses are gzip-compressed for clients that accept it: the OpenAPI
/// document (about 100 KB) and Swagger UI's assets (over 1 MB) are this
/// platform's only large bodies, and API Gateway does not compress. Locally
/// it also makes `cargo lambda watch`'s large-response defect rarer
/// (docs/testing.md).
pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let app = routes()
        .with_state(state)
        .merge(swagger::router())
        .layer(CompressionLayer::new().gzip(true));
    http::app(app, config)
}
