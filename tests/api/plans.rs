//! The plans function against DynamoDB Local.

use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::records::{AuditRecord, PlanRecord};
use shared::store::PageRequest;
use tests::app::{assert_field_error, call, scope, setup, tenant, token_for, Setup};
use uuid::Uuid;

pub(crate) fn root(s: &Setup) -> String {
    token_for(s, Uuid::new_v4(), true, Default::default())
}

fn growth(slug: &str) -> Value {
    json!({
        "name": "Growth",
        "slug": slug,
        "description": "For growing teams",
        "price_monthly": "49",
        "price_yearly": "490.5",
        "max_users": 3,
        "included_modules": ["crm", "tasks", "crm"],
        "features": ["Priority support"],
        "sort_order": 15,
    })
}

async fn audit_of(s: &Setup, token: &str) -> Vec<AuditRecord> {
    let scope = scope(s, token);
    let page = PageRequest::new(100, None, "audit");
    s.auth
        .store
        .tenant(&scope)
        .query::<AuditRecord>(&keys::audit_log(), &page)
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn super_admins_create_and_change_plans_with_exact_money() {
    let s = setup().await;
    let root = root(&s);
    s.auth.calls.reset();
    let res = call(
        &s.plans,
        "POST",
        "/api/plans/",
        Some(&root),
        Some(growth("growth")),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    // First: the caller's tenant's revocation state (its first request).
    assert_eq!(
        s.auth.calls.calls(),
        vec!["BatchGetItem", "TransactWriteItems"],
        "a create is one transaction"
    );
    let plan = res.json();
    assert_eq!(plan["price_monthly"], "49.00");
    assert_eq!(plan["price_yearly"], "490.50");
    assert_eq!(plan["currency"], "USD", "the configured default");
    assert_eq!(plan["max_users"], 3);
    assert_eq!(plan["max_leads"], Value::Null, "null is unlimited");
    assert_eq!(plan["included_modules"], json!(["crm", "tasks"]));
    assert_eq!(plan["is_active"], true);
    let id = plan["id"].as_str().unwrap().to_owned();

    // Slugs are unique platform-wide.
    let res = call(
        &s.plans,
        "POST",
        "/api/plans/",
        Some(&root),
        Some(growth("growth")),
        None,
    )
    .await;
    assert_field_error(&res, "slug", "A plan with this slug already exists.");

    // Money is never a float, never negative, never more than two decimals.
    for (field, bad) in [
        ("price_monthly", json!(49.5)),
        ("price_monthly", json!(49.0)),
        ("price_yearly", json!("-1.00")),
        ("price_yearly", json!("10.999")),
        ("price_monthly", json!("ten")),
    ] {
        let mut body = growth("other-plan");
        body[field] = bad.clone();
        let res = call(
            &s.plans,
            "POST",
            "/api/plans/",
            Some(&root),
            Some(body),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(res.json()[field].is_array(), "{bad}: {}", res.text());
    }
    let mut body = growth("other-plan");
    body["included_modules"] = json!(["crm", "payroll"]);
    body["currency"] = json!("usd");
    let res = call(
        &s.plans,
        "POST",
        "/api/plans/",
        Some(&root),
        Some(body),
        None,
    )
    .await;
    assert_eq!(
        res.json(),
        json!({
            "included_modules": ["Unknown module 'payroll'."],
            "currency": ["Enter an ISO 4217 currency code: 3 uppercase letters, e.g. \"USD\"."],
        })
    );

    // Stored exactly.
    let stored: PlanRecord = s
        .auth
        .store
        .platform()
        .get(&keys::plan(id.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.price_yearly.to_string(), "490.50");

    // PATCH: a new price, unlimited users, a new slug; the old slug is free again.
    s.auth.calls.reset();
    let res = call(&s.plans, "PATCH", &format!("/api/plans/{id}/"), Some(&root), Some(json!({"price_monthly": "59.99", "max_users": null, "slug": "growth-2", "currency": "EUR"})), None)
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(s.auth.calls.calls(), vec!["GetItem", "TransactWriteItems"]);
    let patched = res.json();
    assert_eq!(
        (
            patched["price_monthly"].as_str(),
            patched["max_users"].clone()
        ),
        (Some("59.99"), Value::Null)
    );
    assert_eq!(patched["currency"], "EUR");
    assert_eq!(patched["price_yearly"], "490.50", "untouched");
    let res = call(
        &s.plans,
        "POST",
        "/api/plans/",
        Some(&root),
        Some(growth("growth")),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());

    // PUT replaces every field.
    let mut body = growth("growth-2");
    body["name"] = json!("Growth Plus");
    let res = call(
        &s.plans,
        "PUT",
        &format!("/api/plans/{id}/"),
        Some(&root),
        Some(body),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["name"], "Growth Plus");
    assert_eq!(
        res.json()["currency"],
        "EUR",
        "PUT without a currency keeps the plan's"
    );

    // Every change is audited in the super admin's own tenant log.
    let log = audit_of(&s, &root).await;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["plan.create", "plan.update", "plan.create", "plan.update"]
    );
    assert!(log
        .iter()
        .all(|e| e.entity_type == "plan" && !e.via_super_admin));
    assert_eq!(
        log[1].changes["price_monthly"],
        json!({"before": "49.00", "after": "59.99"})
    );
}

#[tokio::test]
async fn members_see_active_plans_in_order_and_delete_deactivates() {
    let s = setup().await;
    let root = root(&s);
    let admin = tenant(&s, "planview").await;
    let created = call(
        &s.plans,
        "POST",
        "/api/plans/",
        Some(&root),
        Some(growth("growth")),
        None,
    )
    .await
    .json();
    let id = created["id"].as_str().unwrap().to_owned();

    s.auth.calls.reset();
    let res = call(&s.plans, "GET", "/api/plans/", Some(&admin), None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    // First: the caller's tenant's revocation state (its first request).
    assert_eq!(
        s.auth.calls.calls(),
        vec!["BatchGetItem", "Query"],
        "a page is one query on GSI1"
    );
    let slugs = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["slug"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        slugs(&res.json()),
        ["trial", "starter", "growth", "professional"],
        "by sort_order"
    );
    assert_eq!(res.json()["results"][1]["price_monthly"], "29.00");

    // DELETE deactivates; the plan stays for super admins and subscribers.
    s.auth.calls.reset();
    let res = call(
        &s.plans,
        "DELETE",
        &format!("/api/plans/{id}/"),
        Some(&root),
        None,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_eq!(s.auth.calls.calls(), vec!["GetItem", "TransactWriteItems"]);
    let stored: PlanRecord = s
        .auth
        .store
        .platform()
        .get(&keys::plan(id.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.is_active);

    assert_eq!(
        slugs(
            &call(&s.plans, "GET", "/api/plans/", Some(&admin), None, None)
                .await
                .json()
        ),
        ["trial", "starter", "professional"]
    );
    assert_eq!(
        slugs(
            &call(&s.plans, "GET", "/api/plans/", Some(&root), None, None)
                .await
                .json()
        ),
        ["trial", "starter", "growth", "professional"]
    );
    s.auth.calls.reset();
    let res = call(
        &s.plans,
        "GET",
        &format!("/api/plans/{id}/"),
        Some(&admin),
        None,
        None,
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "inactive plans are hidden"
    );
    assert_eq!(s.auth.calls.calls(), vec!["GetItem"]);
    let res = call(
        &s.plans,
        "GET",
        &format!("/api/plans/{id}/"),
        Some(&root),
        None,
        None,
    )
    .await;
    assert_eq!(
        (res.status, res.json()["is_active"].clone()),
        (StatusCode::OK, json!(false))
    );
    let starter = format!("/api/plans/{}/", Uuid::from_u128(0x57a27));
    assert_eq!(
        call(&s.plans, "GET", &starter, Some(&admin), None, None)
            .await
            .json()["slug"],
        "starter"
    );
    let res = call(
        &s.plans,
        "GET",
        &format!("/api/plans/{}/", Uuid::new_v4()),
        Some(&admin),
        None,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Paging by one.
    let first = call(
        &s.plans,
        "GET",
        "/api/plans/?page_size=1",
        Some(&admin),
        None,
        None,
    )
    .await
    .json();
    assert_eq!(slugs(&first), ["trial"]);
    let next = tests::app::path_of(&first["next"]);
    assert_eq!(
        slugs(
            &call(&s.plans, "GET", &next, Some(&admin), None, None)
                .await
                .json()
        ),
        ["starter"]
    );
}

#[tokio::test]
async fn only_super_admins_write_plans() {
    let s = setup().await;
    let admin = tenant(&s, "planperm").await;
    let member = token_for(&s, scope(&s, &admin).tenant_id(), false, Default::default());
    let starter = format!("/api/plans/{}/", Uuid::from_u128(0x57a27));
    for token in [&admin, &member] {
        for (method, uri, body) in [
            ("POST", "/api/plans/", Some(growth("nope"))),
            ("PATCH", starter.as_str(), Some(json!({"name": "Mine"}))),
            ("PUT", starter.as_str(), Some(growth("nope"))),
            ("DELETE", starter.as_str(), None),
        ] {
            let res = call(&s.plans, method, uri, Some(token), body, None).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {uri}");
            assert_eq!(res.json()["code"], "permission_denied");
        }
    }
    for (method, uri) in [
        ("GET", "/api/plans/"),
        ("GET", starter.as_str()),
        ("POST", "/api/plans/"),
        ("DELETE", starter.as_str()),
    ] {
        let res = call(&s.plans, method, uri, None, Some(growth("nope")), None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    assert_eq!(
        call(&s.plans, "GET", &starter, Some(&member), None, None)
            .await
            .status,
        StatusCode::OK,
        "members read plans"
    );
}

#[tokio::test]
async fn seeded_plans_without_a_version_can_be_changed_once_at_a_time() {
    let s = setup().await;
    let root = root(&s);
    let starter = format!("/api/plans/{}/", Uuid::from_u128(0x57a27));
    let res = call(
        &s.plans,
        "PATCH",
        &starter,
        Some(&root),
        Some(json!({"price_monthly": "31.50"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["price_monthly"], "31.50");
    let res = call(
        &s.plans,
        "PATCH",
        &starter,
        Some(&root),
        Some(json!({"max_users": 12})),
        None,
    )
    .await;
    assert_eq!(
        (res.status, res.json()["max_users"].clone()),
        (StatusCode::OK, json!(12))
    );
    let stored: shared::records::PlanRecord = s
        .auth
        .store
        .platform()
        .get(&keys::plan(Uuid::from_u128(0x57a27)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 3, "seeded at 1, changed twice");
    assert_eq!(stored.price_monthly.to_string(), "31.50");
}
