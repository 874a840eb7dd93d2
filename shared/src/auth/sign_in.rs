//! The two ways a scope comes from credentials other than an access token.

use super::claims::TokenType;
use super::extract::{token_error, Principal};
use super::password::verify_password;
use super::token::TokenVerifier;
use crate::http::ApiError;
use crate::keys::SortKey;
use crate::records::CredentialRecord;
use crate::store::{Store, StoreError, TenantFetched, TenantScope};

/// Checks a password against a stored credential; only a correct password
/// opens the credential's tenant: its scope (in the tenant's table, from the
/// routing item) and the items `sks` of it, read in the same round trip
/// (see [`Store`]'s dedicated tables). A wrong password reads nothing.
pub async fn sign_in(
    store: &Store,
    credential: &CredentialRecord,
    password: String,
    sks: &[SortKey],
) -> Result<Option<(TenantScope, TenantFetched<'static>)>, StoreError> {
    if verify_password(password, credential.password_hash.clone()).await {
        Ok(Some(store.open_tenant(credential.tenant_id, sks).await?))
    } else {
        Ok(None)
    }
}

/// Verifies a refresh token; yields its claims and tenant scope.
pub fn verify_refresh(verifier: &TokenVerifier, token: &str) -> Result<Principal, ApiError> {
    let claims = verifier
        .verify(token, TokenType::Refresh)
        .map_err(token_error)?;
    Ok(Principal::from_verified(claims))
}
