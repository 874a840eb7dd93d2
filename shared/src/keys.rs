//! Every DynamoDB key format of the single table, in one place.
//!
//! Tenant-owned items live under `PK = TENANT#<tenant_id>`; that partition is
//! always derived from a [`TenantScope`], never from a caller-supplied id, so
//! code cannot address another tenant's partition. Platform-wide items
//! (uniqueness claims, plans, throttles) have partitions of their own and are
//! built here too. `docs/data-model.md` lists the access patterns they serve.

use crate::scope::TenantScope;
use std::marker::PhantomData;
use uuid::Uuid;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
/// A second sort order inside a partition: GSI2 is keyed on `PK` and this
/// attribute, and holds only items that set it.
pub const GSI2: &str = "GSI2";
pub const GSI2SK: &str = "GSI2SK";
/// A second platform-wide index (sparse): subscriptions by the time the
/// billing scheduler must next look at them, and the dedicated tables.
pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";
pub const GSI3SK: &str = "GSI3SK";
/// A third sort order inside a partition (keyed on `PK` and this
/// attribute, sparse): leads by value.
pub const GSI4: &str = "GSI4";
pub const GSI4SK: &str = "GSI4SK";
/// Epoch seconds after which an item is dead. DynamoDB deletes such items
/// eventually (DynamoDB Local never does), so every read checks it as well.
pub const TTL: &str = "expires_at";
/// Names the entity kind of every item, for exports and debugging.
pub const ENTITY: &str = "entity";

/// The sort key of one item inside a tenant partition, whatever it holds:
/// what batch reads take (see [`Key`] for reads and writes of one record).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortKey(String);

impl SortKey {
    fn new(kind: &str, id: impl std::fmt::Display) -> Self {
        Self(format!("{kind}#{id}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key of one item inside a tenant partition, typed by the [`kind`] of
/// item it holds: the store reads and writes through it only records of
/// that kind. A team's key reads a team,
///
/// ```
/// # use shared::{keys, records::TeamRecord, store::{StoreError, TenantStore}};
/// # async fn read(store: &TenantStore<'_>) -> Result<(), StoreError> {
/// let team: Option<TeamRecord> = store.get(&keys::team(uuid::Uuid::nil())).await?;
/// # Ok(())
/// # }
/// ```
///
/// while reading a role with it does not compile:
///
/// ```compile_fail
/// # use shared::{keys, records::RoleRecord, store::{StoreError, TenantStore}};
/// # async fn read(store: &TenantStore<'_>) -> Result<(), StoreError> {
/// let role: Option<RoleRecord> = store.get(&keys::team(uuid::Uuid::nil())).await?;
/// # Ok(())
/// # }
/// ```
pub struct Key<K> {
    sk: SortKey,
    kind: PhantomData<fn() -> K>,
}

impl<K> Key<K> {
    fn of(sk: SortKey) -> Self {
        Self {
            sk,
            kind: PhantomData,
        }
    }

    pub fn sort_key(&self) -> &SortKey {
        &self.sk
    }

    pub fn as_str(&self) -> &str {
        self.sk.as_str()
    }
}

// By hand: derives would require `K` to implement them too.
impl<K> Clone for Key<K> {
    fn clone(&self) -> Self {
        Self::of(self.sk.clone())
    }
}

impl<K> PartialEq for Key<K> {
    fn eq(&self, other: &Self) -> bool {
        self.sk == other.sk
    }
}

impl<K> Eq for Key<K> {}

impl<K> std::hash::Hash for Key<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.sk.hash(state)
    }
}

impl<K> std::fmt::Debug for Key<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sk.fmt(f)
    }
}

impl<K> AsRef<SortKey> for Key<K> {
    fn as_ref(&self) -> &SortKey {
        &self.sk
    }
}

impl AsRef<SortKey> for SortKey {
    fn as_ref(&self) -> &SortKey {
        self
    }
}

impl<K> From<Key<K>> for SortKey {
    fn from(key: Key<K>) -> Self {
        key.sk
    }
}

/// A `begins_with` prefix selecting one kind of item in a tenant partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKeyPrefix(String);

impl SortKeyPrefix {
    fn of(kind: &str) -> Self {
        Self(format!("{kind}#"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Sort keys from `from` through `through` (both included): a read of
/// neighbouring kinds of item in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKeyRange {
    from: String,
    through: String,
}

impl SortKeyRange {
    pub fn from(&self) -> &str {
        &self.from
    }
    pub fn through(&self) -> &str {
        &self.through
    }
    pub fn contains(&self, sk: &str) -> bool {
        self.from.as_str() <= sk && sk <= self.through.as_str()
    }
}

/// The key of a module's item, `<namespace>#<id>` in the tenant's
/// partition, where the namespace starts with the module's name in capitals
/// (`CRM#LEAD`): module services keep their items apart from the platform's
/// kinds and from each other's. `K` is a kind marker the module declares.
///
/// # Panics
/// If `namespace` does not start with a sellable module's name (`CRM#`,
/// `WHATSAPP#`, `MEETINGS#`, `TASKS#`): a programming error, caught by any
/// test that touches the key.
pub fn module_item<K>(namespace: &'static str, id: impl std::fmt::Display) -> Key<K> {
    assert_module_namespace(namespace);
    Key::of(SortKey::new(namespace, id))
}

/// Every item of a module's namespace, e.g. all `CRM#LEAD#` items.
pub fn module_items(namespace: &'static str) -> SortKeyPrefix {
    assert_module_namespace(namespace);
    SortKeyPrefix::of(namespace)
}

fn assert_module_namespace(namespace: &str) {
    const MODULES: [&str; 4] = ["CRM#", "WHATSAPP#", "MEETINGS#", "TASKS#"];
    assert!(
        MODULES.iter().any(|m| namespace.starts_with(m)),
        "module namespace {namespace:?} must start with a module's name"
    );
}

/// GSI1 partition of the records of `collection` owned by `owner_id`
/// inside the tenant partition `tenant_pk` (see `entity::Ownership`).
pub fn owner_index_pk(tenant_pk: &str, collection: &str, owner_id: uuid::Uuid) -> String {
    format!("{tenant_pk}#{collection}#OWNER#{owner_id}")
}

/// GSI3 partition of the records of `collection` of team `team_id`.
pub fn team_index_pk(tenant_pk: &str, collection: &str, team_id: uuid::Uuid) -> String {
    format!("{tenant_pk}#{collection}#TEAM#{team_id}")
}

/// The full key of a platform-wide item (not inside any tenant partition),
/// typed by the [`kind`] of item it holds, as [`Key`] is.
pub struct PlatformKey<K> {
    pk: String,
    sk: &'static str,
    kind: PhantomData<fn() -> K>,
}

impl<K> PlatformKey<K> {
    fn new(pk: String, sk: &'static str) -> Self {
        Self {
            pk,
            sk,
            kind: PhantomData,
        }
    }
    pub fn pk(&self) -> &str {
        &self.pk
    }
    pub fn sk(&self) -> &str {
        self.sk
    }
}

impl<K> Clone for PlatformKey<K> {
    fn clone(&self) -> Self {
        Self::new(self.pk.clone(), self.sk)
    }
}

impl<K> PartialEq for PlatformKey<K> {
    fn eq(&self, other: &Self) -> bool {
        (&self.pk, self.sk) == (&other.pk, other.sk)
    }
}

impl<K> Eq for PlatformKey<K> {}

impl<K> std::fmt::Debug for PlatformKey<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKey")
            .field("pk", &self.pk)
            .field("sk", &self.sk)
            .finish()
    }
}

/// What an item is, one marker type per kind of item: keys are typed by
/// it, and each record names the kind it is stored as
/// (`Entity::Kind`), so the store reads and writes a record only under a
/// key of its kind. Uninhabited: they only type keys.
pub mod kind {
    /// The tenant's own record (`records::TenantRecord`).
    pub enum Tenant {}
    pub enum User {}
    pub enum Role {}
    /// A claim on a role's name within its tenant.
    pub enum RoleName {}
    pub enum Team {}
    /// A claim on a team's name within its tenant.
    pub enum TeamName {}
    pub enum AuditEntry {}
    /// The tenant's usage counters.
    pub enum Usage {}
    pub enum Subscription {}
    /// A tenant's access-token revocation cutoffs, one attribute each; no
    /// record type, written attribute by attribute.
    pub enum Revocations {}
    pub enum TokenFamily {}
    pub enum Invoice {}
    /// A claim on a tenant slug, platform-wide.
    pub enum SlugClaim {}
    /// An email's credential, which also claims the email platform-wide.
    pub enum Credential {}
    /// A claim on a custom domain, platform-wide.
    pub enum DomainClaim {}
    pub enum TenantRoute {}
    /// A throttle's attempt counter; no record type.
    pub enum ThrottleCounter {}
    pub enum Plan {}
    /// A claim on a plan slug, platform-wide.
    pub enum PlanSlugClaim {}
    /// A platform-wide counter handing out numbers (invoice numbers).
    pub enum Sequence {}
    pub enum InvoiceRef {}
    pub enum SubscriptionRef {}
    /// A password-reset token, stored by its hash.
    pub enum ResetToken {}
    /// An email-verification token, stored by its hash.
    pub enum VerifyToken {}
    /// An invitation to join a tenant, pending until accepted or revoked.
    pub enum Invitation {}
    /// A claim on an email among a tenant's pending invitations.
    pub enum Invitee {}
    /// An invitation's token, stored by its hash.
    pub enum InviteToken {}
}

/// A secondary-index (GSI1) key written on an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub pk: String,
    pub sk: String,
}

/// A time as a fixed-width UTC string (`2026-01-02T03:04:05.000000000Z`),
/// so that index keys built from times sort in time order (RFC 3339 as
/// usually written drops trailing fractional zeros and does not).
pub fn sortable_time(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond()
    )
}

/// Partition key of a tenant's items.
pub fn tenant_pk(scope: &TenantScope) -> String {
    format!("TENANT#{}", scope.tenant_id())
}

// ---- Items inside a tenant partition -------------------------------------

/// The tenant's own record: name, slug, modules, settings.
pub fn tenant_profile() -> Key<kind::Tenant> {
    Key::of(SortKey("PROFILE".to_owned()))
}

pub fn user(user_id: Uuid) -> Key<kind::User> {
    Key::of(SortKey::new("USER", user_id))
}

pub fn users() -> SortKeyPrefix {
    SortKeyPrefix::of("USER")
}

/// A pending invitation; ids are time-ordered, so the partition lists
/// them oldest first.
pub fn invitation(invitation_id: Uuid) -> Key<kind::Invitation> {
    Key::of(SortKey::new("INVITATION", invitation_id))
}

pub fn invitations() -> SortKeyPrefix {
    SortKeyPrefix::of("INVITATION")
}

/// An email with a pending invitation to the tenant: one per address.
pub fn invitee(email_lowercase: &str) -> Key<kind::Invitee> {
    Key::of(SortKey(format!("INVITEE#{email_lowercase}")))
}

/// A user's place in the by-email order (GSI2 sort key).
pub fn user_by_email(email_lowercase: &str) -> String {
    format!("{}{email_lowercase}", users_by_email().as_str())
}

/// Users in email order, optionally only emails starting with a prefix.
pub fn users_by_email() -> SortKeyPrefix {
    SortKeyPrefix::of("USER")
}

pub fn role(role_id: Uuid) -> Key<kind::Role> {
    Key::of(SortKey::new("ROLE", role_id))
}

pub fn roles() -> SortKeyPrefix {
    SortKeyPrefix::of("ROLE")
}

/// The tenant's profile through its roles: `PROFILE`, `REVOCATIONS` and
/// every `ROLE#…`, which sort next to each other, so what names a user
/// (its tenant and roles) is one query. `$` follows `#`, so `ROLENAME#…`
/// stays out; the tests hold every other kind outside.
pub fn profile_through_roles() -> SortKeyRange {
    SortKeyRange {
        from: tenant_profile().as_str().to_owned(),
        through: format!("{}$", roles().as_str().trim_end_matches('#')),
    }
}

/// A role's name, claimed case-insensitively within its tenant.
pub fn role_name(name_lowercase: &str) -> Key<kind::RoleName> {
    Key::of(SortKey(format!("ROLENAME#{name_lowercase}")))
}

pub fn team(team_id: Uuid) -> Key<kind::Team> {
    Key::of(SortKey::new("TEAM", team_id))
}

pub fn teams() -> SortKeyPrefix {
    SortKeyPrefix::of("TEAM")
}

/// A team's name, claimed case-insensitively within its tenant.
pub fn team_name(name_lowercase: &str) -> Key<kind::TeamName> {
    Key::of(SortKey(format!("TEAMNAME#{name_lowercase}")))
}

/// One audit-log entry; keys sort by time (nanoseconds since the epoch).
pub fn audit_entry(at_unix_nanos: i128, entry_id: Uuid) -> Key<kind::AuditEntry> {
    Key::of(SortKey(format!(
        "AUDIT#{:020}#{entry_id}",
        at_unix_nanos.max(0)
    )))
}

/// The tenant's audit log, oldest first in key order.
pub fn audit_log() -> SortKeyPrefix {
    SortKeyPrefix::of("AUDIT")
}

/// The tenant's usage counters (users), checked against plan limits.
pub fn usage() -> Key<kind::Usage> {
    Key::of(SortKey("USAGE".to_owned()))
}

/// The tenant's single subscription.
pub fn subscription() -> Key<kind::Subscription> {
    Key::of(SortKey("SUBSCRIPTION".to_owned()))
}

/// Access-token revocation cutoffs of the tenant's users and roles, one
/// attribute each (see `crate::revocation`).
pub fn revocations() -> Key<kind::Revocations> {
    Key::of(SortKey("REVOCATIONS".to_owned()))
}

/// One login's chain of rotating refresh tokens, grouped by user so that
/// all of a user's logins can be revoked together.
pub fn token_family(user_id: Uuid, family_id: Uuid) -> Key<kind::TokenFamily> {
    Key::of(SortKey(format!("TOKENFAMILY#{user_id}#{family_id}")))
}

/// Every login (refresh-token family) of one user.
pub fn token_families(user_id: Uuid) -> SortKeyPrefix {
    SortKeyPrefix(format!("TOKENFAMILY#{user_id}#"))
}

// ---- Platform-wide items -------------------------------------------------

/// Claims a tenant slug platform-wide.
pub fn slug_claim(slug: &str) -> PlatformKey<kind::SlugClaim> {
    PlatformKey::new(format!("SLUG#{slug}"), "CLAIM")
}

/// The credential of an email, platform-wide: claims the email (emails are
/// unique across tenants) and carries what login needs before any tenant is
/// known: tenant and user id, password hash, role ids.
pub fn email_claim(email_lowercase: &str) -> PlatformKey<kind::Credential> {
    PlatformKey::new(format!("EMAIL#{email_lowercase}"), "CLAIM")
}

/// A password-reset token, keyed by the hex SHA-256 of its bytes (the
/// token itself is never stored): single use, expires by TTL.
pub fn reset_token(sha256_hex: &str) -> PlatformKey<kind::ResetToken> {
    PlatformKey::new(format!("RESETTOKEN#{sha256_hex}"), "CLAIM")
}

/// An email-verification token, keyed by the hex SHA-256 of its bytes
/// (the token itself is never stored): single use, expires by TTL.
pub fn verify_token(sha256_hex: &str) -> PlatformKey<kind::VerifyToken> {
    PlatformKey::new(format!("VERIFYTOKEN#{sha256_hex}"), "CLAIM")
}

/// An invitation's token, keyed by the hex SHA-256 of its bytes (the
/// token itself is never stored): single use, expires by TTL.
pub fn invite_token(sha256_hex: &str) -> PlatformKey<kind::InviteToken> {
    PlatformKey::new(format!("INVITETOKEN#{sha256_hex}"), "CLAIM")
}

/// Claims a custom domain for a tenant platform-wide.
pub fn domain_claim(domain_lowercase: &str) -> PlatformKey<kind::DomainClaim> {
    PlatformKey::new(format!("DOMAIN#{domain_lowercase}"), "CLAIM")
}

/// Routes a tenant pinned to a dedicated table: names that table. Read only
/// where a tenant is known by id alone (login, the super-admin path).
pub fn tenant_route(tenant_id: Uuid) -> PlatformKey<kind::TenantRoute> {
    PlatformKey::new(format!("TENANTROUTE#{tenant_id}"), "ROUTE")
}

/// GSI1 entry listing every tenant, oldest first.
pub fn tenants_index(created_at_rfc3339: &str, tenant_id: Uuid) -> IndexKey {
    IndexKey {
        pk: tenants_index_pk().to_owned(),
        sk: format!("{created_at_rfc3339}#{tenant_id}"),
    }
}

pub fn tenants_index_pk() -> &'static str {
    "TENANTS"
}

/// A throttle counter: attempts of one kind (`bucket`) by one `subject`
/// (an email, an IP, or both) in the fixed window starting at
/// `window_start` (epoch seconds). A new window is a new item, so no
/// counter ever needs resetting; old ones expire by TTL.
pub fn throttle(
    bucket: &str,
    subject: &str,
    window_start: i64,
) -> PlatformKey<kind::ThrottleCounter> {
    PlatformKey::new(
        format!("THROTTLE#{bucket}#{subject}#W{window_start}"),
        "COUNTER",
    )
}

pub fn plan(plan_id: Uuid) -> PlatformKey<kind::Plan> {
    PlatformKey::new(format!("PLAN#{plan_id}"), "PLAN")
}

/// GSI1 entry listing every plan in display order.
pub fn plans_index(sort_order: i32, plan_id: Uuid) -> IndexKey {
    IndexKey {
        pk: plans_index_pk().to_owned(),
        // Offset keeps negative sort orders in lexical order.
        sk: format!("{:010}#{plan_id}", i64::from(sort_order) + 1_000_000_000),
    }
}

pub fn plans_index_pk() -> &'static str {
    "PLANS"
}

/// Claims a plan slug platform-wide.
pub fn plan_slug_claim(slug: &str) -> PlatformKey<kind::PlanSlugClaim> {
    PlatformKey::new(format!("PLANSLUG#{slug}"), "CLAIM")
}

/// GSI1 entry listing every subscription, oldest first (within one table:
/// a tenant pinned to a dedicated table has its entry in that table).
pub fn subscriptions_index(created_at_rfc3339: &str, tenant_id: Uuid) -> IndexKey {
    IndexKey {
        pk: subscriptions_index_pk().to_owned(),
        sk: format!("{created_at_rfc3339}#{tenant_id}"),
    }
}

pub fn subscriptions_index_pk() -> &'static str {
    "SUBSCRIPTIONS"
}

/// GSI3 entry of a subscription the scheduler must look at, at `at`.
pub fn billing_due_index(at: time::OffsetDateTime, tenant_id: Uuid) -> IndexKey {
    IndexKey {
        pk: billing_due_index_pk().to_owned(),
        sk: format!("{}#{tenant_id}", sortable_time(at)),
    }
}

pub fn billing_due_index_pk() -> &'static str {
    "BILLINGDUE"
}

/// Upper bound of the due entries at or before `at`: every entry of that
/// instant sorts below it (`#` < `~`).
pub fn billing_due_until(at: time::OffsetDateTime) -> String {
    format!("{}#~", sortable_time(at))
}

/// GSI3 entry naming a dedicated table, on its tenants' routing items.
pub fn dedicated_tables_index(table: &str, tenant_id: Uuid) -> IndexKey {
    IndexKey {
        pk: dedicated_tables_index_pk().to_owned(),
        sk: format!("{table}#{tenant_id}"),
    }
}

pub fn dedicated_tables_index_pk() -> &'static str {
    "DEDICATEDTABLES"
}

/// One invoice of a tenant; ids are time-ordered, so keys sort by issue.
pub fn invoice(invoice_id: Uuid) -> Key<kind::Invoice> {
    Key::of(SortKey::new("INVOICE", invoice_id))
}

pub fn invoices() -> SortKeyPrefix {
    SortKeyPrefix::of("INVOICE")
}

/// The platform's invoice counter of one year: `INV-<year>-<seq>`.
pub fn invoice_sequence(year: i32) -> PlatformKey<kind::Sequence> {
    PlatformKey::new(format!("INVOICESEQ#{year}"), "COUNTER")
}

/// Names the tenant of an invoice id, platform-wide.
pub fn invoice_ref(invoice_id: Uuid) -> PlatformKey<kind::InvoiceRef> {
    PlatformKey::new(format!("INVOICEREF#{invoice_id}"), "REF")
}

/// GSI1 entry listing every invoice, newest last.
pub fn invoices_index(issued_at_rfc3339: &str, invoice_id: Uuid) -> IndexKey {
    IndexKey {
        pk: invoices_index_pk().to_owned(),
        sk: format!("{issued_at_rfc3339}#{invoice_id}"),
    }
}

pub fn invoices_index_pk() -> &'static str {
    "INVOICES"
}

/// Names the tenant of a subscription id, platform-wide.
pub fn subscription_ref(subscription_id: Uuid) -> PlatformKey<kind::SubscriptionRef> {
    PlatformKey::new(format!("SUBSCRIPTIONREF#{subscription_id}"), "REF")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn tenant_partition_comes_from_the_scope() {
        let scope = TenantScope::new(id(7));
        assert_eq!(
            tenant_pk(&scope),
            "TENANT#00000000-0000-0000-0000-000000000007"
        );
    }

    #[test]
    fn tenant_item_sort_keys() {
        assert_eq!(tenant_profile().as_str(), "PROFILE");
        assert_eq!(
            user(id(1)).as_str(),
            "USER#00000000-0000-0000-0000-000000000001"
        );
        assert_eq!(
            role(id(2)).as_str(),
            "ROLE#00000000-0000-0000-0000-000000000002"
        );
        assert_eq!(subscription().as_str(), "SUBSCRIPTION");
        assert_eq!(
            token_family(id(1), id(3)).as_str(),
            "TOKENFAMILY#00000000-0000-0000-0000-000000000001#00000000-0000-0000-0000-000000000003"
        );
        assert!(token_family(id(1), id(3))
            .as_str()
            .starts_with(token_families(id(1)).as_str()));
        assert!(!token_family(id(2), id(3))
            .as_str()
            .starts_with(token_families(id(1)).as_str()));
    }

    #[test]
    fn audit_keys_sort_by_time() {
        let early = audit_entry(1_700_000_000_000_000_000, id(9));
        let late = audit_entry(1_700_000_000_000_000_001, id(1));
        assert!(early.as_str() < late.as_str());
        assert!(early.as_str().starts_with(audit_log().as_str()));
        assert_eq!(role_name("sales").as_str(), "ROLENAME#sales");
        assert!(
            !role_name("x").as_str().starts_with(roles().as_str()),
            "name claims are not roles"
        );
        assert_eq!(team_name("north").as_str(), "TEAMNAME#north");
        assert!(
            !team_name("x").as_str().starts_with(teams().as_str()),
            "name claims are not teams"
        );
    }

    #[test]
    fn prefixes_select_exactly_their_kind() {
        assert!(user(id(9)).as_str().starts_with(users().as_str()));
        assert!(role(id(9)).as_str().starts_with(roles().as_str()));
        assert!(!role(id(9)).as_str().starts_with(users().as_str()));
        assert!(team(id(9)).as_str().starts_with(teams().as_str()));
        assert_eq!(user_by_email("a@b.io"), "USER#a@b.io");
        assert!(user_by_email("ab@c.io").starts_with(&format!("{}ab", users_by_email().as_str())));
        assert!(!team(id(9)).as_str().starts_with(users().as_str()));
        // The profile must never be swept up by a kind prefix.
        assert!(!tenant_profile().as_str().starts_with(users().as_str()));
    }

    #[test]
    fn profile_through_roles_holds_only_the_profile_revocations_and_roles() {
        let range = profile_through_roles();
        for inside in [
            tenant_profile().as_str(),
            revocations().as_str(),
            role(Uuid::nil()).as_str(),
            role(Uuid::max()).as_str(),
        ] {
            assert!(range.contains(inside), "{inside}");
        }
        let module = module_item::<()>("CRM#LEAD", id(1));
        let outside: Vec<String> = vec![
            user(id(1)).as_str().into(),
            invitation(id(1)).as_str().into(),
            invitee("a@b.io").as_str().into(),
            role_name("").as_str().into(),
            role_name("~").as_str().into(),
            team(id(1)).as_str().into(),
            team_name("a").as_str().into(),
            audit_entry(i128::MAX, Uuid::max()).as_str().into(),
            usage().as_str().into(),
            subscription().as_str().into(),
            token_family(id(1), id(2)).as_str().into(),
            invoice(Uuid::max()).as_str().into(),
            module.as_str().into(),
            module_item::<()>("MEETINGS#X", Uuid::max()).as_str().into(),
            module_item::<()>("TASKS#X", Uuid::nil()).as_str().into(),
            module_item::<()>("WHATSAPP#X", Uuid::nil()).as_str().into(),
        ];
        for sk in &outside {
            assert!(!range.contains(sk), "{sk}");
        }
    }

    #[test]
    fn platform_keys() {
        assert_eq!(slug_claim("acme").pk(), "SLUG#acme");
        assert_eq!(slug_claim("acme").sk(), "CLAIM");
        assert_eq!(email_claim("a@b.io").pk(), "EMAIL#a@b.io");
        assert_eq!(
            throttle("login-ip", "10.0.0.1#a@b.io", 900).pk(),
            "THROTTLE#login-ip#10.0.0.1#a@b.io#W900"
        );
        assert_eq!(domain_claim("crm.acme.io").pk(), "DOMAIN#crm.acme.io");
        assert_eq!(tenants_index("2026-01-01T00:00:00Z", id(5)).pk, "TENANTS");
        assert_eq!(
            plan(id(4)).pk(),
            "PLAN#00000000-0000-0000-0000-000000000004"
        );
        assert_eq!(plan(id(4)).sk(), "PLAN");
        assert_eq!(plan_slug_claim("pro").pk(), "PLANSLUG#pro");
        assert_eq!(
            subscriptions_index("2026-01-01T00:00:00Z", id(5)).pk,
            "SUBSCRIPTIONS"
        );
        assert_eq!(
            subscription_ref(id(3)).pk(),
            "SUBSCRIPTIONREF#00000000-0000-0000-0000-000000000003"
        );
    }

    #[test]
    fn sortable_times_sort_in_time_order() {
        use time::macros::datetime;
        let times = [
            datetime!(2026-01-02 03:04:05 UTC),
            datetime!(2026-01-02 03:04:05.000000001 UTC),
            datetime!(2026-01-02 03:04:05.5 UTC),
            datetime!(2026-01-02 05:04:05 +02:00) + time::Duration::seconds(1),
            datetime!(2026-01-02 03:04:07 UTC),
        ];
        let keys: Vec<String> = times.iter().map(|t| sortable_time(*t)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys[0], "2026-01-02T03:04:05.000000000Z");
        assert_eq!(
            keys[3], "2026-01-02T03:04:06.000000000Z",
            "offsets are normalised to UTC"
        );
    }

    #[test]
    fn billing_keys() {
        use time::macros::datetime;
        let due = billing_due_index(datetime!(2026-03-01 10:00 UTC), id(2));
        assert_eq!(due.pk, "BILLINGDUE");
        assert_eq!(
            due.sk,
            "2026-03-01T10:00:00.000000000Z#00000000-0000-0000-0000-000000000002"
        );
        // Entries at the bound are included, later ones are not.
        let bound = billing_due_until(datetime!(2026-03-01 10:00 UTC));
        assert!(due.sk <= bound);
        assert!(billing_due_index(datetime!(2026-03-01 10:00:00.001 UTC), id(2)).sk > bound);
        assert!(
            billing_due_index(datetime!(2026-03-01 12:00 +03:00), id(9)).sk < bound,
            "offsets are normalised"
        );
        assert_eq!(
            dedicated_tables_index("t-tenant-a", id(1)).pk,
            "DEDICATEDTABLES"
        );
        assert_eq!(
            invoice(id(4)).as_str(),
            "INVOICE#00000000-0000-0000-0000-000000000004"
        );
        assert!(invoice(id(4)).as_str().starts_with(invoices().as_str()));
        assert_eq!(invoice_sequence(2026).pk(), "INVOICESEQ#2026");
        assert_eq!(
            invoice_ref(id(4)).pk(),
            "INVOICEREF#00000000-0000-0000-0000-000000000004"
        );
        assert_eq!(invoices_index("2026-01-01T00:00:00Z", id(4)).pk, "INVOICES");
    }

    #[test]
    fn tenant_route_key() {
        let key = tenant_route(id(6));
        assert_eq!(key.pk(), "TENANTROUTE#00000000-0000-0000-0000-000000000006");
        assert_eq!(key.sk(), "ROUTE");
        // Never inside a tenant partition, so no scope can address it.
        assert!(!key.pk().starts_with("TENANT#"));
    }

    #[test]
    fn plan_index_orders_numerically_including_negatives() {
        let keys: Vec<String> = [-5, 0, 3, 20, 100]
            .into_iter()
            .map(|o| plans_index(o, id(1)).sk)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(plans_index(1, id(1)).pk, "PLANS");
    }
}
