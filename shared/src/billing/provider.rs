//! The seam between invoices and whoever collects the money.
//!
//! Today invoices are settled by hand: [`ManualProvider`] never charges, and
//! an administrator marks the invoice paid through the API, which checks
//! [`InvoiceStatus::transition`] and calls
//! [`on_invoice_paid`](super::lifecycle::on_invoice_paid).
//!
//! A real gateway (e.g. Stripe) plugs in by implementing [`PaymentProvider`]:
//! `charge` creates the payment (a PaymentIntent, keyed by the invoice id so
//! a retried call is deduplicated) and returns [`ChargeOutcome::Processing`]
//! with the gateway's reference, or `Paid` / `Failed` if it settled at once.
//! Its webhook handler then verifies the signature, finds the invoice by that
//! reference and maps the event: succeeded → invoice `paid` +
//! `on_invoice_paid`; failed → invoice `failed` (the subscription is left to
//! the lifecycle's due date). The lifecycle itself never changes.
//!
//! `charge` returns a future so such an implementation can do its network
//! call without blocking the runtime; the trait is therefore used through
//! generics (or an enum of providers), not `dyn`.

use super::invoice::InvoiceStatus;
use super::BillingError;
use rust_decimal::Decimal;
use std::future::Future;
use uuid::Uuid;

/// What a provider needs to collect one invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub invoice_id: Uuid,
    /// `INV-<year>-<sequence>`, shown on the customer's statement.
    pub invoice_number: String,
    pub tenant_id: Uuid,
    pub amount: Decimal,
    pub currency: String,
}

/// What came of asking for the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// Collected now.
    Paid { reference: String },
    /// Accepted by the gateway; its webhook will say how it ended.
    Processing { reference: String },
    /// Refused (card declined, ...); the invoice may still be paid later.
    Failed { reason: String },
    /// Nothing was charged: someone marks the invoice paid through the API.
    AwaitingManualConfirmation,
}

impl ChargeOutcome {
    /// The invoice status this outcome settles, if it settles one now.
    pub fn invoice_status(&self) -> Option<InvoiceStatus> {
        match self {
            Self::Paid { .. } => Some(InvoiceStatus::Paid),
            Self::Failed { .. } => Some(InvoiceStatus::Failed),
            Self::Processing { .. } | Self::AwaitingManualConfirmation => None,
        }
    }
}

/// A way of collecting invoices. See the module docs for plugging in a
/// gateway.
pub trait PaymentProvider {
    /// Stored on the invoice, so a webhook can be matched to its provider.
    fn name(&self) -> &'static str;

    /// Asks for the money. An `Err` is a failure to talk to the provider
    /// (retry later), not a declined charge, which is
    /// [`ChargeOutcome::Failed`].
    fn charge(
        &self,
        request: &ChargeRequest,
    ) -> impl Future<Output = Result<ChargeOutcome, BillingError>> + Send;
}

/// Invoices are paid outside the system and marked paid through the API.
#[derive(Debug, Clone, Copy, Default)]
pub struct ManualProvider;

impl PaymentProvider for ManualProvider {
    fn name(&self) -> &'static str {
        "manual"
    }

    fn charge(
        &self,
        _request: &ChargeRequest,
    ) -> impl Future<Output = Result<ChargeOutcome, BillingError>> + Send {
        std::future::ready(Ok(ChargeOutcome::AwaitingManualConfirmation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::lifecycle::{
        advance, on_invoice_paid, BillingPolicy, PlanPrice, Transition,
    };
    use crate::billing::{BillingCycle, SubscriptionRecord, SubscriptionStatus};
    use time::macros::datetime;

    fn request() -> ChargeRequest {
        ChargeRequest {
            invoice_id: Uuid::from_u128(4),
            invoice_number: "INV-2026-000042".into(),
            tenant_id: Uuid::from_u128(2),
            amount: Decimal::new(2999, 2),
            currency: "EUR".into(),
        }
    }

    /// Generic, as callers use it.
    async fn collect<P: PaymentProvider>(
        provider: &P,
        request: &ChargeRequest,
    ) -> Result<ChargeOutcome, BillingError> {
        provider.charge(request).await
    }

    #[tokio::test]
    async fn the_manual_provider_charges_nothing_and_waits_for_confirmation() {
        let provider = ManualProvider;
        assert_eq!(provider.name(), "manual");
        let outcome = collect(&provider, &request()).await;
        assert_eq!(outcome, Ok(ChargeOutcome::AwaitingManualConfirmation));
        assert_eq!(
            outcome.ok().and_then(|o| o.invoice_status()),
            None,
            "the invoice stays pending"
        );
    }

    #[test]
    fn outcomes_map_to_invoice_statuses() {
        let reference = || "pi_123".to_owned();
        assert_eq!(
            ChargeOutcome::Paid {
                reference: reference()
            }
            .invoice_status(),
            Some(InvoiceStatus::Paid)
        );
        assert_eq!(
            ChargeOutcome::Failed {
                reason: "declined".into()
            }
            .invoice_status(),
            Some(InvoiceStatus::Failed)
        );
        assert_eq!(
            ChargeOutcome::Processing {
                reference: reference()
            }
            .invoice_status(),
            None
        );
        // Every settled status is one a pending invoice may take.
        for outcome in [
            ChargeOutcome::Paid {
                reference: reference(),
            },
            ChargeOutcome::Failed {
                reason: String::new(),
            },
        ] {
            let status = outcome.invoice_status().unwrap();
            assert!(InvoiceStatus::Pending.can_become(status), "{status}");
        }
    }

    #[tokio::test]
    async fn a_manual_confirmation_activates_the_subscription() {
        let trial_end = datetime!(2026-01-31 09:00 UTC);
        let sub = SubscriptionRecord {
            id: Uuid::from_u128(1),
            tenant_id: Uuid::from_u128(2),
            plan_id: Some(Uuid::from_u128(3)),
            status: SubscriptionStatus::Trial,
            billing_cycle: BillingCycle::Monthly,
            current_period_start: datetime!(2026-01-17 09:00 UTC),
            current_period_end: trial_end,
            trial_ends_at: Some(trial_end),
            cancel_at_period_end: false,
            cancelled_at: None,
            created_at: datetime!(2026-01-17 09:00 UTC),
            updated_at: datetime!(2026-01-17 09:00 UTC),
            version: 1,
            open_invoice: None,
            next_action_at: None,
            scheduled_change: None,
        };
        let plan = PlanPrice {
            price_monthly: Decimal::new(2999, 2),
            price_yearly: Decimal::new(29990, 2),
            currency: "EUR".into(),
        };
        let t = advance(
            &sub,
            None,
            Some(&plan),
            &BillingPolicy::default(),
            trial_end,
        )
        .unwrap();
        let Transition::IssueInvoice {
            invoice,
            subscription,
        } = t
        else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.status, SubscriptionStatus::PastDue);

        let open = invoice.open(Uuid::from_u128(4));
        let outcome = collect(&ManualProvider, &request()).await.unwrap();
        assert_eq!(outcome, ChargeOutcome::AwaitingManualConfirmation);

        // The administrator marks it paid through the API.
        let paid_at = datetime!(2026-02-02 10:00 UTC);
        assert_eq!(
            open.status.transition(InvoiceStatus::Paid),
            Ok(InvoiceStatus::Paid)
        );
        let active = on_invoice_paid(&subscription, &open, paid_at).unwrap();
        assert_eq!(active.status, SubscriptionStatus::Active);
        assert_eq!(active.version, subscription.version + 1);
    }
}
