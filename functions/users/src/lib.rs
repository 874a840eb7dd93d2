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

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read::get_me))
        .routes(routes!(write::put_me, write::patch_me))
        .routes(routes!(read::list_users, write::create_user))
        .routes(routes!(
            read::get_user,
            write::replace_user,
            write::patch_user,
            write::deactivate_user
        ))
        .routes(routes!(write::activate_user))
        .routes(routes!(write::assign_roles))
        .routes(routes!(write::remove_role))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
