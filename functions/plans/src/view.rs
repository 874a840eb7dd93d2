use crate::money::format_money;
use serde::Serialize;
use shared::permissions::Module;
use shared::records::PlanRecord;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

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
