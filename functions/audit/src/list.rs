use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::auth::{AdministrationAuditView, Require};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ListQuery, PageQuery, Paginated};
use shared::keys;
use shared::records::AuditRecord;
use shared::store::PageRequest;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// One change, as the audit log shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor_id: Uuid,
    pub actor_email: String,
    /// A platform super admin acted inside this tenant.
    pub via_super_admin: bool,
    /// `<entity>.<verb>`, e.g. `role.update`.
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    /// Changed fields: `{"name": {"before": "A", "after": "B"}}`.
    #[schema(value_type = Object)]
    pub changes: Value,
    pub request_id: String,
}

impl From<AuditRecord> for AuditEntryView {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            actor_email: r.actor_email,
            via_super_admin: r.via_super_admin,
            action: r.action,
            entity: r.entity_type,
            entity_id: r.entity_id,
            changes: r.changes,
            request_id: r.request_id,
        }
    }
}

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
        .query::<AuditRecord>(&keys::audit_log(), &request)
        .await?;
    Ok(Json(page.respond(entries, AuditEntryView::from)))
}
