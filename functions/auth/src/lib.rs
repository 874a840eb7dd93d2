//! The auth function: registration, login, token refresh and verification,
//! logout, password change, password reset and email verification by
//! email, accepting invitations and the public signing keys.

mod invitation;
mod jwks;
mod login;
mod logout;
mod password;
mod register;
mod reset;
mod session;
pub mod throttle;
mod tokens;
mod verify;

pub use register::RegisterResponse;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::Router;
use shared::auth::{Jwks, TokenSigner, TokenVerifier};
use shared::email::Mailer;
use shared::http::{self, HttpConfig};
use shared::store::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub signer: Arc<TokenSigner>,
    pub verifier: Arc<TokenVerifier>,
    /// Every public key that verifies tokens (served at the JWKS URL).
    pub jwks: Arc<Jwks>,
    /// Sends password-reset and verification links (SES, or the local
    /// outbox).
    pub mailer: Mailer,
    /// Awaited between a request's reads and its write, with the name of
    /// the step ([`Step`]), so tests can force other requests into that
    /// gap. Always `None` in production.
    pub pause: Option<Pause>,
}

/// Where [`AppState::pause`] is awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A refresh has read the family and the user, and not yet rotated.
    Refresh,
    /// A login has verified the password, and not yet written its family.
    Login,
    /// A password change has verified the old password and read the user,
    /// and not yet written the new credential.
    PasswordChange,
}

/// See [`AppState::pause`].
pub type Pause = Arc<dyn Fn(Step) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

impl FromRef<AppState> for Arc<TokenVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

/// Every operation: method, path and handler on one line. [`document`]
/// lists the same handlers; `tests/api/layout.rs` holds the two together.
#[rustfmt::skip]
fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register/", post(register::register))
        .route("/api/auth/login/", post(login::login))
        .route("/api/auth/token/refresh/", post(tokens::refresh))
        .route("/api/auth/token/verify/", post(tokens::verify))
        .route("/api/auth/logout/", post(logout::logout))
        .route("/api/auth/password/change/", post(password::change_password))
        .route("/api/auth/password/reset/", post(reset::request_reset))
        .route("/api/auth/password/reset/confirm/", post(reset::confirm_reset))
        .route("/api/auth/email/verify/", post(verify::verify_email))
        .route("/api/auth/email/verify/resend/", post(verify::resend_verification))
        .route("/api/auth/invitations/accept/", post(invitation::accept_invitation))
        .route("/.well-known/jwks.json", get(jwks::jwks))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        register::register,
        login::login,
        tokens::refresh,
        tokens::verify,
        logout::logout,
        password::change_password,
        reset::request_reset,
        reset::confirm_reset,
        verify::verify_email,
        verify::resend_verification,
        invitation::accept_invitation,
        jwks::jwks
    ))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    http::app(routes().with_state(state), config)
}

/// Builds the state from a signing key and the configured public keys;
/// the signing key's own public half is always accepted.
pub fn state(
    store: Store,
    signer: TokenSigner,
    mut jwks: Jwks,
    mailer: Mailer,
) -> Result<AppState, shared::auth::KeyError> {
    let own = signer.key().public_jwk();
    if !jwks.keys.iter().any(|k| k.kid == own.kid) {
        jwks.keys.push(own);
    }
    let verifier = TokenVerifier::new(&jwks, signer.settings())?;
    Ok(AppState {
        store,
        signer: Arc::new(signer),
        verifier: Arc::new(verifier),
        jwks: Arc::new(jwks),
        mailer,
        pause: None,
    })
}
