//! The plans function: the platform's plan catalog. Everyone signed in
//! reads the active plans; platform super admins create, change and
//! deactivate them.

mod read;
mod write;

use axum::routing::{delete, get, patch, post, put};
use axum::{Extension, Router};
use shared::http::{self, HttpConfig};

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// The currency new plans get when the request names none
/// (`DEFAULT_CURRENCY`).
#[derive(Debug, Clone)]
pub struct DefaultCurrency(pub String);

/// Every operation: method, path and handler on one line. [`document`]
/// lists the same handlers; `tests/api/layout.rs` holds the two together.
#[rustfmt::skip]
fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/plans/", get(read::list_plans))
        .route("/api/plans/", post(write::create_plan))
        .route("/api/plans/{id}/", get(read::get_plan))
        .route("/api/plans/{id}/", put(write::replace_plan))
        .route("/api/plans/{id}/", patch(write::patch_plan))
        .route("/api/plans/{id}/", delete(write::delete_plan))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        read::list_plans,
        write::create_plan,
        read::get_plan,
        write::replace_plan,
        write::patch_plan,
        write::delete_plan
    ))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

/// The app with the default currency `USD`.
pub fn router(state: AppState, config: &HttpConfig) -> Router {
    router_with(state, config, "USD")
}

/// The app, pricing new plans in `default_currency` unless they name one.
pub fn router_with(state: AppState, config: &HttpConfig, default_currency: &str) -> Router {
    let api = routes()
        .with_state(state)
        .layer(Extension(DefaultCurrency(default_currency.to_owned())));
    http::app(api, config)
}
