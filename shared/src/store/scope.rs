use uuid::Uuid;

/// Proof that the holder may act inside one tenant's partition.
///
/// There is no public constructor taking an id: a scope comes from verified
/// token claims (`auth::Principal::scope`), from the explicit super-admin
/// path (`auth::SuperAdmin::scope_for`), or is minted for a tenant that is
/// being created (`TenantScope::for_new_tenant`). Every tenant-owned read or
/// write in [`crate::store`] takes one, so isolation holds by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: Uuid,
}

impl TenantScope {
    pub(crate) fn new(tenant_id: Uuid) -> Self {
        Self { tenant_id }
    }

    /// A scope for a brand-new tenant with a fresh random id. It cannot name
    /// an existing tenant, so handing it out widens nobody's reach.
    pub fn for_new_tenant() -> Self {
        Self::new(Uuid::new_v4())
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }
}
