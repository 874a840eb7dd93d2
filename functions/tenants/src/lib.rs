//! The tenants function: a tenant admin's own organisation (`/me/`) and the
//! platform super admins' registry of tenants.

mod admin;
mod me;
mod registry;
mod update;

use axum::Router;
use shared::http::{self, HttpConfig};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me::get_me, me::put_me, me::patch_me))
        .routes(routes!(admin::list_tenants, admin::create_tenant))
        .routes(routes!(
            admin::get_tenant,
            admin::put_tenant,
            admin::patch_tenant,
            admin::delete_tenant
        ))
        .routes(routes!(admin::suspend_tenant))
        .routes(routes!(admin::activate_tenant))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
