//! The CRM module: a tenant's leads and their activities, with the `own`,
//! `team` and `all` scopes of the `crm.*` grants enforced on every
//! endpoint. Built only on what `shared` offers every module service
//! (docs/modules.md): `Require` (which also refuses tenants without the
//! module), `Actor::can` and `Actor::list_filter`, the store's tenant scope
//! with its ownership indexes, errors and pagination.
//!
//! Two resources, each laid out as a function is (read / write / view):
//! `leads/` and `activities/`.

mod access;
mod activities;
mod leads;
pub mod records;

pub use activities::view::ActivityView;
pub use leads::view::LeadView;

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
        // GET /api/crm/leads/ -> leads::read::list_leads
        // POST /api/crm/leads/ -> leads::write::create_lead
        .routes(routes!(leads::read::list_leads, leads::write::create_lead))
        // GET /api/crm/leads/export/ -> leads::export::export_leads
        .routes(routes!(leads::export::export_leads))
        // GET /api/crm/leads/{id}/ -> leads::read::get_lead
        // PUT /api/crm/leads/{id}/ -> leads::write::replace_lead
        // PATCH /api/crm/leads/{id}/ -> leads::write::patch_lead
        // DELETE /api/crm/leads/{id}/ -> leads::write::delete_lead
        .routes(routes!(
            leads::read::get_lead,
            leads::write::replace_lead,
            leads::write::patch_lead,
            leads::write::delete_lead
        ))
        // POST /api/crm/leads/{id}/assign/ -> leads::write::assign_lead
        .routes(routes!(leads::write::assign_lead))
        // GET /api/crm/leads/{id}/activities/ -> activities::read::list_activities
        // POST /api/crm/leads/{id}/activities/ -> activities::write::create_activity
        .routes(routes!(
            activities::read::list_activities,
            activities::write::create_activity
        ))
        // GET /api/crm/activities/{id}/ -> activities::read::get_activity
        // PATCH /api/crm/activities/{id}/ -> activities::write::patch_activity
        // DELETE /api/crm/activities/{id}/ -> activities::write::delete_activity
        .routes(routes!(
            activities::read::get_activity,
            activities::write::patch_activity,
            activities::write::delete_activity
        ))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
