//! Permission engine: pure logic, no I/O.
//!
//! The model:
//! - The [`catalog()`] lists modules → resources → actions. Each action is
//!   either a *scope* action (`own` < `team` < `all`, or none) or a *boolean*.
//! - A role holds a [`PermissionSet`], stored and served nested
//!   (`{"crm": {"leads": {"view": "team", "create": true}}}`) and checked on
//!   write by [`validate`].
//! - A user's effective permissions are the [`merge`] of their active roles
//!   (highest scope wins, booleans OR), [`gate`]d to the tenant's enabled
//!   [`Module`]s (`administration` is always on), then [`FlatPermissions`]
//!   (`{"crm.leads.view": "team"}`) in the access token.
//! - Handlers ask [`can`] / [`can_do`] / [`list_filter`] with a typed
//!   [`PermissionKey`] from [`actions`] and get a [`Decision`] that says why.
//! - "Tenant admin" is not a flag: it is holding every `administration`
//!   grant ([`is_tenant_admin`]). Endpoints ask for one grant each
//!   (`shared::auth::Require`).
//! - No escalation: a partial administrator writes or hands out only grants
//!   [`is_within`] their own ([`exceeding`] names the rest).

pub mod actions;
mod catalog;
mod check;
mod error;
mod flat;
mod permission_key;
mod set;
pub mod stored;
mod templates;
mod validate;
mod within;

pub use catalog::{
    catalog, ActionDef, ActionKind, ActionRef, Catalog, Module, ModuleDef, ResourceDef, Scope,
    UnknownModule, ACTION_COUNT, CATALOG, CATALOG_VERSION,
};
pub use check::{
    can, can_do, can_with_roles, explain, list_filter, Decision, GrantingRole, OwnershipFilter,
    PermissionDenied, Reason, Resource, Subject,
};
pub use error::{PermissionError, PermissionErrors};
pub use flat::{flatten, is_tenant_admin, unflatten, FlatPermissions};
pub use permission_key::PermissionKey;
pub use set::{gate, merge, Grant, PermissionSet, RoleGrants};
pub use templates::{admin_permissions, templates, RoleTemplate};
pub use validate::{validate, MAX_KEYS, MAX_KEY_LEN};
pub use within::{exceeding, exceeding_any, is_within};
