//! Email verification: registration mails the new administrator a
//! single-use link; the link's token marks the user's email verified; a
//! signed-in user, or anyone naming an address, may ask for a new link.
//!
//! Tokens follow the password-reset scheme (`crate::reset`): 32 random
//! bytes from the OS, sent base64url-encoded in the link and stored only as
//! their SHA-256 (`VERIFYTOKEN#<hash>` / `CLAIM`,
//! `records::VerifyTokenRecord`), with the address they were mailed to and
//! a TTL of [`TOKEN_TTL_SECS`]. A token verifies the user only while that
//! address is still the user's email.

use crate::reset::DetailResponse;
use crate::throttle::{self, SourceIp};
use crate::AppState;
use axum::extract::State;
use axum::http::{header::AUTHORIZATION, HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use shared::audit::{self, AccountHolder, By};
use shared::auth::{
    authenticate, check_revocation, invalid_token, one_time_token_hash, open_account, OneTimeToken,
};
use shared::email::pad_send_time;
use shared::email::template::VERIFY_EMAIL;
use shared::email::Mailer;
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, RequestId, ValidationErrors};
use shared::keys::{self, kind, PlatformKey};
use shared::records::{CredentialRecord, TenantRecord, UserRecord, VerifyTokenRecord};
use shared::report::ErrorChain;
use shared::store::{Condition, Label, Patch, Store, StoreError, TenantScope, Transaction};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// How long a verification link works: seven days.
pub const TOKEN_TTL_SECS: i64 = 7 * 24 * 60 * 60;

/// The frontend page a verification link opens.
pub const VERIFY_PATH: &str = "/verify-email";

/// The path that mails a new link (named in login's `email_not_verified`).
pub const RESEND_PATH: &str = "/api/auth/email/verify/resend/";

const VERIFIED: &str = "Email verified.";
const RESENT: &str =
    "If the address belongs to an account that still needs verifying, a new link has been sent.";

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The `token` parameter of the emailed link.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendVerificationRequest {
    /// The account's email, when the caller is not signed in (send no
    /// `Authorization` header then). Signed-in callers send `{}`: the link
    /// goes to their own address.
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@.\s\x00-\x1f\x7f-\x9f]+(\.[^@.\s\x00-\x1f\x7f-\x9f]+)+\s*$"
    )]
    pub email: Option<String>,
}

/// A verification link for `user`, ready to store: the token (its secret
/// goes into the mail) and the item that holds its hash.
pub(crate) struct Issued {
    pub token: OneTimeToken,
    pub key: PlatformKey<kind::VerifyToken>,
    pub record: VerifyTokenRecord,
}

impl Issued {
    pub(crate) fn new(user: &UserRecord, now: OffsetDateTime) -> Self {
        let token = OneTimeToken::generate();
        Self {
            key: keys::verify_token(token.hash()),
            record: VerifyTokenRecord {
                tenant_id: user.tenant_id,
                user_id: user.id,
                email: user.email.clone(),
                created_at: now,
                expires_at: now.unix_timestamp() + TOKEN_TTL_SECS,
            },
            token,
        }
    }

    /// Adds the token item to `tx`.
    pub(crate) fn store_in(&self, tx: &mut Transaction<'_>) {
        tx.put_platform(
            &self.key,
            &self.record,
            Condition::NotExists,
            Label::VerifyToken,
        );
    }

    /// Stores the token on its own (one conditional put), then mails the
    /// link; a failure of either is logged, never returned.
    pub(crate) async fn store_and_send(&self, store: &Store, mailer: &Mailer) {
        match store
            .platform()
            .put(&self.key, &self.record, Condition::NotExists)
            .await
        {
            Ok(()) => self.send(mailer).await,
            Err(e) => tracing::error!(
                error = %ErrorChain(&e),
                "verification token could not be stored; no link sent"
            ),
        }
    }

    /// Mails the link to the address the token was issued for. Best
    /// effort: a failure is logged (with the request id), never returned.
    pub(crate) async fn send(&self, mailer: &Mailer) {
        let to = &self.record.email;
        let link = mailer.link(VERIFY_PATH, self.token.secret());
        let days = (TOKEN_TTL_SECS / (24 * 60 * 60)).to_string();
        match VERIFY_EMAIL.render(to, &[("link", &link), ("email", to), ("valid_days", &days)]) {
            Ok(message) => {
                mailer.deliver(&message).await;
            }
            Err(e) => tracing::error!(error = %e, "verification email could not be rendered"),
        }
        tracing::info!(user_id = %self.record.user_id, "email verification link issued");
    }
}

/// Verify an email address with an emailed token.
///
/// One transaction consumes the token (it must exist and not have
/// expired, so of two verifications one fails), sets the user's
/// `email_verified` (on condition that the user is unchanged since read,
/// and so still has the address the token was mailed to) and writes the
/// audit entry.
#[utoipa::path(
    post,
    path = "/api/auth/email/verify/",
    tag = "auth",
    description = "Public. Marks the user's email verified with the token of a verification link, which then stops working. \
        Links are mailed at registration and by `/api/auth/email/verify/resend/`, and work for seven days, only while the user's email is still the address they were sent to. \
        Access tokens issued afterwards carry `email_verified: true` (refresh, or log in again). \
        An unknown, used or expired token is 400 with `token: [\"Invalid or expired token.\"]`. \
        At most 20 attempts per source IP per hour; beyond, 429 `throttled` with `Retry-After`.",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Email verified", body = DetailResponse),
        (status = 400, description = "Invalid or expired token", body = BadRequestBody),
        (status = 409, description = "The user changed meanwhile; the link still works, retry", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn verify_email(
    State(state): State<AppState>,
    SourceIp(ip): SourceIp,
    request_id: RequestId,
    ApiJson(req): ApiJson<VerifyEmailRequest>,
) -> Result<Json<DetailResponse>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let at = now.unix_timestamp();
    throttle::reserve(&state.store, &throttle::EMAIL_VERIFICATIONS_PER_IP, &ip, at).await?;

    let token_key = one_time_token_hash(&req.token)
        .map(|hash| keys::verify_token(&hash))
        .ok_or_else(invalid_token)?;
    let record: VerifyTokenRecord = state
        .store
        .platform()
        .get(&token_key)
        .await?
        .ok_or_else(invalid_token)?;
    let user_key = keys::user(record.user_id);
    let (scope, mut fetched) =
        open_account(&state.store, record.tenant_id, &[user_key.clone().into()]).await?;
    let user = fetched
        .take::<UserRecord>(&user_key)?
        // Deleted, or given another address since: the token is spent.
        .filter(|u| u.email == record.email)
        .ok_or_else(invalid_token)?;

    let request_id = request_id.0;
    let holder = AccountHolder {
        scope: &scope,
        user_id: user.id,
        email: &record.email,
        request_id: &request_id,
    };
    let mut tx = state.store.transaction();
    tx.consume_platform(&token_key, at, Label::VerifyToken);
    if !user.email_verified {
        let after = UserRecord {
            email_verified: true,
            version: user.version + 1,
            updated_at: now,
            ..user.clone()
        };
        tx.tenant(&scope).put(
            &user_key,
            &after,
            Condition::VersionIs(user.version),
            Label::User,
        );
        audit::record(
            &mut tx,
            By::Account(&holder),
            "user.email_verified",
            "user",
            user.id,
            json!({ "email": record.email }),
        );
    }
    tx.execute().await.map_err(|e| match e {
        // Used by a concurrent verification, or expired meanwhile.
        StoreError::TransactionConditionFailed(_) if e.failed(Label::VerifyToken) => {
            invalid_token()
        }
        // The user changed since read: the token was not spent.
        StoreError::TransactionConditionFailed(_) => ApiError::conflict(
            "The account was changed by another request; try the link again.",
            "conflict",
        ),
        other => other.into(),
    })?;
    tracing::info!(user_id = %user.id, "email verified");
    Ok(Json(DetailResponse {
        detail: VERIFIED.into(),
    }))
}

/// Ask for a new verification link.
///
/// Signed in (a bearer access token, body `{}`), for the caller's own
/// address; or not signed in, naming the address (`{"email": ...}`), which
/// answers alike whether or not an account has it, with the same DynamoDB
/// calls (as a password-reset request does): the two throttle
/// reservations (at once; one refused gives the other back), the
/// credential, one batch read of the tenant (the user
/// and the tenant; for an unknown email, of a tenant that does not exist)
/// and one transaction (the token and the audit entry; an audit entry
/// alone for an account that needs no link; for an unknown email, a check
/// that the email is still unclaimed). Only the message itself is sent for
/// an account alone.
#[utoipa::path(
    post,
    path = "/api/auth/email/verify/resend/",
    tag = "auth",
    description = "Either authenticated (bearer access token, body `{}`): mails a new link to the caller's own address; \
        or public, with `{\"email\": ...}` and no `Authorization` header: mails one if an active account of an active organisation has that address. \
        Both answer 202 with the same body whether or not a link is sent: none for an address already verified, and, by email, none for an unknown one. \
        Links work for seven days, once. A failure to send is logged, not answered. \
        Both together, or neither, is 400 on `email`. \
        At most 20 requests per source IP per hour, and 3 per signed-in user or per email per hour; beyond, 429 `throttled` with `Retry-After`.",
    request_body = ResendVerificationRequest,
    security((), ("bearer" = [])),
    responses(
        (status = 202, description = "Accepted; a link is on its way if one is due", body = DetailResponse),
        (status = 400, description = "Malformed body or email, an email with a bearer token, or neither", body = BadRequestBody),
        (status = 401, description = "The bearer token is invalid, expired or revoked", body = ErrorBody),
        (status = 429, description = "Too many requests; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn resend_verification(
    State(state): State<AppState>,
    SourceIp(ip): SourceIp,
    headers: HeaderMap,
    request_id: RequestId,
    ApiJson(req): ApiJson<ResendVerificationRequest>,
) -> Result<(StatusCode, Json<DetailResponse>), ApiError> {
    let authorization = headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    let request_id = request_id.0;
    let now = OffsetDateTime::now_utc();
    let issued = match (authorization, &req.email) {
        (Some(_), Some(_)) => {
            return Err(ValidationErrors::field(
                "email",
                "Leave out the email when signed in: the link goes to your own address.",
            )
            .into())
        }
        (None, None) => {
            return Err(ValidationErrors::field("email", "This field is required.").into())
        }
        (Some(authorization), None) => {
            let principal = authenticate(&state.verifier, Some(authorization))?;
            check_revocation(&state.store, &principal).await?;
            resend_signed_in(
                &state,
                &ip,
                principal.scope(),
                principal.user_id(),
                &request_id,
                now,
            )
            .await?
        }
        (None, Some(email)) => {
            let mut errors = ValidationErrors::new();
            let email = shared::validate::email(&mut errors, "email", email);
            errors.into_result()?;
            resend_by_email(&state, &ip, &email, &request_id, now).await?
        }
    };
    let started = tokio::time::Instant::now();
    if let Some(issued) = issued {
        issued.send(&state.mailer).await;
    }
    if req.email.is_some() {
        // By address: the answer's timing must not tell whether it has an
        // account, so both paths take the same time.
        pad_send_time(started).await;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(DetailResponse {
            detail: RESENT.into(),
        }),
    ))
}

/// A new link for the signed-in user, unless already verified.
async fn resend_signed_in(
    state: &AppState,
    ip: &str,
    scope: &TenantScope,
    user_id: Uuid,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<Option<Issued>, ApiError> {
    let at = now.unix_timestamp();
    throttle::reserve_each(
        &state.store,
        &[
            (&throttle::VERIFICATION_RESENDS_PER_IP, ip),
            (
                &throttle::VERIFICATION_RESENDS_PER_USER,
                &user_id.to_string(),
            ),
        ],
        at,
    )
    .await?;
    let user_key = keys::user(user_id);
    let Some(user) = state
        .store
        .tenant(scope)
        .get::<UserRecord>(&user_key)
        .await?
    else {
        // A valid token of a deleted user: nothing to verify.
        return Ok(None);
    };
    if user.email_verified || !user.is_active {
        return Ok(None);
    }
    let issued = Issued::new(&user, now);
    let holder = AccountHolder {
        scope,
        user_id,
        email: &user.email,
        request_id,
    };
    let mut tx = state.store.transaction();
    issued.store_in(&mut tx);
    audit::record(
        &mut tx,
        By::Account(&holder),
        "user.email_verification_requested",
        "user",
        user_id,
        json!({ "link_sent": true }),
    );
    tx.execute().await?;
    Ok(Some(issued))
}

/// A new link for the account of `email`, if it has one that needs it;
/// the same calls either way (see [`resend_verification`]).
async fn resend_by_email(
    state: &AppState,
    ip: &str,
    email: &str,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<Option<Issued>, ApiError> {
    let at = now.unix_timestamp();
    throttle::reserve_each(
        &state.store,
        &[
            (&throttle::VERIFICATION_RESENDS_PER_IP, ip),
            (&throttle::VERIFICATION_RESENDS_PER_EMAIL, email),
        ],
        at,
    )
    .await?;

    let credential_key = keys::email_claim(email);
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

    let mut tx = state.store.transaction();
    let mut issued = None;
    match (&credential, &user, &tenant) {
        (Some(credential), Some(user), Some(tenant))
            if user.id == credential.user_id && user.email == email =>
        {
            let due = user.is_active && tenant.is_active && !user.email_verified;
            if due {
                let fresh = Issued::new(user, now);
                fresh.store_in(&mut tx);
                issued = Some(fresh);
            }
            let holder = AccountHolder {
                scope: &scope,
                user_id,
                email,
                request_id,
            };
            audit::record(
                &mut tx,
                By::Account(&holder),
                "user.email_verification_requested",
                "user",
                user_id,
                json!({ "link_sent": due }),
            );
        }
        _ => {
            // Nothing to write: the one round trip checks that the email
            // is still unclaimed. A token is generated and hashed anyway.
            let _ = OneTimeToken::generate();
            tx.check_platform(&credential_key, &Patch::new().if_missing(), Label::Email);
        }
    }
    match tx.execute().await {
        Ok(()) => Ok(issued),
        // Registered meanwhile, or a token hash taken (2^-256): the caller
        // may ask again, and the answer must not differ.
        Err(StoreError::TransactionConditionFailed(_)) => {
            tracing::info!("verification resend raced with another write; nothing sent");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
