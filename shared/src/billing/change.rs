//! Plan changes a tenant admin asks for (`subscribe`), decided without I/O.
//!
//! | from | change | effect |
//! |------|--------|--------|
//! | `trial` | any | at once, no invoice: the trial continues on the new plan |
//! | `active`, `past_due` | a plan dearer at the current cycle (upgrade) | at once, with a prorated invoice for the rest of the period; refused while an invoice is unpaid |
//! | `active`, `past_due` | anything else (cheaper or equal plan, other cycle) | scheduled for the period end (`scheduled_change`); the renewal applies it |
//! | `active`, `past_due` | the current plan and cycle | withdraws a scheduled change |
//! | `incomplete` | another plan or cycle | refused until the first invoice is paid |
//! | `cancelled`, `expired` | any | starts over: a new period from now, its invoice issued at once, `incomplete` (no modules) until it is paid |
//!
//! An upgrade that also changes the cycle takes the plan at once (prorated
//! at the current cycle's prices) and the cycle at the period end: the
//! current period was bought for its cycle's length.
//!
//! Proration: (new price − old price) × remaining time / period length,
//! both prices for the current cycle, computed in integer cents over exact
//! nanoseconds and rounded up to the next cent (the platform's favour).
//! Nothing is owed once the period has ended: the plan then changes
//! without an invoice and the renewal bills it.

use super::invoice::InvoiceDraft;
use super::lifecycle::{bumped, with_status, BillingPolicy, PlanPrice};
use super::period::add_cycle;
use super::subscription::{BillingCycle, ScheduledChange, SubscriptionRecord, SubscriptionStatus};
use super::BillingError;
use rust_decimal::Decimal;
use time::OffsetDateTime;
use uuid::Uuid;

/// What a plan change does. Every variant but `Unchanged` carries the
/// subscription to write (`version` + 1) conditionally on the previous one.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanChange {
    /// Nothing to write.
    Unchanged,
    /// A change without an invoice: a trial's plan, a change scheduled or
    /// withdrawn, or an upgrade with nothing left to prorate.
    Update { subscription: SubscriptionRecord },
    /// The new plan applies now; `invoice` (prorated) is issued with it.
    Upgrade {
        subscription: SubscriptionRecord,
        invoice: InvoiceDraft,
    },
    /// Subscribed again after the end: `incomplete` until `invoice` is paid.
    Restart {
        subscription: SubscriptionRecord,
        invoice: InvoiceDraft,
    },
}

impl PlanChange {
    pub fn subscription(&self) -> Option<&SubscriptionRecord> {
        match self {
            Self::Unchanged => None,
            Self::Update { subscription }
            | Self::Upgrade { subscription, .. }
            | Self::Restart { subscription, .. } => Some(subscription),
        }
    }

    pub fn invoice(&self) -> Option<&InvoiceDraft> {
        match self {
            Self::Upgrade { invoice, .. } | Self::Restart { invoice, .. } => Some(invoice),
            _ => None,
        }
    }
}

/// Decides the change of `sub` to `plan_id` at `cycle` (module docs).
/// `current` is the price of the subscription's plan (`None` without one:
/// treated as free); `price` the new plan's.
pub fn change_plan(
    sub: &SubscriptionRecord,
    current: Option<&PlanPrice>,
    plan_id: Uuid,
    cycle: BillingCycle,
    price: &PlanPrice,
    policy: &BillingPolicy,
    now: OffsetDateTime,
) -> Result<PlanChange, BillingError> {
    let same = sub.plan_id == Some(plan_id) && sub.billing_cycle == cycle;
    let draft = |start, end, amount| InvoiceDraft {
        subscription_id: sub.id,
        tenant_id: sub.tenant_id,
        period_start: start,
        period_end: end,
        amount,
        currency: price.currency.clone(),
        issued_at: now,
        due_date: policy.due_date(now),
        modules_until: policy.modules_until(policy.due_date(now)),
    };
    match sub.status {
        SubscriptionStatus::Cancelled | SubscriptionStatus::Expired => {
            let mut next = with_status(sub, SubscriptionStatus::Incomplete, now);
            next.plan_id = Some(plan_id);
            next.billing_cycle = cycle;
            next.current_period_start = now;
            next.current_period_end = add_cycle(now, cycle);
            next.cancel_at_period_end = false;
            next.cancelled_at = None;
            next.open_invoice = None;
            next.scheduled_change = None;
            let invoice = draft(
                next.current_period_start,
                next.current_period_end,
                price.amount(cycle),
            );
            Ok(PlanChange::Restart {
                subscription: next,
                invoice,
            })
        }
        SubscriptionStatus::Incomplete if same => Ok(PlanChange::Unchanged),
        SubscriptionStatus::Incomplete => Err(BillingError::PaymentPending),
        SubscriptionStatus::Trial => {
            if same && sub.scheduled_change.is_none() {
                return Ok(PlanChange::Unchanged);
            }
            let mut next = bumped(sub, now);
            next.plan_id = Some(plan_id);
            next.billing_cycle = cycle;
            next.scheduled_change = None;
            Ok(PlanChange::Update { subscription: next })
        }
        SubscriptionStatus::Active | SubscriptionStatus::PastDue => {
            if same {
                if sub.scheduled_change.is_none() {
                    return Ok(PlanChange::Unchanged);
                }
                let mut next = bumped(sub, now);
                next.scheduled_change = None;
                return Ok(PlanChange::Update { subscription: next });
            }
            let old = current.map_or(Decimal::ZERO, |p| p.amount(sub.billing_cycle));
            let new = price.amount(sub.billing_cycle);
            let target = ScheduledChange {
                plan_id,
                billing_cycle: cycle,
            };
            if sub.plan_id == Some(plan_id) || new <= old {
                if sub.scheduled_change == Some(target) {
                    return Ok(PlanChange::Unchanged);
                }
                let mut next = bumped(sub, now);
                next.scheduled_change = Some(target);
                return Ok(PlanChange::Update { subscription: next });
            }
            if let Some(open) = sub.open_invoice.filter(|i| i.status.is_open()) {
                return Err(BillingError::InvoiceOpen {
                    invoice_id: open.id,
                });
            }
            let mut next = bumped(sub, now);
            next.plan_id = Some(plan_id);
            next.scheduled_change = (cycle != sub.billing_cycle).then_some(target);
            let amount = prorate(
                old,
                new,
                sub.current_period_start,
                sub.current_period_end,
                now,
            );
            if amount <= Decimal::ZERO {
                return Ok(PlanChange::Update { subscription: next });
            }
            let invoice = draft(now, sub.current_period_end, amount);
            Ok(PlanChange::Upgrade {
                subscription: next,
                invoice,
            })
        }
    }
}

/// What an upgrade from `old` to `new` (prices of one period) costs for the
/// rest of the period `start..end` at `now`: the difference times the
/// share of the period left, rounded up to the cent; zero when nothing is
/// left or the new price is not higher.
pub fn prorate(
    old: Decimal,
    new: Decimal,
    start: OffsetDateTime,
    end: OffsetDateTime,
    now: OffsetDateTime,
) -> Decimal {
    let length = (end - start).whole_nanoseconds();
    let remaining = (end - now).whole_nanoseconds().clamp(0, length.max(0));
    let diff = cents(new) - cents(old);
    if length <= 0 || remaining == 0 || diff <= 0 {
        return Decimal::ZERO;
    }
    // Both factors fit easily: cents below 10^15, nanoseconds of a year ~3·10^16.
    let product = diff.saturating_mul(remaining);
    let amount = product / length + i128::from(product % length != 0);
    Decimal::try_from_i128_with_scale(amount, 2).unwrap_or(Decimal::MAX)
}

/// An amount in whole cents; prices carry at most two decimals, anything
/// finer is rounded half away from zero.
fn cents(amount: Decimal) -> i128 {
    let mut d = amount;
    d.rescale(2);
    d.mantissa()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{advance, on_invoice_paid, FixedClock, Transition};
    use crate::billing::{Clock, InvoiceStatus};
    use time::macros::datetime;
    use time::Duration;
    use SubscriptionStatus::{Active, Expired, Incomplete, PastDue, Trial};

    const STARTER: Uuid = Uuid::from_u128(10);
    const PRO: Uuid = Uuid::from_u128(11);
    const INVOICE: Uuid = Uuid::from_u128(12);

    fn policy() -> BillingPolicy {
        BillingPolicy::default()
    }

    fn price(monthly: i64, yearly: i64) -> PlanPrice {
        PlanPrice {
            price_monthly: Decimal::new(monthly, 2),
            price_yearly: Decimal::new(yearly, 2),
            currency: "EUR".into(),
        }
    }

    fn starter() -> PlanPrice {
        price(2900, 29000)
    }

    fn pro() -> PlanPrice {
        price(9900, 99000)
    }

    /// Active on Starter, monthly, in the period Feb 1 → Mar 1 (28 days).
    fn active() -> SubscriptionRecord {
        let created = datetime!(2026-01-01 00:00 UTC);
        SubscriptionRecord {
            id: Uuid::from_u128(1),
            tenant_id: Uuid::from_u128(2),
            plan_id: Some(STARTER),
            status: Active,
            billing_cycle: BillingCycle::Monthly,
            current_period_start: datetime!(2026-02-01 00:00 UTC),
            current_period_end: datetime!(2026-03-01 00:00 UTC),
            trial_ends_at: None,
            cancel_at_period_end: false,
            cancelled_at: None,
            created_at: created,
            updated_at: created,
            version: 5,
            open_invoice: None,
            next_action_at: None,
            scheduled_change: None,
        }
    }

    fn change(
        sub: &SubscriptionRecord,
        plan: Uuid,
        cycle: BillingCycle,
        now: OffsetDateTime,
    ) -> Result<PlanChange, BillingError> {
        let (current, new) = (
            if sub.plan_id == Some(PRO) {
                pro()
            } else {
                starter()
            },
            if plan == PRO { pro() } else { starter() },
        );
        change_plan(sub, Some(&current), plan, cycle, &new, &policy(), now)
    }

    #[test]
    fn proration_is_the_price_difference_for_the_time_left_rounded_up() {
        let start = datetime!(2026-02-01 00:00 UTC);
        let end = datetime!(2026-03-01 00:00 UTC);
        let half = datetime!(2026-02-15 00:00 UTC);
        let (old, new) = (Decimal::new(2900, 2), Decimal::new(9900, 2));
        assert_eq!(prorate(old, new, start, end, half), Decimal::new(3500, 2));
        assert_eq!(prorate(old, new, start, end, start), Decimal::new(7000, 2));
        // 70.00 × 1/28 = 2.50 exactly: no rounding.
        assert_eq!(
            prorate(old, new, start, end, end - Duration::days(1)),
            Decimal::new(250, 2)
        );
        let april = (
            datetime!(2026-04-01 00:00 UTC),
            datetime!(2026-05-01 00:00 UTC),
        );
        // 10.00 × 1/30 = 0.3333… → 0.34.
        assert_eq!(
            prorate(
                Decimal::new(1000, 2),
                Decimal::new(2000, 2),
                april.0,
                april.1,
                april.1 - Duration::days(1)
            ),
            Decimal::new(34, 2)
        );
        // One nanosecond left still costs a cent; none left costs nothing.
        assert_eq!(
            prorate(old, new, start, end, end - Duration::nanoseconds(1)),
            Decimal::new(1, 2)
        );
        assert_eq!(prorate(old, new, start, end, end), Decimal::ZERO);
        assert_eq!(
            prorate(old, new, start, end, end + Duration::days(3)),
            Decimal::ZERO
        );
        // A cheaper plan is never credited here.
        assert_eq!(prorate(new, old, start, end, half), Decimal::ZERO);
        // Before the period (clock skew) counts as the whole period.
        assert_eq!(
            prorate(old, new, start, end, start - Duration::days(1)),
            Decimal::new(7000, 2)
        );
    }

    #[test]
    fn an_upgrade_applies_at_once_with_a_prorated_invoice() {
        let clock = FixedClock(datetime!(2026-02-15 00:00 UTC));
        let sub = active();
        let t = change(&sub, PRO, BillingCycle::Monthly, clock.now()).unwrap();
        let PlanChange::Upgrade {
            subscription,
            invoice,
        } = &t
        else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.plan_id, Some(PRO));
        assert_eq!(subscription.status, Active);
        assert_eq!(subscription.scheduled_change, None);
        assert_eq!(
            (
                subscription.current_period_start,
                subscription.current_period_end
            ),
            (sub.current_period_start, sub.current_period_end),
            "the period stays"
        );
        assert_eq!(subscription.version, sub.version + 1);
        assert_eq!(invoice.amount, Decimal::new(3500, 2));
        assert_eq!(
            (invoice.period_start, invoice.period_end),
            (clock.now(), sub.current_period_end)
        );
        assert_eq!(invoice.due_date, datetime!(2026-02-22 00:00 UTC));
        assert_eq!(invoice.currency, "EUR");

        // Paid: active on Pro; the renewal bills Pro's full price.
        let issued = SubscriptionRecord {
            open_invoice: Some(invoice.open(INVOICE)),
            ..subscription.clone()
        };
        let mut paid = on_invoice_paid(&issued, &invoice.open(INVOICE), clock.now()).unwrap();
        paid.open_invoice = None;
        assert_eq!(paid.status, Active);
        let renewal =
            advance(&paid, None, Some(&pro()), &policy(), sub.current_period_end).unwrap();
        assert_eq!(
            renewal.invoice().map(|i| i.amount),
            Some(Decimal::new(9900, 2))
        );
    }

    #[test]
    fn an_upgrade_is_refused_while_an_invoice_is_unpaid() {
        let now = datetime!(2026-02-03 00:00 UTC);
        let draft = InvoiceDraft {
            subscription_id: active().id,
            tenant_id: active().tenant_id,
            period_start: datetime!(2026-02-01 00:00 UTC),
            period_end: datetime!(2026-03-01 00:00 UTC),
            amount: Decimal::new(2900, 2),
            currency: "EUR".into(),
            issued_at: datetime!(2026-02-01 00:00 UTC),
            due_date: datetime!(2026-02-08 00:00 UTC),
            modules_until: datetime!(2026-02-15 00:00 UTC),
        };
        let sub = SubscriptionRecord {
            open_invoice: Some(draft.open(INVOICE)),
            ..active()
        };
        assert_eq!(
            change(&sub, PRO, BillingCycle::Monthly, now),
            Err(BillingError::InvoiceOpen {
                invoice_id: INVOICE
            })
        );
        // A downgrade is only scheduled, so it is allowed.
        let sub = SubscriptionRecord {
            plan_id: Some(PRO),
            ..sub
        };
        assert!(matches!(
            change(&sub, STARTER, BillingCycle::Monthly, now),
            Ok(PlanChange::Update { .. })
        ));
    }

    #[test]
    fn an_upgrade_with_a_cycle_change_takes_the_plan_now_and_the_cycle_at_the_end() {
        let now = datetime!(2026-02-15 00:00 UTC);
        let t = change(&active(), PRO, BillingCycle::Yearly, now).unwrap();
        let PlanChange::Upgrade {
            subscription,
            invoice,
        } = &t
        else {
            panic!("{t:?}")
        };
        assert_eq!(
            (subscription.plan_id, subscription.billing_cycle),
            (Some(PRO), BillingCycle::Monthly)
        );
        assert_eq!(invoice.amount, Decimal::new(3500, 2), "monthly prices");
        assert_eq!(
            subscription.scheduled_change,
            Some(ScheduledChange {
                plan_id: PRO,
                billing_cycle: BillingCycle::Yearly
            })
        );
    }

    #[test]
    fn a_downgrade_is_applied_at_the_period_end_and_not_before() {
        let mut clock = FixedClock(datetime!(2026-02-10 00:00 UTC));
        let on_pro = SubscriptionRecord {
            plan_id: Some(PRO),
            ..active()
        };
        let t = change(&on_pro, STARTER, BillingCycle::Monthly, clock.now()).unwrap();
        let PlanChange::Update { subscription } = t else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.plan_id, Some(PRO), "still Pro for now");
        assert_eq!(
            subscription.scheduled_change,
            Some(ScheduledChange {
                plan_id: STARTER,
                billing_cycle: BillingCycle::Monthly
            })
        );
        assert!(subscription.grants_modules_at(clock.now()));
        // Asking again changes nothing.
        assert_eq!(
            change(&subscription, STARTER, BillingCycle::Monthly, clock.now()),
            Ok(PlanChange::Unchanged)
        );

        // Just before the period end nothing happens.
        clock.set(subscription.current_period_end - Duration::nanoseconds(1));
        let t = advance(
            &subscription,
            None,
            Some(&starter()),
            &policy(),
            clock.now(),
        )
        .unwrap();
        assert_eq!(t, Transition::None);

        // At the period end the renewal is on Starter, at Starter's price.
        clock.set(subscription.current_period_end);
        let t = advance(
            &subscription,
            None,
            Some(&starter()),
            &policy(),
            clock.now(),
        )
        .unwrap();
        let Transition::IssueInvoice {
            invoice,
            subscription: renewed,
        } = &t
        else {
            panic!("{t:?}")
        };
        assert_eq!(renewed.plan_id, Some(STARTER));
        assert_eq!(renewed.scheduled_change, None);
        assert_eq!(invoice.amount, Decimal::new(2900, 2));
        assert_eq!(
            (invoice.period_start, invoice.period_end),
            (
                datetime!(2026-03-01 00:00 UTC),
                datetime!(2026-04-01 00:00 UTC)
            )
        );
    }

    #[test]
    fn a_cycle_change_waits_for_the_period_end_and_bills_the_new_cycle() {
        let now = datetime!(2026-02-10 00:00 UTC);
        let t = change(&active(), STARTER, BillingCycle::Yearly, now).unwrap();
        let PlanChange::Update { subscription } = t else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.billing_cycle, BillingCycle::Monthly);
        let end = subscription.current_period_end;
        let t = advance(&subscription, None, Some(&starter()), &policy(), end).unwrap();
        let (Some(renewed), Some(invoice)) = (t.subscription(), t.invoice()) else {
            panic!("{t:?}")
        };
        assert_eq!(renewed.billing_cycle, BillingCycle::Yearly);
        assert_eq!(invoice.amount, Decimal::new(29000, 2));
        assert_eq!(invoice.period_end, datetime!(2027-03-01 00:00 UTC));
    }

    #[test]
    fn choosing_the_current_plan_withdraws_a_scheduled_change() {
        let now = datetime!(2026-02-10 00:00 UTC);
        let on_pro = SubscriptionRecord {
            plan_id: Some(PRO),
            ..active()
        };
        let Ok(PlanChange::Update { subscription }) =
            change(&on_pro, STARTER, BillingCycle::Monthly, now)
        else {
            panic!()
        };
        let Ok(PlanChange::Update { subscription: back }) =
            change(&subscription, PRO, BillingCycle::Monthly, now)
        else {
            panic!()
        };
        assert_eq!(back.scheduled_change, None);
        assert_eq!(back.version, subscription.version + 1);
        assert_eq!(
            change(&back, PRO, BillingCycle::Monthly, now),
            Ok(PlanChange::Unchanged)
        );
    }

    #[test]
    fn a_trial_changes_plan_at_once_without_an_invoice() {
        let now = datetime!(2026-02-10 00:00 UTC);
        let trial = SubscriptionRecord {
            status: Trial,
            ..active()
        };
        let t = change(&trial, PRO, BillingCycle::Yearly, now).unwrap();
        let PlanChange::Update { subscription } = t else {
            panic!("{t:?}")
        };
        assert_eq!(
            (subscription.plan_id, subscription.billing_cycle),
            (Some(PRO), BillingCycle::Yearly)
        );
    }

    #[test]
    fn resubscribing_after_expiry_grants_nothing_until_paid() {
        let mut clock = FixedClock(datetime!(2026-06-01 00:00 UTC));
        let expired = SubscriptionRecord {
            status: Expired,
            ..active()
        };
        assert!(!expired.grants_modules_at(clock.now()));
        let t = change(&expired, PRO, BillingCycle::Monthly, clock.now()).unwrap();
        let PlanChange::Restart {
            subscription,
            invoice,
        } = &t
        else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.status, Incomplete);
        assert_eq!(invoice.amount, Decimal::new(9900, 2));
        assert_eq!(
            (invoice.period_start, invoice.period_end),
            (clock.now(), datetime!(2026-07-01 00:00 UTC))
        );
        let open = invoice.open(INVOICE);
        let sub = SubscriptionRecord {
            open_invoice: Some(open),
            ..subscription.clone()
        }
        .schedule(&policy());
        // No modules at any point while unpaid, not even within the grace.
        for days in [0, 1, 7, 10, 14] {
            assert!(
                !sub.grants_modules_at(clock.now() + Duration::days(days)),
                "day {days}"
            );
        }
        // Subscribing again gains nothing: the same choice is a no-op,
        // another is refused, and no second invoice is issued.
        assert_eq!(
            change(&sub, PRO, BillingCycle::Monthly, clock.now()),
            Ok(PlanChange::Unchanged)
        );
        assert_eq!(
            change(&sub, STARTER, BillingCycle::Monthly, clock.now()),
            Err(BillingError::PaymentPending)
        );
        // Unpaid, it expires like a past-due one.
        assert_eq!(
            sub.next_action_at,
            Some(policy().expires_at(invoice.due_date))
        );
        let lapsed = advance(
            &sub,
            Some(&open),
            Some(&pro()),
            &policy(),
            policy().expires_at(invoice.due_date),
        )
        .unwrap();
        assert!(matches!(lapsed, Transition::Expire { .. }), "{lapsed:?}");

        // Paid: active, with modules.
        clock.advance(Duration::days(2));
        let paid = on_invoice_paid(&sub, &open, clock.now()).unwrap();
        assert_eq!(paid.status, Active);
        let paid = SubscriptionRecord {
            open_invoice: None,
            ..paid
        };
        assert!(paid.grants_modules_at(clock.now()));
    }

    #[test]
    fn past_due_keeps_modules_within_the_grace_and_loses_them_after() {
        let policy = policy();
        let issued = datetime!(2026-03-01 00:00 UTC);
        let draft = InvoiceDraft {
            subscription_id: active().id,
            tenant_id: active().tenant_id,
            period_start: issued,
            period_end: datetime!(2026-04-01 00:00 UTC),
            amount: Decimal::new(2900, 2),
            currency: "EUR".into(),
            issued_at: issued,
            due_date: policy.due_date(issued),
            modules_until: policy.modules_until(policy.due_date(issued)),
        };
        let open = draft.open(INVOICE);
        let active_owing = SubscriptionRecord {
            open_invoice: Some(open),
            ..active()
        };
        // The scheduler marks it past due at the due date.
        let t = advance(
            &active_owing,
            Some(&open),
            Some(&starter()),
            &policy,
            open.due_date,
        )
        .unwrap();
        let Transition::MarkPastDue { subscription } = t else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.status, PastDue);
        let limit = datetime!(2026-03-15 00:00 UTC);
        assert_eq!(open.modules_until(), limit, "due date + grace days");
        assert!(subscription.grants_modules_at(open.due_date));
        assert!(subscription.grants_modules_at(limit - Duration::nanoseconds(1)));
        assert!(!subscription.grants_modules_at(limit));
        assert!(!subscription.grants_modules_at(limit + Duration::days(3)));
        // A scheduler that has not run yet changes nothing: dates decide.
        assert!(!active_owing.grants_modules_at(limit));
        // Paid (or voided), past due or not, modules are back.
        let settled = SubscriptionRecord {
            open_invoice: Some(crate::billing::OpenInvoice {
                status: InvoiceStatus::Void,
                ..open
            }),
            ..subscription.clone()
        };
        assert!(settled.grants_modules_at(limit));
        // An invoice stored before `modules_until` existed uses the default grace.
        let legacy = SubscriptionRecord {
            open_invoice: Some(crate::billing::OpenInvoice {
                modules_until: None,
                ..open
            }),
            ..subscription
        };
        assert!(legacy.grants_modules_at(limit - Duration::nanoseconds(1)));
        assert!(!legacy.grants_modules_at(limit));
    }

    #[test]
    fn final_and_incomplete_statuses_grant_nothing_trials_everything() {
        let now = datetime!(2026-02-10 00:00 UTC);
        for (status, grants) in [
            (Trial, true),
            (Active, true),
            (PastDue, true),
            (Incomplete, false),
            (SubscriptionStatus::Cancelled, false),
            (Expired, false),
        ] {
            let sub = SubscriptionRecord { status, ..active() };
            assert_eq!(sub.grants_modules_at(now), grants, "{status:?}");
        }
    }
}
