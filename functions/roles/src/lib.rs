//! The roles function: a tenant's roles, the permission catalog and the
//! default role templates.

mod read;
mod view;
mod write;

pub use view::RoleView;

use axum::Router;
use shared::http::{self, HttpConfig};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// Every operation, one comment per method and path above its
/// `routes!` (checked against the document by `tests/api/layout.rs`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // GET /api/roles/ -> read::list_roles
        // POST /api/roles/ -> write::create_role
        .routes(routes!(read::list_roles, write::create_role))
        // GET /api/roles/{id}/ -> read::get_role
        // PUT /api/roles/{id}/ -> write::replace_role
        // PATCH /api/roles/{id}/ -> write::patch_role
        // DELETE /api/roles/{id}/ -> write::delete_role
        .routes(routes!(
            read::get_role,
            write::replace_role,
            write::patch_role,
            write::delete_role
        ))
        // GET /api/roles/{id}/members/ -> read::role_members
        .routes(routes!(read::role_members))
        // GET /api/roles/permissions_schema/ -> read::permissions_schema
        .routes(routes!(read::permissions_schema))
        // GET /api/roles/templates/ -> read::role_templates
        .routes(routes!(read::role_templates))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
