//! What only platform super admins send about a tenant: where its items
//! live (`dedicated_table`; they see it in `view::AdminTenantView`). Tenant
//! admins never see or set it.

use shared::http::{ApiError, ValidationErrors};
use shared::store::{DedicatedTable, DedicatedTableError, Store, TenantScope};

/// The request field naming the table.
pub const FIELD: &str = "dedicated_table";

shared::new_tenant_request! {
    /// A new tenant as a super admin creates it: the registration body, and
    /// optionally a dedicated table.
    pub struct CreateTenantRequest {
        /// Keep the tenant's items in this DynamoDB table instead of the main
        /// one. Named `<main table>-tenant-<suffix>`; it must exist with the main
        /// table's keys and indexes (`devctl create-table --table <name>`).
        /// Fixed for the tenant's life.
        #[serde(default)]
        pub dedicated_table: Option<String>,
    }
}

crate::profile::tenant_body! {
    put
    /// `PUT /api/tenants/{id}/`: the tenant fields, plus `dedicated_table`,
    /// which may only repeat the current one.
    pub struct AdminTenantInput {
        /// Omitted, or the tenant's current table (null: the main table):
        /// moving a tenant between tables is an offline migration.
        #[serde(default, deserialize_with = "shared::http::nullable")]
        #[schema(value_type = Option<String>)]
        pub dedicated_table: Option<Option<String>>,
    }
}

crate::profile::tenant_body! {
    patch
    /// `PATCH /api/tenants/{id}/`.
    pub struct AdminTenantPatch {
        /// Omitted, or the tenant's current table (null: the main table):
        /// moving a tenant between tables is an offline migration.
        #[serde(default, deserialize_with = "shared::http::nullable")]
        #[schema(value_type = Option<String>)]
        pub dedicated_table: Option<Option<String>>,
    }
}

/// Refuses a change of an existing tenant's table: its items would have to
/// be copied, which is an offline migration, not an API call.
pub fn ensure_unchanged(
    scope: &TenantScope,
    requested: Option<Option<String>>,
) -> Result<(), ApiError> {
    match requested {
        Some(table)
            if table.as_deref().map(str::trim).filter(|t| !t.is_empty()) != scope.table() =>
        {
            Err(ValidationErrors::field(
                FIELD,
                "Moving an existing tenant between tables is an offline migration.",
            )
            .into())
        }
        _ => Ok(()),
    }
}

/// Checks a requested table for a new tenant; `None` and a blank name mean
/// the main table. A bad name or a missing table is a 400 on the field.
pub async fn check(
    store: &Store,
    requested: Option<&str>,
) -> Result<Option<DedicatedTable>, ApiError> {
    let Some(name) = requested.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    match store.dedicated_table(name).await {
        Ok(table) => Ok(Some(table)),
        Err(DedicatedTableError::Store(e)) => Err(e.into()),
        Err(e) => Err(ValidationErrors::field(FIELD, e.message()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_may_only_be_repeated() {
        let main = shared::store::TenantScope::for_new_tenant();
        assert!(ensure_unchanged(&main, None).is_ok());
        assert!(ensure_unchanged(&main, Some(None)).is_ok());
        let e = ensure_unchanged(&main, Some(Some("main-tenant-x".into()))).unwrap_err();
        assert_eq!(
            e.body(),
            json!({"dedicated_table": ["Moving an existing tenant between tables is an offline migration."]})
        );
    }

    #[test]
    fn a_create_body_is_the_registration_body_and_a_table() {
        let body = json!({
            "tenant_name": "Acme",
            "tenant_slug": "acme",
            "admin_email": "ada@acme.io",
            "admin_password": "correct horse",
            "admin_password_confirm": "correct horse",
            "admin_first_name": "Ada",
            "dedicated_table": "main-tenant-acme",
        });
        let (tenant, (table,)) = serde_json::from_value::<CreateTenantRequest>(body.clone())
            .unwrap()
            .split();
        assert_eq!(tenant.tenant_slug, "acme");
        assert_eq!(table.as_deref(), Some("main-tenant-acme"));
        let mut extra = body;
        extra["is_active"] = json!(true);
        assert!(serde_json::from_value::<CreateTenantRequest>(extra).is_err());
    }

    #[test]
    fn patch_bodies_tell_absent_from_null() {
        let (_, (absent,)) = serde_json::from_value::<AdminTenantPatch>(json!({"name": "x"}))
            .unwrap()
            .split();
        assert_eq!(absent, None);
        let (_, (null,)) =
            serde_json::from_value::<AdminTenantPatch>(json!({"dedicated_table": null}))
                .unwrap()
                .split();
        assert_eq!(null, Some(None));
        assert!(serde_json::from_value::<AdminTenantPatch>(json!({"is_active": false})).is_err());
    }
}
