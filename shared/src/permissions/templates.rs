//! Default role templates, derived from the catalog so new actions are
//! covered without editing this file.

use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::{catalog, ActionKind, ActionRef, Scope};
use super::permission_key::PermissionKey;
use super::set::{Grant, PermissionSet};

/// A suggested role a tenant starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RoleTemplate {
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: PermissionSet,
}

/// Builds a set by asking `rule` about every catalog action. The rule returns
/// a scope for scope actions; for boolean actions any `Some` means `true`.
fn build(rule: impl Fn(&ActionRef) -> Option<Scope>) -> PermissionSet {
    let mut set = PermissionSet::empty();
    for action in catalog().actions() {
        let grant = rule(&action).map(|scope| match action.action.kind {
            ActionKind::Scope => Grant::Scope(scope),
            ActionKind::Boolean => Grant::Bool(true),
        });
        // Kinds come from the catalog itself, so this cannot mismatch.
        let _ = set.set(PermissionKey::at(action.index), grant);
    }
    set
}

fn is_admin_module(a: &ActionRef) -> bool {
    a.module.module.is_none()
}

/// Everything, at scope `all`; seeds the system Admin role.
pub fn admin_permissions() -> PermissionSet {
    build(|_| Some(Scope::All))
}

/// Team scopes; view, create, send and assign; reads users, roles and teams.
fn manager() -> PermissionSet {
    build(|a| match (a.action.kind, a.action.key) {
        _ if is_admin_module(a) => (a.action.key == "view"
            && matches!(a.resource.key, "users" | "roles" | "teams"))
        .then_some(Scope::All),
        (ActionKind::Scope, _) => Some(Scope::Team),
        (ActionKind::Boolean, "view" | "create" | "send" | "assign") => Some(Scope::All),
        (ActionKind::Boolean, _) => None,
    })
}

/// Own scopes; view, create and send; no administration.
fn member() -> PermissionSet {
    build(|a| match (a.action.kind, a.action.key) {
        _ if is_admin_module(a) => None,
        (ActionKind::Scope, _) => Some(Scope::Own),
        (ActionKind::Boolean, "view" | "create" | "send") => Some(Scope::All),
        (ActionKind::Boolean, _) => None,
    })
}

/// View actions only, on own records; no administration.
fn viewer() -> PermissionSet {
    build(|a| (!is_admin_module(a) && a.action.key == "view").then_some(Scope::Own))
}

/// The default roles, from most to least privileged.
pub fn templates() -> Vec<RoleTemplate> {
    vec![
        RoleTemplate {
            name: "Admin",
            description: "Every permission: every module action at scope all or granted, and all twelve \
                administration grants (view and manage of users, roles, teams, tenant, billing and audit).",
            permissions: admin_permissions(),
        },
        RoleTemplate {
            name: "Manager",
            description: "Module actions with a scope at scope team; the view, create, send and assign actions; \
                and administration.users.view, administration.roles.view and administration.teams.view.",
            permissions: manager(),
        },
        RoleTemplate {
            name: "Member",
            description: "Module actions with a scope at scope own; the view, create and send actions; no \
                administration grant.",
            permissions: member(),
        },
        RoleTemplate {
            name: "Viewer",
            description: "Module view actions only: at scope own, or granted where view is a boolean; no \
                administration grant.",
            permissions: viewer(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::super::actions;
    use super::super::catalog::ACTION_COUNT;
    use super::super::flat::is_tenant_admin;
    use super::super::validate::validate;
    use super::*;

    #[test]
    fn templates_validate_against_the_catalog() {
        for t in templates() {
            let json = serde_json::to_value(&t.permissions).unwrap();
            assert_eq!(validate(&json).as_ref(), Ok(&t.permissions), "{}", t.name);
        }
        let names: Vec<_> = templates().iter().map(|t| t.name).collect();
        assert_eq!(names, ["Admin", "Manager", "Member", "Viewer"]);
    }

    #[test]
    fn each_template_is_within_the_one_above() {
        let t = templates();
        for pair in t.windows(2) {
            assert!(
                pair[1].permissions.is_subset_of(&pair[0].permissions),
                "{} ⊄ {}",
                pair[1].name,
                pair[0].name
            );
            assert_ne!(pair[1].permissions, pair[0].permissions);
        }
    }

    #[test]
    fn admin_holds_everything() {
        let admin = admin_permissions();
        assert_eq!(admin.len(), ACTION_COUNT);
        assert_eq!(admin.scope(actions::CRM_LEADS_VIEW), Some(Scope::All));
        assert_eq!(
            admin.get(actions::CRM_LEADS_DELETE),
            Some(Grant::Bool(true))
        );
        assert!(admin.is_tenant_admin());
        assert!(is_tenant_admin(&admin.flatten()));
        for t in &templates()[1..] {
            assert!(!t.permissions.is_tenant_admin(), "{}", t.name);
        }
    }

    #[test]
    fn manager_member_viewer_contents() {
        let m = manager();
        assert_eq!(m.scope(actions::CRM_LEADS_EDIT), Some(Scope::Team));
        assert_eq!(
            m.scope(actions::MEETINGS_MEETINGS_DELETE),
            Some(Scope::Team)
        );
        assert!(m.allows(actions::CRM_LEADS_CREATE));
        assert!(m.allows(actions::WHATSAPP_MESSAGES_SEND));
        assert!(m.allows(actions::WHATSAPP_MESSAGES_VIEW));
        assert!(m.allows(actions::TASKS_TASKS_ASSIGN));
        assert!(!m.allows(actions::CRM_LEADS_DELETE));
        assert!(!m.allows(actions::WHATSAPP_TEMPLATES_EDIT));
        assert!(m.allows(actions::ADMINISTRATION_USERS_VIEW));
        assert!(m.allows(actions::ADMINISTRATION_TEAMS_VIEW));
        assert!(!m.allows(actions::ADMINISTRATION_USERS_MANAGE));
        assert!(!m.allows(actions::ADMINISTRATION_BILLING_VIEW));

        let mem = member();
        assert_eq!(mem.scope(actions::TASKS_TASKS_EDIT), Some(Scope::Own));
        assert!(mem.allows(actions::CRM_PAYMENTS_CREATE));
        assert!(!mem.allows(actions::TASKS_TASKS_ASSIGN));
        assert!(!mem.allows(actions::ADMINISTRATION_USERS_VIEW));

        let v = viewer();
        assert_eq!(v.scope(actions::CRM_LEADS_VIEW), Some(Scope::Own));
        assert!(v.allows(actions::WHATSAPP_TEMPLATES_VIEW));
        assert!(v
            .iter()
            .all(|(k, _)| k.action_key() == "view" && k.module().is_some()));
    }

    #[test]
    fn descriptions_name_exactly_the_administration_grants() {
        for t in templates() {
            let admin: Vec<_> = actions::ALL
                .iter()
                .filter(|k| k.module().is_none())
                .collect();
            let held: Vec<_> = admin
                .iter()
                .filter(|k| t.permissions.allows(***k))
                .collect();
            if held.len() == admin.len() {
                assert!(t.description.contains("all twelve administration grants"));
                assert_eq!(admin.len(), 12);
            } else if held.is_empty() {
                assert!(
                    t.description.contains("no administration grant"),
                    "{}",
                    t.name
                );
            } else {
                for k in &admin {
                    assert_eq!(
                        t.description.contains(k.as_str()),
                        t.permissions.allows(**k),
                        "{}: {k}",
                        t.name
                    );
                }
            }
        }
    }
}
