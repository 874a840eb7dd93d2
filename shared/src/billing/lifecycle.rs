//! The subscription lifecycle as an explicit state machine: pure functions
//! from (subscription, its open invoice, the time) to what must happen.
//!
//! # Events
//!
//! | status      | event, at                                     | transition |
//! |-------------|-----------------------------------------------|------------|
//! | `trial`     | trial end (`trial_ends_at`)                   | issue the first period's invoice, → `past_due` until paid |
//! | `active`    | the open invoice's `due_date`                 | → `past_due` |
//! | `active`    | period end, no open invoice                   | next period starts, its invoice is issued, stays `active` |
//! | `past_due`, `incomplete` | the open invoice's `due_date + expire_after` | → `expired` |
//! | `past_due`, `incomplete` | period end, no open invoice (it was voided) | as `active`, status kept |
//! | any live    | period end with `cancel_at_period_end`        | → `cancelled`, no invoice |
//! | any live    | period end with a `scheduled_change`          | the next period (and its invoice) has the scheduled plan and cycle |
//! | `cancelled`, `expired` | none                               | final; the data is kept |
//!
//! Payment ([`on_invoice_paid`]) takes `trial` / `past_due` / `incomplete`
//! → `active`. Subscribing again after the end ([`super::change_plan`])
//! makes a subscription `incomplete`.
//!
//! # Entitlement
//!
//! [`SubscriptionRecord::grants_modules_at`] alone decides whether a
//! subscription grants modules at an instant (tokens carry only
//! `administration` otherwise): `trial` yes; `active` / `past_due` yes
//! unless an unpaid invoice's `modules_until` (its due date +
//! `grace_days`) has passed; `incomplete`, `cancelled`, `expired` no. It
//! reads dates, not only the status, so a late scheduler never extends
//! access.
//! [`next_action`] is the earliest event's time; [`advance`] applies the
//! earliest event whose time has come. Both read the same event list, so
//! the scheduler's index key and the work done can never disagree.
//!
//! # Choices
//!
//! - **Due date** = issue time (the `now` the scheduler issues at) +
//!   `grace_days`: a late scheduler never shortens the customer's grace.
//! - **Expiry** is counted from the unpaid invoice's due date: expired at
//!   `due_date + expire_after_days` (21 days after issue with the defaults).
//!   The record keeps no "past due since", and this treats the trial's first
//!   invoice (past due from issue) and a renewal invoice alike.
//! - **Anchoring**: periods sit on the grid anchored at [`billing_anchor`],
//!   see [`super::period`].
//! - **One open invoice at a time**: a period end while an invoice is still
//!   open waits until it is paid (or voided, or the subscription lapses), so
//!   a customer is never billed twice ahead. At trial end with an invoice
//!   already open (an upgrade not yet paid) no second invoice is issued; the
//!   subscription goes past due on that one.
//! - **Catch-up**: one step per [`advance`] call, earliest event first. After
//!   an outage the scheduler loops advance → conditional write → advance
//!   until [`Transition::None`], at most [`MAX_STEPS_PER_RUN`] times. Missed
//!   periods are never skipped (the customer had access): each is billed in
//!   order, the next once the previous invoice is paid; an invoice long past
//!   due goes past due and then expires within one run.
//! - **Cancellation** takes effect at the period end: `cancelled`,
//!   `cancelled_at` = that period end (when it took effect, not when the
//!   scheduler noticed), no invoice. An invoice still open is left to the
//!   caller (to void or to collect).
//! - **No plan** (the built-in trial): nothing to bill, so it expires at its
//!   period end.
//! - A `failed` invoice is still open: a failed charge changes nothing by
//!   itself; the due date does.

pub use super::invoice::OpenInvoice;
use super::invoice::{InvoiceDraft, InvoiceStatus};
use super::period::next_period;
use super::subscription::{BillingCycle, SubscriptionRecord, SubscriptionStatus};
use super::BillingError;
use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime};

/// Where "now" comes from, so the lifecycle can be tested at any instant.
pub trait Clock {
    fn now(&self) -> OffsetDateTime;
}

/// The real time, in UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that says what it is told: for tests and replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub OffsetDateTime);

impl FixedClock {
    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&mut self, by: Duration) {
        self.0 = self.0.saturating_add(by);
    }

    pub fn set(&mut self, to: OffsetDateTime) {
        self.0 = to;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// How long an unpaid invoice is tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingPolicy {
    /// Days from issue to due date; past it an active subscription is past
    /// due. Past due, modules stay for as many days again after the due date.
    pub grace_days: u32,
    /// Days from the due date to expiry of a past-due subscription.
    pub expire_after_days: u32,
}

impl Default for BillingPolicy {
    fn default() -> Self {
        Self {
            grace_days: 7,
            expire_after_days: 14,
        }
    }
}

impl BillingPolicy {
    /// The due date of an invoice issued at `issued_at`.
    pub fn due_date(&self, issued_at: OffsetDateTime) -> OffsetDateTime {
        issued_at.saturating_add(Duration::days(i64::from(self.grace_days)))
    }

    /// Until when a subscription owing an invoice due at `due_date` keeps
    /// its modules.
    pub fn modules_until(&self, due_date: OffsetDateTime) -> OffsetDateTime {
        due_date.saturating_add(Duration::days(i64::from(self.grace_days)))
    }

    /// When a subscription past due on an invoice due at `due_date` expires.
    pub fn expires_at(&self, due_date: OffsetDateTime) -> OffsetDateTime {
        due_date.saturating_add(Duration::days(i64::from(self.expire_after_days)))
    }
}

/// The plan's prices, all the lifecycle needs from a [`PlanRecord`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPrice {
    pub price_monthly: Decimal,
    pub price_yearly: Decimal,
    pub currency: String,
}

impl PlanPrice {
    /// The exact price of one period of `cycle`.
    pub fn amount(&self, cycle: BillingCycle) -> Decimal {
        match cycle {
            BillingCycle::Monthly => self.price_monthly,
            BillingCycle::Yearly => self.price_yearly,
        }
    }
}

// Here rather than in `invoice`: the default grace is lifecycle policy.
impl OpenInvoice {
    /// Until when modules stay while this invoice is unpaid.
    pub fn modules_until(&self) -> OffsetDateTime {
        self.modules_until
            .unwrap_or_else(|| BillingPolicy::default().modules_until(self.due_date))
    }
}

impl SubscriptionRecord {
    /// Recomputes `next_action_at`; every writer calls it before writing.
    pub fn schedule(mut self, policy: &BillingPolicy) -> Self {
        self.next_action_at = next_action(&self, self.open_invoice.as_ref(), policy);
        self
    }
}

impl SubscriptionRecord {
    /// Whether this subscription grants the tenant's modules at `now`; the
    /// one rule session issuing and token checks share (module docs,
    /// "Entitlement"). Pure: the grace is stored on the open invoice.
    pub fn grants_modules_at(&self, now: OffsetDateTime) -> bool {
        match self.status {
            SubscriptionStatus::Trial => true,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue => self
                .open_invoice
                .filter(|i| i.status.is_open())
                .is_none_or(|i| now < i.modules_until()),
            SubscriptionStatus::Incomplete
            | SubscriptionStatus::Cancelled
            | SubscriptionStatus::Expired => false,
        }
    }
}

/// What to do now. Every variant but `None` carries the subscription as it
/// must be written (`version` + 1, `updated_at` = now), conditionally on the
/// previous version.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// Nothing is due yet.
    None,
    /// Create `invoice` (pending) and write `subscription`, whose period has
    /// moved to the invoice's and whose status is the new one.
    IssueInvoice {
        invoice: InvoiceDraft,
        subscription: SubscriptionRecord,
    },
    /// The open invoice is past its due date.
    MarkPastDue { subscription: SubscriptionRecord },
    /// Unpaid beyond the limit, or a plan-less trial ended.
    Expire { subscription: SubscriptionRecord },
    /// A cancellation requested for the period end took effect.
    Cancel { subscription: SubscriptionRecord },
}

impl Transition {
    /// The record to write, if anything changes.
    pub fn subscription(&self) -> Option<&SubscriptionRecord> {
        match self {
            Self::None => None,
            Self::IssueInvoice { subscription, .. }
            | Self::MarkPastDue { subscription }
            | Self::Expire { subscription }
            | Self::Cancel { subscription } => Some(subscription),
        }
    }

    /// The invoice to create, if any.
    pub fn invoice(&self) -> Option<&InvoiceDraft> {
        match self {
            Self::IssueInvoice { invoice, .. } => Some(invoice),
            _ => None,
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Self::None)
    }
}

/// The most [`advance`] steps a scheduler run should apply to one
/// subscription. A live subscription needs at most three in a row (past
/// due, then expired; or cancelled); the margin only guards against a bug
/// looping forever.
pub const MAX_STEPS_PER_RUN: usize = 8;

/// The start of the period grid: the first paid period begins at the end
/// of the trial, or at creation for a subscription without one. The record
/// stores no anchor; [`super::period::next_period`] re-anchors if the
/// current period is not on this grid.
pub fn billing_anchor(sub: &SubscriptionRecord) -> OffsetDateTime {
    sub.trial_ends_at.unwrap_or(sub.created_at)
}

/// When the scheduler must next look at `sub`: the key of the sparse index
/// it scans. `None` when nothing can ever be due (cancelled, expired).
pub fn next_action(
    sub: &SubscriptionRecord,
    open_invoice: Option<&OpenInvoice>,
    policy: &BillingPolicy,
) -> Option<OffsetDateTime> {
    earliest_event(sub, unpaid(open_invoice), policy).map(|(at, _)| at)
}

/// What to do at `now`: the earliest event whose time has come, one step
/// per call (see the module docs for catch-up). Applied to the record it
/// returns, with the invoice it issued, at the same `now`, it returns the
/// next step or [`Transition::None`], never the same step twice.
///
/// `plan` is needed only when an invoice is due; a subscription with a
/// `plan_id` but no `plan` given is refused rather than guessed at. It is
/// the price of the plan billed next: the `scheduled_change`'s plan if any.
pub fn advance(
    sub: &SubscriptionRecord,
    open_invoice: Option<&OpenInvoice>,
    plan: Option<&PlanPrice>,
    policy: &BillingPolicy,
    now: OffsetDateTime,
) -> Result<Transition, BillingError> {
    let open = unpaid(open_invoice);
    let Some((at, event)) = earliest_event(sub, open, policy) else {
        return Ok(Transition::None);
    };
    if at > now {
        return Ok(Transition::None);
    }
    Ok(match event {
        Event::GraceOver => Transition::MarkPastDue {
            subscription: with_status(sub, SubscriptionStatus::PastDue, now),
        },
        Event::Lapse => Transition::Expire {
            subscription: with_status(sub, SubscriptionStatus::Expired, now),
        },
        Event::PeriodEnd => at_period_end(sub, open, plan, policy, now)?,
    })
}

/// Requests cancellation at the period end. Repeating it changes nothing
/// (the same record, same version, comes back); an ended subscription is
/// refused.
pub fn cancel(
    sub: &SubscriptionRecord,
    now: OffsetDateTime,
) -> Result<SubscriptionRecord, BillingError> {
    refuse_ended(sub)?;
    if sub.cancel_at_period_end {
        return Ok(sub.clone());
    }
    let mut next = bumped(sub, now);
    next.cancel_at_period_end = true;
    Ok(next)
}

/// Withdraws a cancellation before it takes effect. Refused once the
/// period has ended, even if the scheduler has not run yet: the outcome
/// must not depend on its lag. Without a pending cancellation the record
/// comes back unchanged.
pub fn reactivate(
    sub: &SubscriptionRecord,
    now: OffsetDateTime,
) -> Result<SubscriptionRecord, BillingError> {
    refuse_ended(sub)?;
    if !sub.cancel_at_period_end {
        return Ok(sub.clone());
    }
    let ended_at = period_end(sub);
    if now >= ended_at {
        return Err(BillingError::PeriodEnded { ended_at });
    }
    let mut next = bumped(sub, now);
    next.cancel_at_period_end = false;
    Ok(next)
}

/// `invoice` was paid (manually through the API or by a provider's webhook):
/// `trial` / `past_due` / `incomplete` → `active`. If the invoice covers a later period
/// than the current one (a trial paid early), the subscription moves onto
/// it so that period is not billed again. An `active` subscription comes
/// back unchanged. Refused for an invoice that cannot become paid and for
/// an ended subscription (a late payment is for a person to resolve).
pub fn on_invoice_paid(
    sub: &SubscriptionRecord,
    invoice: &OpenInvoice,
    now: OffsetDateTime,
) -> Result<SubscriptionRecord, BillingError> {
    invoice.status.transition(InvoiceStatus::Paid)?;
    refuse_ended(sub)?;
    let later_period = invoice.period_end > sub.current_period_end;
    if sub.status == SubscriptionStatus::Active && !later_period {
        return Ok(sub.clone());
    }
    let mut next = with_status(sub, SubscriptionStatus::Active, now);
    if later_period {
        next.current_period_start = invoice.period_start;
        next.current_period_end = invoice.period_end;
    }
    Ok(next)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// The open invoice's due date passed (active).
    GraceOver,
    /// Past due beyond the limit.
    Lapse,
    /// The trial or period ended.
    PeriodEnd,
}

/// The earliest pending event; on a tie the invoice's comes first.
fn earliest_event(
    sub: &SubscriptionRecord,
    open: Option<&OpenInvoice>,
    policy: &BillingPolicy,
) -> Option<(OffsetDateTime, Event)> {
    let end = Some((period_end(sub), Event::PeriodEnd));
    // A period end waits for the open invoice, unless it ends the subscription.
    let blocked_end = if open.is_some() && !sub.cancel_at_period_end && sub.plan_id.is_some() {
        None
    } else {
        end
    };
    let events = match sub.status {
        SubscriptionStatus::Cancelled | SubscriptionStatus::Expired => [None, None],
        SubscriptionStatus::Trial => [None, end],
        SubscriptionStatus::Active => [open.map(|i| (i.due_date, Event::GraceOver)), blocked_end],
        SubscriptionStatus::PastDue | SubscriptionStatus::Incomplete => [
            open.map(|i| (policy.expires_at(i.due_date), Event::Lapse)),
            blocked_end,
        ],
    };
    events.into_iter().flatten().min_by_key(|(at, _)| *at)
}

fn at_period_end(
    sub: &SubscriptionRecord,
    open: Option<&OpenInvoice>,
    plan: Option<&PlanPrice>,
    policy: &BillingPolicy,
    now: OffsetDateTime,
) -> Result<Transition, BillingError> {
    if sub.cancel_at_period_end {
        let mut subscription = with_status(sub, SubscriptionStatus::Cancelled, now);
        subscription.cancelled_at = Some(period_end(sub));
        return Ok(Transition::Cancel { subscription });
    }
    let Some(plan_id) = sub.plan_id else {
        return Ok(Transition::Expire {
            subscription: with_status(sub, SubscriptionStatus::Expired, now),
        });
    };
    if open.is_some() {
        // Only a trial gets here with an open invoice (see `earliest_event`).
        return Ok(Transition::MarkPastDue {
            subscription: with_status(sub, SubscriptionStatus::PastDue, now),
        });
    }
    // A scheduled change (downgrade, cycle change) starts with this period.
    let (plan_id, cycle) = match sub.scheduled_change {
        Some(change) => (change.plan_id, change.billing_cycle),
        None => (plan_id, sub.billing_cycle),
    };
    let plan = plan.ok_or(BillingError::MissingPlan { plan_id })?;
    let (period_start, period_end) = next_period(billing_anchor(sub), cycle, period_end(sub));
    // The first invoice after a trial must be paid before access continues.
    let status = match sub.status {
        SubscriptionStatus::Trial => SubscriptionStatus::PastDue,
        other => other,
    };
    let mut subscription = with_status(sub, status, now);
    subscription.plan_id = Some(plan_id);
    subscription.billing_cycle = cycle;
    subscription.scheduled_change = None;
    subscription.current_period_start = period_start;
    subscription.current_period_end = period_end;
    let invoice = InvoiceDraft {
        subscription_id: sub.id,
        tenant_id: sub.tenant_id,
        period_start,
        period_end,
        amount: plan.amount(cycle),
        currency: plan.currency.clone(),
        issued_at: now,
        due_date: policy.due_date(now),
        modules_until: policy.modules_until(policy.due_date(now)),
    };
    Ok(Transition::IssueInvoice {
        invoice,
        subscription,
    })
}

/// When the current period (or the trial) ends.
fn period_end(sub: &SubscriptionRecord) -> OffsetDateTime {
    match sub.status {
        SubscriptionStatus::Trial => sub.trial_ends_at.unwrap_or(sub.current_period_end),
        _ => sub.current_period_end,
    }
}

fn unpaid(invoice: Option<&OpenInvoice>) -> Option<&OpenInvoice> {
    invoice.filter(|i| i.status.is_open())
}

fn refuse_ended(sub: &SubscriptionRecord) -> Result<(), BillingError> {
    if sub.status.is_ended() {
        return Err(BillingError::SubscriptionEnded { status: sub.status });
    }
    Ok(())
}

pub(super) fn bumped(sub: &SubscriptionRecord, now: OffsetDateTime) -> SubscriptionRecord {
    SubscriptionRecord {
        version: sub.version + 1,
        updated_at: now,
        ..sub.clone()
    }
}

pub(super) fn with_status(
    sub: &SubscriptionRecord,
    status: SubscriptionStatus,
    now: OffsetDateTime,
) -> SubscriptionRecord {
    SubscriptionRecord {
        status,
        ..bumped(sub, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;
    use SubscriptionStatus::{Active, Cancelled, Expired, PastDue, Trial};

    const SUB: Uuid = Uuid::from_u128(1);
    const TENANT: Uuid = Uuid::from_u128(2);
    const PLAN: Uuid = Uuid::from_u128(3);
    const INVOICE: Uuid = Uuid::from_u128(4);

    fn policy() -> BillingPolicy {
        BillingPolicy::default()
    }

    fn plan() -> PlanPrice {
        PlanPrice {
            price_monthly: Decimal::new(2999, 2),
            price_yearly: Decimal::new(29990, 2),
            currency: "EUR".into(),
        }
    }

    /// A trial created Jan 17 that ends Jan 31 09:00 (a month-end anchor).
    fn trial() -> SubscriptionRecord {
        let created = datetime!(2026-01-17 09:00 UTC);
        let trial_end = datetime!(2026-01-31 09:00 UTC);
        SubscriptionRecord {
            id: SUB,
            tenant_id: TENANT,
            plan_id: Some(PLAN),
            status: Trial,
            billing_cycle: BillingCycle::Monthly,
            current_period_start: created,
            current_period_end: trial_end,
            trial_ends_at: Some(trial_end),
            cancel_at_period_end: false,
            cancelled_at: None,
            created_at: created,
            updated_at: created,
            version: 1,
            open_invoice: None,
            next_action_at: None,
            scheduled_change: None,
        }
    }

    /// Active in the paid period Jan 31 → Feb 28, anchored at the trial end.
    fn active() -> SubscriptionRecord {
        SubscriptionRecord {
            status: Active,
            current_period_start: datetime!(2026-01-31 09:00 UTC),
            current_period_end: datetime!(2026-02-28 09:00 UTC),
            version: 3,
            ..trial()
        }
    }

    fn invoice(due: OffsetDateTime, status: InvoiceStatus) -> OpenInvoice {
        OpenInvoice {
            id: INVOICE,
            period_start: datetime!(2026-01-31 09:00 UTC),
            period_end: datetime!(2026-02-28 09:00 UTC),
            due_date: due,
            status,
            modules_until: Some(policy().modules_until(due)),
        }
    }

    fn step(
        sub: &SubscriptionRecord,
        open: Option<&OpenInvoice>,
        now: OffsetDateTime,
    ) -> Transition {
        advance(sub, open, Some(&plan()), &policy(), now).unwrap()
    }

    /// The open invoice after applying `t`: the issued one, or the old one.
    fn open_after(t: &Transition, before: Option<OpenInvoice>) -> Option<OpenInvoice> {
        t.invoice().map(|draft| draft.open(INVOICE)).or(before)
    }

    /// The bookkeeping every change must do.
    fn assert_bumped(before: &SubscriptionRecord, after: &SubscriptionRecord, now: OffsetDateTime) {
        assert_eq!(after.version, before.version + 1);
        assert_eq!(after.updated_at, now);
        assert_eq!(
            (after.id, after.tenant_id, after.created_at),
            (before.id, before.tenant_id, before.created_at)
        );
    }

    #[test]
    fn the_fixed_clock_says_what_it_is_told() {
        let mut clock = FixedClock(datetime!(2026-01-31 09:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-01-31 09:00 UTC));
        clock.advance(Duration::days(1));
        assert_eq!(clock.now(), datetime!(2026-02-01 09:00 UTC));
        clock.set(datetime!(2027-01-01 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2027-01-01 00:00 UTC));
        let before = OffsetDateTime::now_utc();
        let now = SystemClock.now();
        assert!(now >= before && now - before < Duration::minutes(1));
    }

    #[test]
    fn default_policy_is_seven_days_grace_and_fourteen_to_expire() {
        let p = BillingPolicy::default();
        assert_eq!((p.grace_days, p.expire_after_days), (7, 14));
        let issued = datetime!(2026-01-31 09:00 UTC);
        assert_eq!(p.due_date(issued), datetime!(2026-02-07 09:00 UTC));
        assert_eq!(
            p.expires_at(p.due_date(issued)),
            datetime!(2026-02-21 09:00 UTC)
        );
    }

    #[test]
    fn a_running_trial_waits_for_its_end() {
        let sub = trial();
        assert_eq!(
            next_action(&sub, None, &policy()),
            Some(datetime!(2026-01-31 09:00 UTC))
        );
        assert_eq!(
            step(&sub, None, datetime!(2026-01-31 08:59:59.999 UTC)),
            Transition::None
        );
    }

    #[test]
    fn trial_end_issues_the_first_invoice_and_goes_past_due() {
        let sub = trial();
        let clock = FixedClock(datetime!(2026-01-31 09:00 UTC));
        let t = step(&sub, None, clock.now());
        let Transition::IssueInvoice {
            invoice,
            subscription,
        } = &t
        else {
            panic!("{t:?}")
        };
        assert_eq!(invoice.period_start, datetime!(2026-01-31 09:00 UTC));
        assert_eq!(invoice.period_end, datetime!(2026-02-28 09:00 UTC));
        assert_eq!(invoice.amount, Decimal::new(2999, 2));
        assert_eq!(invoice.currency, "EUR");
        assert_eq!(invoice.issued_at, clock.now());
        assert_eq!(invoice.due_date, datetime!(2026-02-07 09:00 UTC));
        assert_eq!((invoice.subscription_id, invoice.tenant_id), (SUB, TENANT));
        assert_eq!(subscription.status, PastDue);
        assert_eq!(subscription.current_period_start, invoice.period_start);
        assert_eq!(subscription.current_period_end, invoice.period_end);
        assert_eq!(subscription.trial_ends_at, sub.trial_ends_at);
        assert_bumped(&sub, subscription, clock.now());
        // Past due from issue: the next look is the expiry, due + 14 days.
        let open = invoice.open(INVOICE);
        assert_eq!(
            next_action(subscription, Some(&open), &policy()),
            Some(datetime!(2026-02-21 09:00 UTC))
        );
    }

    #[test]
    fn payment_makes_a_past_due_subscription_active() {
        let now = datetime!(2026-01-31 09:00 UTC);
        let t = step(&trial(), None, now);
        let (Some(sub), Some(draft)) = (t.subscription(), t.invoice()) else {
            panic!("{t:?}")
        };
        let paid_at = datetime!(2026-02-03 12:00 UTC);
        let active = on_invoice_paid(sub, &draft.open(INVOICE), paid_at).unwrap();
        assert_eq!(active.status, Active);
        assert_eq!(
            (active.current_period_start, active.current_period_end),
            (draft.period_start, draft.period_end)
        );
        assert_bumped(sub, &active, paid_at);
        // Nothing open any more: the next look is the period end.
        assert_eq!(
            next_action(&active, None, &policy()),
            Some(datetime!(2026-02-28 09:00 UTC))
        );
        assert_eq!(step(&active, None, paid_at), Transition::None);
    }

    #[test]
    fn a_failed_invoice_can_still_be_paid() {
        let sub = SubscriptionRecord {
            status: PastDue,
            ..active()
        };
        let failed = invoice(datetime!(2026-02-07 09:00 UTC), InvoiceStatus::Failed);
        let now = datetime!(2026-02-10 09:00 UTC);
        assert_eq!(on_invoice_paid(&sub, &failed, now).unwrap().status, Active);
    }

    #[test]
    fn payment_is_refused_for_final_invoices_and_ended_subscriptions() {
        let now = datetime!(2026-02-10 09:00 UTC);
        let sub = SubscriptionRecord {
            status: PastDue,
            ..active()
        };
        for status in [InvoiceStatus::Paid, InvoiceStatus::Void] {
            let inv = invoice(now, status);
            assert_eq!(
                on_invoice_paid(&sub, &inv, now),
                Err(BillingError::InvoiceTransition {
                    from: status,
                    to: InvoiceStatus::Paid
                })
            );
        }
        let pending = invoice(now, InvoiceStatus::Pending);
        for status in [Cancelled, Expired] {
            let ended = SubscriptionRecord { status, ..active() };
            assert_eq!(
                on_invoice_paid(&ended, &pending, now),
                Err(BillingError::SubscriptionEnded { status })
            );
        }
    }

    #[test]
    fn payment_of_an_active_subscriptions_invoice_changes_nothing() {
        let sub = active();
        let inv = invoice(datetime!(2026-02-07 09:00 UTC), InvoiceStatus::Pending);
        assert_eq!(
            on_invoice_paid(&sub, &inv, datetime!(2026-02-02 09:00 UTC)),
            Ok(sub)
        );
    }

    #[test]
    fn a_trial_paid_early_is_not_billed_again_at_trial_end() {
        let sub = trial();
        // An upgrade invoice for the first paid period, paid during the trial.
        let upgrade = invoice(datetime!(2026-01-27 09:00 UTC), InvoiceStatus::Pending);
        let now = datetime!(2026-01-20 09:00 UTC);
        let active = on_invoice_paid(&sub, &upgrade, now).unwrap();
        assert_eq!(active.status, Active);
        assert_eq!(
            (active.current_period_start, active.current_period_end),
            (upgrade.period_start, upgrade.period_end)
        );
        assert_eq!(
            step(&active, None, datetime!(2026-01-31 09:00 UTC)),
            Transition::None
        );
        assert_eq!(
            next_action(&active, None, &policy()),
            Some(datetime!(2026-02-28 09:00 UTC))
        );
    }

    #[test]
    fn a_trial_ending_with_an_unpaid_upgrade_goes_past_due_on_it() {
        let sub = trial();
        let upgrade = invoice(datetime!(2026-02-05 09:00 UTC), InvoiceStatus::Pending);
        let now = datetime!(2026-01-31 09:00 UTC);
        let t = step(&sub, Some(&upgrade), now);
        let Transition::MarkPastDue { subscription } = &t else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.status, PastDue);
        assert_eq!(step(subscription, Some(&upgrade), now), Transition::None);
        assert_eq!(
            next_action(subscription, Some(&upgrade), &policy()),
            Some(datetime!(2026-02-19 09:00 UTC))
        );
    }

    #[test]
    fn active_period_end_starts_the_next_period_and_issues_its_invoice() {
        let sub = active();
        let now = datetime!(2026-02-28 09:00:30 UTC);
        assert_eq!(
            next_action(&sub, None, &policy()),
            Some(datetime!(2026-02-28 09:00 UTC))
        );
        let t = step(&sub, None, now);
        let Transition::IssueInvoice {
            invoice,
            subscription,
        } = &t
        else {
            panic!("{t:?}")
        };
        // Anchored at Jan 31: Feb 28 → Mar 31, not Mar 28.
        assert_eq!(
            (invoice.period_start, invoice.period_end),
            (
                datetime!(2026-02-28 09:00 UTC),
                datetime!(2026-03-31 09:00 UTC)
            )
        );
        assert_eq!(invoice.amount, Decimal::new(2999, 2));
        // Due date: issue time + grace.
        assert_eq!(invoice.due_date, now + Duration::days(7));
        assert_eq!(subscription.status, Active);
        assert_eq!(
            (
                subscription.current_period_start,
                subscription.current_period_end
            ),
            (invoice.period_start, invoice.period_end)
        );
        assert_bumped(&sub, subscription, now);
        let open = invoice.open(INVOICE);
        assert_eq!(
            next_action(subscription, Some(&open), &policy()),
            Some(invoice.due_date)
        );
    }

    #[test]
    fn yearly_subscriptions_are_charged_the_yearly_price_exactly() {
        let anchor = datetime!(2028-02-29 00:00 UTC);
        let sub = SubscriptionRecord {
            billing_cycle: BillingCycle::Yearly,
            trial_ends_at: None,
            created_at: anchor,
            current_period_start: datetime!(2029-02-28 00:00 UTC),
            current_period_end: datetime!(2030-02-28 00:00 UTC),
            ..active()
        };
        let t = step(&sub, None, datetime!(2030-02-28 00:00 UTC));
        let Some(invoice) = t.invoice() else {
            panic!("{t:?}")
        };
        assert_eq!(invoice.amount, Decimal::new(29990, 2));
        assert_eq!(invoice.amount.to_string(), "299.90");
        assert_eq!(invoice.period_end, datetime!(2031-02-28 00:00 UTC));
        let later = SubscriptionRecord {
            current_period_end: datetime!(2031-02-28 00:00 UTC),
            ..sub
        };
        let t = step(&later, None, datetime!(2031-02-28 00:00 UTC));
        assert_eq!(
            t.invoice().map(|i| i.period_end),
            Some(datetime!(2032-02-29 00:00 UTC))
        );
    }

    #[test]
    fn unpaid_past_grace_goes_past_due() {
        let sub = SubscriptionRecord {
            current_period_start: datetime!(2026-02-28 09:00 UTC),
            current_period_end: datetime!(2026-03-31 09:00 UTC),
            ..active()
        };
        let due = datetime!(2026-03-07 09:00 UTC);
        let open = invoice(due, InvoiceStatus::Pending);
        assert_eq!(next_action(&sub, Some(&open), &policy()), Some(due));
        assert_eq!(
            step(&sub, Some(&open), due - Duration::nanoseconds(1)),
            Transition::None
        );
        let t = step(&sub, Some(&open), due);
        let Transition::MarkPastDue { subscription } = &t else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.status, PastDue);
        assert_eq!(subscription.current_period_end, sub.current_period_end);
        assert_bumped(&sub, subscription, due);
        // A failed charge is still unpaid.
        let failed = OpenInvoice {
            status: InvoiceStatus::Failed,
            ..open
        };
        assert!(matches!(
            step(&sub, Some(&failed), due),
            Transition::MarkPastDue { .. }
        ));
    }

    #[test]
    fn past_due_beyond_the_limit_expires() {
        let due = datetime!(2026-02-07 09:00 UTC);
        let sub = SubscriptionRecord {
            status: PastDue,
            ..active()
        };
        let open = invoice(due, InvoiceStatus::Pending);
        let limit = datetime!(2026-02-21 09:00 UTC);
        assert_eq!(next_action(&sub, Some(&open), &policy()), Some(limit));
        assert_eq!(
            step(&sub, Some(&open), limit - Duration::nanoseconds(1)),
            Transition::None
        );
        let t = step(&sub, Some(&open), limit);
        let Transition::Expire { subscription } = &t else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.status, Expired);
        assert!(!subscription.grants_modules_at(limit));
        assert_bumped(&sub, subscription, limit);
        assert_eq!(next_action(subscription, Some(&open), &policy()), None);
    }

    #[test]
    fn cancel_at_period_end_cancels_without_an_invoice() {
        let sub = SubscriptionRecord {
            cancel_at_period_end: true,
            ..active()
        };
        let end = datetime!(2026-02-28 09:00 UTC);
        let now = end + Duration::hours(3);
        let t = step(&sub, None, now);
        let Transition::Cancel { subscription } = &t else {
            panic!("{t:?}")
        };
        assert_eq!(t.invoice(), None);
        assert_eq!(subscription.status, Cancelled);
        assert_eq!(subscription.cancelled_at, Some(end));
        assert_eq!(subscription.current_period_end, end);
        assert!(!subscription.grants_modules_at(now));
        assert_bumped(&sub, subscription, now);
        assert_eq!(next_action(subscription, None, &policy()), None);
    }

    #[test]
    fn a_trial_cancelled_before_its_end_ends_without_an_invoice() {
        let now = datetime!(2026-01-20 09:00 UTC);
        let sub = cancel(&trial(), now).unwrap();
        let t = step(&sub, None, datetime!(2026-01-31 09:00 UTC));
        let Transition::Cancel { subscription } = &t else {
            panic!("{t:?}")
        };
        assert_eq!(
            subscription.cancelled_at,
            Some(datetime!(2026-01-31 09:00 UTC))
        );
    }

    #[test]
    fn cancellation_at_period_end_does_not_wait_for_an_open_invoice() {
        let sub = SubscriptionRecord {
            cancel_at_period_end: true,
            ..active()
        };
        // Grace longer than what is left of the period.
        let open = invoice(datetime!(2026-03-10 09:00 UTC), InvoiceStatus::Pending);
        assert_eq!(
            next_action(&sub, Some(&open), &policy()),
            Some(datetime!(2026-02-28 09:00 UTC))
        );
        assert!(matches!(
            step(&sub, Some(&open), datetime!(2026-02-28 09:00 UTC)),
            Transition::Cancel { .. }
        ));
    }

    #[test]
    fn cancel_sets_the_flag_once_and_refuses_ended_subscriptions() {
        let now = datetime!(2026-02-10 09:00 UTC);
        let sub = active();
        let flagged = cancel(&sub, now).unwrap();
        assert!(flagged.cancel_at_period_end);
        assert_eq!(
            flagged.status, Active,
            "access continues until the period end"
        );
        assert_eq!(flagged.cancelled_at, None);
        assert_bumped(&sub, &flagged, now);
        assert_eq!(
            cancel(&flagged, now + Duration::hours(1)),
            Ok(flagged.clone()),
            "repeating changes nothing"
        );
        for status in [Cancelled, Expired] {
            let ended = SubscriptionRecord { status, ..active() };
            assert_eq!(
                cancel(&ended, now),
                Err(BillingError::SubscriptionEnded { status })
            );
        }
    }

    #[test]
    fn reactivate_before_the_end_clears_the_flag() {
        let sub = cancel(&active(), datetime!(2026-02-10 09:00 UTC)).unwrap();
        let now = datetime!(2026-02-28 08:59 UTC);
        let back = reactivate(&sub, now).unwrap();
        assert!(!back.cancel_at_period_end);
        assert_bumped(&sub, &back, now);
        // The period end now renews instead of cancelling.
        assert!(matches!(
            step(&back, None, datetime!(2026-02-28 09:00 UTC)),
            Transition::IssueInvoice { .. }
        ));
        // Nothing to withdraw: unchanged.
        assert_eq!(reactivate(&back, now), Ok(back.clone()));
    }

    #[test]
    fn reactivate_after_the_end_is_refused() {
        let sub = cancel(&active(), datetime!(2026-02-10 09:00 UTC)).unwrap();
        let end = datetime!(2026-02-28 09:00 UTC);
        // Ended but not yet processed by the scheduler.
        assert_eq!(
            reactivate(&sub, end),
            Err(BillingError::PeriodEnded { ended_at: end })
        );
        // Processed.
        let Transition::Cancel { subscription } = step(&sub, None, end) else {
            panic!()
        };
        assert_eq!(
            reactivate(&subscription, end),
            Err(BillingError::SubscriptionEnded { status: Cancelled })
        );
        let expired = SubscriptionRecord {
            status: Expired,
            ..active()
        };
        assert_eq!(
            reactivate(&expired, end),
            Err(BillingError::SubscriptionEnded { status: Expired })
        );
    }

    #[test]
    fn a_trial_without_a_plan_expires_at_its_end() {
        let sub = SubscriptionRecord {
            plan_id: None,
            ..trial()
        };
        let end = datetime!(2026-01-31 09:00 UTC);
        let t = advance(&sub, None, None, &policy(), end).unwrap();
        let Transition::Expire { subscription } = &t else {
            panic!("{t:?}")
        };
        assert_eq!(subscription.status, Expired);
    }

    #[test]
    fn a_missing_plan_is_refused_not_guessed() {
        let end = datetime!(2026-02-28 09:00 UTC);
        assert_eq!(
            advance(&active(), None, None, &policy(), end),
            Err(BillingError::MissingPlan { plan_id: PLAN })
        );
        // Not needed when nothing is billed.
        assert_eq!(
            advance(&active(), None, None, &policy(), end - Duration::days(1)),
            Ok(Transition::None)
        );
    }

    #[test]
    fn ended_subscriptions_are_never_due() {
        let open = invoice(datetime!(2026-02-07 09:00 UTC), InvoiceStatus::Pending);
        let far = datetime!(2030-01-01 00:00 UTC);
        for status in [Cancelled, Expired] {
            let sub = SubscriptionRecord { status, ..active() };
            assert_eq!(next_action(&sub, Some(&open), &policy()), None);
            assert_eq!(step(&sub, Some(&open), far), Transition::None);
        }
    }

    #[test]
    fn settled_invoices_count_as_none() {
        let sub = active();
        for status in [InvoiceStatus::Paid, InvoiceStatus::Void] {
            let settled = invoice(datetime!(2026-02-07 09:00 UTC), status);
            assert_eq!(
                next_action(&sub, Some(&settled), &policy()),
                next_action(&sub, None, &policy())
            );
            assert_eq!(
                step(&sub, Some(&settled), datetime!(2026-02-10 09:00 UTC)),
                Transition::None
            );
        }
    }

    #[test]
    fn a_period_end_waits_for_the_open_invoice() {
        // Grace longer than a month: the previous invoice is still open at the period end.
        let long = BillingPolicy {
            grace_days: 40,
            expire_after_days: 14,
        };
        let sub = active();
        let open = invoice(datetime!(2026-03-12 09:00 UTC), InvoiceStatus::Pending);
        let end = datetime!(2026-02-28 09:00 UTC);
        assert_eq!(next_action(&sub, Some(&open), &long), Some(open.due_date));
        assert_eq!(
            advance(&sub, Some(&open), Some(&plan()), &long, end),
            Ok(Transition::None)
        );
        // Once paid, the missed rollover happens.
        let paid = on_invoice_paid(&sub, &open, datetime!(2026-03-02 09:00 UTC)).unwrap();
        assert_eq!(next_action(&paid, None, &long), Some(end));
    }

    /// The scheduler's property: re-running on what it just wrote, at the
    /// same instant, never repeats a step; and `next_action` is exactly the
    /// instant `advance` starts doing something.
    #[test]
    fn every_transition_is_idempotent_and_matches_next_action() {
        let past_due = SubscriptionRecord {
            status: PastDue,
            ..active()
        };
        let cases: Vec<(&str, SubscriptionRecord, Option<OpenInvoice>)> = vec![
            ("trial end", trial(), None),
            (
                "trial end, unpaid upgrade",
                trial(),
                Some(invoice(
                    datetime!(2026-02-05 09:00 UTC),
                    InvoiceStatus::Pending,
                )),
            ),
            (
                "built-in trial end",
                SubscriptionRecord {
                    plan_id: None,
                    ..trial()
                },
                None,
            ),
            ("rollover", active(), None),
            (
                "grace over",
                active(),
                Some(invoice(
                    datetime!(2026-02-07 09:00 UTC),
                    InvoiceStatus::Pending,
                )),
            ),
            (
                "lapse",
                past_due.clone(),
                Some(invoice(
                    datetime!(2026-02-07 09:00 UTC),
                    InvoiceStatus::Failed,
                )),
            ),
            ("past due, invoice voided", past_due, None),
            (
                "cancel",
                SubscriptionRecord {
                    cancel_at_period_end: true,
                    ..active()
                },
                None,
            ),
        ];
        for (name, sub, open) in cases {
            let Some(at) = next_action(&sub, open.as_ref(), &policy()) else {
                panic!("{name}: never due")
            };
            assert_eq!(
                step(&sub, open.as_ref(), at - Duration::nanoseconds(1)),
                Transition::None,
                "{name}"
            );
            let t = step(&sub, open.as_ref(), at);
            let Some(written) = t.subscription() else {
                panic!("{name}: nothing at {at}")
            };
            assert_bumped(&sub, written, at);
            let open_now = open_after(&t, open);
            assert_eq!(
                step(written, open_now.as_ref(), at),
                Transition::None,
                "{name}: second run"
            );
            if let Some(next) = next_action(written, open_now.as_ref(), &policy()) {
                assert!(next > at, "{name}: next look {next} not after {at}");
            }
        }
    }

    #[test]
    fn a_rerun_that_misses_the_new_invoice_still_does_nothing() {
        let now = datetime!(2026-02-28 09:00 UTC);
        let t = step(&active(), None, now);
        let Some(written) = t.subscription() else {
            panic!("{t:?}")
        };
        assert_eq!(step(written, None, now), Transition::None);
    }

    /// Runs the scheduler's loop: advance and apply until nothing is due.
    fn run(
        sub: &mut SubscriptionRecord,
        open: &mut Option<OpenInvoice>,
        now: OffsetDateTime,
    ) -> Vec<Transition> {
        let mut steps = Vec::new();
        for _ in 0..MAX_STEPS_PER_RUN {
            let t = step(sub, open.as_ref(), now);
            let Some(written) = t.subscription() else {
                return steps;
            };
            *sub = written.clone();
            *open = open_after(&t, *open);
            steps.push(t);
        }
        panic!("no fixed point within {MAX_STEPS_PER_RUN} steps: {steps:?}");
    }

    #[test]
    fn a_long_outage_with_an_unpaid_invoice_goes_past_due_then_expires_in_one_run() {
        let mut sub = active();
        let mut open = Some(invoice(
            datetime!(2026-02-07 09:00 UTC),
            InvoiceStatus::Pending,
        ));
        let steps = run(&mut sub, &mut open, datetime!(2026-06-15 00:00 UTC));
        assert!(
            matches!(
                steps.as_slice(),
                [Transition::MarkPastDue { .. }, Transition::Expire { .. }]
            ),
            "{steps:?}"
        );
        assert_eq!(sub.status, Expired);
        assert_eq!(sub.version, active().version + 2);
        assert_eq!(
            sub.current_period_end,
            active().current_period_end,
            "no period billed while unpaid"
        );
    }

    #[test]
    fn a_long_outage_bills_each_missed_period_in_order_once_paid() {
        let mut sub = active();
        let mut open = None;
        let now = datetime!(2026-06-15 00:00 UTC);
        let mut periods = Vec::new();
        for _ in 0..10 {
            let steps = run(&mut sub, &mut open, now);
            let Some(inv) = open.take() else { break };
            // One invoice per run: the next waits for this one to be paid.
            assert_eq!(steps.len(), 1, "{steps:?}");
            assert_eq!(
                inv.due_date,
                now + Duration::days(7),
                "grace counts from the actual issue"
            );
            periods.push((inv.period_start, inv.period_end));
            sub = on_invoice_paid(&sub, &inv, now).unwrap();
        }
        assert_eq!(
            periods,
            [
                (
                    datetime!(2026-02-28 09:00 UTC),
                    datetime!(2026-03-31 09:00 UTC)
                ),
                (
                    datetime!(2026-03-31 09:00 UTC),
                    datetime!(2026-04-30 09:00 UTC)
                ),
                (
                    datetime!(2026-04-30 09:00 UTC),
                    datetime!(2026-05-31 09:00 UTC)
                ),
                (
                    datetime!(2026-05-31 09:00 UTC),
                    datetime!(2026-06-30 09:00 UTC)
                ),
            ]
        );
        assert_eq!(sub.status, Active);
        assert_eq!(
            next_action(&sub, None, &policy()),
            Some(datetime!(2026-06-30 09:00 UTC))
        );
    }

    #[test]
    fn a_period_moved_off_the_grid_is_re_anchored() {
        // The API moved the period to the 15th: renewals follow the 15th.
        let sub = SubscriptionRecord {
            current_period_start: datetime!(2026-02-15 09:00 UTC),
            current_period_end: datetime!(2026-03-15 09:00 UTC),
            ..active()
        };
        let t = step(&sub, None, datetime!(2026-03-15 09:00 UTC));
        assert_eq!(
            t.invoice().map(|i| i.period_end),
            Some(datetime!(2026-04-15 09:00 UTC))
        );
    }
}
