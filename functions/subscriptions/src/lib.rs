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

use axum::{Extension, Router};
use shared::billing::BillingPolicy;
use shared::http::{self, HttpConfig};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The store and the token verifier.
pub type AppState = shared::state::ApiState;

/// Every operation, one comment per method and path above its
/// `routes!` (checked against the document by `tests/api/layout.rs`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // GET /api/subscriptions/ -> read::list_subscriptions
        .routes(routes!(read::list_subscriptions))
        // GET /api/subscriptions/my_subscription/ -> read::my_subscription
        .routes(routes!(read::my_subscription))
        // GET /api/subscriptions/usage/ -> read::usage
        .routes(routes!(read::usage))
        // POST /api/subscriptions/subscribe/ -> write::subscribe
        .routes(routes!(write::subscribe))
        // POST /api/subscriptions/cancel/ -> write::cancel
        .routes(routes!(write::cancel))
        // POST /api/subscriptions/reactivate/ -> write::reactivate
        .routes(routes!(write::reactivate))
        // GET /api/subscriptions/{id}/ -> read::get_subscription
        .routes(routes!(read::get_subscription))
}

pub fn router(state: AppState, config: &HttpConfig) -> Router {
    router_with(state, config, BillingPolicy::default())
}

/// The router with the configured grace and expiry periods.
pub fn router_with(state: AppState, config: &HttpConfig, policy: BillingPolicy) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state).layer(Extension(policy)), config)
}
