use crate::load::user_view;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use shared::audit;
use shared::auth::TenantMember;
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::keys;
use shared::records::UserRecord;
use shared::store::{Condition, StoreError};
use shared::validate;
use shared::views::UserView;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Largest accepted `preferences` document, serialised.
pub const MAX_PREFERENCES_BYTES: usize = 16 * 1024;

/// What a member may change about themselves — never roles, tenant or flags.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// IANA time zone name, e.g. `Europe/Madrid`.
    pub timezone: Option<String>,
    /// Free-form JSON object, at most 16 KiB.
    #[schema(value_type = Option<Object>)]
    pub preferences: Option<Value>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<String>)]
    pub profile_picture: Option<Option<String>>,
}

/// The caller's own profile.
#[utoipa::path(
    get,
    path = "/api/users/me/",
    tag = "users",
    description = "Permission: any member.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn get_me(State(state): State<AppState>, member: TenantMember) -> Result<Json<UserView>, ApiError> {
    let principal = member.0.principal();
    let store = state.store.tenant(principal.scope());
    let (_, view) = user_view(&store, principal.user_id()).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(view))
}

async fn update_me(state: &AppState, member: &TenantMember, patch: ProfilePatch) -> Result<UserView, ApiError> {
    if member.0.via_super_admin() {
        return Err(ApiError::bad_request("X-Tenant-Id does not apply to your own profile.", "invalid_tenant_header"));
    }
    let mut errors = ValidationErrors::new();
    let principal = member.0.principal();
    let store = state.store.tenant(principal.scope());
    let before: UserRecord = store.get(&keys::user(principal.user_id())).await?.ok_or(ApiError::NotFound)?;
    let mut after = before.clone();
    if let Some(v) = &patch.first_name {
        after.first_name = validate::optional_name(&mut errors, "first_name", Some(v), 150);
    }
    if let Some(v) = &patch.last_name {
        after.last_name = validate::optional_name(&mut errors, "last_name", Some(v), 150);
    }
    if let Some(v) = &patch.phone {
        after.phone = v.as_deref().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        if after.phone.as_ref().is_some_and(|p| p.len() > 32 || !p.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c))) {
            errors.add("phone", "Enter a phone number of digits, spaces and + - ( ), at most 32 characters.");
        }
    }
    if let Some(tz) = &patch.timezone {
        let tz = tz.trim();
        if tz.is_empty() || tz.len() > 64 || !tz.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)) {
            errors.add("timezone", "Enter an IANA time zone name, such as Europe/Madrid.");
        }
        after.timezone = tz.to_owned();
    }
    if let Some(prefs) = patch.preferences {
        if !prefs.is_object() {
            errors.add("preferences", "Expected a JSON object.");
        } else if prefs.to_string().len() > MAX_PREFERENCES_BYTES {
            errors.add("preferences", format!("Preferences may not exceed {MAX_PREFERENCES_BYTES} bytes."));
        }
        after.preferences = prefs;
    }
    if let Some(pic) = &patch.profile_picture {
        after.profile_picture = pic.clone().filter(|p| !p.is_empty());
        if after.profile_picture.as_ref().is_some_and(|p| p.len() > 2048 || !(p.starts_with("https://") || p.starts_with("http://"))) {
            errors.add("profile_picture", "Enter an http(s) URL of at most 2048 characters.");
        }
    }
    errors.into_result()?;
    if after != before {
        after.version = before.version + 1;
        after.updated_at = OffsetDateTime::now_utc();
        let mut tx = state.store.transaction();
        tx.put(principal.scope(), &keys::user(after.id), &after, Condition::VersionIs(before.version), "user");
        audit::record(&mut tx, &member.0, "user.update", "user", after.id, audit::changes(Some(&before), Some(&after), &["version"]));
        tx.execute().await.map_err(|e| match e {
            StoreError::TransactionConditionFailed(_) => {
                ApiError::conflict("Your profile was changed by another request; reload and try again.", "conflict")
            }
            other => other.into(),
        })?;
    }
    let (_, view) = user_view(&store, after.id).await?.ok_or(ApiError::NotFound)?;
    Ok(view)
}

/// Replace the caller's own profile fields.
#[utoipa::path(
    put,
    path = "/api/users/update_me/",
    tag = "users",
    description = "Permission: any member. Names, phone, timezone, preferences and profile picture only. Audited.",
    request_body = ProfilePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 400, description = "Invalid or unknown field (roles, tenant and flags are refused)", body = ValidationErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn put_me(
    State(state): State<AppState>,
    member: TenantMember,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<UserView>, ApiError> {
    update_me(&state, &member, patch).await.map(Json)
}

/// Change some of the caller's own profile fields.
#[utoipa::path(
    patch,
    path = "/api/users/update_me/",
    tag = "users",
    description = "Permission: any member. Same fields as PUT. Audited.",
    request_body = ProfilePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 400, description = "Invalid or unknown field", body = ValidationErrorBody),
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
