//! The audit log's entries as the API shows them.

use serde::Serialize;
use serde_json::Value;
use shared::records::AuditRecord;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// One change, as the audit log shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor_id: Uuid,
    pub actor_email: String,
    /// A platform super admin acted inside this tenant.
    pub via_super_admin: bool,
    /// `<entity>.<verb>`, e.g. `role.update`.
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    /// Changed fields: `{"name": {"before": "A", "after": "B"}}`.
    #[schema(value_type = Object)]
    pub changes: Value,
    pub request_id: String,
}

impl From<AuditRecord> for AuditEntryView {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            actor_email: r.actor_email,
            via_super_admin: r.via_super_admin,
            action: r.action,
            entity: r.entity_type,
            entity_id: r.entity_id,
            changes: r.changes,
            request_id: r.request_id,
        }
    }
}
