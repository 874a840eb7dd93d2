//! From dump entries to the platform's records: pure, no I/O. Everything
//! that would not come across is named in the [`Report`].

use super::dump::{self, instant, maybe_instant, Entry};
use super::report::Report;
use serde_json::{json, Map, Value};
use shared::auth::HashScheme;
use shared::billing::{BillingPolicy, InvoiceStatus, OpenInvoice};
use shared::http::ValidationErrors;
use shared::permissions::{admin_permissions, validate, ActionKind, Module, PermissionSet};
use shared::records::{
    BillingCycle, CredentialRecord, InvoiceRecord, PlanRecord, RoleRecord, SubscriptionRecord,
    SubscriptionStatus, TenantRecord, UsageRecord, UserRecord,
};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

/// The name of every tenant's system role (the platform looks it up by it).
pub const ADMIN_ROLE_NAME: &str = "Admin";

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Drop permission keys outside the catalog (and values of the wrong
    /// type) instead of stopping; each is listed in the report.
    pub drop_unknown_permissions: bool,
}

/// One tenant and everything of it.
#[derive(Debug, Clone)]
pub struct TenantImport {
    pub tenant: TenantRecord,
    pub roles: Vec<RoleRecord>,
    /// The system Admin role's id (one of `roles`).
    pub admin_role: Uuid,
    pub users: Vec<UserRecord>,
    pub credentials: Vec<CredentialRecord>,
    pub subscription: Option<SubscriptionRecord>,
    pub invoices: Vec<InvoiceRecord>,
    pub usage: UsageRecord,
}

/// A user without a tenant and with `is_super_admin`: a platform super
/// admin. `tenant_id` is filled in when the platform tenant is known.
#[derive(Debug, Clone)]
pub struct SuperAdmin {
    pub user: UserRecord,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct Mapped {
    pub plans: Vec<PlanRecord>,
    pub tenants: Vec<TenantImport>,
    pub super_admins: Vec<SuperAdmin>,
    /// The highest sequence number among the imported invoice numbers.
    pub highest_invoice_number: Option<u64>,
    pub report: Report,
}

/// The trailing digits of an invoice number (`INV-000042` → 42).
pub fn invoice_sequence(number: &str) -> Option<u64> {
    let digits: String = number
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// Whether a role document is the original's administrator role.
pub fn is_full_access(permissions: &Value) -> bool {
    permissions.pointer("/admin/full_access") == Some(&Value::Bool(true))
}

/// A role's permissions checked against the catalog: the set, and the keys
/// (with why) that are not in it or hold the wrong type of value.
pub fn map_permissions(doc: &Value) -> (PermissionSet, Vec<String>) {
    let doc = &without_false_scopes(doc);
    match validate(doc) {
        Ok(set) => (set, Vec::new()),
        Err(errors) => {
            let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
            let mut kept = doc.clone();
            for error in errors.iter() {
                remove_path(&mut kept, &error.path);
            }
            // What is left passes (every failing path was removed); if not,
            // nothing of the document is kept and all of it is reported.
            match validate(&kept) {
                Ok(set) => (set, problems),
                Err(_) => (PermissionSet::empty(), problems),
            }
        }
    }
}

/// `false` on a scope action means what no grant means, so it is not
/// reported as a value of the wrong type.
fn without_false_scopes(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let Some(modules) = doc.as_object_mut() else {
        return doc;
    };
    for (module_key, resources) in modules.iter_mut() {
        let Some(module) = shared::permissions::catalog().module(module_key) else {
            continue;
        };
        let Some(resources) = resources.as_object_mut() else {
            continue;
        };
        for (resource_key, actions) in resources.iter_mut() {
            let (Some(resource), Some(actions)) =
                (module.resource(resource_key), actions.as_object_mut())
            else {
                continue;
            };
            actions.retain(|action_key, value| {
                let is_scope = resource
                    .action(action_key)
                    .is_some_and(|a| a.kind == ActionKind::Scope);
                !(is_scope && *value == Value::Bool(false))
            });
        }
    }
    doc
}

fn remove_path(doc: &mut Value, path: &str) {
    if path.is_empty() {
        *doc = json!({});
        return;
    }
    let parts: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut node = doc;
    for part in parents {
        match node.get_mut(*part) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(*last);
    }
}

fn modules(names: &[String], what: &str, report: &mut Report) -> Vec<Module> {
    let mut out = Vec::new();
    for name in names {
        match Module::parse(name) {
            Some(m) if !out.contains(&m) => out.push(m),
            Some(_) => {}
            None => report.lost(format!(
                "{what}: module {name:?} is not one of the platform's"
            )),
        }
    }
    out
}

fn object_or_empty(value: &Value) -> Value {
    match value {
        Value::Object(_) => value.clone(),
        _ => Value::Object(Map::new()),
    }
}

fn subscription_status(s: &str) -> Option<SubscriptionStatus> {
    Some(match s.to_ascii_uppercase().as_str() {
        "TRIAL" => SubscriptionStatus::Trial,
        "ACTIVE" => SubscriptionStatus::Active,
        "PAST_DUE" => SubscriptionStatus::PastDue,
        "CANCELLED" | "CANCELED" => SubscriptionStatus::Cancelled,
        "EXPIRED" => SubscriptionStatus::Expired,
        _ => return None,
    })
}

fn billing_cycle(s: &str) -> Option<BillingCycle> {
    Some(match s.to_ascii_uppercase().as_str() {
        "MONTHLY" => BillingCycle::Monthly,
        "YEARLY" => BillingCycle::Yearly,
        _ => return None,
    })
}

fn invoice_status(s: &str) -> Option<InvoiceStatus> {
    Some(match s.to_ascii_uppercase().as_str() {
        "PENDING" => InvoiceStatus::Pending,
        "PAID" => InvoiceStatus::Paid,
        "FAILED" => InvoiceStatus::Failed,
        "CANCELLED" | "CANCELED" | "VOID" => InvoiceStatus::Void,
        _ => return None,
    })
}

/// A stable id for the system Admin role of a tenant whose export had no
/// full-access role, so a re-run finds the same role.
pub fn derived_admin_role_id(tenant_id: Uuid) -> Uuid {
    Uuid::from_u128(tenant_id.as_u128() ^ 0x0000_0000_0000_0000_0000_0000_a0d1_0001)
}

#[derive(Default)]
struct Parsed {
    tenants: Vec<(Uuid, dump::Tenant)>,
    users: Vec<(Uuid, dump::User)>,
    roles: Vec<(Uuid, dump::Role)>,
    plans: Vec<(Uuid, dump::Plan)>,
    subscriptions: Vec<(Uuid, dump::Subscription)>,
    invoices: Vec<(Uuid, dump::Invoice)>,
}

fn parse_entries(entries: &[Entry], report: &mut Report) -> Parsed {
    let mut parsed = Parsed::default();
    let mut ignored: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in entries {
        let id = match entry.id() {
            Ok(id) => id,
            Err(e) => {
                report.lost(e);
                continue;
            }
        };
        macro_rules! take {
            ($list:ident) => {
                match entry.fields() {
                    Ok(fields) => parsed.$list.push((id, fields)),
                    Err(e) => report.lost(e),
                }
            };
        }
        match entry.model.as_str() {
            "tenants.tenant" => take!(tenants),
            "accounts.customuser" => take!(users),
            "accounts.role" => take!(roles),
            "billing.subscriptionplan" => take!(plans),
            "billing.subscription" => take!(subscriptions),
            "billing.invoice" => take!(invoices),
            other => *ignored.entry(other).or_default() += 1,
        }
    }
    for (model, n) in ignored {
        report.lost(format!(
            "{n} {model} entries: the import does not know this model"
        ));
    }
    parsed
}

fn times(created: &str, updated: Option<&str>) -> Result<(OffsetDateTime, OffsetDateTime), String> {
    let created = instant(created)?;
    let updated = maybe_instant(updated)?.unwrap_or(created);
    Ok((created, updated))
}

/// Maps a dump to records; times are the dump's own.
pub fn map(entries: &[Entry], options: Options) -> Mapped {
    let mut report = Report::default();
    let parsed = parse_entries(entries, &mut report);
    report.count("tenants", parsed.tenants.len());
    report.count("users", parsed.users.len());
    report.count("roles", parsed.roles.len());
    report.count("plans", parsed.plans.len());
    report.count("subscriptions", parsed.subscriptions.len());
    report.count("invoices", parsed.invoices.len());

    let plans = map_plans(&parsed, &mut report);
    let emails: HashMap<Uuid, String> = parsed
        .users
        .iter()
        .map(|(id, u)| (*id, u.email.trim().to_lowercase()))
        .collect();

    let mut tenants = Vec::new();
    for (tenant_id, t) in &parsed.tenants {
        match map_tenant(*tenant_id, t, &parsed, &emails, options, &mut report) {
            Ok(import) => tenants.push(import),
            Err(e) => report.lost(format!("tenant {}: {e}", t.slug)),
        }
    }
    for (id, u) in &parsed.users {
        if let Some(t) = u.tenant {
            if !parsed.tenants.iter().any(|(tid, _)| *tid == t) {
                report.lost(format!(
                    "user {}: its tenant {t} is not in the dump",
                    u.email
                ));
            }
        } else if !u.is_super_admin {
            report.lost(format!(
                "user {} ({id}): no tenant and not a super admin",
                u.email
            ));
        }
    }
    check_unique_and_valid(&parsed, &mut report);
    let super_admins = map_super_admins(&parsed, &mut report);
    report.count("super admins", super_admins.len());

    let highest_invoice_number = parsed
        .invoices
        .iter()
        .filter_map(|(_, i)| invoice_sequence(&i.invoice_number))
        .max();
    for (_, u) in &parsed.users {
        match HashScheme::of(&u.password) {
            HashScheme::Unknown => report
                .unknown_hash_schemes
                .push(u.email.trim().to_lowercase()),
            HashScheme::Unusable => report.unusable_passwords += 1,
            _ => {}
        }
    }
    Mapped {
        plans,
        tenants,
        super_admins,
        highest_invoice_number,
        report,
    }
}

/// Values the platform holds unique (emails platform-wide and
/// case-insensitively, tenant slugs and domains, plan slugs) must be so in
/// the dump too, and valid by the API's rules: a duplicate would otherwise
/// read as already imported and be skipped.
fn check_unique_and_valid(parsed: &Parsed, report: &mut Report) {
    duplicates(
        "users",
        "email",
        parsed
            .users
            .iter()
            .map(|(_, u)| u.email.trim().to_lowercase()),
        report,
    );
    duplicates(
        "tenants",
        "slug",
        parsed.tenants.iter().map(|(_, t)| t.slug.clone()),
        report,
    );
    duplicates(
        "tenants",
        "domain",
        parsed
            .tenants
            .iter()
            .filter_map(|(_, t)| t.domain.as_deref())
            .map(|d| d.trim().to_lowercase())
            .filter(|d| !d.is_empty()),
        report,
    );
    duplicates(
        "plans",
        "slug",
        parsed.plans.iter().map(|(_, p)| p.slug.clone()),
        report,
    );
    for (_, u) in &parsed.users {
        invalid(report, &format!("user {:?}", u.email), |e| {
            shared::validate::email(e, "email", &u.email);
        });
    }
    for (_, t) in &parsed.tenants {
        invalid(report, &format!("tenant {:?}", t.slug), |e| {
            shared::validate::slug(e, "slug", &t.slug);
            if let Some(domain) = t.domain.as_deref().filter(|d| !d.trim().is_empty()) {
                shared::validate::domain(e, "domain", domain);
            }
        });
    }
}

fn duplicates(kind: &str, field: &str, values: impl Iterator<Item = String>, report: &mut Report) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for value in values {
        *seen.entry(value).or_default() += 1;
    }
    for (value, n) in seen.into_iter().filter(|(_, n)| *n > 1) {
        report.lost(format!(
            "{n} {kind} share the {field} {value:?}, which the platform holds unique"
        ));
    }
}

fn invalid(report: &mut Report, what: &str, check: impl FnOnce(&mut ValidationErrors)) {
    let mut errors = ValidationErrors::new();
    check(&mut errors);
    for (field, messages) in errors.fields() {
        for message in messages {
            report.lost(format!("{what}: {field}: {message}"));
        }
    }
}

fn map_plans(parsed: &Parsed, report: &mut Report) -> Vec<PlanRecord> {
    let mut plans = Vec::new();
    for (id, p) in &parsed.plans {
        let (created_at, updated_at) = match times(&p.created_at, p.updated_at.as_deref()) {
            Ok(t) => t,
            Err(e) => {
                report.lost(format!("plan {}: {e}", p.slug));
                continue;
            }
        };
        plans.push(PlanRecord {
            id: *id,
            name: p.name.clone(),
            slug: p.slug.clone(),
            description: p.description.clone(),
            price_monthly: p.price_monthly,
            price_yearly: p.price_yearly,
            currency: p.currency.clone(),
            max_users: p.max_users,
            max_leads: p.max_leads,
            storage_gb: p.storage_gb,
            included_modules: modules(&p.included_modules, &format!("plan {}", p.slug), report),
            features: p.features.clone(),
            is_trial: p.is_trial,
            trial_days: p.trial_days,
            is_active: p.is_active,
            sort_order: p.sort_order,
            created_at,
            updated_at,
            version: 1,
        });
    }
    plans
}

fn user_record(
    id: Uuid,
    tenant_id: Uuid,
    u: &dump::User,
    role_ids: Vec<Uuid>,
) -> Result<UserRecord, String> {
    let date_joined = instant(&u.date_joined)?;
    Ok(UserRecord {
        id,
        tenant_id,
        email: u.email.trim().to_lowercase(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        phone: u.phone.clone().filter(|p| !p.is_empty()),
        role_ids,
        team_ids: Vec::new(),
        is_active: u.is_active,
        is_super_admin: false,
        timezone: u
            .timezone
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "UTC".into()),
        preferences: object_or_empty(&u.preferences),
        profile_picture: u.profile_picture.clone().filter(|p| !p.is_empty()),
        sessions_valid_after: None,
        email_verified: false,
        date_joined,
        updated_at: date_joined,
        version: 1,
    })
}

fn map_tenant(
    tenant_id: Uuid,
    t: &dump::Tenant,
    parsed: &Parsed,
    emails: &HashMap<Uuid, String>,
    options: Options,
    report: &mut Report,
) -> Result<TenantImport, String> {
    let (created_at, updated_at) = times(&t.created_at, t.updated_at.as_deref())?;
    let tenant = TenantRecord {
        id: tenant_id,
        name: t.name.clone(),
        slug: t.slug.clone(),
        // Normalised as the tenants API does (an invalid one is reported).
        domain: t
            .domain
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(|d| shared::validate::domain(&mut ValidationErrors::new(), "domain", d)),
        enabled_modules: modules(&t.enabled_modules, &format!("tenant {}", t.slug), report),
        settings: object_or_empty(&t.settings),
        is_active: t.is_active,
        trial_ends_at: maybe_instant(t.trial_ends_at.as_deref())?,
        created_at,
        updated_at,
        version: 1,
    };

    // Roles: the first full-access one is the system Admin role.
    let mut roles: Vec<RoleRecord> = Vec::new();
    let mut admin_role = None;
    let mut of_tenant: Vec<&(Uuid, dump::Role)> = parsed
        .roles
        .iter()
        .filter(|(_, r)| r.tenant == tenant_id)
        .collect();
    of_tenant.sort_by(|a, b| a.1.created_at.cmp(&b.1.created_at));
    for (role_id, r) in of_tenant {
        let label = format!("{}/{}", t.slug, r.name);
        let (created_at, updated_at) = times(&r.created_at, r.updated_at.as_deref())
            .map_err(|e| format!("role {}: {e}", r.name))?;
        let full_access = is_full_access(&r.permissions);
        let (permissions, is_system, name) = if full_access && admin_role.is_none() {
            admin_role = Some(*role_id);
            if r.name != ADMIN_ROLE_NAME {
                report.note(format!(
                    "{label}: full access, becomes the system role {ADMIN_ROLE_NAME:?}"
                ));
            }
            (admin_permissions(), true, ADMIN_ROLE_NAME.to_owned())
        } else if full_access {
            report.note(format!(
                "{label}: full access, kept as an ordinary role with every permission"
            ));
            (admin_permissions(), false, r.name.clone())
        } else {
            let (set, problems) = map_permissions(&r.permissions);
            if !problems.is_empty() {
                if options.drop_unknown_permissions {
                    report.dropped_permissions.insert(label.clone(), problems);
                } else {
                    report.unknown_permissions.insert(label.clone(), problems);
                }
            }
            (set, false, r.name.clone())
        };
        if roles
            .iter()
            .any(|x| x.name.to_lowercase() == name.to_lowercase())
        {
            report.lost(format!(
                "{label}: another role of the tenant has the name {name:?}"
            ));
            continue;
        }
        roles.push(RoleRecord {
            id: *role_id,
            tenant_id,
            name,
            description: r.description.clone(),
            permissions,
            is_active: r.is_active || is_system,
            is_system,
            member_count: 0,
            created_by: r.created_by,
            created_by_email: r.created_by.and_then(|u| emails.get(&u).cloned()),
            created_at,
            updated_at,
            version: 1,
        });
    }
    let admin_role = match admin_role {
        Some(id) => id,
        None => {
            let id = derived_admin_role_id(tenant_id);
            if roles
                .iter()
                .any(|r| r.name.eq_ignore_ascii_case(ADMIN_ROLE_NAME))
            {
                return Err(format!(
                    "has a role named {ADMIN_ROLE_NAME:?} without full access; the platform reserves the name"
                ));
            }
            report.note(format!(
                "{}: no full-access role; an empty {ADMIN_ROLE_NAME:?} system role is added",
                t.slug
            ));
            roles.push(RoleRecord {
                id,
                tenant_id,
                name: ADMIN_ROLE_NAME.into(),
                description: "Full access to every module and to administration.".into(),
                permissions: admin_permissions(),
                is_active: true,
                is_system: true,
                member_count: 0,
                created_by: None,
                created_by_email: None,
                created_at,
                updated_at: created_at,
                version: 1,
            });
            id
        }
    };

    // Users, their credentials, member counts and usage.
    let mut users = Vec::new();
    let mut credentials = Vec::new();
    let mut usage = UsageRecord {
        version: 1,
        ..UsageRecord::default()
    };
    for (user_id, u) in parsed
        .users
        .iter()
        .filter(|(_, u)| u.tenant == Some(tenant_id))
    {
        let mut role_ids = Vec::new();
        for r in &u.roles {
            if roles.iter().any(|x| x.id == *r) {
                if !role_ids.contains(r) {
                    role_ids.push(*r);
                }
            } else {
                report.lost(format!(
                    "user {}: role {r} is not one of its tenant's",
                    u.email
                ));
            }
        }
        if u.is_super_admin {
            report.lost(format!(
                "user {}: a super admin inside a tenant; the platform's super admins belong to the platform tenant",
                u.email
            ));
        }
        let user = user_record(*user_id, tenant_id, u, role_ids)
            .map_err(|e| format!("user {}: {e}", u.email))?;
        for role in roles.iter_mut().filter(|r| user.role_ids.contains(&r.id)) {
            role.member_count += 1;
        }
        if user.is_active {
            usage.users += 1;
            if user.role_ids.contains(&admin_role) {
                usage.admins += 1;
            }
        }
        credentials.push(CredentialRecord {
            email: user.email.clone(),
            tenant_id,
            user_id: user.id,
            password_hash: u.password.clone(),
            role_ids: user.role_ids.clone(),
            version: 1,
        });
        users.push(user);
    }
    if usage.admins == 0 {
        report.note(format!("{}: no active user holds the Admin role", t.slug));
    }

    let (subscription, invoices) = map_billing(tenant_id, &t.slug, parsed, report)?;
    Ok(TenantImport {
        tenant,
        roles,
        admin_role,
        users,
        credentials,
        subscription,
        invoices,
        usage,
    })
}

fn map_billing(
    tenant_id: Uuid,
    slug: &str,
    parsed: &Parsed,
    report: &mut Report,
) -> Result<(Option<SubscriptionRecord>, Vec<InvoiceRecord>), String> {
    let subs: Vec<&(Uuid, dump::Subscription)> = parsed
        .subscriptions
        .iter()
        .filter(|(_, s)| s.tenant == tenant_id)
        .collect();
    if subs.len() > 1 {
        report.lost(format!(
            "{slug}: {} subscriptions; the platform keeps one per tenant",
            subs.len()
        ));
    }
    let mut subscription = match subs.first() {
        None => None,
        Some((id, s)) => {
            let status = subscription_status(&s.status)
                .ok_or_else(|| format!("subscription status {:?} is unknown", s.status))?;
            let billing_cycle = billing_cycle(&s.billing_cycle)
                .ok_or_else(|| format!("billing cycle {:?} is unknown", s.billing_cycle))?;
            if let Some(plan) = s.plan {
                if !parsed.plans.iter().any(|(p, _)| *p == plan) {
                    return Err(format!("the subscription's plan {plan} is not in the dump"));
                }
            }
            let (created_at, updated_at) = times(&s.created_at, s.updated_at.as_deref())?;
            let current_period_end = instant(&s.current_period_end)?;
            Some(SubscriptionRecord {
                id: *id,
                tenant_id,
                plan_id: s.plan,
                status,
                billing_cycle,
                current_period_start: instant(&s.current_period_start)?,
                current_period_end,
                trial_ends_at: (status == SubscriptionStatus::Trial).then_some(current_period_end),
                cancel_at_period_end: s.cancel_at_period_end,
                cancelled_at: maybe_instant(s.cancelled_at.as_deref())?,
                created_at,
                updated_at,
                version: 1,
                open_invoice: None,
                next_action_at: None,
                scheduled_change: None,
            })
        }
    };

    let mut invoices = Vec::new();
    for (id, i) in parsed
        .invoices
        .iter()
        .filter(|(_, i)| i.tenant == tenant_id)
    {
        let status = invoice_status(&i.status).ok_or_else(|| {
            format!(
                "invoice {}: status {:?} is unknown",
                i.invoice_number, i.status
            )
        })?;
        let Some(sub) = subscription
            .as_ref()
            .filter(|s| Some(s.id) == i.subscription)
        else {
            report.lost(format!(
                "invoice {}: its subscription is not the tenant's imported one",
                i.invoice_number
            ));
            continue;
        };
        let (created_at, updated_at) = times(&i.created_at, i.updated_at.as_deref())?;
        let due_date = instant(&i.due_date)?;
        let open = matches!(status, InvoiceStatus::Pending | InvoiceStatus::Failed);
        // The original records no period: an unpaid invoice bills the
        // subscription's current period; others span issue to due date.
        let (period_start, period_end) = if open {
            (sub.current_period_start, sub.current_period_end)
        } else {
            (created_at, due_date.max(created_at))
        };
        invoices.push(InvoiceRecord {
            id: *id,
            tenant_id,
            subscription_id: sub.id,
            invoice_number: i.invoice_number.clone(),
            amount: i.amount,
            currency: i.currency.clone(),
            status,
            period_start,
            period_end,
            due_date,
            paid_at: maybe_instant(i.paid_at.as_deref())?,
            payment_provider: None,
            payment_reference: None,
            created_at,
            updated_at,
            version: 1,
        });
    }
    // The newest unpaid invoice is the subscription's open one.
    if let Some(sub) = subscription.as_mut() {
        let open = invoices
            .iter()
            .filter(|i| matches!(i.status, InvoiceStatus::Pending | InvoiceStatus::Failed))
            .max_by_key(|i| i.created_at);
        sub.open_invoice = open.map(|i| OpenInvoice {
            id: i.id,
            period_start: i.period_start,
            period_end: i.period_end,
            due_date: i.due_date,
            status: i.status,
            modules_until: None,
        });
    }
    let subscription = subscription.map(|s| s.schedule(&BillingPolicy::default()));
    Ok((subscription, invoices))
}

fn map_super_admins(parsed: &Parsed, report: &mut Report) -> Vec<SuperAdmin> {
    let mut out = Vec::new();
    for (id, u) in parsed
        .users
        .iter()
        .filter(|(_, u)| u.tenant.is_none() && u.is_super_admin)
    {
        match user_record(*id, Uuid::nil(), u, Vec::new()) {
            Ok(mut user) => {
                user.is_super_admin = true;
                out.push(SuperAdmin {
                    user,
                    password_hash: u.password.clone(),
                });
            }
            Err(e) => report.lost(format!("super admin {}: {e}", u.email)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::permissions::{Grant, PermissionKey, Scope};

    const FIXTURE: &str = include_str!("../../../../tests/fixtures/django/dump.json");

    fn fixture(options: Options) -> Mapped {
        map(&dump::parse(FIXTURE).unwrap(), options)
    }

    fn key(k: &str) -> PermissionKey {
        PermissionKey::parse(k).unwrap()
    }

    #[test]
    fn the_fixture_maps_with_ids_kept() {
        let m = fixture(Options::default());
        assert_eq!(m.report.counts["tenants"], 1);
        assert_eq!(m.report.counts["users"], 6);
        assert_eq!(m.report.counts["super admins"], 1);
        assert_eq!(m.plans.len(), 2);
        assert_eq!(m.plans[0].currency, "INR");
        let t = &m.tenants[0];
        assert_eq!(t.tenant.slug, "globex-dj");
        assert_eq!(t.tenant.domain.as_deref(), Some("globex.example"));
        assert_eq!(
            t.tenant.enabled_modules,
            vec![Module::Crm, Module::Meetings]
        );
        let ada = &t.credentials[0];
        assert_eq!(ada.email, "ada@globex.example");
        assert!(ada.password_hash.starts_with("pbkdf2_sha256$720000$"));
        assert_eq!(
            ada.user_id.to_string(),
            "9d8c7b6a-3333-4a5b-8c6d-000000000001"
        );
        assert_eq!(m.highest_invoice_number, Some(42));
        assert_eq!(m.report.unknown_hash_schemes, vec!["dan@globex.example"]);
        assert_eq!(m.report.unusable_passwords, 1);
        assert!(m.report.lost.is_empty(), "{:?}", m.report.lost);
    }

    #[test]
    fn the_full_access_role_becomes_the_system_admin_role_and_counts_follow() {
        let m = fixture(Options::default());
        let t = &m.tenants[0];
        let admin = t.roles.iter().find(|r| r.id == t.admin_role).unwrap();
        assert!(admin.is_system);
        assert_eq!(admin.name, ADMIN_ROLE_NAME);
        assert_eq!(admin.permissions, admin_permissions());
        // Ada and the inactive Eve hold it; only Ada counts as an admin.
        assert_eq!(admin.member_count, 2);
        assert_eq!((t.usage.users, t.usage.admins, t.usage.leads), (4, 1, 0));
        let sales = t.roles.iter().find(|r| r.name == "Sales").unwrap();
        assert_eq!(sales.member_count, 2);
        assert_eq!(
            sales.permissions.get(key("crm.leads.view")),
            Some(Grant::Scope(Scope::Team))
        );
        assert_eq!(
            sales.permissions.get(key("crm.leads.create")),
            Some(Grant::Bool(true))
        );
        // `false` on a scope action means no grant: kept, not reported.
        assert_eq!(sales.permissions.get(key("crm.leads.export")), None);
        assert!(!m.report.unknown_permissions.contains_key("globex-dj/Sales"));
        assert_eq!(
            sales.created_by_email.as_deref(),
            Some("ada@globex.example")
        );
    }

    #[test]
    fn unknown_permission_keys_block_unless_dropped() {
        let m = fixture(Options::default());
        assert_eq!(
            m.report.unknown_permissions["globex-dj/Legacy reports"],
            vec!["reports: unknown module"]
        );
        assert!(m.report.blocks());

        let m = fixture(Options {
            drop_unknown_permissions: true,
        });
        assert!(!m.report.blocks(), "{}", m.report);
        assert_eq!(
            m.report.dropped_permissions["globex-dj/Legacy reports"],
            vec!["reports: unknown module"]
        );
        let legacy = m.tenants[0]
            .roles
            .iter()
            .find(|r| r.name == "Legacy reports")
            .unwrap();
        assert_eq!(
            legacy.permissions.get(key("crm.leads.export")),
            Some(Grant::Scope(Scope::All))
        );
    }

    #[test]
    fn mixed_types_are_reported_and_the_rest_kept() {
        let (set, problems) = map_permissions(&json!({
            "crm": {"leads": {"view": "own", "create": "all", "export": true}},
        }));
        assert_eq!(
            problems,
            vec![
                "crm.leads.create: expected true or false",
                "crm.leads.export: expected one of own, team, all",
            ]
        );
        assert_eq!(
            set.get(key("crm.leads.view")),
            Some(Grant::Scope(Scope::Own))
        );
        assert_eq!(set.len(), 1);
        assert!(is_full_access(&json!({"admin": {"full_access": true}})));
        assert!(!is_full_access(&json!({"admin": {"full_access": "yes"}})));
    }

    #[test]
    fn billing_maps_statuses_and_the_open_invoice() {
        let m = fixture(Options::default());
        let t = &m.tenants[0];
        let sub = t.subscription.as_ref().unwrap();
        assert_eq!(sub.status, SubscriptionStatus::Active);
        assert_eq!(sub.billing_cycle, BillingCycle::Monthly);
        assert_eq!(sub.plan_id, Some(m.plans[1].id));
        assert_eq!(
            sub.current_period_end,
            time::macros::datetime!(2025-04-01 00:00 UTC)
        );
        let open = sub.open_invoice.as_ref().unwrap();
        let pending = t
            .invoices
            .iter()
            .find(|i| i.invoice_number == "INV-000042")
            .unwrap();
        assert_eq!(open.id, pending.id);
        assert_eq!(pending.status, InvoiceStatus::Pending);
        assert!(sub.next_action_at.is_some());
        let paid = t
            .invoices
            .iter()
            .find(|i| i.invoice_number == "INV-000041")
            .unwrap();
        assert_eq!(paid.status, InvoiceStatus::Paid);
        assert!(paid.paid_at.is_some());
        assert_eq!(paid.currency, "INR");
    }

    #[test]
    fn what_cannot_come_across_is_reported() {
        let mut entries: Vec<Value> = serde_json::from_str(FIXTURE).unwrap();
        entries.push(json!({"model": "accounts.auditlog", "pk": "0f0e0d0c-0000-4000-8000-000000000001", "fields": {}}));
        entries[12]["fields"]["status"] = json!("PAUSED");
        let entries: Vec<Entry> = serde_json::from_value(Value::Array(entries)).unwrap();
        let m = map(&entries, Options::default());
        assert!(m.report.blocks());
        assert!(
            m.report
                .lost
                .iter()
                .any(|l| l.contains("accounts.auditlog")),
            "{:?}",
            m.report.lost
        );
        assert!(
            m.report.lost.iter().any(|l| l.contains("PAUSED")),
            "{:?}",
            m.report.lost
        );
    }

    #[test]
    fn duplicates_and_invalid_values_are_reported() {
        let mut entries: Vec<Value> = serde_json::from_str(FIXTURE).unwrap();
        // Django compared emails case-sensitively; the platform does not.
        entries[7]["fields"]["email"] = json!("ADA@globex.example");
        entries[2]["fields"]["slug"] = json!("Globex_DJ");
        let entries: Vec<Entry> = serde_json::from_value(Value::Array(entries)).unwrap();
        let m = map(&entries, DROP_ALL);
        let lost = m.report.lost.join("\n");
        assert!(
            lost.contains("2 users share the email \"ada@globex.example\""),
            "{lost}"
        );
        assert!(
            lost.contains("tenant \"Globex_DJ\": slug: Enter 3 to 50"),
            "{lost}"
        );
        assert!(m.report.blocks());
    }

    const DROP_ALL: Options = Options {
        drop_unknown_permissions: true,
    };

    #[test]
    fn invoice_numbers_give_their_sequence() {
        assert_eq!(invoice_sequence("INV-000042"), Some(42));
        assert_eq!(invoice_sequence("INV-2026-000007"), Some(7));
        assert_eq!(invoice_sequence("INV-"), None);
    }
}
