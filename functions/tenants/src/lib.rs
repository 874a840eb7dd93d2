//! The tenants function: a tenant admin's own organisation (`/me/`) and the
//! platform super admins' registry of tenants.

mod dedicated_table;
mod profile;
mod read;
mod view;
mod write;

use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use shared::http::{self, HttpConfig};

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// Every operation: method, path and handler on one line. [`document`]
/// lists the same handlers; `tests/api/layout.rs` holds the two together.
#[rustfmt::skip]
fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/tenants/me/", get(read::get_me))
        .route("/api/tenants/me/", put(write::put_me))
        .route("/api/tenants/me/", patch(write::patch_me))
        .route("/api/tenants/", get(read::list_tenants))
        .route("/api/tenants/", post(write::create_tenant))
        .route("/api/tenants/{id}/", get(read::get_tenant))
        .route("/api/tenants/{id}/", put(write::put_tenant))
        .route("/api/tenants/{id}/", patch(write::patch_tenant))
        .route("/api/tenants/{id}/", delete(write::delete_tenant))
        .route("/api/tenants/{id}/suspend/", post(write::suspend_tenant))
        .route("/api/tenants/{id}/activate/", post(write::activate_tenant))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        read::get_me,
        write::put_me,
        write::patch_me,
        read::list_tenants,
        write::create_tenant,
        read::get_tenant,
        write::put_tenant,
        write::patch_tenant,
        write::delete_tenant,
        write::suspend_tenant,
        write::activate_tenant
    ))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    http::app(routes().with_state(state), config)
}
