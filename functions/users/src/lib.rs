//! The users function: the caller's own profile and the tenant admins'
//! management of users, their roles and teams.

mod assignment;
mod profile;
mod read;
mod view;
mod write;

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
        // GET /api/users/me/ -> read::get_me
        .routes(routes!(read::get_me))
        // PUT /api/users/update_me/ -> write::put_me
        // PATCH /api/users/update_me/ -> write::patch_me
        .routes(routes!(write::put_me, write::patch_me))
        // GET /api/users/ -> read::list_users
        // POST /api/users/ -> write::create_user
        .routes(routes!(read::list_users, write::create_user))
        // GET /api/users/{id}/ -> read::get_user
        // PUT /api/users/{id}/ -> write::replace_user
        // PATCH /api/users/{id}/ -> write::patch_user
        // DELETE /api/users/{id}/ -> write::deactivate_user
        .routes(routes!(
            read::get_user,
            write::replace_user,
            write::patch_user,
            write::deactivate_user
        ))
        // POST /api/users/{id}/activate/ -> write::activate_user
        .routes(routes!(write::activate_user))
        // POST /api/users/{id}/assign_roles/ -> write::assign_roles
        .routes(routes!(write::assign_roles))
        // DELETE /api/users/{id}/remove_role/ -> write::remove_role
        .routes(routes!(write::remove_role))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
