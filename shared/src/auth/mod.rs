//! Tokens and authentication: claims, the Ed25519 key pair and its public
//! key set (`key_pair`), where the signing key is loaded from
//! (`key_source`), signing and verification (`token`), and the extractors
//! handlers use to get a verified caller and its tenant scope.

mod claims;
mod extract;
mod jwt_crypto;
pub mod key_pair;
mod key_source;
mod one_time;
mod password;
mod require;
mod sign_in;
mod token;

pub use claims::{Claims, TokenType};
pub use extract::{
    authenticate, check_revocation, is_tenant_admin, verify_access, Actor, Principal, SuperAdmin,
    TenantMember,
};
pub use key_pair::{Jwks, KeyError, PublicJwk, SigningKeyPair};
#[cfg(feature = "secrets")]
pub use key_source::{secrets_manager_client, signing_key_from_secrets_manager};
pub use key_source::{
    signing_key_from_env, signing_key_from_file, signing_key_from_lookup, SigningKeyError,
    SECRETS_MANAGER_ENDPOINT_VAR, SIGNING_KEY_FILE_VAR, SIGNING_SECRET_ID_VAR,
};
pub use one_time::{
    invalid_token, one_time_token_hash, OneTimeToken, INVALID_TOKEN, ONE_TIME_TOKEN_BYTES,
};
pub use password::{
    check_new_password, hash_password, needs_rehash, pad_failed_login, verify_against_dummy,
    verify_password, HashScheme, PasswordError, FAILED_LOGIN_TIME, PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS, PBKDF2_MAX_ITERATIONS,
};
pub use require::{
    holds, own_grants, refuse_beyond, AdministrationAuditManage, AdministrationAuditView,
    AdministrationBillingManage, AdministrationBillingView, AdministrationRolesManage,
    AdministrationRolesView, AdministrationTeamsManage, AdministrationTeamsView,
    AdministrationTenantManage, AdministrationTenantView, AdministrationUsersManage,
    AdministrationUsersView, CrmActivitiesCreate, CrmActivitiesDelete, CrmActivitiesEdit,
    CrmActivitiesView, CrmLeadsCreate, CrmLeadsDelete, CrmLeadsEdit, CrmLeadsExport, CrmLeadsView,
    Permission, Require,
};
pub use sign_in::{open_account, sign_in, verify_refresh};
pub use token::{TokenError, TokenSettings, TokenSigner, TokenVerifier};
