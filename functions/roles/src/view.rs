use serde::Serialize;
use shared::permissions::PermissionSet;
use shared::records::RoleRecord;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A role as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub id: Uuid,
    /// The tenant's id.
    pub tenant: Uuid,
    pub name: String,
    pub description: String,
    /// Nested grants: `{"crm": {"leads": {"view": "team", "create": true}}}`.
    pub permissions: PermissionSet,
    pub is_active: bool,
    /// The tenant's Admin role: cannot be deleted, renamed or reduced.
    pub is_system: bool,
    pub created_by: Option<Uuid>,
    pub created_by_email: Option<String>,
    pub member_count: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<RoleRecord> for RoleView {
    fn from(r: RoleRecord) -> Self {
        Self {
            id: r.id,
            tenant: r.tenant_id,
            name: r.name,
            description: r.description,
            permissions: r.permissions,
            is_active: r.is_active,
            is_system: r.is_system,
            created_by: r.created_by,
            created_by_email: r.created_by_email,
            member_count: r.member_count,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}
