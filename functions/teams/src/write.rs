//! Creating, changing and deleting teams. Every change writes its audit
//! entry in the same transaction; team names are unique per tenant
//! (case-insensitively) through a name claim written alongside.

use crate::view::TeamView;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shared::audit;
use shared::auth::{Actor, AdministrationTeamsManage, Require};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, IdPath, Replace, ValidationErrors};
use shared::keys;
use shared::records::{TeamNameClaim, TeamRecord, UserRecord};
use shared::store::{Condition, Label, OnConflict, StoreError, TenantStore};
use shared::validate;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

shared::replace_body!(
    /// The PUT body: `TeamInput`, and the rest of `TeamView` read-only.
    pub TeamReplaceBody,
    TeamInput,
    TeamView
);

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 500;

/// A team as written by `POST` and `PUT`. A PUT may also carry the other
/// fields of the team's representation: read-only, ignored when unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// Unique within the tenant, case-insensitively; 1–100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// At most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// An active user of this tenant who leads the team.
    #[serde(default)]
    pub lead_id: Option<Uuid>,
}

/// A partial change, for `PATCH`. `lead_id: null` removes the lead.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub lead_id: Option<Option<Uuid>>,
}

impl From<TeamInput> for TeamPatch {
    /// `PUT` replaces every field: absent optional fields are cleared.
    fn from(i: TeamInput) -> Self {
        Self {
            name: Some(i.name),
            description: Some(i.description.unwrap_or_default()),
            lead_id: Some(i.lead_id),
        }
    }
}

/// Field values of a patch that pass the checks needing no reads.
struct Checked {
    name: Option<String>,
    description: Option<String>,
    lead_id: Option<Option<Uuid>>,
}

fn check(patch: TeamPatch) -> Result<Checked, ApiError> {
    let mut errors = ValidationErrors::new();
    let name = patch
        .name
        .map(|n| validate::name(&mut errors, "name", &n, MAX_NAME));
    let description = patch
        .description
        .map(|d| validate::optional_name(&mut errors, "description", Some(&d), MAX_DESCRIPTION));
    errors.into_result()?;
    Ok(Checked {
        name,
        description,
        lead_id: patch.lead_id,
    })
}

/// A lead must be an active user of the tenant acted in; users of other
/// tenants live in other partitions and so are never found.
fn check_lead(lead_id: Uuid, user: Option<&UserRecord>) -> Result<(), ApiError> {
    match user {
        Some(u) if u.is_active => Ok(()),
        _ => Err(ValidationErrors::field(
            "lead_id",
            format!("Unknown or inactive user {lead_id}."),
        )
        .into()),
    }
}

fn name_taken() -> ApiError {
    ValidationErrors::field("name", "A team with this name already exists.").into()
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict(
        "The team was changed by another request; reload and try again.",
        "conflict",
    )
}

fn has_members(count: u32) -> ApiError {
    ApiError::conflict(
        format!("The team has {count} member(s); remove them from it first."),
        "team_has_members",
    )
}

/// Create a team.
#[utoipa::path(
    post,
    path = "/api/teams/",
    tag = "teams",
    description = "Permission: `administration.teams.manage` (super admins pass; `X-Tenant-Id` moves only them). Super admins act in a tenant with `X-Tenant-Id`. \
        The name claim, the team and the audit entry are written in one transaction. Audited.",
    request_body = TeamInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TeamView),
        (status = 400, description = "Invalid or unknown field, taken name, or `lead_id` not an active user of this tenant", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.teams.manage`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "A concurrent write on the same items", body = ErrorBody),
    ),
)]
pub(crate) async fn create_team(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationTeamsManage>,
    ApiJson(input): ApiJson<TeamInput>,
) -> Result<(StatusCode, Json<TeamView>), ApiError> {
    let checked = check(input.into())?;
    let lead_id = checked.lead_id.flatten();
    if let Some(lead) = lead_id {
        let user: Option<UserRecord> = state
            .store
            .tenant(actor.scope())
            .get(&keys::user(lead))
            .await?;
        check_lead(lead, user.as_ref())?;
    }
    let now = OffsetDateTime::now_utc();
    let team = TeamRecord {
        id: Uuid::new_v4(),
        tenant_id: actor.scope().tenant_id(),
        name: checked.name.unwrap_or_default(),
        description: checked.description.unwrap_or_default(),
        lead_id,
        member_count: 0,
        created_by: Some(actor.user_id()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope())
        .put(
            &keys::team(team.id),
            &team,
            Condition::NotExists,
            Label::Team,
        )
        .claim(
            &keys::team_name(&team.name.to_lowercase()),
            &TeamNameClaim { team_id: team.id },
            Label::Name,
        );
    audit::record(
        &mut tx,
        &actor,
        "team.create",
        "team",
        team.id,
        audit::changes(None, Some(&team), &["version"]),
    );
    tx.execute()
        .await
        .on_conflict(Label::Name, name_taken)
        .on_any_conflict(changed_concurrently)?;
    Ok((StatusCode::CREATED, Json(team.into())))
}

/// The team, and the user named as its new lead if the patch names one
/// (read in the same call).
async fn load(
    store: &TenantStore<'_>,
    id: Uuid,
    lead: Option<Uuid>,
) -> Result<(TeamRecord, Option<UserRecord>), ApiError> {
    match lead {
        None => Ok((
            store
                .get(&keys::team(id))
                .await?
                .ok_or(ApiError::NotFound)?,
            None,
        )),
        Some(lead) => {
            let mut fetched = store
                .get_many::<keys::SortKey>(&[keys::team(id).into(), keys::user(lead).into()])
                .await?;
            let team = fetched.take(&keys::team(id))?.ok_or(ApiError::NotFound)?;
            Ok((team, fetched.take(&keys::user(lead))?))
        }
    }
}

async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: TeamPatch,
) -> Result<TeamView, ApiError> {
    let checked = check(patch)?;
    let store = state.store.tenant(actor.scope());
    let (before, lead) = load(&store, id, checked.lead_id.flatten()).await?;
    let mut after = before.clone();
    if let Some(name) = checked.name {
        after.name = name;
    }
    if let Some(description) = checked.description {
        after.description = description;
    }
    if let Some(lead_id) = checked.lead_id {
        after.lead_id = lead_id;
    }
    // Only a new lead is checked: keeping the current one never fails.
    if let Some(new_lead) = after.lead_id.filter(|l| before.lead_id != Some(*l)) {
        check_lead(new_lead, lead.as_ref())?;
    }
    if after == before {
        return Ok(before.into());
    }
    after.version = before.version + 1;
    after.updated_at = OffsetDateTime::now_utc();

    let mut tx = state.store.transaction();
    // The version condition also fails when a membership change (which
    // bumps the version with `member_count`) raced this update, so the
    // count is never overwritten.
    tx.tenant(actor.scope())
        .put(
            &keys::team(id),
            &after,
            Condition::VersionIs(before.version),
            Label::Team,
        )
        .move_claim(
            &keys::team_name(&before.name.to_lowercase()),
            &keys::team_name(&after.name.to_lowercase()),
            &TeamNameClaim { team_id: id },
            Label::Name,
        );
    audit::record(
        &mut tx,
        actor,
        "team.update",
        "team",
        id,
        audit::changes(Some(&before), Some(&after), &["version"]),
    );
    tx.execute()
        .await
        .on_conflict(Label::Name, name_taken)
        .on_any_conflict(changed_concurrently)?;
    Ok(after.into())
}

/// Replace a team's fields.
#[utoipa::path(
    put,
    path = "/api/teams/{id}/",
    tag = "teams",
    description = "Permission: `administration.teams.manage` (super admins pass; `X-Tenant-Id` moves only them). Absent `description` and `lead_id` are cleared. A rename moves the \
        name claim in the same transaction. Audited. The other fields of the resource's representation (as GET shows it) may be sent back: read-only, ignored when unchanged, a 400 `This field is read-only.` when changed.",
    params(("id" = Uuid, Path, description = "Team id")),
    request_body = TeamReplaceBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TeamView),
        (status = 400, description = "Invalid or unknown field, taken name, or `lead_id` not an active user of this tenant", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.teams.manage`", body = ErrorBody),
        (status = 404, description = "No such team in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently (including a membership change)", body = ErrorBody),
    ),
)]
pub(crate) async fn replace_team(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationTeamsManage>,
    IdPath(id): IdPath,
    input: Replace<TeamInput>,
) -> Result<Json<TeamView>, ApiError> {
    // The team's own representation may come back: its other fields are read-only.
    let current: TeamRecord = state
        .store
        .tenant(actor.scope())
        .get(&keys::team(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let input = input.against(&TeamView::from(current))?;
    update(&state, &actor, id, input.into()).await.map(Json)
}

/// Change some of a team's fields.
#[utoipa::path(
    patch,
    path = "/api/teams/{id}/",
    tag = "teams",
    description = "Permission: `administration.teams.manage` (super admins pass; `X-Tenant-Id` moves only them). Same rules as PUT; absent fields are kept, `lead_id: null` removes \
        the lead. Audited.",
    params(("id" = Uuid, Path, description = "Team id")),
    request_body = TeamPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TeamView),
        (status = 400, description = "Invalid or unknown field, taken name, or `lead_id` not an active user of this tenant", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.teams.manage`", body = ErrorBody),
        (status = 404, description = "No such team in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently (including a membership change)", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_team(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationTeamsManage>,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<TeamPatch>,
) -> Result<Json<TeamView>, ApiError> {
    update(&state, &actor, id, patch).await.map(Json)
}

/// Delete a team that has no members.
#[utoipa::path(
    delete,
    path = "/api/teams/{id}/",
    tag = "teams",
    description = "Permission: `administration.teams.manage` (super admins pass; `X-Tenant-Id` moves only them). Refused with 409 `team_has_members` while users are in the team; \
        the name claim is released in the same transaction. Audited.",
    params(("id" = Uuid, Path, description = "Team id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed `X-Tenant-Id`", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.teams.manage`", body = ErrorBody),
        (status = 404, description = "No such team in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "`team_has_members`, or changed concurrently (`conflict`)", body = ErrorBody),
    ),
)]
pub(crate) async fn delete_team(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationTeamsManage>,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let store = state.store.tenant(actor.scope());
    let team: TeamRecord = store
        .get(&keys::team(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    if team.member_count > 0 {
        return Err(has_members(team.member_count));
    }
    let mut tx = state.store.transaction();
    // Joining a team bumps its version with `member_count`, so the version
    // condition refuses a delete racing a new membership.
    tx.tenant(actor.scope())
        .delete(
            &keys::team(id),
            Condition::VersionIs(team.version),
            Label::Team,
        )
        .release(&keys::team_name(&team.name.to_lowercase()), Label::Name);
    audit::record(
        &mut tx,
        &actor,
        "team.delete",
        "team",
        id,
        audit::changes(Some(&team), None, &["version"]),
    );
    match tx.execute().await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(e) if e.failed(Label::Team) => {
            // Tell the caller why: a member joined, or the team is gone.
            match store.get::<TeamRecord>(&keys::team(id)).await? {
                None => Err(ApiError::NotFound),
                Some(now) if now.member_count > 0 => Err(has_members(now.member_count)),
                Some(_) => Err(changed_concurrently()),
            }
        }
        Err(StoreError::TransactionConditionFailed(_)) => Err(changed_concurrently()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_tells_a_null_lead_from_an_absent_one() {
        let p = |s: &str| shared::http::parse::<TeamPatch>(s.as_bytes()).map(|p| p.lead_id);
        let id = Uuid::new_v4();
        assert_eq!(p("{}").ok(), Some(None));
        assert_eq!(p(r#"{"lead_id": null}"#).ok(), Some(Some(None)));
        assert_eq!(
            p(&format!(r#"{{"lead_id": "{id}"}}"#)).ok(),
            Some(Some(Some(id)))
        );
        assert!(
            p(r#"{"colour": "red"}"#).is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn put_clears_absent_optional_fields() {
        let input: TeamInput = shared::http::parse(br#"{"name": "North"}"#).unwrap();
        let patch = TeamPatch::from(input);
        assert_eq!(patch.name.as_deref(), Some("North"));
        assert_eq!(patch.description.as_deref(), Some(""));
        assert_eq!(patch.lead_id, Some(None));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let ok = check(TeamPatch {
            name: Some("  North ".into()),
            ..Default::default()
        })
        .ok();
        assert_eq!(ok.and_then(|c| c.name).as_deref(), Some("North"));
        for bad in ["", "   ", &"x".repeat(MAX_NAME + 1)] {
            let e = check(TeamPatch {
                name: Some(bad.to_owned()),
                ..Default::default()
            })
            .err();
            assert!(
                e.is_some_and(|e| e.body()["name"].is_array()),
                "{bad:?} accepted"
            );
        }
        assert!(check(TeamPatch {
            description: Some("d".repeat(MAX_DESCRIPTION + 1)),
            ..Default::default()
        })
        .is_err());
    }
}
