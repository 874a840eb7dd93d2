//! The roles function: a tenant's roles, the permission catalog and the
//! default role templates.

mod catalog;
mod read;
mod view;
mod write;

pub use view::RoleView;

use axum::Router;
use shared::http::{self, HttpConfig};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read::list_roles, write::create_role))
        .routes(routes!(
            read::get_role,
            write::replace_role,
            write::patch_role,
            write::delete_role
        ))
        .routes(routes!(read::role_members))
        .routes(routes!(catalog::permissions_schema))
        .routes(routes!(catalog::role_templates))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state), config)
}
