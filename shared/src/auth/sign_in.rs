//! The ways a scope comes from credentials other than an access token.

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

/// Opens the tenant of an account known from a platform-wide item other
/// than a password (a credential found by email for a password-reset
/// request, a verified reset token): its scope and the items `sks` of it,
/// in one round trip as [`sign_in`] does. Only for code that reveals
/// nothing of what it reads to the caller, or holds proof of the account.
pub async fn open_account(
    store: &Store,
    tenant_id: uuid::Uuid,
    sks: &[SortKey],
) -> Result<(TenantScope, TenantFetched<'static>), StoreError> {
    store.open_tenant(tenant_id, sks).await
}

/// Verifies a refresh token; yields its claims and tenant scope.
pub fn verify_refresh(verifier: &TokenVerifier, token: &str) -> Result<Principal, ApiError> {
    let claims = verifier
        .verify(token, TokenType::Refresh)
        .map_err(token_error)?;
    Ok(Principal::from_verified(claims))
}
