//! The one authorization path for tenant endpoints: [`Require<P>`] names the
//! grant an endpoint needs and asks the permission engine; and
//! [`own_grants`] / [`refuse_beyond`] enforce the no-escalation rule.

use super::claims::Claims;
use super::extract::{actor, module_actor, Actor, Principal};
use super::token::TokenVerifier;
use crate::http::ApiError;
use crate::keys;
use crate::permissions::{
    can, can_do, exceeding_any, list_filter, merge, Decision, FlatPermissions, OwnershipFilter,
    PermissionKey, PermissionSet, Resource, RoleGrants, Subject,
};
use crate::records::{RoleRecord, UserRecord};
use crate::store::{Part, Store};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use serde::Deserialize;
use std::marker::PhantomData;
use std::sync::Arc;
use uuid::Uuid;

/// A zero-sized type naming one permission key, for [`Require`].
pub trait Permission: Send + Sync + 'static {
    const KEY: PermissionKey;
}

macro_rules! permissions {
    ($($name:ident = $key:ident;)*) => {
        $(
            #[doc = concat!("Marker for [`crate::permissions::actions::", stringify!($key), "`].")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Permission for $name {
                const KEY: PermissionKey = crate::permissions::actions::$key;
            }
        )*
    };
}

permissions! {
    AdministrationUsersView = ADMINISTRATION_USERS_VIEW;
    AdministrationUsersManage = ADMINISTRATION_USERS_MANAGE;
    AdministrationRolesView = ADMINISTRATION_ROLES_VIEW;
    AdministrationRolesManage = ADMINISTRATION_ROLES_MANAGE;
    AdministrationTeamsView = ADMINISTRATION_TEAMS_VIEW;
    AdministrationTeamsManage = ADMINISTRATION_TEAMS_MANAGE;
    AdministrationTenantView = ADMINISTRATION_TENANT_VIEW;
    AdministrationTenantManage = ADMINISTRATION_TENANT_MANAGE;
    AdministrationBillingView = ADMINISTRATION_BILLING_VIEW;
    AdministrationBillingManage = ADMINISTRATION_BILLING_MANAGE;
    AdministrationAuditView = ADMINISTRATION_AUDIT_VIEW;
    AdministrationAuditManage = ADMINISTRATION_AUDIT_MANAGE;
    CrmLeadsView = CRM_LEADS_VIEW;
    CrmLeadsCreate = CRM_LEADS_CREATE;
    CrmLeadsEdit = CRM_LEADS_EDIT;
    CrmLeadsDelete = CRM_LEADS_DELETE;
    CrmLeadsExport = CRM_LEADS_EXPORT;
    CrmActivitiesView = CRM_ACTIVITIES_VIEW;
    CrmActivitiesCreate = CRM_ACTIVITIES_CREATE;
    CrmActivitiesEdit = CRM_ACTIVITIES_EDIT;
    CrmActivitiesDelete = CRM_ACTIVITIES_DELETE;
}

impl Actor {
    /// May the caller do `key` on `resource`? Super admins may do anything
    /// (scope `all`). For records: a denial is 403 with `required`/`held`.
    pub fn can(&self, key: PermissionKey, resource: &Resource) -> Decision {
        let claims = self.claims();
        if claims.is_super_admin {
            let everything = Resource::new(claims.tenant_id, resource.owner_id, resource.team_id);
            return can(&SuperAdminSubject(claims), key, &everything);
        }
        can(claims, key, resource)
    }

    /// A record of the tenant acted in, as permission checks see it.
    pub fn resource(&self, owner_id: Option<Uuid>, team_id: Option<Uuid>) -> Resource {
        Resource::new(self.scope().tenant_id(), owner_id, team_id)
    }

    /// Which records of `key` a list may return: by the caller's scope, or
    /// everything for a super admin.
    pub fn list_filter(&self, key: PermissionKey) -> Result<OwnershipFilter, ApiError> {
        if self.claims().is_super_admin {
            return Ok(OwnershipFilter::All);
        }
        Ok(list_filter(self.claims(), key)?)
    }
}

/// A super admin's claims seen as holding every grant at scope `all`.
struct SuperAdminSubject<'a>(&'a Claims);

impl Subject for SuperAdminSubject<'_> {
    fn user_id(&self) -> Uuid {
        self.0.sub
    }
    fn tenant_id(&self) -> Uuid {
        self.0.tenant_id
    }
    fn team_ids(&self) -> &[Uuid] {
        &self.0.team_ids
    }
    fn permissions(&self) -> &FlatPermissions {
        FlatPermissions::everything()
    }
}

/// Whether verified claims hold `key` (super admins hold everything).
pub fn holds(claims: &Claims, key: PermissionKey) -> bool {
    claims.is_super_admin || can_do(claims, key).is_allowed()
}

/// Permission class: a caller of the tenant acted in (same `X-Tenant-Id`
/// rules as [`super::TenantMember`]) whose token holds `P::KEY`. Super
/// admins pass every check. Refusals are 403 naming the permission.
#[derive(Debug, Clone)]
pub struct Require<P: Permission>(pub Actor, pub PhantomData<P>);

impl<P: Permission> Require<P> {
    pub fn actor(&self) -> &Actor {
        &self.0
    }
}

impl<S, P> FromRequestParts<S> for Require<P>
where
    S: Send + Sync,
    P: Permission,
    Arc<TokenVerifier>: FromRef<S>,
    Store: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let store = Store::from_ref(state);
        let actor = match P::KEY.module() {
            // Module endpoints first ask whether the tenant has the module.
            Some(module) => {
                let verifier = Arc::<TokenVerifier>::from_ref(state);
                module_actor(parts, &verifier, &store, module).await?
            }
            // Built on `Principal` so every check of the token applies here too.
            None => {
                let principal = Principal::from_request_parts(parts, state).await?;
                actor(principal, parts, &store).await?
            }
        };
        if !actor.claims().is_super_admin {
            let _granted = can_do(actor.claims(), P::KEY).into_result()?;
        }
        Ok(Require(actor, PhantomData))
    }
}

/// The caller's own merged grants, from their user and roles as stored now
/// (not the token, which may predate a change of roles); `None` for super
/// admins, who are exempt from the no-escalation rule. The roles the token
/// names are read in one batch with the user, and only those the stored
/// user holds count; a held role the token does not name costs a second
/// read.
pub async fn own_grants(store: &Store, actor: &Actor) -> Result<Option<PermissionSet>, ApiError> {
    if actor.claims().is_super_admin {
        return Ok(None);
    }
    let tenant = store.tenant(actor.scope());
    let user_key = keys::user(actor.user_id());
    // A batch read takes at most 100 keys; more is no token we sign.
    let named = match actor.claims().roles.as_slice() {
        roles if roles.len() < 100 => roles,
        _ => &[],
    };
    let mut sks: Vec<keys::SortKey> = vec![user_key.clone().into()];
    sks.extend(named.iter().map(|id| keys::role(*id).into()));
    let parts = [HeldRoles::ATTRIBUTES, RoleGrant::ATTRIBUTES];
    let mut fetched = tenant.get_many_parts(&sks, &parts).await?;
    let held: Option<HeldRoles> = fetched.take_part(&user_key)?;
    let Some(held) = held.filter(|u| u.is_active) else {
        return Ok(Some(PermissionSet::empty()));
    };
    let mut roles = Vec::new();
    let mut unread = Vec::new();
    for id in &held.role_ids {
        if named.contains(id) {
            roles.extend(fetched.take_part::<RoleGrant>(&keys::role(*id))?);
        } else {
            unread.push(keys::role(*id));
        }
    }
    if !unread.is_empty() {
        let mut rest = tenant
            .get_many_parts(&unread, &[RoleGrant::ATTRIBUTES])
            .await?;
        for sk in &unread {
            roles.extend(rest.take_part::<RoleGrant>(sk)?);
        }
    }
    let roles: Vec<RoleGrants> = roles.into_iter().map(RoleGrants::from).collect();
    Ok(Some(merge(&roles)))
}

/// What the no-escalation rule reads of the caller's user.
#[derive(Deserialize)]
struct HeldRoles {
    is_active: bool,
    role_ids: Vec<Uuid>,
}

impl Part for HeldRoles {
    type Of = UserRecord;
    const ATTRIBUTES: &'static [&'static str] = &["is_active", "role_ids"];
}

/// What it reads of each of their roles.
#[derive(Deserialize)]
struct RoleGrant {
    id: Uuid,
    name: String,
    is_active: bool,
    permissions: PermissionSet,
}

impl Part for RoleGrant {
    type Of = RoleRecord;
    const ATTRIBUTES: &'static [&'static str] = &["id", "name", "is_active", "permissions"];
}

impl From<RoleGrant> for RoleGrants {
    fn from(role: RoleGrant) -> Self {
        RoleGrants {
            id: role.id.to_string(),
            name: role.name,
            is_active: role.is_active,
            permissions: role.permissions,
        }
    }
}

/// Refuses (403 `permission_escalation`) when any of `sets` grants more than
/// `held`; `held: None` (a super admin) passes. `what` completes "You cannot
/// …", e.g. "create a role".
pub fn refuse_beyond<'a>(
    held: Option<&PermissionSet>,
    sets: impl IntoIterator<Item = &'a PermissionSet>,
    what: &str,
) -> Result<(), ApiError> {
    let Some(held) = held else {
        return Ok(());
    };
    let beyond = exceeding_any(sets, held);
    if beyond.is_empty() {
        return Ok(());
    }
    Err(ApiError::escalation(
        format!(
            "You cannot {what} with permissions beyond your own: {}.",
            beyond
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        beyond,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::{actions as k, admin_permissions, Grant, Scope};

    #[test]
    fn refusals_name_what_exceeds() {
        let held = PermissionSet::empty()
            .with(k::CRM_LEADS_VIEW, Grant::Scope(Scope::Team))
            .unwrap();
        let wanted = PermissionSet::empty()
            .with(k::CRM_LEADS_VIEW, Grant::Scope(Scope::All))
            .unwrap();
        let e = refuse_beyond(Some(&held), [&wanted], "create a role").unwrap_err();
        assert_eq!(e.status(), 403);
        assert_eq!(e.body()["code"], "permission_escalation");
        assert_eq!(e.body()["exceeding"], serde_json::json!(["crm.leads.view"]));
        assert!(refuse_beyond(Some(&held), [&held], "x").is_ok());
        assert!(
            refuse_beyond(None, [&admin_permissions()], "x").is_ok(),
            "super admins are exempt"
        );
    }

    #[test]
    fn markers_name_their_keys() {
        assert_eq!(
            AdministrationUsersView::KEY.as_str(),
            "administration.users.view"
        );
        assert_eq!(
            AdministrationAuditManage::KEY.as_str(),
            "administration.audit.manage"
        );
    }
}
