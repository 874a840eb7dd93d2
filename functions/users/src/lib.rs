//! The users function: the caller's own profile, the tenant admins'
//! management of users, their roles and teams, and invitations.

mod invitations;
mod users;

use axum::extract::FromRef;
use axum::Router;
use shared::auth::TokenVerifier;
use shared::email::Mailer;
use shared::http::{self, HttpConfig};
use shared::store::Store;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// Every operation, one comment per method and path above its
/// `routes!` (checked against the document by `tests/api/layout.rs`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // GET /api/users/me/ -> users::read::get_me
        .routes(routes!(users::read::get_me))
        // PUT /api/users/update_me/ -> users::write::put_me
        // PATCH /api/users/update_me/ -> users::write::patch_me
        .routes(routes!(users::write::put_me, users::write::patch_me))
        // GET /api/users/ -> users::read::list_users
        // POST /api/users/ -> users::write::create_user
        .routes(routes!(users::read::list_users, users::write::create_user))
        // GET /api/users/{id}/ -> users::read::get_user
        // PUT /api/users/{id}/ -> users::write::replace_user
        // PATCH /api/users/{id}/ -> users::write::patch_user
        // DELETE /api/users/{id}/ -> users::write::deactivate_user
        .routes(routes!(
            users::read::get_user,
            users::write::replace_user,
            users::write::patch_user,
            users::write::deactivate_user
        ))
        // POST /api/users/{id}/activate/ -> users::write::activate_user
        .routes(routes!(users::write::activate_user))
        // POST /api/users/{id}/assign_roles/ -> users::write::assign_roles
        .routes(routes!(users::write::assign_roles))
        // DELETE /api/users/{id}/remove_role/ -> users::write::remove_role
        .routes(routes!(users::write::remove_role))
        // GET /api/users/invitations/ -> invitations::read::list_invitations
        // POST /api/users/invitations/ -> invitations::write::create_invitation
        .routes(routes!(
            invitations::read::list_invitations,
            invitations::write::create_invitation
        ))
        // DELETE /api/users/invitations/{id}/ -> invitations::write::revoke_invitation
        .routes(routes!(invitations::write::revoke_invitation))
        // POST /api/users/invitations/{id}/resend/ -> invitations::write::resend_invitation
        .routes(routes!(invitations::write::resend_invitation))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
