//! Dedicated tables: a tenant may keep its items in a table of its own.
//!
//! The tenant's [`TenantScope`] names the table, and the store reads and
//! writes the tenant's items there with the same code as for the main
//! table. Platform-wide items (uniqueness claims, credentials, plans,
//! throttles, and the routing item below) always stay in the main table.
//!
//! Where a tenant is known only by id — at login (from the credential) and
//! on the super-admin path — its routing item `TENANTROUTE#<id>` / `ROUTE`
//! in the main table names the table; no routing item means the main table.
//! Tokens carry the table afterwards (claim `tbl`), so ordinary requests
//! never read the routing item.

use super::error::classify;
use super::table::TableDefinition;
use super::{
    Fetched, Index, Page, PageRequest, PlatformStore, Store, StoreError, TenantFetched, TenantScope,
};
use crate::keys::{self, SortKey};
use crate::records::TenantRouteRecord;
use std::sync::Arc;
use uuid::Uuid;

/// Infix of every dedicated table's name: `<main table>-tenant-<suffix>`,
/// so IAM policies can grant all of them by one wildcard ARN.
pub const DEDICATED_INFIX: &str = "-tenant-";

/// The name of a table checked to exist with the main table's shape.
/// Obtained only from [`Store::dedicated_table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedicatedTable(Arc<str>);

impl DedicatedTable {
    pub fn name(&self) -> &str {
        &self.0
    }

    pub(crate) fn name_arc(&self) -> Arc<str> {
        self.0.clone()
    }
}

// The billing scheduler walks every table, so it needs their names.
impl PlatformStore<'_> {
    /// Every dedicated table, from the tenants' routing items (GSI3).
    pub async fn dedicated_tables(&self) -> Result<Vec<String>, StoreError> {
        let mut tables: Vec<String> = Vec::new();
        let mut cursor = None;
        loop {
            let page = PageRequest::new(1000, cursor, "dedicated-tables");
            let routes: Page<TenantRouteRecord> = self
                .store
                .query_page(
                    &self.store.table,
                    Index::Gsi3,
                    keys::dedicated_tables_index_pk(),
                    None,
                    &page,
                )
                .await?;
            tables.extend(routes.items.into_iter().map(|r| r.table));
            match routes.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        tables.sort();
        tables.dedup();
        Ok(tables)
    }
}

// Here rather than in `scope`, which sits below the store.
impl TenantScope {
    /// A brand-new tenant whose items are born in a dedicated table (a name
    /// already checked by [`crate::store::Store::dedicated_table`]).
    pub fn for_new_tenant_in(table: &DedicatedTable) -> Self {
        Self::in_table(Uuid::new_v4(), Some(table.name_arc()))
    }
}

/// Why a table cannot hold a tenant.
#[derive(Debug, thiserror::Error)]
pub enum DedicatedTableError {
    /// The name breaks DynamoDB's rules or the naming convention.
    #[error("{0}")]
    InvalidName(String),
    #[error("Table '{0}' does not exist.")]
    Missing(String),
    #[error("Table '{0}' is not active yet.")]
    NotActive(String),
    #[error("Table '{0}' does not have the main table's keys and indexes (create it with `devctl create-table --table {0}`).")]
    WrongShape(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DedicatedTableError {
    /// What the API says on the table-name field. A store failure is no
    /// fault of the name: callers answer it from the `StoreError` instead.
    pub fn message(&self) -> String {
        match self {
            Self::InvalidName(reason) => reason.clone(),
            Self::Missing(t) => format!("Table '{t}' does not exist."),
            Self::NotActive(t) => format!("Table '{t}' is not active yet."),
            Self::WrongShape(t) => format!(
                "Table '{t}' does not have the main table's keys and indexes (create it with `devctl create-table --table {t}`)."
            ),
            Self::Store(_) => "The table could not be checked.".to_owned(),
        }
    }
}

/// Checks a dedicated table's name: DynamoDB's rules (3–255 characters of
/// letters, digits, `_`, `-`, `.`) and the convention
/// `<main>-tenant-<suffix>`, the suffix being lowercase letters, digits and
/// hyphens, starting with a letter or digit.
pub fn check_dedicated_table_name(main: &str, name: &str) -> Result<(), String> {
    let convention = || {
        format!("Must be named '{main}{DEDICATED_INFIX}<suffix>' (suffix: lowercase letters, digits, hyphens).")
    };
    if name.len() < 3 || name.len() > 255 {
        return Err("A table name has 3 to 255 characters.".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err("A table name may contain only letters, digits, '_', '-' and '.'.".into());
    }
    let Some(suffix) = name
        .strip_prefix(main)
        .and_then(|rest| rest.strip_prefix(DEDICATED_INFIX))
    else {
        return Err(convention());
    };
    let first_ok = suffix
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !first_ok
        || !suffix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(convention());
    }
    Ok(())
}

impl Store {
    /// Checks that `name` may hold a tenant: it follows the naming
    /// convention, exists, is active and has exactly the main table's keys
    /// and indexes (two `DescribeTable` calls).
    pub async fn dedicated_table(&self, name: &str) -> Result<DedicatedTable, DedicatedTableError> {
        check_dedicated_table_name(&self.table, name).map_err(DedicatedTableError::InvalidName)?;
        let described = match self.client.describe_table().table_name(name).send().await {
            Ok(out) => out.table,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Err(DedicatedTableError::Missing(name.to_owned()))
            }
            Err(e) => return Err(classify(e).into()),
        };
        let Some(table) = described else {
            return Err(DedicatedTableError::Missing(name.to_owned()));
        };
        if table.table_status() != Some(&aws_sdk_dynamodb::types::TableStatus::Active) {
            return Err(DedicatedTableError::NotActive(name.to_owned()));
        }
        let main = self
            .client
            .describe_table()
            .table_name(self.table.as_ref())
            .send()
            .await
            .map_err(classify)?;
        let main = main
            .table
            .ok_or_else(|| StoreError::Backend("no description of the main table".into()))?;
        if TableDefinition::shape_of(&table) != TableDefinition::shape_of(&main) {
            return Err(DedicatedTableError::WrongShape(name.to_owned()));
        }
        Ok(DedicatedTable(name.into()))
    }

    /// The scope of a tenant known only by id, from its routing item (one
    /// `GetItem` on the main table). For the super-admin path.
    pub(crate) async fn route(&self, tenant_id: Uuid) -> Result<TenantScope, StoreError> {
        let key = keys::tenant_route(tenant_id);
        let route: Option<TenantRouteRecord> =
            self.get_item(&self.table, key.pk(), key.sk()).await?;
        Ok(scope_of(tenant_id, route))
    }

    /// Opens a tenant known only by id from a verified credential: reads
    /// its routing item together with `sks` from the main table in one
    /// batch; a tenant routed elsewhere has `sks` read again from its table.
    /// Tenants in the main table thus pay nothing extra.
    pub(crate) async fn open_tenant(
        &self,
        tenant_id: Uuid,
        sks: &[SortKey],
    ) -> Result<(TenantScope, TenantFetched<'static>), StoreError> {
        let main = TenantScope::in_table(tenant_id, None);
        let pk = keys::tenant_pk(&main);
        let route_key = keys::tenant_route(tenant_id);
        let mut wanted = vec![(route_key.pk().to_owned(), route_key.sk().to_owned())];
        wanted.extend(sks.iter().map(|sk| (pk.clone(), sk.as_str().to_owned())));
        let mut fetched = self.batch_get(&self.table, wanted, &[]).await?;
        let route: Option<TenantRouteRecord> = fetched.take_raw(route_key.pk(), route_key.sk())?;
        let (scope, fetched) = match route {
            None => (main, fetched),
            Some(route) => {
                let scope = scope_of(tenant_id, Some(route));
                let keys = sks
                    .iter()
                    .map(|sk| (pk.clone(), sk.as_str().to_owned()))
                    .collect();
                let fetched: Fetched = self.batch_get(self.table_of(&scope), keys, &[]).await?;
                (scope, fetched)
            }
        };
        Ok((
            scope,
            TenantFetched {
                pk,
                fetched,
                _scope: std::marker::PhantomData,
            },
        ))
    }
}

/// The scope a routing item (or its absence) gives a tenant.
pub(crate) fn scope_of(tenant_id: Uuid, route: Option<TenantRouteRecord>) -> TenantScope {
    TenantScope::in_table(tenant_id, route.map(|r| Arc::from(r.table)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_messages_match_the_log_wording_for_name_faults() {
        for e in [
            DedicatedTableError::InvalidName("Must be named 'x'.".into()),
            DedicatedTableError::Missing("t".into()),
            DedicatedTableError::NotActive("t".into()),
            DedicatedTableError::WrongShape("t".into()),
        ] {
            assert_eq!(e.message(), e.to_string());
        }
    }

    #[test]
    fn dedicated_table_names_follow_the_convention() {
        let main = "saas-platform-dev";
        assert!(check_dedicated_table_name(main, "saas-platform-dev-tenant-acme").is_ok());
        assert!(check_dedicated_table_name(main, "saas-platform-dev-tenant-acme-2").is_ok());
        for bad in [
            "saas-platform-dev",              // the main table itself
            "saas-platform-dev-tenant-",      // no suffix
            "saas-platform-dev-tenant-Acme",  // uppercase suffix
            "saas-platform-dev-tenant--x",    // suffix starts with a hyphen
            "saas-platform-prod-tenant-acme", // another stage's tables
            "other-tenant-acme",
            "saas-platform-dev-tenant-a/b", // not a DynamoDB name
            "ab",
        ] {
            assert!(check_dedicated_table_name(main, bad).is_err(), "{bad}");
        }
        let long = format!("{main}-tenant-{}", "a".repeat(300));
        assert!(check_dedicated_table_name(main, &long).is_err());
    }

    #[test]
    fn a_routing_item_names_the_table_and_its_absence_the_main_one() {
        let id = Uuid::from_u128(1);
        let route = TenantRouteRecord {
            tenant_id: id,
            table: "main-tenant-x".into(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(scope_of(id, None).table(), None);
        let scope = scope_of(id, Some(route));
        assert_eq!(
            (scope.tenant_id(), scope.table()),
            (id, Some("main-tenant-x"))
        );
    }
}
