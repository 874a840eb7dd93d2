//! Filtered lists never hide rows: when a page's reads match nothing (or too
//! little), it still links to the next one, resuming where the reading
//! stopped, so following `next` reaches every match and then ends.

use crate::plans::root;
use http::StatusCode;
use serde_json::{json, Value};
use shared::keys::{self, Key};
use shared::records::{
    AuditRecord, InvoiceRecord, PlanRecord, RoleRecord, SubscriptionRecord, TeamRecord, UserRecord,
};
use shared::store::{Condition, Entity, PageRequest, Store, TenantScope};
use tests::app::{claims_of, get_as, path_of, scope, setup, tenant, Setup};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Non-matching items written before (in read order) each match.
const SKIPPED: usize = 300;

/// Writes in flight at once while filling the table.
const CONCURRENT_WRITES: usize = 8;

/// `Query` calls one request may make (the store's bound).
const MAX_QUERY_ROUNDS: usize = 4;

/// Ids that sort after every id the registration wrote (UUIDv7, `0…`),
/// in the order of `n`.
fn late_id(kind: u128, n: usize) -> Uuid {
    Uuid::from_u128((0xf000 + kind) << 112 | n as u128)
}

/// Writes records concurrently (one by one, DynamoDB Local takes a while).
/// Unconditionally: a write the SDK retries after a timeout may already
/// have landed.
async fn put_all<T: Entity + Send + Sync + 'static>(
    store: &Store,
    writes: Vec<(TenantScope, Key<T::Kind>, T)>,
) {
    let mut running = tokio::task::JoinSet::new();
    for (scope, sk, record) in writes {
        let store = store.clone();
        running.spawn(async move {
            store
                .tenant(&scope)
                .put(&sk, &record, Condition::Always)
                .await
        });
        if running.len() >= CONCURRENT_WRITES {
            running.join_next().await.unwrap().unwrap().unwrap();
        }
    }
    while let Some(done) = running.join_next().await {
        done.unwrap().unwrap();
    }
}

/// Follows `next` from `uri` to the end. The item `wanted` must be listed
/// exactly once, a page before it must have come back short (empty, mostly)
/// yet linked onwards, since the filter had to skip the items in between,
/// and no request may query more than the store's bound.
async fn walk(s: &Setup, app: &axum::Router, uri: &str, token: &str, wanted: Uuid) {
    let page_size = uri
        .split_once("page_size=")
        .and_then(|(_, n)| n.split('&').next()?.parse().ok())
        .unwrap_or(20);
    let mut uri = uri.to_owned();
    let (mut pages, mut seen, mut short_but_linked) = (0, 0, 0);
    loop {
        pages += 1;
        assert!(pages <= 40, "{uri}: following `next` does not end");
        s.auth.calls.reset();
        let res = get_as(app, &uri, token).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.text());
        let queries = s
            .auth
            .calls
            .calls()
            .iter()
            .filter(|c| *c == "Query")
            .count();
        assert!(
            queries <= MAX_QUERY_ROUNDS,
            "{uri}: {queries} queries in one request"
        );
        let body = res.json();
        let results = body["results"].as_array().unwrap();
        seen += results.iter().filter(|r| r["id"] == json!(wanted)).count();
        if seen == 0 && results.len() < page_size && body["next"].is_string() {
            short_but_linked += 1;
        }
        match body["next"] {
            Value::String(_) => uri = path_of(&body["next"]),
            _ => break,
        }
    }
    assert_eq!(seen, 1, "{uri}: {wanted} listed {seen} times");
    assert!(
        short_but_linked > 0,
        "{uri}: no page had to skip (the test does not test the skipping)"
    );
}

#[tokio::test]
async fn filtered_lists_page_past_items_their_filters_skip() {
    let s = setup().await;
    let admin = tenant(&s, "lists").await;
    let root = root(&s);
    let tscope = scope(&s, &admin);
    let store = &s.auth.store;
    let t = store.tenant(&tscope);
    let me: UserRecord = t
        .get(&keys::user(claims_of(&s, &admin).sub))
        .await
        .unwrap()
        .unwrap();
    let admin_role: RoleRecord = t.get(&keys::role(me.role_ids[0])).await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc();

    // Two roles and two teams: `late` ones sort after the skipped users
    // (and teams), `early` ones before.
    let role = |n: usize, name: &str| RoleRecord {
        id: late_id(1, n),
        name: name.into(),
        is_system: false,
        ..admin_role.clone()
    };
    let (early_role, late_role) = (role(0, "Early"), role(SKIPPED + 1, "Late"));
    let team = |n: usize, name: &str| TeamRecord {
        id: late_id(2, n),
        tenant_id: tscope.tenant_id(),
        name: name.into(),
        description: String::new(),
        lead_id: None,
        member_count: 0,
        created_by: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let (early_team, late_team) = (team(0, "Early"), team(SKIPPED + 1, "Zz late"));
    let mut teams: Vec<_> = (1..=SKIPPED)
        .map(|n| team(n, &format!("Filler {n}")))
        .collect();
    teams.extend([early_team.clone(), late_team.clone()]);
    put_all(
        store,
        teams
            .into_iter()
            .map(|r| (tscope.clone(), keys::team(r.id), r))
            .collect(),
    )
    .await;
    put_all(
        store,
        [early_role.clone(), late_role.clone()]
            .into_iter()
            .map(|r| (tscope.clone(), keys::role(r.id), r))
            .collect(),
    )
    .await;

    // Users: active fillers between an early one (lowest id and email, in
    // the early role and team) and a late one (highest, deactivated, named
    // Zed, in the late role and team).
    let user = |n: usize, email: String| UserRecord {
        id: late_id(3, n),
        email,
        first_name: "Filler".into(),
        last_name: "User".into(),
        role_ids: vec![],
        team_ids: vec![],
        is_active: true,
        is_super_admin: false,
        ..me.clone()
    };
    let early_user = UserRecord {
        role_ids: vec![early_role.id],
        team_ids: vec![early_team.id],
        ..user(0, "0-early@lists.test".into())
    };
    let late_user = UserRecord {
        role_ids: vec![late_role.id],
        team_ids: vec![late_team.id],
        is_active: false,
        first_name: "Zed".into(),
        ..user(SKIPPED + 1, "zz-late@lists.test".into())
    };
    let mut users: Vec<_> = (1..=SKIPPED)
        .map(|n| user(n, format!("filler-{n:03}@lists.test")))
        .collect();
    users.extend([early_user.clone(), late_user.clone()]);
    put_all(
        store,
        users
            .into_iter()
            .map(|r| (tscope.clone(), keys::user(r.id), r))
            .collect(),
    )
    .await;

    // Audit, newest first: the match is the oldest entry.
    let entry = |n: usize, action: &str| AuditRecord {
        id: late_id(4, n),
        tenant_id: tscope.tenant_id(),
        at: now - Duration::hours(1) + Duration::milliseconds(n as i64),
        actor_id: me.id,
        actor_email: me.email.clone(),
        via_super_admin: false,
        action: action.into(),
        entity_type: "lists".into(),
        entity_id: n.to_string(),
        changes: json!({}),
        request_id: String::new(),
    };
    let oldest_entry = entry(0, "lists.match");
    let mut entries: Vec<_> = (1..=SKIPPED).map(|n| entry(n, "lists.filler")).collect();
    entries.push(oldest_entry.clone());
    put_all(
        store,
        entries
            .into_iter()
            .map(|r| {
                let sk = keys::audit_entry(r.at.unix_timestamp_nanos(), r.id);
                (tscope.clone(), sk, r)
            })
            .collect(),
    )
    .await;

    // Invoices, newest first (by id in the tenant, by creation platform-
    // wide): the only paid one is the oldest.
    let sub: SubscriptionRecord = t.get(&keys::subscription()).await.unwrap().unwrap();
    let invoice = |n: usize, status: &str| -> InvoiceRecord {
        let at = now - Duration::days(1) + Duration::seconds(n as i64);
        let at = at.format(&Rfc3339).unwrap();
        serde_json::from_value(json!({
            "id": late_id(5, n),
            "tenant_id": tscope.tenant_id(),
            "subscription_id": sub.id,
            "invoice_number": format!("INV-2026-{n:06}"),
            "amount": "49.00",
            "currency": "USD",
            "status": status,
            "period_start": at,
            "period_end": at,
            "due_date": at,
            "paid_at": null,
            "payment_provider": null,
            "payment_reference": null,
            "created_at": at,
            "updated_at": at,
            "version": 1,
        }))
        .unwrap()
    };
    let paid = invoice(0, "paid");
    let mut invoices: Vec<_> = (1..=SKIPPED).map(|n| invoice(n, "pending")).collect();
    invoices.push(paid.clone());
    put_all(
        store,
        invoices
            .into_iter()
            .map(|r| (tscope.clone(), keys::invoice(r.id), r))
            .collect(),
    )
    .await;

    // Subscriptions of other tenants, oldest first: the only one on the
    // Starter plan subscribed last.
    let starter = Uuid::from_u128(0x57a27);
    let subscription = |n: usize, plan: Uuid| {
        let scope = TenantScope::for_new_tenant();
        let record = SubscriptionRecord {
            id: late_id(6, n),
            tenant_id: scope.tenant_id(),
            plan_id: Some(plan),
            created_at: now + Duration::milliseconds(n as i64 + 1),
            next_action_at: None,
            ..sub.clone()
        };
        (scope, keys::subscription(), record)
    };
    let mut subscriptions: Vec<_> = (1..=SKIPPED)
        .map(|n| subscription(n, sub.plan_id.unwrap()))
        .collect();
    let last = subscription(SKIPPED + 1, starter);
    let late_subscription = last.2.id;
    subscriptions.push(last);
    put_all(store, subscriptions).await;

    // Plans, by sort order: inactive ones before an active one.
    let seeded: Vec<PlanRecord> = store
        .platform()
        .query_index(
            keys::plans_index_pk(),
            &PageRequest::new(100, None, "plans"),
        )
        .await
        .unwrap()
        .items;
    let plan = |n: usize, active: bool| PlanRecord {
        id: late_id(7, n),
        slug: format!("lists-{n}"),
        is_trial: false,
        is_active: active,
        sort_order: 1000 + n as i32,
        ..seeded[0].clone()
    };
    let late_plan = plan(SKIPPED + 1, true);
    let mut plans: Vec<_> = (1..=SKIPPED).map(|n| plan(n, false)).collect();
    plans.push(late_plan.clone());
    let mut running = tokio::task::JoinSet::new();
    for p in plans {
        let store = store.clone();
        running.spawn(async move {
            store
                .platform()
                .put(&keys::plan(p.id), &p, Condition::Always)
                .await
        });
        if running.len() >= CONCURRENT_WRITES {
            running.join_next().await.unwrap().unwrap().unwrap();
        }
    }
    while let Some(done) = running.join_next().await {
        done.unwrap().unwrap();
    }

    let (u, tm) = (&s.users, &s.teams);
    walk(&s, u, "/api/users/?is_active=false", &admin, late_user.id).await;
    walk(&s, u, "/api/users/?search=zed", &admin, late_user.id).await;
    let uri = "/api/users/?is_active=false&ordering=email";
    walk(&s, u, uri, &admin, late_user.id).await;
    let uri = format!("/api/users/?role={}&ordering=-date_joined", early_role.id);
    walk(&s, u, &uri, &admin, early_user.id).await;
    let uri = format!("/api/users/?team={}&ordering=-email", early_team.id);
    walk(&s, u, &uri, &admin, early_user.id).await;
    let uri = format!("/api/roles/{}/members/?page_size=1", late_role.id);
    walk(&s, &s.roles, &uri, &admin, late_user.id).await;
    let uri = format!("/api/teams/{}/members/", late_team.id);
    walk(&s, tm, &uri, &admin, late_user.id).await;
    walk(&s, tm, "/api/teams/?search=zz", &admin, late_team.id).await;
    let uri = "/api/audit/?action=lists.match";
    walk(&s, &s.audit, uri, &admin, oldest_entry.id).await;
    let uri = "/api/invoices/?status=paid&page_size=100";
    walk(&s, &s.invoices, uri, &admin, paid.id).await;
    walk(
        &s,
        &s.invoices,
        "/api/invoices/?status=paid",
        &root,
        paid.id,
    )
    .await;
    let uri = format!("/api/subscriptions/?plan={starter}");
    walk(&s, &s.subscriptions, &uri, &root, late_subscription).await;
    walk(&s, &s.plans, "/api/plans/", &admin, late_plan.id).await;
}
