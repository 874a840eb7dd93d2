//! The audit function: a tenant's audit log, newest first.

mod read;
mod view;

pub use view::AuditEntryView;

use axum::routing::get;
use axum::Router;
use shared::http::{self, HttpConfig};

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// Every operation: method, path and handler on one line. [`document`]
/// lists the same handlers; `tests/api/layout.rs` holds the two together.
#[rustfmt::skip]
fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/audit/", get(read::list_audit))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(read::list_audit))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    http::app(routes().with_state(state), config)
}
