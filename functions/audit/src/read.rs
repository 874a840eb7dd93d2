//! Reading the tenant's audit log.

use crate::view::AuditEntryView;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use shared::auth::{AdministrationAuditView, Require};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ListQuery, PageQuery, Paginated};
use shared::keys;
use shared::store::PageRequest;
use uuid::Uuid;

/// Filters of the audit log (all optional, combined with AND).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFilters {
    actor: Option<Uuid>,
    entity: Option<String>,
    action: Option<String>,
}

/// The tenant's audit log, newest first.
#[utoipa::path(
    get,
    path = "/api/audit/",
    tag = "audit",
    description = "Permission: `administration.audit.view` (super admins pass; `X-Tenant-Id` moves only them). \
        Filters are applied within the tenant's log partition.",
    params(
        ("actor" = Option<Uuid>, Query, description = "Only changes by this user"),
        ("entity" = Option<String>, Query, description = "Only this kind of record, e.g. `role`"),
        ("action" = Option<String>, Query, description = "Only this action, e.g. `role.update`"),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of audit entries", body = Paginated<AuditEntryView>),
        (status = 400, description = "Unknown or invalid filter", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks administration.audit.view", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_audit(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationAuditView>,
    ListQuery(filters): ListQuery<AuditFilters>,
    page: PageQuery,
) -> Result<Json<Paginated<AuditEntryView>>, ApiError> {
    let mut request = PageRequest::new(page.page_size, page.cursor.clone(), "audit").descending();
    if let Some(a) = filters.actor {
        request = request.where_eq("actor_id", a.to_string());
    }
    if let Some(e) = filters.entity {
        request = request.where_eq("entity_type", e);
    }
    if let Some(a) = filters.action {
        request = request.where_eq("action", a);
    }
    let entries = state
        .store
        .tenant(actor.scope())
        .query_view::<AuditEntryView>(&keys::audit_log(), &request)
        .await?;
    Ok(Json(page.respond(entries, |entry| entry)))
}
