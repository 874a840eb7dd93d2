//! Creating, changing and deleting roles. Every change writes its audit
//! entry in the same transaction; role names are unique per tenant through
//! a name claim written alongside.

use crate::view::RoleView;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use shared::audit;
use shared::auth::{own_grants, refuse_beyond, Actor, AdministrationRolesManage, Require};
use shared::http::schema::{BadRequestBody, ErrorBody, ForbiddenBody};
use shared::http::{ApiError, ApiJson, IdPath, Replace, ValidationErrors};
use shared::keys;
use shared::permissions::{admin_permissions, validate, PermissionSet};
use shared::records::{RoleNameClaim, RoleRecord};
use shared::store::{Condition, Label, OnConflict};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

shared::replace_body!(
    /// The PUT body: `RoleInput`, and the rest of `RoleView` read-only.
    pub RoleReplaceBody,
    RoleInput,
    RoleView
);

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 500;

/// A role as written by `POST` and `PUT`. A PUT may also carry the other
/// fields of the role's representation: read-only, ignored when unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    /// Unique within the tenant, case-insensitively; 1–100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// Nested grants conforming to `/api/roles/permissions_schema/`.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub permissions: Value,
    #[serde(default = "yes")]
    pub is_active: bool,
}

/// A partial change, for `PATCH`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub permissions: Option<Value>,
    pub is_active: Option<bool>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn yes() -> bool {
    true
}

impl From<RoleInput> for RolePatch {
    fn from(i: RoleInput) -> Self {
        Self {
            name: Some(i.name),
            description: Some(i.description),
            permissions: Some(i.permissions),
            is_active: Some(i.is_active),
        }
    }
}

/// Validated field values of a patch.
struct Checked {
    name: Option<String>,
    description: Option<String>,
    permissions: Option<PermissionSet>,
    is_active: Option<bool>,
}

fn check(patch: RolePatch) -> Result<Checked, ApiError> {
    let mut errors = ValidationErrors::new();
    // Spelled out: `validate` here is the permission validator.
    let name = patch
        .name
        .map(|n| shared::validate::name(&mut errors, "name", &n, MAX_NAME));
    let description = patch.description.map(|d| {
        shared::validate::optional_name(&mut errors, "description", Some(&d), MAX_DESCRIPTION)
    });
    let permissions = match patch.permissions.as_ref().map(validate) {
        None => None,
        Some(Ok(set)) => Some(set),
        Some(Err(e)) => {
            for message in e.to_strings() {
                errors.add("permissions", message);
            }
            None
        }
    };
    errors.into_result()?;
    Ok(Checked {
        name,
        description,
        permissions,
        is_active: patch.is_active,
    })
}

fn name_taken() -> ApiError {
    ValidationErrors::field("name", "A role with this name already exists.").into()
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict(
        "The role was changed by another request; reload and try again.",
        "conflict",
    )
}

/// Create a role.
#[utoipa::path(
    post,
    path = "/api/roles/",
    tag = "roles",
    description = "Permission: `administration.roles.manage` (super admins pass; `X-Tenant-Id` moves only them). \
        No escalation: the role's grants must be within the caller's own merged grants. Audited.",
    request_body = RoleInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = RoleView),
        (status = 400, description = "Invalid field, invalid permissions (with their paths) or taken name", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.roles.manage` (`permission_denied`), or the role's grants exceed the caller's own (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn create_role(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationRolesManage>,
    ApiJson(input): ApiJson<RoleInput>,
) -> Result<(StatusCode, Json<RoleView>), ApiError> {
    let checked = check(input.into())?;
    let permissions = checked.permissions.unwrap_or_default();
    let held = own_grants(&state.store, &actor).await?;
    refuse_beyond(held.as_ref(), [&permissions], "create a role")?;
    let now = OffsetDateTime::now_utc();
    let role = RoleRecord {
        id: Uuid::new_v4(),
        tenant_id: actor.scope().tenant_id(),
        name: checked.name.unwrap_or_default(),
        description: checked.description.unwrap_or_default(),
        permissions,
        is_active: checked.is_active.unwrap_or(true),
        is_system: false,
        member_count: 0,
        created_by: Some(actor.user_id()),
        created_by_email: Some(actor.email().to_owned()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope())
        .put(
            &keys::role(role.id),
            &role,
            Condition::NotExists,
            Label::Role,
        )
        .claim(
            &keys::role_name(&role.name.to_lowercase()),
            &RoleNameClaim { role_id: role.id },
            Label::Name,
        );
    audit::record(
        &mut tx,
        &actor,
        "role.create",
        "role",
        role.id,
        audit::changes(None, Some(&role), &[]),
    );
    tx.execute()
        .await
        .on_conflict(Label::Name, name_taken)
        .on_any_conflict(changed_concurrently)?;
    Ok((StatusCode::CREATED, Json(role.into())))
}

async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: RolePatch,
) -> Result<RoleView, ApiError> {
    let checked = check(patch)?;
    let store = state.store.tenant(actor.scope());
    // The role and the caller's grants together: one round trip.
    let (before, held) = tokio::try_join!(
        async { Ok::<_, ApiError>(store.get::<RoleRecord>(&keys::role(id)).await?) },
        own_grants(&state.store, actor),
    )?;
    let before = before.ok_or(ApiError::NotFound)?;
    let mut after = before.clone();
    if let Some(name) = checked.name {
        after.name = name;
    }
    if let Some(description) = checked.description {
        after.description = description;
    }
    if let Some(permissions) = checked.permissions {
        after.permissions = permissions;
    }
    if let Some(is_active) = checked.is_active {
        after.is_active = is_active;
    }
    // Reshaping a role stronger than oneself is refused too, so a partial
    // administrator can neither raise nor strip a role beyond their grants.
    refuse_beyond(
        held.as_ref(),
        [&before.permissions, &after.permissions],
        "change a role",
    )?;
    if before.is_system {
        // The Admin role guarantees every tenant keeps a full administrator.
        let mut errors = ValidationErrors::new();
        if after.name != before.name {
            errors.add("name", "The system Admin role cannot be renamed.");
        }
        if after.permissions != admin_permissions() {
            errors.add(
                "permissions",
                "The system Admin role keeps every permission.",
            );
        }
        if !after.is_active {
            errors.add("is_active", "The system Admin role cannot be deactivated.");
        }
        errors.into_result()?;
    }
    if after == before {
        return Ok(before.into());
    }
    after.version = before.version + 1;
    after.updated_at = OffsetDateTime::now_utc();

    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).put(
        &keys::role(id),
        &after,
        Condition::VersionIs(before.version),
        Label::Role,
    );
    let revokes = takes_access_away(&before, &after);
    if revokes {
        // Tokens carrying this role's old grants stop within the check
        // interval; a refresh carries the new ones.
        shared::revocation::revoke_roles(&mut tx, actor.scope(), &[id], after.updated_at);
    }
    tx.tenant(actor.scope()).move_claim(
        &keys::role_name(&before.name.to_lowercase()),
        &keys::role_name(&after.name.to_lowercase()),
        &RoleNameClaim { role_id: id },
        Label::Name,
    );
    audit::record(
        &mut tx,
        actor,
        "role.update",
        "role",
        id,
        audit::changes(Some(&before), Some(&after), &["version"]),
    );
    tx.execute()
        .await
        .on_conflict(Label::Name, name_taken)
        .on_any_conflict(changed_concurrently)?;
    if revokes {
        state.store.prune_revocations(actor.scope()).await;
    }
    Ok(after.into())
}

/// Whether tokens built from `before` grant more than `after` would: the
/// role was deactivated or lost (or narrowed) a grant.
fn takes_access_away(before: &RoleRecord, after: &RoleRecord) -> bool {
    // An inactive role gave its holders' tokens nothing.
    before.is_active && (!after.is_active || !before.permissions.is_subset_of(&after.permissions))
}

/// Replace a role's fields.
#[utoipa::path(
    put,
    path = "/api/roles/{id}/",
    tag = "roles",
    description = "Permission: `administration.roles.manage` (super admins pass; `X-Tenant-Id` moves only them). \
        No escalation: both the current and the new grants must be within the caller's own merged grants. The system Admin role cannot be renamed, reduced or deactivated. Audited. The other fields of the resource's representation (as GET shows it) may be sent back: read-only, ignored when unchanged, a 400 `This field is read-only.` when changed.",
    params(("id" = Uuid, Path, description = "Role id")),
    request_body = RoleReplaceBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = RoleView),
        (status = 400, description = "Invalid field or taken name", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.roles.manage` (`permission_denied`), or the role's grants exceed the caller's own (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "No such role in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn replace_role(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationRolesManage>,
    IdPath(id): IdPath,
    input: Replace<RoleInput>,
) -> Result<Json<RoleView>, ApiError> {
    // The role's own representation may come back: its other fields are read-only.
    let current: RoleRecord = state
        .store
        .tenant(actor.scope())
        .get(&keys::role(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let input = input.against(&RoleView::from(current))?;
    update(&state, &actor, id, input.into()).await.map(Json)
}

/// Change some of a role's fields.
#[utoipa::path(
    patch,
    path = "/api/roles/{id}/",
    tag = "roles",
    description = "Permission: `administration.roles.manage` (super admins pass; `X-Tenant-Id` moves only them). \
        No escalation: both the current and the new grants must be within the caller's own merged grants. Same rules as PUT. Audited.",
    params(("id" = Uuid, Path, description = "Role id")),
    request_body = RolePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = RoleView),
        (status = 400, description = "Invalid field or taken name", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.roles.manage` (`permission_denied`), or the role's grants exceed the caller's own (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "No such role in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_role(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationRolesManage>,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<RolePatch>,
) -> Result<Json<RoleView>, ApiError> {
    update(&state, &actor, id, patch).await.map(Json)
}

/// Delete a role that nobody holds.
#[utoipa::path(
    delete,
    path = "/api/roles/{id}/",
    tag = "roles",
    description = "Permission: `administration.roles.manage` (super admins pass; `X-Tenant-Id` moves only them). \
        No escalation: the role's grants must be within the caller's own merged grants. The system Admin role and roles with members cannot be deleted. Audited.",
    params(("id" = Uuid, Path, description = "Role id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The system Admin role", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.roles.manage` (`permission_denied`), or the role's grants exceed the caller's own (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "No such role in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "The role still has members, or changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn delete_role(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationRolesManage>,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let store = state.store.tenant(actor.scope());
    // The role and the caller's grants together: one round trip.
    let (role, held) = tokio::try_join!(
        async { Ok::<_, ApiError>(store.get::<RoleRecord>(&keys::role(id)).await?) },
        own_grants(&state.store, &actor),
    )?;
    let role = role.ok_or(ApiError::NotFound)?;
    refuse_beyond(held.as_ref(), [&role.permissions], "delete a role")?;
    if role.is_system {
        return Err(ApiError::bad_request(
            "The system Admin role cannot be deleted.",
            "protected_role",
        ));
    }
    if role.member_count > 0 {
        return Err(ApiError::conflict(
            format!(
                "The role has {} member(s); remove it from them first.",
                role.member_count
            ),
            "role_in_use",
        ));
    }
    let mut tx = state.store.transaction();
    // The version condition also refuses a delete racing an assignment.
    tx.tenant(actor.scope())
        .delete(
            &keys::role(id),
            Condition::VersionIs(role.version),
            Label::Role,
        )
        .release(&keys::role_name(&role.name.to_lowercase()), Label::Name);
    audit::record(
        &mut tx,
        &actor,
        "role.delete",
        "role",
        id,
        audit::changes(Some(&role), None, &["version"]),
    );
    // Nobody holds the role now, but tokens issued before its last member
    // left may still name it.
    shared::revocation::revoke_roles(&mut tx, actor.scope(), &[id], OffsetDateTime::now_utc());
    tx.execute()
        .await
        .on_conflict(Label::Name, name_taken)
        .on_any_conflict(changed_concurrently)?;
    state.store.prune_revocations(actor.scope()).await;
    Ok(StatusCode::NO_CONTENT)
}
