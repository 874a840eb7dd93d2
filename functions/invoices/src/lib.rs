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
        .route("/api/invoices/", get(read::list_invoices))
        .route("/api/invoices/{id}/", get(read::get_invoice))
        .route("/api/invoices/{id}/mark_paid/", post(write::mark_paid))
        .route("/api/invoices/{id}/mark_failed/", post(write::mark_failed))
}

/// This function's part of the platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        read::list_invoices,
        read::get_invoice,
        write::mark_paid,
        write::mark_failed
    ))]
    struct Operations;
    <Operations as utoipa::OpenApi>::openapi()
}

/// The app with the default grace and expiry periods.
pub fn router(state: AppState, config: &HttpConfig) -> Router {
    router_with(state, config, BillingPolicy::default())
}

/// The app with the configured grace and expiry periods
/// (`BILLING_GRACE_DAYS`, `BILLING_EXPIRE_AFTER_DAYS`), which settling uses
/// to schedule the subscription's next billing step.
pub fn router_with(state: AppState, config: &HttpConfig, policy: BillingPolicy) -> Router {
    http::app(routes().with_state(state).layer(Extension(policy)), config)
}
