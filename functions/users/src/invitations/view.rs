use serde::Serialize;
use shared::records::InvitationRecord;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A pending invitation. The link's token is never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Roles the user will hold; roles deleted since are left out at acceptance.
    pub role_ids: Vec<Uuid>,
    /// Teams the user will join; teams deleted since are left out at acceptance.
    pub team_ids: Vec<Uuid>,
    /// The user (or super admin) who sent it.
    pub invited_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When the current link was mailed (the invitation, or its last resend).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub sent_at: OffsetDateTime,
    /// When the current link stops working.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    /// The link has expired: resend to mail a new one, or revoke.
    pub expired: bool,
}

impl InvitationView {
    pub fn new(record: &InvitationRecord, now: OffsetDateTime) -> Self {
        let expires_at = OffsetDateTime::from_unix_timestamp(record.expires_at)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self {
            id: record.id,
            email: record.email.clone(),
            first_name: record.first_name.clone(),
            last_name: record.last_name.clone(),
            role_ids: record.role_ids.clone(),
            team_ids: record.team_ids.clone(),
            invited_by: record.invited_by,
            created_at: record.created_at,
            sent_at: record.sent_at,
            expires_at,
            expired: record.expires_at <= now.unix_timestamp(),
        }
    }
}
