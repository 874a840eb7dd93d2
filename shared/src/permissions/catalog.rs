//! The permission catalog: every module, resource and action, in one place.
//!
//! Everything else (the typed keys, validation, templates, the JSON schema
//! served to the role editor) is derived from one table, `catalog_table!`, so
//! adding an action is one line there.

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
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
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

/// The catalog as one table, the only place an action is declared: its
/// module, resource, kind, label and the name of its constant. Expanded by a
/// macro passed in: here into [`CATALOG`], in [`super::actions`] into the
/// constants, so the two cannot drift. Table order is the dense index order.
macro_rules! catalog_table {
    ($expand:ident) => {
        $expand! {
            "crm", "CRM", Some(Module::Crm) => {
                "leads", "Leads" => {
                    CRM_LEADS_VIEW = scope("view", "View");
                    CRM_LEADS_CREATE = boolean("create", "Create");
                    CRM_LEADS_EDIT = scope("edit", "Edit");
                    CRM_LEADS_DELETE = boolean("delete", "Delete");
                    CRM_LEADS_EXPORT = scope("export", "Export");
                }
                "activities", "Activities" => {
                    CRM_ACTIVITIES_VIEW = scope("view", "View");
                    CRM_ACTIVITIES_CREATE = boolean("create", "Create");
                    CRM_ACTIVITIES_EDIT = scope("edit", "Edit");
                    CRM_ACTIVITIES_DELETE = boolean("delete", "Delete");
                }
                "payments", "Payments" => {
                    CRM_PAYMENTS_VIEW = scope("view", "View");
                    CRM_PAYMENTS_CREATE = boolean("create", "Create");
                    CRM_PAYMENTS_EDIT = scope("edit", "Edit");
                    CRM_PAYMENTS_DELETE = boolean("delete", "Delete");
                }
            }
            "whatsapp", "WhatsApp", Some(Module::Whatsapp) => {
                "messages", "Messages" => {
                    WHATSAPP_MESSAGES_SEND = boolean("send", "Send");
                    WHATSAPP_MESSAGES_VIEW = boolean("view", "View");
                    WHATSAPP_MESSAGES_DELETE = boolean("delete", "Delete");
                }
                "templates", "Message templates" => {
                    WHATSAPP_TEMPLATES_VIEW = boolean("view", "View");
                    WHATSAPP_TEMPLATES_CREATE = boolean("create", "Create");
                    WHATSAPP_TEMPLATES_EDIT = boolean("edit", "Edit");
                    WHATSAPP_TEMPLATES_DELETE = boolean("delete", "Delete");
                }
            }
            "meetings", "Meetings", Some(Module::Meetings) => {
                "meetings", "Meetings" => {
                    MEETINGS_MEETINGS_VIEW = scope("view", "View");
                    MEETINGS_MEETINGS_CREATE = boolean("create", "Create");
                    MEETINGS_MEETINGS_EDIT = scope("edit", "Edit");
                    MEETINGS_MEETINGS_DELETE = scope("delete", "Delete");
                    MEETINGS_MEETINGS_CANCEL = scope("cancel", "Cancel");
                }
            }
            "tasks", "Tasks", Some(Module::Tasks) => {
                "tasks", "Tasks" => {
                    TASKS_TASKS_VIEW = scope("view", "View");
                    TASKS_TASKS_CREATE = boolean("create", "Create");
                    TASKS_TASKS_EDIT = scope("edit", "Edit");
                    TASKS_TASKS_DELETE = scope("delete", "Delete");
                    TASKS_TASKS_ASSIGN = boolean("assign", "Assign");
                }
            }
            "administration", "Administration", None => {
                "users", "Users" => {
                    ADMINISTRATION_USERS_VIEW = boolean("view", "View");
                    ADMINISTRATION_USERS_MANAGE = boolean("manage", "Manage");
                }
                "roles", "Roles" => {
                    ADMINISTRATION_ROLES_VIEW = boolean("view", "View");
                    ADMINISTRATION_ROLES_MANAGE = boolean("manage", "Manage");
                }
                "teams", "Teams" => {
                    ADMINISTRATION_TEAMS_VIEW = boolean("view", "View");
                    ADMINISTRATION_TEAMS_MANAGE = boolean("manage", "Manage");
                }
                "tenant", "Tenant settings" => {
                    ADMINISTRATION_TENANT_VIEW = boolean("view", "View");
                    ADMINISTRATION_TENANT_MANAGE = boolean("manage", "Manage");
                }
                "billing", "Billing" => {
                    ADMINISTRATION_BILLING_VIEW = boolean("view", "View");
                    ADMINISTRATION_BILLING_MANAGE = boolean("manage", "Manage");
                }
                "audit", "Audit log" => {
                    ADMINISTRATION_AUDIT_VIEW = boolean("view", "View");
                    ADMINISTRATION_AUDIT_MANAGE = boolean("manage", "Manage");
                }
            }
        }
    };
}
pub(super) use catalog_table;

/// Builds [`CATALOG`] from the table; the constants' names are not needed here.
macro_rules! catalog_from_table {
    ($($module_key:literal, $module_label:literal, $module:expr => {
        $($resource_key:literal, $resource_label:literal => {
            $($name:ident = $kind:ident($action_key:literal, $action_label:literal);)*
        })*
    })*) => {
        /// The catalog. Order matters only for display and for the dense
        /// storage of [`super::PermissionSet`]; keys are what is persisted.
        pub const CATALOG: Catalog = Catalog {
            version: CATALOG_VERSION,
            modules: &[$(ModuleDef {
                key: $module_key,
                label: $module_label,
                module: $module,
                // Only what is not sellable is always on.
                always_enabled: Option::<Module>::is_none(&$module),
                resources: &[$(ResourceDef {
                    key: $resource_key,
                    label: $resource_label,
                    actions: &[$($kind($action_key, $action_label),)*],
                },)*],
            },)*],
        };
    };
}

catalog_table!(catalog_from_table);

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

/// Dense index and definition of `resource`'s action `key`. `resource` is
/// found by address, so validation, which already holds it, compares no
/// module or resource key again.
pub(crate) fn dense_index(
    resource: &ResourceDef,
    key: &str,
) -> Option<(usize, &'static ActionDef)> {
    let mut offset = 0;
    for module in CATALOG_STATIC.modules {
        for candidate in module.resources {
            if std::ptr::eq(candidate, resource) {
                let position = candidate.actions.iter().position(|a| a.key == key)?;
                return Some((offset + position, &candidate.actions[position]));
            }
            offset += candidate.actions.len();
        }
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
    }

    #[test]
    fn dense_index_agrees_with_lookup() {
        for a in catalog().actions() {
            let (index, action) = dense_index(a.resource, a.action.key).expect("a catalog action");
            assert_eq!(index, a.index, "{}.{}", a.resource.key, a.action.key);
            assert!(std::ptr::eq(action, a.action));
        }
        let leads = catalog()
            .module("crm")
            .and_then(|m| m.resource("leads"))
            .expect("crm.leads");
        assert!(dense_index(leads, "viewz").is_none());
        // A definition outside the catalog, even one equal to a catalog
        // resource, has no index.
        let copy = ResourceDef { ..*leads };
        assert!(dense_index(&copy, "view").is_none());
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
