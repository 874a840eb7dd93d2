//! Lists under the `own` and `team` permission scopes that read only what
//! they may return: records with an [`Ownership`](crate::entity::Ownership)
//! are indexed by owner (GSI1) and by team (GSI3) inside their tenant; an
//! `own` page queries the caller's owner partition, a `team` page queries
//! that and each of the caller's teams' partitions at once and merges them
//! in key order behind one cursor.
//!
//! Every index entry sorts by the record's own sort key, so one position
//! (the last sort key shown) resumes every partition: the next page asks
//! each for keys after it (`SK > :pos`). A partition that stopped reading
//! early (a filter skipped much) bounds the page: nothing past the point
//! where any partition stopped is shown, since that partition may still
//! hold records before it.

use super::capture::RawItem;
use super::cursor::Direction;
use super::query::{base_query, read_rounds};
use super::{Index, Page, PageKey, PageRequest, SkCondition, Store, StoreError, TenantStore};
use crate::entity::Entity;
use crate::keys::{self, SortKeyPrefix};
use crate::permissions::OwnershipFilter;
use futures_util::future::try_join_all;
use serde::de::DeserializeOwned;
use std::cmp::Ordering;

impl TenantStore<'_> {
    /// One page of the records under `prefix` that `filter` lets the caller
    /// see: the partition's own query for `all`, the owner index for `own`,
    /// owner and team indexes merged for `team`. `collection` is the one the
    /// records name in their [`Ownership`](crate::entity::Ownership).
    pub async fn query_owned<T: Entity>(
        &self,
        collection: &str,
        prefix: &SortKeyPrefix,
        filter: &OwnershipFilter,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let owner_part = |owner| {
            (
                Index::Gsi1,
                keys::owner_index_pk(&self.pk, collection, owner),
            )
        };
        match filter {
            OwnershipFilter::All => self.query(prefix, page).await,
            OwnershipFilter::Own { owner_id } => {
                let (index, pk) = owner_part(*owner_id);
                self.store
                    .query_page(self.table, index, &pk, None, page)
                    .await
            }
            OwnershipFilter::Team { owner_id, team_ids } => {
                let mut parts = vec![owner_part(*owner_id)];
                let mut teams = team_ids.clone();
                teams.sort();
                teams.dedup();
                parts.extend(
                    teams
                        .into_iter()
                        .map(|t| (Index::Gsi3, keys::team_index_pk(&self.pk, collection, t))),
                );
                self.store.query_merged(self.table, &parts, page).await
            }
        }
    }

    /// One page of the records of one owner (`OwnershipFilter::Own` for
    /// someone else: an `owner` filter of a caller who sees everything).
    pub async fn query_owned_by<T: Entity>(
        &self,
        collection: &str,
        owner_id: uuid::Uuid,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let pk = keys::owner_index_pk(&self.pk, collection, owner_id);
        self.store
            .query_page(self.table, Index::Gsi1, &pk, None, page)
            .await
    }

    /// One page of the records of one team.
    pub async fn query_of_team<T: Entity>(
        &self,
        collection: &str,
        team_id: uuid::Uuid,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let pk = keys::team_index_pk(&self.pk, collection, team_id);
        self.store
            .query_page(self.table, Index::Gsi3, &pk, None, page)
            .await
    }
}

/// One partition's part of a merged page.
struct Part {
    /// Matching items, in read order.
    items: Vec<RawItem>,
    /// The sort key where this partition stopped reading, if it may hold
    /// more beyond it.
    frontier: Option<String>,
}

impl Store {
    /// A page merged from several index partitions whose entries all sort
    /// by the item's `SK`, in one round of concurrent queries.
    async fn query_merged<T: DeserializeOwned>(
        &self,
        table: &str,
        parts: &[(Index, String)],
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let binding = merged_binding(parts, page);
        let limit = usize::from(page.limit.clamp(1, 1000));
        let (mut start, mut direction) = match &page.cursor {
            None => (None, Direction::Next),
            Some(cursor) => {
                let (key, direction) = self.cursors.decode(&binding, cursor)?;
                let position = key
                    .get(keys::SK)
                    .cloned()
                    .ok_or(StoreError::InvalidCursor)?;
                (Some(position), direction)
            }
        };
        let forward = |d: Direction| (d == Direction::Next) != page.descending;
        let mut read = self
            .read_parts(
                table,
                parts,
                page,
                start.as_deref(),
                forward(direction),
                limit,
            )
            .await?;
        if direction == Direction::Previous && read.0.is_empty() && read.1.is_none() {
            // Nothing before the cursor: the page before is the first page.
            (start, direction) = (None, Direction::Next);
            read = self
                .read_parts(table, parts, page, None, forward(direction), limit)
                .await?;
        }
        let (mut items, frontier) = read;
        let full = items.len() > limit;
        items.truncate(limit);
        let far = match items.last() {
            Some(last) if full => Some(sort_key(last)?),
            _ => frontier.clone(),
        };
        let near = match items.first() {
            Some(first) => Some(sort_key(first)?),
            None => frontier.or_else(|| start.clone()),
        };
        let at =
            |position: Option<String>| position.map(|p| PageKey::from([(keys::SK.to_owned(), p)]));
        self.page_of(
            &binding,
            items,
            direction,
            start.is_some(),
            at(near),
            at(far),
        )
    }

    /// Reads every partition concurrently from `start` (exclusive) in one
    /// direction; returns the merged items up to the nearest frontier, in
    /// read order and without duplicates (a record can be in the owner's
    /// and a team's partition), and that frontier.
    async fn read_parts(
        &self,
        table: &str,
        parts: &[(Index, String)],
        page: &PageRequest,
        start: Option<&str>,
        forward: bool,
        limit: usize,
    ) -> Result<(Vec<RawItem>, Option<String>), StoreError> {
        let reads = parts.iter().map(|(index, pk)| async move {
            let sk = start.map(|p| {
                if forward {
                    SkCondition::After(p)
                } else {
                    SkCondition::Before(p)
                }
            });
            let query = base_query(self.queries.query(), table, *index, pk, sk, page);
            let read = read_rounds(&query, *index, None, forward, limit).await?;
            let frontier = read
                .stopped_at
                .as_ref()
                .and_then(|k| k.get(keys::SK).cloned());
            Ok::<_, StoreError>(Part {
                items: read.items,
                frontier,
            })
        });
        let parts = try_join_all(reads).await?;
        let order = |a: &str, b: &str| {
            if forward {
                a.cmp(b)
            } else {
                b.cmp(a)
            }
        };
        // The nearest point where some partition stopped short.
        let frontier = parts
            .iter()
            .filter_map(|p| p.frontier.clone())
            .min_by(|a, b| order(a, b));
        let mut items: Vec<(String, RawItem)> = Vec::new();
        for part in parts {
            for item in part.items {
                items.push((sort_key(&item)?, item));
            }
        }
        items.sort_by(|(a, _), (b, _)| order(a, b));
        items.dedup_by(|(a, _), (b, _)| a == b);
        if let Some(f) = &frontier {
            items.retain(|(sk, _)| order(sk, f) != Ordering::Greater);
        }
        Ok((items.into_iter().map(|(_, item)| item).collect(), frontier))
    }
}

fn sort_key(item: &RawItem) -> Result<String, StoreError> {
    let mut key = item.key(&[keys::SK])?;
    key.remove(keys::SK)
        .ok_or_else(|| StoreError::Backend("item lacks its sort key".into()))
}

/// What a merged cursor is bound to: every partition (so the tenant and
/// the caller's teams), the query, its order and filters.
fn merged_binding(parts: &[(Index, String)], page: &PageRequest) -> String {
    let pks: Vec<&str> = parts.iter().map(|(_, pk)| pk.as_str()).collect();
    let order = if page.descending { "desc" } else { "asc" };
    let filters: Vec<String> = page.filters.iter().map(|f| f.binding()).collect();
    format!(
        "merged|{}|{}|{}|{}",
        pks.join(","),
        page.query_id,
        order,
        filters.join("&")
    )
}
