//! The permission catalog: every module, resource and action, in one place.
//!
//! Everything else (keys, validation, templates, the JSON schema served to the
//! role editor) is derived from [`CATALOG`], so adding an action here is the
//! only edit needed besides its constant in [`super::actions`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Bumped whenever an action is added, removed or changes kind, so clients
/// caching the schema (and stored roles) can tell they are stale.
pub const CATALOG_VERSION: u32 = 1;

/// How far a scope action reaches. Ordered: `Own < Team < All`; "none" is
/// the absence of a scope (`Option::None`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Records the user owns.
    Own,
    /// Records of the user's teams, plus their own.
    Team,
    /// Every record in the tenant.
    All,
}

impl Scope {
    /// Every scope, weakest first.
    pub const ALL: [Scope; 3] = [Scope::Own, Scope::Team, Scope::All];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Team => "team",
            Scope::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// Storage level: 0 is reserved for "not granted".
    pub(crate) const fn level(self) -> u8 {
        match self {
            Scope::Own => 1,
            Scope::Team => 2,
            Scope::All => 3,
        }
    }

    pub(crate) const fn from_level(level: u8) -> Option<Scope> {
        match level {
            1 => Some(Scope::Own),
            2 => Some(Scope::Team),
            3 => Some(Scope::All),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an action takes a scope or is simply granted or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Scope,
    Boolean,
}

/// A sellable module a tenant can have enabled. `administration` is not one:
/// it is always enabled.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Module {
    Crm,
    Whatsapp,
    Meetings,
    Tasks,
}

impl Module {
    pub const ALL: [Module; 4] = [
        Module::Crm,
        Module::Whatsapp,
        Module::Meetings,
        Module::Tasks,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Module::Crm => "crm",
            Module::Whatsapp => "whatsapp",
            Module::Meetings => "meetings",
            Module::Tasks => "tasks",
        }
    }

    pub fn parse(s: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The module's entry in the catalog (sellable modules come first, in
    /// `Module` order; checked at compile time below).
    pub fn def(self) -> &'static ModuleDef {
        &CATALOG_STATIC.modules[self as usize]
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bytes_eq_at(a.as_bytes(), 0, b.as_bytes())
}

const _: () = {
    let mut i = 0;
    while i < Module::ALL.len() {
        assert!(str_eq(CATALOG.modules[i].key, Module::ALL[i].as_str()));
        i += 1;
    }
};

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned when a string names no sellable module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown module {0:?} (expected one of crm, whatsapp, meetings, tasks)")]
pub struct UnknownModule(pub String);

impl FromStr for Module {
    type Err = UnknownModule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Module::parse(s).ok_or_else(|| UnknownModule(s.to_owned()))
    }
}

/// One action on a resource, e.g. `view` on `crm.leads`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionDef {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: ActionKind,
    /// The scopes offered, weakest first; empty for boolean actions.
    pub options: &'static [Scope],
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceDef {
    pub key: &'static str,
    pub label: &'static str,
    pub actions: &'static [ActionDef],
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModuleDef {
    pub key: &'static str,
    pub label: &'static str,
    /// `None` for `administration`, which cannot be switched off.
    #[serde(skip)]
    #[schema(ignore)]
    pub module: Option<Module>,
    pub always_enabled: bool,
    pub resources: &'static [ResourceDef],
}

/// The whole catalog; serialised as-is for `GET /api/roles/permissions_schema/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Catalog {
    pub version: u32,
    pub modules: &'static [ModuleDef],
}

const SCOPE_OPTIONS: &[Scope] = &Scope::ALL;

const fn scope(key: &'static str, label: &'static str) -> ActionDef {
    ActionDef {
        key,
        label,
        kind: ActionKind::Scope,
        options: SCOPE_OPTIONS,
    }
}

const fn boolean(key: &'static str, label: &'static str) -> ActionDef {
    ActionDef {
        key,
        label,
        kind: ActionKind::Boolean,
        options: &[],
    }
}

const fn resource(
    key: &'static str,
    label: &'static str,
    actions: &'static [ActionDef],
) -> ResourceDef {
    ResourceDef {
        key,
        label,
        actions,
    }
}

const VIEW_MANAGE: &[ActionDef] = &[boolean("view", "View"), boolean("manage", "Manage")];

/// The catalog. Order matters only for display and for the dense storage of
/// [`super::PermissionSet`]; keys are what is persisted.
pub const CATALOG: Catalog = Catalog {
    version: CATALOG_VERSION,
    modules: &[
        ModuleDef {
            key: "crm",
            label: "CRM",
            module: Some(Module::Crm),
            always_enabled: false,
            resources: &[
                resource(
                    "leads",
                    "Leads",
                    &[
                        scope("view", "View"),
                        boolean("create", "Create"),
                        scope("edit", "Edit"),
                        boolean("delete", "Delete"),
                        scope("export", "Export"),
                    ],
                ),
                resource(
                    "activities",
                    "Activities",
                    &[
                        scope("view", "View"),
                        boolean("create", "Create"),
                        scope("edit", "Edit"),
                        boolean("delete", "Delete"),
                    ],
                ),
                resource(
                    "payments",
                    "Payments",
                    &[
                        scope("view", "View"),
                        boolean("create", "Create"),
                        scope("edit", "Edit"),
                        boolean("delete", "Delete"),
                    ],
                ),
            ],
        },
        ModuleDef {
            key: "whatsapp",
            label: "WhatsApp",
            module: Some(Module::Whatsapp),
            always_enabled: false,
            resources: &[
                resource(
                    "messages",
                    "Messages",
                    &[
                        boolean("send", "Send"),
                        boolean("view", "View"),
                        boolean("delete", "Delete"),
                    ],
                ),
                resource(
                    "templates",
                    "Message templates",
                    &[
                        boolean("view", "View"),
                        boolean("create", "Create"),
                        boolean("edit", "Edit"),
                        boolean("delete", "Delete"),
                    ],
                ),
            ],
        },
        ModuleDef {
            key: "meetings",
            label: "Meetings",
            module: Some(Module::Meetings),
            always_enabled: false,
            resources: &[resource(
                "meetings",
                "Meetings",
                &[
                    scope("view", "View"),
                    boolean("create", "Create"),
                    scope("edit", "Edit"),
                    scope("delete", "Delete"),
                    scope("cancel", "Cancel"),
                ],
            )],
        },
        ModuleDef {
            key: "tasks",
            label: "Tasks",
            module: Some(Module::Tasks),
            always_enabled: false,
            resources: &[resource(
                "tasks",
                "Tasks",
                &[
                    scope("view", "View"),
                    boolean("create", "Create"),
                    scope("edit", "Edit"),
                    scope("delete", "Delete"),
                    boolean("assign", "Assign"),
                ],
            )],
        },
        ModuleDef {
            key: "administration",
            label: "Administration",
            module: None,
            always_enabled: true,
            resources: &[
                resource("users", "Users", VIEW_MANAGE),
                resource("roles", "Roles", VIEW_MANAGE),
                resource("teams", "Teams", VIEW_MANAGE),
                resource("tenant", "Tenant settings", VIEW_MANAGE),
                resource("billing", "Billing", VIEW_MANAGE),
                resource("audit", "Audit log", VIEW_MANAGE),
            ],
        },
    ],
};

/// A `static` so `catalog()` hands out one address instead of a fresh copy.
static CATALOG_STATIC: Catalog = CATALOG;

/// The catalog, for lookups and for serving the schema.
pub fn catalog() -> &'static Catalog {
    &CATALOG_STATIC
}

/// One catalog action with its parents and its dense index.
#[derive(Debug, Clone, Copy)]
pub struct ActionRef {
    pub index: usize,
    pub module: &'static ModuleDef,
    pub resource: &'static ResourceDef,
    pub action: &'static ActionDef,
}

impl Catalog {
    /// Every action, in catalog (= dense index) order.
    pub fn actions(&self) -> impl Iterator<Item = ActionRef> + '_ {
        self.modules
            .iter()
            .flat_map(|module| {
                module.resources.iter().flat_map(move |resource| {
                    resource
                        .actions
                        .iter()
                        .map(move |action| (module, resource, action))
                })
            })
            .enumerate()
            .map(|(index, (module, resource, action))| ActionRef {
                index,
                module,
                resource,
                action,
            })
    }

    pub fn module(&self, key: &str) -> Option<&ModuleDef> {
        self.modules.iter().find(|m| m.key == key)
    }
}

impl ModuleDef {
    pub fn resource(&self, key: &str) -> Option<&ResourceDef> {
        self.resources.iter().find(|r| r.key == key)
    }
}

impl ResourceDef {
    pub fn action(&self, key: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|a| a.key == key)
    }
}

const fn count_actions(catalog: &Catalog) -> usize {
    let mut n = 0;
    let mut m = 0;
    while m < catalog.modules.len() {
        let mut r = 0;
        while r < catalog.modules[m].resources.len() {
            n += catalog.modules[m].resources[r].actions.len();
            r += 1;
        }
        m += 1;
    }
    n
}

/// Number of actions in the catalog: the length of the dense storage.
pub const ACTION_COUNT: usize = count_actions(&CATALOG);

/// Position of an action in the catalog tree, by dense index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub module: usize,
    pub resource: usize,
    pub action: usize,
}

const fn build_slots() -> [Slot; ACTION_COUNT] {
    let mut out = [Slot {
        module: 0,
        resource: 0,
        action: 0,
    }; ACTION_COUNT];
    let mut i = 0;
    let mut m = 0;
    while m < CATALOG.modules.len() {
        let resources = CATALOG.modules[m].resources;
        let mut r = 0;
        while r < resources.len() {
            let mut a = 0;
            while a < resources[r].actions.len() {
                out[i] = Slot {
                    module: m,
                    resource: r,
                    action: a,
                };
                i += 1;
                a += 1;
            }
            r += 1;
        }
        m += 1;
    }
    out
}

pub(crate) const SLOTS: [Slot; ACTION_COUNT] = build_slots();

/// The catalog entries for a dense index. Indices only come from
/// [`SLOTS`]-sized arrays and [`super::PermissionKey`], so they are in range.
pub(crate) fn slot_defs(
    index: usize,
) -> (&'static ModuleDef, &'static ResourceDef, &'static ActionDef) {
    let slot = SLOTS[index];
    let module = &CATALOG_STATIC.modules[slot.module];
    let resource = &module.resources[slot.resource];
    (module, resource, &resource.actions[slot.action])
}

/// Dense index of a dotted key, walking the tree so only a handful of short
/// strings are compared (this runs for every key of every decoded token).
pub(crate) fn lookup(key: &str) -> Option<usize> {
    let (module_key, rest) = key.split_once('.')?;
    let (resource_key, action_key) = rest.split_once('.')?;
    let mut offset = 0;
    for module in CATALOG_STATIC.modules {
        for resource in module.resources {
            if module.key == module_key && resource.key == resource_key {
                let position = resource.actions.iter().position(|a| a.key == action_key);
                return position.map(|p| offset + p);
            }
            offset += resource.actions.len();
        }
    }
    None
}

const fn bytes_eq_at(haystack: &[u8], at: usize, needle: &[u8]) -> bool {
    if at + needle.len() > haystack.len() {
        return false;
    }
    let mut i = 0;
    while i < needle.len() {
        if haystack[at + i] != needle[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `full` is exactly `module.resource.action`.
const fn key_matches(full: &[u8], module: &str, resource: &str, action: &str) -> bool {
    let (m, r, a) = (module.as_bytes(), resource.as_bytes(), action.as_bytes());
    if full.len() != m.len() + r.len() + a.len() + 2 {
        return false;
    }
    bytes_eq_at(full, 0, m)
        && full[m.len()] == b'.'
        && bytes_eq_at(full, m.len() + 1, r)
        && full[m.len() + 1 + r.len()] == b'.'
        && bytes_eq_at(full, m.len() + r.len() + 2, a)
}

/// Dense index of a dotted key, usable in `const` items so that typed keys
/// are checked against the catalog at compile time.
pub(crate) const fn find_index(full: &str) -> Option<usize> {
    let full = full.as_bytes();
    let mut i = 0;
    while i < ACTION_COUNT {
        let slot = SLOTS[i];
        let module = &CATALOG.modules[slot.module];
        let resource = &module.resources[slot.resource];
        let action = &resource.actions[slot.action];
        if key_matches(full, module.key, resource.key, action.key) {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_shape() {
        assert_eq!(ACTION_COUNT, 42);
        assert_eq!(catalog().actions().count(), ACTION_COUNT);
        let keys: Vec<_> = catalog().modules.iter().map(|m| m.key).collect();
        assert_eq!(
            keys,
            ["crm", "whatsapp", "meetings", "tasks", "administration"]
        );
        assert_eq!(catalog().module("crm").map(|m| m.label), Some("CRM"));
    }

    #[test]
    fn only_administration_is_always_enabled() {
        for m in catalog().modules {
            assert_eq!(m.always_enabled, m.module.is_none(), "{}", m.key);
            if let Some(module) = m.module {
                assert_eq!(module.as_str(), m.key);
                assert_eq!(module.def().key, m.key);
            }
        }
        assert_eq!(
            catalog()
                .modules
                .iter()
                .filter_map(|m| m.module)
                .collect::<Vec<_>>(),
            Module::ALL
        );
    }

    #[test]
    fn kinds_and_options_agree() {
        for a in catalog().actions() {
            match a.action.kind {
                ActionKind::Scope => assert_eq!(a.action.options, Scope::ALL),
                ActionKind::Boolean => assert!(a.action.options.is_empty()),
            }
        }
    }

    #[test]
    fn slots_match_iteration_order() {
        for a in catalog().actions() {
            let (m, r, act) = slot_defs(a.index);
            assert_eq!(
                (m.key, r.key, act.key),
                (a.module.key, a.resource.key, a.action.key)
            );
            let full = format!("{}.{}.{}", m.key, r.key, act.key);
            assert_eq!(find_index(&full), Some(a.index));
        }
        for a in catalog().actions() {
            let full = format!("{}.{}.{}", a.module.key, a.resource.key, a.action.key);
            assert_eq!(lookup(&full), Some(a.index), "{full}");
        }
        for bad in [
            "crm.leads",
            "crm.leads.view.x",
            "crm.leadz.view",
            "x.leads.view",
            "",
            "..",
            "crm.leads.view ",
        ] {
            assert_eq!(lookup(bad), None, "{bad:?}");
        }
        assert_eq!(find_index("crm.leads"), None);
        assert_eq!(find_index("crm.leads.viewx"), None);
        assert_eq!(find_index("crm.leadsx.view"), None);
    }

    #[test]
    fn module_parse_display_serde() {
        for m in Module::ALL {
            assert_eq!(m.to_string().parse::<Module>(), Ok(m));
            assert_eq!(
                serde_json::to_value(m).ok(),
                Some(serde_json::json!(m.as_str()))
            );
        }
        assert_eq!(Module::parse("administration"), None);
        assert!("CRM".parse::<Module>().is_err());
        let parsed: Result<Vec<Module>, _> =
            serde_json::from_str(r#"["crm","whatsapp","meetings","tasks"]"#);
        assert_eq!(parsed.ok(), Some(Module::ALL.to_vec()));
    }

    #[test]
    fn scope_order_and_parse() {
        assert!(Scope::Own < Scope::Team && Scope::Team < Scope::All);
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            assert_eq!(Scope::from_level(s.level()), Some(s));
        }
        assert_eq!(Scope::parse("none"), None);
    }

    #[test]
    fn schema_json() {
        let json = serde_json::to_value(catalog()).unwrap_or_default();
        assert_eq!(json["version"], 1);
        let view = &json["modules"][0]["resources"][0]["actions"][0];
        assert_eq!(view["key"], "view");
        assert_eq!(view["kind"], "scope");
        assert_eq!(view["options"], serde_json::json!(["own", "team", "all"]));
        let create = &json["modules"][0]["resources"][0]["actions"][1];
        assert_eq!(create["kind"], "boolean");
        assert_eq!(json["modules"][4]["always_enabled"], true);
        assert!(json["modules"][4].get("module").is_none());
    }

    #[test]
    fn openapi_schema() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(Catalog::schema()).unwrap_or_default();
        assert_eq!(schema["properties"]["modules"]["type"], "array", "{schema}");
        assert!(schema["properties"]["version"].is_object(), "{schema}");
        let module = serde_json::to_value(ModuleDef::schema()).unwrap_or_default();
        assert!(module["properties"].get("module").is_none(), "{module}");
        let action = serde_json::to_value(ActionDef::schema()).unwrap_or_default();
        assert_eq!(action["properties"]["options"]["type"], "array", "{action}");
    }
}
