//! Checking a mapped dump against the platform, and writing it. Every
//! write is create-only, so a second run writes nothing and a run that
//! stopped midway completes when run again. Counters are written whole
//! (computed from the dump), never added to, except where the platform
//! tenant already exists.

use super::map::{Mapped, SuperAdmin, TenantImport};
use super::report::Report;
use shared::entity::Entity;
use shared::keys::{self, Key, PlatformKey};
use shared::membership;
use shared::records::{
    CredentialRecord, DomainClaim, InvoiceRecord, InvoiceRefRecord, PlanRecord, PlanSlugClaim,
    RoleNameClaim, SequenceRecord, SlugClaim, SubscriptionRecord, SubscriptionRefRecord,
    TenantRecord, UserRecord,
};
use shared::store::{Condition, Label, Patch, Store, StoreError, TenantScope};
use shared::superadmins::{self, PLATFORM_SLUG};
use shared::tenancy::{self, NewTenant, ProvisionError, TrialTerms};
use time::OffsetDateTime;

/// How many items a run wrote, and how many were there already.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub written: usize,
    pub present: usize,
}

/// Adds to `report` every uniqueness claim of the dump that the platform
/// already holds for something else. Reads only.
pub async fn check(store: &Store, mapped: &Mapped, report: &mut Report) -> Result<(), StoreError> {
    let platform = store.platform();
    for plan in &mapped.plans {
        if let Some(c) = platform
            .get::<PlanSlugClaim>(&keys::plan_slug_claim(&plan.slug))
            .await?
        {
            if c.plan_id != plan.id {
                report.conflicts.push(format!(
                    "plan slug {:?} belongs to plan {}",
                    plan.slug, c.plan_id
                ));
            }
        }
    }
    for t in &mapped.tenants {
        let slug = &t.tenant.slug;
        if slug == PLATFORM_SLUG {
            report
                .conflicts
                .push(format!("tenant slug {slug:?} is reserved for the platform"));
        }
        if let Some(c) = platform.get::<SlugClaim>(&keys::slug_claim(slug)).await? {
            if c.tenant_id != t.tenant.id {
                report.conflicts.push(format!(
                    "tenant slug {slug:?} is taken by tenant {}",
                    c.tenant_id
                ));
            }
        }
        if let Some(domain) = &t.tenant.domain {
            if let Some(c) = platform
                .get::<DomainClaim>(&keys::domain_claim(domain))
                .await?
            {
                if c.tenant_id != t.tenant.id {
                    report.conflicts.push(format!(
                        "domain {domain:?} is taken by tenant {}",
                        c.tenant_id
                    ));
                }
            }
        }
        let scope = TenantScope::for_imported_tenant(t.tenant.id);
        if let Some(existing) = store
            .tenant(&scope)
            .get::<TenantRecord>(&keys::tenant_profile())
            .await?
        {
            if existing.slug != *slug {
                report.conflicts.push(format!(
                    "tenant id {} is already the tenant {:?}",
                    t.tenant.id, existing.slug
                ));
            }
        }
        for role in &t.roles {
            if let Some(c) = store
                .tenant(&scope)
                .get::<RoleNameClaim>(&keys::role_name(&role.name.to_lowercase()))
                .await?
            {
                if c.role_id != role.id {
                    report.conflicts.push(format!(
                        "{slug}: role name {:?} is taken by role {}",
                        role.name, c.role_id
                    ));
                }
            }
        }
        for c in &t.credentials {
            email_conflict(store, &c.email, c.user_id, report).await?;
        }
    }
    for admin in &mapped.super_admins {
        email_conflict(store, &admin.user.email, admin.user.id, report).await?;
    }
    Ok(())
}

async fn email_conflict(
    store: &Store,
    email: &str,
    user_id: uuid::Uuid,
    report: &mut Report,
) -> Result<(), StoreError> {
    if let Some(c) = store
        .platform()
        .get::<CredentialRecord>(&keys::email_claim(email))
        .await?
    {
        if c.user_id != user_id {
            report
                .conflicts
                .push(format!("email {email:?} is taken by user {}", c.user_id));
        }
    }
    Ok(())
}

/// Writes everything `mapped` holds; call only when [`check`] found no
/// conflict and the report does not block.
pub async fn write(
    store: &Store,
    mapped: &Mapped,
    now: OffsetDateTime,
) -> Result<Tally, StoreError> {
    let mut tally = Tally::default();
    for plan in &mapped.plans {
        write_plan(store, plan, &mut tally).await?;
    }
    for t in &mapped.tenants {
        write_tenant(store, t, &mut tally).await?;
    }
    for (i, admin) in mapped.super_admins.iter().enumerate() {
        write_super_admin(store, admin, i == 0, now, &mut tally).await?;
    }
    if let Some(highest) = mapped.highest_invoice_number {
        advance_invoice_counter(store, now.year(), highest, &mut tally).await?;
    }
    Ok(tally)
}

async fn put_platform<T: Entity>(
    store: &Store,
    key: &PlatformKey<T::Kind>,
    record: &T,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    match store
        .platform()
        .put(key, record, Condition::NotExists)
        .await
    {
        Ok(()) => tally.written += 1,
        Err(StoreError::ConditionFailed) => tally.present += 1,
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn put_tenant<T: Entity>(
    store: &Store,
    scope: &TenantScope,
    key: &Key<T::Kind>,
    record: &T,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    match store
        .tenant(scope)
        .put(key, record, Condition::NotExists)
        .await
    {
        Ok(()) => tally.written += 1,
        Err(StoreError::ConditionFailed) => tally.present += 1,
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn write_plan(store: &Store, plan: &PlanRecord, tally: &mut Tally) -> Result<(), StoreError> {
    put_platform(store, &keys::plan(plan.id), plan, tally).await?;
    let claim = PlanSlugClaim { plan_id: plan.id };
    put_platform(store, &keys::plan_slug_claim(&plan.slug), &claim, tally).await
}

/// The claims first, then the items they point at, the credentials (which
/// make login possible) after their users, and the usage counters last.
async fn write_tenant(
    store: &Store,
    t: &TenantImport,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let tenant_id = t.tenant.id;
    let scope = TenantScope::for_imported_tenant(tenant_id);
    put_platform(
        store,
        &keys::slug_claim(&t.tenant.slug),
        &SlugClaim { tenant_id },
        tally,
    )
    .await?;
    if let Some(domain) = &t.tenant.domain {
        put_platform(
            store,
            &keys::domain_claim(domain),
            &DomainClaim { tenant_id },
            tally,
        )
        .await?;
    }
    put_tenant(store, &scope, &keys::tenant_profile(), &t.tenant, tally).await?;
    for role in &t.roles {
        let claim = RoleNameClaim { role_id: role.id };
        put_tenant(
            store,
            &scope,
            &keys::role_name(&role.name.to_lowercase()),
            &claim,
            tally,
        )
        .await?;
        put_tenant(store, &scope, &keys::role(role.id), role, tally).await?;
    }
    for user in &t.users {
        put_tenant(store, &scope, &keys::user(user.id), user, tally).await?;
    }
    for credential in &t.credentials {
        put_platform(
            store,
            &keys::email_claim(&credential.email),
            credential,
            tally,
        )
        .await?;
    }
    if let Some(sub) = &t.subscription {
        write_subscription(store, &scope, sub, tally).await?;
    }
    for invoice in &t.invoices {
        write_invoice(store, &scope, invoice, tally).await?;
    }
    put_tenant(store, &scope, &keys::usage(), &t.usage, tally).await
}

async fn write_subscription(
    store: &Store,
    scope: &TenantScope,
    sub: &SubscriptionRecord,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let reference = SubscriptionRefRecord {
        tenant_id: sub.tenant_id,
    };
    put_platform(store, &keys::subscription_ref(sub.id), &reference, tally).await?;
    put_tenant(store, scope, &keys::subscription(), sub, tally).await
}

async fn write_invoice(
    store: &Store,
    scope: &TenantScope,
    invoice: &InvoiceRecord,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let reference = InvoiceRefRecord {
        tenant_id: invoice.tenant_id,
    };
    put_platform(store, &keys::invoice_ref(invoice.id), &reference, tally).await?;
    put_tenant(store, scope, &keys::invoice(invoice.id), invoice, tally).await
}

/// A super admin becomes a user of the platform tenant holding its Admin
/// role, as `devctl superadmin` makes them; the first one creates the
/// platform tenant when there is none.
async fn write_super_admin(
    store: &Store,
    admin: &SuperAdmin,
    may_create_platform: bool,
    now: OffsetDateTime,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let email = &admin.user.email;
    if let Some(c) = store
        .platform()
        .get::<CredentialRecord>(&keys::email_claim(email))
        .await?
    {
        if c.user_id == admin.user.id {
            tally.present += 1;
            return Ok(());
        }
    }
    let Some(scope) = superadmins::platform_scope(store).await? else {
        if may_create_platform {
            return create_platform(store, admin, now, tally).await;
        }
        return Err(StoreError::Backend(
            "the platform tenant vanished during the import".into(),
        ));
    };
    let admin_role = store
        .tenant(&scope)
        .get::<RoleNameClaim>(&keys::role_name("admin"))
        .await?
        .map(|c| c.role_id);
    let user = UserRecord {
        tenant_id: scope.tenant_id(),
        role_ids: admin_role.into_iter().collect(),
        ..admin.user.clone()
    };
    let credential = CredentialRecord {
        email: email.clone(),
        tenant_id: scope.tenant_id(),
        user_id: user.id,
        password_hash: admin.password_hash.clone(),
        role_ids: user.role_ids.clone(),
        version: 1,
    };
    let mut tx = store.transaction();
    // The same bookkeeping as any new member of a tenant.
    membership::add_member(&mut tx, &scope, &user, &credential, admin_role, None);
    match tx.execute().await {
        Ok(()) => tally.written += 1,
        // Written by a run that stopped after this transaction.
        Err(e) if e.failed(Label::User) || e.failed(Label::Email) => tally.present += 1,
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn create_platform(
    store: &Store,
    admin: &SuperAdmin,
    now: OffsetDateTime,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    // The same tenant `devctl superadmin` creates, with this user as its
    // first administrator (id, names and hash kept).
    let mut p = tenancy::build(
        NewTenant {
            name: "Platform administration".into(),
            slug: PLATFORM_SLUG.into(),
            enabled_modules: shared::permissions::Module::ALL.to_vec(),
            admin_email: admin.user.email.clone(),
            admin_first_name: admin.user.first_name.clone(),
            admin_last_name: admin.user.last_name.clone(),
            admin_password_hash: admin.password_hash.clone(),
            admin_is_super_admin: true,
        },
        &TrialTerms {
            plan_id: None,
            trial_days: 36_500,
            modules: shared::permissions::Module::ALL.to_vec(),
        },
        now,
    );
    p.admin = UserRecord {
        tenant_id: p.tenant.id,
        role_ids: p.admin.role_ids.clone(),
        is_active: true,
        ..admin.user.clone()
    };
    p.credential.user_id = p.admin.id;
    match tenancy::provision(store, &p, |_| {}).await {
        Ok(()) => {
            tally.written += 1;
            Ok(())
        }
        Err(ProvisionError::Store(e)) => Err(e),
        Err(other) => Err(StoreError::Backend(
            format!("creating the platform tenant: {other}").into(),
        )),
    }
}

/// Moves this year's invoice counter to at least `highest`, so the next
/// invoice issued never reuses an imported number.
async fn advance_invoice_counter(
    store: &Store,
    year: i32,
    highest: u64,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let key = keys::invoice_sequence(year);
    for _ in 0..5 {
        let current: Option<SequenceRecord> = store.platform().get(&key).await?;
        let result = match current {
            Some(c) if c.last >= highest => {
                tally.present += 1;
                return Ok(());
            }
            Some(c) => {
                let patch = Patch::new().set("last", &highest).if_eq("last", &c.last);
                store.platform().patch(&key, &patch).await
            }
            None => {
                store
                    .platform()
                    .put(
                        &key,
                        &SequenceRecord { last: highest },
                        Condition::NotExists,
                    )
                    .await
            }
        };
        match result {
            Ok(()) => {
                tally.written += 1;
                return Ok(());
            }
            // An invoice was issued meanwhile: read again.
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Backend(
        "the invoice counter kept changing; run the import again".into(),
    ))
}
