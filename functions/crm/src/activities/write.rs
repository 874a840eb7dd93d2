//! Logging, changing and deleting activities, under the `crm.activities`
//! grants applied to the activity's lead. Each write is one transaction
//! with its audit entry; creating one also checks that its lead still
//! exists, so no activity outlives a concurrent deletion of its lead.

use super::read::visible_activity;
use super::view::ActivityView;
use crate::access::{active_user, allowed, visible_lead};
use crate::records::{self, ActivityRecord, ActivityType};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shared::audit;
use shared::auth::{Actor, CrmActivitiesView, Require};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, IdPath, ValidationErrors};
use shared::permissions::actions;
use shared::store::{Condition, Label, OnConflict, Patch};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

const MAX_SUMMARY: usize = 1000;
const UNAUDITED: &[&str] = &["version", "updated_at"];

/// A new activity of a lead.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: ActivityType,
    /// 1–1000 characters.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub summary: String,
    /// RFC 3339 date-time.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub due_at: Option<String>,
    #[serde(default)]
    pub done: bool,
    /// An active user of the tenant; default: the caller.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
}

/// A partial change (`PATCH`); `due_at: null` clears the due date.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityPatch {
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: Option<ActivityType>,
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Option<String>>,
    pub done: Option<bool>,
    pub owner_id: Option<Uuid>,
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict(
        "The activity or its lead was changed by another request; reload and try again.",
        "conflict",
    )
}

fn due_at(errors: &mut ValidationErrors, raw: &str) -> Option<OffsetDateTime> {
    match OffsetDateTime::parse(raw.trim(), &Rfc3339) {
        Ok(at) => Some(at),
        Err(_) => {
            errors.add(
                "due_at",
                "Datetime has wrong format. Use RFC 3339, e.g. 2026-12-01T09:30:00Z.",
            );
            None
        }
    }
}

/// Applies a patch, naming every bad field at once.
fn apply(activity: &mut ActivityRecord, patch: ActivityPatch) -> Result<(), ApiError> {
    let mut errors = ValidationErrors::new();
    if let Some(kind) = patch.kind {
        activity.kind = kind;
    }
    if let Some(summary) = patch.summary {
        activity.summary = shared::validate::name(&mut errors, "summary", &summary, MAX_SUMMARY);
    }
    if let Some(due) = patch.due_at {
        activity.due_at = due.and_then(|d| due_at(&mut errors, &d));
    }
    if let Some(done) = patch.done {
        activity.done = done;
    }
    errors.into_result()
}

/// The owner of an activity must be an active user of the tenant.
async fn check_owner(state: &AppState, actor: &Actor, owner_id: Uuid) -> Result<(), ApiError> {
    if active_user(&state.store, actor, owner_id).await?.is_none() {
        return Err(ValidationErrors::field(
            "owner_id",
            format!("Unknown or inactive user {owner_id}."),
        )
        .into());
    }
    Ok(())
}

/// Log an activity on a lead.
#[utoipa::path(
    post,
    path = "/api/crm/leads/{id}/activities/",
    tag = "crm",
    description = "Permission: `crm.activities.create`, on a lead `crm.activities.view` lets the caller see (otherwise 404). \
        The activity and the audit entry are written in one transaction that also checks the lead still exists. \
        The tenant must have the `crm` module. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = ActivityInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ActivityView),
        (status = 400, description = "Invalid or unknown field, or `owner_id` not an active user of this tenant", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `crm.activities.create`; `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such lead the caller can see in this tenant", body = ErrorBody),
        (status = 409, description = "The lead was deleted meanwhile", body = ErrorBody),
    ),
)]
pub(crate) async fn create_activity(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmActivitiesView>,
    IdPath(lead_id): IdPath,
    ApiJson(input): ApiJson<ActivityInput>,
) -> Result<(StatusCode, Json<ActivityView>), ApiError> {
    let lead = visible_lead(&state.store, &actor, actions::CRM_ACTIVITIES_VIEW, lead_id).await?;
    allowed(&actor, actions::CRM_ACTIVITIES_CREATE, &lead)?;
    let now = OffsetDateTime::now_utc();
    let owner_id = input.owner_id.unwrap_or(actor.user_id());
    let mut activity = ActivityRecord {
        id: Uuid::now_v7(),
        lead_id,
        kind: input.kind,
        summary: String::new(),
        due_at: None,
        done: false,
        owner_id,
        created_by: actor.user_id(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    apply(
        &mut activity,
        ActivityPatch {
            kind: Some(input.kind),
            summary: Some(input.summary),
            due_at: Some(input.due_at),
            done: Some(input.done),
            owner_id: None,
        },
    )?;
    if owner_id != actor.user_id() || actor.via_super_admin() {
        check_owner(&state, &actor, owner_id).await?;
    }
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope())
        .put(
            &records::activity(activity.id),
            &activity,
            Condition::NotExists,
            Label::Record,
        )
        .check(
            &records::lead(lead_id),
            &Patch::new().if_exists(),
            Label::Other,
        );
    audit::record(
        &mut tx,
        &actor,
        "activity.create",
        "crm_activity",
        activity.id,
        audit::changes(None, Some(&activity), UNAUDITED),
    );
    tx.execute().await.on_any_conflict(changed_concurrently)?;
    Ok((StatusCode::CREATED, Json(activity.into())))
}

/// Change an activity.
#[utoipa::path(
    patch,
    path = "/api/crm/activities/{id}/",
    tag = "crm",
    description = "Permission: `crm.activities.edit` reaching the activity's lead (own, team, all: 403 with `required` and `held` \
        otherwise), after `crm.activities.view` lets the caller see it (otherwise 404). Absent fields are kept. Audited. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(("id" = Uuid, Path, description = "Activity id")),
    request_body = ActivityPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = ActivityView),
        (status = 400, description = "Invalid or unknown field, or `owner_id` not an active user of this tenant", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "`crm.activities.edit` does not reach the lead (`required`, `held`); `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such activity the caller can see in this tenant", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_activity(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmActivitiesView>,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<ActivityPatch>,
) -> Result<Json<ActivityView>, ApiError> {
    let (before, lead) = visible_activity(&state, &actor, id).await?;
    allowed(&actor, actions::CRM_ACTIVITIES_EDIT, &lead)?;
    let mut after = before.clone();
    let new_owner = patch.owner_id.filter(|o| *o != before.owner_id);
    apply(&mut after, patch)?;
    if let Some(owner) = new_owner {
        check_owner(&state, &actor, owner).await?;
        after.owner_id = owner;
    }
    if after == before {
        return Ok(Json(after.into()));
    }
    after.version = before.version + 1;
    after.updated_at = OffsetDateTime::now_utc();
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).put(
        &records::activity(id),
        &after,
        Condition::VersionIs(before.version),
        Label::Record,
    );
    audit::record(
        &mut tx,
        &actor,
        "activity.update",
        "crm_activity",
        id,
        audit::changes(Some(&before), Some(&after), UNAUDITED),
    );
    tx.execute().await.on_any_conflict(changed_concurrently)?;
    Ok(Json(after.into()))
}

/// Delete an activity.
#[utoipa::path(
    delete,
    path = "/api/crm/activities/{id}/",
    tag = "crm",
    description = "Permission: `crm.activities.delete`, on an activity whose lead `crm.activities.view` lets the caller see \
        (otherwise 404). Audited. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(("id" = Uuid, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `crm.activities.delete`; `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such activity the caller can see in this tenant", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn delete_activity(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmActivitiesView>,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let (activity, lead) = visible_activity(&state, &actor, id).await?;
    allowed(&actor, actions::CRM_ACTIVITIES_DELETE, &lead)?;
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).delete(
        &records::activity(id),
        Condition::VersionIs(activity.version),
        Label::Record,
    );
    audit::record(
        &mut tx,
        &actor,
        "activity.delete",
        "crm_activity",
        id,
        audit::changes(Some(&activity), None, UNAUDITED),
    );
    tx.execute().await.on_any_conflict(changed_concurrently)?;
    Ok(StatusCode::NO_CONTENT)
}
