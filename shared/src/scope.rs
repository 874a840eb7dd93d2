//! Which tenant a call acts for, and in which table. Imports nothing of the
//! crate: `keys`, `records` and `store` all build on it.

use std::sync::Arc;
use uuid::Uuid;

/// Proof that the holder may act inside one tenant's partition, and where
/// that partition lives.
///
/// There is no public constructor taking an id, save the operator's import
/// ([`TenantScope::for_imported_tenant`], which no function calls): a scope
/// comes from verified token claims (`auth::Principal::scope`), from the
/// explicit super-admin path (`auth::SuperAdmin::scope_for`), from a
/// verified password (`auth::sign_in`), or is minted for a tenant that is
/// being created (`TenantScope::for_new_tenant`). Every tenant-owned read or write in
/// [`crate::store`] takes one, so isolation holds by construction.
///
/// The scope also names the tenant's table: `None` is the main table, a
/// name is the tenant's dedicated table (see `docs/data-model.md`). The
/// store reads and writes the tenant's items there; platform-wide items
/// always stay in the main table. A scope for a tenant born in a dedicated
/// table comes from `TenantScope::for_new_tenant_in` (in `store`, which
/// checks the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: Uuid,
    table: Option<Arc<str>>,
}

impl TenantScope {
    /// A tenant whose items live in the main table.
    #[cfg(test)]
    pub(crate) fn new(tenant_id: Uuid) -> Self {
        Self {
            tenant_id,
            table: None,
        }
    }

    /// A tenant whose items live in `table` (`None`: the main table), as
    /// its routing item or a signed token says.
    pub(crate) fn in_table(tenant_id: Uuid, table: Option<Arc<str>>) -> Self {
        Self { tenant_id, table }
    }

    /// A scope for a brand-new tenant with a fresh random id. It cannot name
    /// an existing tenant, so handing it out widens nobody's reach.
    pub fn for_new_tenant() -> Self {
        Self {
            tenant_id: Uuid::new_v4(),
            table: None,
        }
    }

    /// A tenant brought in from another system with its id kept (the
    /// operator's `devctl import-django`), in the main table. Only for
    /// operator tools that already hold the whole table's credentials.
    pub fn for_imported_tenant(tenant_id: Uuid) -> Self {
        Self {
            tenant_id,
            table: None,
        }
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// The tenant's dedicated table, or `None` for the main table.
    pub fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }
}
