//! The subscriptions function against DynamoDB Local.

use crate::plans::root;
use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::permissions::Module;
use shared::records::{
    AuditRecord, SubscriptionRecord, SubscriptionStatus, TenantRecord, UsageRecord,
};
use shared::store::{Condition, PageRequest, TenantScope};
use tests::app::call;
use tests::app::{scope, setup, tenant, token_for, Setup};
use uuid::Uuid;

const TRIAL: u128 = 0x7a1a1;
const STARTER: u128 = 0x57a27;
const PROFESSIONAL: u128 = 0x960f;

async fn subscribe(s: &Setup, token: &str, plan: Uuid, cycle: &str) -> tests::TestResponse {
    call(
        &s.subscriptions,
        "POST",
        "/api/subscriptions/subscribe/",
        Some(token),
        Some(json!({"plan_id": plan, "billing_cycle": cycle})),
        None,
    )
    .await
}

/// A request without a body to the subscriptions function as `token`.
async fn request(s: &Setup, method: &str, uri: &str, token: &str) -> tests::TestResponse {
    call(&s.subscriptions, method, uri, Some(token), None, None).await
}

async fn audit_actions(s: &Setup, scope: &TenantScope) -> Vec<AuditRecord> {
    let page = PageRequest::new(100, None, "audit");
    s.auth
        .store
        .tenant(scope)
        .query::<AuditRecord>(&keys::audit_log(), &page)
        .await
        .unwrap()
        .items
}

async fn set_users(s: &Setup, scope: &TenantScope, users: u32) {
    let usage = UsageRecord {
        users,
        admins: 1,
        leads: 0,
        version: 99,
    };
    s.auth
        .store
        .tenant(scope)
        .put(&keys::usage(), &usage, Condition::Always)
        .await
        .unwrap();
}

/// Stores `subscription` as the tenant's, whatever it was.
async fn put_subscription(s: &Setup, scope: &TenantScope, subscription: &SubscriptionRecord) {
    s.auth
        .store
        .tenant(scope)
        .put(&keys::subscription(), subscription, Condition::Always)
        .await
        .unwrap();
}

async fn stored(s: &Setup, scope: &TenantScope) -> (SubscriptionRecord, TenantRecord) {
    let store = s.auth.store.tenant(scope);
    (
        store.get(&keys::subscription()).await.unwrap().unwrap(),
        store.get(&keys::tenant_profile()).await.unwrap().unwrap(),
    )
}

/// Calls in name order: concurrent calls start in no fixed order.
fn sorted(calls: &[String]) -> Vec<String> {
    let mut calls = calls.to_vec();
    calls.sort();
    calls
}

async fn monthly_price(s: &Setup, plan: Uuid) -> String {
    s.auth
        .store
        .platform()
        .get::<shared::records::PlanRecord>(&keys::plan(plan))
        .await
        .unwrap()
        .unwrap()
        .price_monthly
        .to_string()
}

#[tokio::test]
async fn admins_read_their_subscription_and_usage() {
    let s = setup().await;
    let admin = tenant(&s, "subread").await;
    s.auth.calls.reset();
    let res = request(&s, "GET", "/api/subscriptions/my_subscription/", &admin).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // First: the caller's tenant's revocation state (its first request).
    let calls = s.auth.calls.calls();
    assert_eq!(calls[0], "BatchGetItem");
    assert_eq!(
        sorted(&calls[1..]),
        ["BatchGetItem"],
        "the subscription and the plan the token names"
    );
    assert_eq!(s.auth.calls.depth(), 2, "one round trip after the check");
    let mine = res.json();
    assert_eq!(mine["status"], "trial");
    assert_eq!(mine["plan"], Uuid::from_u128(TRIAL).to_string());
    assert_eq!(mine["plan_details"]["slug"], "trial");
    assert_eq!(
        (mine["price"].as_str(), mine["currency"].as_str()),
        (Some("0.00"), Some("USD"))
    );
    assert_eq!(mine["tenant"], scope(&s, &admin).tenant_id().to_string());
    assert_eq!(mine["cancel_at_period_end"], false);

    s.auth.calls.reset();
    let res = request(&s, "GET", "/api/subscriptions/usage/", &admin).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(sorted(&s.auth.calls.calls()), ["BatchGetItem"]);
    assert_eq!(s.auth.calls.depth(), 1);
    assert_eq!(
        res.json(),
        json!({
            "plan": Uuid::from_u128(TRIAL),
            "users": {"used": 1, "limit": 5, "tracked": true},
            "leads": {"used": 0, "limit": 500, "tracked": true},
            "storage_gb": {"used": null, "limit": 1, "tracked": false},
        })
    );

    // Members are not admins; anonymous callers are refused.
    let member = token_for(&s, scope(&s, &admin).tenant_id(), false, Default::default());
    for uri in [
        "/api/subscriptions/my_subscription/",
        "/api/subscriptions/usage/",
        "/api/subscriptions/",
    ] {
        assert_eq!(
            request(&s, "GET", uri, &member).await.status,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
        assert_eq!(
            call(&s.subscriptions, "GET", uri, None, None, None)
                .await
                .status,
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
    }
    let res = request(&s, "POST", "/api/subscriptions/cancel/", &member).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn plan_changes_keep_the_trial_shrink_modules_and_respect_user_limits() {
    let s = setup().await;
    let root = root(&s);
    let admin = tenant(&s, "subchange").await;
    let tscope = scope(&s, &admin);
    let (before, tenant_before) = stored(&s, &tscope).await;
    assert_eq!(
        tenant_before.enabled_modules,
        [Module::Crm, Module::Whatsapp, Module::Meetings]
    );

    // Upgrade during the trial: the trial keeps running on the new plan.
    s.auth.calls.reset();
    let res = subscribe(&s, &admin, Uuid::from_u128(PROFESSIONAL), "yearly").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // First: the caller's tenant's revocation state (its first request).
    assert_eq!(
        s.auth.calls.calls(),
        vec![
            "BatchGetItem",
            "BatchGetItem",
            "GetItem",
            "TransactWriteItems"
        ]
    );
    let up = res.json();
    assert_eq!(
        (up["status"].as_str(), up["billing_cycle"].as_str()),
        (Some("trial"), Some("yearly"))
    );
    assert_eq!(
        (up["price"].as_str(), up["plan_details"]["slug"].as_str()),
        (Some("990.00"), Some("professional"))
    );
    let (after, tenant_after) = stored(&s, &tscope).await;
    assert_eq!(
        (after.trial_ends_at, after.current_period_end),
        (before.trial_ends_at, before.current_period_end)
    );
    assert_eq!(after.version, before.version + 1);
    assert_eq!(tenant_after, tenant_before, "an upgrade removes no module");
    assert_eq!(audit_actions(&s, &tscope).await.len(), 1, "one audit entry");

    // A plan with only CRM and two users.
    let solo = call(&s.plans, "POST", "/api/plans/", Some(&root), Some(json!({"name": "Solo", "slug": "solo", "price_monthly": "9.90", "price_yearly": "99", "max_users": 2, "included_modules": ["crm"]})), None)
    .await
    .json();
    let solo_id: Uuid = solo["id"].as_str().unwrap().parse().unwrap();

    // Too many active users for it: refused, nothing changes.
    set_users(&s, &tscope, 3).await;
    let res = subscribe(&s, &admin, solo_id, "monthly").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.json()["code"], "plan_limit_reached");
    assert_eq!(
        stored(&s, &tscope).await,
        (after.clone(), tenant_after.clone())
    );

    // Within the limit: the plan changes and the modules shrink in the same transaction.
    set_users(&s, &tscope, 2).await;
    let res = subscribe(&s, &admin, solo_id, "monthly").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        (res.json()["price"].as_str(), res.json()["plan"].as_str()),
        (Some("9.90"), Some(solo_id.to_string().as_str()))
    );
    let (down, tenant_down) = stored(&s, &tscope).await;
    assert_eq!(
        (down.plan_id, down.status),
        (Some(solo_id), SubscriptionStatus::Trial)
    );
    assert_eq!(tenant_down.enabled_modules, [Module::Crm]);
    assert_eq!(tenant_down.version, tenant_after.version + 1);
    let log = audit_actions(&s, &tscope).await;
    assert_eq!(log.len(), 2, "one audit entry per change");
    assert_eq!(log[1].action, "subscription.change_plan");
    assert_eq!(
        log[1].changes["enabled_modules"],
        json!({"before": ["crm", "whatsapp", "meetings"], "after": ["crm"]})
    );
    assert_eq!(log[1].changes["plan_id"]["after"], solo_id.to_string());

    // From an active subscription an upgrade applies at once, the period
    // stays, and the rest of the period is invoiced at the price difference.
    let active = SubscriptionRecord {
        status: SubscriptionStatus::Active,
        ..down.clone()
    };
    put_subscription(&s, &tscope, &active).await;
    let res = subscribe(&s, &admin, Uuid::from_u128(STARTER), "monthly").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let (moved, _) = stored(&s, &tscope).await;
    assert_eq!(
        (moved.status, moved.plan_id),
        (SubscriptionStatus::Active, Some(Uuid::from_u128(STARTER)))
    );
    assert_eq!(
        (moved.current_period_start, moved.current_period_end),
        (down.current_period_start, down.current_period_end)
    );
    let open = moved.open_invoice.expect("the prorated invoice is open");
    let prorated: shared::records::InvoiceRecord = s
        .auth
        .store
        .tenant(&tscope)
        .get(&keys::invoice(open.id))
        .await
        .unwrap()
        .expect("invoice written");
    let (old, new) = (
        monthly_price(&s, solo_id).await,
        monthly_price(&s, Uuid::from_u128(STARTER)).await,
    );
    assert_eq!((old.as_str(), new.as_str()), ("9.90", "29.00"));
    assert_eq!(
        prorated.amount,
        shared::billing::prorate(
            old.parse().unwrap(),
            new.parse().unwrap(),
            moved.current_period_start,
            moved.current_period_end,
            prorated.created_at,
        )
    );
    assert!(prorated.amount.is_sign_positive() && !prorated.amount.is_zero());
    assert_eq!(
        (prorated.period_start, prorated.period_end),
        (prorated.created_at, moved.current_period_end)
    );
    assert!(prorated.invoice_number.starts_with("INV-"));
    assert_eq!(
        audit_actions(&s, &tscope)
            .await
            .iter()
            .filter(|e| e.action == "subscription.upgrade")
            .count(),
        1
    );
    // The same plan and cycle again writes nothing.
    s.auth.calls.reset();
    assert_eq!(
        subscribe(&s, &admin, Uuid::from_u128(STARTER), "monthly")
            .await
            .status,
        StatusCode::OK
    );
    assert!(!s
        .auth
        .calls
        .calls()
        .contains(&"TransactWriteItems".to_owned()));

    // Unknown or inactive plans, bad cycles.
    let res = subscribe(&s, &admin, Uuid::new_v4(), "monthly").await;
    assert_eq!(res.json(), json!({"plan_id": ["Select an active plan."]}));
    call(
        &s.plans,
        "DELETE",
        &format!("/api/plans/{solo_id}/"),
        Some(&root),
        None,
        None,
    )
    .await;
    let res = subscribe(&s, &admin, solo_id, "monthly").await;
    assert_eq!(
        (res.status, res.json()),
        (
            StatusCode::BAD_REQUEST,
            json!({"plan_id": ["Select an active plan."]})
        )
    );
    let res = call(
        &s.subscriptions,
        "POST",
        "/api/subscriptions/subscribe/",
        Some(&admin),
        Some(json!({"plan_id": Uuid::from_u128(STARTER), "billing_cycle": "weekly"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["billing_cycle"].is_array(), "{}", res.text());

    // An ended subscription cannot be cancelled, but subscribing starts
    // over: a new period from now with its invoice issued at once.
    let expired = SubscriptionRecord {
        status: SubscriptionStatus::Expired,
        ..moved
    };
    put_subscription(&s, &tscope, &expired).await;
    let res = request(&s, "POST", "/api/subscriptions/cancel/", &admin).await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("subscription_ended"))
    );
    let before = time::OffsetDateTime::now_utc();
    let res = subscribe(&s, &admin, Uuid::from_u128(PROFESSIONAL), "yearly").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let (restarted, _) = stored(&s, &tscope).await;
    assert_eq!(
        restarted.status,
        SubscriptionStatus::Incomplete,
        "until the new invoice is paid"
    );
    assert!(!restarted.grants_modules_at(time::OffsetDateTime::now_utc()));
    assert!(restarted.current_period_start >= before);
    assert_eq!(
        restarted.current_period_end,
        shared::billing::add_cycle(
            restarted.current_period_start,
            shared::records::BillingCycle::Yearly
        )
    );
    let open = restarted
        .open_invoice
        .expect("the new period's invoice is open");
    let invoice: shared::records::InvoiceRecord = s
        .auth
        .store
        .tenant(&tscope)
        .get(&keys::invoice(open.id))
        .await
        .unwrap()
        .expect("invoice written");
    let plan = shared::tenancy::default_plans(time::OffsetDateTime::now_utc())
        .into_iter()
        .find(|p| p.id == Uuid::from_u128(PROFESSIONAL))
        .unwrap();
    assert_eq!(invoice.amount, plan.price_yearly);
    assert!(
        invoice
            .invoice_number
            .starts_with(&format!("INV-{}-", before.year())),
        "{}",
        invoice.invoice_number
    );
    assert!(
        restarted.next_action_at.is_some(),
        "the scheduler will look at it again"
    );
}

#[tokio::test]
async fn downgrades_wait_for_the_period_end_and_unpaid_restarts_grant_nothing() {
    let s = setup().await;
    let admin = tenant(&s, "subdown").await;
    let tscope = scope(&s, &admin);
    let (trial, tenant_before) = stored(&s, &tscope).await;
    // Active on Professional, nothing owed.
    let on_pro = SubscriptionRecord {
        status: SubscriptionStatus::Active,
        plan_id: Some(Uuid::from_u128(PROFESSIONAL)),
        ..trial
    };
    put_subscription(&s, &tscope, &on_pro).await;

    // A downgrade is scheduled: the plan, its modules and the period stay.
    let res = subscribe(&s, &admin, Uuid::from_u128(STARTER), "yearly").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["plan"], json!(Uuid::from_u128(PROFESSIONAL)));
    assert_eq!(body["plan_details"]["slug"], "professional");
    assert_eq!(
        body["scheduled_change"]["plan"],
        json!(Uuid::from_u128(STARTER))
    );
    assert_eq!(body["scheduled_change"]["billing_cycle"], "yearly");
    let (after, tenant_after) = stored(&s, &tscope).await;
    assert_eq!(after.plan_id, on_pro.plan_id);
    assert_eq!(after.open_invoice, None, "nothing is invoiced");
    assert_eq!(
        body["scheduled_change"]["effective_at"],
        json!(after
            .current_period_end
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap())
    );
    assert_eq!(tenant_after, tenant_before, "modules stay until it applies");
    let log = audit_actions(&s, &tscope).await;
    assert_eq!(
        log.last().map(|e| e.action.as_str()),
        Some("subscription.schedule_change")
    );
    // Choosing the current plan again withdraws it.
    let res = subscribe(&s, &admin, Uuid::from_u128(PROFESSIONAL), "monthly").await;
    assert_eq!(res.json()["scheduled_change"], Value::Null);
    assert_eq!(stored(&s, &tscope).await.0.scheduled_change, None);

    // Ended, then subscribed again: incomplete until paid; another plan is
    // refused and no second invoice is issued.
    let (current, _) = stored(&s, &tscope).await;
    let expired = SubscriptionRecord {
        status: SubscriptionStatus::Expired,
        ..current
    };
    put_subscription(&s, &tscope, &expired).await;
    let res = subscribe(&s, &admin, Uuid::from_u128(STARTER), "monthly").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["status"], "incomplete");
    let (restarted, _) = stored(&s, &tscope).await;
    let res = subscribe(&s, &admin, Uuid::from_u128(PROFESSIONAL), "monthly").await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("payment_pending"))
    );
    let res = subscribe(&s, &admin, Uuid::from_u128(STARTER), "monthly").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(stored(&s, &tscope).await.0, restarted, "nothing changed");
}

#[tokio::test]
async fn cancel_and_reactivate_until_the_period_ends() {
    let s = setup().await;
    let admin = tenant(&s, "subcancel").await;
    let tscope = scope(&s, &admin);
    s.auth.calls.reset();
    let res = request(&s, "POST", "/api/subscriptions/cancel/", &admin).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // First: the caller's tenant's revocation state (its first request).
    assert_eq!(
        s.auth.calls.calls(),
        vec!["BatchGetItem", "GetItem", "TransactWriteItems"]
    );
    assert_eq!(res.json()["cancel_at_period_end"], true);
    assert_eq!(
        res.json()["status"],
        "trial",
        "usable until the period ends"
    );

    s.auth.calls.reset();
    let res = request(&s, "POST", "/api/subscriptions/cancel/", &admin).await;
    assert_eq!(
        (res.status, res.json()["cancel_at_period_end"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(
        s.auth.calls.calls(),
        vec!["GetItem"],
        "repeating it writes nothing"
    );

    let res = request(&s, "POST", "/api/subscriptions/reactivate/", &admin).await;
    assert_eq!(
        (res.status, res.json()["cancel_at_period_end"].clone()),
        (StatusCode::OK, json!(false))
    );
    let actions: Vec<String> = audit_actions(&s, &tscope)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["subscription.cancel", "subscription.reactivate"]);

    // Once the period has ended, a cancellation can no longer be withdrawn.
    request(&s, "POST", "/api/subscriptions/cancel/", &admin).await;
    let (sub, _) = stored(&s, &tscope).await;
    let past = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let ended = SubscriptionRecord {
        current_period_end: past,
        trial_ends_at: Some(past),
        ..sub
    };
    put_subscription(&s, &tscope, &ended).await;
    let res = request(&s, "POST", "/api/subscriptions/reactivate/", &admin).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json()["code"], "period_ended");
}

#[tokio::test]
async fn listing_and_retrieval_respect_tenants() {
    let s = setup().await;
    let root = root(&s);
    let a = tenant(&s, "sublista").await;
    let b = tenant(&s, "sublistb").await;
    let (a_scope, b_scope) = (scope(&s, &a), scope(&s, &b));
    let a_sub = request(&s, "GET", "/api/subscriptions/my_subscription/", &a)
        .await
        .json();
    let a_id = a_sub["id"].as_str().unwrap().to_owned();
    let b_id = stored(&s, &b_scope).await.0.id.to_string();

    // Own subscription: retrieve and a one-item list.
    s.auth.calls.reset();
    let res = request(&s, "GET", &format!("/api/subscriptions/{a_id}/"), &a).await;
    assert_eq!(
        (res.status, res.json()["id"].as_str()),
        (StatusCode::OK, Some(a_id.as_str()))
    );
    assert_eq!(s.auth.calls.calls(), vec!["GetItem"]);
    s.auth.calls.reset();
    let page = request(&s, "GET", "/api/subscriptions/", &a).await.json();
    assert_eq!(s.auth.calls.calls(), vec!["GetItem"]);
    assert_eq!(
        (
            page["results"].as_array().unwrap().len(),
            page["next"].clone()
        ),
        (1, Value::Null)
    );
    assert_eq!(page["results"][0]["id"], a_id.as_str());

    // Another tenant's subscription does not exist for b.
    let res = request(&s, "GET", &format!("/api/subscriptions/{a_id}/"), &b).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        res.json(),
        json!({"detail": "Not found.", "code": "not_found"})
    );
    let res = call(
        &s.subscriptions,
        "GET",
        "/api/subscriptions/my_subscription/",
        Some(&b),
        None,
        Some(a_scope.tenant_id()),
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "X-Tenant-Id does not widen a tenant admin's reach"
    );

    // Super admins: everything, filtered by status and plan.
    let b_sub = stored(&s, &b_scope).await.0;
    let active = SubscriptionRecord {
        status: SubscriptionStatus::Active,
        plan_id: Some(Uuid::from_u128(STARTER)),
        ..b_sub
    };
    put_subscription(&s, &b_scope, &active).await;
    let ids = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    s.auth.calls.reset();
    let all = request(&s, "GET", "/api/subscriptions/", &root).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    // First: the caller's tenant's revocation state (its first request).
    assert_eq!(
        s.auth.calls.calls(),
        vec!["BatchGetItem", "Query"],
        "one query on GSI1"
    );
    assert_eq!(
        ids(&all.json()),
        [a_id.as_str(), b_id.as_str()],
        "oldest first"
    );
    let res = request(&s, "GET", "/api/subscriptions/?status=active", &root).await;
    assert_eq!(ids(&res.json()), [b_id.as_str()]);
    let res = request(&s, "GET", "/api/subscriptions/?status=trial", &root).await;
    assert_eq!(ids(&res.json()), [a_id.as_str()]);
    let res = request(
        &s,
        "GET",
        &format!("/api/subscriptions/?plan={}", Uuid::from_u128(TRIAL)),
        &root,
    )
    .await;
    assert_eq!(ids(&res.json()), [a_id.as_str()]);
    let first = request(&s, "GET", "/api/subscriptions/?page_size=1", &root)
        .await
        .json();
    assert_eq!(ids(&first), [a_id.as_str()]);
    let second = request(&s, "GET", &tests::app::path_of(&first["next"]), &root)
        .await
        .json();
    assert_eq!(ids(&second), [b_id.as_str()]);
    let res = request(&s, "GET", "/api/subscriptions/?status=paused", &root).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);

    s.auth.calls.reset();
    let res = request(&s, "GET", &format!("/api/subscriptions/{b_id}/"), &root).await;
    assert_eq!(
        (res.status, res.json()["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    assert_eq!(
        s.auth.calls.calls(),
        vec!["GetItem", "GetItem", "GetItem"],
        "reference, routing item, subscription"
    );
    let res = request(
        &s,
        "GET",
        &format!("/api/subscriptions/{}/", Uuid::new_v4()),
        &root,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // A super admin acts in a tenant with X-Tenant-Id (audited as such).
    let res = call(
        &s.subscriptions,
        "GET",
        "/api/subscriptions/my_subscription/",
        Some(&root),
        None,
        Some(a_scope.tenant_id()),
    )
    .await;
    assert_eq!(res.json()["id"], a_id.as_str());
    let res = call(
        &s.subscriptions,
        "POST",
        "/api/subscriptions/cancel/",
        Some(&root),
        None,
        Some(a_scope.tenant_id()),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let log = audit_actions(&s, &a_scope).await;
    assert!(log.last().unwrap().via_super_admin);
}
