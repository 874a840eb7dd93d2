use crate::session::{self, ensure_may_sign_in, revoke_family, Session, TokenPair};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use shared::auth::{verify_access, verify_refresh, TokenError, TokenType};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson};
use shared::keys;
use shared::records::{TokenFamilyRecord, UserRecord};
use shared::store::{Label, Patch, StoreError};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh: String,
}

fn revoked() -> ApiError {
    ApiError::Unauthorized {
        detail: "Token is invalid or revoked.".into(),
        code: "token_not_valid",
    }
}

/// Exchange a refresh token for a new pair (rotation).
///
/// Each refresh token works once. Presenting one that was already used
/// revokes the whole login (every token of its family). Permissions, roles
/// and modules are re-read, so changes apply from the next refresh.
///
/// The rotation is one transaction that holds only if, when it is written,
/// the family is still live at the presented token and the user is still
/// active with the sessions cut that was read; a logout, logout-all,
/// password change, deactivation or reuse detection that lands between
/// the reads and the write makes it fail (401) instead of being undone.
#[utoipa::path(
    post,
    path = "/api/auth/token/refresh/",
    tag = "auth",
    description = "Public (the refresh token authenticates). Rotates the refresh token; reuse revokes the family. \
        Logins ended by logout, logout-all (`all: true`), a password change or deactivation answer 401 `token_not_valid`. \
        Of two concurrent refreshes with one token exactly one succeeds; the other gets 401 and the login stays with the winner's token.",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 400, description = "Malformed body", body = BadRequestBody),
        (status = 401, description = "Invalid, expired, reused or revoked refresh token", body = ErrorBody),
        (status = 403, description = "Account inactive or organisation suspended", body = ErrorBody),
        (status = 409, description = "Contended; retry with the same token", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    let principal = verify_refresh(&state.verifier, &req.refresh)?;
    let claims = principal.claims();
    let scope = principal.scope();
    let store = state.store.tenant(scope);
    let family_key = keys::token_family(claims.sub, claims.fam);

    // The user first: its role ids say which roles to read next.
    let mut fetched = store
        .get_many::<keys::SortKey>(&[family_key.clone().into(), keys::user(claims.sub).into()])
        .await?;
    let family: Option<TokenFamilyRecord> = fetched.take(&family_key)?;
    let user: Option<UserRecord> = fetched.take(&keys::user(claims.sub))?;
    let (Some(family), Some(user)) = (family, user) else {
        return Err(revoked());
    };
    if family.revoked || session::ended(&user, &family) {
        return Err(revoked());
    }
    if family.current_jti != claims.jti {
        // An old token came back: it was stolen or replayed. End the login.
        revoke_family(&store, family.user_id, family.family_id).await?;
        tracing::warn!(family_id = %family.family_id, "refresh token reuse detected; family revoked");
        return Err(ApiError::Unauthorized {
            detail: "Refresh token was already used; this login has been revoked.".into(),
            code: "token_not_valid",
        });
    }

    let mut fetched = store
        .get_many(&session::session_keys(user.id, &user.role_ids))
        .await?;
    let loaded =
        session::take_loaded(&mut fetched, user.id, &user.role_ids)?.ok_or_else(revoked)?;
    ensure_may_sign_in(&loaded.user, &loaded.tenant)?;

    let now = OffsetDateTime::now_utc();
    let session = Session {
        scope,
        user: &loaded.user,
        tenant: &loaded.tenant,
        roles: &loaded.roles,
        subscription: loaded.subscription.as_ref(),
    };
    let issued = session.issue(&state.signer, family.family_id, family.created_at, now)?;
    if let Some(pause) = &state.pause {
        pause(crate::Step::Refresh).await;
    }

    // Only the rotated fields are written, on condition that nothing ended
    // the login since it was read.
    let rotate = Patch::new()
        .set("current_jti", &issued.family.current_jti)
        .set("expires_at", &issued.family.expires_at)
        .if_exists()
        .if_eq("current_jti", &claims.jti)
        .if_eq("revoked", &false);
    let cut = user
        .sessions_valid_after
        .map(session::rfc3339)
        .transpose()?;
    let still_signed_in = Patch::new()
        .if_eq("is_active", &true)
        .if_eq("sessions_valid_after", &cut);
    let mut attempt = 0;
    loop {
        let mut tx = state.store.transaction();
        tx.tenant(scope)
            .patch(&family_key, &rotate, Label::Family)
            .check(&keys::user(user.id), &still_signed_in, Label::User);
        match tx.execute().await {
            Ok(()) => return Ok(Json(issued.tokens)),
            // Rotated by a concurrent refresh with the same token (which
            // keeps the login), or ended meanwhile: either way not ours.
            Err(StoreError::TransactionConditionFailed(_)) => return Err(revoked()),
            // Nothing was written; the conditions are checked again.
            Err(StoreError::TransactionConflict) if attempt < 3 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// Check a token: 200 `{}` if valid, 401 otherwise.
///
/// Access tokens are checked by signature and claims, and against
/// revocations (as every authenticated endpoint checks them); refresh
/// tokens against their family (revoked or already used → 401).
#[utoipa::path(
    post,
    path = "/api/auth/token/verify/",
    tag = "auth",
    description = "Public. An access token revoked since it was issued (see `REVOCATION_CHECK_SECONDS`) answers 401 \
        like an expired one; a refresh token answers 401 once its login has ended or the token was used.",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "Valid", body = Empty),
        (status = 400, description = "Malformed body", body = BadRequestBody),
        (status = 401, description = "Invalid, expired or revoked", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<Json<Empty>, ApiError> {
    match state.verifier.verify(&req.token, TokenType::Access) {
        // A well-signed access token must also not be revoked.
        Ok(_) => {
            verify_access(&state.verifier, &state.store, &req.token).await?;
            return Ok(Json(Empty {}));
        }
        Err(TokenError::WrongType(_)) => {}
        Err(_) => {
            return Err(ApiError::Unauthorized {
                detail: "Token is invalid or expired.".into(),
                code: "token_not_valid",
            })
        }
    }
    let principal = verify_refresh(&state.verifier, &req.token)?;
    let claims = principal.claims();
    let family_key = keys::token_family(claims.sub, claims.fam);
    let store = state.store.tenant(principal.scope());
    let mut fetched = store
        .get_many::<keys::SortKey>(&[family_key.clone().into(), keys::user(claims.sub).into()])
        .await?;
    let family: Option<TokenFamilyRecord> = fetched.take(&family_key)?;
    let user: Option<UserRecord> = fetched.take(&keys::user(claims.sub))?;
    match (family, user) {
        (Some(f), Some(u))
            if !f.revoked
                && f.current_jti == claims.jti
                && u.is_active
                && !session::ended(&u, &f) =>
        {
            Ok(Json(Empty {}))
        }
        _ => Err(revoked()),
    }
}
