//! The two ways a scope comes from credentials other than an access token.

use super::claims::TokenType;
use super::extract::{token_error, Principal};
use super::password::verify_password;
use super::token::TokenVerifier;
use crate::http::ApiError;
use crate::records::CredentialRecord;
use crate::store::TenantScope;

/// Checks a password against a stored credential; only a correct password
/// yields the scope of the credential's tenant.
pub async fn sign_in(credential: &CredentialRecord, password: String) -> Option<TenantScope> {
    if verify_password(password, credential.password_hash.clone()).await {
        Some(TenantScope::new(credential.tenant_id))
    } else {
        None
    }
}

/// Verifies a refresh token; yields its claims and tenant scope.
pub fn verify_refresh(verifier: &TokenVerifier, token: &str) -> Result<Principal, ApiError> {
    let claims = verifier.verify(token, TokenType::Refresh).map_err(token_error)?;
    Ok(Principal::from_verified(claims))
}
