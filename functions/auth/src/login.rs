use crate::session::{self, ensure_may_sign_in, Session, TokenPair};
use crate::throttle::{self, SourceIp};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use shared::auth::{hash_password, needs_rehash, pad_failed_login, sign_in, verify_against_dummy};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::keys;
use shared::records::CredentialRecord;
use shared::store::{Condition, Label, Patch, TenantFetched, TenantScope};
use shared::views::UserView;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub message: String,
    pub user: UserView,
    pub tokens: TokenPair,
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized {
        detail: "Invalid credentials".into(),
        code: "authentication_failed",
    }
}

/// Log in with email and password.
///
/// The attempt is counted before the password is checked: one conditional
/// write takes a slot of both limits (see [`crate::throttle::LOGIN`]), so
/// concurrent guesses cost at most the limit in argon2 checks. A wrong
/// password keeps its slots (a counted failure); a right one clears the
/// (email, IP) count and gives back its email-wide slot, in one write.
///
/// DynamoDB calls (5), in three round trips: the reservation with the
/// credential; the user, tenant, subscription and roles (with the tenant's
/// routing item) in one batch read; the release, once the password is
/// known to be right, with the new token family in a transaction that also
/// checks the credential is still the one verified (a password changed
/// meanwhile fails the login). A tenant in a dedicated table costs one
/// more batch read, of its items there. A refused reservation reads the
/// counts, to tell which window to wait for.
///
/// A hash imported from the Django original costs one more argon2id hash
/// and write after the transaction, once ([`upgrade_hash`]).
#[utoipa::path(
    post,
    path = "/api/auth/login/",
    tag = "auth",
    description = "Public. Unknown email and wrong password both answer 401 `authentication_failed`, no sooner than one second after the credential lookup (`FAILED_LOGIN_TIME`), whatever the stored hash. \
        Attempts are counted before the password is checked: at most 5 failed attempts per email from one source IP per 15 minutes, \
        and 100 per email from all IPs per hour; beyond that 429 `throttled` with `Retry-After` (seconds until the window ends), \
        even for the right password. A successful login clears that email's count for its source IP. \
        Failures from one IP do not affect logins from another (below the per-email cap). \
        When the organisation's `settings.require_verified_email` is `true`, a user whose email is not verified (super admins excepted) \
        gets, after the right password only, 403 `email_not_verified` with `resend`: the path that mails a new link (`{\"email\": ...}`, no token needed).",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Malformed body, or an email longer than 254 characters", body = BadRequestBody),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 403, description = "Account inactive, organisation suspended, or `email_not_verified` (with `resend`)", body = ErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    SourceIp(ip): SourceIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let email = req.email.trim().to_lowercase();
    if email.len() > shared::validate::MAX_EMAIL {
        // No account has such an email; and it would not fit in a key.
        return Err(ValidationErrors::field(
            "email",
            format!(
                "Ensure this field has no more than {} characters.",
                shared::validate::MAX_EMAIL
            ),
        )
        .into());
    }
    let now = OffsetDateTime::now_utc();
    let started = tokio::time::Instant::now();
    let credential_key = keys::email_claim(&email);
    // The credential is read with the reservations (one round trip); a
    // refused reservation leaves it unused and no password is checked.
    let platform = state.store.platform();
    let (attempt, credential) = tokio::join!(
        throttle::reserve_login(&state.store, &email, &ip, now.unix_timestamp()),
        platform.get::<CredentialRecord>(&credential_key),
    );
    let attempt = attempt?;
    let credential = credential?;
    // Kept only when the stored hash is an imported one to replace.
    let rehash_with = credential
        .as_ref()
        .filter(|c| needs_rehash(&c.password_hash))
        .map(|_| req.password.clone());
    let opened = match &credential {
        Some(c) => {
            sign_in(
                &state.store,
                c,
                req.password,
                &session::session_keys(c.user_id, &c.role_ids),
            )
            .await?
        }
        None => {
            // Same work as a wrong password, so timing does not tell
            // whether the email exists.
            verify_against_dummy(req.password).await;
            None
        }
    };
    let (Some((scope, fetched)), Some(credential)) = (opened, credential) else {
        // The reservation stays: it is the counted failure. Every failure
        // takes as long: an unknown email, and a wrong password whatever
        // its hash (an imported PBKDF2 one costs far more than argon2id).
        pad_failed_login(started).await;
        return Err(invalid_credentials());
    };
    // The slot is given back while the login is written: one round trip.
    let (response, ()) = tokio::join!(
        open_session(&state, &scope, fetched, &credential, &credential_key, now),
        attempt.succeeded(&state.store),
    );
    let response = response?;
    if let Some(password) = rehash_with {
        upgrade_hash(&state, &credential_key, &credential, password).await;
    }
    Ok(Json(response))
}

/// After the right password: the account's checks, then the new token
/// family, written with a check that the credential is still the one
/// verified.
async fn open_session(
    state: &AppState,
    scope: &TenantScope,
    mut fetched: TenantFetched<'static>,
    credential: &CredentialRecord,
    credential_key: &keys::PlatformKey<keys::kind::Credential>,
    now: OffsetDateTime,
) -> Result<LoginResponse, ApiError> {
    let loaded = session::take_loaded(&mut fetched, credential.user_id, &credential.role_ids)?
        .ok_or_else(|| ApiError::internal("credential points at a missing user or tenant"))?;
    ensure_may_sign_in(&loaded.user, &loaded.tenant)?;
    // Only after the right password: a 403 here tells nobody without it
    // that the account exists. Nothing is written.
    if loaded.tenant.requires_verified_email()
        && !loaded.user.email_verified
        && !loaded.user.is_super_admin
    {
        return Err(ApiError::EmailNotVerified {
            detail: "Verify your email address to sign in; we can send you a new link.".into(),
            resend: crate::verify::RESEND_PATH,
        });
    }

    let session = Session {
        scope,
        user: &loaded.user,
        tenant: &loaded.tenant,
        roles: &loaded.roles,
        subscription: loaded.subscription.as_ref(),
    };
    let issued = session.issue(&state.signer, Uuid::new_v4(), now, now)?;
    let family_key = keys::token_family(issued.family.user_id, issued.family.family_id);
    if let Some(pause) = &state.pause {
        pause(crate::Step::Login).await;
    }
    let mut tx = state.store.transaction();
    tx.tenant(scope).put(
        &family_key,
        &issued.family,
        Condition::NotExists,
        Label::Family,
    );
    tx.check_platform(
        credential_key,
        &Patch::new().if_eq("version", &credential.version),
        Label::Credential,
    );
    match tx.execute().await {
        Ok(()) => {}
        // The password changed after it was verified: that password no
        // longer opens a login.
        Err(e) if e.failed(Label::Credential) => return Err(invalid_credentials()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(user_id = %loaded.user.id, "logged in");
    Ok(LoginResponse {
        message: "Login successful.".into(),
        user: UserView::new(&loaded.user, &loaded.tenant, &loaded.roles),
        tokens: issued.tokens,
    })
}

/// Replaces an imported (Django) hash that just verified with the
/// platform's argon2id, as Django upgrades hashes on login. The version
/// stays: the password and roles are unchanged, so concurrent logins keep
/// passing their credential check. The write is conditioned on the version
/// verified; losing it (the password or roles changed meanwhile) or failing
/// leaves the old hash for the next login and never fails this one.
async fn upgrade_hash(
    state: &AppState,
    key: &shared::keys::PlatformKey<shared::keys::kind::Credential>,
    credential: &CredentialRecord,
    password: String,
) {
    let password_hash = match hash_password(password).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(user_id = %credential.user_id, error = %e, "password hash not upgraded");
            return;
        }
    };
    let upgraded = CredentialRecord {
        password_hash,
        ..credential.clone()
    };
    match state
        .store
        .platform()
        .put(key, &upgraded, Condition::VersionIs(credential.version))
        .await
    {
        Ok(()) => {
            tracing::info!(user_id = %credential.user_id, "password hash upgraded to argon2id")
        }
        Err(e) => {
            tracing::warn!(user_id = %credential.user_id, error = %shared::report::ErrorChain(&e), "password hash not upgraded")
        }
    }
}
