//! The records stored in the table, shared by the functions that read and
//! write them. Keys live in [`crate::keys`]; records hold only data.
//!
//! Times are RFC 3339 strings (sortable); money is an exact decimal stored
//! and served as a string.

pub use crate::billing::{BillingCycle, ScheduledChange, SubscriptionRecord, SubscriptionStatus};
use crate::entity::codec::{blank, json_text};
use crate::entity::{Entity, Part};
use crate::keys::kind;
use crate::permissions::{Module, PermissionSet};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// An organisation. Key: `TENANT#<id>` / `PROFILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub domain: Option<String>,
    pub enabled_modules: Vec<Module>,
    #[serde(with = "json_text")]
    pub settings: Value,
    pub is_active: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub trial_ends_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

/// The key in [`TenantRecord::settings`] that makes login require a
/// verified email.
pub const REQUIRE_VERIFIED_EMAIL: &str = "require_verified_email";

impl TenantRecord {
    /// `settings.require_verified_email`: only users who verified their
    /// email may log in (super admins excepted). Anything but `true`
    /// (absent, or settings written before the key was validated) is off.
    pub fn requires_verified_email(&self) -> bool {
        self.settings.get(REQUIRE_VERIFIED_EMAIL) == Some(&Value::Bool(true))
    }
}

impl crate::billing::EnabledModules for TenantRecord {
    fn enabled_modules(&self) -> &[Module] {
        &self.enabled_modules
    }
}

impl Entity for TenantRecord {
    const ENTITY: &'static str = "tenant";
    type Kind = kind::Tenant;
    fn index_key(&self) -> Option<crate::keys::IndexKey> {
        let created = crate::keys::sortable_time(self.created_at);
        Some(crate::keys::tenants_index(&created, self.id))
    }
}

/// Claims a custom domain for a tenant. Key: `DOMAIN#<domain>` / `CLAIM`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainClaim {
    pub tenant_id: Uuid,
}

impl Entity for DomainClaim {
    const ENTITY: &'static str = "domain_claim";
    type Kind = kind::DomainClaim;
}

/// Where a tenant pinned to a dedicated table keeps its items. Platform-wide,
/// in the main table; only such tenants have one (no item: the main table).
/// Key: `TENANTROUTE#<id>` / `ROUTE`. It also stands in for the tenant in the
/// GSI1 `TENANTS` listing, whose profiles live in the main table otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRouteRecord {
    pub tenant_id: Uuid,
    /// The dedicated table's name.
    pub table: String,
    /// The tenant's `created_at`, which orders the listing.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Entity for TenantRouteRecord {
    const ENTITY: &'static str = "tenant_route";
    type Kind = kind::TenantRoute;
    /// Lets the billing scheduler find every dedicated table.
    fn platform_index_key(&self) -> Option<crate::keys::IndexKey> {
        Some(crate::keys::dedicated_tables_index(
            &self.table,
            self.tenant_id,
        ))
    }
    fn index_key(&self) -> Option<crate::keys::IndexKey> {
        let created = crate::keys::sortable_time(self.created_at);
        Some(crate::keys::tenants_index(&created, self.tenant_id))
    }
}

/// A person in a tenant. Key: `TENANT#<tenant>` / `USER#<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Lowercased.
    pub email: String,
    #[serde(default, with = "blank")]
    pub first_name: String,
    #[serde(default, with = "blank")]
    pub last_name: String,
    pub phone: Option<String>,
    /// Also copied on the credential, in the same transaction, so login
    /// can fetch the roles without reading the user first.
    pub role_ids: Vec<Uuid>,
    pub team_ids: Vec<Uuid>,
    pub is_active: bool,
    pub is_super_admin: bool,
    pub timezone: String,
    #[serde(with = "json_text")]
    pub preferences: Value,
    pub profile_picture: Option<String>,
    /// Logins (refresh-token families) started before this are dead; set
    /// when the user is deactivated, so reactivation does not revive them.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub sessions_valid_after: Option<OffsetDateTime>,
    /// Whether the user proved they read mail sent to `email` (a
    /// verification link, or a completed password reset). Items written
    /// before the field existed read as unverified.
    #[serde(default)]
    pub email_verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub date_joined: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

impl Entity for UserRecord {
    const ENTITY: &'static str = "user";
    type Kind = kind::User;
    fn alt_sort_key(&self) -> Option<String> {
        Some(crate::keys::user_by_email(&self.email))
    }
    /// Lower-cased names, matched by the users list's `search`.
    fn derived_attributes(&self) -> Vec<(&'static str, String)> {
        vec![
            (USER_FIRST_NAME_LC, self.first_name.to_lowercase()),
            (USER_LAST_NAME_LC, self.last_name.to_lowercase()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }
}

/// A user read by a projection (with its tenant's and roles' names, in one
/// batch) is read whole: every field, named here. A test fails when a
/// field is missing.
impl Part for UserRecord {
    type Of = UserRecord;
    const ATTRIBUTES: &'static [&'static str] = &[
        "id",
        "tenant_id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "role_ids",
        "team_ids",
        "is_active",
        "is_super_admin",
        "timezone",
        "preferences",
        "profile_picture",
        "sessions_valid_after",
        "email_verified",
        "date_joined",
        "updated_at",
        "version",
    ];
}

/// Attributes written with every user for case-insensitive name search.
pub const USER_FIRST_NAME_LC: &str = "first_name_lc";
pub const USER_LAST_NAME_LC: &str = "last_name_lc";

/// An email's credential, platform-wide. Key: `EMAIL#<email>` / `CLAIM`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialRecord {
    pub email: String,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub password_hash: String,
    pub role_ids: Vec<Uuid>,
    pub version: u64,
}

impl std::fmt::Debug for CredentialRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRecord")
            .field("email", &self.email)
            .field("tenant_id", &self.tenant_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl Entity for CredentialRecord {
    const ENTITY: &'static str = "credential";
    type Kind = kind::Credential;
}

/// Claims a slug for a tenant. Key: `SLUG#<slug>` / `CLAIM`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlugClaim {
    pub tenant_id: Uuid,
}

impl Entity for SlugClaim {
    const ENTITY: &'static str = "slug_claim";
    type Kind = kind::SlugClaim;
}

/// A named set of grants. Key: `TENANT#<tenant>` / `ROLE#<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    #[serde(default, with = "blank")]
    pub description: String,
    /// Validated when written; read without a `Value` in between.
    #[serde(deserialize_with = "crate::permissions::stored::deserialize")]
    pub permissions: PermissionSet,
    pub is_active: bool,
    /// The tenant's Admin role: cannot be deleted, renamed or reduced.
    pub is_system: bool,
    /// Users holding the role; maintained in the same transaction as every
    /// assignment.
    #[serde(default)]
    pub member_count: u32,
    pub created_by: Option<Uuid>,
    pub created_by_email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

impl Entity for RoleRecord {
    const ENTITY: &'static str = "role";
    type Kind = kind::Role;
}

/// A group of users; membership lives on users' `team_ids` and feeds the
/// `team` permission scope. Key: `TENANT#<tenant>` / `TEAM#<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    #[serde(default, with = "blank")]
    pub description: String,
    /// A member who leads the team, if any.
    pub lead_id: Option<Uuid>,
    /// Users in the team; maintained in the same transaction as every
    /// membership change.
    #[serde(default)]
    pub member_count: u32,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

impl Entity for TeamRecord {
    const ENTITY: &'static str = "team";
    type Kind = kind::Team;
    /// The lower-cased name, matched by the teams list's `search`.
    fn derived_attributes(&self) -> Vec<(&'static str, String)> {
        vec![(TEAM_NAME_LC, self.name.to_lowercase())]
    }
}

pub const TEAM_NAME_LC: &str = "name_lc";

/// Claims a team name within a tenant. Key: `TENANT#<tenant>` /
/// `TEAMNAME#<lowercased name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamNameClaim {
    pub team_id: Uuid,
}

impl Entity for TeamNameClaim {
    const ENTITY: &'static str = "team_name";
    type Kind = kind::TeamName;
}

/// A sellable plan. Key: `PLAN#<id>` / `PLAN`, listed through GSI1 `PLANS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    #[serde(default, with = "blank")]
    pub description: String,
    pub price_monthly: Decimal,
    pub price_yearly: Decimal,
    pub currency: String,
    /// `None` means unlimited.
    pub max_users: Option<u32>,
    pub max_leads: Option<u32>,
    pub storage_gb: Option<u32>,
    pub included_modules: Vec<Module>,
    pub features: Vec<String>,
    pub is_trial: bool,
    pub trial_days: u32,
    pub is_active: bool,
    pub sort_order: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Optimistic-concurrency counter; plans seeded before it existed read
    /// as 0 (their writes are conditioned on `updated_at` instead).
    #[serde(default)]
    pub version: u64,
}

// Here rather than in `billing`, which sits below the records.
impl From<&PlanRecord> for crate::billing::PlanPrice {
    fn from(plan: &PlanRecord) -> Self {
        Self {
            price_monthly: plan.price_monthly,
            price_yearly: plan.price_yearly,
            currency: plan.currency.clone(),
        }
    }
}

impl Entity for PlanRecord {
    const ENTITY: &'static str = "plan";
    type Kind = kind::Plan;
    fn index_key(&self) -> Option<crate::keys::IndexKey> {
        Some(crate::keys::plans_index(self.sort_order, self.id))
    }
}

/// Claims a plan slug platform-wide. Key: `PLANSLUG#<slug>` / `CLAIM`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSlugClaim {
    pub plan_id: Uuid,
}

impl Entity for PlanSlugClaim {
    const ENTITY: &'static str = "plan_slug_claim";
    type Kind = kind::PlanSlugClaim;
}

impl Entity for SubscriptionRecord {
    const ENTITY: &'static str = "subscription";
    type Kind = kind::Subscription;
    fn platform_index_key(&self) -> Option<crate::keys::IndexKey> {
        Some(crate::keys::billing_due_index(
            self.next_action_at?,
            self.tenant_id,
        ))
    }
    /// Every subscription of the tables' GSI1 `SUBSCRIPTIONS`, oldest first
    /// (the super admins' listing).
    fn index_key(&self) -> Option<crate::keys::IndexKey> {
        let created = crate::keys::sortable_time(self.created_at);
        Some(crate::keys::subscriptions_index(&created, self.tenant_id))
    }
}

/// Finds a subscription's tenant by the subscription's id, platform-wide.
/// Key: `SUBSCRIPTIONREF#<subscription id>` / `REF`; written with the
/// subscription when the tenant is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRefRecord {
    pub tenant_id: Uuid,
}

impl Entity for SubscriptionRefRecord {
    const ENTITY: &'static str = "subscription_ref";
    type Kind = kind::SubscriptionRef;
}

/// A bill for one period of a subscription. Key: `TENANT#<tenant>` /
/// `INVOICE#<id>` (UUIDv7, so a tenant's invoices sort by issue); listed
/// platform-wide through GSI1 `INVOICES`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub subscription_id: Uuid,
    /// `INV-<year>-<6 digits>`, from the year's gap-free counter.
    pub invoice_number: String,
    pub amount: Decimal,
    pub currency: String,
    pub status: crate::billing::InvoiceStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub period_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub period_end: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub due_date: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
    /// Which payment provider settled it, and its reference.
    pub payment_provider: Option<String>,
    pub payment_reference: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

impl Entity for InvoiceRecord {
    const ENTITY: &'static str = "invoice";
    type Kind = kind::Invoice;
    fn index_key(&self) -> Option<crate::keys::IndexKey> {
        let created = crate::keys::sortable_time(self.created_at);
        Some(crate::keys::invoices_index(&created, self.id))
    }
}

/// A platform-wide counter: the last number handed out. Key: e.g.
/// `INVOICESEQ#<year>` / `COUNTER`; only ever advanced by
/// `Transaction::next_in_sequence`, in the transaction that uses the number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SequenceRecord {
    #[serde(default)]
    pub last: u64,
}

impl Entity for SequenceRecord {
    const ENTITY: &'static str = "sequence";
    type Kind = kind::Sequence;
}

/// Finds an invoice's tenant by the invoice's id, platform-wide. Key:
/// `INVOICEREF#<invoice id>` / `REF`; written with the invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceRefRecord {
    pub tenant_id: Uuid,
}

impl Entity for InvoiceRefRecord {
    const ENTITY: &'static str = "invoice_ref";
    type Kind = kind::InvoiceRef;
}

/// One login's refresh-token chain. Key: `TENANT#<tenant>` /
/// `TOKENFAMILY#<user>#<family>`. Only `current_jti` may be exchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenFamilyRecord {
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub current_jti: Uuid,
    pub revoked: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Epoch seconds: the last refresh token's expiry.
    pub expires_at: i64,
}

/// A pending password reset. Key: `RESETTOKEN#<sha256 hex of the
/// token>` / `CLAIM`. Names the credential it may rewrite, at the version
/// it had when the reset was asked for: any later password change makes
/// the token useless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetTokenRecord {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    /// The credential's key (lowercase email).
    pub email: String,
    pub credential_version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Epoch seconds; reads treat the item as gone from then on.
    pub expires_at: i64,
}

/// A pending email verification. Key: `VERIFYTOKEN#<sha256 hex of the
/// token>` / `CLAIM`. Names the address it was mailed to: it verifies the
/// user only while that is still the user's email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyTokenRecord {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    /// The lowercase address the link was sent to.
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Epoch seconds; reads treat the item as gone from then on.
    pub expires_at: i64,
}

/// An invitation to join a tenant, pending until accepted or revoked.
/// Key: `TENANT#<tenant>` / `INVITATION#<id>`. Stays after it expires (no
/// TTL), so admins see it and can resend or revoke it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Lowercase; claimed among the tenant's invitations (`InviteeClaim`).
    pub email: String,
    #[serde(default, with = "blank")]
    pub first_name: String,
    #[serde(default, with = "blank")]
    pub last_name: String,
    pub role_ids: Vec<Uuid>,
    pub team_ids: Vec<Uuid>,
    pub invited_by: Uuid,
    /// SHA-256 hex of the one token that accepts it: the last one mailed.
    pub token_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    /// Epoch seconds: the current token's end. Not a TTL.
    pub expires_at: i64,
    pub version: u64,
}

impl Entity for InvitationRecord {
    const ENTITY: &'static str = "invitation";
    type Kind = kind::Invitation;
}

/// Claims an email among a tenant's pending invitations. Key:
/// `TENANT#<tenant>` / `INVITEE#<lowercase email>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteeClaim {
    pub invitation_id: Uuid,
}

impl Entity for InviteeClaim {
    const ENTITY: &'static str = "invitee";
    type Kind = kind::Invitee;
}

/// An invitation's token. Key: `INVITETOKEN#<sha256 hex of the token>` /
/// `CLAIM`; platform-wide, since whoever accepts is not signed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteTokenRecord {
    pub tenant_id: Uuid,
    pub invitation_id: Uuid,
    /// The invited address (lowercase).
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Epoch seconds; reads treat the item as gone from then on.
    pub expires_at: i64,
}

impl Entity for InviteTokenRecord {
    const ENTITY: &'static str = "invite_token";
    type Kind = kind::InviteToken;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

impl Entity for VerifyTokenRecord {
    const ENTITY: &'static str = "verify_token";
    type Kind = kind::VerifyToken;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

impl Entity for ResetTokenRecord {
    const ENTITY: &'static str = "reset_token";
    type Kind = kind::ResetToken;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

impl Entity for TokenFamilyRecord {
    const ENTITY: &'static str = "token_family";
    type Kind = kind::TokenFamily;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

/// Claims a role name within a tenant. Key: `TENANT#<tenant>` /
/// `ROLENAME#<lowercased name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleNameClaim {
    pub role_id: Uuid,
}

impl Entity for RoleNameClaim {
    const ENTITY: &'static str = "role_name";
    type Kind = kind::RoleName;
}

/// One append-only audit-log entry. Key: `TENANT#<tenant>` /
/// `AUDIT#<time>#<id>`; written in the same transaction as the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor_id: Uuid,
    pub actor_email: String,
    /// A platform super admin acted inside this tenant.
    pub via_super_admin: bool,
    /// `<entity>.<verb>`, e.g. `role.update`.
    pub action: String,
    /// The kind of record changed, e.g. `role`.
    pub entity_type: String,
    pub entity_id: String,
    /// Changed fields: `{"name": {"before": "A", "after": "B"}}`.
    #[serde(with = "json_text")]
    pub changes: Value,
    /// Empty for the platform's own changes (`audit::By::System`), which
    /// no request made; stored as NULL then (DynamoDB Local refuses "").
    #[serde(default, with = "blank")]
    pub request_id: String,
}

impl Entity for AuditRecord {
    const ENTITY: &'static str = "audit";
    type Kind = kind::AuditEntry;
}

/// Counters checked against the plan's limits. Key: `TENANT#<tenant>` /
/// `USAGE`; changed only by `ADD` inside the transactions that create or
/// (de)activate users.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Active users.
    #[serde(default)]
    pub users: u32,
    /// Active users holding the system Admin role; never brought below 1.
    #[serde(default)]
    pub admins: u32,
    /// CRM leads, against the plan's `max_leads`.
    #[serde(default)]
    pub leads: u32,
    #[serde(default)]
    pub version: u64,
}

impl Entity for UsageRecord {
    const ENTITY: &'static str = "usage";
    type Kind = kind::Usage;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_user_read_by_its_parts_attributes_is_whole() {
        // Every field set, so each one is written.
        let user = UserRecord {
            id: Uuid::from_u128(1),
            tenant_id: Uuid::from_u128(2),
            email: "a@example.com".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            phone: Some("+15550100".into()),
            role_ids: vec![Uuid::from_u128(3)],
            team_ids: vec![Uuid::from_u128(4)],
            is_active: true,
            is_super_admin: false,
            timezone: "UTC".into(),
            preferences: serde_json::json!({"theme": "dark"}),
            profile_picture: Some("https://example.com/a.png".into()),
            sessions_valid_after: Some(datetime!(2026-01-02 00:00 UTC)),
            email_verified: true,
            date_joined: datetime!(2026-01-01 00:00 UTC),
            updated_at: datetime!(2026-01-03 00:00 UTC),
            version: 7,
        };
        let item: std::collections::HashMap<String, serde_dynamo::AttributeValue> =
            serde_dynamo::to_item(&user).expect("a user serialises");
        let mut written: Vec<&str> = item.keys().map(String::as_str).collect();
        let mut named = <UserRecord as Part>::ATTRIBUTES.to_vec();
        written.sort_unstable();
        named.sort_unstable();
        assert_eq!(named, written);
    }

    #[test]
    fn the_plan_price_comes_from_the_plan_record() {
        let record = PlanRecord {
            id: Uuid::from_u128(1),
            name: "Pro".into(),
            slug: "pro".into(),
            description: String::new(),
            price_monthly: Decimal::new(1000, 2),
            price_yearly: Decimal::new(10000, 2),
            currency: "USD".into(),
            max_users: None,
            max_leads: None,
            storage_gb: None,
            included_modules: Vec::new(),
            features: Vec::new(),
            is_trial: false,
            trial_days: 0,
            is_active: true,
            sort_order: 0,
            created_at: datetime!(2026-01-01 00:00 UTC),
            updated_at: datetime!(2026-01-01 00:00 UTC),
            version: 1,
        };
        let price = crate::billing::PlanPrice::from(&record);
        assert_eq!(price.amount(BillingCycle::Monthly), Decimal::new(1000, 2));
        assert_eq!(price.amount(BillingCycle::Yearly), Decimal::new(10000, 2));
        assert_eq!(price.currency, "USD");
    }
}
