//! Reading users: holders of `administration.users.view` list users and
//! read one; every member reads their own profile.

use crate::users::view::{any_user_view, named_user};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use shared::auth::{AdministrationUsersView, Require, TenantMember};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, IdPath, ListQuery, PageQuery, Paginated, ValidationErrors};
use shared::keys;
use shared::records::{UserRecord, USER_FIRST_NAME_LC, USER_LAST_NAME_LC};
use shared::store::PageRequest;
use shared::views::{TenantNames, UserView};
use uuid::Uuid;

/// The `ordering` values of the users list, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum UserOrdering {
    #[schema(rename = "date_joined")]
    DateJoined,
    #[schema(rename = "-date_joined")]
    DateJoinedDesc,
    #[schema(rename = "email")]
    Email,
    #[schema(rename = "-email")]
    EmailDesc,
}

/// Orders of the users list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// Oldest first (user ids are time-ordered, so this is key order).
    DateJoined,
    DateJoinedDesc,
    /// By email, through the partition's second order (GSI2).
    Email,
    EmailDesc,
}

impl Ordering {
    fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value.map(str::trim) {
            None | Some("date_joined") => Ok(Self::DateJoined),
            Some("-date_joined") => Ok(Self::DateJoinedDesc),
            Some("email") => Ok(Self::Email),
            Some("-email") => Ok(Self::EmailDesc),
            Some(_) => Err(ValidationErrors::field(
                "ordering",
                "Order by one of: date_joined, -date_joined, email, -email.",
            )
            .into()),
        }
    }
}

/// Filters of the users list, combined with AND.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFilters {
    is_active: Option<bool>,
    role: Option<Uuid>,
    team: Option<Uuid>,
    search: Option<String>,
    ordering: Option<String>,
}

/// The tenant's users.
#[utoipa::path(
    get,
    path = "/api/users/",
    tag = "users",
    description = "Permission: `administration.users.view` (super admins pass; `X-Tenant-Id` moves only them). Cursor pagination. \
        `ordering=date_joined` (default) reads the users in key order, `email` through the partition's \
        email index; filters apply within the tenant's users, never across tenants.",
    params(
        ("is_active" = Option<bool>, Query, description = "Only active (`true`) or deactivated (`false`) users"),
        ("role" = Option<Uuid>, Query, description = "Only holders of this role"),
        ("team" = Option<Uuid>, Query, description = "Only members of this team"),
        ("search" = Option<String>, Query, max_length = 100, pattern = r"^$|\S", description = "Case-insensitive prefix of the email, first or last name (1 to 100 characters)"),
        ("ordering" = inline(Option<UserOrdering>), Query, description = "`date_joined` (default), `-date_joined`, `email`, `-email`"),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of users", body = Paginated<UserView>),
        (status = 400, description = "Invalid or unknown filter or `ordering`", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.view`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersView>,
    ListQuery(filters): ListQuery<UserFilters>,
    page: PageQuery,
) -> Result<Json<Paginated<UserView>>, ApiError> {
    let ordering = Ordering::parse(filters.ordering.as_deref())?;
    let mut request = PageRequest::new(
        page.page_size,
        page.cursor.clone(),
        format!("users/{ordering:?}"),
    );
    if matches!(ordering, Ordering::DateJoinedDesc | Ordering::EmailDesc) {
        request = request.descending();
    }
    if let Some(active) = filters.is_active {
        request = request.where_is("is_active", active);
    }
    if let Some(role) = filters.role {
        request = request.where_contains("role_ids", role.to_string());
    }
    if let Some(team) = filters.team {
        request = request.where_contains("team_ids", team.to_string());
    }
    let mut email_prefix = String::new();
    if let Some(search) = &filters.search {
        let search = shared::validate::search_term(search)?;
        if ordering_is_email(ordering) && search.contains('@') {
            // Only an email can contain '@': the index range does the work.
            email_prefix = search;
        } else {
            request = request
                .where_any_starts_with(&["email", USER_FIRST_NAME_LC, USER_LAST_NAME_LC], search);
        }
    }
    let store = state.store.tenant(actor.scope());
    let users = async {
        if ordering_is_email(ordering) {
            let prefix = format!("{}{email_prefix}", keys::users_by_email().as_str());
            store.query_alt::<UserRecord>(&prefix, &request).await
        } else {
            store.query::<UserRecord>(&keys::users(), &request).await
        }
    };
    // The page, its tenant and the tenant's roles at once: one round trip.
    let (users, names) = tokio::try_join!(users, TenantNames::read(&store))?;
    let tenant = names.tenant.ok_or(ApiError::NotFound)?;
    let roles = names
        .roles
        .naming(
            &store,
            users.items.iter().flat_map(|u| u.role_ids.iter().copied()),
        )
        .await?;
    Ok(Json(
        page.respond(users, |u| UserView::new(&u, &tenant, &roles)),
    ))
}

fn ordering_is_email(ordering: Ordering) -> bool {
    matches!(ordering, Ordering::Email | Ordering::EmailDesc)
}

/// One user of the tenant.
#[utoipa::path(
    get,
    path = "/api/users/{id}/",
    tag = "users",
    description = "Permission: `administration.users.view` (super admins pass; `X-Tenant-Id` moves only them). Users of other tenants answer 404.",
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.view`", body = ErrorBody),
        (status = 404, description = "No such user in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersView>,
    IdPath(id): IdPath,
) -> Result<Json<UserView>, ApiError> {
    let store = state.store.tenant(actor.scope());
    let view = any_user_view(&store, id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(view))
}

/// The caller's own profile.
#[utoipa::path(
    get,
    // Not the handler name: tenants/me has a get_me too (operationIds are unique).
    operation_id = "get_current_user",
    path = "/api/users/me/",
    tag = "users",
    description = "Permission: any member. `X-Tenant-Id` moves only super admins, and the answer is still the caller.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn get_me(
    State(state): State<AppState>,
    member: TenantMember,
) -> Result<Json<UserView>, ApiError> {
    let principal = member.0.principal();
    let store = state.store.tenant(principal.scope());
    // The token names the caller's roles: read them with the user.
    let named = named_user(&store, principal.user_id(), &principal.claims().roles)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(named.view()))
}
