//! Paged queries: one partition (of the table or an index), its filters,
//! a bounded number of read rounds, and the signed cursors of the page.
//!
//! `Limit` counts the items a `Query` reads before its filter, so a filtered
//! page may come back short, or empty, although later items match. A page
//! therefore reads on for a few rounds, within a fixed budget of items, and
//! when it stops short its `next` resumes from DynamoDB's
//! `LastEvaluatedKey`: where the reading stopped, not the last item shown.

use super::capture::{answer_text, QueryAnswer, RawItem};
use super::error;
use super::{Filter, Index, Page, PageKey, PageRequest, SkCondition, Store, StoreError};
use crate::keys;
use crate::store::cursor::Direction;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;

/// `Query` calls one page may make.
const MAX_QUERY_ROUNDS: usize = 4;

/// Items one page may read before filters (at least a page and one).
/// Past it the page ends short, even empty, with a cursor.
pub(crate) const MAX_ITEMS_READ: usize = 200;

/// What the rounds of one page read.
pub(super) struct Read {
    /// Matching items, in read order (nearest the start first).
    pub(super) items: Vec<RawItem>,
    /// DynamoDB's `LastEvaluatedKey` of the last round: it may have more.
    pub(super) stopped_at: Option<PageKey>,
}

impl Store {
    /// One page of a partition (or an index partition), optionally narrowed
    /// by a sort-key condition.
    pub(super) async fn query_page<T: DeserializeOwned>(
        &self,
        table: &str,
        index: Index,
        pk: &str,
        sk: Option<SkCondition<'_>>,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let binding = binding(index, pk, page);
        let limit = usize::from(page.limit.clamp(1, 1000));
        let (mut start, mut direction) = self.start_of(&binding, index, pk, page)?;
        let query = base_query(self.queries.query(), table, index, pk, sk, page);
        let forward = |d: Direction| (d == Direction::Next) != page.descending;
        let mut read =
            read_rounds(&query, index, start.as_ref(), forward(direction), limit).await?;
        if direction == Direction::Previous && read.items.is_empty() && read.stopped_at.is_none() {
            // Nothing before the cursor matches: the page before it is the
            // first page, which a backward cursor cannot express.
            (start, direction) = (None, Direction::Next);
            read = read_rounds(&query, index, None, forward(direction), limit).await?;
        }
        self.finish(read, &binding, index, start, direction, limit)
    }

    /// Where the page starts: nowhere (the first page) or a cursor's
    /// position, which must be signed for this very query and lie in the
    /// queried partition.
    fn start_of(
        &self,
        binding: &str,
        index: Index,
        pk: &str,
        page: &PageRequest,
    ) -> Result<(Option<PageKey>, Direction), StoreError> {
        let Some(cursor) = &page.cursor else {
            return Ok((None, Direction::Next));
        };
        let (key, direction) = self.cursors.decode(binding, cursor)?;
        // Defence in depth: the signature already binds the partition.
        let (pk_attr, _) = index.key_attributes();
        if key.get(pk_attr).map(String::as_str) != Some(pk) {
            return Err(StoreError::InvalidCursor);
        }
        Ok((Some(key), direction))
    }

    /// The page's items in display order, and its cursors.
    ///
    /// In read order, the *far* end is where the next read in the same
    /// direction resumes: after the last item kept if the page is full,
    /// else where DynamoDB stopped (nothing further matched up to there).
    /// The *near* end is where a read the other way starts: the first item;
    /// with none, where the reading stopped (every item up to there was
    /// skipped), else the start itself (an empty last page, which only a
    /// concurrent change makes after a full one).
    fn finish<T: DeserializeOwned>(
        &self,
        read: Read,
        binding: &str,
        index: Index,
        start: Option<PageKey>,
        direction: Direction,
        limit: usize,
    ) -> Result<Page<T>, StoreError> {
        let Read {
            mut items,
            stopped_at,
        } = read;
        let key_attrs = index.cursor_attributes();
        let full = items.len() > limit;
        items.truncate(limit);
        let far = match items.last() {
            Some(last) if full => Some(last.key(key_attrs)?),
            _ => stopped_at.clone(),
        };
        let near = match items.first() {
            Some(first) => Some(first.key(key_attrs)?),
            None => stopped_at.or_else(|| start.clone()),
        };
        self.page_of(binding, items, direction, start.is_some(), near, far)
    }

    /// The page of `items` (in read order) with its cursors: `far` is where
    /// the next read in the same direction resumes, `near` where a read the
    /// other way starts. Shared by one-partition and merged pages.
    pub(super) fn page_of<T: DeserializeOwned>(
        &self,
        binding: &str,
        mut items: Vec<RawItem>,
        direction: Direction,
        from_cursor: bool,
        near: Option<PageKey>,
        far: Option<PageKey>,
    ) -> Result<Page<T>, StoreError> {
        let mint =
            |key: Option<PageKey>, d: Direction| key.map(|k| self.cursors.encode(binding, &k, d));
        let (next, previous) = match direction {
            // A page reached by a cursor has items before it.
            Direction::Next => (
                mint(far, Direction::Next),
                mint(near.filter(|_| from_cursor), Direction::Previous),
            ),
            // Going back, the page we came from follows.
            Direction::Previous => {
                items.reverse();
                (mint(near, Direction::Next), mint(far, Direction::Previous))
            }
        };
        let items = items
            .iter()
            .map(RawItem::decode)
            .collect::<Result<Vec<T>, _>>()?;
        Ok(Page {
            items,
            next,
            previous,
        })
    }
}

/// What a cursor is bound to: the index, the partition (and so the
/// tenant), the query, its order and its filters.
fn binding(index: Index, pk: &str, page: &PageRequest) -> String {
    let order = if page.descending { "desc" } else { "asc" };
    let filters: Vec<String> = page.filters.iter().map(Filter::binding).collect();
    format!(
        "{}|{}|{}|{}|{}",
        index.name().unwrap_or("table"),
        pk,
        page.query_id,
        order,
        filters.join("&")
    )
}

/// The query without its direction, limit and start: key condition,
/// filters (live items only, plus the request's), projection and index.
pub(super) fn base_query(
    query: QueryFluentBuilder,
    table: &str,
    index: Index,
    pk: &str,
    sk: Option<SkCondition<'_>>,
    page: &PageRequest,
) -> QueryFluentBuilder {
    let filters = &page.filters;
    let (pk_attr, sk_attr) = index.key_attributes();
    let mut req = query
        .table_name(table)
        .expression_attribute_names("#pk", pk_attr)
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
        .expression_attribute_names("#ttl", keys::TTL)
        .expression_attribute_values(":now", AttributeValue::N(super::now_epoch().to_string()))
        .filter_expression(filter_expression(filters));
    for (i, filter) in filters.iter().enumerate() {
        match filter {
            Filter::Eq(field, value) | Filter::Contains(field, value) => {
                req = req
                    .expression_attribute_names(format!("#f{i}"), *field)
                    .expression_attribute_values(
                        format!(":f{i}"),
                        AttributeValue::S(value.clone()),
                    );
            }
            Filter::Is(field, value) => {
                req = req
                    .expression_attribute_names(format!("#f{i}"), *field)
                    .expression_attribute_values(format!(":f{i}"), AttributeValue::Bool(*value));
            }
            Filter::AnyStartsWith(fields, value) => {
                for (j, field) in fields.iter().enumerate() {
                    req = req.expression_attribute_names(format!("#f{i}_{j}"), *field);
                }
                req = req.expression_attribute_values(
                    format!(":f{i}"),
                    AttributeValue::S(value.clone()),
                );
            }
        }
    }
    let mut key_expr = "#pk = :pk".to_owned();
    let sk_value = match sk {
        Some(SkCondition::Prefix(prefix)) => {
            key_expr.push_str(" AND begins_with(#sk, :sk)");
            Some(prefix)
        }
        Some(SkCondition::AtMost(bound)) => {
            key_expr.push_str(" AND #sk <= :sk");
            Some(bound)
        }
        Some(SkCondition::After(bound)) => {
            key_expr.push_str(" AND #sk > :sk");
            Some(bound)
        }
        Some(SkCondition::Before(bound)) => {
            key_expr.push_str(" AND #sk < :sk");
            Some(bound)
        }
        Some(SkCondition::Between(from, through)) => {
            key_expr.push_str(" AND #sk BETWEEN :sk AND :sk_through");
            req = req
                .expression_attribute_values(":sk_through", AttributeValue::S(through.to_owned()));
            Some(from)
        }
        None => None,
    };
    if let Some(value) = sk_value {
        req = req
            .expression_attribute_names("#sk", sk_attr)
            .expression_attribute_values(":sk", AttributeValue::S(value.to_owned()));
    }
    if let Some(name) = index.name() {
        req = req.index_name(name);
    }
    if !page.projection.is_empty() {
        // The keys too: cursors are made of them.
        let key_attrs = index.cursor_attributes();
        let rest = page.projection.iter().filter(|a| !key_attrs.contains(a));
        let mut names = Vec::new();
        for (i, attr) in key_attrs.iter().chain(rest).enumerate() {
            req = req.expression_attribute_names(format!("#p{i}"), *attr);
            names.push(format!("#p{i}"));
        }
        req = req.projection_expression(names.join(", "));
    }
    req.key_condition_expression(key_expr)
}

/// Reads one page's worth: a page and one more item (which tells whether
/// another page follows), in at most [`MAX_QUERY_ROUNDS`] calls and
/// [`MAX_ITEMS_READ`] items read. The first round asks for exactly that;
/// when the filters dropped items, the next rounds read on through the rest
/// of the budget, since a filter that skipped some may skip many.
pub(super) async fn read_rounds(
    query: &QueryFluentBuilder,
    index: Index,
    start: Option<&PageKey>,
    forward: bool,
    limit: usize,
) -> Result<Read, StoreError> {
    let wanted = limit + 1;
    let budget = MAX_ITEMS_READ.max(wanted);
    let mut items = Vec::new();
    let mut read = 0;
    let mut resume = start.cloned();
    for round in 0..MAX_QUERY_ROUNDS {
        let ask = if round == 0 { wanted } else { budget - read };
        // The query client answers with the text (capture.rs).
        let out = query
            .clone()
            .scan_index_forward(forward)
            .limit(i32::try_from(ask).unwrap_or(i32::MAX))
            .set_exclusive_start_key(resume.take().map(|key| {
                key.into_iter()
                    .map(|(k, v)| (k, AttributeValue::S(v)))
                    .collect()
            }))
            .send()
            .await
            .map_err(error::classify)?;
        let answer = QueryAnswer::parse(&answer_text(out)?, index.cursor_attributes())?;
        // At least one, so the budget runs out even if a count is missing.
        read += answer.scanned_count.max(1);
        items.extend(answer.items);
        resume = answer.last_evaluated_key;
        if items.len() >= wanted || resume.is_none() || read >= budget {
            break;
        }
    }
    let stopped_at = resume;
    Ok(Read { items, stopped_at })
}

/// Live items only, plus the request's filters.
pub(super) fn filter_expression(filters: &[Filter]) -> String {
    let mut expr = "(attribute_not_exists(#ttl) OR #ttl > :now)".to_owned();
    for (i, f) in filters.iter().enumerate() {
        match f {
            Filter::Eq(..) | Filter::Is(..) => expr.push_str(&format!(" AND #f{i} = :f{i}")),
            Filter::Contains(..) => expr.push_str(&format!(" AND contains(#f{i}, :f{i})")),
            Filter::AnyStartsWith(fields, _) => {
                let any: Vec<String> = (0..fields.len())
                    .map(|j| format!("begins_with(#f{i}_{j}, :f{i})"))
                    .collect();
                expr.push_str(&format!(" AND ({})", any.join(" OR ")));
            }
        }
    }
    expr
}
