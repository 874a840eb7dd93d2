//! Holders of `administration.users.manage` granting and withdrawing roles.

use crate::change::{check_id_lists, save};
use crate::manage::load;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use shared::auth::{AdministrationUsersManage, Require};
use shared::http::schema::{BadRequestBody, ErrorBody, ForbiddenBody};
use shared::http::{ApiError, ApiJson, IdPath, ValidationErrors};
use shared::views::UserView;
use utoipa::ToSchema;
use uuid::Uuid;

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
