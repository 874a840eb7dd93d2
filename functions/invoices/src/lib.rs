//! The invoices function: a tenant admin's invoices, every tenant's for
//! platform super admins, and the manual payment provider — super admins
//! mark an invoice paid (or failed) by hand.
//!
//! Invoices are issued by the billing scheduler (`shared::billing_store`);
//! settling one is `shared::billing_store::settle`, which also moves the
//! subscription (paying the open invoice makes it active). A payment
//! gateway would call the same function from its webhook handler (see
//! `shared::billing::provider` and docs/architecture.md).

mod read;
mod view;
mod write;

pub use view::InvoiceView;

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
        // GET /api/invoices/ -> read::list_invoices
        .routes(routes!(read::list_invoices))
        // GET /api/invoices/{id}/ -> read::get_invoice
        .routes(routes!(read::get_invoice))
        // POST /api/invoices/{id}/mark_paid/ -> write::mark_paid
        .routes(routes!(write::mark_paid))
        // POST /api/invoices/{id}/mark_failed/ -> write::mark_failed
        .routes(routes!(write::mark_failed))
}

/// The app with the default grace and expiry periods.
pub fn router(state: AppState, config: &HttpConfig) -> Router {
    router_with(state, config, BillingPolicy::default())
}

/// The app with the configured grace and expiry periods
/// (`BILLING_GRACE_DAYS`, `BILLING_EXPIRE_AFTER_DAYS`), which settling uses
/// to schedule the subscription's next billing step.
pub fn router_with(state: AppState, config: &HttpConfig, policy: BillingPolicy) -> Router {
    let (api, _) = routes().split_for_parts();
    http::app(api.with_state(state).layer(Extension(policy)), config)
}
