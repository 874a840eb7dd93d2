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
use shared::store::{
    Label, Patch, StoreError, TenantFetched, TenantScope, TenantStore, Transaction,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// Access token (EdDSA JWT), sent as `Authorization: Bearer ...`.
    pub access: String,
    /// Refresh token; usable once, at `/api/auth/token/refresh/`.
    pub refresh: String,
}

/// A user's effective grants at `now`: the merge of their active roles,
/// gated by the tenant's enabled modules. A subscription that grants no
/// modules at `now` (`SubscriptionRecord::grants_modules_at`) keeps only
/// `administration`.
pub fn effective_permissions(
    user: &UserRecord,
    tenant: &TenantRecord,
    roles: &[RoleRecord],
    subscription: Option<&SubscriptionRecord>,
    now: OffsetDateTime,
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
    let modules = shared::billing::entitled_modules(tenant, subscription, now);
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
            effective_permissions(self.user, self.tenant, self.roles, self.subscription, now);
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
            plan: self.subscription.and_then(|s| s.plan_id),
            email_verified: self.user.email_verified,
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
            plan: None,
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
        keys::user(user_id).into(),
        keys::tenant_profile().into(),
        keys::subscription().into(),
    ];
    sks.extend(role_ids.iter().map(|id| keys::role(*id).into()));
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

/// Marks a family revoked (idempotent). Only the flag is written, so a
/// rotation racing with it cannot write the family back as live.
pub async fn revoke_family(
    store: &TenantStore<'_>,
    user_id: Uuid,
    family_id: Uuid,
) -> Result<(), ApiError> {
    let patch = Patch::new().set("revoked", &true).if_exists();
    match store
        .patch(&keys::token_family(user_id, family_id), &patch)
        .await
    {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A timestamp as records store it (RFC 3339 with the full subsecond
/// precision), so it compares exactly with what was read.
pub fn rfc3339(at: OffsetDateTime) -> Result<String, ApiError> {
    at.format(&Rfc3339).map_err(ApiError::internal)
}

/// Adds to `tx` the write that ends every login of the user started
/// before `now`: refresh refuses families created before
/// `sessions_valid_after`. The version bump makes read-modify-write
/// updates of the user notice the change instead of undoing it. With
/// `mark_verified`, the same write sets `email_verified` (a transaction
/// may touch the user only once).
pub fn end_sessions_before(
    tx: &mut Transaction<'_>,
    scope: &TenantScope,
    user_id: Uuid,
    now: OffsetDateTime,
    mark_verified: bool,
) -> Result<(), ApiError> {
    let mut patch = Patch::new().set("sessions_valid_after", &rfc3339(now)?);
    if mark_verified {
        patch = patch.set("email_verified", &true);
    }
    let patch = patch.add("version", 1).if_exists();
    tx.tenant(scope)
        .patch(&keys::user(user_id), &patch, Label::User);
    Ok(())
}

/// Whether a login (token family) started before the user's sessions were
/// ended. Exact comparison: a family created at the very instant of the
/// cut, as the caller's new login at a password change is, stays valid.
pub fn ended(user: &UserRecord, family: &TokenFamilyRecord) -> bool {
    user.sessions_valid_after
        .is_some_and(|cut| family.created_at < cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn family(created_at: OffsetDateTime) -> TokenFamilyRecord {
        TokenFamilyRecord {
            family_id: Uuid::nil(),
            user_id: Uuid::nil(),
            current_jti: Uuid::nil(),
            revoked: false,
            created_at,
            expires_at: 0,
        }
    }

    fn user(cut: Option<OffsetDateTime>) -> UserRecord {
        UserRecord {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            email: "a@b.io".into(),
            first_name: String::new(),
            last_name: String::new(),
            phone: None,
            role_ids: Vec::new(),
            team_ids: Vec::new(),
            is_active: true,
            is_super_admin: false,
            timezone: "UTC".into(),
            preferences: serde_json::json!({}),
            profile_picture: None,
            sessions_valid_after: cut,
            email_verified: false,
            date_joined: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    #[test]
    fn the_cut_is_exact_within_a_second() {
        let cut = OffsetDateTime::now_utc();
        let u = user(Some(cut));
        assert!(ended(&u, &family(cut - Duration::microseconds(1))));
        assert!(!ended(&u, &family(cut)), "the login made at the cut stays");
        assert!(!ended(&u, &family(cut + Duration::microseconds(1))));
        assert!(!ended(&user(None), &family(OffsetDateTime::UNIX_EPOCH)));
    }

    #[test]
    fn the_stored_cut_keeps_its_nanoseconds_and_formats_back_identically() {
        let cut = OffsetDateTime::UNIX_EPOCH + Duration::new(1_800_000_000, 123_456_789);
        let item: std::collections::HashMap<String, serde_dynamo::AttributeValue> =
            serde_dynamo::to_item(user(Some(cut))).unwrap();
        let stored = match &item["sessions_valid_after"] {
            serde_dynamo::AttributeValue::S(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        let back: UserRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back.sessions_valid_after, Some(cut));
        // Refresh's condition compares the stored string with this.
        assert_eq!(rfc3339(cut).unwrap(), stored);
    }
}
