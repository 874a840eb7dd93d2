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
    /// The tenant's dedicated table, if it has one (see
    /// `docs/data-model.md`); omitted for tenants in the main table, so their
    /// tokens do not grow. The scope a token grants is built from it.
    #[serde(rename = "tbl", default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    pub is_super_admin: bool,
    /// The tenant's plan when the token was issued, so that a view of the
    /// subscription reads it with the subscription in one call (a stale one
    /// costs a second read, never a wrong answer). Omitted when the tenant
    /// has none, in refresh tokens and in old tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Uuid>,
    /// Whether the user had verified their email when the token was
    /// issued. Tokens issued before the claim existed read as `false`.
    #[serde(default)]
    pub email_verified: bool,
    /// Effective grants, flattened: `{"crm.leads.view": "team"}`.
    pub permissions: FlatPermissions,
    pub enabled_modules: Vec<String>,
    /// Teams the user belongs to; the `team` scope checks against them.
    #[serde(default)]
    pub team_ids: Vec<Uuid>,
    /// The roles the permissions came from, so that a change to one of
    /// them revokes the token (see `crate::revocation`). Older tokens lack it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Uuid>,
    pub token_type: TokenType,
    pub jti: Uuid,
    /// The login (refresh-token family) this token descends from.
    pub fam: Uuid,
    pub iat: i64,
    /// `iat` in milliseconds: a token issued in the same second as a
    /// revocation, but after it, stays valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_ms: Option<i64>,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

impl Claims {
    /// When the token was issued, in epoch milliseconds; tokens without
    /// `iat_ms` count from the start of their `iat` second.
    pub fn issued_at_ms(&self) -> i64 {
        self.iat_ms.unwrap_or_else(|| self.iat.saturating_mul(1000))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(table: Option<&str>) -> Claims {
        Claims {
            sub: Uuid::from_u128(1),
            email: "a@b.io".into(),
            tenant_id: Uuid::from_u128(2),
            tenant_slug: "acme".into(),
            table: table.map(str::to_owned),
            is_super_admin: false,
            plan: None,
            email_verified: false,
            permissions: FlatPermissions::default(),
            enabled_modules: vec![],
            team_ids: vec![],
            roles: vec![],
            token_type: TokenType::Access,
            jti: Uuid::from_u128(3),
            fam: Uuid::from_u128(4),
            iat: 0,
            iat_ms: None,
            nbf: 0,
            exp: 60,
            iss: "i".into(),
            aud: "a".into(),
        }
    }

    #[test]
    fn the_table_claim_is_omitted_for_the_main_table() {
        let plain = serde_json::to_value(claims(None)).unwrap();
        assert!(plain.get("tbl").is_none(), "{plain}");
        // Tokens issued before the claim existed still read.
        let back: Claims = serde_json::from_value(plain.clone()).unwrap();
        assert_eq!(back.table, None);
        assert!(plain.get("roles").is_none() && plain.get("iat_ms").is_none());
        assert_eq!(back.issued_at_ms(), 0);

        let pinned = serde_json::to_value(claims(Some("main-tenant-x"))).unwrap();
        assert_eq!(pinned["tbl"], json!("main-tenant-x"));
        assert_eq!(
            serde_json::from_value::<Claims>(pinned)
                .unwrap()
                .table
                .as_deref(),
            Some("main-tenant-x")
        );
    }

    #[test]
    fn tokens_issued_before_email_verified_read_as_unverified() {
        let mut value = serde_json::to_value(Claims {
            email_verified: true,
            ..claims(None)
        })
        .unwrap();
        assert_eq!(value["email_verified"], json!(true));
        value.as_object_mut().unwrap().remove("email_verified");
        let back: Claims = serde_json::from_value(value).unwrap();
        assert!(!back.email_verified);
    }
}
