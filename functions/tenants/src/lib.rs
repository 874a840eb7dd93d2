//! The tenants function: a tenant admin's own organisation (`/me/`) and the
//! platform super admins' registry of tenants.

mod dedicated_table;
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
        .routes(routes!(read::get_me, write::put_me, write::patch_me))
        .routes(routes!(read::list_tenants, write::create_tenant))
        .routes(routes!(
            read::get_tenant,
            write::put_tenant,
            write::patch_tenant,
            write::delete_tenant
        ))
        .routes(routes!(write::suspend_tenant))
        .routes(routes!(write::activate_tenant))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
