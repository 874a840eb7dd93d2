//! Helpers for this crate's unit tests.

use std::collections::HashMap;

/// An environment of `pairs`, in the shape every `from_lookup` reads.
pub(crate) fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}
