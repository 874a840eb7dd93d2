//! The invoices function against DynamoDB Local. Invoices are issued as the
//! billing scheduler issues them: a tenant registers (trial), picks a paid
//! plan, and `billing_store::advance_once` runs after the trial has ended.

use crate::plans::root;
use http::StatusCode;
use serde_json::{json, Value};
use shared::billing::BillingPolicy;
use shared::billing_store::{self, Step};
use shared::keys;
use shared::records::{AuditRecord, InvoiceRecord, SubscriptionRecord, SubscriptionStatus};
use shared::store::{PageRequest, TenantScope};
use tests::app::{call_plain, path_of, scope, setup, tenant, token_for, Setup};
use tests::{send, TestResponse};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const STARTER: u128 = 0x57a27;

async fn get(s: &Setup, uri: &str, token: &str) -> TestResponse {
    call_plain(&s.invoices, "GET", uri, Some(token), None, None).await
}

/// A POST as `token` (an invoice's `mark_paid` or `mark_failed`).
async fn post(s: &Setup, uri: &str, token: &str, body: Option<Value>) -> TestResponse {
    call_plain(&s.invoices, "POST", uri, Some(token), body, None).await
}

/// [`post`] as a super admin of another tenant, their first request: it
/// succeeds after reading the caller's tenant's revocation state, then the
/// `INVOICEREF#` item, the routing item, the invoice and subscription, and
/// writing one transaction.
async fn first_settlement(s: &Setup, uri: &str, root: &str, body: Option<Value>) -> TestResponse {
    s.auth.calls.reset();
    let res = post(s, uri, root, body).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        s.auth.calls.calls(),
        vec![
            "BatchGetItem",
            "GetItem",
            "GetItem",
            "BatchGetItem",
            "TransactWriteItems"
        ],
        "INVOICEREF#, routing item, invoice + subscription, one transaction"
    );
    res
}

async fn subscription(s: &Setup, scope: &TenantScope) -> SubscriptionRecord {
    s.auth
        .store
        .tenant(scope)
        .get(&keys::subscription())
        .await
        .unwrap()
        .unwrap()
}

/// Runs the scheduler's step for the tenant at `now`; it must issue an invoice.
async fn advance_to_invoice(s: &Setup, scope: &TenantScope, now: OffsetDateTime) -> InvoiceRecord {
    let step = billing_store::advance_once(&s.auth.store, scope, &BillingPolicy::default(), now)
        .await
        .unwrap();
    match step {
        Step::Applied {
            invoice: Some(invoice),
            ..
        } => *invoice,
        other => panic!("expected an invoice, got {other:?}"),
    }
}

/// A tenant on the Starter plan (monthly) whose trial has ended: its first
/// invoice, pending, and the subscription past due until it is paid.
async fn billed_tenant(s: &Setup, prefix: &str) -> (String, TenantScope, InvoiceRecord) {
    let admin = tenant(s, prefix).await;
    let scope = scope(s, &admin);
    let body = json!({"plan_id": Uuid::from_u128(STARTER), "billing_cycle": "monthly"});
    let req = http::Request::builder()
        .method("POST")
        .uri("/api/subscriptions/subscribe/")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let res = send(&s.subscriptions, req).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let trial_end = subscription(s, &scope)
        .await
        .trial_ends_at
        .expect("a trial");
    let invoice = advance_to_invoice(s, &scope, trial_end + Duration::minutes(1)).await;
    assert_eq!(
        subscription(s, &scope).await.status,
        SubscriptionStatus::PastDue
    );
    (admin, scope, invoice)
}

/// Pays the tenant's open invoice through the API, then lets the scheduler
/// issue the next period's invoice.
async fn pay_and_renew(s: &Setup, scope: &TenantScope, invoice: &InvoiceRecord) -> InvoiceRecord {
    let uri = format!("/api/invoices/{}/mark_paid/", invoice.id);
    let res = post(s, &uri, &root(s), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let period_end = subscription(s, scope).await.current_period_end;
    advance_to_invoice(s, scope, period_end + Duration::minutes(1)).await
}

async fn audit(s: &Setup, scope: &TenantScope, action: &str) -> Vec<AuditRecord> {
    let page = PageRequest::new(100, None, "audit");
    let all = s
        .auth
        .store
        .tenant(scope)
        .query::<AuditRecord>(&keys::audit_log(), &page)
        .await
        .unwrap()
        .items;
    all.into_iter().filter(|a| a.action == action).collect()
}

fn ids(res: &TestResponse) -> Vec<String> {
    res.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn tenant_admins_list_only_their_own_invoices_newest_first() {
    let s = setup().await;
    let (a, a_scope, first) = billed_tenant(&s, "invlista").await;
    let second = pay_and_renew(&s, &a_scope, &first).await;
    let (_, b_scope, b_invoice) = billed_tenant(&s, "invlistb").await;

    s.auth.calls.reset();
    let res = get(&s, "/api/invoices/", &a).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        s.auth.calls.calls(),
        vec!["Query"],
        "a tenant's page is one query"
    );
    assert_eq!(
        ids(&res),
        vec![second.id.to_string(), first.id.to_string()],
        "newest first, none of b's"
    );
    let body = res.json();
    assert_eq!(
        (&body["next"], &body["previous"]),
        (&Value::Null, &Value::Null)
    );
    assert!(!res.text().contains(&b_invoice.id.to_string()));
    assert!(!res.text().contains(&b_scope.tenant_id().to_string()));

    // Filters.
    assert_eq!(
        ids(&get(&s, "/api/invoices/?status=paid", &a).await),
        vec![first.id.to_string()]
    );
    assert_eq!(
        ids(&get(&s, "/api/invoices/?status=pending", &a).await),
        vec![second.id.to_string()]
    );
    assert!(ids(&get(&s, "/api/invoices/?status=void", &a).await).is_empty());
    // Another tenant's id as a filter matches nothing (and costs nothing).
    s.auth.calls.reset();
    let res = get(
        &s,
        &format!("/api/invoices/?tenant={}", b_scope.tenant_id()),
        &a,
    )
    .await;
    assert_eq!((res.status, ids(&res).len()), (StatusCode::OK, 0));
    assert!(s.auth.calls.calls().is_empty());
    let res = get(
        &s,
        &format!("/api/invoices/?tenant={}", a_scope.tenant_id()),
        &a,
    )
    .await;
    assert_eq!(ids(&res).len(), 2);

    // Invalid and unknown parameters are refused, naming them.
    let res = get(&s, "/api/invoices/?status=settled", &a).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["status"].is_array(), "{}", res.text());
    let res = get(&s, "/api/invoices/?tenant=acme", &a).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["tenant"].is_array(), "{}", res.text());
    let res = get(&s, "/api/invoices/?ordering=amount", &a).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["ordering"].is_array(), "{}", res.text());
    assert_eq!(
        get(&s, "/api/invoices/?page_size=101", &a).await.status,
        StatusCode::BAD_REQUEST
    );

    // Pages of one, following the links; b cannot use a's cursor.
    let res = get(&s, "/api/invoices/?page_size=1", &a).await;
    assert_eq!(ids(&res), vec![second.id.to_string()]);
    let next = path_of(&res.json()["next"]);
    let res = get(&s, &next, &a).await;
    assert_eq!(ids(&res), vec![first.id.to_string()]);
    assert_eq!(res.json()["next"], Value::Null);
    let b_admin = token_for(
        &s,
        b_scope.tenant_id(),
        false,
        shared::permissions::flatten(&shared::permissions::admin_permissions()),
    );
    assert_eq!(get(&s, &next, &b_admin).await.status, StatusCode::NOT_FOUND);

    // Members are not admins; anonymous callers are refused; a foreign
    // X-Tenant-Id is not found.
    let member = token_for(&s, a_scope.tenant_id(), false, Default::default());
    assert_eq!(
        get(&s, "/api/invoices/", &member).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call_plain(&s.invoices, "GET", "/api/invoices/", None, None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let res = call_plain(
        &s.invoices,
        "GET",
        "/api/invoices/",
        Some(&a),
        None,
        Some(&b_scope.tenant_id().to_string()),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn super_admins_list_every_tenants_invoices_and_filter_by_tenant_and_status() {
    let s = setup().await;
    let root = root(&s);
    let (_, a_scope, a_first) = billed_tenant(&s, "invsupa").await;
    let a_second = pay_and_renew(&s, &a_scope, &a_first).await;
    let (_, b_scope, b_first) = billed_tenant(&s, "invsupb").await;
    let (a_first, a_second, b_first) = (
        a_first.id.to_string(),
        a_second.id.to_string(),
        b_first.id.to_string(),
    );

    s.auth.calls.reset();
    let res = get(&s, "/api/invoices/", &root).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // First: the caller's tenant's revocation state (its first request).
    assert_eq!(
        s.auth.calls.calls(),
        vec!["BatchGetItem", "Query"],
        "one query of GSI1 INVOICES"
    );
    // Newest issue first: b's first invoice and a's second were issued on
    // dates later than a's first.
    let all = ids(&res);
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all.last(), Some(&a_first), "{all:?}");
    assert!(all.contains(&a_second) && all.contains(&b_first));

    assert_eq!(
        ids(&get(&s, "/api/invoices/?status=paid", &root).await),
        vec![a_first.clone()]
    );
    let pending = ids(&get(&s, "/api/invoices/?status=pending", &root).await);
    assert_eq!(pending.len(), 2);
    assert!(pending.contains(&a_second) && pending.contains(&b_first));

    // By tenant: that tenant's partition (its routing item, then one query).
    s.auth.calls.reset();
    let res = get(
        &s,
        &format!("/api/invoices/?tenant={}", a_scope.tenant_id()),
        &root,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(ids(&res), vec![a_second.clone(), a_first.clone()]);
    assert_eq!(s.auth.calls.calls(), vec!["GetItem", "Query"]);
    let res = get(
        &s,
        &format!(
            "/api/invoices/?tenant={}&status=pending",
            b_scope.tenant_id()
        ),
        &root,
    )
    .await;
    assert_eq!(ids(&res), vec![b_first.clone()]);
    let res = get(
        &s,
        &format!("/api/invoices/?tenant={}&status=paid", b_scope.tenant_id()),
        &root,
    )
    .await;
    assert!(ids(&res).is_empty());
    let res = get(
        &s,
        &format!("/api/invoices/?tenant={}", Uuid::new_v4()),
        &root,
    )
    .await;
    assert_eq!(
        (res.status, ids(&res).len()),
        (StatusCode::OK, 0),
        "an unknown tenant has no invoices"
    );

    // With X-Tenant-Id: that tenant's invoices only.
    let res = call_plain(
        &s.invoices,
        "GET",
        "/api/invoices/",
        Some(&root),
        None,
        Some(&b_scope.tenant_id().to_string()),
    )
    .await;
    assert_eq!(ids(&res), vec![b_first.clone()]);
    let res = call_plain(
        &s.invoices,
        "GET",
        &format!("/api/invoices/?tenant={}", a_scope.tenant_id()),
        Some(&root),
        None,
        Some(&b_scope.tenant_id().to_string()),
    )
    .await;
    assert!(ids(&res).is_empty(), "the header names the tenant acted in");

    // Platform pages of one follow each other without repeats.
    let mut seen = Vec::new();
    let mut uri = "/api/invoices/?page_size=1".to_owned();
    loop {
        let res = get(&s, &uri, &root).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        seen.extend(ids(&res));
        match res.json()["next"].as_str() {
            Some(_) => uri = path_of(&res.json()["next"]),
            None => break,
        }
    }
    assert_eq!(seen, all);
}

#[tokio::test]
async fn retrieving_an_invoice_shows_its_fields_and_only_to_its_tenant_or_super_admins() {
    let s = setup().await;
    let (a, a_scope, invoice) = billed_tenant(&s, "invgeta").await;
    let b = tenant(&s, "invgetb").await;
    let uri = format!("/api/invoices/{}/", invoice.id);

    s.auth.calls.reset();
    let res = get(&s, &uri, &a).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        s.auth.calls.calls(),
        vec!["GetItem"],
        "a retrieve is one call"
    );
    let body = res.json();
    let sub = subscription(&s, &a_scope).await;
    let rfc = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    assert_eq!(
        body,
        json!({
            "id": invoice.id,
            "tenant": a_scope.tenant_id(),
            "subscription": sub.id,
            "invoice_number": invoice.invoice_number,
            "amount": "29.00",
            "currency": "USD",
            "status": "pending",
            "period_start": rfc(invoice.period_start),
            "period_end": rfc(invoice.period_end),
            "due_date": rfc(invoice.due_date),
            "paid_at": null,
            "payment_provider": null,
            "payment_reference": null,
            "created_at": rfc(invoice.created_at),
        })
    );
    let number = body["invoice_number"].as_str().unwrap();
    assert!(
        shared::billing::parse_invoice_number(number).is_ok(),
        "{number}"
    );
    assert_eq!(
        invoice.period_start,
        sub.trial_ends_at.unwrap(),
        "the first period starts when the trial ends"
    );

    // Another tenant's admin: not found, not forbidden; members: forbidden.
    assert_eq!(get(&s, &uri, &b).await.status, StatusCode::NOT_FOUND);
    let member = token_for(&s, a_scope.tenant_id(), false, Default::default());
    assert_eq!(get(&s, &uri, &member).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        call_plain(&s.invoices, "GET", &uri, None, None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&s, "/api/invoices/not-a-uuid/", &a).await.status,
        StatusCode::NOT_FOUND
    );

    // Super admins: any invoice, found through INVOICEREF# and the routing item.
    let root = root(&s);
    s.auth.calls.reset();
    let res = get(&s, &uri, &root).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json(), body);
    // First: the caller's tenant's revocation state (its first request).
    assert_eq!(
        s.auth.calls.calls(),
        vec!["BatchGetItem", "GetItem", "GetItem", "GetItem"]
    );
    assert_eq!(
        get(&s, &format!("/api/invoices/{}/", Uuid::now_v7()), &root)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // ...with X-Tenant-Id: that tenant's only.
    let res = call_plain(
        &s.invoices,
        "GET",
        &uri,
        Some(&root),
        None,
        Some(&a_scope.tenant_id().to_string()),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = call_plain(
        &s.invoices,
        "GET",
        &uri,
        Some(&root),
        None,
        Some(&scope(&s, &b).tenant_id().to_string()),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn marking_paid_activates_the_subscription_and_is_audited_once() {
    let s = setup().await;
    let root = root(&s);
    let (a, scope, invoice) = billed_tenant(&s, "invpay").await;
    let uri = format!("/api/invoices/{}/mark_paid/", invoice.id);
    let before = OffsetDateTime::now_utc() - Duration::seconds(1);

    let res = first_settlement(&s, &uri, &root, Some(json!({"reference": "  SEPA-42  "}))).await;
    let paid = res.json();
    assert_eq!(paid["status"], "paid");
    assert_eq!(
        (
            paid["payment_provider"].as_str(),
            paid["payment_reference"].as_str()
        ),
        (Some("manual"), Some("SEPA-42"))
    );
    assert_eq!(paid["amount"], "29.00");
    let paid_at = OffsetDateTime::parse(
        paid["paid_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        paid_at >= before && paid_at <= OffsetDateTime::now_utc(),
        "{paid_at}"
    );
    assert_eq!(
        get(&s, &format!("/api/invoices/{}/", invoice.id), &a)
            .await
            .json(),
        paid,
        "stored as answered"
    );

    // The subscription is active, as the tenant admin sees it.
    let req = http::Request::builder()
        .uri("/api/subscriptions/my_subscription/")
        .header("authorization", format!("Bearer {a}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let mine = send(&s.subscriptions, req).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    assert_eq!(mine.json()["status"], "active");
    let sub = subscription(&s, &scope).await;
    assert_eq!(sub.status, SubscriptionStatus::Active);
    assert_eq!(sub.open_invoice, None);
    assert_eq!(
        (sub.current_period_start, sub.current_period_end),
        (invoice.period_start, invoice.period_end)
    );

    // Audited once, in the tenant's log, as the super admin from outside.
    let entries = audit(&s, &scope, "invoice.mark_paid").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].via_super_admin);
    assert_eq!(entries[0].entity_id, invoice.id.to_string());
    assert_eq!(
        entries[0].changes["status"],
        json!({"before": "pending", "after": "paid"})
    );
    let moved = audit(&s, &scope, "subscription.payment").await;
    assert_eq!(moved.len(), 1);
    assert!(moved[0].via_super_admin);

    // Paying twice, or failing a paid invoice, is an invalid transition;
    // nothing more is written.
    let res = post(&s, &uri, &root, None).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"detail": "An invoice cannot go from paid to paid.", "code": "invalid_transition"})
    );
    let res = post(
        &s,
        &format!("/api/invoices/{}/mark_failed/", invoice.id),
        &root,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json(),
        json!({"detail": "An invoice cannot go from paid to failed.", "code": "invalid_transition"})
    );
    assert_eq!(audit(&s, &scope, "invoice.mark_paid").await.len(), 1);
    assert!(audit(&s, &scope, "invoice.mark_failed").await.is_empty());
    assert_eq!(subscription(&s, &scope).await.version, sub.version);
}

#[tokio::test]
async fn a_failed_invoice_can_still_be_paid() {
    let s = setup().await;
    let root = root(&s);
    let (_, scope, invoice) = billed_tenant(&s, "invfail").await;

    let uri = format!("/api/invoices/{}/mark_failed/", invoice.id);
    let res = first_settlement(&s, &uri, &root, None).await;
    assert_eq!(
        (res.json()["status"].as_str(), &res.json()["paid_at"]),
        (Some("failed"), &Value::Null)
    );
    let sub = subscription(&s, &scope).await;
    assert_eq!(
        sub.status,
        SubscriptionStatus::PastDue,
        "the money is still owed"
    );
    assert_eq!(
        sub.open_invoice.map(|o| o.status),
        Some(shared::billing::InvoiceStatus::Failed)
    );
    let failed = audit(&s, &scope, "invoice.mark_failed").await;
    assert_eq!(failed.len(), 1);
    assert!(failed[0].via_super_admin);

    let res = post(&s, &uri, &root, None).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.json()["code"], "invalid_transition");

    // No body at all is fine for mark_paid.
    let res = post(
        &s,
        &format!("/api/invoices/{}/mark_paid/", invoice.id),
        &root,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        (
            res.json()["status"].as_str(),
            &res.json()["payment_reference"]
        ),
        (Some("paid"), &Value::Null)
    );
    assert_eq!(
        subscription(&s, &scope).await.status,
        SubscriptionStatus::Active
    );
    assert_eq!(audit(&s, &scope, "invoice.mark_paid").await.len(), 1);
    assert_eq!(audit(&s, &scope, "invoice.mark_failed").await.len(), 1);
}

#[tokio::test]
async fn only_super_admins_settle_invoices() {
    let s = setup().await;
    let root = root(&s);
    let (a, scope, invoice) = billed_tenant(&s, "invperm").await;
    let b = tenant(&s, "invpermb").await;
    let member = token_for(&s, scope.tenant_id(), false, Default::default());
    for action in ["mark_paid", "mark_failed"] {
        let uri = format!("/api/invoices/{}/{action}/", invoice.id);
        for (who, token) in [("admin", &a), ("member", &member), ("other admin", &b)] {
            let res = post(&s, &uri, token, None).await;
            assert_eq!(
                res.status,
                StatusCode::FORBIDDEN,
                "{action} as {who}: {}",
                res.text()
            );
        }
        let res = call_plain(
            &s.invoices,
            "POST",
            &uri,
            Some(&a),
            None,
            Some(&scope.tenant_id().to_string()),
        )
        .await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "the header makes no tenant admin a super admin"
        );
        assert_eq!(
            call_plain(&s.invoices, "POST", &uri, None, None, None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        let unknown = format!("/api/invoices/{}/{action}/", Uuid::now_v7());
        assert_eq!(
            post(&s, &unknown, &root, None).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let stored: InvoiceRecord = s
        .auth
        .store
        .tenant(&scope)
        .get(&keys::invoice(invoice.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, invoice, "nothing changed");

    // The body is optional, but what is sent is checked.
    let uri = format!("/api/invoices/{}/mark_paid/", invoice.id);
    for bad in [
        json!({"reference": ""}),
        json!({"reference": "x".repeat(201)}),
        json!({"reference": 42}),
    ] {
        let res = post(&s, &uri, &root, Some(bad.clone())).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.text());
        assert!(res.json()["reference"].is_array(), "{bad}: {}", res.text());
    }
    let res = post(&s, &uri, &root, Some(json!({"amount": "1.00"}))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["amount"].is_array(), "{}", res.text());
    let req = http::Request::builder()
        .method("POST")
        .uri(&uri)
        .header("authorization", format!("Bearer {root}"))
        .header("content-type", "text/plain")
        .body(axum::body::Body::from("paid"))
        .unwrap();
    assert_eq!(
        send(&s.invoices, req).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert!(audit(&s, &scope, "invoice.mark_paid").await.is_empty());

    // The super admin's own tenant needs no routing lookup.
    let own_root = token_for(&s, scope.tenant_id(), true, Default::default());
    s.auth.calls.reset();
    let res = post(&s, &uri, &own_root, Some(json!({}))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        s.auth.calls.calls(),
        vec!["GetItem", "BatchGetItem", "TransactWriteItems"]
    );
    let entries = audit(&s, &scope, "invoice.mark_paid").await;
    assert_eq!(entries.len(), 1);
    assert!(
        !entries[0].via_super_admin,
        "a super admin in their own tenant acts as themselves"
    );
}
