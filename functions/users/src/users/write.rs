//! Holders of `administration.users.manage` creating, changing, deactivating
//! and reactivating users and granting and withdrawing their roles; every
//! member changing their own profile.

use crate::users::assignment::save;
use crate::users::profile::{self, ProfilePatch};
use crate::users::view::named_user;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use shared::audit;
use shared::auth::{
    check_new_password, hash_password, Actor, AdministrationUsersManage, Require, TenantMember,
};
use shared::http::schema::{BadRequestBody, ErrorBody, ForbiddenBody};
use shared::http::{ApiError, ApiJson, IdPath, Replace, ValidationErrors};
use shared::keys;
use shared::membership::{
    add_member, check_id_lists, failure, id_set, Related, MAX_ROLES, MAX_TEAMS,
};
use shared::records::{CredentialRecord, UserRecord};
use shared::store::{Condition, Label, StoreError};
use shared::validate;
use shared::views::UserView;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A new user of the tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Unique platform-wide, case-insensitive.
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@.\s\x00-\x1f\x7f-\x9f]+(\.[^@.\s\x00-\x1f\x7f-\x9f]+)+\s*$"
    )]
    pub email: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub password: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub password_confirm: String,
    #[serde(default)]
    #[schema(max_length = 150)]
    pub first_name: String,
    #[serde(default)]
    #[schema(max_length = 150)]
    pub last_name: String,
    #[serde(default)]
    #[schema(pattern = r"^\s*[0-9+()\- ]{0,32}\s*$")]
    pub phone: Option<String>,
    #[serde(default = "utc")]
    #[schema(pattern = r"^\s*[A-Za-z0-9/_+-]{1,64}\s*$")]
    pub timezone: String,
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub preferences: Value,
    /// Roles of this tenant to hold.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub role_ids: Vec<Uuid>,
    /// Teams of this tenant to join.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub team_ids: Vec<Uuid>,
}

fn utc() -> String {
    "UTC".into()
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Create a user in the tenant, within the plan's `max_users`.
#[utoipa::path(
    post,
    path = "/api/users/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). No escalation: \
        each role in `role_ids` must be within the caller's own merged grants. The user count is checked against the plan's `max_users` in the \
        same transaction as the write, so concurrent creations never exceed it. Audited.",
    request_body = NewUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, description = "Invalid field, taken email, unknown role or team, or more than 20 roles or teams", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage`, `plan_limit_reached`, or a role in `role_ids` exceeds the caller's own grants (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    ApiJson(input): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", &input.email);
    check_new_password(
        &mut errors,
        "password",
        "password_confirm",
        &input.password,
        &input.password_confirm,
        &email,
    );
    let first_name =
        validate::optional_name(&mut errors, "first_name", Some(&input.first_name), 150);
    let last_name = validate::optional_name(&mut errors, "last_name", Some(&input.last_name), 150);
    let phone = profile::phone(&mut errors, input.phone.as_deref());
    let timezone = profile::timezone(&mut errors, &input.timezone);
    profile::preferences(&mut errors, &input.preferences);
    let role_ids = id_set(&mut errors, "role_ids", &input.role_ids, MAX_ROLES);
    let team_ids = id_set(&mut errors, "team_ids", &input.team_ids, MAX_TEAMS);
    if role_ids.len() > MAX_ROLES || team_ids.len() > MAX_TEAMS {
        // Before any read: the batch read below takes at most 100 keys.
        return Err(errors.into());
    }
    let related = Related::load(&state.store, actor.scope(), &role_ids, &team_ids).await?;
    related.check_roles(&mut errors, &role_ids);
    related.check_teams(&mut errors, &team_ids);
    errors.into_result()?;

    let max_users = related.max_users(&state.store).await?;
    let now = OffsetDateTime::now_utc();
    let user = UserRecord {
        // Time-ordered, so the users partition lists by date joined.
        id: Uuid::now_v7(),
        tenant_id: related.tenant.id,
        email: email.clone(),
        first_name,
        last_name,
        phone,
        role_ids: role_ids.clone(),
        team_ids,
        is_active: true,
        is_super_admin: false,
        timezone,
        preferences: input.preferences,
        profile_picture: None,
        sessions_valid_after: None,
        email_verified: false,
        date_joined: now,
        updated_at: now,
        version: 1,
    };
    related
        .refuse_escalation(&state.store, &actor, None, &user)
        .await?;
    let credential = CredentialRecord {
        email,
        tenant_id: related.tenant.id,
        user_id: user.id,
        password_hash: hash_password(input.password)
            .await
            .map_err(ApiError::internal)?,
        role_ids,
        version: 1,
    };
    let mut tx = state.store.transaction();
    add_member(
        &mut tx,
        actor.scope(),
        &user,
        &credential,
        related.system_role(),
        max_users,
    );
    audit::record(
        &mut tx,
        &actor,
        "user.create",
        "user",
        user.id,
        audit::changes(None, Some(&user), &["version"]),
    );
    tx.execute().await.map_err(|e| failure(e, max_users))?;
    Ok((
        StatusCode::CREATED,
        Json(UserView::new(&user, &related.tenant, &related.roles)),
    ))
}

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

crate::users::profile::profile_patch! {
    undocumented
    /// The fields an admin changes with PATCH; omitted fields keep their value.
    pub struct UserPatch {
        pub is_active: Option<bool>,
        #[schema(max_items = 20)]
        pub role_ids: Option<Vec<Uuid>>,
        #[schema(max_items = 20)]
        pub team_ids: Option<Vec<Uuid>>,
    }
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
    let (profile_patch, (is_active, role_ids, team_ids)) = patch.split();
    profile::apply(&mut errors, &mut after, profile_patch);
    if let Some(active) = is_active {
        // Only devctl removes super admins: it never removes the last one.
        if before.is_super_admin && before.is_active && !active {
            return Err(ApiError::conflict(
                "Super admins are removed with `devctl superadmin --remove`, never the last one.",
                "super_admin",
            ));
        }
        after.is_active = active;
    }
    if let Some(roles) = role_ids {
        after.role_ids = roles;
    }
    if let Some(teams) = team_ids {
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
    let current = named_user(&state.store.tenant(actor.scope()), id, &[])
        .await?
        .ok_or(ApiError::NotFound)?;
    let input = input.against(&current.view())?;
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRoles {
    /// The user's complete new set of roles (of this tenant).
    #[schema(max_items = 20)]
    pub role_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveRole {
    pub role_id: Uuid,
}

/// Replace the set of roles a user holds.
#[utoipa::path(
    post,
    path = "/api/users/{id}/assign_roles/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). No escalation: \
        roles assigned or removed (and, on (de)activation, every role the user holds) must be within the caller's \
        own merged grants; so only a holder of every grant moves the system Admin role. Replaces the set; roles must belong to this tenant. Member counts \
        and the credential's roles change in the same transaction. The last active administrator keeps the \
        Admin role. Added roles take effect at the user's next login or token refresh; removing one also stops \
        the user's current access tokens within `REVOCATION_CHECK_SECONDS`. Audited.",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = AssignRoles,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user with the new roles", body = UserView),
        (status = 400, description = "Unknown role, or too many roles", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage`, or a role assigned, removed or (on (de)activation) held exceeds the caller's own grants (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "No such user in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "`last_admin` (the last active administrator keeps the Admin role), or changed meanwhile by another request", body = ErrorBody),
    ),
)]
pub(crate) async fn assign_roles(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<AssignRoles>,
) -> Result<Json<UserView>, ApiError> {
    check_id_lists(Some(&input.role_ids), None)?;
    let before = load(&state, &actor, id).await?;
    let after = shared::records::UserRecord {
        role_ids: input.role_ids,
        ..before.clone()
    };
    save(
        &state,
        &actor,
        &before,
        after,
        "user.assign_roles",
        ValidationErrors::new(),
    )
    .await
    .map(Json)
}

/// Withdraw one role from a user.
#[utoipa::path(
    delete,
    path = "/api/users/{id}/remove_role/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). No escalation: \
        roles assigned or removed (and, on (de)activation, every role the user holds) must be within the caller's \
        own merged grants; so only a holder of every grant moves the system Admin role. Body `{\"role_id\": ...}`. The last active administrator keeps the \
        Admin role. The user's current access tokens stop within `REVOCATION_CHECK_SECONDS`. Audited.",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = RemoveRole,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user without the role", body = UserView),
        (status = 400, description = "Invalid body", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage`, or a role assigned, removed or (on (de)activation) held exceeds the caller's own grants (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "No such user in this tenant, the user does not hold the role (`The user does not hold this role.`), or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "`last_admin` (the last active administrator keeps the Admin role), or changed meanwhile by another request", body = ErrorBody),
    ),
)]
pub(crate) async fn remove_role(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<RemoveRole>,
) -> Result<Json<UserView>, ApiError> {
    let before = load(&state, &actor, id).await?;
    if !before.role_ids.contains(&input.role_id) {
        // The role is absent from the user, like an unknown sub-resource.
        return Err(ApiError::not_found("The user does not hold this role."));
    }
    let role_ids = before
        .role_ids
        .iter()
        .filter(|r| **r != input.role_id)
        .copied()
        .collect();
    let after = shared::records::UserRecord {
        role_ids,
        ..before.clone()
    };
    save(
        &state,
        &actor,
        &before,
        after,
        "user.remove_role",
        ValidationErrors::new(),
    )
    .await
    .map(Json)
}

shared::replace_body!(
    /// The PUT body: `ProfilePatch`, and the rest of `UserView` read-only.
    pub ProfileReplaceBody,
    ProfilePatch,
    UserView
);

fn own_profile(member: &TenantMember) -> Result<(), ApiError> {
    if member.0.via_super_admin() {
        return Err(ApiError::bad_request(
            "X-Tenant-Id does not apply to your own profile.",
            "invalid_tenant_header",
        ));
    }
    Ok(())
}

/// Reads the caller with the names its view shows (one batch, expecting
/// the roles their token names), applies the patch made against its
/// current view, and writes it. The view answered is built from what was
/// written: a profile change leaves the tenant and roles as read, and a
/// concurrent change of the user fails the version condition.
async fn update_me(
    state: &AppState,
    member: &TenantMember,
    make_patch: impl FnOnce(&UserView) -> Result<ProfilePatch, ApiError>,
) -> Result<UserView, ApiError> {
    own_profile(member)?;
    let principal = member.0.principal();
    let store = state.store.tenant(principal.scope());
    let mut named = named_user(&store, principal.user_id(), &principal.claims().roles)
        .await?
        .ok_or(ApiError::NotFound)?;
    let patch = make_patch(&named.view())?;
    let before = named.user.clone();
    let mut errors = ValidationErrors::new();
    profile::apply(&mut errors, &mut named.user, patch);
    errors.into_result()?;
    let after = &mut named.user;
    if *after != before {
        after.version = before.version + 1;
        after.updated_at = OffsetDateTime::now_utc();
        let mut tx = state.store.transaction();
        tx.tenant(principal.scope()).put(
            &keys::user(after.id),
            &*after,
            Condition::VersionIs(before.version),
            Label::User,
        );
        audit::record(
            &mut tx,
            &member.0,
            "user.update",
            "user",
            after.id,
            audit::changes(Some(&before), Some(&*after), &["version"]),
        );
        tx.execute().await.map_err(|e| match e {
            StoreError::TransactionConditionFailed(_) => ApiError::conflict(
                "Your profile was changed by another request; reload and try again.",
                "conflict",
            ),
            other => other.into(),
        })?;
    }
    Ok(named.view())
}

/// Replace the caller's own profile fields.
#[utoipa::path(
    put,
    operation_id = "put_current_user",
    path = "/api/users/update_me/",
    tag = "users",
    description = "Permission: any member; `X-Tenant-Id` moves only super admins, and naming another tenant is a 400 \
        `invalid_tenant_header` (the profile is in the caller's own tenant). Names, phone, timezone, preferences and profile picture only; \
        the other fields of the caller's representation (`GET /api/users/me/`) may be sent back and are ignored \
        when unchanged (changing one is a 400 `This field is read-only.`). Audited.",
    request_body = ProfileReplaceBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 400, description = "Invalid or unknown field, or a changed read-only field (roles, tenant, flags)", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn put_me(
    State(state): State<AppState>,
    member: TenantMember,
    patch: Replace<ProfilePatch>,
) -> Result<Json<UserView>, ApiError> {
    // The caller's own representation may come back: its other fields are read-only.
    update_me(&state, &member, |current| patch.against(current))
        .await
        .map(Json)
}

/// Change some of the caller's own profile fields.
#[utoipa::path(
    patch,
    operation_id = "patch_current_user",
    path = "/api/users/update_me/",
    tag = "users",
    description = "Permission: any member; `X-Tenant-Id` moves only super admins, and naming another tenant is a 400 \
        `invalid_tenant_header`. Same fields as PUT. Audited.",
    request_body = ProfilePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 400, description = "Invalid or unknown field", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_me(
    State(state): State<AppState>,
    member: TenantMember,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<UserView>, ApiError> {
    update_me(&state, &member, |_| Ok(patch)).await.map(Json)
}
