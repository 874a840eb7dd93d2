//! Capped counters kept as attributes of a platform item (the throttles'
//! fixed windows). Several counters may share one item, so that one write
//! takes a slot of each: the counter's names are not fixed (a window or an
//! address can be part of one), so they are always sent as expression
//! attribute names, never spliced into an expression.

use super::{error, PlatformStore, StoreError};
use crate::keys::{self, kind, PlatformKey};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use std::fmt::Write;

type CounterKey = PlatformKey<kind::ThrottleCounter>;

impl PlatformStore<'_> {
    /// Takes one slot of a counter capped at `limit`: adds one unless it
    /// already reached the limit (then `Ok(false)`). `expires_at` (epoch
    /// seconds) is the TTL the counter is removed at. One conditional
    /// write, so concurrent callers can never together exceed the limit.
    pub async fn reserve(
        &self,
        key: &CounterKey,
        field: &str,
        limit: u32,
        expires_at: i64,
        entity: &'static str,
    ) -> Result<bool, StoreError> {
        self.reserve_all(key, &[(field, limit)], expires_at, entity)
            .await
    }

    /// Takes one slot of each `(counter, limit)` of the item, or none (then
    /// `Ok(false)`): one conditional write that adds one to every counter
    /// unless one of them already reached its limit.
    pub async fn reserve_all(
        &self,
        key: &CounterKey,
        counters: &[(&str, u32)],
        expires_at: i64,
        entity: &'static str,
    ) -> Result<bool, StoreError> {
        if counters.is_empty() {
            return Ok(true);
        }
        let mut adds = String::new();
        let mut conditions = String::new();
        let mut request = self
            .counter_update(key, &[])
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_names("#entity", keys::ENTITY)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":ttl", AttributeValue::N(expires_at.to_string()))
            .expression_attribute_values(":entity", AttributeValue::S(entity.to_owned()));
        for (i, (field, limit)) in counters.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let and = if i == 0 { "" } else { " AND " };
            // Writing to a String cannot fail.
            let _ = write!(adds, "{sep}#c{i} :one");
            let _ = write!(
                conditions,
                "{and}(attribute_not_exists(#c{i}) OR #c{i} < :l{i})"
            );
            request = request
                .expression_attribute_names(format!("#c{i}"), *field)
                .expression_attribute_values(
                    format!(":l{i}"),
                    AttributeValue::N(limit.to_string()),
                );
        }
        let request = request
            .update_expression(format!("ADD {adds} SET #ttl = :ttl, #entity = :entity"))
            .condition_expression(conditions);
        conditional(request).await
    }

    /// The counters' current values (0 for one never taken), read
    /// consistently: what a refused [`Self::reserve_all`] ran into.
    pub async fn counts(&self, key: &CounterKey, fields: &[&str]) -> Result<Vec<u64>, StoreError> {
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        let mut projection = String::new();
        let mut request = self
            .store
            .client
            .get_item()
            .table_name(self.store.table.as_ref())
            .set_key(Some(item_key(key)))
            .consistent_read(true);
        for (i, field) in fields.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(projection, "{sep}#c{i}");
            request = request.expression_attribute_names(format!("#c{i}"), *field);
        }
        let out = request
            .projection_expression(projection)
            .send()
            .await
            .map_err(error::classify)?;
        let item = out.item.unwrap_or_default();
        Ok(fields
            .iter()
            .map(|field| match item.get(*field) {
                Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
                _ => 0,
            })
            .collect())
    }

    /// Gives back one slot of each counter, if each still holds one: an
    /// item cleared meanwhile is left as it is.
    pub async fn release_all(&self, key: &CounterKey, fields: &[&str]) -> Result<(), StoreError> {
        if fields.is_empty() {
            return Ok(());
        }
        let conditions = (0..fields.len())
            .map(|i| format!("#f{i} > :zero"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let adds = (0..fields.len())
            .map(|i| format!("#f{i} :minus_one"))
            .collect::<Vec<_>>()
            .join(", ");
        let request = self
            .counter_update(key, fields)
            .expression_attribute_values(":minus_one", AttributeValue::N("-1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .update_expression(format!("ADD {adds}"))
            .condition_expression(conditions);
        conditional(request).await.map(|_| ())
    }

    /// Gives back one slot of `field` (never below zero) and removes the
    /// `forget` counters, in one write. Once `field` is gone (the item was
    /// cleared meanwhile), the counters are still removed.
    pub async fn release_and_forget(
        &self,
        key: &CounterKey,
        field: &str,
        forget: &[&str],
    ) -> Result<(), StoreError> {
        let mut request = self
            .counter_update(key, forget)
            .expression_attribute_names("#r", field)
            .expression_attribute_values(":minus_one", AttributeValue::N("-1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .condition_expression("#r > :zero");
        let mut update = "ADD #r :minus_one".to_owned();
        if !forget.is_empty() {
            update.push_str(" REMOVE ");
            update.push_str(&removals(forget.len()));
        }
        request = request.update_expression(update);
        if conditional(request).await? {
            Ok(())
        } else {
            self.forget(key, forget).await
        }
    }

    /// Removes counters from the item, if it exists (a missing one is not
    /// created).
    pub async fn forget(&self, key: &CounterKey, fields: &[&str]) -> Result<(), StoreError> {
        if fields.is_empty() {
            return Ok(());
        }
        let request = self
            .counter_update(key, fields)
            .expression_attribute_names("#pk", keys::PK)
            .update_expression(format!("REMOVE {}", removals(fields.len())))
            .condition_expression("attribute_exists(#pk)");
        conditional(request).await.map(|_| ())
    }

    /// An update of the counter item naming `fields` as `#f0`, `#f1`, ...
    fn counter_update(&self, key: &CounterKey, fields: &[&str]) -> UpdateItemFluentBuilder {
        let mut request = self
            .store
            .client
            .update_item()
            .table_name(self.store.table.as_ref())
            .set_key(Some(item_key(key)));
        for (i, field) in fields.iter().enumerate() {
            request = request.expression_attribute_names(format!("#f{i}"), *field);
        }
        request
    }
}

/// Sends a conditional update: `Ok(false)` when its condition failed.
async fn conditional(request: UpdateItemFluentBuilder) -> Result<bool, StoreError> {
    match request.send().await {
        Ok(_) => Ok(true),
        Err(e) if error::is_conditional_failure(&e) => Ok(false),
        Err(e) => Err(error::classify(e)),
    }
}

/// The counter item's primary key, as both its reads and writes name it.
fn item_key(key: &CounterKey) -> std::collections::HashMap<String, AttributeValue> {
    [
        (keys::PK.to_owned(), AttributeValue::S(key.pk().to_owned())),
        (keys::SK.to_owned(), AttributeValue::S(key.sk().to_owned())),
    ]
    .into()
}

/// `#f0, #f1, ...` for `n` fields.
fn removals(n: usize) -> String {
    (0..n)
        .map(|i| format!("#f{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::removals;

    #[test]
    fn names_each_removed_counter_once() {
        assert_eq!(removals(1), "#f0");
        assert_eq!(removals(3), "#f0, #f1, #f2");
    }
}
