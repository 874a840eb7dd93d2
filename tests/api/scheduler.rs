//! The billing scheduler's tick against DynamoDB Local, with time passed in
//! explicitly (a fake clock: nothing here sleeps).

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use axum::extract::FromRequestParts;
use billing_scheduler::{Options, Report, TickError};
use http::StatusCode;
use serde_json::json;
use shared::auth::{Actor, AdministrationBillingManage, Jwks, Require, TokenVerifier};
use shared::billing::{BillingPolicy, InvoiceStatus};
use shared::billing_store::{self, Settlement};
use shared::keys;
use shared::records::{
    AuditRecord, BillingCycle, InvoiceRecord, PlanRecord, SequenceRecord, SubscriptionRecord,
    SubscriptionStatus, TenantRouteRecord,
};
use shared::store::table::TableDefinition;
use shared::store::{Condition, CursorSigner, PageRequest, Store, TenantScope};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tests::app::{claims_of, scope, setup, token_for, Setup};
use tests::iam::function_store;
use tests::{fresh_store, fresh_table, post_json, registration, send, template_yaml, unique};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The scheduler's tick, its calls recorded as the billing-scheduler's.
async fn tick(
    store: &Store,
    policy: &BillingPolicy,
    now: OffsetDateTime,
) -> Result<Report, TickError> {
    tick_with(store, policy, now, &Options::default()).await
}

async fn tick_with(
    store: &Store,
    policy: &BillingPolicy,
    now: OffsetDateTime,
    options: &Options,
) -> Result<Report, TickError> {
    let store = function_store(store, "billing-scheduler");
    billing_scheduler::tick_with(&store, policy, now, options).await
}

/// The seeded Starter plan: 29.00 USD a month.
const STARTER: Uuid = Uuid::from_u128(0x57a27);

fn policy() -> BillingPolicy {
    BillingPolicy::default()
}

async fn seed_plans(store: &Store) {
    for plan in shared::tenancy::default_plans(OffsetDateTime::now_utc()) {
        store
            .platform()
            .put(&keys::plan(plan.id), &plan, Condition::NotExists)
            .await
            .unwrap();
    }
}

async fn starter(store: &Store) -> PlanRecord {
    store
        .platform()
        .get(&keys::plan(STARTER))
        .await
        .unwrap()
        .unwrap()
}

/// A fresh table with the default plans.
async fn plans_store() -> Store {
    let store = fresh_store().await;
    seed_plans(&store).await;
    store
}

/// A trial on the Starter plan ending at `trial_end`, written straight into
/// a new tenant's partition (the scheduler reads nothing else of a tenant).
fn trial_on_starter(scope: &TenantScope, trial_end: OffsetDateTime) -> SubscriptionRecord {
    let created = trial_end - Duration::days(14);
    SubscriptionRecord {
        id: Uuid::new_v4(),
        tenant_id: scope.tenant_id(),
        plan_id: Some(STARTER),
        status: SubscriptionStatus::Trial,
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
    .schedule(&policy())
}

async fn craft(store: &Store, scope: &TenantScope, sub: &SubscriptionRecord) {
    store
        .tenant(scope)
        .put(&keys::subscription(), sub, Condition::NotExists)
        .await
        .unwrap();
}

async fn subscription(store: &Store, scope: &TenantScope) -> SubscriptionRecord {
    store
        .tenant(scope)
        .get(&keys::subscription())
        .await
        .unwrap()
        .unwrap()
}

/// Replaces a registered tenant's subscription (conditionally, as a writer
/// would), rescheduled.
async fn rewrite(
    store: &Store,
    scope: &TenantScope,
    change: impl FnOnce(&mut SubscriptionRecord),
) -> SubscriptionRecord {
    let before = subscription(store, scope).await;
    let mut after = before.clone();
    change(&mut after);
    after.version = before.version + 1;
    let after = after.schedule(&policy());
    store
        .tenant(scope)
        .put(
            &keys::subscription(),
            &after,
            Condition::VersionIs(before.version),
        )
        .await
        .unwrap();
    after
}

async fn invoices(store: &Store, scope: &TenantScope) -> Vec<InvoiceRecord> {
    let page = PageRequest::new(100, None, "test-invoices");
    store
        .tenant(scope)
        .query(&keys::invoices(), &page)
        .await
        .unwrap()
        .items
}

async fn counter(store: &Store, year: i32) -> Option<u64> {
    store
        .platform()
        .get::<SequenceRecord>(&keys::invoice_sequence(year))
        .await
        .unwrap()
        .map(|s| s.last)
}

async fn audit_actions(store: &Store, scope: &TenantScope) -> Vec<(String, String)> {
    let page = PageRequest::new(100, None, "test-audit");
    let entries: Vec<AuditRecord> = store
        .tenant(scope)
        .query(&keys::audit_log(), &page)
        .await
        .unwrap()
        .items;
    entries
        .into_iter()
        .map(|e| (e.action, e.actor_email))
        .collect()
}

fn number(year: i32, n: u64) -> String {
    format!("INV-{year}-{n:06}")
}

/// Registers a tenant through the auth API: (email, access token, scope).
async fn register(s: &Setup, prefix: &str) -> (String, String, TenantScope) {
    let (slug, email) = unique(prefix);
    let res = post_json(
        &s.auth.app,
        "/api/auth/register/",
        &registration(&slug, &email),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let token = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    let tscope = scope(s, &token);
    (email, token, tscope)
}

async fn login(s: &Setup, email: &str) -> String {
    let res = post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": email, "password": "correct-horse-battery"}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["tokens"]["access"].as_str().unwrap().to_owned()
}

/// The tenant admin behind `token`, as the invoices API would see them.
async fn admin_actor(s: &Setup, token: &str) -> Actor {
    let verifier = TokenVerifier::new(
        &Jwks {
            keys: vec![s.auth.key.public_jwk()],
        },
        &s.auth.settings,
    )
    .unwrap();
    let state = shared::state::ApiState {
        store: function_store(&s.auth.store, "invoices"),
        verifier: Arc::new(verifier),
    };
    let request = http::Request::builder()
        .uri("/")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let (mut parts, ()) = request.into_parts();
    match Require::<AdministrationBillingManage>::from_request_parts(&mut parts, &state).await {
        Ok(admin) => admin.0,
        Err(_) => panic!("the token holds administration.billing.manage"),
    }
}

fn assert_nothing_done(report: &Report) {
    assert_eq!(report.transitions_total(), 0, "{report:?}");
    assert!(report.invoices_issued.is_empty(), "{report:?}");
    assert!(
        report.errors.is_empty() && report.table_errors.is_empty(),
        "{report:?}"
    );
}

#[tokio::test]
async fn trial_end_issues_one_pending_invoice_and_a_second_tick_changes_nothing() {
    let s = setup().await;
    let store = &s.auth.store;
    let (_, _, tscope) = register(&s, "trialend").await;
    // The tenant picked Starter during its trial (the trial keeps running).
    let sub = rewrite(store, &tscope, |sub| sub.plan_id = Some(STARTER)).await;
    let trial_end = sub.trial_ends_at.unwrap();
    assert_eq!(sub.status, SubscriptionStatus::Trial);

    // Before the trial's end: nothing is due, nothing changes.
    for now in [OffsetDateTime::now_utc(), trial_end - Duration::seconds(1)] {
        let report = tick(store, &policy(), now).await.unwrap();
        assert_nothing_done(&report);
        assert_eq!(report.tables_visited, [store.table_name()]);
    }
    assert_eq!(subscription(store, &tscope).await, sub);
    assert!(invoices(store, &tscope).await.is_empty());

    // At its end: one invoice for the first paid month, past due until paid.
    let report = tick(store, &policy(), trial_end).await.unwrap();
    let year = trial_end.year();
    assert_eq!(report.subscriptions_examined, 1);
    assert_eq!(report.invoices_issued, [number(year, 1)]);
    assert_eq!(report.transitions.get("subscription.invoice"), Some(&1));
    assert_eq!(report.transitions_total(), 1);
    assert!(report.errors.is_empty(), "{report:?}");
    let issued = invoices(store, &tscope).await;
    let [invoice] = issued.as_slice() else {
        panic!("{issued:?}")
    };
    assert_eq!(invoice.invoice_number, number(year, 1));
    assert_eq!(invoice.amount, starter(store).await.price_monthly);
    assert_eq!(invoice.amount.to_string(), "29.00");
    assert_eq!(invoice.currency, "USD");
    assert_eq!(invoice.status, InvoiceStatus::Pending);
    assert_eq!(
        (invoice.tenant_id, invoice.subscription_id),
        (tscope.tenant_id(), sub.id)
    );
    assert_eq!(invoice.period_start, trial_end);
    assert_eq!(
        invoice.period_end,
        shared::billing::add_cycle(trial_end, BillingCycle::Monthly)
    );
    assert_eq!(invoice.due_date, trial_end + Duration::days(7));
    let after = subscription(store, &tscope).await;
    assert_eq!(after.status, SubscriptionStatus::PastDue);
    assert_eq!(after.version, sub.version + 1);
    let open = after
        .open_invoice
        .expect("the invoice is open on the subscription");
    assert_eq!(
        (open.id, open.status, open.due_date),
        (invoice.id, InvoiceStatus::Pending, invoice.due_date)
    );
    assert_eq!(
        (after.current_period_start, after.current_period_end),
        (invoice.period_start, invoice.period_end)
    );
    assert_eq!(
        after.next_action_at,
        Some(invoice.due_date + Duration::days(14)),
        "next look: expiry"
    );
    assert_eq!(counter(store, year).await, Some(1));
    assert!(audit_actions(store, &tscope).await.contains(&(
        "invoice.issue".to_owned(),
        "system:billing-scheduler".to_owned()
    )));

    // The same tick again: the subscription is no longer due.
    let again = tick(store, &policy(), trial_end).await.unwrap();
    assert_nothing_done(&again);
    assert_eq!(again.subscriptions_examined, 0);
    assert_eq!(
        subscription(store, &tscope).await,
        after,
        "same version, nothing rewritten"
    );
    assert_eq!(invoices(store, &tscope).await.len(), 1);
    assert_eq!(counter(store, year).await, Some(1));
}

#[tokio::test]
async fn a_trial_still_on_the_free_trial_plan_expires_without_an_invoice() {
    let s = setup().await;
    let store = &s.auth.store;
    let (_, _, tscope) = register(&s, "freetrial").await;
    let sub = subscription(store, &tscope).await;
    let trial_end = sub.trial_ends_at.unwrap();
    assert_ne!(
        sub.plan_id,
        Some(STARTER),
        "registration starts on the Trial plan"
    );
    let report = tick(store, &policy(), trial_end).await.unwrap();
    assert_eq!(
        report.transitions.get("subscription.expire"),
        Some(&1),
        "{report:?}"
    );
    assert!(
        report.invoices_issued.is_empty(),
        "nothing was bought: no 0.00 invoice"
    );
    let after = subscription(store, &tscope).await;
    assert_eq!(
        (after.status, after.plan_id),
        (SubscriptionStatus::Expired, sub.plan_id)
    );
    assert!(invoices(store, &tscope).await.is_empty());
    assert_eq!(counter(store, trial_end.year()).await, None);
}

#[tokio::test]
async fn two_ticks_at_once_issue_exactly_one_invoice_per_tenant() {
    let store = plans_store().await;
    let trial_end = datetime!(2030-01-31 09:00 UTC);
    let mut scopes = Vec::new();
    for _ in 0..12 {
        let tscope = TenantScope::for_new_tenant();
        craft(&store, &tscope, &trial_on_starter(&tscope, trial_end)).await;
        scopes.push(tscope);
    }
    let policy = policy();
    let (a, b) = tokio::join!(
        tick(&store, &policy, trial_end),
        tick(&store, &policy, trial_end)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    eprintln!(
        "two ticks at once: {} + {} transitions, {} + {} lost writes",
        a.transitions_total(),
        b.transitions_total(),
        a.conflicts,
        b.conflicts
    );
    assert!(a.errors.is_empty() && b.errors.is_empty(), "{a:?}\n{b:?}");
    assert_eq!(
        a.transitions_total() + b.transitions_total(),
        12,
        "{a:?}\n{b:?}"
    );
    let mut numbers: Vec<String> = a
        .invoices_issued
        .iter()
        .chain(&b.invoices_issued)
        .cloned()
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        (1..=12).map(|n| number(2030, n)).collect::<Vec<_>>()
    );
    assert_eq!(counter(&store, 2030).await, Some(12));
    for tscope in &scopes {
        let issued = invoices(&store, tscope).await;
        let [invoice] = issued.as_slice() else {
            panic!("one invoice per tenant: {issued:?}")
        };
        let sub = subscription(&store, tscope).await;
        assert_eq!(sub.status, SubscriptionStatus::PastDue);
        assert_eq!(sub.version, 2, "one write");
        assert_eq!(sub.open_invoice.map(|o| o.id), Some(invoice.id));
        let issues = audit_actions(&store, tscope)
            .await
            .into_iter()
            .filter(|(a, _)| a == "invoice.issue")
            .count();
        assert_eq!(issues, 1);
    }
    // And nothing is left to do.
    assert_nothing_done(&tick(&store, &policy, trial_end).await.unwrap());
}

#[tokio::test]
async fn an_unpaid_subscription_expires_and_its_tokens_keep_only_administration() {
    let s = setup().await;
    let store = &s.auth.store;
    let (email, _, tscope) = register(&s, "unpaid").await;
    let sub = rewrite(store, &tscope, |sub| sub.plan_id = Some(STARTER)).await;
    let trial_end = sub.trial_ends_at.unwrap();

    let report = tick(store, &policy(), trial_end).await.unwrap();
    assert_eq!(report.invoices_issued.len(), 1, "{report:?}");
    let due = invoices(store, &tscope).await[0].due_date;
    assert_eq!(
        subscription(store, &tscope).await.status,
        SubscriptionStatus::PastDue
    );
    // Past due still works.
    let claims = claims_of(&s, &login(&s, &email).await);
    assert!(
        claims.enabled_modules.contains(&"crm".to_owned()),
        "{:?}",
        claims.enabled_modules
    );

    // Due + 7 days grace is past; expiry comes expire_after_days after the due date.
    let expiry = due + Duration::days(14);
    assert_nothing_done(
        &tick(store, &policy(), due + Duration::days(3))
            .await
            .unwrap(),
    );
    assert_nothing_done(
        &tick(store, &policy(), expiry - Duration::seconds(1))
            .await
            .unwrap(),
    );
    assert_eq!(
        subscription(store, &tscope).await.status,
        SubscriptionStatus::PastDue
    );
    let report = tick(store, &policy(), expiry).await.unwrap();
    assert_eq!(
        report.transitions.get("subscription.expire"),
        Some(&1),
        "{report:?}"
    );
    assert!(report.invoices_issued.is_empty());
    let expired = subscription(store, &tscope).await;
    assert_eq!(expired.status, SubscriptionStatus::Expired);
    assert_eq!(
        expired.next_action_at, None,
        "out of the due index for good"
    );
    assert_eq!(
        tick(store, &policy(), expiry + Duration::days(400))
            .await
            .unwrap()
            .subscriptions_examined,
        0
    );

    // A new login carries no module and only administration grants.
    let claims = claims_of(&s, &login(&s, &email).await);
    assert!(
        claims.enabled_modules.is_empty(),
        "{:?}",
        claims.enabled_modules
    );
    assert!(
        !claims.permissions.is_empty(),
        "the admin can still administer (and pay)"
    );
    assert!(
        claims
            .permissions
            .iter()
            .all(|(key, _)| key.starts_with("administration.")),
        "{:?}",
        claims.permissions
    );
}

#[tokio::test]
async fn payment_activates_and_renewals_follow_calendar_months() {
    let s = setup().await;
    let store = &s.auth.store;
    let (_, token, tscope) = register(&s, "renewal").await;
    let actor = admin_actor(&s, &token).await;
    // A trial that ends on a month's last day.
    let trial_end = datetime!(2027-01-31 09:00 UTC);
    let created = datetime!(2027-01-17 09:00 UTC);
    rewrite(store, &tscope, |sub| {
        sub.plan_id = Some(STARTER);
        sub.status = SubscriptionStatus::Trial;
        sub.billing_cycle = BillingCycle::Monthly;
        sub.created_at = created;
        sub.current_period_start = created;
        sub.current_period_end = trial_end;
        sub.trial_ends_at = Some(trial_end);
    })
    .await;

    let pay = |invoice: Uuid, at: OffsetDateTime| {
        let actor = actor.clone();
        let tscope = tscope.clone();
        async move {
            let paid = Settlement::Paid {
                provider: "manual".into(),
                reference: Some("bank transfer".into()),
            };
            billing_store::settle(
                store,
                &tscope,
                invoice,
                paid,
                &policy(),
                billing_store::By::User(&actor),
                at,
            )
            .await
            .unwrap()
        }
    };

    // Trial end: the first month's invoice.
    let report = tick(store, &policy(), trial_end).await.unwrap();
    assert_eq!(report.invoices_issued, [number(2027, 1)]);
    let first = invoices(store, &tscope).await.remove(0);
    assert_eq!(
        (first.period_start, first.period_end),
        (trial_end, datetime!(2027-02-28 09:00 UTC))
    );

    // Paid: active, nothing open, next look at the period end.
    let paid = pay(first.id, datetime!(2027-02-02 10:00 UTC)).await;
    assert_eq!(paid.status, InvoiceStatus::Paid);
    let sub = subscription(store, &tscope).await;
    assert_eq!(sub.status, SubscriptionStatus::Active);
    assert_eq!(sub.open_invoice, None);
    assert_eq!(sub.next_action_at, Some(datetime!(2027-02-28 09:00 UTC)));
    assert_nothing_done(
        &tick(store, &policy(), datetime!(2027-02-28 08:59:59 UTC))
            .await
            .unwrap(),
    );

    // Period end: the next month's invoice; still active during its grace.
    let report = tick(store, &policy(), datetime!(2027-02-28 09:00 UTC))
        .await
        .unwrap();
    assert_eq!(report.invoices_issued, [number(2027, 2)]);
    assert_eq!(report.transitions.get("subscription.invoice"), Some(&1));
    let sub = subscription(store, &tscope).await;
    assert_eq!(sub.status, SubscriptionStatus::Active);
    assert_eq!(
        (sub.current_period_start, sub.current_period_end),
        (
            datetime!(2027-02-28 09:00 UTC),
            datetime!(2027-03-31 09:00 UTC)
        )
    );
    let second = invoices(store, &tscope)
        .await
        .into_iter()
        .find(|i| i.invoice_number == number(2027, 2))
        .unwrap();
    assert_eq!(
        (second.period_start, second.period_end),
        (
            datetime!(2027-02-28 09:00 UTC),
            datetime!(2027-03-31 09:00 UTC)
        )
    );
    assert_eq!(second.due_date, datetime!(2027-03-07 09:00 UTC));
    assert_eq!(second.amount.to_string(), "29.00");
    pay(second.id, datetime!(2027-03-01 10:00 UTC)).await;

    // The anchor holds: back to the month's last day, not the 28th.
    let report = tick(store, &policy(), datetime!(2027-03-31 09:00 UTC))
        .await
        .unwrap();
    assert_eq!(report.invoices_issued, [number(2027, 3)]);
    let third = invoices(store, &tscope)
        .await
        .into_iter()
        .find(|i| i.invoice_number == number(2027, 3))
        .unwrap();
    assert_eq!(
        (third.period_start, third.period_end),
        (
            datetime!(2027-03-31 09:00 UTC),
            datetime!(2027-04-30 09:00 UTC)
        )
    );
    assert_nothing_done(
        &tick(store, &policy(), datetime!(2027-03-31 09:00 UTC))
            .await
            .unwrap(),
    );
    assert_eq!(counter(store, 2027).await, Some(3));
}

#[tokio::test]
async fn cancel_at_period_end_cancels_without_an_invoice() {
    let store = plans_store().await;
    let tscope = TenantScope::for_new_tenant();
    // Paid through the leap month, cancellation requested.
    let end = datetime!(2028-02-29 09:00 UTC);
    let sub = SubscriptionRecord {
        status: SubscriptionStatus::Active,
        current_period_start: datetime!(2028-01-31 09:00 UTC),
        current_period_end: end,
        trial_ends_at: Some(datetime!(2028-01-31 09:00 UTC)),
        cancel_at_period_end: true,
        version: 3,
        ..trial_on_starter(&tscope, datetime!(2028-01-31 09:00 UTC))
    }
    .schedule(&policy());
    assert_eq!(sub.next_action_at, Some(end));
    craft(&store, &tscope, &sub).await;

    assert_nothing_done(
        &tick(&store, &policy(), end - Duration::seconds(1))
            .await
            .unwrap(),
    );
    let report = tick(&store, &policy(), end + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(
        report.transitions.get("subscription.cancelled"),
        Some(&1),
        "{report:?}"
    );
    assert_eq!(report.transitions_total(), 1);
    assert!(report.invoices_issued.is_empty());
    let after = subscription(&store, &tscope).await;
    assert_eq!(after.status, SubscriptionStatus::Cancelled);
    assert_eq!(
        after.cancelled_at,
        Some(end),
        "effective at the period end, not when noticed"
    );
    assert_eq!(after.version, 4);
    assert_eq!(after.next_action_at, None);
    assert!(invoices(&store, &tscope).await.is_empty());
    assert_eq!(counter(&store, 2028).await, None);
    assert_eq!(
        tick(&store, &policy(), end + Duration::days(400))
            .await
            .unwrap()
            .subscriptions_examined,
        0
    );
}

#[tokio::test]
async fn a_hundred_concurrent_issuances_get_consecutive_numbers() {
    let (store, recorder) = recorded_store().await;
    seed_plans(&store).await;
    let due = datetime!(2031-01-31 09:00 UTC);
    let mut scopes = Vec::new();
    for _ in 0..100 {
        let tscope = TenantScope::for_new_tenant();
        craft(&store, &tscope, &trial_on_starter(&tscope, due)).await;
        scopes.push(tscope);
    }
    recorder.0.lock().unwrap().clear();
    let started = std::time::Instant::now();
    let options = Options {
        concurrency: 100,
        deadline: None,
    };
    // On the store's own client, whose connections the seeding opened: this
    // burst is timing-sensitive on a loaded DynamoDB Local, and a new client
    // (function_store) starts with none. The other scheduler tests record
    // the same calls.
    let report = billing_scheduler::tick_with(&store, &policy(), due, &options)
        .await
        .unwrap();
    let took = started.elapsed();
    let writes = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(op, _, _)| op == "TransactWriteItems")
        .count();
    eprintln!("100 concurrent invoice issuances took {took:?}: {writes} transactions (lost counter races are retried)");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.subscriptions_examined, 100);
    let expected: Vec<String> = (1..=100).map(|n| number(2031, n)).collect();
    assert_eq!(
        report.invoices_issued, expected,
        "distinct, consecutive, no gaps"
    );
    assert_eq!(
        counter(&store, 2031).await,
        Some(100),
        "the counter equals the last number"
    );
    // What is stored agrees: one invoice per tenant, the numbers once each.
    let mut stored = BTreeSet::new();
    for tscope in &scopes {
        let issued = invoices(&store, tscope).await;
        assert_eq!(issued.len(), 1);
        assert!(stored.insert(issued[0].invoice_number.clone()));
        assert_eq!(
            subscription(&store, tscope)
                .await
                .open_invoice
                .map(|o| o.id),
            Some(issued[0].id)
        );
    }
    assert_eq!(stored.into_iter().collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn a_due_subscription_in_a_dedicated_table_is_found_and_advanced() {
    let s = setup().await;
    let store = &s.auth.store;
    let main = store.table_name().to_owned();
    let table = format!("{main}-tenant-billing");
    let definition = TableDefinition::from_template(&template_yaml()).unwrap();
    let client = shared::runtime::dynamodb_client(Some(&tests::dynamodb_endpoint()));
    assert!(definition.create(&client, &table).await.unwrap());

    // A super admin creates a tenant pinned to it; its admin logs in.
    let root = token_for(&s, Uuid::new_v4(), true, Default::default());
    let (slug, email) = unique("pinnedbill");
    let mut body = registration(&slug, &email);
    body["dedicated_table"] = json!(table);
    let req = http::Request::builder()
        .method("POST")
        .uri("/api/tenants/")
        .header("authorization", format!("Bearer {root}"))
        .header("content-type", "application/json")
        .header("host", "api.test")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let res = send(&s.tenants, req).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let tscope = scope(&s, &login(&s, &email).await);
    assert_eq!(tscope.table(), Some(table.as_str()));
    let sub = rewrite(store, &tscope, |sub| sub.plan_id = Some(STARTER)).await;
    let trial_end = sub.trial_ends_at.unwrap();

    let report = tick(store, &policy(), trial_end).await.unwrap();
    assert_eq!(report.tables_visited, [main.clone(), table.clone()]);
    assert_eq!(report.subscriptions_examined, 1);
    assert_eq!(report.invoices_issued, [number(trial_end.year(), 1)]);
    assert!(
        report.errors.is_empty() && report.table_errors.is_empty(),
        "{report:?}"
    );
    let after = subscription(store, &tscope).await;
    assert_eq!(after.status, SubscriptionStatus::PastDue);
    let issued = invoices(store, &tscope).await;
    assert_eq!(issued.len(), 1);
    // The invoice lives in the tenant's table; the counter is platform-wide.
    let key = |sk: String| {
        [
            (
                "PK".to_owned(),
                AttributeValue::S(format!("TENANT#{}", tscope.tenant_id())),
            ),
            ("SK".to_owned(), AttributeValue::S(sk)),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let sk = format!("INVOICE#{}", issued[0].id);
    let in_dedicated = client
        .get_item()
        .table_name(&table)
        .set_key(Some(key(sk.clone())))
        .send()
        .await
        .unwrap();
    let in_main = client
        .get_item()
        .table_name(&main)
        .set_key(Some(key(sk)))
        .send()
        .await
        .unwrap();
    assert!(in_dedicated.item.is_some() && in_main.item.is_none());
    assert_eq!(counter(store, trial_end.year()).await, Some(1));
    assert_nothing_done(&tick(store, &policy(), trial_end).await.unwrap());
}

/// One DynamoDB call: operation, and for queries the table and index.
type Call = (String, Option<String>, Option<String>);

/// Records each DynamoDB call.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Call>>>);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        let query = context
            .input()
            .downcast_ref::<aws_sdk_dynamodb::operation::query::QueryInput>();
        let table = query.and_then(|q| q.table_name()).map(str::to_owned);
        let index = query.and_then(|q| q.index_name()).map(str::to_owned);
        self.0.lock().unwrap().push((operation, table, index));
        Ok(())
    }
}

/// A store over a fresh table whose calls are recorded.
async fn recorded_store() -> (Store, Recorder) {
    let (_, table) = fresh_table().await;
    let recorder = Recorder::default();
    let config = shared::runtime::dynamodb_config(
        &shared::runtime::sdk_config(),
        Some(&tests::dynamodb_endpoint()),
    )
    .interceptor(recorder.clone())
    .build();
    let store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        table,
        CursorSigner::new(tests::TEST_CURSOR_SECRET.to_vec()),
    );
    (store, recorder)
}

#[tokio::test]
async fn a_tick_with_nothing_due_only_queries_the_due_index() {
    let (store, recorder) = recorded_store().await;
    let main = store.table_name().to_owned();
    seed_plans(&store).await;
    let later = datetime!(2032-06-30 09:00 UTC);
    // Tenants in the main table, none due yet.
    for _ in 0..5 {
        let tscope = TenantScope::for_new_tenant();
        craft(&store, &tscope, &trial_on_starter(&tscope, later)).await;
    }
    // And one in a dedicated table (its routing item lists the table).
    let table = format!("{main}-tenant-quiet");
    let definition = TableDefinition::from_template(&template_yaml()).unwrap();
    let client = shared::runtime::dynamodb_client(Some(&tests::dynamodb_endpoint()));
    assert!(definition.create(&client, &table).await.unwrap());
    let dedicated = store.dedicated_table(&table).await.unwrap();
    let tscope = TenantScope::for_new_tenant_in(&dedicated);
    let route = TenantRouteRecord {
        tenant_id: tscope.tenant_id(),
        table: table.clone(),
        created_at: OffsetDateTime::now_utc(),
    };
    store
        .platform()
        .put(
            &keys::tenant_route(tscope.tenant_id()),
            &route,
            Condition::NotExists,
        )
        .await
        .unwrap();
    craft(&store, &tscope, &trial_on_starter(&tscope, later)).await;

    recorder.0.lock().unwrap().clear();
    let report = tick(&store, &policy(), datetime!(2032-06-30 08:00 UTC))
        .await
        .unwrap();
    assert_nothing_done(&report);
    assert_eq!(report.subscriptions_examined, 0);
    assert_eq!(report.tables_visited, [main.clone(), table.clone()]);
    let calls = recorder.0.lock().unwrap().clone();
    let gsi3 = |t: &str| {
        (
            "Query".to_owned(),
            Some(t.to_owned()),
            Some(keys::GSI3.to_owned()),
        )
    };
    // Due in the main table, the dedicated tables (main table), due in the dedicated one.
    assert_eq!(calls, [gsi3(&main), gsi3(&main), gsi3(&table)]);

    // An hour later they are all due: found through the same queries.
    recorder.0.lock().unwrap().clear();
    let report = tick(&store, &policy(), later).await.unwrap();
    assert_eq!(report.subscriptions_examined, 6);
    assert_eq!(report.invoices_issued.len(), 6, "{report:?}");
    let calls = recorder.0.lock().unwrap().clone();
    assert!(!calls.iter().any(|(op, _, _)| op == "Scan"), "{calls:?}");
    assert!(calls
        .iter()
        .filter(|(op, _, _)| op == "Query")
        .all(|(_, _, index)| index.as_deref() == Some(keys::GSI3)));
}

/// The seeded Professional plan: 99.00 a month, every module.
const PROFESSIONAL: Uuid = Uuid::from_u128(0x960f);

#[tokio::test]
async fn logins_follow_the_entitlement_rule_past_due_within_grace_after_grace_and_incomplete() {
    let s = setup().await;
    let store = &s.auth.store;
    let (email, _, tscope) = register(&s, "grace").await;
    let now = OffsetDateTime::now_utc();
    let owing = |modules_until: OffsetDateTime| shared::billing::OpenInvoice {
        id: Uuid::now_v7(),
        period_start: now - Duration::days(20),
        period_end: now + Duration::days(10),
        due_date: modules_until - Duration::days(7),
        status: InvoiceStatus::Pending,
        modules_until: Some(modules_until),
    };
    let modules = |token: String| claims_of(&s, &token).enabled_modules;

    // Past due, within the grace: modules stay.
    rewrite(store, &tscope, |sub| {
        sub.plan_id = Some(STARTER);
        sub.status = SubscriptionStatus::PastDue;
        sub.open_invoice = Some(owing(now + Duration::hours(1)));
    })
    .await;
    assert!(modules(login(&s, &email).await).contains(&"crm".to_owned()));

    // Past the grace: only administration, even before the scheduler moves it.
    rewrite(store, &tscope, |sub| {
        sub.open_invoice = Some(owing(now - Duration::hours(1)));
    })
    .await;
    assert!(modules(login(&s, &email).await).is_empty());
    rewrite(store, &tscope, |sub| {
        sub.status = SubscriptionStatus::Active;
    })
    .await;
    assert!(modules(login(&s, &email).await).is_empty());

    // Restarted and not yet paid: nothing, however recent the invoice.
    rewrite(store, &tscope, |sub| {
        sub.status = SubscriptionStatus::Incomplete;
        sub.open_invoice = Some(owing(now + Duration::days(14)));
    })
    .await;
    assert!(modules(login(&s, &email).await).is_empty());
}

#[tokio::test]
async fn a_scheduled_downgrade_applies_at_the_renewal_and_not_before() {
    let s = setup().await;
    let store = &s.auth.store;
    let (_, _, tscope) = register(&s, "downgrade").await;
    let end = datetime!(2031-05-01 00:00 UTC);
    rewrite(store, &tscope, |sub| {
        sub.status = SubscriptionStatus::Active;
        sub.plan_id = Some(PROFESSIONAL);
        sub.trial_ends_at = Some(datetime!(2031-04-01 00:00 UTC));
        sub.current_period_start = datetime!(2031-04-01 00:00 UTC);
        sub.current_period_end = end;
        sub.scheduled_change = Some(shared::records::ScheduledChange {
            plan_id: STARTER,
            billing_cycle: BillingCycle::Monthly,
        });
    })
    .await;
    // A module Starter lacks, enabled while on Professional.
    let profile: shared::records::TenantRecord = store
        .tenant(&tscope)
        .get(&keys::tenant_profile())
        .await
        .unwrap()
        .unwrap();
    let mut with_tasks = profile.clone();
    with_tasks
        .enabled_modules
        .push(shared::permissions::Module::Tasks);
    store
        .tenant(&tscope)
        .put(&keys::tenant_profile(), &with_tasks, Condition::Always)
        .await
        .unwrap();

    assert_nothing_done(
        &tick(store, &policy(), end - Duration::seconds(1))
            .await
            .unwrap(),
    );
    assert_eq!(
        subscription(store, &tscope).await.plan_id,
        Some(PROFESSIONAL)
    );

    let report = tick(store, &policy(), end).await.unwrap();
    assert_eq!(report.invoices_issued.len(), 1, "{report:?}");
    let renewed = subscription(store, &tscope).await;
    assert_eq!(renewed.plan_id, Some(STARTER));
    assert_eq!(renewed.scheduled_change, None);
    assert_eq!(
        (renewed.current_period_start, renewed.current_period_end),
        (end, datetime!(2031-06-01 00:00 UTC))
    );
    let issued = invoices(store, &tscope).await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].amount.to_string(), "29.00");
    let profile: shared::records::TenantRecord = store
        .tenant(&tscope)
        .get(&keys::tenant_profile())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile.enabled_modules, {
        let mut m = with_tasks.enabled_modules.clone();
        m.retain(|m| *m != shared::permissions::Module::Tasks);
        m
    });
    assert!(audit_actions(store, &tscope)
        .await
        .iter()
        .any(|(action, _)| action == "tenant.modules"));
}
