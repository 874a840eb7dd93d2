//! The teams function: a tenant's teams. Membership lives on users
//! (`UserRecord.team_ids`) and is maintained by the users function, which
//! keeps each team's `member_count` in the same transaction.

mod read;
mod view;
mod write;

pub use view::TeamView;

use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use shared::http::{self, HttpConfig};

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// Every operation: method, path and handler on one line. [`document`]
/// lists the same handlers; `tests/api/layout.rs` holds the two together.
#[rustfmt::skip]
fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/teams/", get(read::list_teams))
        .route("/api/teams/", post(write::create_team))
        .route("/api/teams/{id}/", get(read::get_team))
        .route("/api/teams/{id}/", put(write::replace_team))
        .route("/api/teams/{id}/", patch(write::patch_team))
        .route("/api/teams/{id}/", delete(write::delete_team))
        .route("/api/teams/{id}/members/", get(read::team_members))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        read::list_teams,
        write::create_team,
        read::get_team,
        write::replace_team,
        write::patch_team,
        write::delete_team,
        read::team_members
    ))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    http::app(routes().with_state(state), config)
}
