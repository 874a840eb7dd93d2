//! The roles function: a tenant's roles, the permission catalog and the
//! default role templates.

mod read;
mod view;
mod write;

pub use view::RoleView;

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
        .route("/api/roles/", get(read::list_roles))
        .route("/api/roles/", post(write::create_role))
        .route("/api/roles/{id}/", get(read::get_role))
        .route("/api/roles/{id}/", put(write::replace_role))
        .route("/api/roles/{id}/", patch(write::patch_role))
        .route("/api/roles/{id}/", delete(write::delete_role))
        .route("/api/roles/{id}/members/", get(read::role_members))
        .route("/api/roles/permissions_schema/", get(read::permissions_schema))
        .route("/api/roles/templates/", get(read::role_templates))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        read::list_roles,
        write::create_role,
        read::get_role,
        write::replace_role,
        write::patch_role,
        write::delete_role,
        read::role_members,
        read::permissions_schema,
        read::role_templates
    ))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    http::app(routes().with_state(state), config)
}
