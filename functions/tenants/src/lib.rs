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

/// Every operation, one comment per method and path above its
/// `routes!` (checked against the document by `tests/api/layout.rs`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // GET /api/tenants/me/ -> read::get_me
        // PUT /api/tenants/me/ -> write::put_me
        // PATCH /api/tenants/me/ -> write::patch_me
        .routes(routes!(read::get_me, write::put_me, write::patch_me))
        // GET /api/tenants/ -> read::list_tenants
        // POST /api/tenants/ -> write::create_tenant
        .routes(routes!(read::list_tenants, write::create_tenant))
        // GET /api/tenants/{id}/ -> read::get_tenant
        // PUT /api/tenants/{id}/ -> write::put_tenant
        // PATCH /api/tenants/{id}/ -> write::patch_tenant
        // DELETE /api/tenants/{id}/ -> write::delete_tenant
        .routes(routes!(
            read::get_tenant,
            write::put_tenant,
            write::patch_tenant,
            write::delete_tenant
        ))
        // POST /api/tenants/{id}/suspend/ -> write::suspend_tenant
        .routes(routes!(write::suspend_tenant))
        // POST /api/tenants/{id}/activate/ -> write::activate_tenant
        .routes(routes!(write::activate_tenant))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
