//! A stored role's permissions, read in one pass.
//!
//! A submitted permission document goes through [`validate`](super::validate)
//! on a `serde_json::Value`, which gathers every problem with its path for
//! the 400 answer. Stored documents were validated when written, and every
//! role read (lists, login, the no-escalation checks) decoded them through
//! that tree too: about a sixth of a roles page. This decoder walks the
//! nested maps as they arrive, finds each action's index as validation does,
//! and fails on the first problem; the tests hold it to [`validate`].
//! Use with `#[serde(deserialize_with = "permissions::stored::deserialize")]`.

use super::catalog::{catalog, dense_index, ActionKind, ModuleDef, ResourceDef, Scope};
use super::error::{EXPECTED_BOOL, EXPECTED_SCOPE};
use super::permission_key::PermissionKey;
use super::set::{Grant, PermissionSet};
use super::validate::MAX_KEYS;
use serde::de::{DeserializeSeed, Error, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PermissionSet, D::Error> {
    let mut walk = Walk {
        set: PermissionSet::empty(),
        keys: 0,
    };
    d.deserialize_map(Level {
        walk: &mut walk,
        at: At::Modules,
    })?;
    Ok(walk.set)
}

/// What the walk has built, and how many keys it has seen.
struct Walk {
    set: PermissionSet,
    keys: usize,
}

/// Which level of the document a map is.
#[derive(Clone, Copy)]
enum At {
    Modules,
    Resources(&'static ModuleDef),
    Actions(&'static ResourceDef),
}

struct Level<'w> {
    walk: &'w mut Walk,
    at: At,
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self.at {
            At::Modules => "an object of modules",
            At::Resources(_) => "an object of resources",
            At::Actions(_) => "an object of actions",
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            self.walk.keys += 1;
            if self.walk.keys > MAX_KEYS {
                return Err(A::Error::custom(format!(
                    "more than {MAX_KEYS} permission keys"
                )));
            }
            match self.at {
                At::Modules => {
                    let module = catalog()
                        .module(&key)
                        .ok_or_else(|| A::Error::custom(format!("{key}: unknown module")))?;
                    map.next_value_seed(Level {
                        walk: self.walk,
                        at: At::Resources(module),
                    })?;
                }
                At::Resources(module) => {
                    let resource = module
                        .resource(&key)
                        .ok_or_else(|| A::Error::custom(format!("{key}: unknown resource")))?;
                    map.next_value_seed(Level {
                        walk: self.walk,
                        at: At::Actions(resource),
                    })?;
                }
                At::Actions(resource) => {
                    let (index, action) = dense_index(resource, &key)
                        .ok_or_else(|| A::Error::custom(format!("{key}: unknown action")))?;
                    let grant = match action.kind {
                        ActionKind::Scope => match map.next_value::<Option<Key>>()? {
                            None => None,
                            Some(Key(s)) => Some(Grant::Scope(
                                Scope::parse(&s).ok_or_else(|| A::Error::custom(EXPECTED_SCOPE))?,
                            )),
                        },
                        ActionKind::Boolean => Some(Grant::Bool(
                            map.next_value::<bool>()
                                .map_err(|_| A::Error::custom(EXPECTED_BOOL))?,
                        )),
                    };
                    self.walk
                        .set
                        .set(PermissionKey::at(index), grant)
                        .map_err(A::Error::custom)?;
                }
            }
        }
        Ok(())
    }
}

/// A key or a scope, borrowed from the input when it can be.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{admin_permissions, validate};
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use serde_json::{json, Value};
    use std::collections::HashMap;

    #[derive(Deserialize)]
    struct Stored {
        #[serde(deserialize_with = "super::deserialize")]
        permissions: PermissionSet,
    }

    /// `doc` read from JSON and from a DynamoDB item, as the store reads.
    fn read(doc: &Value) -> [Result<PermissionSet, String>; 2] {
        let from_json = serde_json::from_value::<Stored>(json!({ "permissions": doc }))
            .map(|s| s.permissions)
            .map_err(|e| e.to_string());
        let item: Result<HashMap<String, AttributeValue>, _> =
            serde_dynamo::to_item(json!({ "permissions": doc }));
        let from_item = item
            .map_err(|e| e.to_string())
            .and_then(|item| serde_dynamo::from_item::<_, Stored>(item).map_err(|e| e.to_string()))
            .map(|s| s.permissions);
        [from_json, from_item]
    }

    #[test]
    fn reads_what_validation_accepts_the_same() {
        let admin = serde_json::to_value(admin_permissions()).unwrap();
        let docs = [
            json!({}),
            json!({"crm": {"leads": {"view": "team", "create": true}}}),
            json!({"crm": {"leads": {"view": null, "create": false}, "payments": {}}, "whatsapp": {}}),
            json!({"administration": {"users": {"view": true}}, "crm": {"leads": {"view": "own"}}}),
            admin,
        ];
        for doc in &docs {
            let expected = validate(doc).unwrap();
            for got in read(doc) {
                assert!(got.as_ref() == Ok(&expected), "{doc}: {got:?}");
            }
        }
    }

    #[test]
    fn refuses_what_validation_refuses() {
        let many: serde_json::Map<String, Value> =
            (0..300).map(|i| (format!("m{i}"), json!({}))).collect();
        let docs = [
            json!([]),
            json!({"crm": []}),
            json!({"crm": {"leads": []}}),
            json!({"nope": {}}),
            json!({"crm": {"nope": {}}}),
            json!({"crm": {"leads": {"nope": true}}}),
            json!({"crm": {"leads": {"view": "everyone"}}}),
            json!({"crm": {"leads": {"view": true}}}),
            json!({"crm": {"leads": {"view": 3}}}),
            json!({"crm": {"leads": {"create": "all"}}}),
            json!({"crm": {"leads": {"create": null}}}),
            json!({"crm": {"leads": {"view": {"deep": "all"}}}}),
            Value::Object(many),
        ];
        for doc in &docs {
            assert!(validate(doc).is_err(), "{doc}");
            for got in read(doc) {
                assert!(got.is_err(), "{doc}: {got:?}");
            }
        }
    }
}
