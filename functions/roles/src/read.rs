//! Reading roles and their members, the permission catalog and the role
//! templates.

use crate::view::RoleView;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use shared::auth::{AdministrationRolesView, AdministrationUsersView, Principal, Require};
use shared::http::schema::ErrorBody;
use shared::http::{ApiError, IdPath, PageQuery, Paginated};
use shared::keys;
use shared::permissions::{catalog, templates, Catalog, RoleTemplate};
use shared::records::{RoleRecord, TenantRecord, UserRecord};
use shared::store::PageRequest;
use shared::views::UserView;

/// List the tenant's roles, in creation order of their ids.
#[utoipa::path(
    get,
    path = "/api/roles/",
    tag = "roles",
    description = "Permission: `administration.roles.view` (super admins pass; `X-Tenant-Id` moves only them). Cursor pagination (`cursor`, `page_size` ≤ 100).",
    params(
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of roles", body = Paginated<RoleView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.roles.view` (`permission` names it)", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_roles(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationRolesView>,
    page: PageQuery,
) -> Result<Json<Paginated<RoleView>>, ApiError> {
    let request = PageRequest::new(page.page_size, page.cursor.clone(), "roles");
    let roles = state
        .store
        .tenant(actor.scope())
        .query::<RoleRecord>(&keys::roles(), &request)
        .await?;
    Ok(Json(page.respond(roles, RoleView::from)))
}

/// One role of the tenant.
#[utoipa::path(
    get,
    path = "/api/roles/{id}/",
    tag = "roles",
    description = "Permission: `administration.roles.view` (super admins pass; `X-Tenant-Id` moves only them). Roles of other tenants answer 404.",
    params(("id" = uuid::Uuid, Path, description = "Role id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The role", body = RoleView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.roles.view` (`permission` names it)", body = ErrorBody),
        (status = 404, description = "No such role in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn get_role(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationRolesView>,
    IdPath(id): IdPath,
) -> Result<Json<RoleView>, ApiError> {
    let role: RoleRecord = state
        .store
        .tenant(actor.scope())
        .get(&keys::role(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(role.into()))
}

/// The users holding a role.
#[utoipa::path(
    get,
    path = "/api/roles/{id}/members/",
    tag = "roles",
    description = "Permission: `administration.users.view` (super admins pass; `X-Tenant-Id` moves only them). Pages through the tenant's users, keeping those \
        holding the role (a filter within the tenant's partition).",
    params(
        ("id" = uuid::Uuid, Path, description = "Role id"),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of members", body = Paginated<UserView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.view` (`permission` names it)", body = ErrorBody),
        (status = 404, description = "No such role in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn role_members(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersView>,
    IdPath(id): IdPath,
    page: PageQuery,
) -> Result<Json<Paginated<UserView>>, ApiError> {
    let store = state.store.tenant(actor.scope());
    let request = PageRequest::new(
        page.page_size,
        page.cursor.clone(),
        format!("role-members/{id}"),
    )
    .where_contains("role_ids", id.to_string());
    // The page does not depend on the role: both reads in one round trip,
    // checked in turn (an absent role is 404 whatever the cursor).
    let users_prefix = keys::users();
    let sks: [keys::SortKey; 2] = [keys::role(id).into(), keys::tenant_profile().into()];
    let (fetched, users) = tokio::join!(
        store.get_many(&sks),
        store.query::<UserRecord>(&users_prefix, &request),
    );
    let mut fetched = fetched?;
    let role: RoleRecord = fetched.take(&keys::role(id))?.ok_or(ApiError::NotFound)?;
    let tenant: TenantRecord = fetched
        .take(&keys::tenant_profile())?
        .ok_or(ApiError::NotFound)?;
    let users = users?;
    // Members are listed with this role only; their other roles are in
    // each user's own view.
    Ok(Json(page.respond(users, |u| {
        UserView::new(&u, &tenant, std::slice::from_ref(&role))
    })))
}

/// The permission catalog: modules, resources, actions and their kinds.
#[utoipa::path(
    get,
    path = "/api/roles/permissions_schema/",
    tag = "roles",
    description = "Permission: any member of a tenant. What a role's `permissions` may contain.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The catalog", body = Catalog),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn permissions_schema(_principal: Principal) -> Json<&'static Catalog> {
    Json(catalog())
}

/// Suggested roles (Admin, Manager, Member, Viewer) built from the catalog.
#[utoipa::path(
    get,
    path = "/api/roles/templates/",
    tag = "roles",
    description = "Permission: any member of a tenant.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Role templates", body = Vec<RoleTemplate>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn role_templates(_principal: Principal) -> Json<Vec<RoleTemplate>> {
    Json(templates())
}
