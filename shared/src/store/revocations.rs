//! Reading a tenant's revocation state (once per check interval per warm
//! process) and pruning stale cutoffs. The decision itself is pure, in
//! `crate::revocation`.

use super::{error, Store, StoreError, TenantScope};
use crate::keys;
use crate::records::{SubscriptionRecord, TenantRecord};
use crate::report::ErrorChain;
use crate::revocation::{epoch_ms, Entitlement, Settings, TenantState};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use uuid::Uuid;

/// Tenants remembered at once; past this the cache starts over (costing
/// one read per tenant), so a long-lived process cannot grow without bound.
const MAX_TENANTS: usize = 10_000;

/// Stale cutoffs removed by one prune, keeping its expression small.
const MAX_PRUNED: usize = 50;

/// One tenant's state and when its read started, by both clocks: a
/// frozen Lambda sandbox may not advance the monotonic one.
struct Fresh {
    read_at: Instant,
    read_at_wall: SystemTime,
    state: Arc<TenantState>,
}

impl Fresh {
    fn new(read_at: Instant, read_at_wall: SystemTime, state: Arc<TenantState>) -> Self {
        Self {
            read_at,
            read_at_wall,
            state,
        }
    }

    /// Younger than `interval` by both clocks (a wall clock gone back
    /// counts as stale).
    fn is_fresh(&self, interval: std::time::Duration) -> bool {
        self.read_at.elapsed() < interval
            && SystemTime::now()
                .duration_since(self.read_at_wall)
                .is_ok_and(|age| age < interval)
    }
}

/// A tenant's slot: its async lock makes concurrent requests at expiry
/// wait for one read instead of each making its own.
type Slot = Arc<tokio::sync::Mutex<Option<Fresh>>>;

pub(super) struct Cache {
    settings: Settings,
    tenants: Mutex<HashMap<(String, Uuid), Slot>>,
}

impl Cache {
    pub(super) fn new(settings: Settings) -> Self {
        Self {
            settings,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, table: &str, tenant_id: Uuid) -> Slot {
        // A poisoned lock only means another thread panicked mid-insert;
        // the map itself is still usable.
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if tenants.len() >= MAX_TENANTS && !tenants.contains_key(&(table.to_owned(), tenant_id)) {
            tenants.clear();
        }
        tenants
            .entry((table.to_owned(), tenant_id))
            .or_default()
            .clone()
    }
}

impl Store {
    /// The same store with its own revocation cache, checking at `settings`
    /// (tests use short intervals without touching the environment).
    pub fn with_revocation_settings(mut self, settings: Settings) -> Self {
        self.revocations = Arc::new(Cache::new(settings));
        self
    }

    pub fn revocation_settings(&self) -> Settings {
        self.revocations.settings
    }

    /// The tenant's revocation state: from this process's cache while it
    /// is younger than the check interval, else read again (one
    /// `BatchGetItem`). Concurrent callers share one read.
    pub async fn revocation_state(
        &self,
        scope: &TenantScope,
    ) -> Result<Arc<TenantState>, StoreError> {
        let slot = self
            .revocations
            .slot(self.table_of(scope), scope.tenant_id());
        let mut fresh = slot.lock().await;
        if let Some(f) = fresh.as_ref() {
            if f.is_fresh(self.revocations.settings.check_interval) {
                return Ok(f.state.clone());
            }
        }
        // Age counts from before the read, so the state is never trusted
        // longer than the interval.
        let (read_at, read_at_wall) = (Instant::now(), SystemTime::now());
        let state = Arc::new(self.read_revocation_state(scope).await?);
        *fresh = Some(Fresh::new(read_at, read_at_wall, state.clone()));
        Ok(state)
    }

    /// The profile, the subscription and the revocation record, in one
    /// round trip.
    async fn read_revocation_state(&self, scope: &TenantScope) -> Result<TenantState, StoreError> {
        let pk = keys::tenant_pk(scope);
        let sks = [
            keys::tenant_profile().as_str().to_owned(),
            keys::subscription().as_str().to_owned(),
            keys::revocations().as_str().to_owned(),
        ];
        let mut fetched = self
            .batch_get(
                self.table_of(scope),
                sks.into_iter().map(|sk| (pk.clone(), sk)).collect(),
                &[],
            )
            .await?;
        let tenant: Option<TenantRecord> =
            fetched.take_raw(&pk, keys::tenant_profile().as_str())?;
        let subscription: Option<SubscriptionRecord> =
            fetched.take_raw(&pk, keys::subscription().as_str())?;
        let mut state = TenantState {
            entitlement: tenant.map(|t| Entitlement {
                tenant_active: t.is_active,
                modules: crate::billing::entitled_modules(
                    &t,
                    subscription.as_ref(),
                    time::OffsetDateTime::now_utc(),
                )
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            }),
            ..TenantState::default()
        };
        let revocations = fetched
            .items
            .remove(&(pk, keys::revocations().as_str().to_owned()))
            .unwrap_or_default();
        for (name, value) in &revocations {
            if let AttributeValue::S(value) = value {
                state.add_entry(name, value);
            }
        }
        Ok(state)
    }

    /// Removes cutoffs older than any token, as far as this process's
    /// cached state of the tenant knows them. Best effort, after a write
    /// that added a cutoff: each removal is conditioned on the value read,
    /// so a cutoff rewritten meanwhile is never lost, and a failed prune is
    /// only retried by the next writer.
    pub async fn prune_revocations(&self, scope: &TenantScope) {
        let slot = self
            .revocations
            .slot(self.table_of(scope), scope.tenant_id());
        let stale = match slot.try_lock() {
            Ok(fresh) => match fresh.as_ref() {
                Some(f) => f.state.stale_entries(
                    epoch_ms(time::OffsetDateTime::now_utc()),
                    self.revocations.settings.token_lifetime,
                ),
                None => return,
            },
            // Being read right now: the next writer prunes.
            Err(_) => return,
        };
        if stale.is_empty() {
            return;
        }
        let mut removes = Vec::new();
        let mut conditions = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(self.table_of(scope))
            .key(keys::PK, AttributeValue::S(keys::tenant_pk(scope)))
            .key(
                keys::SK,
                AttributeValue::S(keys::revocations().as_str().to_owned()),
            );
        for (i, (name, value)) in stale.into_iter().take(MAX_PRUNED).enumerate() {
            removes.push(format!("#a{i}"));
            conditions.push(format!("#a{i} = :v{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), AttributeValue::S(value));
        }
        let result = update
            .update_expression(format!("REMOVE {}", removes.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .send()
            .await;
        match result {
            Ok(_) => tracing::debug!(pruned = removes.len(), "stale revocation cutoffs pruned"),
            Err(e) if error::is_conditional_failure(&e) => {}
            Err(e) => {
                tracing::warn!(
                    error = %ErrorChain(&error::classify(e)),
                    "pruning revocation cutoffs failed"
                )
            }
        }
    }

    /// Seeds a tenant's state, for unit tests without DynamoDB.
    #[cfg(test)]
    pub(crate) async fn prime_revocation_state(&self, scope: &TenantScope, state: TenantState) {
        let slot = self
            .revocations
            .slot(self.table_of(scope), scope.tenant_id());
        *slot.lock().await = Some(Fresh::new(
            Instant::now(),
            SystemTime::now(),
            Arc::new(state),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_state_is_fresh_only_while_both_clocks_say_so() {
        let state = Arc::new(TenantState::default());
        let now = Fresh::new(Instant::now(), SystemTime::now(), state.clone());
        assert!(now.is_fresh(Duration::from_secs(30)));
        assert!(!now.is_fresh(Duration::ZERO), "0 rereads every time");
        // The sandbox was frozen: the wall clock moved, the monotonic one did not.
        let thawed = Fresh::new(
            Instant::now(),
            SystemTime::now() - Duration::from_secs(60),
            state.clone(),
        );
        assert!(!thawed.is_fresh(Duration::from_secs(30)));
        // A wall clock set back is no reason to trust the state longer.
        let ahead = Fresh::new(
            Instant::now(),
            SystemTime::now() + Duration::from_secs(60),
            state,
        );
        assert!(!ahead.is_fresh(Duration::from_secs(30)));
    }
}
