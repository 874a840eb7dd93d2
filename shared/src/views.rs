//! JSON shapes served by several functions, built from records.

use crate::permissions::Module;
use crate::records::{RoleRecord, TenantRecord, UserRecord};
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
    pub fn new(user: &UserRecord, tenant: &TenantRecord, roles: &[RoleRecord]) -> Self {
        let roles: Vec<RoleRef> = user
            .role_ids
            .iter()
            .filter_map(|id| roles.iter().find(|r| r.id == *id))
            .map(|r| RoleRef {
                id: r.id,
                name: r.name.clone(),
            })
            .collect();
        Self {
            id: user.id,
            email: user.email.clone(),
            phone: user.phone.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            tenant: tenant.id,
            tenant_name: tenant.name.clone(),
            role_ids: roles.iter().map(|r| r.id).collect(),
            roles,
            team_ids: user.team_ids.clone(),
            is_super_admin: user.is_super_admin,
            is_active: user.is_active,
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
