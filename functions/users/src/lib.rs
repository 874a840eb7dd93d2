//! The users function: the caller's own profile, the tenant admins'
//! management of users, their roles and teams, and invitations.

mod invitations;
mod users;

/// The invitation throttles, for tests that fill them.
pub use invitations::write::{INVITATIONS_PER_TENANT, RESENDS_PER_INVITATION};

use axum::extract::FromRef;
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use shared::auth::TokenVerifier;
use shared::email::Mailer;
use shared::http::{self, HttpConfig};
use shared::store::Store;
use std::sync::Arc;

/// The store, the token verifier and the mailer (invitations).
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub verifier: Arc<TokenVerifier>,
    /// Sends invitation links (SES, or the local outbox).
    pub mailer: Mailer,
}

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

impl AppState {
    pub fn new(api: shared::state::ApiState, mailer: Mailer) -> Self {
        Self {
            store: api.store,
            verifier: api.verifier,
            mailer,
        }
    }
}

/// Every operation: method, path and handler on one line. [`document`]
/// lists the same handlers; `tests/api/layout.rs` holds the two together.
#[rustfmt::skip]
fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users/me/", get(users::read::get_me))
        .route("/api/users/update_me/", put(users::write::put_me))
        .route("/api/users/update_me/", patch(users::write::patch_me))
        .route("/api/users/", get(users::read::list_users))
        .route("/api/users/", post(users::write::create_user))
        .route("/api/users/{id}/", get(users::read::get_user))
        .route("/api/users/{id}/", put(users::write::replace_user))
        .route("/api/users/{id}/", patch(users::write::patch_user))
        .route("/api/users/{id}/", delete(users::write::deactivate_user))
        .route("/api/users/{id}/activate/", post(users::write::activate_user))
        .route("/api/users/{id}/assign_roles/", post(users::write::assign_roles))
        .route("/api/users/{id}/remove_role/", delete(users::write::remove_role))
        .route("/api/users/invitations/", get(invitations::read::list_invitations))
        .route("/api/users/invitations/", post(invitations::write::create_invitation))
        .route("/api/users/invitations/{id}/", delete(invitations::write::revoke_invitation))
        .route("/api/users/invitations/{id}/resend/", post(invitations::write::resend_invitation))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        users::read::get_me,
        users::write::put_me,
        users::write::patch_me,
        users::read::list_users,
        users::write::create_user,
        users::read::get_user,
        users::write::replace_user,
        users::write::patch_user,
        users::write::deactivate_user,
        users::write::activate_user,
        users::write::assign_roles,
        users::write::remove_role,
        invitations::read::list_invitations,
        invitations::write::create_invitation,
        invitations::write::revoke_invitation,
        invitations::write::resend_invitation
    ))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    http::app(routes().with_state(state), config)
}
