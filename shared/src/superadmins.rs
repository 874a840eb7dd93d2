//! Super admins: active users of the platform tenant (slug `platform`, a
//! reserved slug no registration can take) with `is_super_admin`. Only the
//! operator tool `devctl superadmin` manages them (no API), so a stolen
//! super-admin token cannot mint more. Every change is audited in the
//! platform tenant's log as `devctl`.
//!
//! Removing a super admin deactivates the user and clears
//! `is_super_admin` (their refresh tokens die with `sessions_valid_after`);
//! the record and its audit trail stay. Adding the same email again
//! reactivates it. The last active super admin is never removed.

use crate::audit::{self, By};
use crate::auth::hash_password;
use crate::keys;
use crate::membership;
use crate::permissions::Module;
use crate::records::{CredentialRecord, RoleNameClaim, SlugClaim, TenantRecord, UserRecord};
use crate::store::{
    Add, Bound, Condition, Counter, Label, PageRequest, Store, StoreError, TenantScope, Transaction,
};
use crate::tenancy::{self, NewTenant, ProvisionError, TrialTerms};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The platform tenant's slug (reserved: see `validate::slug`).
pub const PLATFORM_SLUG: &str = "platform";

/// Who the audit log names for these changes.
pub const AUDIT_ACTOR: &str = "devctl";

/// Whether `tenant` is the platform tenant, which may never be suspended:
/// every super admin signs in through it.
pub fn is_platform(tenant: &TenantRecord) -> bool {
    tenant.slug == PLATFORM_SLUG
}

#[derive(Debug, thiserror::Error)]
pub enum SuperAdminError {
    #[error("the password needs at least 10 characters")]
    WeakPassword,
    #[error("{0:?} is not an email address")]
    InvalidEmail(String),
    #[error("{0} is a user of another tenant, not of the platform tenant")]
    OtherTenant(String),
    #[error("{0} is not an active super admin")]
    NotSuperAdmin(String),
    #[error("{0} is the last super admin: add another one before removing it")]
    LastSuperAdmin(String),
    #[error("changed concurrently; run the command again")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// What [`add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The platform tenant was created with this first super admin.
    CreatedPlatform,
    /// A new user of the platform tenant.
    Created,
    /// An existing platform user became (again) an active super admin.
    Promoted,
    /// Already an active super admin: nothing changed.
    Unchanged,
}

/// The platform tenant's scope, if it exists. It always lives in the main
/// table (`devctl` creates it there).
pub async fn platform_scope(store: &Store) -> Result<Option<TenantScope>, StoreError> {
    let claim: Option<SlugClaim> = store
        .platform()
        .get(&keys::slug_claim(PLATFORM_SLUG))
        .await?;
    Ok(claim.map(|c| TenantScope::in_table(c.tenant_id, None)))
}

/// Every active super admin, in user-id (join) order.
pub async fn list(store: &Store) -> Result<Vec<UserRecord>, StoreError> {
    let Some(scope) = platform_scope(store).await? else {
        return Ok(Vec::new());
    };
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = PageRequest::new(100, cursor, "superadmins");
        let users = store
            .tenant(&scope)
            .query::<UserRecord>(&keys::users(), &page)
            .await?;
        all.extend(
            users
                .items
                .into_iter()
                .filter(|u| u.is_super_admin && u.is_active),
        );
        match users.next {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// Adds a super admin: creates the platform tenant on first use, else a
/// user in it (with its system Admin role), or promotes and reactivates
/// the platform user with that email (setting the password given).
pub async fn add(store: &Store, email: &str, password: &str) -> Result<Added, SuperAdminError> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(SuperAdminError::InvalidEmail(email));
    }
    if password.chars().count() < 10 {
        return Err(SuperAdminError::WeakPassword);
    }
    let hash = hash_password(password.to_owned())
        .await
        .map_err(|e| SuperAdminError::Hash(e.to_string()))?;
    let now = OffsetDateTime::now_utc();
    let Some(scope) = platform_scope(store).await? else {
        return create_platform(store, email, hash, now).await;
    };
    let credential: Option<CredentialRecord> =
        store.platform().get(&keys::email_claim(&email)).await?;
    let admin_role = store
        .tenant(&scope)
        .get::<RoleNameClaim>(&keys::role_name("admin"))
        .await?
        .map(|c| c.role_id);
    let mut tx = store.transaction();
    let outcome = match credential {
        Some(c) if c.tenant_id != scope.tenant_id() => {
            return Err(SuperAdminError::OtherTenant(email))
        }
        Some(credential) => {
            let before: UserRecord = store
                .tenant(&scope)
                .get(&keys::user(credential.user_id))
                .await?
                .ok_or(SuperAdminError::Conflict)?;
            if before.is_super_admin && before.is_active {
                return Ok(Added::Unchanged);
            }
            let mut after = before.clone();
            after.is_super_admin = true;
            after.is_active = true;
            after.version += 1;
            after.updated_at = now;
            let gains_role = admin_role.filter(|r| !after.role_ids.contains(r));
            after.role_ids.extend(gains_role);
            let mut new_credential = credential.clone();
            new_credential.password_hash = hash;
            new_credential.role_ids = after.role_ids.clone();
            new_credential.version += 1;
            tx.put_platform(
                &keys::email_claim(&email),
                &new_credential,
                Condition::VersionIs(credential.version),
                Label::Credential,
            )
            .tenant(&scope)
            .put(
                &keys::user(after.id),
                &after,
                Condition::VersionIs(before.version),
                Label::User,
            );
            if let Some(role) = gains_role {
                tx.tenant(&scope)
                    .add(&keys::role(role), Add::new("member_count", 1), Label::Role);
            }
            let was_admin =
                before.is_active && admin_role.is_some_and(|r| before.role_ids.contains(&r));
            let counters: Vec<Counter> = [
                (!before.is_active).then_some(Counter {
                    field: "users",
                    delta: 1,
                    bound: Bound::None,
                }),
                (admin_role.is_some() && !was_admin).then_some(Counter {
                    field: "admins",
                    delta: 1,
                    bound: Bound::None,
                }),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !counters.is_empty() {
                tx.tenant(&scope)
                    .counters(&keys::usage(), &counters, Label::Usage);
            }
            audit::record(
                &mut tx,
                By::System(&scope, AUDIT_ACTOR),
                "superadmin.add",
                "user",
                after.id,
                audit::changes(
                    Some(&before),
                    Some(&after),
                    &["version", "updated_at", "date_joined"],
                ),
            );
            Added::Promoted
        }
        None => {
            let user = UserRecord {
                id: Uuid::now_v7(),
                tenant_id: scope.tenant_id(),
                email: email.clone(),
                first_name: "Platform".into(),
                last_name: "Admin".into(),
                phone: None,
                role_ids: admin_role.into_iter().collect(),
                team_ids: Vec::new(),
                is_active: true,
                is_super_admin: true,
                timezone: "UTC".into(),
                preferences: json!({}),
                profile_picture: None,
                sessions_valid_after: None,
                email_verified: false,
                date_joined: now,
                updated_at: now,
                version: 1,
            };
            let credential = CredentialRecord {
                email: email.clone(),
                tenant_id: scope.tenant_id(),
                user_id: user.id,
                password_hash: hash,
                role_ids: user.role_ids.clone(),
                version: 1,
            };
            // The same bookkeeping as any new member of a tenant.
            membership::add_member(&mut tx, &scope, &user, &credential, admin_role, None);
            audit::record(
                &mut tx,
                By::System(&scope, AUDIT_ACTOR),
                "superadmin.add",
                "user",
                user.id,
                audit::changes(None, Some(&user), &["version"]),
            );
            Added::Created
        }
    };
    execute(tx).await?;
    Ok(outcome)
}

async fn create_platform(
    store: &Store,
    email: String,
    hash: String,
    now: OffsetDateTime,
) -> Result<Added, SuperAdminError> {
    let provisioned = tenancy::build(
        NewTenant {
            name: "Platform administration".into(),
            slug: PLATFORM_SLUG.into(),
            enabled_modules: Module::ALL.to_vec(),
            admin_email: email.clone(),
            admin_first_name: "Platform".into(),
            admin_last_name: "Admin".into(),
            admin_password_hash: hash,
            admin_is_super_admin: true,
        },
        &TrialTerms {
            plan_id: None,
            trial_days: 36_500,
            modules: Module::ALL.to_vec(),
        },
        now,
    );
    let changes = audit::changes(None, Some(&provisioned.admin), &["version"]);
    let result = tenancy::provision(store, &provisioned, |tx| {
        audit::record(
            tx,
            By::System(&provisioned.scope, AUDIT_ACTOR),
            "superadmin.add",
            "user",
            provisioned.admin.id,
            changes.clone(),
        );
    })
    .await;
    match result {
        Ok(()) => Ok(Added::CreatedPlatform),
        Err(ProvisionError::EmailTaken) => Err(SuperAdminError::OtherTenant(email)),
        // Created concurrently by another run.
        Err(ProvisionError::SlugTaken) => Err(SuperAdminError::Conflict),
        Err(ProvisionError::Store(e)) => Err(e.into()),
    }
}

/// Removes a super admin: deactivates the user and clears
/// `is_super_admin`. Refused for the last active one; the write is
/// conditioned on another super admin staying unchanged, so two removals
/// racing cannot remove the last two.
pub async fn remove(store: &Store, email: &str) -> Result<UserRecord, SuperAdminError> {
    let email = email.trim().to_lowercase();
    let not_one = || SuperAdminError::NotSuperAdmin(email.clone());
    let scope = platform_scope(store).await?.ok_or_else(not_one)?;
    let admins = list(store).await?;
    let before = admins
        .iter()
        .find(|u| u.email == email)
        .cloned()
        .ok_or_else(not_one)?;
    let Some(other) = admins.iter().find(|u| u.id != before.id) else {
        return Err(SuperAdminError::LastSuperAdmin(email));
    };
    let now = OffsetDateTime::now_utc();
    let after = UserRecord {
        is_active: false,
        is_super_admin: false,
        sessions_valid_after: Some(now),
        version: before.version + 1,
        updated_at: now,
        ..before.clone()
    };
    let admin_role = store
        .tenant(&scope)
        .get::<RoleNameClaim>(&keys::role_name("admin"))
        .await?
        .map(|c| c.role_id);
    let mut tx = store.transaction();
    tx.tenant(&scope)
        .put(
            &keys::user(after.id),
            &after,
            Condition::VersionIs(before.version),
            Label::User,
        )
        // Rewritten unchanged: only to hold it while this one goes.
        .put(
            &keys::user(other.id),
            other,
            Condition::VersionIs(other.version),
            Label::Other,
        );
    let mut counters = vec![Counter {
        field: "users",
        delta: -1,
        bound: Bound::None,
    }];
    if admin_role.is_some_and(|r| before.role_ids.contains(&r)) {
        counters.push(Counter {
            field: "admins",
            delta: -1,
            bound: Bound::None,
        });
    }
    tx.tenant(&scope)
        .counters(&keys::usage(), &counters, Label::Usage);
    audit::record(
        &mut tx,
        By::System(&scope, AUDIT_ACTOR),
        "superadmin.remove",
        "user",
        after.id,
        audit::changes(
            Some(&before),
            Some(&after),
            &["version", "updated_at", "sessions_valid_after"],
        ),
    );
    execute(tx).await?;
    Ok(after)
}

async fn execute(tx: Transaction<'_>) -> Result<(), SuperAdminError> {
    tx.execute().await.map_err(|e| match e {
        StoreError::TransactionConditionFailed(_) | StoreError::TransactionConflict => {
            SuperAdminError::Conflict
        }
        other => SuperAdminError::Store(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_slug_is_reserved() {
        let mut errors = crate::http::ValidationErrors::new();
        crate::validate::slug(&mut errors, "slug", PLATFORM_SLUG);
        assert!(!errors.is_empty(), "registration must not take it");
    }
}
