//! A lead as the API shows it.

use crate::records::{LeadRecord, LeadStatus};
use serde::Serialize;
use shared::money::format_money;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeadView {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub status: LeadStatus,
    /// Decimal string with two places, e.g. `"1500.00"`.
    #[schema(example = "1500.00")]
    pub value: String,
    /// ISO 4217, e.g. `INR`.
    pub currency: String,
    pub source: Option<String>,
    pub notes: Option<String>,
    pub tags: Vec<String>,
    /// The user who owns the lead (the `own` scope).
    pub owner_id: Uuid,
    pub owner_email: String,
    /// The team the lead belongs to (the `team` scope), if any.
    pub team_id: Option<Uuid>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<LeadRecord> for LeadView {
    fn from(l: LeadRecord) -> Self {
        Self {
            id: l.id,
            name: l.name,
            email: l.email,
            phone: l.phone,
            company: l.company,
            status: l.status,
            value: format_money(l.value),
            currency: l.currency,
            source: l.source,
            notes: l.notes,
            tags: l.tags,
            owner_id: l.owner_id,
            owner_email: l.owner_email,
            team_id: l.team_id,
            created_by: l.created_by,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}
