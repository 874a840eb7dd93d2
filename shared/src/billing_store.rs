//! Billing against the store: applying lifecycle transitions, issuing
//! invoices with gap-free numbers and settling them. The rules themselves
//! are pure and live in [`crate::billing`]; this module reads the records,
//! asks the rules, and writes the answer in one transaction conditioned on
//! the subscription's `version`, so repeated or concurrent runs change
//! nothing twice.

use crate::audit;
use crate::billing::{
    self, BillingError, BillingPolicy, InvoiceDraft, InvoiceStatus, PlanPrice, Transition,
};
use crate::keys::{self, SortKey};
use crate::records::{
    InvoiceRecord, InvoiceRefRecord, PlanRecord, SequenceRecord, SubscriptionRecord,
    SubscriptionStatus, TenantRecord,
};
use crate::store::{retry, Backoff, Condition, Label, Store, StoreError, TenantScope, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who the audit log names for the scheduler's changes.
pub const SCHEDULER: &str = "billing-scheduler";

/// Attempts at taking the next invoice number before giving up; each lost
/// race means another invoice was numbered, so this bounds the wait under
/// a burst of that many concurrent issuances. Pauses are short (2 to 37
/// ms): the counter frees up as soon as the winner's write lands.
const SEQUENCE_BACKOFF: Backoff = Backoff {
    attempts: 300,
    base_ms: 1,
    step_ms: 1,
    max_steps: 21,
    jitter_ms: 16,
};

#[derive(Debug, thiserror::Error)]
pub enum InvoicingError {
    #[error(transparent)]
    Rule(#[from] BillingError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not found")]
    NotFound,
    /// The subscription or invoice changed meanwhile; re-read and retry.
    #[error("changed by another request")]
    Conflict,
    #[error("the invoice counter stayed contended")]
    Busy,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Nothing was due.
    Idle,
    /// A transition was written (`subscription.past_due`, ...), with the
    /// invoice it issued, if any.
    Applied {
        action: &'static str,
        invoice: Option<Box<InvoiceRecord>>,
    },
}

/// Who made a change, for the audit log.
pub use crate::audit::By;

/// The plan the tenant's subscription is on, if any (its limits: `max_users`,
/// `max_leads`): two reads, the subscription and then its plan.
pub async fn current_plan(
    store: &Store,
    scope: &TenantScope,
) -> Result<Option<PlanRecord>, StoreError> {
    let subscription: Option<SubscriptionRecord> =
        store.tenant(scope).get(&keys::subscription()).await?;
    match subscription.and_then(|s| s.plan_id) {
        Some(plan_id) => store.platform().get(&keys::plan(plan_id)).await,
        None => Ok(None),
    }
}

/// The plan's prices, if the subscription has a plan.
pub async fn plan_price(
    store: &Store,
    sub: &SubscriptionRecord,
) -> Result<Option<PlanPrice>, StoreError> {
    let Some(plan_id) = sub.plan_id else {
        return Ok(None);
    };
    let plan: Option<PlanRecord> = store.platform().get(&keys::plan(plan_id)).await?;
    Ok(plan.as_ref().map(PlanPrice::from))
}

/// Reads the tenant's subscription and applies the one transition due at
/// `now`, if any.
pub async fn advance_once(
    store: &Store,
    scope: &TenantScope,
    policy: &BillingPolicy,
    now: OffsetDateTime,
) -> Result<Step, InvoicingError> {
    let before: SubscriptionRecord = store
        .tenant(scope)
        .get(&keys::subscription())
        .await?
        .ok_or(InvoicingError::NotFound)?;
    // The plan billed next: a scheduled change's, else the current one.
    let billed = before
        .scheduled_change
        .map(|c| c.plan_id)
        .or(before.plan_id);
    let plan: Option<PlanRecord> = match billed {
        Some(id) => store.platform().get(&keys::plan(id)).await?,
        None => None,
    };
    // Still on a trial plan when the trial ends: nothing was bought, so the
    // lifecycle sees a plan-less trial (it expires; no 0.00 invoice).
    let on_trial_plan =
        plan.as_ref().is_some_and(|p| p.is_trial) && before.status == SubscriptionStatus::Trial;
    let seen = if on_trial_plan {
        SubscriptionRecord {
            plan_id: None,
            ..before.clone()
        }
    } else {
        before.clone()
    };
    let price = plan
        .as_ref()
        .filter(|_| !on_trial_plan)
        .map(PlanPrice::from);
    let transition = billing::advance(
        &seen,
        seen.open_invoice.as_ref(),
        price.as_ref(),
        policy,
        now,
    )?;
    let transition = if on_trial_plan {
        restore_plan(transition, before.plan_id)
    } else {
        transition
    };
    if let (
        Transition::IssueInvoice {
            invoice,
            subscription,
        },
        Some(plan),
    ) = (&transition, &plan)
    {
        if subscription.plan_id != before.plan_id {
            return renew_on_scheduled_plan(
                store,
                scope,
                &before,
                subscription,
                invoice,
                plan,
                policy,
                now,
            )
            .await;
        }
    }
    apply(
        store,
        scope,
        &before,
        transition,
        policy,
        By::System(scope, SCHEDULER),
    )
    .await
}

/// A renewal that applies a scheduled plan change: modules the new plan
/// lacks leave the tenant's `enabled_modules` in the same transaction, as
/// they do when a plan changes through the API.
#[allow(clippy::too_many_arguments)]
async fn renew_on_scheduled_plan(
    store: &Store,
    scope: &TenantScope,
    before: &SubscriptionRecord,
    next: &SubscriptionRecord,
    draft: &InvoiceDraft,
    plan: &PlanRecord,
    policy: &BillingPolicy,
    now: OffsetDateTime,
) -> Result<Step, InvoicingError> {
    let tenant: Option<TenantRecord> = store.tenant(scope).get(&keys::tenant_profile()).await?;
    let profile = tenant.and_then(|t| {
        let kept: Vec<_> = t
            .enabled_modules
            .iter()
            .copied()
            .filter(|m| plan.included_modules.contains(m))
            .collect();
        (kept != t.enabled_modules).then(|| {
            let after = TenantRecord {
                enabled_modules: kept,
                version: t.version + 1,
                updated_at: now,
                ..t.clone()
            };
            (t, after)
        })
    });
    let issued = issue(
        store,
        scope,
        before,
        next.clone(),
        draft,
        policy,
        By::System(scope, SCHEDULER),
        |tx| {
            if let Some((old, new)) = &profile {
                tx.tenant(scope).put(
                    &keys::tenant_profile(),
                    new,
                    Condition::VersionIs(old.version),
                    Label::Tenant,
                );
                audit::record(
                    tx,
                    By::System(scope, SCHEDULER),
                    "tenant.modules",
                    "tenant",
                    new.id,
                    serde_json::json!({"enabled_modules": {
                        "before": old.enabled_modules,
                        "after": new.enabled_modules,
                    }}),
                );
            }
        },
    )
    .await?;
    Ok(Step::Applied {
        action: "subscription.invoice",
        invoice: Some(Box::new(issued)),
    })
}

/// Puts the real plan back on a transition computed for a plan-less view.
fn restore_plan(transition: Transition, plan_id: Option<Uuid>) -> Transition {
    let fix = |mut s: SubscriptionRecord| {
        s.plan_id = plan_id;
        s
    };
    match transition {
        Transition::None => Transition::None,
        Transition::IssueInvoice {
            invoice,
            subscription,
        } => Transition::IssueInvoice {
            invoice,
            subscription: fix(subscription),
        },
        Transition::MarkPastDue { subscription } => Transition::MarkPastDue {
            subscription: fix(subscription),
        },
        Transition::Expire { subscription } => Transition::Expire {
            subscription: fix(subscription),
        },
        Transition::Cancel { subscription } => Transition::Cancel {
            subscription: fix(subscription),
        },
    }
}

/// Writes `transition` over `before` (conditioned on its version).
pub async fn apply(
    store: &Store,
    scope: &TenantScope,
    before: &SubscriptionRecord,
    transition: Transition,
    policy: &BillingPolicy,
    by: By<'_>,
) -> Result<Step, InvoicingError> {
    let (action, after) = match transition {
        Transition::None => return Ok(Step::Idle),
        Transition::IssueInvoice {
            invoice,
            subscription,
        } => {
            let issued = issue(
                store,
                scope,
                before,
                subscription,
                &invoice,
                policy,
                by,
                |_| {},
            )
            .await?;
            return Ok(Step::Applied {
                action: "subscription.invoice",
                invoice: Some(Box::new(issued)),
            });
        }
        Transition::MarkPastDue { subscription } => ("subscription.past_due", subscription),
        Transition::Expire { subscription } => ("subscription.expire", subscription),
        Transition::Cancel { subscription } => ("subscription.cancelled", subscription),
    };
    let after = after.schedule(policy);
    let mut tx = store.transaction();
    tx.tenant(scope).put(
        &keys::subscription(),
        &after,
        Condition::VersionIs(before.version),
        Label::Subscription,
    );
    audit::record(
        &mut tx,
        by,
        action,
        "subscription",
        after.id,
        changes(before, &after),
    );
    tx.execute().await.map_err(conflict)?;
    Ok(Step::Applied {
        action,
        invoice: None,
    })
}

/// Issues `draft` as a numbered pending invoice and writes `next` (the
/// subscription moved onto the invoice's period) in one transaction with
/// the year's invoice counter: the number is spent only if everything is
/// written, so numbers are unique and gap-free. `extra` adds further writes
/// to every attempt (a plan change's tenant update, for instance).
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    store: &Store,
    scope: &TenantScope,
    before: &SubscriptionRecord,
    next: SubscriptionRecord,
    draft: &InvoiceDraft,
    policy: &BillingPolicy,
    by: By<'_>,
    extra: impl Fn(&mut Transaction<'_>),
) -> Result<InvoiceRecord, InvoicingError> {
    let year = draft.issued_at.year();
    let counter = keys::invoice_sequence(year);
    let id = Uuid::now_v7();
    let mut after = next;
    after.open_invoice = Some(draft.open(id));
    let after = after.schedule(policy);
    let after = &after;
    // Someone else taking the number meanwhile is retried (re-read the
    // counter); the subscription changing is not.
    let lost_race = |e: &StoreError| {
        (e.failed(Label::Sequence) && !e.failed(Label::Subscription))
            || matches!(e, StoreError::TransactionConflict)
    };
    let attempt = || async {
        let current = store
            .platform()
            .get::<SequenceRecord>(&counter)
            .await?
            .map_or(0, |s| s.last);
        let invoice = InvoiceRecord {
            id,
            tenant_id: draft.tenant_id,
            subscription_id: draft.subscription_id,
            invoice_number: billing::invoice_number(year, current + 1),
            amount: draft.amount,
            currency: draft.currency.clone(),
            status: InvoiceStatus::Pending,
            period_start: draft.period_start,
            period_end: draft.period_end,
            due_date: draft.due_date,
            paid_at: None,
            payment_provider: None,
            payment_reference: None,
            created_at: draft.issued_at,
            updated_at: draft.issued_at,
            version: 1,
        };
        let mut tx = store.transaction();
        tx.next_in_sequence(&counter, "last", current, Label::Sequence)
            .put_platform(
                &keys::invoice_ref(id),
                &InvoiceRefRecord {
                    tenant_id: draft.tenant_id,
                },
                Condition::NotExists,
                Label::InvoiceRef,
            )
            .tenant(scope)
            .put(
                &keys::invoice(id),
                &invoice,
                Condition::NotExists,
                Label::Invoice,
            )
            .put(
                &keys::subscription(),
                after,
                Condition::VersionIs(before.version),
                Label::Subscription,
            );
        extra(&mut tx);
        audit::record(
            &mut tx,
            by,
            "invoice.issue",
            "invoice",
            id,
            audit::changes(None, Some(&invoice), &["version"]),
        );
        tx.execute().await.map(|()| invoice)
    };
    retry(SEQUENCE_BACKOFF, lost_race, attempt)
        .await
        .map_err(|e| {
            if lost_race(&e) {
                InvoicingError::Busy
            } else {
                conflict(e)
            }
        })
}

/// How an invoice was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    Paid {
        provider: String,
        reference: Option<String>,
    },
    Failed,
}

/// Marks an invoice paid or failed and moves the subscription accordingly.
/// `by` is the super admin marking it, or `By::System(scope, "<provider>")` for a
/// payment provider's webhook
/// (paying the open invoice makes a trial, past-due or incomplete subscription active;
/// an expired one comes back to life for the invoice's period).
pub async fn settle(
    store: &Store,
    scope: &TenantScope,
    invoice_id: Uuid,
    settlement: Settlement,
    policy: &BillingPolicy,
    by: By<'_>,
    now: OffsetDateTime,
) -> Result<InvoiceRecord, InvoicingError> {
    let tenant = store.tenant(scope);
    let mut fetched = tenant
        .get_many::<SortKey>(&[
            keys::invoice(invoice_id).into(),
            keys::subscription().into(),
        ])
        .await?;
    let invoice: InvoiceRecord = fetched
        .take(&keys::invoice(invoice_id))?
        .ok_or(InvoicingError::NotFound)?;
    let sub: SubscriptionRecord = fetched
        .take(&keys::subscription())?
        .ok_or(InvoicingError::NotFound)?;
    let target = match settlement {
        Settlement::Paid { .. } => InvoiceStatus::Paid,
        Settlement::Failed => InvoiceStatus::Failed,
    };
    let status = invoice.status.transition(target)?;
    let mut settled = invoice.clone();
    settled.status = status;
    settled.updated_at = now;
    settled.version = invoice.version + 1;
    if let Settlement::Paid {
        provider,
        reference,
    } = &settlement
    {
        settled.paid_at = Some(now);
        settled.payment_provider = Some(provider.clone());
        settled.payment_reference = reference.clone();
    }
    let mut next_sub = None;
    if let Some(open) = sub.open_invoice.filter(|o| o.id == invoice_id) {
        let moved = match settlement {
            Settlement::Paid { .. } => {
                // A late payment revives an expired subscription: treat it
                // as the past-due one it was before it lapsed.
                let payable = if sub.status == SubscriptionStatus::Expired {
                    SubscriptionRecord {
                        status: SubscriptionStatus::PastDue,
                        ..sub.clone()
                    }
                } else {
                    sub.clone()
                };
                let mut paid = billing::on_invoice_paid(&payable, &open, now)?;
                paid.open_invoice = None;
                paid.version = sub.version + 1;
                paid.updated_at = now;
                paid
            }
            Settlement::Failed => {
                let mut failed = sub.clone();
                failed.open_invoice = Some(billing::OpenInvoice { status, ..open });
                failed.version = sub.version + 1;
                failed.updated_at = now;
                failed
            }
        };
        next_sub = Some(moved.schedule(policy));
    }
    let mut tx = store.transaction();
    tx.tenant(scope).put(
        &keys::invoice(invoice_id),
        &settled,
        Condition::VersionIs(invoice.version),
        Label::Invoice,
    );
    let action = if status == InvoiceStatus::Paid {
        "invoice.mark_paid"
    } else {
        "invoice.mark_failed"
    };
    audit::record(
        &mut tx,
        by,
        action,
        "invoice",
        invoice_id,
        audit::changes(Some(&invoice), Some(&settled), &["version", "updated_at"]),
    );
    if let Some(next) = &next_sub {
        tx.tenant(scope).put(
            &keys::subscription(),
            next,
            Condition::VersionIs(sub.version),
            Label::Subscription,
        );
        audit::record(
            &mut tx,
            by,
            "subscription.payment",
            "subscription",
            next.id,
            changes(&sub, next),
        );
    }
    tx.execute().await.map_err(conflict)?;
    Ok(settled)
}

fn changes(before: &SubscriptionRecord, after: &SubscriptionRecord) -> serde_json::Value {
    audit::changes(
        Some(before),
        Some(after),
        &["version", "updated_at", "next_action_at"],
    )
}

fn conflict(e: StoreError) -> InvoicingError {
    match e {
        StoreError::TransactionConditionFailed(_)
        | StoreError::TransactionConflict
        | StoreError::ConditionFailed => InvoicingError::Conflict,
        other => InvoicingError::Store(other),
    }
}
