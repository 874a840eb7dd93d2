//! What makes a record storable: the [`Entity`] trait and the field
//! encodings in [`codec`]. Below both `records` (which implements it) and
//! `store` (which reads and writes entities), so neither needs the other's
//! direction; `store` re-exports both at their old paths.

pub mod codec;

use crate::keys::IndexKey;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

/// Who a record belongs to, for the `own` and `team` permission scopes:
/// the store indexes it by owner (GSI1) and by team (GSI3) inside the
/// tenant, so that a scoped list reads only the records it may return
/// (`TenantStore::query_owned`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    /// Names the kind of record in the index keys, e.g. `CRM#LEAD`.
    pub collection: &'static str,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
}

/// A record type stored in the table.
pub trait Entity: Serialize + DeserializeOwned {
    /// Written to the `entity` attribute of every item of this type.
    const ENTITY: &'static str;

    /// The kind of item the record is stored as (a marker in
    /// [`crate::keys::kind`]): the store reads and writes it only under
    /// keys of that kind.
    type Kind;

    /// The GSI1 key, for records that a secondary access pattern needs.
    fn index_key(&self) -> Option<IndexKey> {
        None
    }

    /// The GSI3 key: a second platform-wide access pattern (sparse).
    fn platform_index_key(&self) -> Option<IndexKey> {
        None
    }

    /// A second sort key inside the record's own partition (GSI2), for a
    /// second listing order such as users by email.
    fn alt_sort_key(&self) -> Option<String> {
        None
    }

    /// A third order inside the partition (GSI4), e.g. leads by value.
    fn second_alt_sort_key(&self) -> Option<String> {
        None
    }

    /// Owner and team, for records listed under the `own` and `team`
    /// scopes. Such a record has no [`Self::index_key`] or
    /// [`Self::platform_index_key`]: the ownership indexes use those.
    fn ownership(&self) -> Option<Ownership> {
        None
    }

    /// Extra string attributes derived from the record, written with it but
    /// never read back, e.g. lower-cased names that a search filter matches.
    fn derived_attributes(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Epoch seconds after which the record counts as gone.
    fn expires_at(&self) -> Option<i64> {
        None
    }
}

/// Some attributes of an [`Entity`], read without the rest: a DynamoDB
/// projection of [`Part::ATTRIBUTES`], so the SDK decodes only what a view
/// shows (a role's permissions are most of its item).
pub trait Part: DeserializeOwned {
    /// The record this is a part of; it is read only under that record's keys.
    type Of: Entity;
    /// The attributes read (the store adds the keys and the expiry).
    const ATTRIBUTES: &'static [&'static str];
}
