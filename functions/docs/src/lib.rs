//! The docs function: the platform's OpenAPI document (every function's
//! operations merged), Swagger UI, and a health check.

mod health;
mod schema;
mod swagger;

pub use schema::{openapi, openapi_json};

use axum::Router;
use shared::http::{self, HttpConfig};
use shared::store::Store;
use tower_http::compression::CompressionLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
}

/// This function's own operations, one comment per method and path above
/// its `routes!` (checked against the document by `tests/api/layout.rs`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // GET /api/schema/ -> schema::get_schema
        .routes(routes!(schema::get_schema))
        // GET /api/health/ -> health::health
        .routes(routes!(health::health))
}

/// The complete HTTP app: operations plus Swagger UI.
///
/// Responses are gzip-compressed for clients that accept it: the OpenAPI
/// document (about 100 KB) and Swagger UI's assets (over 1 MB) are this
/// platform's only large bodies, and API Gateway does not compress. Locally
/// it also makes `cargo lambda watch`'s large-response defect rarer
/// (docs/testing.md).
pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    let app = api
        .with_state(state)
        .merge(swagger::router())
        .layer(CompressionLayer::new().gzip(true));
    http::app(app, config)
}
