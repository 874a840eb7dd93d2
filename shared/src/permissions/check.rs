//! Permission checks: one call per question, each answering with its reason.

use serde::Serialize;
use uuid::Uuid;

use super::catalog::{ActionKind, Scope};
use super::flat::FlatPermissions;
use super::permission_key::PermissionKey;
use super::set::{Grant, RoleGrants};

/// Whoever is acting; implemented by the JWT claims type.
pub trait Subject {
    fn user_id(&self) -> Uuid;
    fn tenant_id(&self) -> Uuid;
    fn team_ids(&self) -> &[Uuid];
    fn permissions(&self) -> &FlatPermissions;
}

/// The record being acted on, as far as permissions care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Resource {
    pub tenant_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
}

impl Resource {
    pub fn new(tenant_id: Uuid, owner_id: Option<Uuid>, team_id: Option<Uuid>) -> Self {
        Resource {
            tenant_id,
            owner_id,
            team_id,
        }
    }
}

/// Why a check came out the way it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A boolean action is granted.
    Granted,
    /// Scope `all` covers every record of the tenant.
    ScopeAll,
    /// Scope `own` or `team`, and the user owns the record.
    Owner,
    /// Scope `team`, and the record belongs to one of the user's teams.
    TeamMember,
    /// Some scope is held (check without a record).
    ScopeHeld,
    NotGranted,
    /// Scope `own`, and the record is not known to be the user's.
    NotOwner,
    /// Scope `team`, and the record is neither the user's nor their teams'.
    NotTeamMember,
    /// The record belongs to another tenant; no grant reaches it.
    OtherTenant,
}

impl Reason {
    pub fn allows(self) -> bool {
        matches!(
            self,
            Reason::Granted
                | Reason::ScopeAll
                | Reason::Owner
                | Reason::TeamMember
                | Reason::ScopeHeld
        )
    }
}

/// A role that holds a permission, for explaining decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantingRole {
    pub id: String,
    pub name: String,
    pub grant: Grant,
}

/// The answer to "may this user do X?", with the reasoning kept for audit
/// logs and error messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use = "a Decision grants nothing until `allowed` or `into_result` is checked"]
pub struct Decision {
    pub permission: PermissionKey,
    pub allowed: bool,
    /// The scope the user holds for a scope action, if any.
    pub scope: Option<Scope>,
    pub reason: Reason,
    /// The least scope that would have allowed a scope action on the record
    /// (`own` for a check without a record); `None` for boolean actions.
    pub required: Option<Scope>,
    /// Roles that hold the permission; filled only by [`can_with_roles`].
    pub granted_by: Vec<GrantingRole>,
}

impl Decision {
    fn new(permission: PermissionKey, scope: Option<Scope>, reason: Reason) -> Self {
        let required = (permission.kind() == ActionKind::Scope).then_some(Scope::Own);
        Decision {
            permission,
            allowed: reason.allows(),
            scope,
            reason,
            required,
            granted_by: Vec::new(),
        }
    }

    fn requiring(mut self, required: Option<Scope>) -> Self {
        self.required = required;
        self
    }

    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// A sentence explaining the decision; for denials it is the 403 detail.
    pub fn message(&self) -> String {
        let key = self.permission;
        let scope = self.scope.map_or("no", Scope::as_str);
        match self.reason {
            Reason::Granted => format!("Permission {key} is granted."),
            Reason::ScopeAll => {
                format!("Permission {key} is granted for every record in the tenant.")
            }
            Reason::Owner => {
                format!("Permission {key} is granted with scope {scope}, and you own this record.")
            }
            Reason::TeamMember => {
                format!("Permission {key} is granted with scope team, and this record belongs to one of your teams.")
            }
            Reason::ScopeHeld => format!("Permission {key} is granted with scope {scope}."),
            Reason::NotGranted => format!("Permission {key} is required."),
            Reason::NotOwner => format!(
                "You do not have permission to {} outside your own records.",
                key.describe()
            ),
            Reason::NotTeamMember => format!(
                "You do not have permission to {} outside your own and your teams' records.",
                key.describe()
            ),
            Reason::OtherTenant => {
                format!(
                    "You do not have permission to {} of another tenant.",
                    key.describe()
                )
            }
        }
    }

    /// `Ok(self)` when allowed, otherwise the error the HTTP layer renders as 403.
    pub fn into_result(self) -> Result<Decision, PermissionDenied> {
        if self.allowed {
            Ok(self)
        } else {
            Err(self.denied())
        }
    }

    fn denied(&self) -> PermissionDenied {
        PermissionDenied {
            permission: self.permission.to_string(),
            detail: self.message(),
            required: self.required,
            held: self.scope,
        }
    }
}

/// A denied check, rendered by the HTTP layer as 403
/// `{"detail": ..., "code": "permission_denied", "permission": ...}`, with
/// `required` and `held` for a scope action (`"team"` needed, `"own"` held).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{detail}")]
pub struct PermissionDenied {
    pub permission: String,
    pub detail: String,
    /// The least scope that would have allowed it (scope actions only).
    pub required: Option<Scope>,
    /// The scope held, if any.
    pub held: Option<Scope>,
}

impl PermissionDenied {
    pub const CODE: &'static str = "permission_denied";
}

/// What the subject holds for `key`: (scope, granted). A grant of the wrong
/// kind (a token issued before a catalog change) counts as nothing.
fn held(subject: &(impl Subject + ?Sized), key: PermissionKey) -> (Option<Scope>, bool) {
    match (key.kind(), subject.permissions().grant(key)) {
        (ActionKind::Scope, Some(Grant::Scope(scope))) => (Some(scope), true),
        (ActionKind::Boolean, Some(Grant::Bool(true))) => (None, true),
        _ => (None, false),
    }
}

/// May `subject` do `key` on `resource`? Records of another tenant are always
/// denied; boolean actions ignore owner and team.
pub fn can(subject: &(impl Subject + ?Sized), key: PermissionKey, resource: &Resource) -> Decision {
    let (scope, granted) = held(subject, key);
    let owns = resource.owner_id == Some(subject.user_id());
    let in_team = resource
        .team_id
        .is_some_and(|team| subject.team_ids().contains(&team));
    // What would have sufficed: the record is the caller's, or their team's, or neither.
    let required = (key.kind() == ActionKind::Scope).then_some(if owns {
        Scope::Own
    } else if in_team {
        Scope::Team
    } else {
        Scope::All
    });
    let reason = if resource.tenant_id != subject.tenant_id() {
        Reason::OtherTenant
    } else if !granted {
        Reason::NotGranted
    } else {
        match scope {
            None => Reason::Granted,
            Some(Scope::All) => Reason::ScopeAll,
            Some(_) if owns => Reason::Owner,
            Some(Scope::Own) => Reason::NotOwner,
            Some(Scope::Team) if in_team => Reason::TeamMember,
            Some(Scope::Team) => Reason::NotTeamMember,
        }
    };
    let required = if reason == Reason::OtherTenant {
        None
    } else {
        required
    };
    Decision::new(key, scope, reason).requiring(required)
}

/// For actions not tied to one record: a boolean action is granted, or a
/// scope action is held with any scope (then check records with [`can`] or
/// filter with [`list_filter`]).
pub fn can_do(subject: &(impl Subject + ?Sized), key: PermissionKey) -> Decision {
    let (scope, granted) = held(subject, key);
    let reason = match (scope, granted) {
        (_, false) => Reason::NotGranted,
        (Some(_), true) => Reason::ScopeHeld,
        (None, true) => Reason::Granted,
    };
    Decision::new(key, scope, reason)
}

/// Active roles that hold `key`, with what each grants.
pub fn explain(roles: &[RoleGrants], key: PermissionKey) -> Vec<GrantingRole> {
    roles
        .iter()
        .filter(|role| role.is_active)
        .filter_map(|role| {
            role.permissions.get(key).map(|grant| GrantingRole {
                id: role.id.clone(),
                name: role.name.clone(),
                grant,
            })
        })
        .collect()
}

/// [`can`], plus which of the user's roles hold the permission.
pub fn can_with_roles(
    subject: &(impl Subject + ?Sized),
    key: PermissionKey,
    resource: &Resource,
    roles: &[RoleGrants],
) -> Decision {
    let mut decision = can(subject, key, resource);
    decision.granted_by = explain(roles, key);
    decision
}

/// Which records of the subject's tenant a list endpoint may return. Tenant
/// isolation itself is the store's job (every query is tenant-scoped).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OwnershipFilter {
    /// No filter.
    All,
    /// Records owned by `owner_id`.
    Own { owner_id: Uuid },
    /// Records of any of `team_ids`, or owned by `owner_id`.
    Team { owner_id: Uuid, team_ids: Vec<Uuid> },
}

impl OwnershipFilter {
    /// Whether a record of the same tenant passes the filter; agrees with [`can`].
    pub fn matches(&self, owner_id: Option<Uuid>, team_id: Option<Uuid>) -> bool {
        match self {
            OwnershipFilter::All => true,
            OwnershipFilter::Own { owner_id: me } => owner_id == Some(*me),
            OwnershipFilter::Team {
                owner_id: me,
                team_ids,
            } => owner_id == Some(*me) || team_id.is_some_and(|t| team_ids.contains(&t)),
        }
    }
}

/// The filter for listing under `key`: own → by owner, team → by teams or
/// owner, all (or a granted boolean) → none.
pub fn list_filter(
    subject: &(impl Subject + ?Sized),
    key: PermissionKey,
) -> Result<OwnershipFilter, PermissionDenied> {
    match held(subject, key) {
        (_, false) => Err(Decision::new(key, None, Reason::NotGranted).denied()),
        (None | Some(Scope::All), true) => Ok(OwnershipFilter::All),
        (Some(Scope::Own), true) => Ok(OwnershipFilter::Own {
            owner_id: subject.user_id(),
        }),
        (Some(Scope::Team), true) => Ok(OwnershipFilter::Team {
            owner_id: subject.user_id(),
            team_ids: subject.team_ids().to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::actions;
    use super::super::set::PermissionSet;
    use super::*;
    use serde_json::json;

    struct User {
        id: Uuid,
        tenant: Uuid,
        teams: Vec<Uuid>,
        perms: FlatPermissions,
    }

    impl Subject for User {
        fn user_id(&self) -> Uuid {
            self.id
        }
        fn tenant_id(&self) -> Uuid {
            self.tenant
        }
        fn team_ids(&self) -> &[Uuid] {
            &self.teams
        }
        fn permissions(&self) -> &FlatPermissions {
            &self.perms
        }
    }

    fn user(perms: serde_json::Value) -> User {
        User {
            id: Uuid::new_v4(),
            tenant: Uuid::new_v4(),
            teams: vec![Uuid::new_v4(), Uuid::new_v4()],
            perms: serde_json::from_value(perms).unwrap(),
        }
    }

    #[derive(Debug, Clone, Copy)]
    enum Case {
        OwnerIsUser,
        OwnerIsOther,
        OwnerUnknown,
        TeamMember,
        NotTeamMember,
        UnknownOwnerInTeam,
        OtherTenant,
    }

    const CASES: [Case; 7] = [
        Case::OwnerIsUser,
        Case::OwnerIsOther,
        Case::OwnerUnknown,
        Case::TeamMember,
        Case::NotTeamMember,
        Case::UnknownOwnerInTeam,
        Case::OtherTenant,
    ];

    fn resource(u: &User, case: Case) -> Resource {
        let other = Some(Uuid::new_v4());
        let my_team = Some(u.teams[1]);
        match case {
            Case::OwnerIsUser => Resource::new(u.tenant, Some(u.id), None),
            Case::OwnerIsOther => Resource::new(u.tenant, other, None),
            Case::OwnerUnknown => Resource::new(u.tenant, None, None),
            Case::TeamMember => Resource::new(u.tenant, other, my_team),
            Case::NotTeamMember => Resource::new(u.tenant, other, Some(Uuid::new_v4())),
            Case::UnknownOwnerInTeam => Resource::new(u.tenant, None, my_team),
            Case::OtherTenant => Resource::new(Uuid::new_v4(), Some(u.id), my_team),
        }
    }

    /// Expected outcome per case, in `CASES` order, for each grant.
    #[test]
    fn scope_by_ownership_table() {
        use Reason::*;
        let table: [(serde_json::Value, [Reason; 7]); 4] = [
            (
                json!(null),
                [
                    NotGranted,
                    NotGranted,
                    NotGranted,
                    NotGranted,
                    NotGranted,
                    NotGranted,
                    OtherTenant,
                ],
            ),
            (
                json!("own"),
                [
                    Owner,
                    NotOwner,
                    NotOwner,
                    NotOwner,
                    NotOwner,
                    NotOwner,
                    OtherTenant,
                ],
            ),
            (
                json!("team"),
                [
                    Owner,
                    NotTeamMember,
                    NotTeamMember,
                    TeamMember,
                    NotTeamMember,
                    TeamMember,
                    OtherTenant,
                ],
            ),
            (
                json!("all"),
                [
                    ScopeAll,
                    ScopeAll,
                    ScopeAll,
                    ScopeAll,
                    ScopeAll,
                    ScopeAll,
                    OtherTenant,
                ],
            ),
        ];
        for (grant, expected) in table {
            let perms = if grant.is_null() {
                json!({})
            } else {
                json!({ "crm.leads.edit": grant })
            };
            let u = user(perms);
            for (case, want) in CASES.into_iter().zip(expected) {
                let d = can(&u, actions::CRM_LEADS_EDIT, &resource(&u, case));
                assert_eq!(d.reason, want, "grant {grant} case {case:?}");
                assert_eq!(d.allowed, want.allows(), "grant {grant} case {case:?}");
                assert_eq!(d.permission, actions::CRM_LEADS_EDIT);
                assert_eq!(d.scope, grant.as_str().and_then(Scope::parse));
                assert_eq!(d.clone().into_result().is_ok(), d.allowed);

                // Lists filtered for the same grant agree with per-record checks.
                if !matches!(case, Case::OtherTenant) {
                    let r = resource(&u, case);
                    match list_filter(&u, actions::CRM_LEADS_EDIT) {
                        Ok(filter) => assert_eq!(
                            filter.matches(r.owner_id, r.team_id),
                            can(&u, actions::CRM_LEADS_EDIT, &r).allowed,
                            "grant {grant} case {case:?}"
                        ),
                        Err(denied) => {
                            assert!(!can(&u, actions::CRM_LEADS_EDIT, &r).allowed, "{denied}")
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn boolean_actions_ignore_owner_and_team() {
        for (grant, allowed) in [(json!(true), true), (json!(false), false)] {
            let u = user(json!({ "crm.leads.create": grant }));
            for case in CASES {
                let d = can(&u, actions::CRM_LEADS_CREATE, &resource(&u, case));
                let want = allowed && !matches!(case, Case::OtherTenant);
                assert_eq!(d.allowed, want, "{grant} {case:?}");
                assert_eq!(d.scope, None);
            }
        }
    }

    #[test]
    fn wrong_kind_in_token_is_not_a_grant() {
        let u = user(json!({ "crm.leads.view": true, "crm.leads.create": "all" }));
        let r = resource(&u, Case::OwnerIsUser);
        assert_eq!(
            can(&u, actions::CRM_LEADS_VIEW, &r).reason,
            Reason::NotGranted
        );
        assert_eq!(
            can(&u, actions::CRM_LEADS_CREATE, &r).reason,
            Reason::NotGranted
        );
        assert!(list_filter(&u, actions::CRM_LEADS_VIEW).is_err());
    }

    #[test]
    fn denial_messages() {
        let u = user(json!({ "crm.leads.edit": "own", "crm.activities.edit": "team" }));
        let other = resource(&u, Case::OwnerIsOther);
        let err = can(&u, actions::CRM_LEADS_EDIT, &other)
            .into_result()
            .unwrap_err();
        assert_eq!(err.permission, "crm.leads.edit");
        assert_eq!(
            err.detail,
            "You do not have permission to edit leads outside your own records."
        );
        assert_eq!(err.to_string(), err.detail);

        let err = can(&u, actions::CRM_ACTIVITIES_EDIT, &other)
            .into_result()
            .unwrap_err();
        assert_eq!(
            err.detail,
            "You do not have permission to edit activities outside your own and your teams' records."
        );

        let err = can(&u, actions::CRM_LEADS_DELETE, &other)
            .into_result()
            .unwrap_err();
        assert_eq!(err.detail, "Permission crm.leads.delete is required.");

        let err = can(
            &u,
            actions::CRM_LEADS_EDIT,
            &resource(&u, Case::OtherTenant),
        )
        .into_result()
        .unwrap_err();
        assert_eq!(
            err.detail,
            "You do not have permission to edit leads of another tenant."
        );

        let ok = can(
            &u,
            actions::CRM_LEADS_EDIT,
            &resource(&u, Case::OwnerIsUser),
        )
        .into_result()
        .unwrap();
        assert_eq!(
            ok.message(),
            "Permission crm.leads.edit is granted with scope own, and you own this record."
        );
        assert_eq!(PermissionDenied::CODE, "permission_denied");
    }

    #[test]
    fn can_do_for_actions_without_a_record() {
        let u = user(json!({ "crm.leads.view": "own", "crm.leads.create": true }));
        let d = can_do(&u, actions::CRM_LEADS_VIEW);
        assert!(d.allowed);
        assert_eq!((d.reason, d.scope), (Reason::ScopeHeld, Some(Scope::Own)));
        assert_eq!(
            can_do(&u, actions::CRM_LEADS_CREATE).reason,
            Reason::Granted
        );
        // Trait objects work too (e.g. claims behind `&dyn Subject`).
        let dynamic: &dyn Subject = &u;
        assert!(can_do(dynamic, actions::CRM_LEADS_CREATE).allowed);
        let d = can_do(&u, actions::CRM_LEADS_EXPORT);
        assert!(!d.allowed);
        assert_eq!(
            d.into_result().unwrap_err().detail,
            "Permission crm.leads.export is required."
        );
    }

    #[test]
    fn list_filters() {
        let u = user(json!({
            "crm.leads.view": "own", "crm.activities.view": "team", "crm.payments.view": "all",
            "whatsapp.messages.view": true
        }));
        assert_eq!(
            list_filter(&u, actions::CRM_LEADS_VIEW),
            Ok(OwnershipFilter::Own { owner_id: u.id })
        );
        assert_eq!(
            list_filter(&u, actions::CRM_ACTIVITIES_VIEW),
            Ok(OwnershipFilter::Team {
                owner_id: u.id,
                team_ids: u.teams.clone()
            })
        );
        assert_eq!(
            list_filter(&u, actions::CRM_PAYMENTS_VIEW),
            Ok(OwnershipFilter::All)
        );
        assert_eq!(
            list_filter(&u, actions::WHATSAPP_MESSAGES_VIEW),
            Ok(OwnershipFilter::All)
        );
        let denied = list_filter(&u, actions::TASKS_TASKS_VIEW).unwrap_err();
        assert_eq!(denied.permission, "tasks.tasks.view");
        assert_eq!(denied.detail, "Permission tasks.tasks.view is required.");
        assert_eq!(
            serde_json::to_value(OwnershipFilter::Own { owner_id: u.id }).unwrap(),
            json!({"type": "own", "owner_id": u.id})
        );
    }

    #[test]
    fn explains_which_roles_grant() {
        let roles = [
            RoleGrants {
                id: "r1".into(),
                name: "Sales".into(),
                is_active: true,
                permissions: serde_json::from_value(json!({"crm": {"leads": {"edit": "own"}}}))
                    .unwrap(),
            },
            RoleGrants {
                id: "r2".into(),
                name: "Lead".into(),
                is_active: true,
                permissions: serde_json::from_value(json!({"crm": {"leads": {"edit": "team"}}}))
                    .unwrap(),
            },
            RoleGrants {
                id: "r3".into(),
                name: "Old".into(),
                is_active: false,
                permissions: serde_json::from_value(json!({"crm": {"leads": {"edit": "all"}}}))
                    .unwrap(),
            },
            RoleGrants {
                id: "r4".into(),
                name: "None".into(),
                is_active: true,
                permissions: PermissionSet::empty(),
            },
        ];
        let names: Vec<_> = explain(&roles, actions::CRM_LEADS_EDIT)
            .into_iter()
            .map(|r| (r.name, r.grant))
            .collect();
        assert_eq!(
            names,
            [
                ("Sales".to_string(), Grant::Scope(Scope::Own)),
                ("Lead".to_string(), Grant::Scope(Scope::Team))
            ]
        );

        let u = User {
            perms: super::super::flat::flatten(&super::super::set::merge(&roles)),
            ..user(json!({}))
        };
        let d = can_with_roles(
            &u,
            actions::CRM_LEADS_EDIT,
            &resource(&u, Case::TeamMember),
            &roles,
        );
        assert!(d.allowed);
        assert_eq!(d.scope, Some(Scope::Team));
        assert_eq!(
            d.granted_by
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            ["r1", "r2"]
        );
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["permission"], "crm.leads.edit");
        assert_eq!(json["reason"], "team_member");
    }
}
