//! The users function: the caller's own profile and the tenant admins'
//! management of users, their roles and teams.

mod change;
mod create;
mod load;
mod manage;
mod me;
mod profile;
mod read;
mod roles;

use axum::Router;
use shared::http::{self, HttpConfig};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me::get_me))
        .routes(routes!(me::put_me, me::patch_me))
        .routes(routes!(read::list_users, create::create_user))
        .routes(routes!(
            read::get_user,
            manage::replace_user,
            manage::patch_user,
            manage::deactivate_user
        ))
        .routes(routes!(manage::activate_user))
        .routes(routes!(roles::assign_roles))
        .routes(routes!(roles::remove_role))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
