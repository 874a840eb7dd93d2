//! What makes a record storable: the [`Entity`] trait and the field
//! encodings in [`codec`]. Below both `records` (which implements it) and
//! `store` (which reads and writes entities), so neither needs the other's
//! direction; `store` re-exports both at their old paths.

pub mod codec;

use crate::keys::IndexKey;
use serde::de::DeserializeOwned;
use serde::Serialize;

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
