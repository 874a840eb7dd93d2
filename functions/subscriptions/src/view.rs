use serde::Serialize;
use shared::billing::PlanPrice;
use shared::money::format_money;
use shared::records::{
    BillingCycle, PlanRecord, SubscriptionRecord, SubscriptionStatus, UsageRecord,
};
use shared::views::PlanView;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A tenant's subscription as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: Uuid,
    /// The tenant's id.
    pub tenant: Uuid,
    /// The plan's id; null for the built-in default trial.
    pub plan: Option<Uuid>,
    pub status: SubscriptionStatus,
    pub billing_cycle: BillingCycle,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub current_period_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub current_period_end: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub trial_ends_at: Option<OffsetDateTime>,
    /// Ends at `current_period_end` unless reactivated before.
    pub cancel_at_period_end: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<OffsetDateTime>,
    /// A downgrade or cycle change waiting for the period end; null if none.
    pub scheduled_change: Option<ScheduledChangeView>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// The plan and cycle the subscription will have from `effective_at`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduledChangeView {
    /// The plan's id.
    pub plan: Uuid,
    pub billing_cycle: BillingCycle,
    /// The current period's end, when the renewal applies it.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub effective_at: OffsetDateTime,
}

impl From<&SubscriptionRecord> for SubscriptionView {
    fn from(s: &SubscriptionRecord) -> Self {
        Self {
            id: s.id,
            tenant: s.tenant_id,
            plan: s.plan_id,
            status: s.status,
            billing_cycle: s.billing_cycle,
            current_period_start: s.current_period_start,
            current_period_end: s.current_period_end,
            trial_ends_at: s.trial_ends_at,
            cancel_at_period_end: s.cancel_at_period_end,
            cancelled_at: s.cancelled_at,
            scheduled_change: s.scheduled_change.map(|c| ScheduledChangeView {
                plan: c.plan_id,
                billing_cycle: c.billing_cycle,
                effective_at: s.current_period_end,
            }),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// The tenant's subscription with its plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MySubscriptionView {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    /// The plan; null for the built-in default trial (or a plan since removed).
    pub plan_details: Option<PlanView>,
    /// The price of one period of `billing_cycle`, e.g. `"49.00"`; null without a plan.
    pub price: Option<String>,
    /// ISO 4217 code of `price`.
    pub currency: Option<String>,
}

impl MySubscriptionView {
    pub fn new(subscription: &SubscriptionRecord, plan: Option<PlanRecord>) -> Self {
        let price = plan.as_ref().map(PlanPrice::from);
        Self {
            subscription: subscription.into(),
            price: price
                .as_ref()
                .map(|p| format_money(p.amount(subscription.billing_cycle))),
            currency: price.map(|p| p.currency),
            plan_details: plan.map(PlanView::from),
        }
    }
}

/// One limit of the plan and how much of it is used.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageLine {
    /// Current use; null while `tracked` is false.
    pub used: Option<u32>,
    /// The plan's limit; null means unlimited.
    pub limit: Option<u32>,
    /// Whether the platform counts this: users and leads are tracked;
    /// storage reports its limit with `used: null`.
    pub tracked: bool,
}

/// The tenant's usage against its plan's limits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageView {
    /// The plan the limits come from; null for the built-in default trial
    /// (no limits).
    pub plan: Option<Uuid>,
    /// Active users against `max_users`.
    pub users: UsageLine,
    /// CRM leads against `max_leads`.
    pub leads: UsageLine,
    /// Gigabytes stored against `storage_gb` (not tracked yet).
    pub storage_gb: UsageLine,
}

impl UsageView {
    pub fn new(plan_id: Option<Uuid>, plan: Option<&PlanRecord>, usage: &UsageRecord) -> Self {
        let untracked = |limit: Option<u32>| UsageLine {
            used: None,
            limit,
            tracked: false,
        };
        Self {
            plan: plan_id,
            users: UsageLine {
                used: Some(usage.users),
                limit: plan.and_then(|p| p.max_users),
                tracked: true,
            },
            leads: UsageLine {
                used: Some(usage.leads),
                limit: plan.and_then(|p| p.max_leads),
                tracked: true,
            },
            storage_gb: untracked(plan.and_then(|p| p.storage_gb)),
        }
    }
}
