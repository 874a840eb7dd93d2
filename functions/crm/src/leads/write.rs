//! Creating, changing, assigning and deleting leads. Each write is one
//! transaction with its audit entry; creating and deleting also move the
//! tenant's lead count, which creation holds under the plan's `max_leads`.

use super::assignment::{assign, Assignee};
use super::fields::{check, Checked, LeadInput, LeadPatch, DEFAULT_CURRENCY};
use super::view::LeadView;
use crate::access::{allowed, visible_lead};
use crate::records::{self, ActivityRecord, LeadRecord, LeadStatus};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rust_decimal::Decimal;
use serde::Deserialize;
use shared::audit;
use shared::auth::{Actor, CrmLeadsCreate, CrmLeadsView, Require};
use shared::billing_store::current_plan;
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, IdPath, Replace};
use shared::keys;
use shared::permissions::actions;
use shared::store::{Add, Condition, Label, OnConflict, PageRequest};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

shared::replace_body!(
    /// The PUT body: `LeadInput`, and the rest of `LeadView` read-only.
    pub LeadReplaceBody,
    LeadInput,
    LeadView
);

/// Fields the audit log leaves out.
const UNAUDITED: &[&str] = &["version", "updated_at"];

fn changed_concurrently() -> ApiError {
    ApiError::conflict(
        "The lead was changed by another request; reload and try again.",
        "conflict",
    )
}

fn plan_limit_reached(max: Option<u32>) -> ApiError {
    ApiError::Forbidden {
        detail: format!(
            "Your plan allows {} leads; upgrade or delete leads to add more.",
            max.unwrap_or(0)
        ),
        code: "plan_limit_reached",
        permission: None,
    }
}

/// Applies the checked fields to a lead.
fn apply(lead: &mut LeadRecord, c: Checked) {
    if let Some(v) = c.name {
        lead.name = v;
    }
    if let Some(v) = c.email {
        lead.email = v;
    }
    if let Some(v) = c.phone {
        lead.phone = v;
    }
    if let Some(v) = c.company {
        lead.company = v;
    }
    if let Some(v) = c.status {
        lead.status = v;
    }
    if let Some(v) = c.value {
        lead.value = v;
    }
    if let Some(v) = c.currency {
        lead.currency = v;
    }
    if let Some(v) = c.source {
        lead.source = v;
    }
    if let Some(v) = c.notes {
        lead.notes = v;
    }
    if let Some(v) = c.tags {
        lead.tags = v;
    }
}

/// Create a lead.
#[utoipa::path(
    post,
    path = "/api/crm/leads/",
    tag = "crm",
    description = "Permission: `crm.leads.create`; the tenant must have the `crm` module (else 403 `module_disabled`, \
        also for a token issued before it was withdrawn). Super admins act in a tenant with `X-Tenant-Id` (and must name `owner_id`). \
        `owner_id` defaults to the caller; naming another owner needs `crm.leads.edit` at `team` (with a `team_id` of one of the \
        caller's teams, the owner a member of it) or `all`, and a `team_id` the caller is not in needs `all`. \
        The lead, the tenant's lead count (held under the plan's `max_leads`) and the audit entry are written in one transaction. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    request_body = LeadInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = LeadView),
        (status = 400, description = "Invalid or unknown field; `owner_id` not an active user, `team_id` not a team of this tenant, or the owner not a member of the team", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `crm.leads.create`, or the `crm.leads.edit` scope to assign as asked (`required`, `held`); `module_disabled`; `plan_limit_reached` at `max_leads`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "A concurrent write on the same items", body = ErrorBody),
    ),
)]
pub(crate) async fn create_lead(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmLeadsCreate>,
    ApiJson(input): ApiJson<LeadInput>,
) -> Result<(StatusCode, Json<LeadView>), ApiError> {
    let owner_id = input.owner_id.unwrap_or(actor.user_id());
    let team_id = input.team_id;
    let checked = check(input.into())?;
    let (assignee, plan) = tokio::try_join!(
        assign(&state.store, &actor, None, owner_id, team_id),
        async {
            current_plan(&state.store, actor.scope())
                .await
                .map_err(ApiError::from)
        },
    )?;
    let max_leads = plan.and_then(|p| p.max_leads);
    let now = OffsetDateTime::now_utc();
    let mut lead = LeadRecord {
        id: Uuid::now_v7(),
        name: String::new(),
        email: None,
        phone: None,
        company: None,
        status: LeadStatus::New,
        value: Decimal::ZERO,
        currency: DEFAULT_CURRENCY.to_owned(),
        source: None,
        notes: None,
        tags: Vec::new(),
        owner_id: assignee.owner_id,
        owner_email: assignee.owner_email,
        team_id: assignee.team_id,
        created_by: actor.user_id(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    apply(&mut lead, checked);
    let mut count = Add::new("leads", 1).create_if_missing();
    if let Some(max) = max_leads {
        count = count.below(i64::from(max));
    }
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope())
        .put(
            &records::lead(lead.id),
            &lead,
            Condition::NotExists,
            Label::Record,
        )
        .add(&keys::usage(), count, Label::Limit);
    audit::record(
        &mut tx,
        &actor,
        "lead.create",
        "crm_lead",
        lead.id,
        audit::changes(None, Some(&lead), UNAUDITED),
    );
    tx.execute()
        .await
        .on_conflict(Label::Limit, || plan_limit_reached(max_leads))
        .on_any_conflict(changed_concurrently)?;
    Ok((StatusCode::CREATED, Json(lead.into())))
}

/// Writes `after` over `before` (version-checked) with its audit entry.
async fn save(
    state: &AppState,
    actor: &Actor,
    action: &str,
    before: &LeadRecord,
    mut after: LeadRecord,
) -> Result<LeadView, ApiError> {
    if after == *before {
        return Ok(after.into());
    }
    after.version = before.version + 1;
    after.updated_at = OffsetDateTime::now_utc();
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).put(
        &records::lead(before.id),
        &after,
        Condition::VersionIs(before.version),
        Label::Record,
    );
    audit::record(
        &mut tx,
        actor,
        action,
        "crm_lead",
        before.id,
        audit::changes(Some(before), Some(&after), UNAUDITED),
    );
    tx.execute().await.on_any_conflict(changed_concurrently)?;
    Ok(after.into())
}

/// A change of fields, and of owner or team under the assignment rules.
async fn update(
    state: &AppState,
    actor: &Actor,
    before: LeadRecord,
    patch: LeadPatch,
) -> Result<LeadView, ApiError> {
    allowed(actor, actions::CRM_LEADS_EDIT, &before)?;
    let checked = check(patch)?;
    let owner_id = checked.owner_id.unwrap_or(before.owner_id);
    let team_id = checked.team_id.unwrap_or(before.team_id);
    let mut after = before.clone();
    if (owner_id, team_id) != (before.owner_id, before.team_id) {
        let Assignee {
            owner_id,
            owner_email,
            team_id,
        } = assign(
            &state.store,
            actor,
            Some((before.owner_id, before.team_id)),
            owner_id,
            team_id,
        )
        .await?;
        (after.owner_id, after.owner_email, after.team_id) = (owner_id, owner_email, team_id);
    }
    apply(&mut after, checked);
    save(state, actor, "lead.update", &before, after).await
}

/// Replace a lead's fields.
#[utoipa::path(
    put,
    path = "/api/crm/leads/{id}/",
    tag = "crm",
    description = "Permission: `crm.leads.edit` on the lead (own: leads the caller owns; team: also their teams' leads; all: every lead), \
        after `crm.leads.view` lets the caller see it (otherwise 404). Absent optional fields are cleared or take their defaults; \
        a new `owner_id` or `team_id` follows the assignment rules of `POST /api/crm/leads/`. The other fields of the lead's \
        representation may be sent back: read-only, ignored when unchanged, a 400 `This field is read-only.` when changed. Audited. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = LeadReplaceBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = LeadView),
        (status = 400, description = "Invalid, unknown or read-only field; bad `owner_id` or `team_id`", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "`crm.leads.edit` does not reach this lead, or the assignment asked for (`required`, `held`); `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such lead the caller can see in this tenant", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn replace_lead(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmLeadsView>,
    IdPath(id): IdPath,
    input: Replace<LeadInput>,
) -> Result<Json<LeadView>, ApiError> {
    let before = visible_lead(&state.store, &actor, actions::CRM_LEADS_VIEW, id).await?;
    let input = input.against(&LeadView::from(before.clone()))?;
    let mut patch = LeadPatch::from(input);
    // An absent owner keeps the current one.
    patch.owner_id = patch.owner_id.or(Some(before.owner_id));
    update(&state, &actor, before, patch).await.map(Json)
}

/// Change some of a lead's fields.
#[utoipa::path(
    patch,
    path = "/api/crm/leads/{id}/",
    tag = "crm",
    description = "Permission: `crm.leads.edit` on the lead, after `crm.leads.view` lets the caller see it (otherwise 404). \
        Absent fields are kept, `null` clears an optional one; `owner_id` and `team_id` follow the assignment rules. Audited. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = LeadPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = LeadView),
        (status = 400, description = "Invalid or unknown field; bad `owner_id` or `team_id`", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "`crm.leads.edit` does not reach this lead, or the assignment asked for (`required`, `held`); `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such lead the caller can see in this tenant", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_lead(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmLeadsView>,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<LeadPatch>,
) -> Result<Json<LeadView>, ApiError> {
    let before = visible_lead(&state.store, &actor, actions::CRM_LEADS_VIEW, id).await?;
    update(&state, &actor, before, patch).await.map(Json)
}

/// The new owner and team of a lead.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// An active user of the tenant.
    pub owner_id: Uuid,
    /// The lead's team; absent or null: none. Under scope `team`, one of
    /// the caller's teams with the owner a member of it.
    #[serde(default)]
    pub team_id: Option<Uuid>,
}

/// Give a lead to an owner (and team).
#[utoipa::path(
    post,
    path = "/api/crm/leads/{id}/assign/",
    tag = "crm",
    description = "Permission: `crm.leads.edit` on the lead (after `crm.leads.view` lets the caller see it, otherwise 404). \
        Giving it to another owner needs `crm.leads.edit` at `team` — into one of the caller's teams, to a member of that team — \
        or at `all`; a team the caller is not in needs `all`. Audited (`lead.assign`). `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = AssignInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Assigned", body = LeadView),
        (status = 400, description = "Invalid or unknown field; `owner_id` not an active user, unknown `team_id`, or the owner not a member of the team", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "The caller's `crm.leads.edit` scope does not allow it (`required`, `held`); `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such lead the caller can see in this tenant", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn assign_lead(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmLeadsView>,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<AssignInput>,
) -> Result<Json<LeadView>, ApiError> {
    let before = visible_lead(&state.store, &actor, actions::CRM_LEADS_VIEW, id).await?;
    allowed(&actor, actions::CRM_LEADS_EDIT, &before)?;
    let assignee = assign(
        &state.store,
        &actor,
        Some((before.owner_id, before.team_id)),
        input.owner_id,
        input.team_id,
    )
    .await?;
    let mut after = before.clone();
    (after.owner_id, after.owner_email, after.team_id) =
        (assignee.owner_id, assignee.owner_email, assignee.team_id);
    save(&state, &actor, "lead.assign", &before, after)
        .await
        .map(Json)
}

/// Delete a lead.
#[utoipa::path(
    delete,
    path = "/api/crm/leads/{id}/",
    tag = "crm",
    description = "Permission: `crm.leads.delete`, on a lead `crm.leads.view` lets the caller see (otherwise 404). The lead, the \
        tenant's lead count and the audit entry change in one transaction; the lead's activities are deleted after it \
        (until then they are unreachable: every activity is reached through its lead). `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(("id" = Uuid, Path, description = "Lead id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `crm.leads.delete`; `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such lead the caller can see in this tenant", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn delete_lead(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmLeadsView>,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let lead = visible_lead(&state.store, &actor, actions::CRM_LEADS_VIEW, id).await?;
    allowed(&actor, actions::CRM_LEADS_DELETE, &lead)?;
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope())
        .delete(
            &records::lead(id),
            Condition::VersionIs(lead.version),
            Label::Record,
        )
        .add(&keys::usage(), Add::new("leads", -1), Label::Usage);
    audit::record(
        &mut tx,
        &actor,
        "lead.delete",
        "crm_lead",
        id,
        audit::changes(Some(&lead), None, UNAUDITED),
    );
    tx.execute().await.on_any_conflict(changed_concurrently)?;
    delete_activities(&state, &actor, id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a deleted lead's activities, a page at a time. Best effort: a
/// failure is logged and leaves activities no request can reach.
async fn delete_activities(state: &AppState, actor: &Actor, lead_id: Uuid) {
    let store = state.store.tenant(actor.scope());
    let prefix = records::activities_of(lead_id);
    loop {
        let page = PageRequest::new(100, None, format!("crm-activities-of/{lead_id}"));
        let activities = match store.query_alt::<ActivityRecord>(&prefix, &page).await {
            Ok(page) => page.items,
            Err(e) => {
                tracing::warn!(error = %e, %lead_id, "activities of a deleted lead left");
                return;
            }
        };
        if activities.is_empty() {
            return;
        }
        let keys: Vec<_> = activities.iter().map(|a| records::activity(a.id)).collect();
        let deletes = keys.iter().map(|key| store.delete(key));
        if let Err(e) = futures_util::future::try_join_all(deletes).await {
            tracing::warn!(error = %e, %lead_id, "activities of a deleted lead left");
            return;
        }
    }
}
