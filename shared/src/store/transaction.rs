use super::error::classify;
use super::label::Label;
use super::{
    condition_expression, to_item, Condition, Entity, Patch, Store, StoreError, TenantScope,
};
use crate::keys::{self, Key, PlatformKey, SortKey};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

/// One change to a numeric attribute, see [`TenantTransaction::counters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub field: &'static str,
    pub delta: i64,
    pub bound: Bound,
}

/// One change to a numeric attribute of an item that must exist (a
/// vanished role fails the transaction), see [`TenantTransaction::add`]:
/// `Add::new("member_count", 1)`, `Add::new("users", 0).below(limit)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Add {
    field: &'static str,
    delta: i64,
    below: Option<i64>,
    must_exist: bool,
}

impl Add {
    pub fn new(field: &'static str, delta: i64) -> Self {
        Self {
            field,
            delta,
            below: None,
            must_exist: true,
        }
    }

    /// Fails unless the current value is under `limit` (missing counts as 0).
    pub fn below(self, limit: i64) -> Self {
        Self {
            below: Some(limit),
            ..self
        }
    }

    /// Creates the item when it is missing instead of failing.
    pub fn create_if_missing(self) -> Self {
        Self {
            must_exist: false,
            ..self
        }
    }
}

/// The condition a counter change must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    None,
    /// The current value must be under the limit (missing counts as 0):
    /// a plan limit.
    Below(i64),
    /// The value afterwards must be at least this: e.g. never the last
    /// administrator.
    KeepAtLeast(i64),
}

/// An all-or-nothing write of up to 100 items.
///
/// Every operation carries a [`Label`]; when conditions fail, the error
/// lists the labels of the failing operations so the caller can say which
/// field was taken (the slug, the email, ...), see
/// [`super::OnConflict`]. Tenant items are written through
/// [`Transaction::tenant`].
pub struct Transaction<'s> {
    store: &'s Store,
    ops: Vec<(Label, TransactWriteItem)>,
    error: Option<StoreError>,
}

impl<'s> Transaction<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Self {
            store,
            ops: Vec::new(),
            error: None,
        }
    }

    /// Writes a tenant-owned record (in the scope's table).
    fn put<T: Entity>(
        &mut self,
        scope: &TenantScope,
        sk: &SortKey,
        record: &T,
        condition: Condition,
        label: Label,
    ) -> &mut Self {
        let pk = keys::tenant_pk(scope);
        let store = self.store;
        self.push_put(
            store.table_of(scope),
            &pk,
            sk.as_str(),
            record,
            condition,
            label,
        )
    }

    /// Writes a platform-wide record, such as a uniqueness claim.
    pub fn put_platform<T: Entity>(
        &mut self,
        key: &PlatformKey<T::Kind>,
        record: &T,
        condition: Condition,
        label: Label,
    ) -> &mut Self {
        let store = self.store;
        self.push_put(
            store.table_name(),
            key.pk(),
            key.sk(),
            record,
            condition,
            label,
        )
    }

    /// Removes a platform-wide record, such as a released uniqueness claim.
    pub fn delete_platform<K>(&mut self, key: &PlatformKey<K>, label: Label) -> &mut Self {
        let store = self.store;
        self.push_delete(
            store.table_name(),
            key.pk(),
            key.sk(),
            Condition::Always,
            label,
        )
    }

    /// Removes a platform-wide item that must exist and not have expired
    /// at `now` (epoch seconds): takes a single-use item such as a reset
    /// token. Of two transactions consuming the same item, one fails.
    pub fn consume_platform<K>(
        &mut self,
        key: &PlatformKey<K>,
        now: i64,
        label: Label,
    ) -> &mut Self {
        let built = Delete::builder()
            .table_name(self.store.table_name())
            .key(keys::PK, AttributeValue::S(key.pk().to_owned()))
            .key(keys::SK, AttributeValue::S(key.sk().to_owned()))
            .condition_expression("attribute_exists(#pk) AND #ttl > :now")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .build();
        match built {
            Ok(d) => self
                .ops
                .push((label, TransactWriteItem::builder().delete(d).build())),
            Err(e) => self.error = Some(StoreError::Backend(e.into())),
        }
        self
    }

    /// Claims a platform-wide unique value (a slug, a domain): fails,
    /// labelled `label`, when someone holds it already.
    pub fn claim_platform<T: Entity>(
        &mut self,
        key: &PlatformKey<T::Kind>,
        record: &T,
        label: Label,
    ) -> &mut Self {
        self.put_platform(key, record, Condition::NotExists, label)
    }

    /// Moves a platform-wide claim from `old` to `new` (nothing when they
    /// are the same: a transaction may touch an item only once).
    pub fn move_claim_platform<T: Entity>(
        &mut self,
        old: &PlatformKey<T::Kind>,
        new: &PlatformKey<T::Kind>,
        record: &T,
        label: Label,
    ) -> &mut Self {
        if old != new {
            self.delete_platform(old, label)
                .claim_platform(new, record, label);
        }
        self
    }

    /// Writes to one tenant's partition, as [`Store::tenant`] reads it.
    pub fn tenant<'t>(&'t mut self, scope: &'t TenantScope) -> TenantTransaction<'t, 's> {
        TenantTransaction { tx: self, scope }
    }

    /// Removes a tenant-owned record (in the scope's table), if `condition` holds.
    fn delete(
        &mut self,
        scope: &TenantScope,
        sk: &SortKey,
        condition: Condition,
        label: Label,
    ) -> &mut Self {
        let pk = keys::tenant_pk(scope);
        let store = self.store;
        self.push_delete(store.table_of(scope), &pk, sk.as_str(), condition, label)
    }

    fn push_delete(
        &mut self,
        table: &str,
        pk: &str,
        sk: &str,
        condition: Condition,
        label: Label,
    ) -> &mut Self {
        let (expr, values) = condition_expression(condition);
        let mut delete = Delete::builder()
            .table_name(table)
            .key(keys::PK, AttributeValue::S(pk.to_owned()))
            .key(keys::SK, AttributeValue::S(sk.to_owned()));
        if let Some(expr) = expr {
            delete = delete.condition_expression(expr);
        }
        if !values.is_empty() {
            delete = delete.set_expression_attribute_values(Some(values));
        }
        match delete.build() {
            Ok(d) => self
                .ops
                .push((label, TransactWriteItem::builder().delete(d).build())),
            Err(e) => self.error = Some(StoreError::Backend(e.into())),
        }
        self
    }

    /// Adds to a numeric attribute of a tenant-owned item, see [`Add`].
    fn add(&mut self, scope: &TenantScope, sk: &SortKey, add: Add, label: Label) -> &mut Self {
        let bound = add.below.map_or(Bound::None, Bound::Below);
        let counter = Counter {
            field: add.field,
            delta: add.delta,
            bound,
        };
        self.push_counters(scope, sk, &[counter], add.must_exist, label)
    }

    /// Changes several numeric attributes of one tenant-owned item in one
    /// operation (a transaction may touch an item only once), each within
    /// its bound; also bumps the item's `version`. A missing item is
    /// created (counters start at 0).
    fn counters(
        &mut self,
        scope: &TenantScope,
        sk: &SortKey,
        changes: &[Counter],
        label: Label,
    ) -> &mut Self {
        self.push_counters(scope, sk, changes, false, label)
    }

    fn push_counters(
        &mut self,
        scope: &TenantScope,
        sk: &SortKey,
        changes: &[Counter],
        must_exist: bool,
        label: Label,
    ) -> &mut Self {
        let mut conditions = Vec::new();
        if must_exist {
            conditions.push(format!("attribute_exists({})", keys::PK));
        }
        let mut adds = Vec::new();
        let mut update = Update::builder()
            .table_name(self.store.table_of(scope))
            .key(keys::PK, AttributeValue::S(keys::tenant_pk(scope)))
            .key(keys::SK, AttributeValue::S(sk.as_str().to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        for (i, change) in changes.iter().enumerate() {
            adds.push(format!("#f{i} :d{i}"));
            update = update
                .expression_attribute_names(format!("#f{i}"), change.field)
                .expression_attribute_values(
                    format!(":d{i}"),
                    AttributeValue::N(change.delta.to_string()),
                );
            match change.bound {
                Bound::None => {}
                Bound::Below(limit) => {
                    conditions.push(format!("(attribute_not_exists(#f{i}) OR #f{i} < :b{i})"));
                    update = update.expression_attribute_values(
                        format!(":b{i}"),
                        AttributeValue::N(limit.to_string()),
                    );
                }
                Bound::KeepAtLeast(keep) => {
                    // The value after the change must still be >= keep.
                    conditions.push(format!("#f{i} >= :b{i}"));
                    let floor = keep - change.delta;
                    update = update.expression_attribute_values(
                        format!(":b{i}"),
                        AttributeValue::N(floor.to_string()),
                    );
                }
            }
        }
        // Bumping the version makes read-modify-write updates of the same
        // record notice this change instead of overwriting it.
        adds.push("version :one".to_owned());
        update = update.update_expression(format!("ADD {}", adds.join(", ")));
        if !conditions.is_empty() {
            update = update.condition_expression(conditions.join(" AND "));
        }
        match update.build() {
            Ok(u) => self
                .ops
                .push((label, TransactWriteItem::builder().update(u).build())),
            Err(e) => self.error = Some(StoreError::Backend(e.into())),
        }
        self
    }

    /// Takes the next number of a platform-wide sequence: `ADD 1` to its
    /// `field`, on condition that it still holds `current` (missing counts
    /// as 0). The number is used by the other writes of the transaction,
    /// so it is spent only if they all succeed: no gaps, no duplicates.
    pub fn next_in_sequence(
        &mut self,
        key: &PlatformKey<keys::kind::Sequence>,
        field: &'static str,
        current: u64,
        label: Label,
    ) -> &mut Self {
        let condition = if current == 0 {
            "attribute_not_exists(#f) OR #f = :current"
        } else {
            "#f = :current"
        };
        let update = Update::builder()
            .table_name(self.store.table_name())
            .key(keys::PK, AttributeValue::S(key.pk().to_owned()))
            .key(keys::SK, AttributeValue::S(key.sk().to_owned()))
            .update_expression("ADD #f :one SET #entity = :entity")
            .condition_expression(condition)
            .expression_attribute_names("#f", field)
            .expression_attribute_names("#entity", keys::ENTITY)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":current", AttributeValue::N(current.to_string()))
            .expression_attribute_values(":entity", AttributeValue::S("sequence".into()));
        match update.build() {
            Ok(u) => self
                .ops
                .push((label, TransactWriteItem::builder().update(u).build())),
            Err(e) => self.error = Some(StoreError::Backend(e.into())),
        }
        self
    }

    /// Changes some attributes of a tenant-owned item in place, if the
    /// patch's conditions hold.
    fn patch(
        &mut self,
        scope: &TenantScope,
        sk: &SortKey,
        patch: &Patch,
        label: Label,
    ) -> &mut Self {
        let pk = keys::tenant_pk(scope);
        let table = self.store.table_of(scope).to_owned();
        let built = patch.parts().and_then(|parts| {
            let update = Update::builder()
                .table_name(table)
                .key(keys::PK, AttributeValue::S(pk))
                .key(keys::SK, AttributeValue::S(sk.as_str().to_owned()))
                .set_update_expression(parts.update)
                .set_condition_expression(parts.condition)
                .set_expression_attribute_names(parts.names)
                .set_expression_attribute_values(parts.values);
            update.build().map_err(|e| StoreError::Backend(e.into()))
        });
        match built {
            Ok(u) => self
                .ops
                .push((label, TransactWriteItem::builder().update(u).build())),
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Writes nothing, but the transaction fails unless the patch's
    /// conditions hold on a tenant-owned item.
    fn check(
        &mut self,
        scope: &TenantScope,
        sk: &SortKey,
        patch: &Patch,
        label: Label,
    ) -> &mut Self {
        let pk = keys::tenant_pk(scope);
        let table = self.store.table_of(scope).to_owned();
        self.push_check(table, pk, sk.as_str().to_owned(), patch, label)
    }

    /// Like [`TenantTransaction::check`], for a platform-wide item.
    pub fn check_platform<K>(
        &mut self,
        key: &PlatformKey<K>,
        patch: &Patch,
        label: Label,
    ) -> &mut Self {
        let table = self.store.table_name().to_owned();
        self.push_check(
            table,
            key.pk().to_owned(),
            key.sk().to_owned(),
            patch,
            label,
        )
    }

    fn push_check(
        &mut self,
        table: String,
        pk: String,
        sk: String,
        patch: &Patch,
        label: Label,
    ) -> &mut Self {
        let built = patch.parts().and_then(|parts| {
            let check = ConditionCheck::builder()
                .table_name(table)
                .key(keys::PK, AttributeValue::S(pk))
                .key(keys::SK, AttributeValue::S(sk))
                .set_condition_expression(parts.condition)
                .set_expression_attribute_names(parts.names)
                .set_expression_attribute_values(parts.values);
            check.build().map_err(|e| StoreError::Backend(e.into()))
        });
        match built {
            Ok(c) => self.ops.push((
                label,
                TransactWriteItem::builder().condition_check(c).build(),
            )),
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Sets string attributes of a tenant-owned item (creating it if
    /// missing), without reading it: writers of the same item never
    /// conflict on other attributes. Names come from code, never requests.
    fn set_fields(
        &mut self,
        scope: &TenantScope,
        sk: &SortKey,
        entity: &'static str,
        fields: Vec<(String, String)>,
        label: Label,
    ) -> &mut Self {
        let mut sets = vec!["#entity = :entity".to_owned()];
        let mut update = Update::builder()
            .table_name(self.store.table_of(scope))
            .key(keys::PK, AttributeValue::S(keys::tenant_pk(scope)))
            .key(keys::SK, AttributeValue::S(sk.as_str().to_owned()))
            .expression_attribute_names("#entity", keys::ENTITY)
            .expression_attribute_values(":entity", AttributeValue::S(entity.to_owned()));
        for (i, (name, value)) in fields.into_iter().enumerate() {
            sets.push(format!("#f{i} = :v{i}"));
            update = update
                .expression_attribute_names(format!("#f{i}"), name)
                .expression_attribute_values(format!(":v{i}"), AttributeValue::S(value));
        }
        update = update.update_expression(format!("SET {}", sets.join(", ")));
        match update.build() {
            Ok(u) => self
                .ops
                .push((label, TransactWriteItem::builder().update(u).build())),
            Err(e) => self.error = Some(StoreError::Backend(e.into())),
        }
        self
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn push_put<T: Entity>(
        &mut self,
        table: &str,
        pk: &str,
        sk: &str,
        record: &T,
        condition: Condition,
        label: Label,
    ) -> &mut Self {
        if self.error.is_some() {
            return self;
        }
        let built = to_item(pk, sk, record).and_then(|item| {
            let (expr, values) = condition_expression(condition);
            let mut put = Put::builder().table_name(table).set_item(Some(item));
            if let Some(expr) = expr {
                put = put.condition_expression(expr);
            }
            if !values.is_empty() {
                put = put.set_expression_attribute_values(Some(values));
            }
            put.build().map_err(|e| StoreError::Backend(e.into()))
        });
        match built {
            Ok(put) => self
                .ops
                .push((label, TransactWriteItem::builder().put(put).build())),
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Runs the transaction as one `TransactWriteItems` call.
    pub async fn execute(self) -> Result<(), StoreError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (labels, items): (Vec<_>, Vec<_>) = self.ops.into_iter().unzip();
        let result = self
            .store
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(service)) => match service.err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let reasons = cancelled.cancellation_reasons();
                    let failed: Vec<Label> = labels
                        .iter()
                        .zip(reasons)
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(l, _)| *l)
                        .collect();
                    if !failed.is_empty() {
                        Err(StoreError::TransactionConditionFailed(failed))
                    } else if reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"))
                    {
                        Err(StoreError::TransactionConflict)
                    } else {
                        Err(StoreError::Backend(
                            format!("transaction cancelled: {cancelled:?}").into(),
                        ))
                    }
                }
                _ if service.err().code() == Some("TransactionConflictException") => {
                    Err(StoreError::TransactionConflict)
                }
                _ => Err(classify(SdkError::ServiceError(service))),
            },
            Err(other) => Err(classify(other)),
        }
    }
}

/// A transaction's writes to one tenant's partition (in the tenant's
/// table), built by [`Transaction::tenant`]; platform-wide items go through
/// the transaction itself (`put_platform`, `claim_platform`, ...).
pub struct TenantTransaction<'t, 's> {
    tx: &'t mut Transaction<'s>,
    scope: &'t TenantScope,
}

impl TenantTransaction<'_, '_> {
    pub fn put<T: Entity>(
        &mut self,
        key: &Key<T::Kind>,
        record: &T,
        condition: Condition,
        label: Label,
    ) -> &mut Self {
        self.tx
            .put(self.scope, key.sort_key(), record, condition, label);
        self
    }

    pub fn delete<K>(&mut self, key: &Key<K>, condition: Condition, label: Label) -> &mut Self {
        self.tx.delete(self.scope, key.sort_key(), condition, label);
        self
    }

    /// Adds to a numeric attribute of an item, see [`Add`].
    pub fn add<K>(&mut self, key: &Key<K>, add: Add, label: Label) -> &mut Self {
        self.tx.add(self.scope, key.sort_key(), add, label);
        self
    }

    /// Changes several numeric attributes of one item in one operation (a
    /// transaction may touch an item only once), each within its bound;
    /// also bumps the item's `version`. A missing item is created (counters
    /// start at 0).
    pub fn counters<K>(&mut self, key: &Key<K>, changes: &[Counter], label: Label) -> &mut Self {
        self.tx.counters(self.scope, key.sort_key(), changes, label);
        self
    }

    pub fn patch<K>(&mut self, key: &Key<K>, patch: &Patch, label: Label) -> &mut Self {
        self.tx.patch(self.scope, key.sort_key(), patch, label);
        self
    }

    pub fn check<K>(&mut self, key: &Key<K>, patch: &Patch, label: Label) -> &mut Self {
        self.tx.check(self.scope, key.sort_key(), patch, label);
        self
    }

    /// Sets string attributes of an item, see [`Transaction::set_fields`].
    pub(crate) fn set_fields<K>(
        &mut self,
        key: &Key<K>,
        entity: &'static str,
        fields: Vec<(String, String)>,
        label: Label,
    ) -> &mut Self {
        self.tx
            .set_fields(self.scope, key.sort_key(), entity, fields, label);
        self
    }

    /// Claims a value unique within the tenant (a role's name, say): fails,
    /// labelled `label`, when another record holds it already.
    pub fn claim<T: Entity>(&mut self, key: &Key<T::Kind>, record: &T, label: Label) -> &mut Self {
        self.put(key, record, Condition::NotExists, label)
    }

    /// Moves a claim from `old` to `new` on a rename (nothing when the
    /// keys are the same: a transaction may touch an item only once).
    pub fn move_claim<T: Entity>(
        &mut self,
        old: &Key<T::Kind>,
        new: &Key<T::Kind>,
        record: &T,
        label: Label,
    ) -> &mut Self {
        if old != new {
            self.release(old, label).claim(new, record, label);
        }
        self
    }

    /// Gives a claim up (its owner is deleted).
    pub fn release<K>(&mut self, key: &Key<K>, label: Label) -> &mut Self {
        self.delete(key, Condition::Always, label)
    }
}
