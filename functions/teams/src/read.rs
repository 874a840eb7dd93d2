//! Reading teams: the list, one team, and a team's members.

use crate::view::TeamView;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use shared::auth::{AdministrationTeamsView, AdministrationUsersView, Require};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, IdPath, ListQuery, PageQuery, Paginated};
use shared::keys;
use shared::records::{TeamRecord, UserRecord, TEAM_NAME_LC};
use shared::store::PageRequest;
use shared::views::{TenantNames, UserView};

/// Filters of the teams list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamFilters {
    search: Option<String>,
}

/// List the tenant's teams, in the order of their ids.
#[utoipa::path(
    get,
    path = "/api/teams/",
    tag = "teams",
    description = "Permission: `administration.teams.view` (super admins pass; `X-Tenant-Id` moves only them). Super admins act in a tenant with `X-Tenant-Id`. \
        Cursor pagination (`cursor`, `page_size` ≤ 100).",
    params(
        ("search" = Option<String>, Query, max_length = 100, pattern = r"^$|\S", description = "Case-insensitive prefix of the team name (1 to 100 characters)"),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of teams", body = Paginated<TeamView>),
        (status = 400, description = "Invalid `search` (1 to 100 characters) or unknown filter", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.teams.view` (`permission` names it)", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_teams(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationTeamsView>,
    ListQuery(filters): ListQuery<TeamFilters>,
    page: PageQuery,
) -> Result<Json<Paginated<TeamView>>, ApiError> {
    let mut request = PageRequest::new(page.page_size, page.cursor.clone(), "teams");
    if let Some(search) = &filters.search {
        let search = shared::validate::search_term(search)?;
        request = request.where_any_starts_with(&[TEAM_NAME_LC], search);
    }
    let teams = state
        .store
        .tenant(actor.scope())
        .query::<TeamRecord>(&keys::teams(), &request)
        .await?;
    Ok(Json(page.respond(teams, TeamView::from)))
}

/// One team of the tenant.
#[utoipa::path(
    get,
    path = "/api/teams/{id}/",
    tag = "teams",
    description = "Permission: `administration.teams.view` (super admins pass; `X-Tenant-Id` moves only them). Teams of other tenants answer 404.",
    params(("id" = Uuid, Path, description = "Team id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The team", body = TeamView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.teams.view` (`permission` names it)", body = ErrorBody),
        (status = 404, description = "No such team in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn get_team(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationTeamsView>,
    IdPath(id): IdPath,
) -> Result<Json<TeamView>, ApiError> {
    let team: TeamRecord = state
        .store
        .tenant(actor.scope())
        .get(&keys::team(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(team.into()))
}

/// The users in a team.
#[utoipa::path(
    get,
    path = "/api/teams/{id}/members/",
    tag = "teams",
    description = "Permission: `administration.users.view` (super admins pass; `X-Tenant-Id` moves only them). Pages through the tenant's users, keeping those whose `team_ids` \
        hold the team (a filter within the tenant's partition); each user is shown with their roles.",
    params(
        ("id" = Uuid, Path, description = "Team id"),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of members", body = Paginated<UserView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.view`", body = ErrorBody),
        (status = 404, description = "No such team in this tenant, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn team_members(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersView>,
    IdPath(id): IdPath,
    page: PageQuery,
) -> Result<Json<Paginated<UserView>>, ApiError> {
    let store = state.store.tenant(actor.scope());
    // The query runs in the caller's own partition, so an id of another
    // tenant's team matches nobody; the team's absence then answers 404.
    let request = PageRequest::new(
        page.page_size,
        page.cursor.clone(),
        format!("team-members/{id}"),
    )
    .where_contains("team_ids", id.to_string());
    // The page, the team, the tenant and the tenant's roles at once: one
    // round trip (the page's roles are among the tenant's).
    let (users_prefix, team_key) = (keys::users(), keys::team(id));
    let (users, team, names) = tokio::try_join!(
        store.query::<UserRecord>(&users_prefix, &request),
        store.get::<TeamRecord>(&team_key),
        TenantNames::read(&store),
    )?;
    team.ok_or(ApiError::NotFound)?;
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
