//! The plan's `max_leads` against the CRM: concurrent creations at the
//! limit, the usage count following creations and deletions, and plan
//! changes below the count refused.

use crate::crm::{create_lead, id_of, list_all, req};
use crate::plans::root;
use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::records::{SubscriptionRecord, UsageRecord};
use std::sync::Arc;
use tests::app::{scope, setup, tenant, Setup};
use uuid::Uuid;

async fn plan(s: &Setup, slug: &str, price: &str, max_leads: u32) -> Uuid {
    let res = req(
        &s.plans,
        "POST",
        "/api/plans/",
        &root(s),
        Some(
            json!({"name": slug, "slug": slug, "price_monthly": price, "price_yearly": "100",
                    "max_leads": max_leads, "included_modules": ["crm"]}),
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    id_of(&res.json())
}

async fn subscribe(s: &Setup, admin: &str, plan: Uuid) -> tests::TestResponse {
    req(
        &s.subscriptions,
        "POST",
        "/api/subscriptions/subscribe/",
        admin,
        Some(json!({"plan_id": plan, "billing_cycle": "monthly"})),
    )
    .await
}

async fn usage_record(s: &Setup, admin: &str) -> UsageRecord {
    s.auth
        .store
        .tenant(&scope(s, admin))
        .get(&keys::usage())
        .await
        .unwrap()
        .unwrap()
}

async fn usage_api(s: &Setup, admin: &str) -> Value {
    let res = req(
        &s.subscriptions,
        "GET",
        "/api/subscriptions/usage/",
        admin,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["leads"].clone()
}

#[tokio::test]
async fn concurrent_creations_at_the_limit_never_pass_max_leads() {
    let s = setup().await;
    let admin = tenant(&s, "crmlimit").await;
    let three = plan(&s, "three-leads", "9.90", 3).await;
    let res = subscribe(&s, &admin, three).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        usage_api(&s, &admin).await,
        json!({"used": 0, "limit": 3, "tracked": true})
    );
    create_lead(&s, &admin, json!({"name": "First"})).await;

    // Twenty creations released at once: exactly the two left succeed.
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (app, token, barrier) = (s.crm.clone(), admin.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            req(
                &app,
                "POST",
                "/api/crm/leads/",
                &token,
                Some(json!({"name": format!("Racer {i}")})),
            )
            .await
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for t in tasks {
        let res = t.await.unwrap();
        match res.status {
            StatusCode::CREATED => created += 1,
            StatusCode::FORBIDDEN => {
                let b = res.json();
                assert_eq!(b["code"], "plan_limit_reached", "{b}");
                assert_eq!(
                    b["detail"],
                    "Your plan allows 3 leads; upgrade or delete leads to add more."
                );
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", res.text()),
        }
    }
    assert_eq!((created, refused), (2, 18));
    let stored = list_all(&s, &admin, "").await;
    assert_eq!(stored.len(), 3);
    assert_eq!(usage_record(&s, &admin).await.leads, 3);
    assert_eq!(
        usage_api(&s, &admin).await,
        json!({"used": 3, "limit": 3, "tracked": true})
    );

    // A deletion frees one place, and only one.
    let res = req(
        &s.crm,
        "DELETE",
        &format!("/api/crm/leads/{}/", stored[0]),
        &admin,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(usage_api(&s, &admin).await["used"], 2);
    create_lead(&s, &admin, json!({"name": "Refill"})).await;
    let res = req(
        &s.crm,
        "POST",
        "/api/crm/leads/",
        &admin,
        Some(json!({"name": "Over"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["code"], "plan_limit_reached");
    assert_eq!(usage_record(&s, &admin).await.leads, 3);
    assert_eq!(list_all(&s, &admin, "").await.len(), 3);
}

#[tokio::test]
async fn plan_changes_below_the_lead_count_are_refused_with_the_numbers() {
    let s = setup().await;
    let admin = tenant(&s, "crmdown").await;
    let five = plan(&s, "five-leads", "9.90", 5).await;
    let one = plan(&s, "one-lead", "4.90", 1).await;
    assert_eq!(subscribe(&s, &admin, five).await.status, StatusCode::OK);
    let mut leads = Vec::new();
    for n in 0..3 {
        leads.push(create_lead(&s, &admin, json!({"name": format!("Lead {n}")})).await);
    }
    assert_eq!(
        usage_api(&s, &admin).await,
        json!({"used": 3, "limit": 5, "tracked": true})
    );

    let sc = scope(&s, &admin);
    let before: SubscriptionRecord = s
        .auth
        .store
        .tenant(&sc)
        .get(&keys::subscription())
        .await
        .unwrap()
        .unwrap();
    let res = subscribe(&s, &admin, one).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"code": "plan_limit_reached",
               "detail": "The tenant has 3 leads; this plan allows 1. Delete leads first."})
    );
    let after: SubscriptionRecord = s
        .auth
        .store
        .tenant(&sc)
        .get(&keys::subscription())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before, "nothing changed");

    // Down to one lead: the change goes through, and the new limit holds.
    for id in &leads[1..] {
        let res = req(
            &s.crm,
            "DELETE",
            &format!("/api/crm/leads/{id}/"),
            &admin,
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(usage_api(&s, &admin).await["used"], 1);
    let res = subscribe(&s, &admin, one).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        usage_api(&s, &admin).await,
        json!({"used": 1, "limit": 1, "tracked": true})
    );
    let res = req(
        &s.crm,
        "POST",
        "/api/crm/leads/",
        &admin,
        Some(json!({"name": "Second"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        res.json()["detail"],
        "Your plan allows 1 leads; upgrade or delete leads to add more."
    );
}
