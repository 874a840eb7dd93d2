use crate::session::{
    self, ensure_may_sign_in, Session, TokenPair, LOGIN_WINDOW_SECS, MAX_FAILED_LOGINS,
};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use shared::auth::{sign_in, verify_against_dummy};
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson};
use shared::keys;
use shared::records::{CredentialRecord, LoginThrottleRecord};
use shared::store::Condition;
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
/// At most three DynamoDB calls: the credential and the failure counter in
/// one batch read; the user, tenant, subscription and roles (with the
/// tenant's routing item) in a second; the new token family (clearing the
/// counter) in a third. A tenant in a dedicated table costs one more batch
/// read, of its items there.
#[utoipa::path(
    post,
    path = "/api/auth/login/",
    tag = "auth",
    description = "Public. Unknown email and wrong password both answer 401 `authentication_failed`. \
        After 5 failures for one email within 15 minutes, 429 with `Retry-After`.",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Malformed body", body = ValidationErrorBody),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 403, description = "Account inactive or organisation suspended", body = ErrorBody),
        (status = 429, description = "Too many failed attempts", body = ErrorBody),
    ),
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let email = req.email.trim().to_lowercase();
    let credential_key = keys::email_claim(&email);
    let throttle_key = keys::login_throttle(&email);
    let platform = state.store.platform();
    let mut first = platform.get_many(&[&credential_key, &throttle_key]).await?;
    let credential: Option<CredentialRecord> = first.take(&credential_key)?;
    let throttle: Option<LoginThrottleRecord> = first.take(&throttle_key)?;
    let now = OffsetDateTime::now_utc();

    if let Some(t) = &throttle {
        if t.failures >= MAX_FAILED_LOGINS && t.window_ends_at > now.unix_timestamp() {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: (t.window_ends_at - now.unix_timestamp()).max(1) as u64,
            });
        }
    }

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
    let (Some((scope, mut fetched)), Some(credential)) = (opened, credential) else {
        platform
            .count_in_window(&throttle_key, "login_throttle", LOGIN_WINDOW_SECS)
            .await?;
        return Err(invalid_credentials());
    };

    let tenant_store = state.store.tenant(&scope);
    let loaded = session::take_loaded(&mut fetched, credential.user_id, &credential.role_ids)?
        .ok_or_else(|| ApiError::internal("credential points at a missing user or tenant"))?;
    ensure_may_sign_in(&loaded.user, &loaded.tenant)?;

    let session = Session {
        scope: &scope,
        user: &loaded.user,
        tenant: &loaded.tenant,
        roles: &loaded.roles,
        subscription: loaded.subscription.as_ref(),
    };
    let issued = session.issue(&state.signer, Uuid::new_v4(), now, now)?;
    let family_key = keys::token_family(issued.family.user_id, issued.family.family_id);
    if throttle.is_some() {
        // A success clears the failure count, in the same write.
        let mut tx = state.store.transaction();
        tx.put(
            &scope,
            &family_key,
            &issued.family,
            Condition::NotExists,
            "family",
        )
        .delete_platform(&throttle_key, "throttle");
        tx.execute().await?;
    } else {
        tenant_store
            .put(&family_key, &issued.family, Condition::NotExists)
            .await?;
    }
    tracing::info!(user_id = %loaded.user.id, "logged in");
    Ok(Json(LoginResponse {
        message: "Login successful.".into(),
        user: UserView::new(&loaded.user, &loaded.tenant, &loaded.roles),
        tokens: issued.tokens,
    }))
}
