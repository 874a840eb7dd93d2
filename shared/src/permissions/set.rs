//! Permission sets, role merging and module gating.

use std::fmt;

use serde::de::{self, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::catalog::{catalog, slot_defs, ActionKind, Module, Scope, ACTION_COUNT, SLOTS};
use super::error::{PermissionError, EXPECTED_BOOL, EXPECTED_SCOPE};
use super::permission_key::PermissionKey;

/// A granted value: `true` for boolean actions, a scope for scope actions.
/// Serialised untagged, as it appears in role and token JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Grant {
    Bool(bool),
    Scope(Scope),
}

// By hand: serde's untagged enums buffer every value, and tokens are decoded
// on every request.
impl<'de> Deserialize<'de> for Grant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GrantVisitor;

        impl Visitor<'_> for GrantVisitor {
            type Value = Grant;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or one of own, team, all")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Grant, E> {
                Ok(Grant::Bool(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Grant, E> {
                Scope::parse(v)
                    .map(Grant::Scope)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }

        deserializer.deserialize_any(GrantVisitor)
    }
}

/// Every catalog action's grant for one role or user.
///
/// Stored densely (one byte per catalog action: 0 = not granted, 1..=3 =
/// own/team/all, 1 = true for booleans) so merging and gating are a few
/// dozen byte operations. Serialises to the nested form
/// `{"crm": {"leads": {"view": "team", "create": true}}}` with only granted
/// entries; deserialising validates against the catalog.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PermissionSet {
    levels: [u8; ACTION_COUNT],
}

impl Default for PermissionSet {
    fn default() -> Self {
        Self::empty()
    }
}

impl PermissionSet {
    /// Nothing granted.
    pub const fn empty() -> Self {
        PermissionSet {
            levels: [0; ACTION_COUNT],
        }
    }

    pub(crate) fn level(&self, key: PermissionKey) -> u8 {
        self.levels[key.index()]
    }

    /// The grant for `key`, or `None` when not granted.
    pub fn get(&self, key: PermissionKey) -> Option<Grant> {
        decode(key.kind(), self.level(key))
    }

    /// The scope held for a scope action (`None` for none or booleans).
    pub fn scope(&self, key: PermissionKey) -> Option<Scope> {
        match self.get(key) {
            Some(Grant::Scope(scope)) => Some(scope),
            _ => None,
        }
    }

    /// Whether `key` is granted at all (any scope, or `true`).
    pub fn allows(&self, key: PermissionKey) -> bool {
        self.level(key) > 0
    }

    /// Sets or clears (`None`, `Some(Grant::Bool(false))`) a grant; fails if
    /// the grant's kind does not match the action.
    pub fn set(&mut self, key: PermissionKey, grant: Option<Grant>) -> Result<(), PermissionError> {
        self.levels[key.index()] = encode(key, grant)?;
        Ok(())
    }

    /// Builder form of [`PermissionSet::set`].
    pub fn with(mut self, key: PermissionKey, grant: Grant) -> Result<Self, PermissionError> {
        self.set(key, Some(grant))?;
        Ok(self)
    }

    /// Granted entries in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = (PermissionKey, Grant)> + '_ {
        self.levels.iter().enumerate().filter_map(|(i, &level)| {
            let key = PermissionKey::at(i);
            decode(key.kind(), level).map(|grant| (key, grant))
        })
    }

    /// Number of granted entries.
    pub fn len(&self) -> usize {
        self.levels.iter().filter(|&&l| l > 0).count()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.iter().all(|&l| l == 0)
    }

    /// Least upper bound: highest scope per action, booleans OR-ed.
    pub fn union(&self, other: &PermissionSet) -> PermissionSet {
        let mut out = self.clone();
        out.union_in_place(other);
        out
    }

    pub fn union_in_place(&mut self, other: &PermissionSet) {
        for (mine, theirs) in self.levels.iter_mut().zip(other.levels.iter()) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// Whether every grant here is also held (at least as widely) by `other`.
    pub fn is_subset_of(&self, other: &PermissionSet) -> bool {
        self.levels
            .iter()
            .zip(other.levels.iter())
            .all(|(a, b)| a <= b)
    }

    /// Whether every `administration` action is granted.
    pub fn is_tenant_admin(&self) -> bool {
        self.levels
            .iter()
            .enumerate()
            .all(|(i, &level)| slot_defs(i).0.module.is_some() || level > 0)
    }
}

fn decode(kind: ActionKind, level: u8) -> Option<Grant> {
    match (kind, level) {
        (_, 0) => None,
        (ActionKind::Boolean, _) => Some(Grant::Bool(true)),
        (ActionKind::Scope, level) => Scope::from_level(level).map(Grant::Scope),
    }
}

fn encode(key: PermissionKey, grant: Option<Grant>) -> Result<u8, PermissionError> {
    match (key.kind(), grant) {
        (_, None) => Ok(0),
        (ActionKind::Boolean, Some(Grant::Bool(b))) => Ok(u8::from(b)),
        (ActionKind::Scope, Some(Grant::Scope(scope))) => Ok(scope.level()),
        (ActionKind::Boolean, Some(Grant::Scope(_))) => {
            Err(PermissionError::new(key.as_str(), EXPECTED_BOOL))
        }
        (ActionKind::Scope, Some(Grant::Bool(_))) => {
            Err(PermissionError::new(key.as_str(), EXPECTED_SCOPE))
        }
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, g)| (k.as_str(), g)))
            .finish()
    }
}

/// A role as the merge sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoleGrants {
    pub id: String,
    pub name: String,
    pub is_active: bool,
    pub permissions: PermissionSet,
}

/// Effective permissions of a user from their roles: per action the highest
/// scope wins and booleans are OR-ed; inactive roles contribute nothing.
/// A join over a lattice, hence commutative, associative, idempotent and
/// monotone (see `tests/props/main.rs`).
pub fn merge<'a>(roles: impl IntoIterator<Item = &'a RoleGrants>) -> PermissionSet {
    let mut out = PermissionSet::empty();
    for role in roles {
        if role.is_active {
            out.union_in_place(&role.permissions);
        }
    }
    out
}

/// Drops every module the tenant has not enabled; `administration` always stays.
pub fn gate(permissions: &PermissionSet, enabled_modules: &[Module]) -> PermissionSet {
    let mut out = permissions.clone();
    for (level, slot) in out.levels.iter_mut().zip(SLOTS.iter()) {
        let module = catalog().modules[slot.module].module;
        if let Some(module) = module {
            if !enabled_modules.contains(&module) {
                *level = 0;
            }
        }
    }
    out
}

// Nested serialisation: views over the dense array, emitting only granted
// actions and skipping empty resources and modules.

struct ResourceView<'a> {
    set: &'a PermissionSet,
    start: usize,
    len: usize,
}

impl Serialize for ResourceView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for i in self.start..self.start + self.len {
            let key = PermissionKey::at(i);
            if let Some(grant) = decode(key.kind(), self.set.levels[i]) {
                map.serialize_entry(key.action_key(), &grant)?;
            }
        }
        map.end()
    }
}

struct ModuleView<'a> {
    set: &'a PermissionSet,
    module: usize,
    start: usize,
}

impl Serialize for ModuleView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let mut start = self.start;
        for resource in catalog().modules[self.module].resources {
            let len = resource.actions.len();
            if self.set.levels[start..start + len].iter().any(|&l| l > 0) {
                map.serialize_entry(
                    resource.key,
                    &ResourceView {
                        set: self.set,
                        start,
                        len,
                    },
                )?;
            }
            start += len;
        }
        map.end()
    }
}

impl Serialize for PermissionSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let mut start = 0;
        for (index, module) in catalog().modules.iter().enumerate() {
            let len: usize = module.resources.iter().map(|r| r.actions.len()).sum();
            if self.levels[start..start + len].iter().any(|&l| l > 0) {
                map.serialize_entry(
                    module.key,
                    &ModuleView {
                        set: self,
                        module: index,
                        start,
                    },
                )?;
            }
            start += len;
        }
        map.end()
    }
}

impl PartialSchema for PermissionSet {
    fn schema() -> RefOr<Schema> {
        let actions = ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(Grant::schema()));
        let resources = ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(actions));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(resources))
            .description(Some(
                "module -> resource -> action -> grant; scope actions take own/team/all \
                 (or null), boolean actions take true/false",
            ))
            .examples([serde_json::json!({"crm": {"leads": {"view": "team", "create": true}}})])
            .into()
    }
}

impl ToSchema for PermissionSet {}

#[cfg(test)]
mod tests {
    use super::super::actions;
    use super::*;
    use serde_json::json;

    fn role(name: &str, active: bool, permissions: PermissionSet) -> RoleGrants {
        RoleGrants {
            id: format!("id-{name}"),
            name: name.into(),
            is_active: active,
            permissions,
        }
    }

    fn set(entries: &[(PermissionKey, Grant)]) -> PermissionSet {
        let mut s = PermissionSet::empty();
        for &(k, g) in entries {
            s.set(k, Some(g)).unwrap();
        }
        s
    }

    #[test]
    fn nested_json_round_trip() {
        let value = json!({"crm": {"leads": {"view": "team", "create": true}}, "tasks": {"tasks": {"assign": true}}});
        let s: PermissionSet = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(
            s.get(actions::CRM_LEADS_VIEW),
            Some(Grant::Scope(Scope::Team))
        );
        assert_eq!(s.get(actions::CRM_LEADS_CREATE), Some(Grant::Bool(true)));
        assert_eq!(s.get(actions::CRM_LEADS_EDIT), None);
        assert_eq!(serde_json::to_value(&s).unwrap(), value);
        assert_eq!(
            serde_json::to_string(&PermissionSet::empty()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn false_and_null_are_dropped_when_serialising() {
        let s: PermissionSet =
            serde_json::from_value(json!({"crm": {"leads": {"view": null, "create": false}}}))
                .unwrap();
        assert!(s.is_empty());
        assert_eq!(serde_json::to_value(&s).unwrap(), json!({}));
    }

    #[test]
    fn deserialising_invalid_json_fails_with_paths() {
        let err =
            serde_json::from_value::<PermissionSet>(json!({"crm": {"leads": {"view": true}}}))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("crm.leads.view: expected one of own, team, all"),
            "{err}"
        );
    }

    #[test]
    fn set_rejects_kind_mismatch() {
        let mut s = PermissionSet::empty();
        let err = s
            .set(actions::CRM_LEADS_VIEW, Some(Grant::Bool(true)))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "crm.leads.view: expected one of own, team, all"
        );
        let err = s
            .set(actions::CRM_LEADS_CREATE, Some(Grant::Scope(Scope::All)))
            .unwrap_err();
        assert_eq!(err.to_string(), "crm.leads.create: expected true or false");
        s.set(actions::CRM_LEADS_CREATE, Some(Grant::Bool(false)))
            .unwrap();
        assert!(s.is_empty());
    }

    #[test]
    fn merge_takes_highest_scope_and_ors_booleans() {
        let a = set(&[
            (actions::CRM_LEADS_VIEW, Grant::Scope(Scope::Own)),
            (actions::CRM_LEADS_CREATE, Grant::Bool(true)),
        ]);
        let b = set(&[
            (actions::CRM_LEADS_VIEW, Grant::Scope(Scope::Team)),
            (actions::TASKS_TASKS_EDIT, Grant::Scope(Scope::All)),
        ]);
        let merged = merge(&[role("a", true, a), role("b", true, b)]);
        assert_eq!(merged.scope(actions::CRM_LEADS_VIEW), Some(Scope::Team));
        assert_eq!(
            merged.get(actions::CRM_LEADS_CREATE),
            Some(Grant::Bool(true))
        );
        assert_eq!(merged.scope(actions::TASKS_TASKS_EDIT), Some(Scope::All));
        assert_eq!(merged.len(), 3);
    }

    #[test]
    fn inactive_roles_contribute_nothing() {
        let a = set(&[(actions::CRM_LEADS_VIEW, Grant::Scope(Scope::Own))]);
        let b = set(&[
            (actions::CRM_LEADS_VIEW, Grant::Scope(Scope::All)),
            (actions::CRM_LEADS_DELETE, Grant::Bool(true)),
        ]);
        let merged = merge(&[role("a", true, a.clone()), role("b", false, b)]);
        assert_eq!(merged, a);
        assert!(merge(&[]).is_empty());
    }

    #[test]
    fn gating_keeps_enabled_modules_and_administration() {
        let s = set(&[
            (actions::CRM_LEADS_VIEW, Grant::Scope(Scope::All)),
            (actions::WHATSAPP_MESSAGES_SEND, Grant::Bool(true)),
            (actions::MEETINGS_MEETINGS_CANCEL, Grant::Scope(Scope::Own)),
            (actions::TASKS_TASKS_ASSIGN, Grant::Bool(true)),
            (actions::ADMINISTRATION_USERS_MANAGE, Grant::Bool(true)),
        ]);
        let gated = gate(&s, &[Module::Crm, Module::Tasks]);
        assert!(gated.allows(actions::CRM_LEADS_VIEW));
        assert!(gated.allows(actions::TASKS_TASKS_ASSIGN));
        assert!(gated.allows(actions::ADMINISTRATION_USERS_MANAGE));
        assert!(!gated.allows(actions::WHATSAPP_MESSAGES_SEND));
        assert!(!gated.allows(actions::MEETINGS_MEETINGS_CANCEL));
        assert_eq!(gated.len(), 3);

        let only_admin = gate(&s, &[]);
        assert_eq!(
            only_admin.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            [actions::ADMINISTRATION_USERS_MANAGE]
        );
        assert_eq!(gate(&s, &Module::ALL), s);
        assert!(gated.is_subset_of(&s));
    }

    #[test]
    fn tenant_admin_needs_every_administration_grant() {
        let mut s = PermissionSet::empty();
        for key in actions::ALL.iter().filter(|k| k.module().is_none()) {
            s.set(*key, Some(Grant::Bool(true))).unwrap();
        }
        assert!(s.is_tenant_admin());
        s.set(actions::ADMINISTRATION_AUDIT_MANAGE, None).unwrap();
        assert!(!s.is_tenant_admin());
        assert!(!PermissionSet::empty().is_tenant_admin());
    }

    #[test]
    fn grant_json() {
        for (json, grant) in [
            (json!(true), Grant::Bool(true)),
            (json!(false), Grant::Bool(false)),
            (json!("own"), Grant::Scope(Scope::Own)),
            (json!("team"), Grant::Scope(Scope::Team)),
            (json!("all"), Grant::Scope(Scope::All)),
        ] {
            assert_eq!(
                serde_json::from_value::<Grant>(json.clone()).unwrap(),
                grant
            );
            assert_eq!(serde_json::to_value(grant).unwrap(), json);
        }
        for bad in [
            json!("none"),
            json!(null),
            json!(1),
            json!({}),
            json!(["all"]),
        ] {
            assert!(
                serde_json::from_value::<Grant>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_is_readable() {
        let s = set(&[(actions::CRM_LEADS_VIEW, Grant::Scope(Scope::Team))]);
        assert_eq!(format!("{s:?}"), r#"{"crm.leads.view": Scope(Team)}"#);
    }

    #[test]
    fn schema_is_nested_maps() {
        let schema = serde_json::to_value(PermissionSet::schema()).unwrap();
        assert_eq!(schema["type"], "object");
        assert_eq!(
            schema["additionalProperties"]["additionalProperties"]["type"],
            "object"
        );
    }
}
