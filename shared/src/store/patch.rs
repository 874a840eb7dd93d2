//! Partial updates: set or add a few attributes of an item under conditions
//! on its stored state, without writing back a copy of the whole record
//! (a copy would undo whatever changed since it was read).

use super::{Item, StoreError};
use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Check {
    Exists,
    Eq(&'static str, AttributeValue),
    /// Missing, or stored as null (serde's `None`).
    Absent(&'static str),
    Positive(&'static str),
}

/// Attributes to set or add, and what the stored item must satisfy. Field
/// names come from code, never from requests.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    sets: Vec<(&'static str, AttributeValue)>,
    adds: Vec<(&'static str, i64)>,
    checks: Vec<Check>,
    error: Option<String>,
}

/// The pieces of an `UpdateItem` or `ConditionCheck`.
pub(crate) struct PatchParts {
    pub update: Option<String>,
    pub condition: Option<String>,
    /// `None` when empty: DynamoDB refuses empty expression maps.
    pub names: Option<HashMap<String, String>>,
    pub values: Option<Item>,
}

impl Patch {
    pub fn new() -> Self {
        Self::default()
    }

    fn value<V: Serialize>(&mut self, value: &V) -> AttributeValue {
        match serde_dynamo::to_attribute_value(value) {
            Ok(v) => v,
            Err(e) => {
                self.error = Some(e.to_string());
                AttributeValue::Null(true)
            }
        }
    }

    /// Sets an attribute to the value, serialised as the store serialises
    /// records (pass timestamps already formatted).
    pub fn set<V: Serialize>(mut self, field: &'static str, value: &V) -> Self {
        let v = self.value(value);
        self.sets.push((field, v));
        self
    }

    /// Adds to a numeric attribute (a missing one counts as 0).
    pub fn add(mut self, field: &'static str, delta: i64) -> Self {
        self.adds.push((field, delta));
        self
    }

    /// The item must exist (otherwise an update would create it).
    pub fn if_exists(mut self) -> Self {
        self.checks.push(Check::Exists);
        self
    }

    /// The item must not exist (a check that an email is still unclaimed).
    pub fn if_missing(mut self) -> Self {
        self.checks.push(Check::Absent(crate::keys::PK));
        self
    }

    /// The stored attribute must equal the value; a value that serialises
    /// to null requires the attribute to be missing or null.
    pub fn if_eq<V: Serialize>(mut self, field: &'static str, value: &V) -> Self {
        let v = self.value(value);
        let check = match v {
            AttributeValue::Null(_) => Check::Absent(field),
            v => Check::Eq(field, v),
        };
        self.checks.push(check);
        self
    }

    /// The stored number must be above zero.
    pub fn if_positive(mut self, field: &'static str) -> Self {
        self.checks.push(Check::Positive(field));
        self
    }

    pub(crate) fn parts(&self) -> Result<PatchParts, StoreError> {
        if let Some(e) = &self.error {
            return Err(StoreError::Backend(format!("patch value: {e}").into()));
        }
        let mut names = HashMap::new();
        let mut values = Item::new();
        let mut sets = Vec::new();
        for (i, (field, value)) in self.sets.iter().enumerate() {
            names.insert(format!("#s{i}"), (*field).to_owned());
            values.insert(format!(":s{i}"), value.clone());
            sets.push(format!("#s{i} = :s{i}"));
        }
        let mut adds = Vec::new();
        for (i, (field, delta)) in self.adds.iter().enumerate() {
            names.insert(format!("#a{i}"), (*field).to_owned());
            values.insert(format!(":a{i}"), AttributeValue::N(delta.to_string()));
            adds.push(format!("#a{i} :a{i}"));
        }
        let mut update = Vec::new();
        if !sets.is_empty() {
            update.push(format!("SET {}", sets.join(", ")));
        }
        if !adds.is_empty() {
            update.push(format!("ADD {}", adds.join(", ")));
        }
        let mut conditions = Vec::new();
        for (i, check) in self.checks.iter().enumerate() {
            match check {
                Check::Exists => {
                    names.insert("#pk".to_owned(), keys::PK.to_owned());
                    conditions.push("attribute_exists(#pk)".to_owned());
                }
                Check::Eq(field, value) => {
                    names.insert(format!("#c{i}"), (*field).to_owned());
                    values.insert(format!(":c{i}"), value.clone());
                    conditions.push(format!("#c{i} = :c{i}"));
                }
                Check::Positive(field) => {
                    names.insert(format!("#c{i}"), (*field).to_owned());
                    values.insert(":zero".to_owned(), AttributeValue::N("0".into()));
                    conditions.push(format!("#c{i} > :zero"));
                }
                Check::Absent(field) => {
                    names.insert(format!("#c{i}"), (*field).to_owned());
                    values.insert(":null_type".to_owned(), AttributeValue::S("NULL".into()));
                    conditions.push(format!(
                        "(attribute_not_exists(#c{i}) OR attribute_type(#c{i}, :null_type))"
                    ));
                }
            }
        }
        Ok(PatchParts {
            update: (!update.is_empty()).then(|| update.join(" ")),
            condition: (!conditions.is_empty()).then(|| conditions.join(" AND ")),
            names: (!names.is_empty()).then_some(names),
            values: (!values.is_empty()).then_some(values),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_one_update_with_its_conditions() {
        let none: Option<String> = None;
        let parts = Patch::new()
            .set("revoked", &true)
            .add("version", 1)
            .if_exists()
            .if_eq("current_jti", &"j1")
            .if_eq("sessions_valid_after", &none)
            .parts()
            .unwrap();
        assert_eq!(parts.update.as_deref(), Some("SET #s0 = :s0 ADD #a0 :a0"));
        assert_eq!(
            parts.condition.as_deref(),
            Some(
                "attribute_exists(#pk) AND #c1 = :c1 AND \
                 (attribute_not_exists(#c2) OR attribute_type(#c2, :null_type))"
            )
        );
        let (names, values) = (parts.names.unwrap(), parts.values.unwrap());
        assert_eq!(values[":s0"], AttributeValue::Bool(true));
        assert_eq!(values[":c1"], AttributeValue::S("j1".into()));
        assert_eq!(names["#c2"], "sessions_valid_after");
    }
}
