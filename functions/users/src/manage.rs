//! Holders of `administration.users.manage` changing, deactivating and reactivating users.

use crate::change::{check_id_lists, save};
use crate::load::user_view;
use crate::profile::{self, ProfilePatch};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use shared::auth::{Actor, AdministrationUsersManage, Require};
use shared::http::schema::{BadRequestBody, ErrorBody, ForbiddenBody};
use shared::http::{ApiError, ApiJson, IdPath, Replace, ValidationErrors};
use shared::keys;
use shared::records::UserRecord;
use shared::views::UserView;
use utoipa::ToSchema;
use uuid::Uuid;

shared::replace_body!(
    /// The PUT body: `UserReplace`, and the rest of `UserView` read-only.
    pub UserReplaceBody,
    UserReplace,
    UserView
);

/// Every field an admin sets with PUT. Email and password are not here:
/// users change their own password, and emails are their login. The other
/// fields of the user's representation may be sent too: they are read-only,
/// ignored when unchanged and refused when changed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserReplace {
    #[schema(max_length = 150)]
    pub first_name: String,
    #[schema(max_length = 150)]
    pub last_name: String,
    #[schema(pattern = r"^\s*[0-9+()\- ]{0,32}\s*$")]
    pub phone: Option<String>,
    #[schema(pattern = r"^\s*[A-Za-z0-9/_+-]{1,64}\s*$")]
    pub timezone: String,
    #[schema(value_type = Object)]
    pub preferences: Value,
    #[schema(max_length = 2048, pattern = r"^(https?://[\s\S]*)?$")]
    pub profile_picture: Option<String>,
    pub is_active: bool,
    /// Replaces the set of roles (of this tenant).
    #[schema(max_items = 20)]
    pub role_ids: Vec<Uuid>,
    /// Replaces the set of teams (of this tenant).
    #[schema(max_items = 20)]
    pub team_ids: Vec<Uuid>,
}

/// The fields an admin changes with PATCH; omitted fields keep their value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(max_length = 150)]
    pub first_name: Option<String>,
    #[schema(max_length = 150)]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(pattern = r"^\s*[0-9+()\- ]{0,32}\s*$", value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[schema(pattern = r"^\s*[A-Za-z0-9/_+-]{1,64}\s*$")]
    pub timezone: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub preferences: Option<Value>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(max_length = 2048, pattern = r"^(https?://[\s\S]*)?$", value_type = Option<String>)]
    pub profile_picture: Option<Option<String>>,
    pub is_active: Option<bool>,
    #[schema(max_items = 20)]
    pub role_ids: Option<Vec<Uuid>>,
    #[schema(max_items = 20)]
    pub team_ids: Option<Vec<Uuid>>,
}

impl From<UserReplace> for UserPatch {
    fn from(r: UserReplace) -> Self {
        Self {
            first_name: Some(r.first_name),
            last_name: Some(r.last_name),
            phone: Some(r.phone),
            timezone: Some(r.timezone),
            preferences: Some(r.preferences),
            profile_picture: Some(r.profile_picture),
            is_active: Some(r.is_active),
            role_ids: Some(r.role_ids),
            team_ids: Some(r.team_ids),
        }
    }
}

/// The user `id` of the acting tenant; 404 for any other id.
pub async fn load(state: &AppState, actor: &Actor, id: Uuid) -> Result<UserRecord, ApiError> {
    state
        .store
        .tenant(actor.scope())
        .get(&keys::user(id))
        .await?
        .ok_or(ApiError::NotFound)
}

async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: UserPatch,
    action: &'static str,
) -> Result<UserView, ApiError> {
    check_id_lists(patch.role_ids.as_deref(), patch.team_ids.as_deref())?;
    let before = load(state, actor, id).await?;
    let mut after = before.clone();
    let mut errors = ValidationErrors::new();
    let profile_patch = ProfilePatch {
        first_name: patch.first_name,
        last_name: patch.last_name,
        phone: patch.phone,
        timezone: patch.timezone,
        preferences: patch.preferences,
        profile_picture: patch.profile_picture,
    };
    profile::apply(&mut errors, &mut after, profile_patch);
    if let Some(active) = patch.is_active {
        // Only devctl removes super admins: it never removes the last one.
        if before.is_super_admin && before.is_active && !active {
            return Err(ApiError::conflict(
                "Super admins are removed with `devctl superadmin --remove`, never the last one.",
                "super_admin",
            ));
        }
        after.is_active = active;
    }
    if let Some(roles) = patch.role_ids {
        after.role_ids = roles;
    }
    if let Some(teams) = patch.team_ids {
        after.team_ids = teams;
    }
    save(state, actor, &before, after, action, errors).await
}

/// Replace a user's fields, roles and teams.
#[utoipa::path(
    put,
    path = "/api/users/{id}/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). No escalation: \
        roles assigned or removed (and, on (de)activation, every role the user holds) must be within the caller's \
        own merged grants; so only a holder of every grant moves the system Admin role. Replaces names, phone, timezone, preferences, picture, \
        `is_active`, `role_ids` and `team_ids` in one transaction with the role and team member counts, \
        the credential's roles and the plan's `max_users`. The last active administrator cannot be \
        deactivated or lose the Admin role. Audited. The other fields of the resource's representation (as GET shows it) may be sent back: read-only, ignored when unchanged, a 400 `This field is read-only.` when changed.",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UserReplaceBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 400, description = "Invalid field, unknown role or team", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage`, or `plan_limit_reached`, or a role assigned, removed or (on (de)activation) held exceeds the caller's own grants (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "No such user in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "`last_admin` (the last active administrator keeps the Admin role and stays active), `super_admin` (deactivating a super admin: devctl removes them), or changed meanwhile by another request", body = ErrorBody),
    ),
)]
pub(crate) async fn replace_user(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    IdPath(id): IdPath,
    input: Replace<UserReplace>,
) -> Result<Json<UserView>, ApiError> {
    // The user's own representation may come back: its other fields are read-only.
    let (_, current) = user_view(&state.store.tenant(actor.scope()), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let input = input.against(&current)?;
    update(&state, &actor, id, input.into(), "user.update")
        .await
        .map(Json)
}

/// Change some of a user's fields, roles or teams.
#[utoipa::path(
    patch,
    path = "/api/users/{id}/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). No escalation: \
        roles assigned or removed (and, on (de)activation, every role the user holds) must be within the caller's \
        own merged grants; so only a holder of every grant moves the system Admin role. Same fields and rules as PUT, each optional. Audited.",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UserPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 400, description = "Invalid field, unknown role or team", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage`, or `plan_limit_reached`, or a role assigned, removed or (on (de)activation) held exceeds the caller's own grants (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "No such user in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "`last_admin` (the last active administrator keeps the Admin role and stays active), `super_admin` (deactivating a super admin: devctl removes them), or changed meanwhile by another request", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_user(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    update(&state, &actor, id, input, "user.update")
        .await
        .map(Json)
}

/// Deactivate a user (data is kept).
#[utoipa::path(
    delete,
    path = "/api/users/{id}/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). No escalation: \
        roles assigned or removed (and, on (de)activation, every role the user holds) must be within the caller's \
        own merged grants; so only a holder of every grant moves the system Admin role. Deactivates, never destroys: the user can no longer log in, every \
        refresh token they hold stops working, their access tokens stop within `REVOCATION_CHECK_SECONDS`, and they stop counting against `max_users`. The last active \
        administrator cannot be deactivated. Audited.",
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deactivated (or already inactive)"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage`, or a role assigned, removed or (on (de)activation) held exceeds the caller's own grants (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "No such user in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "`last_admin` (the last active administrator keeps the Admin role and stays active), `super_admin` (deactivating a super admin: devctl removes them), or changed meanwhile by another request", body = ErrorBody),
    ),
)]
pub(crate) async fn deactivate_user(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let patch = UserPatch {
        is_active: Some(false),
        ..UserPatch::default()
    };
    update(&state, &actor, id, patch, "user.deactivate").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reactivate a user, within the plan's `max_users`.
#[utoipa::path(
    post,
    path = "/api/users/{id}/activate/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). No escalation: \
        roles assigned or removed (and, on (de)activation, every role the user holds) must be within the caller's \
        own merged grants; so only a holder of every grant moves the system Admin role. Checked against the plan's `max_users` in the same transaction. \
        Logins from before the deactivation stay ended. Audited.",
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active", body = UserView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage`, or `plan_limit_reached`, or a role assigned, removed or (on (de)activation) held exceeds the caller's own grants (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "No such user in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed meanwhile by another request", body = ErrorBody),
    ),
)]
pub(crate) async fn activate_user(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    IdPath(id): IdPath,
) -> Result<Json<UserView>, ApiError> {
    let patch = UserPatch {
        is_active: Some(true),
        ..UserPatch::default()
    };
    update(&state, &actor, id, patch, "user.activate")
        .await
        .map(Json)
}
