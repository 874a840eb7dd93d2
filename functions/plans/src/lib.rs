//! The plans function: the platform's plan catalog. Everyone signed in
//! reads the active plans; platform super admins create, change and
//! deactivate them.

mod read;
mod write;

use axum::{Extension, Router};
use shared::http::{self, HttpConfig};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// The currency new plans get when the request names none
/// (`DEFAULT_CURRENCY`).
#[derive(Debug, Clone)]
pub struct DefaultCurrency(pub String);

/// Every operation, one comment per method and path above its
/// `routes!` (checked against the document by `tests/api/layout.rs`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // GET /api/plans/ -> read::list_plans
        // POST /api/plans/ -> write::create_plan
        .routes(routes!(read::list_plans, write::create_plan))
        // GET /api/plans/{id}/ -> read::get_plan
        // PUT /api/plans/{id}/ -> write::replace_plan
        // PATCH /api/plans/{id}/ -> write::patch_plan
        // DELETE /api/plans/{id}/ -> write::delete_plan
        .routes(routes!(
            read::get_plan,
            write::replace_plan,
            write::patch_plan,
            write::delete_plan
        ))
}

/// The app with the default currency `USD`.
pub fn router(state: AppState, config: &HttpConfig) -> Router {
    router_with(state, config, "USD")
}

/// The app, pricing new plans in `default_currency` unless they name one.
pub fn router_with(state: AppState, config: &HttpConfig, default_currency: &str) -> Router {
    let (api, _) = routes().split_for_parts();
    let api = api
        .with_state(state)
        .layer(Extension(DefaultCurrency(default_currency.to_owned())));
    http::app(api, config)
}
