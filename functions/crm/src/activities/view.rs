//! An activity as the API shows it.

use crate::records::{ActivityRecord, ActivityType};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityView {
    pub id: Uuid,
    /// The lead it belongs to; its owner and team decide who sees it.
    pub lead_id: Uuid,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: ActivityType,
    pub summary: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<OffsetDateTime>,
    pub done: bool,
    /// Who carries it out.
    pub owner_id: Uuid,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<ActivityRecord> for ActivityView {
    fn from(a: ActivityRecord) -> Self {
        Self {
            id: a.id,
            lead_id: a.lead_id,
            kind: a.kind,
            summary: a.summary,
            due_at: a.due_at,
            done: a.done,
            owner_id: a.owner_id,
            created_by: a.created_by,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}
