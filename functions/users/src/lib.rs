//! The users function: the caller's own profile and the tenant admins'
//! management of users.

mod admin;
mod load;
mod me;

use axum::extract::FromRef;
use axum::Router;
use shared::auth::TokenVerifier;
use shared::http::{self, HttpConfig};
use shared::store::Store;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub verifier: Arc<TokenVerifier>,
}

impl FromRef<AppState> for Arc<TokenVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

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
