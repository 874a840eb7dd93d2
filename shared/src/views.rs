//! JSON shapes served by several functions, built from records. A shape
//! only one function serves lives in that function's `view.rs`. Also the
//! read that names users' tenant and roles in one query ([`TenantNames`]).

use crate::keys;
use crate::money::format_money;
use crate::permissions::Module;
use crate::records::{PlanRecord, RoleRecord, TenantRecord, UserRecord};
use crate::store::{PageRequest, Part, StoreError, TenantStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A role as listed on a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoleRef {
    pub id: Uuid,
    pub name: String,
}

/// A role's id and name are a part of its item.
impl Part for RoleRef {
    type Of = RoleRecord;
    const ATTRIBUTES: &'static [&'static str] = &["id", "name"];
}

/// What a user's view shows of its tenant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TenantName {
    pub id: Uuid,
    pub name: String,
}

impl Part for TenantName {
    type Of = TenantRecord;
    const ATTRIBUTES: &'static [&'static str] = &["id", "name"];
}

/// What a user's view shows of a tenant.
pub trait NamedTenant {
    fn tenant_id(&self) -> Uuid;
    fn tenant_name(&self) -> &str;
}

impl NamedTenant for TenantRecord {
    fn tenant_id(&self) -> Uuid {
        self.id
    }
    fn tenant_name(&self) -> &str {
        &self.name
    }
}

impl NamedTenant for TenantName {
    fn tenant_id(&self) -> Uuid {
        self.id
    }
    fn tenant_name(&self) -> &str {
        &self.name
    }
}

/// What a user's view shows of a role.
pub trait NamedRole {
    fn role_id(&self) -> Uuid;
    fn role_name(&self) -> &str;
}

impl NamedRole for RoleRecord {
    fn role_id(&self) -> Uuid {
        self.id
    }
    fn role_name(&self) -> &str {
        &self.name
    }
}

impl NamedRole for RoleRef {
    fn role_id(&self) -> Uuid {
        self.id
    }
    fn role_name(&self) -> &str {
        &self.name
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub phone: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// The tenant's id.
    pub tenant: Uuid,
    pub tenant_name: String,
    pub roles: Vec<RoleRef>,
    /// The ids of `roles`, as PUT and PATCH take them.
    pub role_ids: Vec<Uuid>,
    /// Teams the user belongs to; they feed the `team` permission scope.
    pub team_ids: Vec<Uuid>,
    pub is_super_admin: bool,
    pub is_active: bool,
    /// Whether the user has proved they read mail sent to `email`.
    pub email_verified: bool,
    pub timezone: String,
    #[schema(value_type = Object)]
    pub preferences: Value,
    pub profile_picture: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub date_joined: OffsetDateTime,
}

impl UserView {
    /// `roles` may hold any roles of the tenant; the user's are picked out.
    pub fn new<R: NamedRole>(user: &UserRecord, tenant: &impl NamedTenant, roles: &[R]) -> Self {
        let roles: Vec<RoleRef> = user
            .role_ids
            .iter()
            .filter_map(|id| roles.iter().find(|r| r.role_id() == *id))
            .map(|r| RoleRef {
                id: r.role_id(),
                name: r.role_name().to_owned(),
            })
            .collect();
        Self {
            id: user.id,
            email: user.email.clone(),
            phone: user.phone.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            tenant: tenant.tenant_id(),
            tenant_name: tenant.tenant_name().to_owned(),
            role_ids: roles.iter().map(|r| r.id).collect(),
            roles,
            team_ids: user.team_ids.clone(),
            is_super_admin: user.is_super_admin,
            is_active: user.is_active,
            email_verified: user.email_verified,
            timezone: user.timezone.clone(),
            preferences: user.preferences.clone(),
            profile_picture: user.profile_picture.clone(),
            date_joined: user.date_joined,
        }
    }
}

/// A tenant as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TenantView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub domain: Option<String>,
    pub enabled_modules: Vec<Module>,
    #[schema(value_type = Object)]
    pub settings: Value,
    pub is_active: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub trial_ends_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<&TenantRecord> for TenantView {
    fn from(t: &TenantRecord) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            slug: t.slug.clone(),
            domain: t.domain.clone(),
            enabled_modules: t.enabled_modules.clone(),
            settings: t.settings.clone(),
            is_active: t.is_active,
            trial_ends_at: t.trial_ends_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A plan as the API shows it. Money is an exact decimal string with two
/// decimals; a null limit means unlimited.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: String,
    /// Exact decimal, two decimals, e.g. `"49.00"`.
    #[schema(example = "49.00")]
    pub price_monthly: String,
    /// Exact decimal, two decimals, e.g. `"490.00"`.
    #[schema(example = "490.00")]
    pub price_yearly: String,
    /// ISO 4217 code.
    #[schema(example = "USD")]
    pub currency: String,
    /// Null: unlimited.
    pub max_users: Option<u32>,
    /// Null: unlimited.
    pub max_leads: Option<u32>,
    /// Null: unlimited.
    pub storage_gb: Option<u32>,
    #[schema(value_type = Vec<String>, example = json!(["crm", "meetings"]))]
    pub included_modules: Vec<Module>,
    pub features: Vec<String>,
    pub is_trial: bool,
    pub trial_days: u32,
    pub is_active: bool,
    /// Display order, ascending.
    pub sort_order: i32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<PlanRecord> for PlanView {
    fn from(p: PlanRecord) -> Self {
        Self {
            id: p.id,
            name: p.name,
            slug: p.slug,
            description: p.description,
            price_monthly: format_money(p.price_monthly),
            price_yearly: format_money(p.price_yearly),
            currency: p.currency,
            max_users: p.max_users,
            max_leads: p.max_leads,
            storage_gb: p.storage_gb,
            included_modules: p.included_modules,
            features: p.features,
            is_trial: p.is_trial,
            trial_days: p.trial_days,
            is_active: p.is_active,
            sort_order: p.sort_order,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// What names users in a view: the tenant's name and its roles' names,
/// read in one query concurrently with the users' own read, so a view of
/// users costs one round trip. The profile and the roles sort next to each
/// other ([`keys::profile_through_roles`]), and a page holds the profile,
/// the revocation record (keys only) and up to [`ROLES_PAGE`] roles. A
/// tenant rarely has more roles than that; then [`TenantRoles::naming`]
/// reads the few it lacks. A query is charged by the bytes it reads, a
/// batch at least 4 KB per item: for a tenant with a few dozen roles,
/// reading them all costs about what a batch of the users' roles would;
/// more roles cost more, up to the page.
#[derive(Debug)]
pub struct TenantNames {
    /// `None`: the tenant has no profile.
    pub tenant: Option<TenantName>,
    pub roles: TenantRoles,
}

/// The tenant's roles, by name only: a role's permissions are most of its
/// item, and views show none of them.
#[derive(Debug)]
pub struct TenantRoles {
    roles: Vec<RoleRef>,
    /// The page held every role of the tenant.
    complete: bool,
}

/// How many roles [`TenantNames::read`] asks for.
pub const ROLES_PAGE: u16 = 100;

/// What [`NamedItem`] reads besides the keys: both a [`TenantName`] and
/// a [`RoleRef`] (tested).
const NAMED_ITEM: &[&str] = &["id", "name"];

/// One item of [`TenantNames`]' query: the profile, a role, or another
/// kind in the range (the revocation record), told apart by sort key.
#[derive(Deserialize)]
struct NamedItem {
    #[serde(rename = "SK")]
    sk: String,
    id: Option<Uuid>,
    name: Option<String>,
}

impl TenantNames {
    pub async fn read(store: &TenantStore<'_>) -> Result<Self, StoreError> {
        // The profile and the revocation record besides the roles.
        let request = PageRequest::new(ROLES_PAGE + 2, None, "tenant-names").only(NAMED_ITEM);
        let page = store
            .query_range::<NamedItem>(&keys::profile_through_roles(), &request)
            .await?;
        let profile = keys::tenant_profile();
        let roles_prefix = keys::roles();
        let mut tenant = None;
        let mut roles = Vec::with_capacity(page.items.len());
        for item in page.items {
            let is_profile = item.sk == profile.as_str();
            if !is_profile && !item.sk.starts_with(roles_prefix.as_str()) {
                continue;
            }
            let (Some(id), Some(name)) = (item.id, item.name) else {
                return Err(StoreError::Backend(
                    format!("{} lacks its id or name", item.sk).into(),
                ));
            };
            if is_profile {
                tenant = Some(TenantName { id, name });
            } else {
                roles.push(RoleRef { id, name });
            }
        }
        Ok(Self {
            tenant,
            roles: TenantRoles {
                roles,
                complete: page.next.is_none(),
            },
        })
    }
}

impl TenantRoles {
    /// The roles among `role_ids` that exist: those the page lacks are
    /// read (only when the page was not all of them).
    pub async fn naming(
        mut self,
        store: &TenantStore<'_>,
        role_ids: impl IntoIterator<Item = Uuid>,
    ) -> Result<Vec<RoleRef>, StoreError> {
        if self.complete {
            return Ok(self.roles);
        }
        let mut missing: Vec<Uuid> = role_ids
            .into_iter()
            .filter(|id| !self.roles.iter().any(|r| r.id == *id))
            .collect();
        missing.sort();
        missing.dedup();
        // A batch read takes at most 100 keys.
        for chunk in missing.chunks(100) {
            let sks: Vec<_> = chunk.iter().map(|id| keys::role(*id)).collect();
            let mut fetched = store.get_many(&sks).await?;
            for sk in &sks {
                if let Some(role) = fetched.take::<RoleRecord>(sk)? {
                    self.roles.push(RoleRef {
                        id: role.id,
                        name: role.name,
                    });
                }
            }
        }
        Ok(self.roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Part;

    #[test]
    fn the_names_query_reads_what_a_tenant_and_a_role_need() {
        for part in [TenantName::ATTRIBUTES, RoleRef::ATTRIBUTES] {
            assert!(part.iter().all(|a| NAMED_ITEM.contains(a)), "{part:?}");
        }
    }
}
