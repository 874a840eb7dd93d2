//! Password reset by email: a request mails a single-use link, a
//! confirmation with the link's token sets a new password and ends every
//! login of the user.
//!
//! The token is 32 random bytes from the OS, sent base64url-encoded in the
//! link and stored only as its SHA-256 (`RESETTOKEN#<hash>` / `CLAIM`,
//! `records::ResetTokenRecord`), with the credential version it was issued
//! against and a TTL of [`TOKEN_TTL_SECS`]: it is never logged, returned or
//! stored in the clear.

use crate::session::{end_sessions_before, ensure_may_sign_in};
use crate::throttle::{self, SourceIp};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::audit::{self, AccountHolder, By};
use shared::auth::{
    check_new_password, hash_password, invalid_token, one_time_token_hash, open_account,
    OneTimeToken, INVALID_TOKEN,
};
use shared::email::pad_send_time;
use shared::email::template::PASSWORD_RESET;
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, RequestId, ValidationErrors};
use shared::keys;
use shared::records::{CredentialRecord, ResetTokenRecord, TenantRecord, UserRecord};
use shared::store::{Condition, Label, Patch, StoreError};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// How long a reset link works: one hour.
pub const TOKEN_TTL_SECS: i64 = 60 * 60;

/// The frontend page a reset link opens.
pub const RESET_PATH: &str = "/reset-password";

const REQUESTED: &str =
    "If an account with this email exists, a link to reset its password has been sent.";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@.\s\x00-\x1f\x7f-\x9f]+(\.[^@.\s\x00-\x1f\x7f-\x9f]+)+\s*$"
    )]
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DetailResponse {
    pub detail: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The `token` parameter of the emailed link.
    pub token: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub new_password: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub new_password_confirm: String,
}

/// Ask for a password-reset link.
///
/// The answer is the same whether or not the email belongs to an
/// account, and so are the DynamoDB calls: the two throttle reservations
/// (at once; one refused gives the other back),
/// the credential, one batch read of the tenant (its routing item, the
/// user and the tenant; for an unknown email, of a tenant that does not
/// exist) and one transaction (the token and the audit entry; an audit
/// entry alone for an account that may not sign in; for an unknown email,
/// a check that the email is still unclaimed; a tenant in a dedicated
/// table adds one batch read, as at login). A token is generated and
/// hashed in every case. Only the message itself is sent for an account
/// alone, and both paths wait until `UNIFORM_SEND_TIME` has passed since
/// that step began, so its time does not show (see docs/architecture.md).
#[utoipa::path(
    post,
    path = "/api/auth/password/reset/",
    tag = "auth",
    description = "Public. Always answers 202 with the same body for a well-formed email, whether or not an account has it. \
        For an active account of an active organisation, emails a link `{FRONTEND_URL}/reset-password?token=...` that works once, within one hour; \
        a later password change or reset makes it useless. A failure to send is logged, not answered. \
        At most 20 requests per source IP and 5 per email per hour; beyond either, 429 `throttled` with `Retry-After`.",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted; a link is on its way if the account exists", body = DetailResponse),
        (status = 400, description = "Malformed body or email", body = BadRequestBody),
        (status = 429, description = "Too many requests; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn request_reset(
    State(state): State<AppState>,
    SourceIp(ip): SourceIp,
    request_id: RequestId,
    ApiJson(req): ApiJson<PasswordResetRequest>,
) -> Result<(StatusCode, Json<DetailResponse>), ApiError> {
    let mut errors = ValidationErrors::new();
    let email = shared::validate::email(&mut errors, "email", &req.email);
    errors.into_result()?;
    let now = OffsetDateTime::now_utc();
    let at = now.unix_timestamp();
    throttle::reserve_each(
        &state.store,
        &[
            (&throttle::PASSWORD_RESETS_PER_IP, &ip),
            (&throttle::PASSWORD_RESETS_PER_EMAIL, &email),
        ],
        at,
    )
    .await?;

    // Generated and hashed whether or not it is used.
    let token = OneTimeToken::generate();
    let credential_key = keys::email_claim(&email);
    let credential: Option<CredentialRecord> = state.store.platform().get(&credential_key).await?;
    // An unknown email opens a tenant that does not exist: the same read.
    let (tenant_id, user_id) = credential
        .as_ref()
        .map_or((Uuid::nil(), Uuid::nil()), |c| (c.tenant_id, c.user_id));
    let user_key = keys::user(user_id);
    let (scope, mut fetched) = open_account(
        &state.store,
        tenant_id,
        &[user_key.clone().into(), keys::tenant_profile().into()],
    )
    .await?;
    let user = fetched.take::<UserRecord>(&user_key)?;
    let tenant = fetched.take::<TenantRecord>(&keys::tenant_profile())?;

    let request_id = request_id.0;
    let mut tx = state.store.transaction();
    let mut send_to = None;
    match (&credential, &user, &tenant) {
        (Some(credential), Some(user), Some(tenant)) if user.id == credential.user_id => {
            let eligible = user.is_active && tenant.is_active;
            if eligible {
                let record = ResetTokenRecord {
                    tenant_id,
                    user_id,
                    email: email.clone(),
                    credential_version: credential.version,
                    created_at: now,
                    expires_at: at + TOKEN_TTL_SECS,
                };
                tx.put_platform(
                    &keys::reset_token(token.hash()),
                    &record,
                    Condition::NotExists,
                    Label::ResetToken,
                );
                send_to = Some(user.email.clone());
            }
            let holder = AccountHolder {
                scope: &scope,
                user_id,
                email: &email,
                request_id: &request_id,
            };
            audit::record(
                &mut tx,
                By::Account(&holder),
                "user.password_reset_requested",
                "user",
                user_id,
                json!({ "link_sent": eligible }),
            );
        }
        _ => {
            // Nothing to write: the one round trip checks that the email
            // is still unclaimed.
            tx.check_platform(&credential_key, &Patch::new().if_missing(), Label::Email);
        }
    }
    match tx.execute().await {
        Ok(()) => {}
        // Registered meanwhile, or a token hash taken (2^-256): the caller
        // may ask again, and the answer must not differ.
        Err(StoreError::TransactionConditionFailed(_)) => {
            tracing::info!("password reset request raced with another write; nothing sent");
            send_to = None;
        }
        Err(e) => return Err(e.into()),
    }

    // Only a known account gets a message: both paths take the same time.
    let started = tokio::time::Instant::now();
    if let Some(to) = send_to {
        let link = state.mailer.link(RESET_PATH, token.secret());
        let minutes = (TOKEN_TTL_SECS / 60).to_string();
        match PASSWORD_RESET.render(
            &to,
            &[("link", &link), ("email", &to), ("valid_minutes", &minutes)],
        ) {
            Ok(message) => {
                state.mailer.deliver(&message).await;
            }
            Err(e) => tracing::error!(error = %e, "password reset email could not be rendered"),
        }
        tracing::info!(%user_id, "password reset link issued");
    }
    pad_send_time(started).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(DetailResponse {
            detail: REQUESTED.into(),
        }),
    ))
}

/// Set a new password with an emailed reset token.
///
/// One transaction consumes the token (it must exist and not have expired,
/// so of two confirmations one fails), rewrites the credential's hash (on
/// condition that its version is the one the token was issued against),
/// ends every login of the user (`sessions_valid_after` and the
/// revocation cutoff, as a password change does), marks the user's email
/// verified (the link proved the mailbox) and writes the audit entry. The user's failed-login counters are cleared afterwards.
#[utoipa::path(
    post,
    path = "/api/auth/password/reset/confirm/",
    tag = "auth",
    description = "Public. Sets a new password (same rules as registration) with the token of a reset link, which then stops working. \
        Every login of the user ends: refresh tokens at once, access tokens within `REVOCATION_CHECK_SECONDS`. No tokens are returned: log in. \
        The user's email counts as verified from then on (`email_verified`). \
        An unknown, used or expired token is 400 with `token: [\"Invalid or expired token.\"]`. \
        At most 20 attempts per source IP per hour; beyond, 429 `throttled` with `Retry-After`.",
    request_body = PasswordResetConfirm,
    responses(
        (status = 200, description = "Password reset", body = DetailResponse),
        (status = 400, description = "Invalid or expired token, or an invalid new password", body = BadRequestBody),
        (status = 403, description = "Account inactive or organisation suspended", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn confirm_reset(
    State(state): State<AppState>,
    SourceIp(ip): SourceIp,
    request_id: RequestId,
    ApiJson(req): ApiJson<PasswordResetConfirm>,
) -> Result<Json<DetailResponse>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let at = now.unix_timestamp();
    throttle::reserve(
        &state.store,
        &throttle::PASSWORD_RESET_CONFIRMS_PER_IP,
        &ip,
        at,
    )
    .await?;

    let token_key = one_time_token_hash(&req.token).map(|hash| keys::reset_token(&hash));
    let record: Option<ResetTokenRecord> = match &token_key {
        Some(key) => state.store.platform().get(key).await?,
        None => None,
    };
    let mut errors = ValidationErrors::new();
    if record.is_none() {
        errors.add("token", INVALID_TOKEN);
    }
    check_new_password(
        &mut errors,
        "new_password",
        "new_password_confirm",
        &req.new_password,
        &req.new_password_confirm,
        record.as_ref().map_or("", |r| r.email.as_str()),
    );
    errors.into_result()?;
    let (Some(record), Some(token_key)) = (record, token_key) else {
        return Err(invalid_token());
    };

    let credential_key = keys::email_claim(&record.email);
    let credential: CredentialRecord = state
        .store
        .platform()
        .get(&credential_key)
        .await?
        // Changed since the token was issued: the token is spent.
        .filter(|c: &CredentialRecord| {
            c.user_id == record.user_id && c.version == record.credential_version
        })
        .ok_or_else(invalid_token)?;
    let user_key = keys::user(record.user_id);
    let (scope, mut fetched) = open_account(
        &state.store,
        credential.tenant_id,
        &[user_key.clone().into(), keys::tenant_profile().into()],
    )
    .await?;
    let (Some(user), Some(tenant)) = (
        fetched.take::<UserRecord>(&user_key)?,
        fetched.take::<TenantRecord>(&keys::tenant_profile())?,
    ) else {
        return Err(invalid_token());
    };
    ensure_may_sign_in(&user, &tenant)?;

    let password_hash = hash_password(req.new_password)
        .await
        .map_err(ApiError::internal)?;
    let updated = CredentialRecord {
        password_hash,
        version: credential.version + 1,
        ..credential.clone()
    };
    let cut = OffsetDateTime::now_utc();
    let request_id = request_id.0;
    let holder = AccountHolder {
        scope: &scope,
        user_id: user.id,
        email: &record.email,
        request_id: &request_id,
    };
    let mut tx = state.store.transaction();
    tx.consume_platform(&token_key, at, Label::ResetToken);
    tx.put_platform(
        &credential_key,
        &updated,
        Condition::VersionIs(credential.version),
        Label::Credential,
    );
    // The user read the mail: their address is verified too, in the same
    // write that ends their logins.
    end_sessions_before(&mut tx, &scope, user.id, cut, true)?;
    // No login survives: unlike a password change, nobody gets new tokens.
    shared::revocation::revoke_user(&mut tx, &scope, user.id, cut);
    audit::record(
        &mut tx,
        By::Account(&holder),
        "user.password_reset",
        "user",
        user.id,
        json!({}),
    );
    tx.execute().await.map_err(|e| match e {
        // Used by a concurrent confirmation, expired meanwhile, or the
        // password changed since the token was read.
        StoreError::TransactionConditionFailed(_) => invalid_token(),
        other => other.into(),
    })?;

    throttle::clear_login(&state.store, &record.email, &ip, at).await;
    tracing::info!(user_id = %user.id, "password reset; every login ended");
    Ok(Json(DetailResponse {
        detail: "Password has been reset.".into(),
    }))
}
