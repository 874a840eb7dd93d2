use super::error::classify;
use super::{condition_expression, to_item, Condition, Entity, Store, StoreError, TenantScope};
use crate::keys::{self, PlatformKey, SortKey};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

/// An all-or-nothing write of up to 100 items.
///
/// Every operation carries a label; when conditions fail, the error lists
/// the labels of the failing operations so the caller can say which field
/// was taken (the slug, the email, ...).
pub struct Transaction<'s> {
    store: &'s Store,
    ops: Vec<(&'static str, TransactWriteItem)>,
    error: Option<StoreError>,
}

impl<'s> Transaction<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Self { store, ops: Vec::new(), error: None }
    }

    /// Writes a tenant-owned record.
    pub fn put<T: Entity>(
        &mut self,
        scope: &TenantScope,
        sk: &SortKey,
        record: &T,
        condition: Condition,
        label: &'static str,
    ) -> &mut Self {
        let pk = keys::tenant_pk(scope);
        self.push_put(&pk, sk.as_str(), record, condition, label)
    }

    /// Writes a platform-wide record, such as a uniqueness claim.
    pub fn put_platform<T: Entity>(
        &mut self,
        key: &PlatformKey,
        record: &T,
        condition: Condition,
        label: &'static str,
    ) -> &mut Self {
        self.push_put(key.pk(), key.sk(), record, condition, label)
    }

    /// Removes a platform-wide record, such as a released uniqueness claim.
    pub fn delete_platform(&mut self, key: &PlatformKey, label: &'static str) -> &mut Self {
        self.push_delete(key.pk(), key.sk(), Condition::Always, label)
    }

    /// Removes a tenant-owned record, if `condition` holds.
    pub fn delete(&mut self, scope: &TenantScope, sk: &SortKey, condition: Condition, label: &'static str) -> &mut Self {
        let pk = keys::tenant_pk(scope);
        self.push_delete(&pk, sk.as_str(), condition, label)
    }

    fn push_delete(&mut self, pk: &str, sk: &str, condition: Condition, label: &'static str) -> &mut Self {
        let (expr, values) = condition_expression(condition);
        let mut delete = Delete::builder()
            .table_name(self.store.table_name())
            .key(keys::PK, AttributeValue::S(pk.to_owned()))
            .key(keys::SK, AttributeValue::S(sk.to_owned()));
        if let Some(expr) = expr {
            delete = delete.condition_expression(expr);
        }
        if !values.is_empty() {
            delete = delete.set_expression_attribute_values(Some(values));
        }
        match delete.build() {
            Ok(d) => self.ops.push((label, TransactWriteItem::builder().delete(d).build())),
            Err(e) => self.error = Some(StoreError::Backend(e.to_string())),
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
        pk: &str,
        sk: &str,
        record: &T,
        condition: Condition,
        label: &'static str,
    ) -> &mut Self {
        if self.error.is_some() {
            return self;
        }
        let built = to_item(pk, sk, record).and_then(|item| {
            let (expr, values) = condition_expression(condition);
            let mut put = Put::builder().table_name(self.store.table_name()).set_item(Some(item));
            if let Some(expr) = expr {
                put = put.condition_expression(expr);
            }
            if !values.is_empty() {
                put = put.set_expression_attribute_values(Some(values));
            }
            put.build().map_err(|e| StoreError::Backend(e.to_string()))
        });
        match built {
            Ok(put) => self.ops.push((label, TransactWriteItem::builder().put(put).build())),
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
                    let failed: Vec<&'static str> = labels
                        .iter()
                        .zip(reasons)
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(l, _)| *l)
                        .collect();
                    if !failed.is_empty() {
                        Err(StoreError::TransactionConditionFailed(failed))
                    } else if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                        Err(StoreError::TransactionConflict)
                    } else {
                        Err(StoreError::Backend(format!("transaction cancelled: {cancelled:?}")))
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
