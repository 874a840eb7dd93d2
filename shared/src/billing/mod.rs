//! Billing domain: pure logic, no I/O. The scheduler and the subscription
//! API read records, call these functions and write what they return.
//!
//! - [`period`]: calendar arithmetic for billing periods, anchored so that
//!   month-end subscriptions do not drift (Jan 31 → Feb 28 → Mar 31).
//! - [`lifecycle`]: the subscription state machine. [`next_action`] says when
//!   the scheduler must next look at a subscription (the sparse-index key);
//!   [`advance`] says what to do at a given time, one step per call;
//!   [`cancel`], [`reactivate`] and [`on_invoice_paid`] are the API's moves;
//!   `SubscriptionRecord::grants_modules_at` is the entitlement rule.
//! - [`change`]: plan changes ([`change_plan`]): upgrades at once with a
//!   prorated invoice ([`prorate`]), downgrades at the period end,
//!   subscribing again after the end.
//! - [`invoice`]: invoice numbers (`INV-2026-000042`) and the invoice status
//!   machine.
//! - [`subscription`]: the subscription record and its status and cycle
//!   (re-exported by `records`, which makes it storable).
//! - [`provider`]: the payment-provider seam, with the manual provider
//!   (invoices marked paid through the API).
//!
//! Every change to a subscription bumps its `version` by one and sets
//! `updated_at`, so callers write with `version = :previous` and a repeated
//! or concurrent run changes nothing twice.

pub mod change;
pub mod invoice;
pub mod lifecycle;
pub mod period;
pub mod provider;
pub mod subscription;

pub use change::{change_plan, prorate, PlanChange};
pub use invoice::{
    invoice_number, parse_invoice_number, InvoiceDraft, InvoiceNumber, InvoiceStatus,
};
pub use lifecycle::{
    advance, billing_anchor, cancel, next_action, on_invoice_paid, reactivate, BillingPolicy,
    Clock, FixedClock, OpenInvoice, PlanPrice, SystemClock, Transition, MAX_STEPS_PER_RUN,
};
pub use period::{add_cycle, boundary, next_period, nth_period};
pub use provider::{ChargeOutcome, ChargeRequest, ManualProvider, PaymentProvider};
pub use subscription::{BillingCycle, ScheduledChange, SubscriptionRecord, SubscriptionStatus};

use crate::permissions::Module;
use time::OffsetDateTime;
use uuid::Uuid;

/// Everything the billing functions refuse, with a message fit for an API
/// error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    #[error("{0:?} is not an invoice number: expected INV-<year>-<at least 6 digits>, e.g. INV-2026-000042")]
    InvalidInvoiceNumber(String),
    #[error("an invoice cannot go from {from} to {to}")]
    InvoiceTransition {
        from: InvoiceStatus,
        to: InvoiceStatus,
    },
    #[error("the subscription is {} and can no longer change", status_name(*.status))]
    SubscriptionEnded { status: SubscriptionStatus },
    #[error("the billing period ended at {ended_at}: the cancellation has already taken effect")]
    PeriodEnded { ended_at: OffsetDateTime },
    #[error("the first invoice must be paid before the plan can change")]
    PaymentPending,
    #[error("invoice {invoice_id} is unpaid: pay it before upgrading")]
    InvoiceOpen { invoice_id: Uuid },
    #[error("plan {plan_id}'s prices are needed to bill this subscription but were not given")]
    MissingPlan { plan_id: Uuid },
    #[error("payment provider {provider} failed: {message}")]
    Provider {
        provider: &'static str,
        message: String,
    },
}

impl BillingError {
    /// The refusal as an API error body words it: a capitalised sentence.
    /// `Display` is the wording for logs and the scheduler's report; the
    /// API's lives here, in one place, so neither changes the other.
    pub fn message(&self) -> String {
        match self {
            Self::InvalidInvoiceNumber(n) => format!(
                "{n:?} is not an invoice number: expected INV-<year>-<at least 6 digits>, e.g. INV-2026-000042."
            ),
            Self::InvoiceTransition { from, to } => {
                format!("An invoice cannot go from {from} to {to}.")
            }
            Self::SubscriptionEnded { status } => format!(
                "The subscription is {} and can no longer change.",
                status_name(*status)
            ),
            Self::PeriodEnded { ended_at } => format!(
                "The billing period ended at {ended_at}: the cancellation has already taken effect."
            ),
            Self::PaymentPending => {
                "The first invoice must be paid before the plan can change.".to_owned()
            }
            Self::InvoiceOpen { invoice_id } => {
                format!("Invoice {invoice_id} is unpaid: pay it before upgrading.")
            }
            Self::MissingPlan { plan_id } => format!(
                "Plan {plan_id}'s prices are needed to bill this subscription but were not given."
            ),
            Self::Provider { provider, .. } => format!("Payment provider {provider} failed."),
        }
    }
}

/// What a tenant has switched on; `records::TenantRecord` implements it
/// (billing sits below the records, so it cannot name that type).
pub trait EnabledModules {
    fn enabled_modules(&self) -> &[Module];
}

/// The modules a tenant's users may use: the tenant's enabled modules while
/// its subscription grants them (none left otherwise: only `administration`
/// remains). Session issuing and token revocation both call this, so a
/// token never holds a module its tenant is no longer entitled to.
pub fn entitled_modules(
    tenant: &impl EnabledModules,
    subscription: Option<&SubscriptionRecord>,
    now: time::OffsetDateTime,
) -> Vec<Module> {
    if subscription.is_none_or(|s| s.grants_modules_at(now)) {
        tenant.enabled_modules().to_vec()
    } else {
        Vec::new()
    }
}

/// The serialized name, so messages match what the API shows.
fn status_name(status: SubscriptionStatus) -> &'static str {
    match status {
        SubscriptionStatus::Trial => "trial",
        SubscriptionStatus::Active => "active",
        SubscriptionStatus::PastDue => "past_due",
        SubscriptionStatus::Incomplete => "incomplete",
        SubscriptionStatus::Cancelled => "cancelled",
        SubscriptionStatus::Expired => "expired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_messages_are_the_log_wording_as_a_sentence() {
        let at = time::macros::datetime!(2026-03-01 0:00 UTC);
        let id = Uuid::nil();
        for e in [
            BillingError::InvalidInvoiceNumber("INV-1".into()),
            BillingError::InvoiceTransition {
                from: InvoiceStatus::Paid,
                to: InvoiceStatus::Failed,
            },
            BillingError::SubscriptionEnded {
                status: SubscriptionStatus::PastDue,
            },
            BillingError::PeriodEnded { ended_at: at },
            BillingError::PaymentPending,
            BillingError::InvoiceOpen { invoice_id: id },
            BillingError::MissingPlan { plan_id: id },
        ] {
            let log = e.to_string();
            let mut chars = log.chars();
            let first = chars.next().unwrap().to_uppercase();
            assert_eq!(e.message(), format!("{first}{}.", chars.as_str()));
        }
        assert_eq!(
            BillingError::InvoiceTransition {
                from: InvoiceStatus::Paid,
                to: InvoiceStatus::Paid,
            }
            .message(),
            "An invoice cannot go from paid to paid."
        );
        // A provider's own message may hold internals: the API leaves it out.
        let e = BillingError::Provider {
            provider: "manual",
            message: "card processor at 10.0.0.1 said no".into(),
        };
        assert_eq!(e.message(), "Payment provider manual failed.");
    }

    #[test]
    fn messages_use_api_names() {
        let e = BillingError::SubscriptionEnded {
            status: SubscriptionStatus::Cancelled,
        };
        assert_eq!(
            e.to_string(),
            "the subscription is cancelled and can no longer change"
        );
        let e = BillingError::InvoiceTransition {
            from: InvoiceStatus::Void,
            to: InvoiceStatus::Paid,
        };
        assert_eq!(e.to_string(), "an invoice cannot go from void to paid");
        for status in [
            SubscriptionStatus::Trial,
            SubscriptionStatus::Active,
            SubscriptionStatus::PastDue,
            SubscriptionStatus::Incomplete,
            SubscriptionStatus::Cancelled,
            SubscriptionStatus::Expired,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status_name(status)));
        }
    }
}
