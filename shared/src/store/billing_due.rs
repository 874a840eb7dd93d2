//! The billing scheduler's query: which subscriptions are due, by table.

use super::{Index, Page, PageRequest, PlatformStore, SkCondition, StoreError, TenantScope};
use crate::keys;
use crate::records::SubscriptionRecord;
use std::sync::Arc;

impl PlatformStore<'_> {
    /// Subscriptions in `table` (`None`: the main table) that the billing
    /// scheduler must look at by `until` (GSI3 `BILLINGDUE`), soonest
    /// first, each with the scope to act in. The index is eventually
    /// consistent: callers re-read each subscription before acting.
    pub async fn billing_due(
        &self,
        table: Option<&str>,
        until: time::OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<(TenantScope, SubscriptionRecord)>, StoreError> {
        let bound = keys::billing_due_until(until);
        let name = table.unwrap_or(&self.store.table);
        let due: Page<SubscriptionRecord> = self
            .store
            .query_page(
                name,
                Index::Gsi3,
                keys::billing_due_index_pk(),
                Some(SkCondition::AtMost(&bound)),
                page,
            )
            .await?;
        let table: Option<Arc<str>> = table.map(Arc::from);
        Ok(Page {
            items: due
                .items
                .into_iter()
                .map(|s| (TenantScope::in_table(s.tenant_id, table.clone()), s))
                .collect(),
            next: due.next,
            previous: due.previous,
        })
    }
}
