use crate::permissions::{FlatPermissions, Subject};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// The claims of every token the platform issues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: Uuid,
    pub email: String,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub is_super_admin: bool,
    /// Effective grants, flattened: `{"crm.leads.view": "team"}`.
    pub permissions: FlatPermissions,
    pub enabled_modules: Vec<String>,
    /// Teams the user belongs to; the `team` scope checks against them.
    #[serde(default)]
    pub team_ids: Vec<Uuid>,
    pub token_type: TokenType,
    pub jti: Uuid,
    /// The login (refresh-token family) this token descends from.
    pub fam: Uuid,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

impl Subject for Claims {
    fn user_id(&self) -> Uuid {
        self.sub
    }
    fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }
    fn team_ids(&self) -> &[Uuid] {
        &self.team_ids
    }
    fn permissions(&self) -> &FlatPermissions {
        &self.permissions
    }
}
