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

use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use shared::http::{self, HttpConfig};

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// Every operation: method, path and handler on one line. [`document`]
/// lists the same handlers; `tests/api/layout.rs` holds the two together.
#[rustfmt::skip]
fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/crm/leads/", get(leads::read::list_leads))
        .route("/api/crm/leads/", post(leads::write::create_lead))
        .route("/api/crm/leads/export/", get(leads::export::export_leads))
        .route("/api/crm/leads/{id}/", get(leads::read::get_lead))
        .route("/api/crm/leads/{id}/", put(leads::write::replace_lead))
        .route("/api/crm/leads/{id}/", patch(leads::write::patch_lead))
        .route("/api/crm/leads/{id}/", delete(leads::write::delete_lead))
        .route("/api/crm/leads/{id}/assign/", post(leads::write::assign_lead))
        .route("/api/crm/leads/{id}/activities/", get(activities::read::list_activities))
        .route("/api/crm/leads/{id}/activities/", post(activities::write::create_activity))
        .route("/api/crm/activities/{id}/", get(activities::read::get_activity))
        .route("/api/crm/activities/{id}/", patch(activities::write::patch_activity))
        .route("/api/crm/activities/{id}/", delete(activities::write::delete_activity))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        leads::read::list_leads,
        leads::write::create_lead,
        leads::export::export_leads,
        leads::read::get_lead,
        leads::write::replace_lead,
        leads::write::patch_lead,
        leads::write::delete_lead,
        leads::write::assign_lead,
        activities::read::list_activities,
        activities::write::create_activity,
        activities::read::get_activity,
        activities::write::patch_activity,
        activities::write::delete_activity
    ))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    http::app(routes().with_state(state), config)
}
