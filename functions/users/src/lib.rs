//! The users function: the caller's own profile and the tenant admins'
//! management of users.

mod admin;
mod load;
mod me;

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
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::get_user))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
