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

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read::list_teams, write::create_team))
        .routes(routes!(
            read::get_team,
            write::replace_team,
            write::patch_team,
            write::delete_team
        ))
        .routes(routes!(read::team_members))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
