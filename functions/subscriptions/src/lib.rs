//! The subscriptions function: a tenant admin's view and changes of the
//! tenant's one subscription (plan, cycle, cancellation, usage against the
//! plan's limits), and the super admins' platform-wide listing.
//!
//! The lifecycle rules themselves (cancel, reactivate, periods) are
//! `shared::billing`'s; this crate reads, calls them and writes.

mod read;
mod view;
mod write;

pub use view::{MySubscriptionView, ScheduledChangeView, SubscriptionView, UsageLine, UsageView};

use axum::routing::{get, post};
use axum::{Extension, Router};
use shared::billing::BillingPolicy;
use shared::http::{self, HttpConfig};

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// Every operation: method, path and handler on one line. [`document`]
/// lists the same handlers; `tests/api/layout.rs` holds the two together.
#[rustfmt::skip]
fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/subscriptions/", get(read::list_subscriptions))
        .route("/api/subscriptions/my_subscription/", get(read::my_subscription))
        .route("/api/subscriptions/usage/", get(read::usage))
        .route("/api/subscriptions/subscribe/", post(write::subscribe))
        .route("/api/subscriptions/cancel/", post(write::cancel))
        .route("/api/subscriptions/reactivate/", post(write::reactivate))
        .route("/api/subscriptions/{id}/", get(read::get_subscription))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        read::list_subscriptions,
        read::my_subscription,
        read::usage,
        write::subscribe,
        write::cancel,
        write::reactivate,
        read::get_subscription
    ))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    router_with(state, config, BillingPolicy::default())
}

/// The router with the configured grace and expiry periods.
pub fn router_with(state: AppState, config: &HttpConfig, policy: BillingPolicy) -> Router {
    http::app(routes().with_state(state).layer(Extension(policy)), config)
}
