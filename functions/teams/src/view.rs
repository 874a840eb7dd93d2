use serde::Serialize;
use shared::records::TeamRecord;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A team as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub id: Uuid,
    /// The tenant's id.
    pub tenant: Uuid,
    pub name: String,
    pub description: String,
    /// The user who leads the team, if any.
    pub lead_id: Option<Uuid>,
    /// Users whose `team_ids` hold this team.
    pub member_count: u32,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<TeamRecord> for TeamView {
    fn from(t: TeamRecord) -> Self {
        Self {
            id: t.id,
            tenant: t.tenant_id,
            name: t.name,
            description: t.description,
            lead_id: t.lead_id,
            member_count: t.member_count,
            created_by: t.created_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}
