//! Changing the tenant's subscription: plan, cancellation, reactivation.
//! Each is one transaction with `version = :v` on the subscription and an
//! audit entry.
//!
//! Plan changes (`subscribe`) follow `shared::billing::change_plan`:
//! - **From a trial** the trial keeps running until `trial_ends_at` on the
//!   new plan; the scheduler issues the first invoice, at the chosen
//!   cycle's price, when it ends.
//! - **Upgrade** (from active or past due, to a plan dearer at the current
//!   cycle): the plan (limits and modules included) changes at once and a
//!   prorated invoice for the rest of the period is issued in the same
//!   transaction; refused (`invoice_open`) while an invoice is unpaid. A
//!   cycle change asked with it waits for the period end.
//! - **Anything else** (cheaper or equal plan, cycle change) is scheduled
//!   for the period end (`scheduled_change`); choosing the current plan and
//!   cycle again withdraws it. Nothing is credited.
//! - **From cancelled or expired** subscribing starts over: a new period
//!   from now, its invoice issued at once (gap-free number, same
//!   transaction), `incomplete` (no modules) until that invoice is paid;
//!   another plan is refused (`payment_pending`) until then.
//! - A pending cancellation stays pending; `reactivate` withdraws it.

use crate::read::plan_of;
use crate::view::{MySubscriptionView, SubscriptionView};
use crate::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use shared::audit;
use shared::auth::{Actor, AdministrationBillingManage, Require};
use shared::billing::{self, BillingError, BillingPolicy, PlanChange, PlanPrice};
use shared::billing_store::{self, By, InvoicingError};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::keys;
use shared::records::{
    BillingCycle, PlanRecord, SubscriptionRecord, SubscriptionStatus, TenantRecord, UsageRecord,
};
use shared::store::{Bound, Condition, Counter, Label, OnConflict};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A plan change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// An active plan.
    pub plan_id: Uuid,
    pub billing_cycle: BillingCycle,
}

fn billing_error(e: BillingError) -> ApiError {
    match e {
        BillingError::SubscriptionEnded { .. } => {
            ApiError::bad_request(e.message(), "subscription_ended")
        }
        BillingError::PeriodEnded { .. } => ApiError::bad_request(e.message(), "period_ended"),
        BillingError::PaymentPending => ApiError::bad_request(e.message(), "payment_pending"),
        BillingError::InvoiceOpen { .. } => ApiError::bad_request(e.message(), "invoice_open"),
        other => ApiError::internal(other),
    }
}

/// What a plan change would leave above the new plan's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    Users { used: u32, max: u32 },
    Leads { used: u32, max: u32 },
}

fn plan_limit_reached(over: Over) -> ApiError {
    let detail = match over {
        Over::Users { used, max } => format!(
            "The tenant has {used} active users; this plan allows {max}. Deactivate users first."
        ),
        Over::Leads { used, max } => {
            format!("The tenant has {used} leads; this plan allows {max}. Delete leads first.")
        }
    };
    ApiError::Forbidden {
        detail,
        code: "plan_limit_reached",
        permission: None,
    }
}

/// The first limit of `plan` that current usage exceeds.
fn over_limits(plan: &PlanRecord, usage: &UsageRecord) -> Option<Over> {
    let users = plan
        .max_users
        .filter(|max| usage.users > *max)
        .map(|max| Over::Users {
            used: usage.users,
            max,
        });
    let leads = plan
        .max_leads
        .filter(|max| usage.leads > *max)
        .map(|max| Over::Leads {
            used: usage.leads,
            max,
        });
    users.or(leads)
}

fn concurrent() -> ApiError {
    ApiError::conflict(
        "The subscription was changed by another request; reload and try again.",
        "conflict",
    )
}

/// Change the tenant's plan and billing cycle.
#[utoipa::path(
    post,
    path = "/api/subscriptions/subscribe/",
    tag = "subscriptions",
    description = "Permission: `administration.billing.manage` (super admins pass; `X-Tenant-Id` moves only them). The plan must be active. \
        From a trial, the trial continues on the new plan until `trial_ends_at` (the first invoice is issued \
        then). From active or past due, a plan dearer at the current cycle (an upgrade) applies at once with a \
        prorated invoice for the rest of the period ((new price - old price) x time left / period length, \
        rounded up to the cent), refused with `invoice_open` while an invoice is unpaid; any other change \
        (cheaper or equal plan, another cycle) is shown in `scheduled_change` and applies at the period end, \
        and choosing the current plan and cycle withdraws it. From cancelled or expired, a new period starts \
        now and its invoice is issued at once; the subscription is `incomplete` (no modules) until it is paid \
        and another plan is refused with `payment_pending`. Refused with `plan_limit_reached` when the tenant \
        has more active users than the plan allows; modules the plan lacks are removed from the tenant's \
        `enabled_modules` when the plan applies. Calls: `BatchGetItem` profile + subscription + usage, \
        `GetItem` plan (and the current plan when active or past due), one `TransactWriteItems` (subscription \
        `version = :v`, profile `version = :v` when modules change, usage `users <= max_users`, audit entry; \
        with an invoice also the year's invoice counter, the invoice and its reference).",
    request_body = SubscribeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed subscription", body = MySubscriptionView),
        (status = 400, description = "Field errors for an unknown or inactive `plan_id` or a bad `billing_cycle`; or `invoice_open` (an upgrade while an invoice is unpaid) or `payment_pending` (another plan before the first invoice is paid)", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.billing.manage`, or `plan_limit_reached`", body = ErrorBody),
        (status = 404, description = "The tenant has no subscription, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    Extension(policy): Extension<BillingPolicy>,
    Require(actor, _): Require<AdministrationBillingManage>,
    ApiJson(req): ApiJson<SubscribeRequest>,
) -> Result<Json<MySubscriptionView>, ApiError> {
    let scope = actor.scope();
    let store = state.store.tenant(scope);
    let mut fetched = store
        .get_many::<keys::SortKey>(&[
            keys::tenant_profile().into(),
            keys::subscription().into(),
            keys::usage().into(),
        ])
        .await?;
    let tenant: TenantRecord = fetched
        .take(&keys::tenant_profile())?
        .ok_or(ApiError::NotFound)?;
    let before: SubscriptionRecord = fetched
        .take(&keys::subscription())?
        .ok_or(ApiError::NotFound)?;
    let usage: UsageRecord = fetched.take(&keys::usage())?.unwrap_or_default();
    let plan = match plan_of(&state, Some(req.plan_id)).await? {
        Some(plan) if plan.is_active => plan,
        _ => return Err(ValidationErrors::field("plan_id", "Select an active plan.").into()),
    };
    if let Some(over) = over_limits(&plan, &usage) {
        return Err(plan_limit_reached(over));
    }
    // The current plan's price decides upgrade or downgrade.
    let current = if before.plan_id == Some(plan.id) {
        Some(plan.clone())
    } else if matches!(
        before.status,
        SubscriptionStatus::Active | SubscriptionStatus::PastDue
    ) {
        plan_of(&state, before.plan_id).await?
    } else {
        None
    };
    let now = OffsetDateTime::now_utc();
    let change = billing::change_plan(
        &before,
        current.as_ref().map(PlanPrice::from).as_ref(),
        plan.id,
        req.billing_cycle,
        &PlanPrice::from(&plan),
        &policy,
        now,
    )
    .map_err(billing_error)?;
    let shown = |sub: &SubscriptionRecord| {
        if sub.plan_id == Some(plan.id) {
            Some(plan.clone())
        } else {
            current.clone()
        }
    };
    let Some(after) = change.subscription() else {
        return Ok(Json(MySubscriptionView::new(&before, shown(&before))));
    };
    let after = after.clone().schedule(&policy);
    // Modules the plan lacks go when the plan applies, not when scheduled.
    let modules: Vec<_> = if after.plan_id == Some(plan.id) {
        tenant
            .enabled_modules
            .iter()
            .copied()
            .filter(|m| plan.included_modules.contains(m))
            .collect()
    } else {
        tenant.enabled_modules.clone()
    };

    let mut changes = audit::changes(
        Some(&before),
        Some(&after),
        &["version", "updated_at", "next_action_at"],
    );
    let profile = (modules != tenant.enabled_modules).then(|| TenantRecord {
        enabled_modules: modules,
        version: tenant.version + 1,
        updated_at: now,
        ..tenant.clone()
    });
    if let (Some(profile), Some(map)) = (&profile, changes.as_object_mut()) {
        map.insert(
            "enabled_modules".into(),
            json!({"before": tenant.enabled_modules, "after": profile.enabled_modules}),
        );
    }
    let action = match &change {
        PlanChange::Restart { .. } => "subscription.resubscribe",
        PlanChange::Upgrade { .. } => "subscription.upgrade",
        _ if after.plan_id == before.plan_id && after.billing_cycle == before.billing_cycle => {
            "subscription.schedule_change"
        }
        _ => "subscription.change_plan",
    };
    // The writes besides the subscription's, the same for either path.
    let related = |tx: &mut shared::store::Transaction<'_>| {
        if let Some(profile) = &profile {
            tx.tenant(scope).put(
                &keys::tenant_profile(),
                profile,
                Condition::VersionIs(tenant.version),
                Label::Tenant,
            );
        }
        // Holds the counts at or under the new limits against a concurrent
        // creation (which adds under the old limit).
        let bound = |max: Option<u32>| max.map(|m| Bound::Below(i64::from(m) + 1));
        let holds: Vec<Counter> = [("users", plan.max_users), ("leads", plan.max_leads)]
            .into_iter()
            .filter_map(|(field, max)| {
                bound(max).map(|bound| Counter {
                    field,
                    delta: 0,
                    bound,
                })
            })
            .collect();
        if !holds.is_empty() {
            tx.tenant(scope)
                .counters(&keys::usage(), &holds, Label::Limit);
        }
        audit::record(
            tx,
            &actor,
            action,
            "subscription",
            after.id,
            changes.clone(),
        );
    };
    // Lost to a concurrent creation: name the limit that was hit.
    let limit_error = || {
        let raced = UsageRecord {
            users: usage
                .users
                .max(plan.max_users.unwrap_or(0).saturating_add(1)),
            leads: usage
                .leads
                .max(plan.max_leads.unwrap_or(0).saturating_add(1)),
            ..usage.clone()
        };
        plan_limit_reached(over_limits(&plan, &raced).unwrap_or(Over::Users {
            used: raced.users,
            max: plan.max_users.unwrap_or(0),
        }))
    };
    let saved = if let Some(draft) = change.invoice() {
        let invoice = billing_store::issue(
            &state.store,
            scope,
            &before,
            after.clone(),
            draft,
            &policy,
            By::User(&actor),
            related,
        )
        .await
        .map_err(|e| match e {
            InvoicingError::Conflict => concurrent(),
            other => ApiError::internal(other),
        })?;
        SubscriptionRecord {
            open_invoice: Some(draft.open(invoice.id)),
            ..after
        }
        .schedule(&policy)
    } else {
        let mut tx = state.store.transaction();
        tx.tenant(scope).put(
            &keys::subscription(),
            &after,
            Condition::VersionIs(before.version),
            Label::Subscription,
        );
        related(&mut tx);
        tx.execute()
            .await
            .on_conflict(Label::Limit, limit_error)
            .on_any_conflict(concurrent)?;
        after
    };
    let shown = shown(&saved);
    Ok(Json(MySubscriptionView::new(&saved, shown)))
}

/// Reads the subscription, applies a lifecycle move and writes it if it
/// changed (conditionally on the version read), with its audit entry.
async fn apply(
    state: &AppState,
    policy: &BillingPolicy,
    actor: &Actor,
    action: &str,
    change: fn(&SubscriptionRecord, OffsetDateTime) -> Result<SubscriptionRecord, BillingError>,
) -> Result<SubscriptionView, ApiError> {
    let store = state.store.tenant(actor.scope());
    let before: SubscriptionRecord = store
        .get(&keys::subscription())
        .await?
        .ok_or(ApiError::NotFound)?;
    let after = change(&before, OffsetDateTime::now_utc()).map_err(billing_error)?;
    if after.version == before.version {
        return Ok(SubscriptionView::from(&before));
    }
    let after = after.schedule(policy);
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).put(
        &keys::subscription(),
        &after,
        Condition::VersionIs(before.version),
        Label::Subscription,
    );
    audit::record(
        &mut tx,
        actor,
        action,
        "subscription",
        after.id,
        audit::changes(
            Some(&before),
            Some(&after),
            &["version", "updated_at", "next_action_at"],
        ),
    );
    tx.execute().await.on_any_conflict(concurrent)?;
    Ok(SubscriptionView::from(&after))
}

/// Cancel at the end of the current period.
#[utoipa::path(
    post,
    path = "/api/subscriptions/cancel/",
    tag = "subscriptions",
    description = "Permission: `administration.billing.manage` (super admins pass; `X-Tenant-Id` moves only them). Sets `cancel_at_period_end`; \
        the subscription stays usable until `current_period_end` (the trial's end for a trial). Repeating it \
        changes nothing. Refused for a cancelled or expired subscription. `GetItem`, then `TransactWriteItems` \
        (subscription `version = :v`, audit entry).",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 400, description = "`subscription_ended`", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.billing.manage`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Extension(policy): Extension<BillingPolicy>,
    Require(actor, _): Require<AdministrationBillingManage>,
) -> Result<Json<SubscriptionView>, ApiError> {
    apply(
        &state,
        &policy,
        &actor,
        "subscription.cancel",
        billing::cancel,
    )
    .await
    .map(Json)
}

/// Withdraw a pending cancellation.
#[utoipa::path(
    post,
    path = "/api/subscriptions/reactivate/",
    tag = "subscriptions",
    description = "Permission: `administration.billing.manage` (super admins pass; `X-Tenant-Id` moves only them). Clears `cancel_at_period_end`. \
        Refused (`period_ended`) once the period has ended, even before the scheduler has run, and \
        (`subscription_ended`) for a cancelled or expired subscription. Same calls as cancel.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 400, description = "`period_ended` or `subscription_ended`", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.billing.manage`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn reactivate(
    State(state): State<AppState>,
    Extension(policy): Extension<BillingPolicy>,
    Require(actor, _): Require<AdministrationBillingManage>,
) -> Result<Json<SubscriptionView>, ApiError> {
    apply(
        &state,
        &policy,
        &actor,
        "subscription.reactivate",
        billing::reactivate,
    )
    .await
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::records::SubscriptionStatus;

    #[test]
    fn lifecycle_refusals_are_bad_requests_with_codes() {
        let e = billing_error(BillingError::SubscriptionEnded {
            status: SubscriptionStatus::Expired,
        });
        assert_eq!(e.body()["code"], "subscription_ended");
        assert_eq!(
            e.body()["detail"],
            "The subscription is expired and can no longer change."
        );
        let e = billing_error(BillingError::PeriodEnded {
            ended_at: OffsetDateTime::UNIX_EPOCH,
        });
        assert_eq!(e.body()["code"], "period_ended");
    }
}
