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
use axum::Router;
use shared::auth::{Jwks, TokenSigner, TokenVerifier};
use shared::email::Mailer;
use shared::http::{self, HttpConfig};
use shared::store::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// Every operation, one comment per method and path above its
/// `routes!` (checked against the document by `tests/api/layout.rs`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // POST /api/auth/register/ -> register::register
        .routes(routes!(register::register))
        // POST /api/auth/login/ -> login::login
        .routes(routes!(login::login))
        // POST /api/auth/token/refresh/ -> tokens::refresh
        .routes(routes!(tokens::refresh))
        // POST /api/auth/token/verify/ -> tokens::verify
        .routes(routes!(tokens::verify))
        // POST /api/auth/logout/ -> logout::logout
        .routes(routes!(logout::logout))
        // POST /api/auth/password/change/ -> password::change_password
        .routes(routes!(password::change_password))
        // POST /api/auth/password/reset/ -> reset::request_reset
        .routes(routes!(reset::request_reset))
        // POST /api/auth/password/reset/confirm/ -> reset::confirm_reset
        .routes(routes!(reset::confirm_reset))
        // POST /api/auth/email/verify/ -> verify::verify_email
        .routes(routes!(verify::verify_email))
        // POST /api/auth/email/verify/resend/ -> verify::resend_verification
        .routes(routes!(verify::resend_verification))
        // POST /api/auth/invitations/accept/ -> invitation::accept_invitation
        .routes(routes!(invitation::accept_invitation))
        // GET /.well-known/jwks.json -> jwks::jwks
        .routes(routes!(jwks::jwks))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
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
