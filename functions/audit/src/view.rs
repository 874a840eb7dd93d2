//! The audit log's entries as the API shows them.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use shared::entity::codec::{blank, json_text};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

// Read straight from the stored entry (`records::AuditRecord`): `changes`
// passes through as the stored text, with no tree built (a quarter of the
// list's time, docs/performance.md).
/// One change, as the audit log shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
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
    #[serde(rename(deserialize = "entity_type"))]
    pub entity: String,
    pub entity_id: String,
    /// Changed fields: `{"name": {"before": "A", "after": "B"}}`.
    #[serde(deserialize_with = "json_text::raw::deserialize")]
    #[schema(value_type = Object)]
    pub changes: Box<RawValue>,
    // Absent or NULL when no request made the change (`audit::By::System`).
    #[serde(default, deserialize_with = "blank::deserialize")]
    #[schema(required = true)]
    pub request_id: String,
}
