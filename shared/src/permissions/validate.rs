//! Validation of role permission JSON against the catalog.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::catalog::{catalog, dense_index, ActionKind, Scope};
use super::error::{PermissionError, PermissionErrors, EXPECTED_BOOL, EXPECTED_SCOPE};
use super::permission_key::PermissionKey;
use super::set::{Grant, PermissionSet};

/// Most keys accepted across all levels (the full catalog needs 5 + 13 + 42).
pub const MAX_KEYS: usize = 256;
/// Longest key accepted at any level, in characters.
pub const MAX_KEY_LEN: usize = 64;

/// Checks a role's permission JSON against the catalog and returns it as a
/// [`PermissionSet`], or every problem found, each with its path.
///
/// Depth is bounded by structure (module → resource → action → value; an
/// object where a value belongs is a type error, not recursed into), and key
/// count and length are capped before any lookup.
pub fn validate(value: &Value) -> Result<PermissionSet, PermissionErrors> {
    let Some(modules) = value.as_object() else {
        return Err(PermissionError::new("", "expected an object of modules").into());
    };
    let total = count_keys(modules);
    if total > MAX_KEYS {
        return Err(PermissionError::new(
            "",
            format!("too many keys ({total}); at most {MAX_KEYS} are allowed"),
        )
        .into());
    }

    let mut set = PermissionSet::empty();
    let mut errors = Vec::new();
    // Paths are built only for errors: this runs for every role read.
    for (module_key, resources) in modules {
        if let Some(err) = key_too_long(String::new, module_key) {
            errors.push(err);
            continue;
        }
        let Some(module) = catalog().module(module_key) else {
            errors.push(PermissionError::new(module_key.as_str(), "unknown module"));
            continue;
        };
        let Some(resources) = resources.as_object() else {
            errors.push(PermissionError::new(
                module_key.as_str(),
                "expected an object of resources",
            ));
            continue;
        };
        for (resource_key, actions) in resources {
            if let Some(err) = key_too_long(|| module_key.clone(), resource_key) {
                errors.push(err);
                continue;
            }
            let resource_path = || format!("{module_key}.{resource_key}");
            let Some(resource) = module.resource(resource_key) else {
                errors.push(PermissionError::new(resource_path(), "unknown resource"));
                continue;
            };
            let Some(actions) = actions.as_object() else {
                errors.push(PermissionError::new(
                    resource_path(),
                    "expected an object of actions",
                ));
                continue;
            };
            for (action_key, grant) in actions {
                if let Some(err) = key_too_long(resource_path, action_key) {
                    errors.push(err);
                    continue;
                }
                let Some((index, action)) = dense_index(resource, action_key) else {
                    let path = format!("{module_key}.{resource_key}.{action_key}");
                    errors.push(PermissionError::new(path, "unknown action"));
                    continue;
                };
                match parse_grant(action.kind, grant) {
                    Ok(grant) => {
                        if let Err(err) = set.set(PermissionKey::at(index), grant) {
                            errors.push(err);
                        }
                    }
                    Err(message) => {
                        let path = format!("{module_key}.{resource_key}.{action_key}");
                        errors.push(PermissionError::new(path, message));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(PermissionErrors(errors))
    }
}

// Here rather than in `set`, which sits below the validation.
impl<'de> Deserialize<'de> for PermissionSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Via a Value so the same validation (and messages) apply everywhere.
        let value = serde_json::Value::deserialize(deserializer)?;
        validate(&value).map_err(serde::de::Error::custom)
    }
}

fn count_keys(modules: &Map<String, Value>) -> usize {
    let mut total = modules.len();
    for resources in modules.values().filter_map(Value::as_object) {
        total += resources.len();
        total += resources
            .values()
            .filter_map(Value::as_object)
            .map(Map::len)
            .sum::<usize>();
    }
    total
}

/// `parent` makes the parent's path, only for an error.
fn key_too_long(parent: impl FnOnce() -> String, key: &str) -> Option<PermissionError> {
    if key.len() <= MAX_KEY_LEN || key.chars().count() <= MAX_KEY_LEN {
        return None;
    }
    // Echo only a prefix: the point of the limit is not to reflect huge keys.
    let prefix: String = key.chars().take(16).collect();
    let parent = parent();
    let path = if parent.is_empty() {
        format!("{prefix}…")
    } else {
        format!("{parent}.{prefix}…")
    };
    Some(PermissionError::new(
        path,
        format!("key is longer than {MAX_KEY_LEN} characters"),
    ))
}

fn parse_grant(kind: ActionKind, value: &Value) -> Result<Option<Grant>, &'static str> {
    match (kind, value) {
        (ActionKind::Scope, Value::Null) => Ok(None),
        (ActionKind::Scope, Value::String(s)) => Scope::parse(s)
            .map(|s| Some(Grant::Scope(s)))
            .ok_or(EXPECTED_SCOPE),
        (ActionKind::Scope, _) => Err(EXPECTED_SCOPE),
        (ActionKind::Boolean, Value::Bool(b)) => Ok(Some(Grant::Bool(*b))),
        (ActionKind::Boolean, _) => Err(EXPECTED_BOOL),
    }
}

#[cfg(test)]
mod tests {
    use super::super::actions;
    use super::*;
    use serde_json::json;

    fn errors(value: Value) -> Vec<String> {
        validate(&value).unwrap_err().to_strings()
    }

    #[test]
    fn accepts_the_example() {
        let set = validate(&json!({"crm": {"leads": {"view": "team", "create": true}}})).unwrap();
        assert_eq!(set.scope(actions::CRM_LEADS_VIEW), Some(Scope::Team));
        assert!(set.allows(actions::CRM_LEADS_CREATE));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn empty_false_and_null_mean_not_granted() {
        assert!(validate(&json!({})).unwrap().is_empty());
        let set = validate(&json!({
            "crm": {"leads": {"view": null, "create": false}, "payments": {}},
            "whatsapp": {}
        }))
        .unwrap();
        assert!(set.is_empty());
    }

    #[test]
    fn error_table() {
        let cases: &[(Value, &[&str])] = &[
            (
                json!({"crm": {"leads": {"view": "everyone"}}}),
                &["crm.leads.view: expected one of own, team, all"],
            ),
            (
                json!({"crm": {"leads": {"view": true}}}),
                &["crm.leads.view: expected one of own, team, all"],
            ),
            (
                json!({"crm": {"leads": {"view": false}}}),
                &["crm.leads.view: expected one of own, team, all"],
            ),
            (
                json!({"crm": {"leads": {"view": 3}}}),
                &["crm.leads.view: expected one of own, team, all"],
            ),
            (
                json!({"crm": {"leads": {"view": {"deep": "all"}}}}),
                &["crm.leads.view: expected one of own, team, all"],
            ),
            (
                json!({"crm": {"leads": {"create": "all"}}}),
                &["crm.leads.create: expected true or false"],
            ),
            (
                json!({"crm": {"leads": {"create": null}}}),
                &["crm.leads.create: expected true or false"],
            ),
            (
                json!({"crm": {"leads": {"create": "true"}}}),
                &["crm.leads.create: expected true or false"],
            ),
            (
                json!({"crm": {"leadz": {"view": "all"}}}),
                &["crm.leadz: unknown resource"],
            ),
            (
                json!({"crm": {"leads": {"fly": true}}}),
                &["crm.leads.fly: unknown action"],
            ),
            (json!({"hr": {}}), &["hr: unknown module"]),
            (
                json!({"crm": []}),
                &["crm: expected an object of resources"],
            ),
            (
                json!({"crm": null}),
                &["crm: expected an object of resources"],
            ),
            (
                json!({"crm": {"leads": "all"}}),
                &["crm.leads: expected an object of actions"],
            ),
            (json!([]), &["expected an object of modules"]),
            (json!("crm.leads.view"), &["expected an object of modules"]),
            (json!(null), &["expected an object of modules"]),
            (
                json!({"administration": {"users": {"view": "all"}}}),
                &["administration.users.view: expected true or false"],
            ),
            (
                json!({"meetings": {"meetings": {"delete": true}}}),
                &["meetings.meetings.delete: expected one of own, team, all"],
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(errors(value.clone()), *expected, "for {value}");
        }
    }

    #[test]
    fn collects_every_error() {
        let got = errors(json!({
            "crm": {
                "leads": {"view": "everyone", "create": "yes", "fly": true, "edit": "own"},
                "leadz": {}
            },
            "hr": {},
            "tasks": 1
        }));
        let mut got = got;
        got.sort();
        assert_eq!(
            got,
            [
                "crm.leads.create: expected true or false",
                "crm.leads.fly: unknown action",
                "crm.leads.view: expected one of own, team, all",
                "crm.leadz: unknown resource",
                "hr: unknown module",
                "tasks: expected an object of resources",
            ]
        );
    }

    #[test]
    fn size_limits() {
        let many: Map<String, Value> = (0..MAX_KEYS + 1)
            .map(|i| (format!("m{i}"), json!({})))
            .collect();
        assert_eq!(
            errors(Value::Object(many)),
            [format!(
                "too many keys ({}); at most 256 are allowed",
                MAX_KEYS + 1
            )]
        );

        // Keys are counted across levels, not per object.
        let actions: Map<String, Value> =
            (0..200).map(|i| (format!("a{i}"), json!(true))).collect();
        let resources: Map<String, Value> = (0..2)
            .map(|i| (format!("r{i}"), Value::Object(actions.clone())))
            .collect();
        let errs = errors(json!({"crm": resources}));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("too many keys (403)"), "{errs:?}");

        let long = "x".repeat(MAX_KEY_LEN + 1);
        assert_eq!(
            errors(json!({ long.clone(): {} })),
            ["xxxxxxxxxxxxxxxx…: key is longer than 64 characters"]
        );
        assert_eq!(
            errors(json!({"crm": {"leads": { long.clone(): true }}})),
            ["crm.leads.xxxxxxxxxxxxxxxx…: key is longer than 64 characters"]
        );
        // Exactly at the limit is only an unknown key.
        let at_limit = "y".repeat(MAX_KEY_LEN);
        assert_eq!(
            errors(json!({"crm": { at_limit.clone(): {} }})),
            [format!("crm.{at_limit}: unknown resource")]
        );
    }

    #[test]
    fn full_catalog_fits_the_key_limit() {
        let full = serde_json::to_value(super::super::templates::admin_permissions()).unwrap();
        let Value::Object(modules) = &full else {
            panic!("object")
        };
        assert!(count_keys(modules) <= MAX_KEYS);
        assert!(validate(&full).is_ok());
    }

    #[test]
    fn errors_convert_to_strings_and_json() {
        let err = validate(&json!({"crm": {"leadz": {}}, "hr": {}})).unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!(
            err.to_string(),
            "crm.leadz: unknown resource; hr: unknown module"
        );
        assert_eq!(
            serde_json::to_value(json!({"permissions": &err})).unwrap(),
            json!({"permissions": ["crm.leadz: unknown resource", "hr: unknown module"]})
        );
        let strings: Vec<String> = err.clone().into();
        assert_eq!(strings, err.to_strings());
        assert_eq!(
            err.iter().next().map(|e| e.path.as_str()),
            Some("crm.leadz")
        );
    }
}
