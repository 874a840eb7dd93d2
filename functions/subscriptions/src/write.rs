//! Changing the tenant's subscription: plan, cancellation, reactivation.
//! Each is one transaction with `version = :v` on the subscription and an
//! audit entry.
//!
//! Plan changes (`subscribe`):
//! - **From a trial** the trial keeps running until `trial_ends_at` on the
//!   new plan; the scheduler issues the first invoice, at the chosen
//!   cycle's price, when it ends.
//! - **From active or past due** the plan changes at once (limits and
//!   modules included); the period in progress is left as it is and the
//!   chosen cycle and price apply from the next period.
//! - **No proration**: nothing is charged or credited for the rest of the
//!   current period.
//! - **From cancelled or expired** subscribing starts over: a new period
//!   from now, its invoice issued at once (gap-free number, same
//!   transaction), `past_due` until that invoice is paid.
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
use shared::billing::{self, BillingError, BillingPolicy, InvoiceDraft, PlanPrice};
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::invoicing::{self, By, InvoicingError};
use shared::keys;
use shared::records::{
    BillingCycle, SubscriptionRecord, SubscriptionStatus, TenantRecord, UsageRecord,
};
use shared::store::{Condition, StoreError};
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
            ApiError::bad_request(capitalised(&e.to_string()), "subscription_ended")
        }
        BillingError::PeriodEnded { .. } => {
            ApiError::bad_request(capitalised(&e.to_string()), "period_ended")
        }
        other => ApiError::internal(other),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => format!("{}{}.", c.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

fn plan_limit_reached(users: u32, max: u32) -> ApiError {
    ApiError::Forbidden {
        detail: format!(
            "The tenant has {users} active users; this plan allows {max}. Deactivate users first."
        ),
        code: "plan_limit_reached",
        permission: None,
    }
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
        then); from active or past due, the plan changes at once and the chosen cycle applies from the next \
        period; from cancelled or expired, a new period starts now and its invoice is issued at once (the \
        subscription is `past_due` until it is paid). No proration. Refused with `plan_limit_reached` when the tenant has more active users than \
        the plan allows; modules the plan lacks are removed from the tenant's `enabled_modules`. Calls: \
        `BatchGetItem` profile + subscription + usage, `GetItem` plan, one `TransactWriteItems` (subscription \
        `version = :v`, profile `version = :v` when modules change, usage `users <= max_users`, audit entry).",
    request_body = SubscribeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed subscription", body = MySubscriptionView),
        (status = 400, description = "Unknown or inactive plan, or an ended subscription", body = ValidationErrorBody),
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
        .get_many(&[keys::tenant_profile(), keys::subscription(), keys::usage()])
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
    if let Some(max) = plan.max_users {
        if usage.users > max {
            return Err(plan_limit_reached(usage.users, max));
        }
    }
    let restart = !before.status.grants_modules();
    if !restart && before.plan_id == Some(plan.id) && before.billing_cycle == req.billing_cycle {
        return Ok(Json(MySubscriptionView::new(&before, Some(plan))));
    }
    let now = OffsetDateTime::now_utc();
    let mut after = SubscriptionRecord {
        plan_id: Some(plan.id),
        billing_cycle: req.billing_cycle,
        version: before.version + 1,
        updated_at: now,
        ..before.clone()
    };
    if restart {
        after.status = SubscriptionStatus::PastDue;
        after.current_period_start = now;
        after.current_period_end = billing::add_cycle(now, req.billing_cycle);
        after.cancel_at_period_end = false;
        after.cancelled_at = None;
        after.open_invoice = None;
    }
    let after = after.schedule(&policy);
    let modules: Vec<_> = tenant
        .enabled_modules
        .iter()
        .copied()
        .filter(|m| plan.included_modules.contains(m))
        .collect();

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
    let action = if restart {
        "subscription.resubscribe"
    } else {
        "subscription.change_plan"
    };
    // The writes besides the subscription's, the same for either path.
    let related = |tx: &mut shared::store::Transaction<'_>| {
        if let Some(profile) = &profile {
            tx.put(
                scope,
                &keys::tenant_profile(),
                profile,
                Condition::VersionIs(tenant.version),
                "tenant",
            );
        }
        if let Some(max) = plan.max_users {
            // Holds the user count at or under the new limit against a
            // concurrent user creation (which adds under the old limit).
            tx.add(
                scope,
                &keys::usage(),
                "users",
                0,
                Some(i64::from(max) + 1),
                true,
                "limit",
            );
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
    let limit_error = || {
        plan_limit_reached(
            plan.max_users.unwrap_or(0).saturating_add(1),
            plan.max_users.unwrap_or(0),
        )
    };
    let saved = if restart {
        let price = PlanPrice::from(&plan);
        let draft = InvoiceDraft {
            subscription_id: after.id,
            tenant_id: after.tenant_id,
            period_start: after.current_period_start,
            period_end: after.current_period_end,
            amount: price.amount(req.billing_cycle),
            currency: price.currency.clone(),
            issued_at: now,
            due_date: policy.due_date(now),
        };
        let invoice = invoicing::issue(
            &state.store,
            scope,
            &before,
            after.clone(),
            &draft,
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
        tx.put(
            scope,
            &keys::subscription(),
            &after,
            Condition::VersionIs(before.version),
            "subscription",
        );
        related(&mut tx);
        tx.execute().await.map_err(|e| match e {
            StoreError::TransactionConditionFailed(labels) if labels.contains(&"limit") => {
                limit_error()
            }
            StoreError::TransactionConditionFailed(_) => concurrent(),
            other => other.into(),
        })?;
        after
    };
    Ok(Json(MySubscriptionView::new(&saved, Some(plan))))
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
    tx.put(
        actor.scope(),
        &keys::subscription(),
        &after,
        Condition::VersionIs(before.version),
        "subscription",
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
    tx.execute().await.map_err(|e| match e {
        StoreError::TransactionConditionFailed(_) => concurrent(),
        other => other.into(),
    })?;
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
        (status = 400, description = "`subscription_ended`", body = ErrorBody),
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
        (status = 400, description = "`period_ended` or `subscription_ended`", body = ErrorBody),
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
