//! Building a new tenant's records and writing them in one transaction.

use super::trial::TrialTerms;
use crate::keys;
use crate::permissions::{admin_permissions, Module};
use crate::records::{
    BillingCycle, CredentialRecord, RoleNameClaim, RoleRecord, SlugClaim, SubscriptionRecord,
    SubscriptionRefRecord, SubscriptionStatus, TenantRecord, TenantRouteRecord, UsageRecord,
    UserRecord,
};
use crate::report::ErrorChain;
use crate::store::{
    retry, Backoff, Condition, DedicatedTable, Label, Store, StoreError, TenantScope, Transaction,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Concurrent creations on the same claims are retried so that exactly
/// one wins and the others learn which claim was taken.
const PROVISION_BACKOFF: Backoff = Backoff {
    attempts: 9,
    base_ms: 0,
    step_ms: 15,
    max_steps: 8,
    jitter_ms: 40,
};

/// Input for a new tenant and its first administrator.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    pub slug: String,
    pub enabled_modules: Vec<Module>,
    pub admin_email: String,
    pub admin_first_name: String,
    pub admin_last_name: String,
    pub admin_password_hash: String,
    pub admin_is_super_admin: bool,
}

/// The records of a new tenant, built but not yet written.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub scope: TenantScope,
    pub tenant: TenantRecord,
    pub admin: UserRecord,
    pub credential: CredentialRecord,
    pub admin_role: RoleRecord,
    pub subscription: SubscriptionRecord,
    /// For a tenant born in a dedicated table: its routing item in the main
    /// table, written by [`provision`] just before the tenant's items.
    pub route: Option<TenantRouteRecord>,
}

/// Why provisioning failed, by field.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("slug is taken")]
    SlugTaken,
    #[error("email is taken")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Builds the records of a new tenant (pure: no I/O).
pub fn build(input: NewTenant, terms: &TrialTerms, now: OffsetDateTime) -> Provisioned {
    build_in(input, terms, now, None)
}

/// [`build`], for a tenant whose items are born in `table` (`None`: the
/// main table).
pub fn build_in(
    input: NewTenant,
    terms: &TrialTerms,
    now: OffsetDateTime,
    table: Option<&DedicatedTable>,
) -> Provisioned {
    let scope = table.map_or_else(TenantScope::for_new_tenant, TenantScope::for_new_tenant_in);
    let tenant_id = scope.tenant_id();
    let route = table.map(|t| TenantRouteRecord {
        tenant_id,
        table: t.name().to_owned(),
        created_at: now,
    });
    let trial_ends_at = now + Duration::days(i64::from(terms.trial_days));
    let role_id = Uuid::new_v4();
    // Time-ordered, so the users partition lists by date joined.
    let user_id = Uuid::now_v7();
    let tenant = TenantRecord {
        id: tenant_id,
        name: input.name,
        slug: input.slug,
        domain: None,
        enabled_modules: input.enabled_modules,
        settings: json!({}),
        is_active: true,
        trial_ends_at: Some(trial_ends_at),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let admin_role = RoleRecord {
        id: role_id,
        tenant_id,
        name: "Admin".into(),
        description: "Full access to every module and to administration.".into(),
        permissions: admin_permissions(),
        is_active: true,
        is_system: true,
        member_count: 1,
        created_by: None,
        created_by_email: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let admin = UserRecord {
        id: user_id,
        tenant_id,
        email: input.admin_email.clone(),
        first_name: input.admin_first_name,
        last_name: input.admin_last_name,
        phone: None,
        role_ids: vec![role_id],
        team_ids: Vec::new(),
        is_active: true,
        is_super_admin: input.admin_is_super_admin,
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
        email: input.admin_email,
        tenant_id,
        user_id,
        password_hash: input.admin_password_hash,
        role_ids: vec![role_id],
        version: 1,
    };
    let subscription = SubscriptionRecord {
        id: Uuid::new_v4(),
        tenant_id,
        plan_id: terms.plan_id,
        status: SubscriptionStatus::Trial,
        billing_cycle: BillingCycle::Monthly,
        current_period_start: now,
        current_period_end: trial_ends_at,
        trial_ends_at: Some(trial_ends_at),
        cancel_at_period_end: false,
        cancelled_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
        open_invoice: None,
        next_action_at: None,
        scheduled_change: None,
    }
    // A trial's next action (its end) does not depend on the grace policy.
    .schedule(&crate::billing::BillingPolicy::default());
    Provisioned {
        scope,
        tenant,
        admin,
        credential,
        admin_role,
        subscription,
        route,
    }
}

impl Provisioned {
    /// Adds every record to `tx`, each with a create-only condition; the
    /// slug and email claims are labelled `slug` and `email`.
    pub fn add_to(&self, tx: &mut Transaction<'_>) {
        tx.claim_platform(
            &keys::slug_claim(&self.tenant.slug),
            &SlugClaim {
                tenant_id: self.tenant.id,
            },
            Label::Slug,
        )
        .claim_platform(
            &keys::email_claim(&self.credential.email),
            &self.credential,
            Label::Email,
        )
        .put_platform(
            &keys::subscription_ref(self.subscription.id),
            &SubscriptionRefRecord {
                tenant_id: self.tenant.id,
            },
            Condition::NotExists,
            Label::SubscriptionRef,
        )
        .tenant(&self.scope)
        .put(
            &keys::tenant_profile(),
            &self.tenant,
            Condition::NotExists,
            Label::Tenant,
        )
        .put(
            &keys::user(self.admin.id),
            &self.admin,
            Condition::NotExists,
            Label::User,
        )
        .put(
            &keys::role(self.admin_role.id),
            &self.admin_role,
            Condition::NotExists,
            Label::Role,
        )
        .claim(
            &keys::role_name(&self.admin_role.name.to_lowercase()),
            &RoleNameClaim {
                role_id: self.admin_role.id,
            },
            Label::RoleName,
        )
        .put(
            &keys::subscription(),
            &self.subscription,
            Condition::NotExists,
            Label::Subscription,
        )
        .put(
            &keys::usage(),
            &UsageRecord {
                users: 1,
                admins: 1,
                leads: 0,
                version: 1,
            },
            Condition::NotExists,
            Label::Usage,
        );
    }
}

/// Maps a failed provisioning transaction to the field that was taken.
pub fn provision_error(e: StoreError) -> ProvisionError {
    match e {
        e if e.failed(Label::Slug) => ProvisionError::SlugTaken,
        e if e.failed(Label::Email) => ProvisionError::EmailTaken,
        other => ProvisionError::Store(other),
    }
}

/// Writes a tenant's records, plus whatever `extra` adds, atomically.
/// Concurrent transactions on the same claims are retried so that exactly
/// one wins and the others learn which field was taken.
///
/// A tenant born in a dedicated table gets its routing item first, and
/// loses it again if creation fails: the creation transaction already holds
/// ten writes, the most DynamoDB Local accepts in one. Until the tenant's
/// items exist, nothing refers to its fresh id, so the routing item alone
/// changes nothing (the registry skips a routing item without a profile).
pub async fn provision<F>(
    store: &Store,
    provisioned: &Provisioned,
    extra: F,
) -> Result<(), ProvisionError>
where
    F: Fn(&mut Transaction<'_>),
{
    let Some(route) = &provisioned.route else {
        return provision_items(store, provisioned, extra).await;
    };
    let route_key = keys::tenant_route(route.tenant_id);
    store
        .platform()
        .put(&route_key, route, Condition::NotExists)
        .await?;
    let result = provision_items(store, provisioned, extra).await;
    if result.is_err() {
        if let Err(e) = store.platform().delete(&route_key).await {
            tracing::warn!(tenant_id = %route.tenant_id, error = %ErrorChain(&e), "routing item of a failed tenant creation left behind");
        }
    }
    result
}

async fn provision_items<F>(
    store: &Store,
    provisioned: &Provisioned,
    extra: F,
) -> Result<(), ProvisionError>
where
    F: Fn(&mut Transaction<'_>),
{
    let attempt = || async {
        let mut tx = store.transaction();
        provisioned.add_to(&mut tx);
        extra(&mut tx);
        tx.execute().await
    };
    let contended = |e: &StoreError| matches!(e, StoreError::TransactionConflict);
    retry(PROVISION_BACKOFF, contended, attempt)
        .await
        .map_err(provision_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NewTenant {
        NewTenant {
            name: "Acme".into(),
            slug: "acme".into(),
            enabled_modules: vec![Module::Crm],
            admin_email: "ada@acme.io".into(),
            admin_first_name: "Ada".into(),
            admin_last_name: "L".into(),
            admin_password_hash: "$argon2id$x".into(),
            admin_is_super_admin: false,
        }
    }

    #[test]
    fn trial_ends_after_the_plans_trial_days() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let terms = TrialTerms {
            plan_id: Some(Uuid::nil()),
            trial_days: 30,
            modules: vec![Module::Crm],
        };
        let p = build(input(), &terms, now);
        assert_eq!(p.subscription.trial_ends_at, Some(now + Duration::days(30)));
        assert_eq!(p.tenant.trial_ends_at, Some(now + Duration::days(30)));
        assert_eq!(p.subscription.status, SubscriptionStatus::Trial);
        assert_eq!(p.subscription.plan_id, Some(Uuid::nil()));
    }

    #[test]
    fn the_admin_holds_the_system_admin_role_on_user_and_credential() {
        let p = build(
            input(),
            &TrialTerms::default_trial(),
            OffsetDateTime::now_utc(),
        );
        assert!(p.admin_role.is_system);
        assert_eq!(p.admin_role.permissions, admin_permissions());
        assert_eq!(p.admin.role_ids, vec![p.admin_role.id]);
        assert_eq!(p.credential.role_ids, p.admin.role_ids);
        assert_eq!(p.credential.user_id, p.admin.id);
        assert_eq!(p.scope.tenant_id(), p.tenant.id);
        assert_eq!(p.admin.tenant_id, p.tenant.id);
    }
}
