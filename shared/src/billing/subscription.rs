//! The subscription and its billing types. Kept in `billing` so that the
//! rules need nothing from `records`; `records` re-exports them and makes
//! the record storable (key, indexes).

use super::invoice::OpenInvoice;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Trial,
    Active,
    PastDue,
    /// Subscribed again after it ended: no modules until the new period's
    /// invoice is paid, so subscribing without paying gains nothing.
    Incomplete,
    Cancelled,
    Expired,
}

impl SubscriptionStatus {
    /// Cancelled and expired are final: only subscribing again restarts.
    /// Whether modules are granted is `SubscriptionRecord::grants_modules_at`.
    pub fn is_ended(self) -> bool {
        matches!(self, Self::Cancelled | Self::Expired)
    }
}

/// A plan change that takes effect at the end of the current period (a
/// downgrade, or a billing-cycle change); the renewal applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduledChange {
    pub plan_id: Uuid,
    pub billing_cycle: BillingCycle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BillingCycle {
    Monthly,
    Yearly,
}

/// The tenant's one subscription. Key: `TENANT#<tenant>` / `SUBSCRIPTION`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `None` for the built-in default trial, used when no trial plan exists.
    pub plan_id: Option<Uuid>,
    pub status: SubscriptionStatus,
    pub billing_cycle: BillingCycle,
    #[serde(with = "time::serde::rfc3339")]
    pub current_period_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub current_period_end: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub trial_ends_at: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub cancelled_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
    /// The unpaid invoice, if any (a copy of its billing-relevant fields).
    #[serde(default)]
    pub open_invoice: Option<OpenInvoice>,
    /// When the billing scheduler must next look at this subscription
    /// (`billing::next_action`); keys the sparse GSI3 `BILLINGDUE` entry.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_action_at: Option<OffsetDateTime>,
    /// The plan and cycle the next period will have, if they change then.
    #[serde(default)]
    pub scheduled_change: Option<ScheduledChange>,
}
