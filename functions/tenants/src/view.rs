//! The tenant as the API shows it beyond `shared::views::TenantView`: the
//! summary for members without `administration.tenant.view`, and the super
//! admins' view with the tenant's table.

use serde::Serialize;
use shared::permissions::Module;
use shared::records::TenantRecord;
use shared::store::TenantScope;
use shared::views::TenantView;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// The organisation as a member without `administration.tenant.view` sees
/// it: no `settings`, no `domain`. Closed (`additionalProperties: false`),
/// so that a full `TenantView` never also matches it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSummaryView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub enabled_modules: Vec<Module>,
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

impl From<&TenantRecord> for TenantSummaryView {
    fn from(t: &TenantRecord) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            slug: t.slug.clone(),
            enabled_modules: t.enabled_modules.clone(),
            is_active: t.is_active,
            trial_ends_at: t.trial_ends_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// `GET /api/tenants/me/`: the full view with `administration.tenant.view`,
/// the summary without.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TenantMeView {
    Full(TenantView),
    Summary(TenantSummaryView),
}

/// A tenant as platform super admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTenantView {
    #[serde(flatten)]
    pub tenant: TenantView,
    /// The tenant's own DynamoDB table; null when its items are in the main
    /// table.
    pub dedicated_table: Option<String>,
}

impl AdminTenantView {
    pub fn new(tenant: TenantView, scope: &TenantScope) -> Self {
        Self {
            tenant,
            dedicated_table: scope.table().map(str::to_owned),
        }
    }
}
