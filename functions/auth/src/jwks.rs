use crate::AppState;
use axum::extract::State;
use axum::Json;
use shared::auth::Jwks;

/// The public keys that verify the platform's tokens (RFC 7517).
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "auth",
    description = "Public. Every key currently accepted; several during a rotation.",
    responses((status = 200, description = "JSON Web Key Set", body = Jwks)),
)]
pub(crate) async fn jwks(State(state): State<AppState>) -> Json<Jwks> {
    Json((*state.jwks).clone())
}
