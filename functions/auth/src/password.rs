use crate::session::{self, end_sessions_before, ensure_may_sign_in, Session, TokenPair};
use crate::throttle::{self, SourceIp};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use shared::auth::{check_new_password, hash_password, verify_password, Principal};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::keys;
use shared::records::CredentialRecord;
use shared::store::{Condition, Label, StoreError};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub old_password: String,
    pub new_password: String,
    pub new_password_confirm: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePasswordResponse {
    pub detail: String,
    /// A new login for the caller: every login that existed before the
    /// change, the caller's own included, has ended.
    pub tokens: TokenPair,
}

/// Change the caller's password; every login of the caller ends, and the
/// caller gets a new one.
///
/// One transaction writes the new hash (on condition that the credential
/// is the one verified), the user's `sessions_valid_after` (now) and the
/// caller's new token family (created at that same instant, so it is
/// valid). Refresh refuses every family created before the cut, so no
/// login is enumerated and none can slip through; a refresh racing with
/// the change fails, as its rotation is conditioned on the cut it read.
#[utoipa::path(
    post,
    path = "/api/auth/password/change/",
    tag = "auth",
    description = "Authenticated (any member). Ends every login of the caller (other devices and this one) and returns a new token pair for the caller. \
        A wrong old password counts as a failed login (5 per email and source IP per 15 minutes, 100 per email per hour); \
        at most 20 attempts per source IP per hour. Beyond either, 429 `throttled` with `Retry-After`. \
        Earlier access tokens stop within `REVOCATION_CHECK_SECONDS`.",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Password changed; the new login's tokens", body = ChangePasswordResponse),
        (status = 400, description = "Wrong old password or invalid new one", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Account inactive or organisation suspended", body = ErrorBody),
        (status = 409, description = "Changed concurrently; retry", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    SourceIp(ip): SourceIp,
    principal: Principal,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<Json<ChangePasswordResponse>, ApiError> {
    let claims = principal.claims();
    let now = OffsetDateTime::now_utc();
    let at = now.unix_timestamp();
    let credential_key = keys::email_claim(&claims.email);
    let platform = state.store.platform();
    // Both limits and the credential: one round trip.
    let (per_ip, attempt, credential) = tokio::join!(
        throttle::reserve(&state.store, &throttle::PASSWORD_CHANGES_PER_IP, &ip, at),
        throttle::reserve_login(&state.store, &claims.email, &ip, at),
        platform.get::<CredentialRecord>(&credential_key),
    );
    // Refused by one limit: the other's slot is given back, so nothing
    // is counted (no password is checked).
    let attempt = match (per_ip, attempt) {
        (Ok(()), Ok(attempt)) => attempt,
        (Err(e), Ok(attempt)) => {
            attempt.not_counted(&state.store).await;
            return Err(e);
        }
        (Ok(()), Err(e)) => {
            let given =
                throttle::give_back(&state.store, &throttle::PASSWORD_CHANGES_PER_IP, &ip, at);
            if let Err(r) = given.await {
                tracing::warn!(error = %shared::report::ErrorChain(&r), "could not release a password-change slot");
            }
            return Err(e);
        }
        (Err(a), Err(b)) => return Err(throttle::longer_wait(a, b)),
    };
    let credential: CredentialRecord = credential?
        .filter(|c: &CredentialRecord| c.user_id == claims.sub)
        .ok_or_else(|| ApiError::unauthorized("User not found."))?;
    if !verify_password(req.old_password.clone(), credential.password_hash.clone()).await {
        // The reservation stays: a counted failed login.
        return Err(ValidationErrors::field("old_password", "Old password is not correct.").into());
    }
    let mut errors = ValidationErrors::new();
    check_new_password(
        &mut errors,
        "new_password",
        "new_password_confirm",
        &req.new_password,
        &req.new_password_confirm,
        &claims.email,
    );
    if req.new_password == req.old_password {
        errors.add(
            "new_password",
            "The new password must differ from the old one.",
        );
    }
    if let Err(e) = errors.into_result() {
        attempt.succeeded(&state.store).await;
        return Err(e);
    }

    let scope = principal.scope();
    let tenant_store = state.store.tenant(scope);
    // The old password was right: its slots are given back while the
    // account is read (one round trip).
    let wanted = session::session_keys(credential.user_id, &credential.role_ids);
    let (fetched, ()) = tokio::join!(
        tenant_store.get_many(&wanted),
        attempt.succeeded(&state.store)
    );
    let mut fetched = fetched?;
    let loaded = session::take_loaded(&mut fetched, credential.user_id, &credential.role_ids)?
        .ok_or_else(|| ApiError::unauthorized("User not found."))?;
    ensure_may_sign_in(&loaded.user, &loaded.tenant)?;

    let password_hash = hash_password(req.new_password)
        .await
        .map_err(ApiError::internal)?;
    let updated = CredentialRecord {
        password_hash,
        version: credential.version + 1,
        ..credential.clone()
    };
    // The cut and the new login share one instant: created_at == cut is
    // valid, every earlier login is not.
    let cut = OffsetDateTime::now_utc();
    let session = Session {
        scope,
        user: &loaded.user,
        tenant: &loaded.tenant,
        roles: &loaded.roles,
        subscription: loaded.subscription.as_ref(),
    };
    let issued = session.issue(&state.signer, Uuid::new_v4(), cut, cut)?;

    if let Some(pause) = &state.pause {
        pause(crate::Step::PasswordChange).await;
    }
    let mut tx = state.store.transaction();
    tx.put_platform(
        &credential_key,
        &updated,
        Condition::VersionIs(credential.version),
        Label::Credential,
    );
    end_sessions_before(&mut tx, scope, credential.user_id, cut, false)?;
    // Earlier access tokens stop within the revocation check interval; the
    // new pair is issued at the cut, so it stays valid.
    shared::revocation::revoke_user(&mut tx, scope, credential.user_id, cut);
    tx.tenant(scope).put(
        &keys::token_family(credential.user_id, issued.family.family_id),
        &issued.family,
        Condition::NotExists,
        Label::Family,
    );
    tx.execute().await.map_err(|e| match e {
        e if e.failed(Label::Credential) => ApiError::conflict(
            "The password was changed by another request; try again.",
            "conflict",
        ),
        StoreError::TransactionConditionFailed(_) => ApiError::unauthorized("User not found."),
        other => other.into(),
    })?;
    tracing::info!(user_id = %credential.user_id, "password changed; every earlier login ended");
    Ok(Json(ChangePasswordResponse {
        detail: "Password changed.".into(),
        tokens: issued.tokens,
    }))
}
