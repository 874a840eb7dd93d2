use crate::load::user_view;
use crate::profile::{self, ProfilePatch};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use shared::audit;
use shared::auth::TenantMember;
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, Replace, ValidationErrors};
use shared::keys;
use shared::records::UserRecord;
use shared::store::{Condition, Label, StoreError};
use shared::views::UserView;
use time::OffsetDateTime;

shared::replace_body!(
    /// The PUT body: `ProfilePatch`, and the rest of `UserView` read-only.
    pub ProfileReplaceBody,
    ProfilePatch,
    UserView
);

/// The caller's own profile.
#[utoipa::path(
    get,
    // Not the handler name: tenants/me has a get_me too (operationIds are unique).
    operation_id = "get_current_user",
    path = "/api/users/me/",
    tag = "users",
    description = "Permission: any member. `X-Tenant-Id` moves only super admins, and the answer is still the caller.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn get_me(
    State(state): State<AppState>,
    member: TenantMember,
) -> Result<Json<UserView>, ApiError> {
    let principal = member.0.principal();
    let store = state.store.tenant(principal.scope());
    let (_, view) = user_view(&store, principal.user_id())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(view))
}

fn own_profile(member: &TenantMember) -> Result<(), ApiError> {
    if member.0.via_super_admin() {
        return Err(ApiError::bad_request(
            "X-Tenant-Id does not apply to your own profile.",
            "invalid_tenant_header",
        ));
    }
    Ok(())
}

async fn update_me(
    state: &AppState,
    member: &TenantMember,
    patch: ProfilePatch,
) -> Result<UserView, ApiError> {
    own_profile(member)?;
    let mut errors = ValidationErrors::new();
    let principal = member.0.principal();
    let store = state.store.tenant(principal.scope());
    let before: UserRecord = store
        .get(&keys::user(principal.user_id()))
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut after = before.clone();
    profile::apply(&mut errors, &mut after, patch);
    errors.into_result()?;
    if after != before {
        after.version = before.version + 1;
        after.updated_at = OffsetDateTime::now_utc();
        let mut tx = state.store.transaction();
        tx.put(
            principal.scope(),
            &keys::user(after.id),
            &after,
            Condition::VersionIs(before.version),
            Label::User,
        );
        audit::record(
            &mut tx,
            &member.0,
            "user.update",
            "user",
            after.id,
            audit::changes(Some(&before), Some(&after), &["version"]),
        );
        tx.execute().await.map_err(|e| match e {
            StoreError::TransactionConditionFailed(_) => ApiError::conflict(
                "Your profile was changed by another request; reload and try again.",
                "conflict",
            ),
            other => other.into(),
        })?;
    }
    let (_, view) = user_view(&store, after.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(view)
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
    own_profile(&member)?;
    // The caller's own representation may come back: its other fields are read-only.
    let principal = member.0.principal();
    let (_, current) = user_view(&state.store.tenant(principal.scope()), principal.user_id())
        .await?
        .ok_or(ApiError::NotFound)?;
    let patch = patch.against(&current)?;
    update_me(&state, &member, patch).await.map(Json)
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
    update_me(&state, &member, patch).await.map(Json)
}
