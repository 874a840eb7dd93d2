use crate::session::{end_sessions_before, revoke_family};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use shared::auth::{verify_refresh, Principal};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::store::StoreError;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The refresh token of the login to end. Optional with `all`.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Accepted as an alias of `refresh_token`.
    #[serde(default)]
    pub refresh: Option<String>,
    /// End every login of the caller, on every device, this one included.
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Detail {
    pub detail: String,
}

/// Log out: revoke the presented refresh token's whole family at once, or
/// with `all`, every login of the caller.
///
/// `all` sets the user's `sessions_valid_after` to now: refresh refuses
/// every family created before it, including those being refreshed at the
/// same moment (the rotation is conditioned on the value it read).
#[utoipa::path(
    post,
    path = "/api/auth/logout/",
    tag = "auth",
    description = "Authenticated (any member). Without `all`, `refresh_token` (or `refresh`) is required and must belong to the caller; \
        its login ends. With `{\"all\": true}` every login of the caller ends (the refresh token is then optional, and checked if given). \
        The ended logins' access tokens stop within `REVOCATION_CHECK_SECONDS`.",
    request_body = LogoutRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Logged out", body = Detail),
        (status = 400, description = "Missing refresh token", body = BadRequestBody),
        (status = 401, description = "Not authenticated, or invalid refresh token", body = ErrorBody),
        (status = 409, description = "The user changed concurrently; retry", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<LogoutRequest>,
) -> Result<Json<Detail>, ApiError> {
    let token = req.refresh_token.or(req.refresh);
    let refresh = match token {
        Some(token) => Some(verify_refresh(&state.verifier, &token)?),
        None if req.all => None,
        None => {
            return Err(ValidationErrors::field("refresh_token", "This field is required.").into())
        }
    };
    let mine = principal.claims();
    if let Some(refresh) = &refresh {
        let theirs = refresh.claims();
        if mine.sub != theirs.sub || mine.tenant_id != theirs.tenant_id {
            return Err(ApiError::Unauthorized {
                detail: "Token is invalid or revoked.".into(),
                code: "token_not_valid",
            });
        }
    }
    if req.all {
        let mut tx = state.store.transaction();
        let now = OffsetDateTime::now_utc();
        end_sessions_before(&mut tx, principal.scope(), mine.sub, now, false)?;
        // Access tokens stop too, within the revocation check interval.
        shared::revocation::revoke_user(&mut tx, principal.scope(), mine.sub, now);
        tx.execute().await.map_err(|e| match e {
            StoreError::TransactionConditionFailed(_) => ApiError::unauthorized("User not found."),
            other => other.into(),
        })?;
        tracing::info!(user_id = %mine.sub, "logged out everywhere");
        return Ok(Json(Detail {
            detail: "Successfully logged out of every session.".into(),
        }));
    }
    if let Some(refresh) = &refresh {
        let theirs = refresh.claims();
        let store = state.store.tenant(principal.scope());
        revoke_family(&store, theirs.sub, theirs.fam).await?;
        // The login's access tokens stop too, within the revocation check
        // interval. A second write: both are idempotent, so a failure here
        // answers 503 and a retry completes the logout.
        let mut tx = state.store.transaction();
        shared::revocation::revoke_login(
            &mut tx,
            principal.scope(),
            theirs.fam,
            OffsetDateTime::now_utc(),
        );
        tx.execute().await?;
    }
    Ok(Json(Detail {
        detail: "Successfully logged out.".into(),
    }))
}
