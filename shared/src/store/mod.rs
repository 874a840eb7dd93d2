//! The single-table DynamoDB store.
//!
//! Tenant-owned items are reached only through [`TenantStore`], which is
//! built from a [`TenantScope`]; the partition key comes from the scope and
//! the sort key from [`crate::keys`], so no call can name another tenant's
//! partition. The scope also names the table (the main one, or the tenant's
//! dedicated table, see `dedicated.rs`). Platform-wide items go through
//! [`PlatformStore`], always in the main table, with keys built in the same
//! module. Items are (de)serialised with `serde_dynamo`, but for queries,
//! which decode the answer's text (`capture.rs`, `dynamo_json.rs`).
//!
//! This file stays generic: queries of one domain live in submodules named
//! for it (`dedicated.rs`: the dedicated tables, `billing_due.rs`: the
//! billing scheduler's due subscriptions).

mod billing_due;
mod capture;
mod conflict;
mod counters;
pub mod cursor;
mod dedicated;
mod dynamo_json;
mod error;
mod label;
mod owned;
mod patch;
mod query;
mod retry;
mod revocations;
pub mod table;
mod transaction;

pub use crate::entity::{codec, Entity, Part};
pub use crate::scope::TenantScope;
pub use conflict::{Failure, OnConflict};
pub use cursor::{CursorSigner, Direction, PageKey};
pub use dedicated::{check_dedicated_table_name, DedicatedTable, DedicatedTableError};
pub use error::StoreError;
pub use label::Label;
pub use patch::Patch;
pub use retry::{retry, Backoff};
pub use transaction::{Add, Bound, Counter, TenantTransaction, Transaction};

use crate::keys::{self, Key, PlatformKey, SortKey, SortKeyPrefix, SortKeyRange};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The condition a single write must meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Unconditional.
    Always,
    /// Create only: fails if an item with the key exists.
    NotExists,
    /// Replace only: fails if the item is missing.
    Exists,
    /// Optimistic concurrency: fails unless the stored `version` attribute
    /// equals this value.
    VersionIs(u64),
    /// Fails unless a string attribute of the stored item has this value
    /// (compare-and-swap on e.g. the current refresh token id).
    FieldIs(&'static str, String),
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Signed cursor for the next page, if there may be one.
    pub next: Option<String>,
    /// Signed cursor for the page before this one, if there is one.
    pub previous: Option<String>,
}

/// What to fetch: how many items, from where, and a name for the query
/// that cursors are bound to (with the order and filters added to it).
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: u16,
    pub cursor: Option<String>,
    pub query_id: String,
    /// List in descending key order (newest first, for time-ordered keys).
    pub descending: bool,
    /// Filters on string attributes, applied after the key condition
    /// (within the partition, never a table scan).
    pub filters: Vec<Filter>,
    /// Attributes to read (with the keys, which cursors need); empty: all.
    pub projection: &'static [&'static str],
}

/// A condition on one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// The string attribute equals the value.
    Eq(&'static str, String),
    /// The boolean attribute equals the value.
    Is(&'static str, bool),
    /// The list attribute holds the value.
    Contains(&'static str, String),
    /// At least one of the string attributes starts with the value.
    AnyStartsWith(&'static [&'static str], String),
}

impl Filter {
    /// How the filter enters a cursor's binding: a cursor made under one
    /// set of filters is refused under another.
    pub(super) fn binding(&self) -> String {
        match self {
            Filter::Eq(f, v) => format!("{f}={v}"),
            Filter::Is(f, v) => format!("{f}?{v}"),
            Filter::Contains(f, v) => format!("{f}~{v}"),
            Filter::AnyStartsWith(fs, v) => format!("{}^{v}", fs.join(",")),
        }
    }
}

/// Which key a query runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Index {
    /// The table's own `PK`/`SK`.
    Table,
    /// `GSI1PK`/`GSI1SK`: platform-wide listings.
    Gsi1,
    /// `PK`/`GSI2SK`: a second order inside a partition.
    Gsi2,
    /// `GSI3PK`/`GSI3SK`: the second platform-wide index.
    Gsi3,
    /// `PK`/`GSI4SK`: a third order inside a partition.
    Gsi4,
}

/// The sort-key part of a query's key condition.
#[derive(Debug, Clone, Copy)]
enum SkCondition<'a> {
    Prefix(&'a str),
    AtMost(&'a str),
    /// Strictly after (or, going backwards, before) a position.
    After(&'a str),
    Before(&'a str),
    /// From the first through the second, both included.
    Between(&'a str, &'a str),
}

impl Index {
    fn name(self) -> Option<&'static str> {
        match self {
            Index::Table => None,
            Index::Gsi1 => Some(keys::GSI1),
            Index::Gsi2 => Some(keys::GSI2),
            Index::Gsi3 => Some(keys::GSI3),
            Index::Gsi4 => Some(keys::GSI4),
        }
    }

    fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Table => (keys::PK, keys::SK),
            Index::Gsi1 => (keys::GSI1PK, keys::GSI1SK),
            Index::Gsi2 => (keys::PK, keys::GSI2SK),
            Index::Gsi3 => (keys::GSI3PK, keys::GSI3SK),
            Index::Gsi4 => (keys::PK, keys::GSI4SK),
        }
    }

    /// What a cursor must hold to resume: the table key plus the index key.
    fn cursor_attributes(self) -> &'static [&'static str] {
        match self {
            Index::Table => &[keys::PK, keys::SK],
            Index::Gsi1 => &[keys::PK, keys::SK, keys::GSI1PK, keys::GSI1SK],
            Index::Gsi2 => &[keys::PK, keys::SK, keys::GSI2SK],
            Index::Gsi3 => &[keys::PK, keys::SK, keys::GSI3PK, keys::GSI3SK],
            Index::Gsi4 => &[keys::PK, keys::SK, keys::GSI4SK],
        }
    }
}

impl PageRequest {
    pub fn new(limit: u16, cursor: Option<String>, query_id: impl Into<String>) -> Self {
        Self {
            limit,
            cursor,
            query_id: query_id.into(),
            descending: false,
            filters: Vec::new(),
            projection: &[],
        }
    }

    /// Reads only these attributes of each item (and its keys): less for
    /// DynamoDB to send and the SDK to decode when a view needs a few.
    pub fn only(mut self, attributes: &'static [&'static str]) -> Self {
        self.projection = attributes;
        self
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// Keeps only items whose `field` equals `value`. Field names come from
    /// code, never from requests.
    pub fn where_eq(mut self, field: &'static str, value: impl Into<String>) -> Self {
        self.filters.push(Filter::Eq(field, value.into()));
        self
    }

    /// Keeps only items whose list `field` holds `value`.
    pub fn where_contains(mut self, field: &'static str, value: impl Into<String>) -> Self {
        self.filters.push(Filter::Contains(field, value.into()));
        self
    }

    /// Keeps only items whose boolean `field` is `value`.
    pub fn where_is(mut self, field: &'static str, value: bool) -> Self {
        self.filters.push(Filter::Is(field, value));
        self
    }

    /// Keeps only items where one of `fields` starts with `prefix`.
    pub fn where_any_starts_with(
        mut self,
        fields: &'static [&'static str],
        prefix: impl Into<String>,
    ) -> Self {
        self.filters
            .push(Filter::AnyStartsWith(fields, prefix.into()));
        self
    }
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    /// The same client, whose `Query` answers come back as text for the
    /// store to decode (capture.rs).
    queries: Client,
    table: Arc<str>,
    cursors: CursorSigner,
    /// Tenants' revocation state, shared by the clones of this store (one
    /// per warm process).
    revocations: Arc<revocations::Cache>,
}

/// `client` with its `Query` answers returned as text (capture.rs).
fn query_client(client: &Client) -> Client {
    let config = client
        .config()
        .to_builder()
        .interceptor(capture::QueryBodies)
        .build();
    Client::from_conf(config)
}

impl Store {
    /// Checks revocations with the default settings; see
    /// [`Store::with_revocation_settings`].
    pub fn new(client: Client, table: impl Into<Arc<str>>, cursors: CursorSigner) -> Self {
        Self {
            queries: query_client(&client),
            client,
            table: table.into(),
            cursors,
            revocations: Arc::new(revocations::Cache::new(
                crate::revocation::Settings::default(),
            )),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client behind this store.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// This store (table, cursors, revocation cache) over another client:
    /// tests give each in-process function its own, to tell their calls apart.
    pub fn with_client(&self, client: Client) -> Self {
        Self {
            queries: query_client(&client),
            client,
            ..self.clone()
        }
    }

    /// The store of one tenant's partition.
    pub fn tenant<'a>(&'a self, scope: &'a TenantScope) -> TenantStore<'a> {
        TenantStore {
            store: self,
            pk: keys::tenant_pk(scope),
            table: self.table_of(scope),
        }
    }

    /// The table holding a tenant's items: its dedicated table, else the
    /// main one. Platform-wide items always use the main table.
    pub(crate) fn table_of<'a>(&'a self, scope: &'a TenantScope) -> &'a str {
        scope.table().unwrap_or(&self.table)
    }

    /// Platform-wide items: uniqueness claims, plans, throttles.
    pub fn platform(&self) -> PlatformStore<'_> {
        PlatformStore { store: self }
    }

    /// A multi-item atomic write.
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction::new(self)
    }

    /// Cheap round trip that proves the table is reachable.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(self.table.as_ref())
            .send()
            .await
            .map(|_| ())
            .map_err(error::classify)
    }

    async fn get_item<T: DeserializeOwned>(
        &self,
        table: &str,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        // The SDK decodes: for a few items, as quick as the text (capture.rs).
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(keys::PK, AttributeValue::S(pk.to_owned()))
            .key(keys::SK, AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(error::classify)?;
        match out.item {
            Some(item) if !is_expired(&item, now_epoch()) => {
                Ok(Some(serde_dynamo::from_item(item)?))
            }
            _ => Ok(None),
        }
    }

    async fn put_item(
        &self,
        table: &str,
        item: Item,
        condition: Condition,
    ) -> Result<(), StoreError> {
        let (expr, values) = condition_expression(condition);
        let mut req = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item));
        if let Some(expr) = expr {
            req = req.condition_expression(expr);
        }
        if !values.is_empty() {
            req = req.set_expression_attribute_values(Some(values));
        }
        req.send().await.map(|_| ()).map_err(|e| {
            if error::is_conditional_failure(&e) {
                StoreError::ConditionFailed
            } else {
                error::classify(e)
            }
        })
    }

    /// One `UpdateItem`; `ConditionFailed` when the patch's conditions fail.
    async fn update_item(
        &self,
        table: &str,
        pk: &str,
        sk: &str,
        patch: &Patch,
    ) -> Result<(), StoreError> {
        let parts = patch.parts()?;
        let req = self
            .client
            .update_item()
            .table_name(table)
            .key(keys::PK, AttributeValue::S(pk.to_owned()))
            .key(keys::SK, AttributeValue::S(sk.to_owned()))
            .set_update_expression(parts.update)
            .set_condition_expression(parts.condition)
            .set_expression_attribute_names(parts.names)
            .set_expression_attribute_values(parts.values);
        req.send().await.map(|_| ()).map_err(|e| {
            if error::is_conditional_failure(&e) {
                StoreError::ConditionFailed
            } else {
                error::classify(e)
            }
        })
    }

    async fn delete_item(&self, table: &str, pk: &str, sk: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(table)
            .key(keys::PK, AttributeValue::S(pk.to_owned()))
            .key(keys::SK, AttributeValue::S(sk.to_owned()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(error::classify)?;
        Ok(out
            .attributes
            .is_some_and(|old| !is_expired(&old, now_epoch())))
    }
}

impl Store {
    /// Reads up to 100 items in one `BatchGetItem`, retrying keys DynamoDB
    /// left unprocessed. Expired items are dropped.
    /// With `projection`, only those attributes, the keys and the expiry
    /// are read; empty: whole items.
    async fn batch_get(
        &self,
        table: &str,
        keys: Vec<(String, String)>,
        projection: &[&str],
    ) -> Result<Fetched, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = HashMap::new();
        if keys.is_empty() {
            return Ok(Fetched { items: found });
        }
        let mut unique: Vec<(String, String)> = Vec::new();
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        let mut pending: Vec<Item> = unique
            .into_iter()
            .map(|(pk, sk)| {
                Item::from([
                    (keys::PK.to_owned(), AttributeValue::S(pk)),
                    (keys::SK.to_owned(), AttributeValue::S(sk)),
                ])
            })
            .collect();
        let now = now_epoch();
        for attempt in 0..5u32 {
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true);
            if !projection.is_empty() {
                let (expression, names) = projection_expression(projection);
                request = request
                    .projection_expression(expression)
                    .set_expression_attribute_names(Some(names));
            }
            let request = request.build().map_err(|e| StoreError::Backend(e.into()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(error::classify)?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(table)
                .unwrap_or_default()
            {
                if is_expired(&item, now) {
                    continue;
                }
                if let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) =
                    (item.get(keys::PK), item.get(keys::SK))
                {
                    found.insert((pk.clone(), sk.clone()), item);
                }
            }
            pending = out
                .unprocessed_keys
                .unwrap_or_default()
                .remove(table)
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(Fetched { items: found });
            }
            tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
        }
        Err(StoreError::Unavailable(
            "batch read left keys unprocessed".into(),
        ))
    }
}

/// Items read by a batch read, taken out by key.
#[derive(Debug, Default)]
pub struct Fetched {
    items: HashMap<(String, String), Item>,
}

impl Fetched {
    fn take_raw<T: DeserializeOwned>(
        &mut self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.items.remove(&(pk.to_owned(), sk.to_owned())) {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }
}

/// A batch read inside one tenant's partition.
pub struct TenantFetched<'a> {
    pk: String,
    fetched: Fetched,
    _scope: std::marker::PhantomData<&'a ()>,
}

impl TenantFetched<'_> {
    pub fn take<T: Entity>(&mut self, key: &Key<T::Kind>) -> Result<Option<T>, StoreError> {
        self.fetched.take_raw(&self.pk, key.as_str())
    }

    /// A part of the record under `key`, from [`TenantStore::get_many_parts`].
    pub fn take_part<P: Part>(
        &mut self,
        key: &Key<<P::Of as Entity>::Kind>,
    ) -> Result<Option<P>, StoreError> {
        self.fetched.take_raw(&self.pk, key.as_str())
    }
}

/// One tenant's partition, in the tenant's table. Built only by
/// [`Store::tenant`].
pub struct TenantStore<'a> {
    store: &'a Store,
    pk: String,
    table: &'a str,
}

impl TenantStore<'_> {
    pub async fn get<T: Entity>(&self, key: &Key<T::Kind>) -> Result<Option<T>, StoreError> {
        self.store
            .get_item(self.table, &self.pk, key.as_str())
            .await
    }

    pub async fn put<T: Entity>(
        &self,
        key: &Key<T::Kind>,
        record: &T,
        condition: Condition,
    ) -> Result<(), StoreError> {
        let item = to_item(&self.pk, key.as_str(), record)?;
        self.store.put_item(self.table, item, condition).await
    }

    /// Changes some attributes of an item in place, if the patch's
    /// conditions hold (`ConditionFailed` otherwise).
    pub async fn patch<K>(&self, key: &Key<K>, patch: &Patch) -> Result<(), StoreError> {
        self.store
            .update_item(self.table, &self.pk, key.as_str(), patch)
            .await
    }

    /// Deletes an item; tells whether a live one was there.
    pub async fn delete<K>(&self, key: &Key<K>) -> Result<bool, StoreError> {
        self.store
            .delete_item(self.table, &self.pk, key.as_str())
            .await
    }

    /// Reads several items of this partition in one call (at most 100).
    /// Keys of one record type, or of several as [`SortKey`]s.
    pub async fn get_many<K: AsRef<SortKey>>(
        &self,
        sks: &[K],
    ) -> Result<TenantFetched<'_>, StoreError> {
        self.batch(sks, &[]).await
    }

    /// Like [`Self::get_many`], and one platform-wide item with them: in the
    /// same `BatchGetItem` when the tenant lives in the main table,
    /// concurrently when it has a table of its own. One round trip either way.
    pub async fn get_many_and<K: AsRef<SortKey>, T: Entity>(
        &self,
        sks: &[K],
        platform: &PlatformKey<T::Kind>,
    ) -> Result<(TenantFetched<'_>, Option<T>), StoreError> {
        if self.table != &*self.store.table {
            let main = self.store.platform();
            return tokio::try_join!(self.get_many(sks), main.get::<T>(platform));
        }
        let also = (platform.pk().to_owned(), platform.sk().to_owned());
        let mut fetched = self.batch_with(sks, Some(also), &[]).await?;
        let item = fetched.fetched.take_raw(platform.pk(), platform.sk())?;
        Ok((fetched, item))
    }

    /// Like [`Self::get_many`], reading only the attributes of `parts`
    /// (each a [`Part::ATTRIBUTES`]); take each item with
    /// [`TenantFetched::take_part`] as one of those parts.
    pub async fn get_many_parts<K: AsRef<SortKey>>(
        &self,
        sks: &[K],
        parts: &[&[&str]],
    ) -> Result<TenantFetched<'_>, StoreError> {
        let mut attributes: Vec<&str> = vec![keys::PK, keys::SK, keys::TTL];
        for attribute in parts.iter().flat_map(|part| part.iter()) {
            if !attributes.contains(attribute) {
                attributes.push(attribute);
            }
        }
        self.batch(sks, &attributes).await
    }

    /// One `BatchGetItem` of this partition's `sks` (`projection` empty:
    /// whole items).
    async fn batch<K: AsRef<SortKey>>(
        &self,
        sks: &[K],
        projection: &[&str],
    ) -> Result<TenantFetched<'_>, StoreError> {
        self.batch_with(sks, None, projection).await
    }

    /// [`Self::batch`], with one more item (`(pk, sk)`) of the same table.
    async fn batch_with<K: AsRef<SortKey>>(
        &self,
        sks: &[K],
        also: Option<(String, String)>,
        projection: &[&str],
    ) -> Result<TenantFetched<'_>, StoreError> {
        let keys = sks
            .iter()
            .map(|sk| (self.pk.clone(), sk.as_ref().as_str().to_owned()))
            .chain(also)
            .collect();
        let fetched = self.store.batch_get(self.table, keys, projection).await?;
        Ok(TenantFetched {
            pk: self.pk.clone(),
            fetched,
            _scope: std::marker::PhantomData,
        })
    }

    /// Items of one kind, in sort-key order, one page at a time.
    pub async fn query<T: Entity>(
        &self,
        prefix: &SortKeyPrefix,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        self.query_view(prefix, page).await
    }

    /// Like [`Self::query`], each item read as `V`, a part of the record
    /// (with [`PageRequest::only`], only the attributes `V` needs are read).
    pub async fn query_view<V: DeserializeOwned>(
        &self,
        prefix: &SortKeyPrefix,
        page: &PageRequest,
    ) -> Result<Page<V>, StoreError> {
        let prefix = SkCondition::Prefix(prefix.as_str());
        self.query_in(Index::Table, prefix, page).await
    }

    /// Items of neighbouring kinds in one query: every item whose sort key
    /// lies in `range`, each read as `V` (which tells the kinds apart).
    pub async fn query_range<V: DeserializeOwned>(
        &self,
        range: &SortKeyRange,
        page: &PageRequest,
    ) -> Result<Page<V>, StoreError> {
        let range = SkCondition::Between(range.from(), range.through());
        self.query_in(Index::Table, range, page).await
    }

    /// Items of this partition in their second order (GSI2), selected by a
    /// prefix of that order's key.
    pub async fn query_alt<T: Entity>(
        &self,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        self.query_in(Index::Gsi2, SkCondition::Prefix(prefix), page)
            .await
    }

    /// Items of this partition in their third order (GSI4), selected by a
    /// prefix of that order's key.
    pub async fn query_alt2<T: Entity>(
        &self,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        self.query_in(Index::Gsi4, SkCondition::Prefix(prefix), page)
            .await
    }

    /// Items of this partition in the order of the table or one of its
    /// in-partition indexes (GSI2, GSI4), selected by that order's key.
    async fn query_in<V: DeserializeOwned>(
        &self,
        index: Index,
        sk: SkCondition<'_>,
        page: &PageRequest,
    ) -> Result<Page<V>, StoreError> {
        self.store
            .query_page(self.table, index, &self.pk, Some(sk), page)
            .await
    }
}

/// Platform-wide items. Built only by [`Store::platform`].
pub struct PlatformStore<'a> {
    store: &'a Store,
}

impl PlatformStore<'_> {
    pub async fn get<T: Entity>(
        &self,
        key: &PlatformKey<T::Kind>,
    ) -> Result<Option<T>, StoreError> {
        self.store
            .get_item(&self.store.table, key.pk(), key.sk())
            .await
    }

    pub async fn put<T: Entity>(
        &self,
        key: &PlatformKey<T::Kind>,
        record: &T,
        condition: Condition,
    ) -> Result<(), StoreError> {
        let item = to_item(key.pk(), key.sk(), record)?;
        self.store
            .put_item(&self.store.table, item, condition)
            .await
    }

    pub async fn delete<K>(&self, key: &PlatformKey<K>) -> Result<bool, StoreError> {
        self.store
            .delete_item(&self.store.table, key.pk(), key.sk())
            .await
    }

    /// Sets or adds a few attributes under the patch's conditions.
    pub async fn patch<K>(&self, key: &PlatformKey<K>, patch: &Patch) -> Result<(), StoreError> {
        self.store
            .update_item(&self.store.table, key.pk(), key.sk(), patch)
            .await
    }

    /// Items sharing one GSI1 partition, in GSI1 sort-key order. A listing
    /// may mix entity kinds (`T` can be an enum tagged by `entity`).
    pub async fn query_index<T: DeserializeOwned>(
        &self,
        index_pk: &str,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        self.store
            .query_page(&self.store.table, Index::Gsi1, index_pk, None, page)
            .await
    }
}

pub(crate) fn to_item<T: Entity>(pk: &str, sk: &str, record: &T) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(record)?;
    // The store owns these attributes; a record field of the same name
    // would be silently overwritten.
    let derived = record.derived_attributes();
    let reserved = [
        keys::PK,
        keys::SK,
        keys::ENTITY,
        keys::GSI1PK,
        keys::GSI1SK,
        keys::GSI2SK,
        keys::GSI3PK,
        keys::GSI3SK,
        keys::GSI4SK,
    ];
    for name in reserved.iter().chain(derived.iter().map(|(n, _)| n)) {
        if item.contains_key(*name) {
            return Err(StoreError::Backend(
                format!(
                    "{} has a field named {name}, which the store owns",
                    T::ENTITY
                )
                .into(),
            ));
        }
    }
    for (name, value) in derived {
        item.insert(name.to_owned(), AttributeValue::S(value));
    }
    if let Some(index) = record.platform_index_key() {
        item.insert(keys::GSI3PK.to_owned(), AttributeValue::S(index.pk));
        item.insert(keys::GSI3SK.to_owned(), AttributeValue::S(index.sk));
    }
    if let Some(sk2) = record.alt_sort_key() {
        item.insert(keys::GSI2SK.to_owned(), AttributeValue::S(sk2));
    }
    if let Some(sk4) = record.second_alt_sort_key() {
        item.insert(keys::GSI4SK.to_owned(), AttributeValue::S(sk4));
    }
    if let Some(owned) = record.ownership() {
        if record.index_key().is_some() || record.platform_index_key().is_some() {
            return Err(StoreError::Backend(
                format!("{} has ownership and its own GSI1/GSI3 key", T::ENTITY).into(),
            ));
        }
        let index = |pk: String| [AttributeValue::S(pk), AttributeValue::S(sk.to_owned())];
        if let Some(owner) = owned.owner_id {
            let [ipk, isk] = index(keys::owner_index_pk(pk, owned.collection, owner));
            item.insert(keys::GSI1PK.to_owned(), ipk);
            item.insert(keys::GSI1SK.to_owned(), isk);
        }
        if let Some(team) = owned.team_id {
            let [ipk, isk] = index(keys::team_index_pk(pk, owned.collection, team));
            item.insert(keys::GSI3PK.to_owned(), ipk);
            item.insert(keys::GSI3SK.to_owned(), isk);
        }
    }
    item.insert(keys::PK.to_owned(), AttributeValue::S(pk.to_owned()));
    item.insert(keys::SK.to_owned(), AttributeValue::S(sk.to_owned()));
    item.insert(
        keys::ENTITY.to_owned(),
        AttributeValue::S(T::ENTITY.to_owned()),
    );
    if let Some(index) = record.index_key() {
        item.insert(keys::GSI1PK.to_owned(), AttributeValue::S(index.pk));
        item.insert(keys::GSI1SK.to_owned(), AttributeValue::S(index.sk));
    }
    if let Some(at) = record.expires_at() {
        item.insert(keys::TTL.to_owned(), AttributeValue::N(at.to_string()));
    }
    Ok(item)
}

pub(crate) fn condition_expression(condition: Condition) -> (Option<String>, Item) {
    match condition {
        Condition::Always => (None, Item::new()),
        Condition::NotExists => (
            Some(format!("attribute_not_exists({})", keys::PK)),
            Item::new(),
        ),
        Condition::Exists => (Some(format!("attribute_exists({})", keys::PK)), Item::new()),
        Condition::VersionIs(v) => (
            Some("version = :expected_version".to_owned()),
            Item::from([(
                ":expected_version".to_owned(),
                AttributeValue::N(v.to_string()),
            )]),
        ),
        // Field names come from code, never from requests.
        Condition::FieldIs(field, value) => (
            Some(format!("{field} = :expected_value")),
            Item::from([(":expected_value".to_owned(), AttributeValue::S(value))]),
        ),
    }
}

/// An item is dead once its TTL has passed, whether or not DynamoDB has
/// removed it yet.
/// `#a0, #a1, …` for `attributes`, with the names they stand for (any
/// attribute may be a reserved word, e.g. `name`).
fn projection_expression(attributes: &[&str]) -> (String, HashMap<String, String>) {
    let placeholders: Vec<String> = (0..attributes.len()).map(|i| format!("#a{i}")).collect();
    let names = placeholders
        .iter()
        .cloned()
        .zip(attributes.iter().map(|a| (*a).to_owned()))
        .collect();
    (placeholders.join(", "), names)
}

pub(crate) fn is_expired(item: &Item, now: i64) -> bool {
    match item.get(keys::TTL) {
        Some(AttributeValue::N(n)) => n.parse::<i64>().is_ok_and(|at| at <= now),
        _ => false,
    }
}

pub(crate) fn now_epoch() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::IndexKey;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Widget {
        id: String,
        size: u32,
        ttl_at: Option<i64>,
    }

    impl Entity for Widget {
        const ENTITY: &'static str = "widget";
        type Kind = ();
        fn index_key(&self) -> Option<IndexKey> {
            Some(IndexKey {
                pk: "WIDGETS".into(),
                sk: self.id.clone(),
            })
        }
        fn alt_sort_key(&self) -> Option<String> {
            Some(format!("WIDGET#{}", self.size))
        }
        fn derived_attributes(&self) -> Vec<(&'static str, String)> {
            vec![("id_lc", self.id.to_lowercase())]
        }
        fn expires_at(&self) -> Option<i64> {
            self.ttl_at
        }
    }

    #[test]
    fn items_carry_keys_entity_index_and_ttl() {
        let w = Widget {
            id: "w1".into(),
            size: 3,
            ttl_at: Some(100),
        };
        let item = to_item("TENANT#t", "WIDGET#w1", &w).unwrap();
        assert_eq!(item["PK"], AttributeValue::S("TENANT#t".into()));
        assert_eq!(item["SK"], AttributeValue::S("WIDGET#w1".into()));
        assert_eq!(item["entity"], AttributeValue::S("widget".into()));
        assert_eq!(item["GSI1PK"], AttributeValue::S("WIDGETS".into()));
        assert_eq!(item["expires_at"], AttributeValue::N("100".into()));
        assert_eq!(item["GSI2SK"], AttributeValue::S("WIDGET#3".into()));
        assert_eq!(item["id_lc"], AttributeValue::S("w1".into()));
        assert_eq!(item["size"], AttributeValue::N("3".into()));
        let back: Widget = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back, w);
    }

    #[test]
    fn filters_compose_into_one_expression() {
        let filters = vec![
            Filter::Is("is_active", true),
            Filter::Contains("role_ids", "r".into()),
            Filter::AnyStartsWith(&["email", "name_lc"], "jo".into()),
        ];
        assert_eq!(
            query::filter_expression(&filters),
            "(attribute_not_exists(#ttl) OR #ttl > :now) AND #f0 = :f0 AND contains(#f1, :f1) \
             AND (begins_with(#f2_0, :f2) OR begins_with(#f2_1, :f2))"
        );
        // Different filters bind cursors differently.
        assert_ne!(
            Filter::Is("a", true).binding(),
            Filter::Eq("a", "true".into()).binding()
        );
    }

    #[test]
    fn expiry_is_checked_on_read() {
        let w = Widget {
            id: "w1".into(),
            size: 3,
            ttl_at: Some(100),
        };
        let item = to_item("p", "s", &w).unwrap();
        assert!(is_expired(&item, 100));
        assert!(!is_expired(&item, 99));
        let forever = to_item("p", "s", &Widget { ttl_at: None, ..w }).unwrap();
        assert!(!is_expired(&forever, i64::MAX));
    }
}
