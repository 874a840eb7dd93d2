//! The permission matrix: every endpoint of every function × every kind of
//! caller, with the status each must answer.
//!
//! Callers (columns):
//! - `anon`: no `Authorization` header;
//! - `member`: a user of tenant A holding only `crm.leads.view = own` (no
//!   `administration` grant);
//! - `admin`: tenant A's administrator (the registering user);
//! - `other`: tenant B's administrator, on A's ids;
//! - `super`: a platform super admin (a real user of the platform tenant),
//!   without `X-Tenant-Id`, so acting in its own tenant;
//! - `super+A`: the same super admin with `X-Tenant-Id: <A>`;
//! - `other+A`: tenant B's administrator sending `X-Tenant-Id: <A>`;
//! - one column per `administration` grant (`users.view` … `audit.manage`):
//!   a user of tenant A holding exactly that one grant. Its expected status
//!   is the `admin` column's where the row needs that grant, the `member`
//!   column's otherwise (`Row::needs`), unless the row says otherwise
//!   (`Row::grants`: the CRM rows the member reaches through its
//!   `crm.leads.view`, which those users lack).
//!
//! Besides the status, responses to `other`, `super` and `other+A` must
//! never contain tenant A's ids (except the super admin's platform registry
//! of tenants), and where a row names an id that A's callers must see, the
//! 2xx answers to `admin` and `super+A` must contain it.
//!
//! Destructive operations act on a fresh resource per caller, so one
//! caller's delete never changes the next caller's expectation. Every cell is
//! run and every mismatch collected; the test fails once with the full list.

use http::StatusCode;
use serde_json::{json, Value};
use shared::billing_store::{self, Step};
use shared::keys;
use shared::permissions::{actions as perm, Module, PermissionKey};
use shared::records::{InvoiceRecord, InvoiceRefRecord};
use shared::store::Condition;
use shared::store::TenantScope;
use shared::tenancy::{self, NewTenant, TrialTerms};
use std::collections::HashMap;
use tests::app::{claims_of, setup, Setup};
use tests::{registration, send, unique, TestResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anon,
    Member,
    Admin,
    Other,
    Super,
    SuperA,
    OtherA,
    /// A user of A holding exactly this one `administration` grant.
    Grant(PermissionKey),
}

const BASE: [Who; 7] = [
    Who::Anon,
    Who::Member,
    Who::Admin,
    Who::Other,
    Who::Super,
    Who::SuperA,
    Who::OtherA,
];

/// The twelve `administration` grants, in catalog order.
fn admin_grants() -> Vec<PermissionKey> {
    perm::ALL
        .iter()
        .copied()
        .filter(|k| k.module().is_none())
        .collect()
}

/// Every column: the seven callers above, then one per administration grant.
fn columns() -> Vec<Who> {
    BASE.iter()
        .copied()
        .chain(admin_grants().into_iter().map(Who::Grant))
        .collect()
}

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::Anon => "anon",
            Who::Member => "member",
            Who::Admin => "admin",
            Who::Other => "other",
            Who::Super => "super",
            Who::SuperA => "super+A",
            Who::OtherA => "other+A",
            // `administration.users.view` → `users.view`
            Who::Grant(k) => &k.as_str()["administration.".len()..],
        }
    }

    /// Callers that must never see tenant A's data.
    fn outsider(self) -> bool {
        matches!(self, Who::Other | Who::Super | Who::OtherA)
    }
}

#[derive(Debug, Clone, Copy)]
enum Fn_ {
    Auth,
    Roles,
    Audit,
    Tenants,
    Users,
    Teams,
    Plans,
    Subscriptions,
    Invoices,
    Crm,
}

impl Fn_ {
    fn router(self, s: &Setup) -> &axum::Router {
        match self {
            Fn_::Auth => &s.auth.app,
            Fn_::Roles => &s.roles,
            Fn_::Audit => &s.audit,
            Fn_::Tenants => &s.tenants,
            Fn_::Users => &s.users,
            Fn_::Teams => &s.teams,
            Fn_::Plans => &s.plans,
            Fn_::Subscriptions => &s.subscriptions,
            Fn_::Invoices => &s.invoices,
            Fn_::Crm => &s.crm,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Fn_::Auth => "auth",
            Fn_::Roles => "roles",
            Fn_::Audit => "audit",
            Fn_::Tenants => "tenants",
            Fn_::Users => "users",
            Fn_::Teams => "teams",
            Fn_::Plans => "plans",
            Fn_::Subscriptions => "subscriptions",
            Fn_::Invoices => "invoices",
            Fn_::Crm => "crm",
        }
    }
}

/// A request body. `Json` strings may hold placeholders: `{unique}` (a
/// fresh token per request) and fixture ids such as `{role}`.
enum Body {
    None,
    Json(Value),
    /// The caller's own credentials (anonymous: the member's).
    Login,
    /// A refresh token of a fresh login of the caller (anonymous: A's admin).
    Refresh,
    /// `{"refresh_token": …}` of a fresh login of the caller.
    Logout,
    /// The caller's own access token (anonymous: A's admin's).
    Verify,
    /// Change the caller's password (restored afterwards).
    ChangePassword,
}

struct Row {
    func: Fn_,
    method: &'static str,
    path: &'static str,
    body: Body,
    /// Expected status per caller, in the order of [`BASE`].
    expect: [u16; 7],
    /// The one `administration` grant the endpoint requires, if any; on
    /// CRM rows the grant it checks first (a 403 to the member or a
    /// single-grant user must name it).
    needs: Option<PermissionKey>,
    /// The single-grant users' status where it is neither the admin's nor
    /// the member's.
    grants: Option<u16>,
    /// A platform-level endpoint: the super admin legitimately sees every
    /// tenant, so no leak check for `super`.
    platform: bool,
    /// A fixture id that the 2xx answers to `admin` and `super+A` must hold.
    sees: Option<&'static str>,
}

fn row(func: Fn_, method: &'static str, path: &'static str, body: Body, expect: [u16; 7]) -> Row {
    Row {
        func,
        method,
        path,
        body,
        expect,
        needs: None,
        grants: None,
        platform: false,
        sees: None,
    }
}

impl Row {
    fn platform(mut self) -> Self {
        self.platform = true;
        self
    }

    fn sees(mut self, key: &'static str) -> Self {
        self.sees = Some(key);
        self
    }

    fn needs(mut self, key: PermissionKey) -> Self {
        self.needs = Some(key);
        self
    }

    fn grants(mut self, status: u16) -> Self {
        self.grants = Some(status);
        self
    }

    /// The status `who` must get: a single-grant holder answers as the
    /// admin where the row needs their grant, as the member elsewhere.
    fn expected(&self, who: Who) -> u16 {
        match who {
            Who::Grant(k) if self.needs == Some(k) => self.expect[2],
            Who::Grant(_) => self.grants.unwrap_or(self.expect[1]),
            base => self.expect[BASE.iter().position(|w| *w == base).unwrap_or(0)],
        }
    }
}

//                     anon member admin other super super+A other+A
const PUBLIC: [u16; 7] = [200, 200, 200, 200, 200, 200, 200];
const SIGNED_IN: [u16; 7] = [401, 200, 200, 200, 200, 200, 200];
/// Any member, on a collection or with no tenant resource.
const MEMBER_LIST: [u16; 7] = [401, 200, 200, 200, 200, 200, 404];
/// Tenant admin, on the tenant itself or a collection.
const ADMIN_LIST: [u16; 7] = [401, 403, 200, 200, 200, 200, 404];
const ADMIN_CREATE: [u16; 7] = [401, 403, 201, 201, 201, 201, 404];
/// Tenant admin, on one of A's resources.
const ADMIN_ON_A: [u16; 7] = [401, 403, 200, 404, 404, 200, 404];
const ADMIN_DELETE_ON_A: [u16; 7] = [401, 403, 204, 404, 404, 204, 404];
/// Platform super admin only (the header does not apply).
const SUPER_ONLY: [u16; 7] = [401, 403, 403, 403, 200, 200, 403];
/// Tenant admin on one of A's resources, which a super admin reaches by id
/// from any tenant (and so a platform row).
const ADMIN_OR_SUPER_ON_A: [u16; 7] = [401, 403, 200, 404, 200, 200, 404];

/// CRM, on one of A's leads (the admin's, so beyond the member's `own`).
const CRM_ON_A: [u16; 7] = [401, 404, 200, 404, 404, 200, 404];
const CRM_DELETE_ON_A: [u16; 7] = [401, 404, 204, 404, 404, 204, 404];
/// CRM grants the member lacks (export, activities), on one of A's leads.
const CRM_BEYOND_MEMBER_ON_A: [u16; 7] = [401, 403, 200, 404, 404, 200, 404];

/// The seeded Starter plan (`tenancy::default_plans`).
const STARTER_PLAN: &str = "00000000-0000-0000-0000-000000057a27";

fn plan_body() -> Value {
    json!({"name": "Plan {unique}", "slug": "m-{unique}", "price_monthly": "10", "price_yearly": "100.50",
           "included_modules": ["crm"]})
}

fn invitation_body() -> Value {
    json!({"email": "i-{unique}@example.com", "role_ids": ["{role}"]})
}

fn user_body() -> Value {
    json!({"email": "m-{unique}@example.com", "password": "a-good-password", "password_confirm": "a-good-password",
           "first_name": "Nia", "role_ids": []})
}

fn tenant_body() -> Value {
    json!({"tenant_name": "Org {unique}", "tenant_slug": "m-{unique}", "admin_email": "m-{unique}@example.com",
           "admin_password": "correct-horse-battery", "admin_password_confirm": "correct-horse-battery",
           "admin_first_name": "Ada", "admin_last_name": "Lovelace"})
}

fn rows() -> Vec<Row> {
    use Body::{Json, None as NoBody};
    use Fn_::*;
    let modules = json!(["crm", "whatsapp", "meetings"]);
    vec![
        // ---- auth ----
        row(Auth, "POST", "/api/auth/register/", Json(tenant_body()), [201; 7]),
        row(Auth, "POST", "/api/auth/login/", Body::Login, PUBLIC),
        row(Auth, "POST", "/api/auth/token/refresh/", Body::Refresh, PUBLIC),
        row(Auth, "POST", "/api/auth/token/verify/", Body::Verify, PUBLIC),
        row(Auth, "POST", "/api/auth/logout/", Body::Logout, SIGNED_IN),
        row(Auth, "POST", "/api/auth/password/change/", Body::ChangePassword, SIGNED_IN),
        // A link's token is mailed; any other is refused, to every caller.
        row(Auth, "POST", "/api/auth/invitations/accept/", Json(json!({"token": "not-a-token", "password": "a-good-password", "password_confirm": "a-good-password"})), [400; 7]),
        row(Auth, "GET", "/.well-known/jwks.json", NoBody, PUBLIC),
        // ---- audit (early, while A's log is short) ----
        row(Audit, "GET", "/api/audit/?page_size=100", NoBody, ADMIN_LIST).needs(perm::ADMINISTRATION_AUDIT_VIEW).sees("{admin_user}"),
        // ---- roles ----
        row(Roles, "GET", "/api/roles/?page_size=100", NoBody, ADMIN_LIST).needs(perm::ADMINISTRATION_ROLES_VIEW).sees("{role}"),
        row(Roles, "POST", "/api/roles/", Json(json!({"name": "Role {unique}"})), ADMIN_CREATE).needs(perm::ADMINISTRATION_ROLES_MANAGE),
        row(Roles, "GET", "/api/roles/{role}/", NoBody, ADMIN_ON_A).needs(perm::ADMINISTRATION_ROLES_VIEW).sees("{role}"),
        row(Roles, "PUT", "/api/roles/{role}/", Json(json!({"name": "Plain {unique}", "description": "put"})), ADMIN_ON_A)
            .needs(perm::ADMINISTRATION_ROLES_MANAGE),
        row(Roles, "PATCH", "/api/roles/{role}/", Json(json!({"description": "patch {unique}"})), ADMIN_ON_A)
            .needs(perm::ADMINISTRATION_ROLES_MANAGE),
        row(Roles, "DELETE", "/api/roles/{fresh_role}/", NoBody, ADMIN_DELETE_ON_A).needs(perm::ADMINISTRATION_ROLES_MANAGE),
        row(Roles, "GET", "/api/roles/{member_role}/members/?page_size=100", NoBody, ADMIN_ON_A)
            .needs(perm::ADMINISTRATION_USERS_VIEW)
            .sees("{member}"),
        // The catalog and templates are not tenant data: any signed-in caller.
        row(Roles, "GET", "/api/roles/permissions_schema/", NoBody, SIGNED_IN),
        row(Roles, "GET", "/api/roles/templates/", NoBody, SIGNED_IN),
        // ---- tenants: own organisation ----
        // Any member reads it; `settings` and `domain` need tenant.view (`tenant_me_shapes`).
        row(Tenants, "GET", "/api/tenants/me/", NoBody, MEMBER_LIST).sees("{tenant}"),
        row(
            Tenants,
            "PUT",
            "/api/tenants/me/",
            Json(json!({"name": "Org {unique}", "enabled_modules": modules.clone()})),
            ADMIN_LIST,
        )
        .needs(perm::ADMINISTRATION_TENANT_MANAGE)
        .sees("{tenant}"),
        row(Tenants, "PATCH", "/api/tenants/me/", Json(json!({"name": "Org {unique}"})), ADMIN_LIST)
            .needs(perm::ADMINISTRATION_TENANT_MANAGE)
            .sees("{tenant}"),
        // ---- tenants: the platform registry ----
        row(Tenants, "GET", "/api/tenants/?page_size=100", NoBody, SUPER_ONLY).platform().sees("{tenant}"),
        row(Tenants, "POST", "/api/tenants/", Json(tenant_body()), [401, 403, 403, 403, 201, 201, 403]).platform(),
        row(Tenants, "GET", "/api/tenants/{tenant}/", NoBody, SUPER_ONLY).platform().sees("{tenant}"),
        row(
            Tenants,
            "PUT",
            "/api/tenants/{tenant}/",
            Json(json!({"name": "Org {unique}", "enabled_modules": modules})),
            SUPER_ONLY,
        )
        .platform(),
        row(Tenants, "PATCH", "/api/tenants/{tenant}/", Json(json!({"name": "Org {unique}"})), SUPER_ONLY).platform(),
        row(Tenants, "DELETE", "/api/tenants/{fresh_tenant}/", NoBody, [401, 403, 403, 403, 204, 204, 403]).platform(),
        row(Tenants, "POST", "/api/tenants/{fresh_tenant}/suspend/", NoBody, SUPER_ONLY).platform(),
        row(Tenants, "POST", "/api/tenants/{fresh_suspended_tenant}/activate/", NoBody, SUPER_ONLY).platform(),
        // ---- users ----
        // The caller's own profile: the header never moves it, and a super
        // admin sending it to update_me is refused with 400 `invalid_tenant_header`.
        row(Users, "GET", "/api/users/me/", NoBody, MEMBER_LIST),
        row(Users, "PUT", "/api/users/update_me/", Json(json!({"first_name": "Put"})), [401, 200, 200, 200, 200, 400, 404]),
        row(Users, "PATCH", "/api/users/update_me/", Json(json!({"last_name": "Patch"})), [401, 200, 200, 200, 200, 400, 404]),
        row(Users, "GET", "/api/users/?page_size=100", NoBody, ADMIN_LIST).sees("{user}").needs(perm::ADMINISTRATION_USERS_VIEW),
        row(Users, "POST", "/api/users/", Json(user_body()), ADMIN_CREATE).needs(perm::ADMINISTRATION_USERS_MANAGE),
        row(Users, "GET", "/api/users/{user}/", NoBody, ADMIN_ON_A).sees("{user}").needs(perm::ADMINISTRATION_USERS_VIEW),
        row(
            Users,
            "PUT",
            "/api/users/{user}/",
            Json(json!({"first_name": "Tia", "last_name": "Put", "phone": null, "timezone": "UTC", "preferences": {},
                        "profile_picture": null, "is_active": true, "role_ids": ["{role}"], "team_ids": ["{team}"]})),
            ADMIN_ON_A,
        )
        .needs(perm::ADMINISTRATION_USERS_MANAGE)
        .sees("{user}"),
        row(Users, "PATCH", "/api/users/{user}/", Json(json!({"last_name": "Patch"})), ADMIN_ON_A).sees("{user}").needs(perm::ADMINISTRATION_USERS_MANAGE),
        row(Users, "DELETE", "/api/users/{fresh_user}/", NoBody, ADMIN_DELETE_ON_A).needs(perm::ADMINISTRATION_USERS_MANAGE),
        row(Users, "POST", "/api/users/{fresh_inactive_user}/activate/", NoBody, ADMIN_ON_A).needs(perm::ADMINISTRATION_USERS_MANAGE),
        row(Users, "POST", "/api/users/{user}/assign_roles/", Json(json!({"role_ids": ["{role}"]})), ADMIN_ON_A).sees("{role}").needs(perm::ADMINISTRATION_USERS_MANAGE),
        row(Users, "DELETE", "/api/users/{fresh_holder}/remove_role/", Json(json!({"role_id": "{role}"})), ADMIN_ON_A).needs(perm::ADMINISTRATION_USERS_MANAGE),
        row(Users, "GET", "/api/users/invitations/?page_size=100", NoBody, ADMIN_LIST).sees("{invitation}").needs(perm::ADMINISTRATION_USERS_MANAGE),
        row(Users, "POST", "/api/users/invitations/", Json(json!({"email": "i-{unique}@example.com"})), ADMIN_CREATE).needs(perm::ADMINISTRATION_USERS_MANAGE),
        row(Users, "POST", "/api/users/invitations/{fresh_invitation}/resend/", NoBody, ADMIN_ON_A).needs(perm::ADMINISTRATION_USERS_MANAGE),
        row(Users, "DELETE", "/api/users/invitations/{fresh_invitation}/", NoBody, ADMIN_DELETE_ON_A).needs(perm::ADMINISTRATION_USERS_MANAGE),
        // ---- teams ----
        row(Teams, "GET", "/api/teams/?page_size=100", NoBody, ADMIN_LIST).needs(perm::ADMINISTRATION_TEAMS_VIEW).sees("{team}"),
        row(Teams, "POST", "/api/teams/", Json(json!({"name": "Team {unique}"})), ADMIN_CREATE).needs(perm::ADMINISTRATION_TEAMS_MANAGE),
        row(Teams, "GET", "/api/teams/{team}/", NoBody, ADMIN_ON_A).needs(perm::ADMINISTRATION_TEAMS_VIEW).sees("{team}"),
        row(Teams, "PUT", "/api/teams/{team}/", Json(json!({"name": "North {unique}", "description": "put"})), ADMIN_ON_A).needs(perm::ADMINISTRATION_TEAMS_MANAGE),
        row(Teams, "PATCH", "/api/teams/{team}/", Json(json!({"description": "patch {unique}"})), ADMIN_ON_A).needs(perm::ADMINISTRATION_TEAMS_MANAGE),
        row(Teams, "DELETE", "/api/teams/{fresh_team}/", NoBody, ADMIN_DELETE_ON_A).needs(perm::ADMINISTRATION_TEAMS_MANAGE),
        row(Teams, "GET", "/api/teams/{team}/members/?page_size=100", NoBody, ADMIN_ON_A).sees("{user}").needs(perm::ADMINISTRATION_USERS_VIEW),
        // ---- crm (module service; A has the module). The member holds
        // `crm.leads.view = own`, the single-grant users no CRM grant; a
        // super admin inside A owns nothing there, so what it creates must
        // name an owner (400 here), and the other tenant's admin lists its
        // own, empty, CRM. ----
        row(Crm, "GET", "/api/crm/leads/?page_size=100", NoBody, MEMBER_LIST).needs(perm::CRM_LEADS_VIEW).grants(403).sees("{lead}"),
        row(Crm, "POST", "/api/crm/leads/", Json(json!({"name": "Lead {unique}"})), [401, 403, 201, 201, 201, 400, 404])
            .needs(perm::CRM_LEADS_CREATE),
        row(Crm, "GET", "/api/crm/leads/export/", NoBody, [401, 403, 200, 200, 200, 200, 404]).needs(perm::CRM_LEADS_EXPORT).sees("{lead}"),
        row(Crm, "GET", "/api/crm/leads/{lead}/", NoBody, CRM_ON_A).needs(perm::CRM_LEADS_VIEW).grants(403).sees("{lead}"),
        row(Crm, "PUT", "/api/crm/leads/{lead}/", Json(json!({"name": "Put {unique}"})), CRM_ON_A).needs(perm::CRM_LEADS_VIEW).grants(403),
        row(Crm, "PATCH", "/api/crm/leads/{lead}/", Json(json!({"notes": "patch {unique}"})), CRM_ON_A).needs(perm::CRM_LEADS_VIEW).grants(403),
        row(Crm, "POST", "/api/crm/leads/{lead}/assign/", Json(json!({"owner_id": "{admin_user}"})), CRM_ON_A)
            .needs(perm::CRM_LEADS_VIEW)
            .grants(403),
        row(Crm, "DELETE", "/api/crm/leads/{fresh_lead}/", NoBody, CRM_DELETE_ON_A).needs(perm::CRM_LEADS_VIEW).grants(403),
        row(Crm, "GET", "/api/crm/leads/{lead}/activities/", NoBody, CRM_BEYOND_MEMBER_ON_A).needs(perm::CRM_ACTIVITIES_VIEW).sees("{activity}"),
        row(
            Crm,
            "POST",
            "/api/crm/leads/{lead}/activities/",
            Json(json!({"type": "note", "summary": "Note {unique}"})),
            [401, 403, 201, 404, 404, 400, 404],
        )
        .needs(perm::CRM_ACTIVITIES_VIEW),
        row(Crm, "GET", "/api/crm/activities/{activity}/", NoBody, CRM_BEYOND_MEMBER_ON_A).needs(perm::CRM_ACTIVITIES_VIEW).sees("{activity}"),
        row(Crm, "PATCH", "/api/crm/activities/{activity}/", Json(json!({"summary": "Patch {unique}"})), CRM_BEYOND_MEMBER_ON_A)
            .needs(perm::CRM_ACTIVITIES_VIEW),
        row(
            Crm,
            "DELETE",
            "/api/crm/activities/{fresh_activity}/",
            NoBody,
            [401, 403, 204, 404, 404, 204, 404],
        )
        .needs(perm::CRM_ACTIVITIES_VIEW),
        // ---- plans: platform data; everyone signed in reads, super admins write ----
        row(Plans, "GET", "/api/plans/?page_size=100", NoBody, SIGNED_IN),
        row(Plans, "POST", "/api/plans/", Json(plan_body()), [401, 403, 403, 403, 201, 201, 403]),
        row(Plans, "GET", "/api/plans/{plan}/", NoBody, SIGNED_IN),
        row(Plans, "PUT", "/api/plans/{plan}/", Json(plan_body()), SUPER_ONLY),
        row(Plans, "PATCH", "/api/plans/{plan}/", Json(json!({"description": "patch {unique}"})), SUPER_ONLY),
        row(Plans, "DELETE", "/api/plans/{fresh_plan}/", NoBody, [401, 403, 403, 403, 204, 204, 403]),
        // ---- subscriptions (the super admin without the header acts in its own tenant) ----
        row(Subscriptions, "GET", "/api/subscriptions/?page_size=100", NoBody, ADMIN_LIST).platform().sees("{subscription}").needs(perm::ADMINISTRATION_BILLING_VIEW),
        row(Subscriptions, "GET", "/api/subscriptions/my_subscription/", NoBody, ADMIN_LIST).sees("{subscription}").needs(perm::ADMINISTRATION_BILLING_VIEW),
        row(Subscriptions, "GET", "/api/subscriptions/usage/", NoBody, ADMIN_LIST).needs(perm::ADMINISTRATION_BILLING_VIEW),
        row(
            Subscriptions,
            "POST",
            "/api/subscriptions/subscribe/",
            Json(json!({"plan_id": STARTER_PLAN, "billing_cycle": "monthly"})),
            ADMIN_LIST,
        )
        .needs(perm::ADMINISTRATION_BILLING_MANAGE)
        .sees("{subscription}"),
        row(Subscriptions, "POST", "/api/subscriptions/cancel/", NoBody, ADMIN_LIST).sees("{subscription}").needs(perm::ADMINISTRATION_BILLING_MANAGE),
        row(Subscriptions, "POST", "/api/subscriptions/reactivate/", NoBody, ADMIN_LIST).sees("{subscription}").needs(perm::ADMINISTRATION_BILLING_MANAGE),
        row(Subscriptions, "GET", "/api/subscriptions/{subscription}/", NoBody, ADMIN_OR_SUPER_ON_A).platform().sees("{subscription}").needs(perm::ADMINISTRATION_BILLING_VIEW),
        // ---- invoices (issued by the scheduler; settled by super admins only) ----
        row(Invoices, "GET", "/api/invoices/?page_size=100", NoBody, ADMIN_LIST).platform().sees("{invoice}").needs(perm::ADMINISTRATION_BILLING_VIEW),
        row(Invoices, "GET", "/api/invoices/{invoice}/", NoBody, ADMIN_OR_SUPER_ON_A).platform().sees("{invoice}").needs(perm::ADMINISTRATION_BILLING_VIEW),
        row(Invoices, "POST", "/api/invoices/{fresh_invoice}/mark_paid/", Json(json!({"reference": "r-{unique}"})), SUPER_ONLY)
            .platform(),
        row(Invoices, "POST", "/api/invoices/{fresh_invoice}/mark_failed/", NoBody, SUPER_ONLY).platform(),
    ]
}

/// A signed-in caller.
#[derive(Clone)]
pub(crate) struct Login {
    email: String,
    password: String,
    pub(crate) access: String,
}

struct Fx {
    s: Setup,
    /// Fixture ids by placeholder, e.g. `{role}`.
    ids: HashMap<&'static str, String>,
    member: Login,
    /// Users of A holding exactly one administration grant each.
    grants: HashMap<PermissionKey, Login>,
    admin: Login,
    other: Login,
    root: Login,
    /// Tenant A's scope and its first invoice (issued by the scheduler).
    a_scope: TenantScope,
    invoice: InvoiceRecord,
}

fn fresh_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// Replaces `{unique}` and fixture placeholders in every string of `v`.
fn fill(v: &Value, ids: &HashMap<&'static str, String>, token: &str) -> Value {
    match v {
        Value::String(s) => {
            let mut out = s.replace("{unique}", token);
            for (k, id) in ids {
                out = out.replace(k, id);
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, ids, token)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), fill(x, ids, token)))
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn request(
    s: &Setup,
    func: Fn_,
    method: &str,
    uri: &str,
    token: Option<&str>,
    tenant: Option<&str>,
    body: Option<&Value>,
) -> TestResponse {
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "api.test");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(t) = tenant {
        req = req.header("x-tenant-id", t);
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            axum::body::Body::from(b.to_string())
        }
        None => axum::body::Body::empty(),
    };
    let mut req = req.body(body).unwrap();
    // Each from its own address: the matrix registers more tenants than
    // one address may (auth throttles per source IP).
    tests::with_source_ip(&mut req, &tests::fresh_source_ip());
    send(func.router(s), req).await
}

/// A fixture step that must succeed.
async fn must(
    s: &Setup,
    func: Fn_,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
    status: StatusCode,
) -> Value {
    let res = request(s, func, method, uri, Some(token), None, body.as_ref()).await;
    assert_eq!(res.status, status, "fixture {method} {uri}: {}", res.text());
    if res.body.is_empty() {
        Value::Null
    } else {
        res.json()
    }
}

async fn login(s: &Setup, email: &str, password: &str) -> (String, String) {
    let res = request(
        s,
        Fn_::Auth,
        "POST",
        "/api/auth/login/",
        None,
        None,
        Some(&json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "fixture login {email}: {}",
        res.text()
    );
    let tokens = &res.json()["tokens"];
    (
        tokens["access"].as_str().unwrap().to_owned(),
        tokens["refresh"].as_str().unwrap().to_owned(),
    )
}

async fn register(s: &Setup, prefix: &str) -> Login {
    let (slug, email) = unique(prefix);
    let res = request(
        s,
        Fn_::Auth,
        "POST",
        "/api/auth/register/",
        None,
        None,
        Some(&registration(&slug, &email)),
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::CREATED,
        "fixture register: {}",
        res.text()
    );
    let access = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    Login {
        email,
        password: "correct-horse-battery".into(),
        access,
    }
}

/// A platform tenant whose administrator is a super admin, made as
/// `devctl seed` makes it; then logged in through the API.
pub(crate) async fn super_admin(s: &Setup) -> Login {
    let (slug, email) = unique("platform");
    let password = "super-secret-passphrase".to_owned();
    let provisioned = tenancy::build(
        NewTenant {
            name: "Platform administration".into(),
            slug,
            enabled_modules: Module::ALL.to_vec(),
            admin_email: email.clone(),
            admin_first_name: "Platform".into(),
            admin_last_name: "Admin".into(),
            admin_password_hash: shared::auth::hash_password(password.clone()).await.unwrap(),
            admin_is_super_admin: true,
        },
        &TrialTerms {
            plan_id: None,
            trial_days: 36_500,
            modules: Module::ALL.to_vec(),
        },
        time::OffsetDateTime::now_utc(),
    );
    tenancy::provision(&s.auth.store, &provisioned, |_| {})
        .await
        .unwrap();
    let (access, _) = login(s, &email, &password).await;
    assert!(
        claims_of(s, &access).is_super_admin,
        "the platform admin's token says super admin"
    );
    Login {
        email,
        password,
        access,
    }
}

async fn fixture() -> Fx {
    let s = setup().await;
    // Lift the plans' user limit in this test's own table: the matrix
    // creates many users in tenant A, and the limit is not what it tests.
    for mut plan in tenancy::default_plans(time::OffsetDateTime::now_utc()) {
        plan.max_users = None;
        s.auth
            .store
            .platform()
            .put(&keys::plan(plan.id), &plan, Condition::Always)
            .await
            .unwrap();
    }
    let admin = register(&s, "matrixa").await;
    let other = register(&s, "matrixb").await;
    let root = super_admin(&s).await;
    let a = claims_of(&s, &admin.access);

    let member_role = must(
        &s,
        Fn_::Roles,
        "POST",
        "/api/roles/",
        &admin.access,
        Some(json!({"name": "Reps", "permissions": {"crm": {"leads": {"view": "own"}}}})),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let role = must(
        &s,
        Fn_::Roles,
        "POST",
        "/api/roles/",
        &admin.access,
        Some(json!({"name": "Plain"})),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let team = must(
        &s,
        Fn_::Teams,
        "POST",
        "/api/teams/",
        &admin.access,
        Some(json!({"name": "North"})),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (_, member_email) = unique("matrixm");
    let mut body = user_body();
    body["email"] = json!(member_email);
    body["role_ids"] = json!([member_role]);
    let member_id = must(
        &s,
        Fn_::Users,
        "POST",
        "/api/users/",
        &admin.access,
        Some(body),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (member_access, _) = login(&s, &member_email, "a-good-password").await;
    let member = Login {
        email: member_email,
        password: "a-good-password".into(),
        access: member_access,
    };
    let claims = claims_of(&s, &member.access);
    assert!(
        !shared::auth::is_tenant_admin(&claims),
        "the member is not an administrator"
    );
    assert_eq!(claims.tenant_id, a.tenant_id);

    let mut grants = HashMap::new();
    for key in admin_grants() {
        let (resource, action) = (key.resource_key(), key.action_key());
        let role = must(
            &s,
            Fn_::Roles,
            "POST",
            "/api/roles/",
            &admin.access,
            Some(json!({"name": format!("Only {key}"),
                        "permissions": {"administration": {resource: {action: true}}}})),
            StatusCode::CREATED,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let email = unique("matrixg").1;
        let mut body = user_body();
        body["email"] = json!(email);
        body["role_ids"] = json!([role]);
        must(
            &s,
            Fn_::Users,
            "POST",
            "/api/users/",
            &admin.access,
            Some(body),
            StatusCode::CREATED,
        )
        .await;
        let (access, _) = login(&s, &email, "a-good-password").await;
        let held: Vec<String> = claims_of(&s, &access)
            .permissions
            .iter()
            .map(|(k, _)| k.to_owned())
            .collect();
        assert_eq!(held, vec![key.to_string()], "exactly one grant");
        grants.insert(
            key,
            Login {
                email,
                password: "a-good-password".into(),
                access,
            },
        );
    }

    let mut body = user_body();
    body["email"] = json!(unique("matrixu").1);
    body["role_ids"] = json!([role]);
    body["team_ids"] = json!([team]);
    let user = must(
        &s,
        Fn_::Users,
        "POST",
        "/api/users/",
        &admin.access,
        Some(body),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ids = HashMap::from([
        ("{tenant}", a.tenant_id.to_string()),
        ("{admin_user}", a.sub.to_string()),
        ("{member}", member_id),
        ("{member_role}", member_role),
        ("{role}", role),
        ("{team}", team),
        ("{user}", user),
    ]);
    let invitation = must(
        &s,
        Fn_::Users,
        "POST",
        "/api/users/invitations/",
        &admin.access,
        Some(fill(&invitation_body(), &ids, &fresh_token())),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ids = ids;
    ids.insert("{invitation}", invitation);

    // A plan of the platform's (not tenant data: see `secrets`).
    let plan_body = fill(&plan_body(), &ids, &fresh_token());
    let plan = must(
        &s,
        Fn_::Plans,
        "POST",
        "/api/plans/",
        &root.access,
        Some(plan_body),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A takes the Starter plan; once its trial has ended the scheduler
    // issues its first invoice.
    let body = json!({"plan_id": STARTER_PLAN, "billing_cycle": "monthly"});
    let subscribed = must(
        &s,
        Fn_::Subscriptions,
        "POST",
        "/api/subscriptions/subscribe/",
        &admin.access,
        Some(body),
        StatusCode::OK,
    )
    .await;
    let subscription = subscribed["id"].as_str().unwrap().to_owned();
    let a_scope = tests::app::scope(&s, &admin.access);
    let trial_end = subscribed["trial_ends_at"].as_str().unwrap();
    let trial_end =
        time::OffsetDateTime::parse(trial_end, &time::format_description::well_known::Rfc3339)
            .unwrap();
    let policy = shared::billing::BillingPolicy::default();
    let invoice = match billing_store::advance_once(
        &s.auth.store,
        &a_scope,
        &policy,
        trial_end + time::Duration::minutes(1),
    )
    .await
    {
        Ok(Step::Applied {
            invoice: Some(invoice),
            ..
        }) => invoice,
        other => panic!("fixture invoice: {other:?}"),
    };
    // One lead of A's admin, with one activity.
    let lead = must(
        &s,
        Fn_::Crm,
        "POST",
        "/api/crm/leads/",
        &admin.access,
        Some(json!({"name": "Matrix lead"})),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let activity = must(
        &s,
        Fn_::Crm,
        "POST",
        &format!("/api/crm/leads/{lead}/activities/"),
        &admin.access,
        Some(json!({"type": "call", "summary": "Matrix call"})),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ids.extend([
        ("{lead}", lead),
        ("{activity}", activity),
        ("{plan}", plan),
        ("{subscription}", subscription),
        ("{invoice}", invoice.id.to_string()),
    ]);
    Fx {
        s,
        ids,
        member,
        grants,
        admin,
        other,
        root,
        a_scope,
        invoice: *invoice,
    }
}

impl Fx {
    fn login_of(&self, who: Who) -> Option<&Login> {
        match who {
            Who::Anon => None,
            Who::Member => Some(&self.member),
            Who::Admin => Some(&self.admin),
            Who::Other | Who::OtherA => Some(&self.other),
            Who::Super | Who::SuperA => Some(&self.root),
            Who::Grant(k) => self.grants.get(&k),
        }
    }

    fn tenant_header(&self, who: Who) -> Option<&str> {
        matches!(who, Who::SuperA | Who::OtherA).then(|| self.ids["{tenant}"].as_str())
    }

    async fn create(&self, func: Fn_, uri: &str, body: Value) -> String {
        let body = fill(&body, &self.ids, &fresh_token());
        must(
            &self.s,
            func,
            "POST",
            uri,
            &self.admin.access,
            Some(body),
            StatusCode::CREATED,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A new resource of tenant A (or a new tenant) for one cell.
    async fn fresh(&self, kind: &str) -> String {
        match kind {
            "{fresh_role}" => {
                self.create(Fn_::Roles, "/api/roles/", json!({"name": "Fresh {unique}"}))
                    .await
            }
            "{fresh_team}" => {
                self.create(Fn_::Teams, "/api/teams/", json!({"name": "Fresh {unique}"}))
                    .await
            }
            "{fresh_user}" => self.create(Fn_::Users, "/api/users/", user_body()).await,
            "{fresh_invitation}" => {
                self.create(Fn_::Users, "/api/users/invitations/", invitation_body())
                    .await
            }
            "{fresh_inactive_user}" => {
                let id = self.create(Fn_::Users, "/api/users/", user_body()).await;
                let uri = format!("/api/users/{id}/");
                must(
                    &self.s,
                    Fn_::Users,
                    "DELETE",
                    &uri,
                    &self.admin.access,
                    None,
                    StatusCode::NO_CONTENT,
                )
                .await;
                id
            }
            "{fresh_holder}" => {
                let mut body = user_body();
                body["role_ids"] = json!(["{role}"]);
                self.create(Fn_::Users, "/api/users/", body).await
            }
            "{fresh_lead}" => {
                self.create(
                    Fn_::Crm,
                    "/api/crm/leads/",
                    json!({"name": "Fresh {unique}"}),
                )
                .await
            }
            "{fresh_activity}" => {
                let uri = format!("/api/crm/leads/{}/activities/", self.ids["{lead}"]);
                self.create(
                    Fn_::Crm,
                    &uri,
                    json!({"type": "note", "summary": "Fresh {unique}"}),
                )
                .await
            }
            "{fresh_plan}" => {
                let body = fill(&plan_body(), &self.ids, &fresh_token());
                must(
                    &self.s,
                    Fn_::Plans,
                    "POST",
                    "/api/plans/",
                    &self.root.access,
                    Some(body),
                    StatusCode::CREATED,
                )
                .await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
            "{fresh_invoice}" => {
                // Another pending invoice of A, stored as the scheduler stores
                // one (it issues one per period, so a copy with a new id).
                let id = uuid::Uuid::now_v7();
                let invoice = InvoiceRecord {
                    id,
                    ..self.invoice.clone()
                };
                let store = &self.s.auth.store;
                store
                    .tenant(&self.a_scope)
                    .put(&keys::invoice(id), &invoice, Condition::NotExists)
                    .await
                    .unwrap();
                let reference = InvoiceRefRecord {
                    tenant_id: self.a_scope.tenant_id(),
                };
                store
                    .platform()
                    .put(&keys::invoice_ref(id), &reference, Condition::NotExists)
                    .await
                    .unwrap();
                id.to_string()
            }
            "{fresh_tenant}" | "{fresh_suspended_tenant}" => {
                let login = register(&self.s, "fresh").await;
                let id = claims_of(&self.s, &login.access).tenant_id.to_string();
                if kind == "{fresh_suspended_tenant}" {
                    let uri = format!("/api/tenants/{id}/suspend/");
                    must(
                        &self.s,
                        Fn_::Tenants,
                        "POST",
                        &uri,
                        &self.root.access,
                        None,
                        StatusCode::OK,
                    )
                    .await;
                }
                id
            }
            other => panic!("unknown fresh resource {other}"),
        }
    }

    /// The path of one cell, with the fresh resource it created, if any.
    async fn path(&self, template: &str) -> (String, Option<String>) {
        let mut path = template.to_owned();
        let mut fresh = None;
        for kind in [
            "{fresh_role}",
            "{fresh_team}",
            "{fresh_user}",
            "{fresh_inactive_user}",
            "{fresh_holder}",
            "{fresh_tenant}",
            "{fresh_suspended_tenant}",
            "{fresh_plan}",
            "{fresh_invoice}",
            "{fresh_lead}",
            "{fresh_activity}",
            "{fresh_invitation}",
        ] {
            if path.contains(kind) {
                let id = self.fresh(kind).await;
                path = path.replace(kind, &id);
                fresh = Some(id);
            }
        }
        for (k, id) in &self.ids {
            path = path.replace(k, id);
        }
        (path, fresh)
    }

    /// The body of one cell. Anonymous callers of public endpoints present
    /// a member's or an admin's credentials.
    async fn body(&self, body: &Body, who: Who) -> Option<Value> {
        let own = self.login_of(who);
        match body {
            Body::None | Body::ChangePassword => None,
            Body::Json(v) => Some(fill(v, &self.ids, &fresh_token())),
            Body::Login => {
                let l = own.unwrap_or(&self.member);
                Some(json!({"email": l.email, "password": l.password}))
            }
            Body::Verify => Some(json!({"token": own.unwrap_or(&self.admin).access})),
            Body::Refresh | Body::Logout => {
                let l = own.unwrap_or(&self.admin);
                let (_, refresh) = login(&self.s, &l.email, &l.password).await;
                Some(match body {
                    Body::Refresh => json!({"refresh": refresh}),
                    _ => json!({"refresh_token": refresh}),
                })
            }
        }
    }

    /// Ids of tenant A an outsider must never be shown.
    fn secrets(&self) -> Vec<&str> {
        // Plans are the platform's, shown to everyone signed in.
        self.ids
            .iter()
            .filter(|(k, _)| **k != "{plan}")
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

struct Cell {
    who: Who,
    expected: u16,
    actual: u16,
}

#[tokio::test]
async fn every_endpoint_answers_every_caller_as_its_permission_class_says() {
    let fx = fixture().await;
    let rows = rows();
    let mut problems: Vec<String> = Vec::new();
    let mut table: Vec<(String, Vec<Cell>)> = Vec::new();

    let columns = columns();
    for row in &rows {
        // A row that opens to admins but not members must name its grant.
        assert!(
            !(row.expect[1] == 403 && row.expect[2] < 300) || row.needs.is_some(),
            "{} {} needs a grant",
            row.method,
            row.path
        );
        let mut cells = Vec::new();
        for &who in &columns {
            let expected = row.expected(who);
            let (path, fresh) = fx.path(row.path).await;
            let own = fx.login_of(who);
            let token = own.map(|l| l.access.as_str());
            let header = fx.tenant_header(who);

            let (res, sent) = if let Body::ChangePassword = row.body {
                let l = own.unwrap_or(&fx.admin);
                let new = format!("changed-{}", fresh_token());
                let body = json!({"old_password": l.password, "new_password": new, "new_password_confirm": new});
                let res = request(
                    &fx.s,
                    row.func,
                    row.method,
                    &path,
                    token,
                    header,
                    Some(&body),
                )
                .await;
                if res.status.is_success() {
                    // Put the password back, so that later logins work.
                    let back = json!({"old_password": new, "new_password": l.password, "new_password_confirm": l.password});
                    let restore = request(
                        &fx.s,
                        row.func,
                        row.method,
                        &path,
                        Some(&l.access),
                        None,
                        Some(&back),
                    )
                    .await;
                    assert_eq!(
                        restore.status,
                        StatusCode::OK,
                        "restoring the password: {}",
                        restore.text()
                    );
                }
                (res, Some(body))
            } else {
                let body = fx.body(&row.body, who).await;
                (
                    request(
                        &fx.s,
                        row.func,
                        row.method,
                        &path,
                        token,
                        header,
                        body.as_ref(),
                    )
                    .await,
                    body,
                )
            };

            let actual = res.status.as_u16();
            let text = res.text();
            let shown = if text.len() > 600 {
                format!("{}…", &text[..600])
            } else {
                text.clone()
            };
            let cell = format!(
                "{} {} {} as {} (fresh: {}, sent: {})",
                row.func.label(),
                row.method,
                path,
                who.label(),
                fresh.as_deref().unwrap_or("-"),
                sent.map(|b| b.to_string()).unwrap_or_else(|| "-".into()),
            );
            if actual != expected {
                problems.push(format!(
                    "{cell}: expected {expected}, got {actual}; body: {shown}"
                ));
            }
            // A refusal inside A names the grant the row needs.
            if let (Some(key), 403, Who::Member | Who::Grant(_)) = (row.needs, actual, who) {
                if !text.contains(&format!("\"permission\":\"{key}\"")) {
                    problems.push(format!(
                        "{cell}: the 403 does not name {key}; body: {shown}"
                    ));
                }
            }
            // Outsiders never see A's ids (the super admin's registry aside).
            let checks_leaks = who.outsider() && !(row.platform && who == Who::Super);
            if checks_leaks {
                let mut secrets = fx.secrets();
                if let Some(f) = &fresh {
                    secrets.push(f);
                }
                for secret in secrets {
                    if text.contains(secret) {
                        problems.push(format!("{cell}: LEAK of tenant A's id {secret} (status {actual}); body: {shown}"));
                    }
                }
            }
            // A's admin, and the super admin inside A, see A's data.
            if let (Some(key), true) = (
                row.sees,
                matches!(who, Who::Admin | Who::SuperA) && res.status.is_success(),
            ) {
                let id = &fx.ids[key];
                if !text.contains(id.as_str()) {
                    problems.push(format!(
                        "{cell}: the answer lacks A's {key} {id}; body: {shown}"
                    ));
                }
            }
            cells.push(Cell {
                who,
                expected,
                actual,
            });
        }
        table.push((
            format!("{:<7} {:<6} {}", row.func.label(), row.method, row.path),
            cells,
        ));
    }

    // The matrix, printed with --nocapture: `status` per cell, `!` marks a mismatch.
    println!(
        "\n{:<70} {}",
        "endpoint",
        columns
            .iter()
            .map(|w| format!("{:>15}", w.label()))
            .collect::<String>()
    );
    for (name, cells) in &table {
        let line: String = cells
            .iter()
            .map(|c| {
                let mark = if c.actual == c.expected { " " } else { "!" };
                format!("{:>14}{}", c.actual, mark)
            })
            .collect();
        println!("{name:<70} {line}");
        for c in cells.iter().filter(|c| c.actual != c.expected) {
            println!("{:<70}   {} expected {}", "", c.who.label(), c.expected);
        }
    }
    println!("{} rows × {} callers", table.len(), columns.len());

    assert!(
        problems.is_empty(),
        "{} permission-matrix problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
