//! Sessions: what a token says about a user, and issuing token pairs whose
//! refresh tokens belong to a rotating family.

use serde::Serialize;
use shared::auth::{Claims, TokenSigner, TokenType};
use shared::http::ApiError;
use shared::keys;
use shared::permissions::{flatten, gate, merge, FlatPermissions, Module, RoleGrants};
use shared::records::{
    RoleRecord, SubscriptionRecord, TenantRecord, TokenFamilyRecord, UserRecord,
};
use shared::store::{TenantFetched, TenantScope, TenantStore};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Failed logins per email are counted in windows of this length.
pub const LOGIN_WINDOW_SECS: i64 = 15 * 60;
/// Failures allowed in one window before logins of that email get 429.
pub const MAX_FAILED_LOGINS: u32 = 5;

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// Access token (EdDSA JWT), sent as `Authorization: Bearer ...`.
    pub access: String,
    /// Refresh token; usable once, at `/api/auth/token/refresh/`.
    pub refresh: String,
}

/// A user's effective grants: the merge of their active roles, gated by
/// the tenant's enabled modules. Cancelled or expired subscriptions keep
/// only `administration`.
pub fn effective_permissions(
    user: &UserRecord,
    tenant: &TenantRecord,
    roles: &[RoleRecord],
    subscription: Option<&SubscriptionRecord>,
) -> (FlatPermissions, Vec<Module>) {
    let grants: Vec<RoleGrants> = roles
        .iter()
        .filter(|r| user.role_ids.contains(&r.id))
        .map(|r| RoleGrants {
            id: r.id.to_string(),
            name: r.name.clone(),
            is_active: r.is_active,
            permissions: r.permissions.clone(),
        })
        .collect();
    let modules = shared::billing::entitled_modules(tenant, subscription);
    (flatten(&gate(&merge(&grants), &modules)), modules)
}

/// Everything needed to sign tokens for a user.
pub struct Session<'a> {
    /// The tenant's scope: its table goes into the tokens (`tbl`).
    pub scope: &'a TenantScope,
    pub user: &'a UserRecord,
    pub tenant: &'a TenantRecord,
    pub roles: &'a [RoleRecord],
    pub subscription: Option<&'a SubscriptionRecord>,
}

pub struct Issued {
    pub tokens: TokenPair,
    /// The family record to store (new, or rotated).
    pub family: TokenFamilyRecord,
}

impl Session<'_> {
    /// Signs an access and a refresh token; the refresh token becomes the
    /// family's only exchangeable one.
    pub fn issue(
        &self,
        signer: &TokenSigner,
        family_id: Uuid,
        family_created: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Issued, ApiError> {
        let (permissions, modules) =
            effective_permissions(self.user, self.tenant, self.roles, self.subscription);
        let settings = signer.settings();
        let iat = now.unix_timestamp();
        let iat_ms = shared::revocation::epoch_ms(now);
        // The roles the grants came from: a later change to one of them
        // revokes this token (shared::revocation).
        let roles = self
            .roles
            .iter()
            .filter(|r| r.is_active && self.user.role_ids.contains(&r.id))
            .map(|r| r.id)
            .collect();
        let base = Claims {
            sub: self.user.id,
            email: self.user.email.clone(),
            tenant_id: self.tenant.id,
            tenant_slug: self.tenant.slug.clone(),
            table: self.scope.table().map(str::to_owned),
            is_super_admin: self.user.is_super_admin,
            permissions,
            enabled_modules: modules.iter().map(|m| m.as_str().to_owned()).collect(),
            team_ids: self.user.team_ids.clone(),
            roles,
            token_type: TokenType::Access,
            jti: Uuid::new_v4(),
            fam: family_id,
            iat,
            iat_ms: Some(iat_ms),
            nbf: iat,
            exp: iat + settings.access_ttl_secs,
            iss: settings.issuer.clone(),
            aud: settings.audience.clone(),
        };
        let refresh_claims = Claims {
            token_type: TokenType::Refresh,
            jti: Uuid::new_v4(),
            exp: iat + settings.refresh_ttl_secs,
            // Refresh tokens carry identity only: permissions are re-read at
            // every refresh.
            permissions: FlatPermissions::default(),
            enabled_modules: Vec::new(),
            roles: Vec::new(),
            ..base.clone()
        };
        let access = signer.sign(&base).map_err(ApiError::internal)?;
        let refresh = signer.sign(&refresh_claims).map_err(ApiError::internal)?;
        Ok(Issued {
            tokens: TokenPair { access, refresh },
            family: TokenFamilyRecord {
                family_id,
                user_id: self.user.id,
                current_jti: refresh_claims.jti,
                revoked: false,
                created_at: family_created,
                expires_at: refresh_claims.exp,
            },
        })
    }
}

/// The records a session is built from, read in one batch: the user, the
/// tenant, its subscription and the given roles (plus, optionally, a token
/// family).
pub struct Loaded {
    pub user: UserRecord,
    pub tenant: TenantRecord,
    pub roles: Vec<RoleRecord>,
    pub subscription: Option<SubscriptionRecord>,
}

pub fn take_loaded(
    fetched: &mut TenantFetched<'_>,
    user_id: Uuid,
    role_ids: &[Uuid],
) -> Result<Option<Loaded>, ApiError> {
    let Some(user) = fetched.take::<UserRecord>(&keys::user(user_id))? else {
        return Ok(None);
    };
    let Some(tenant) = fetched.take::<TenantRecord>(&keys::tenant_profile())? else {
        return Ok(None);
    };
    let subscription = fetched.take::<SubscriptionRecord>(&keys::subscription())?;
    let mut roles = Vec::new();
    for id in role_ids {
        if let Some(role) = fetched.take::<RoleRecord>(&keys::role(*id))? {
            roles.push(role);
        }
    }
    Ok(Some(Loaded {
        user,
        tenant,
        roles,
        subscription,
    }))
}

/// Sort keys of [`take_loaded`]'s records.
pub fn session_keys(user_id: Uuid, role_ids: &[Uuid]) -> Vec<keys::SortKey> {
    let mut sks = vec![
        keys::user(user_id),
        keys::tenant_profile(),
        keys::subscription(),
    ];
    sks.extend(role_ids.iter().map(|id| keys::role(*id)));
    sks
}

/// Refuses sessions of inactive users and suspended tenants.
pub fn ensure_may_sign_in(user: &UserRecord, tenant: &TenantRecord) -> Result<(), ApiError> {
    if !tenant.is_active {
        return Err(ApiError::Forbidden {
            detail: "This organisation is suspended.".into(),
            code: "tenant_suspended",
            permission: None,
        });
    }
    if !user.is_active {
        return Err(ApiError::Forbidden {
            detail: "This account is inactive.".into(),
            code: "account_inactive",
            permission: None,
        });
    }
    Ok(())
}

/// Marks a family revoked (idempotent).
pub async fn revoke_family(
    store: &TenantStore<'_>,
    family: &TokenFamilyRecord,
) -> Result<(), ApiError> {
    let revoked = TokenFamilyRecord {
        revoked: true,
        ..family.clone()
    };
    store
        .put(
            &keys::token_family(family.user_id, family.family_id),
            &revoked,
            shared::store::Condition::Exists,
        )
        .await
        .or_else(|e| match e {
            shared::store::StoreError::ConditionFailed => Ok(()),
            other => Err(other),
        })?;
    Ok(())
}
