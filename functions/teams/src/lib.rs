//! The teams function: a tenant's teams. Membership lives on users
//! (`UserRecord.team_ids`) and is maintained by the users function, which
//! keeps each team's `member_count` in the same transaction.

mod read;
mod view;
mod write;

pub use view::TeamView;

use axum::Router;
use shared::http::{self, HttpConfig};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// Every operation, one comment per method and path above its
/// `routes!` (checked against the document by `tests/api/layout.rs`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // GET /api/teams/ -> read::list_teams
        // POST /api/teams/ -> write::create_team
        .routes(routes!(read::list_teams, write::create_team))
        // GET /api/teams/{id}/ -> read::get_team
        // PUT /api/teams/{id}/ -> write::replace_team
        // PATCH /api/teams/{id}/ -> write::patch_team
        // DELETE /api/teams/{id}/ -> write::delete_team
        .routes(routes!(
            read::get_team,
            write::replace_team,
            write::patch_team,
            write::delete_team
        ))
        // GET /api/teams/{id}/members/ -> read::team_members
        .routes(routes!(read::team_members))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
