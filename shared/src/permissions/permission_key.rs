//! Typed permission keys (`module.resource.action`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::catalog::{slot_defs, ActionDef, ActionKind, Module, ModuleDef, ResourceDef};

/// A catalog action, e.g. `crm.leads.view`. Only constructible from the
/// catalog: use the constants in [`actions`](super::actions) in code and
/// [`PermissionKey::parse`] (defined there, next to the table it reads) for
/// runtime strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PermissionKey {
    // Dense index first so ordering follows the catalog.
    index: usize,
    key: &'static str,
}

impl PermissionKey {
    /// A key at its dense index; only the constants in
    /// [`actions`](super::actions), expanded from the catalog's table, call it.
    pub(super) const fn from_table(index: usize, key: &'static str) -> PermissionKey {
        PermissionKey { index, key }
    }

    pub const fn as_str(self) -> &'static str {
        self.key
    }

    pub(crate) const fn index(self) -> usize {
        self.index
    }

    fn defs(self) -> (&'static ModuleDef, &'static ResourceDef, &'static ActionDef) {
        slot_defs(self.index())
    }

    pub fn kind(self) -> ActionKind {
        self.defs().2.kind
    }

    pub fn module_key(self) -> &'static str {
        self.defs().0.key
    }

    pub fn resource_key(self) -> &'static str {
        self.defs().1.key
    }

    pub fn action_key(self) -> &'static str {
        self.defs().2.key
    }

    /// The sellable module, or `None` for `administration`.
    pub fn module(self) -> Option<Module> {
        self.defs().0.module
    }

    /// Lower-case phrase for messages, e.g. "edit leads".
    pub fn describe(self) -> String {
        let (_, resource, action) = self.defs();
        format!("{} {}", action.key, resource.label.to_lowercase())
    }
}

impl fmt::Display for PermissionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key)
    }
}

impl fmt::Debug for PermissionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PermissionKey({})", self.key)
    }
}

impl Serialize for PermissionKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key)
    }
}

impl<'de> Deserialize<'de> for PermissionKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        PermissionKey::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown permission {s}")))
    }
}

#[cfg(test)]
mod tests {
    use super::super::actions;
    use super::super::catalog::{catalog, ACTION_COUNT};
    use super::*;

    /// Typed keys and the catalog cannot drift: each constant names a catalog
    /// action and each catalog action has exactly one constant.
    #[test]
    fn keys_match_catalog_both_ways() {
        assert_eq!(actions::ALL.len(), ACTION_COUNT);
        for key in actions::ALL {
            let (m, r, a) = (key.module_key(), key.resource_key(), key.action_key());
            let def = catalog()
                .module(m)
                .and_then(|m| m.resource(r))
                .and_then(|r| r.action(a));
            assert!(def.is_some(), "{key} not in catalog");
            assert_eq!(key.as_str(), format!("{m}.{r}.{a}"));
        }
        for action in catalog().actions() {
            let full = format!(
                "{}.{}.{}",
                action.module.key, action.resource.key, action.action.key
            );
            let matching: Vec<_> = actions::ALL.iter().filter(|k| k.as_str() == full).collect();
            assert_eq!(
                matching.len(),
                1,
                "{full} needs exactly one constant in keys"
            );
            assert_eq!(matching[0].index(), action.index);
        }
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(
            PermissionKey::parse("crm.leads.view"),
            Some(actions::CRM_LEADS_VIEW)
        );
        assert_eq!(PermissionKey::parse("crm.leads"), None);
        assert_eq!(PermissionKey::parse("crm.leads.fly"), None);
        assert_eq!(
            actions::ADMINISTRATION_USERS_MANAGE.to_string(),
            "administration.users.manage"
        );
        assert_eq!(actions::CRM_LEADS_EDIT.describe(), "edit leads");
        assert_eq!(actions::CRM_LEADS_EDIT.kind(), ActionKind::Scope);
        assert_eq!(actions::CRM_LEADS_CREATE.kind(), ActionKind::Boolean);
        assert_eq!(actions::CRM_LEADS_VIEW.module(), Some(Module::Crm));
        assert_eq!(actions::ADMINISTRATION_AUDIT_VIEW.module(), None);
        let json = serde_json::to_string(&actions::TASKS_TASKS_ASSIGN).unwrap();
        assert_eq!(json, "\"tasks.tasks.assign\"");
        assert_eq!(
            serde_json::from_str::<PermissionKey>(&json).unwrap(),
            actions::TASKS_TASKS_ASSIGN
        );
        assert!(serde_json::from_str::<PermissionKey>("\"crm.x.y\"").is_err());
    }
}
