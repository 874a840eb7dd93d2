use crate::session::revoke_family;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use shared::auth::{verify_refresh, Principal};
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::keys;
use shared::records::TokenFamilyRecord;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The refresh token of the login to end.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Accepted as an alias of `refresh_token`.
    #[serde(default)]
    pub refresh: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Detail {
    pub detail: String,
}

/// Log out: revoke the presented refresh token's whole family at once.
#[utoipa::path(
    post,
    path = "/api/auth/logout/",
    tag = "auth",
    description = "Authenticated (any member). The refresh token must belong to the caller.",
    request_body = LogoutRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Logged out", body = Detail),
        (status = 400, description = "Missing refresh token", body = ValidationErrorBody),
        (status = 401, description = "Not authenticated, or invalid refresh token", body = ErrorBody),
    ),
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<LogoutRequest>,
) -> Result<Json<Detail>, ApiError> {
    let token = req
        .refresh_token
        .or(req.refresh)
        .ok_or_else(|| ValidationErrors::field("refresh_token", "This field is required."))?;
    let refresh = verify_refresh(&state.verifier, &token)?;
    let (mine, theirs) = (principal.claims(), refresh.claims());
    if mine.sub != theirs.sub || mine.tenant_id != theirs.tenant_id {
        return Err(ApiError::Unauthorized {
            detail: "Token is invalid or revoked.".into(),
            code: "token_not_valid",
        });
    }
    let store = state.store.tenant(principal.scope());
    let family: Option<TokenFamilyRecord> = store
        .get(&keys::token_family(theirs.sub, theirs.fam))
        .await?;
    if let Some(family) = family {
        revoke_family(&store, &family).await?;
    }
    Ok(Json(Detail {
        detail: "Successfully logged out.".into(),
    }))
}
