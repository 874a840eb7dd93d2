//! Sequential DynamoDB round trips per endpoint (calls issued concurrently
//! count once, `CallCounter::depth`): every read at most one, login at
//! most three. The tenant's revocation check (at most once per tenant per
//! `REVOCATION_CHECK_SECONDS`) is left out: each endpoint is measured on
//! its second request.

use crate::crm::{
    create_lead, create_role, create_team, crm_grants, id_of, lift_user_limit, person, req,
};
use crate::dedicated::{dedicated_table, tenant_in_table};
use axum::Router;
use http::StatusCode;
use serde_json::json;
use shared::auth::TokenType;
use shared::keys;
use shared::records::RoleRecord;
use shared::store::Condition;
use tests::app::{
    call, claims_of, get_as, get_for, login, naming_roles, register, resigned, setup, token_for,
    Setup,
};
use tests::{post_json, TestResponse};
use uuid::Uuid;

/// `uri` read as `token` once to warm the revocation state, then again:
/// the second request's response, calls (sorted: concurrent calls start
/// in no fixed order) and depth.
async fn measure(
    s: &Setup,
    app: &Router,
    uri: &str,
    token: &str,
) -> (TestResponse, Vec<String>, usize) {
    get_as(app, uri, token).await;
    s.auth.calls.reset();
    let res = get_as(app, uri, token).await;
    assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.text());
    let mut calls = s.auth.calls.calls();
    calls.sort();
    (res, calls, s.auth.calls.depth())
}

#[tokio::test]
async fn every_read_is_one_round_trip() {
    let s = setup().await;
    lift_user_limit(&s).await;
    let admin = register(&s.auth, "trips").await.access;
    let role = create_role(&s, &admin, "Reps", crm_grants("all")).await;
    let team = create_team(&s, &admin, "Team A").await;
    let rep = person(&s, &admin, &[&role], &[team]).await;
    let lead = create_lead(&s, &admin, json!({"name": "L1"})).await;
    let res = req(
        &s.crm,
        "POST",
        &format!("/api/crm/leads/{lead}/activities/"),
        &admin,
        Some(json!({"type": "call", "summary": "First call"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let activity = id_of(&res.json());
    let plan = get_as(&s.plans, "/api/plans/", &admin).await.json()["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sub = get_as(
        &s.subscriptions,
        "/api/subscriptions/my_subscription/",
        &admin,
    )
    .await
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let u = rep.id;

    // The endpoints this one round trip was reached by reading concurrently
    // (or by the token naming the roles or the plan), with their calls.
    let changed: Vec<(&Router, String, &[&str])> = vec![
        (&s.users, "/api/users/me/".into(), &["BatchGetItem"]),
        (&s.users, format!("/api/users/{u}/"), &["GetItem", "Query"]),
        (&s.users, "/api/users/".into(), &["Query", "Query"]),
        (
            &s.users,
            "/api/users/?ordering=-email&is_active=true".into(),
            &["Query", "Query"],
        ),
        (
            &s.users,
            format!("/api/users/?role={role}&team={team}"),
            &["Query", "Query"],
        ),
        (
            &s.roles,
            format!("/api/roles/{role}/members/"),
            &["BatchGetItem", "Query"],
        ),
        (
            &s.teams,
            format!("/api/teams/{team}/members/"),
            &["GetItem", "Query", "Query"],
        ),
        (
            &s.subscriptions,
            "/api/subscriptions/my_subscription/".into(),
            &["BatchGetItem"],
        ),
        (
            &s.subscriptions,
            "/api/subscriptions/usage/".into(),
            &["BatchGetItem"],
        ),
        (
            &s.crm,
            format!("/api/crm/leads/{lead}/activities/"),
            &["GetItem", "Query"],
        ),
    ];
    for (app, uri, expected) in changed {
        for token in [&admin, &rep.access] {
            if token == &rep.access && !uri.starts_with("/api/users/me/") {
                continue;
            }
            let (_, calls, depth) = measure(&s, app, &uri, token).await;
            assert_eq!(calls, expected, "{uri}");
            assert_eq!(depth, 1, "{uri}: {calls:?}");
        }
    }

    // The other reads were one call already.
    let others: Vec<(&Router, String)> = vec![
        (&s.roles, "/api/roles/".into()),
        (&s.roles, format!("/api/roles/{role}/")),
        (&s.roles, "/api/roles/permissions_schema/".into()),
        (&s.roles, "/api/roles/templates/".into()),
        (&s.teams, "/api/teams/".into()),
        (&s.teams, "/api/teams/?search=tea".into()),
        (&s.teams, format!("/api/teams/{team}/")),
        (&s.tenants, "/api/tenants/me/".into()),
        (&s.plans, "/api/plans/".into()),
        (&s.plans, format!("/api/plans/{plan}/")),
        (&s.audit, "/api/audit/".into()),
        (&s.invoices, "/api/invoices/".into()),
        (&s.subscriptions, "/api/subscriptions/".into()),
        (&s.subscriptions, format!("/api/subscriptions/{sub}/")),
        (&s.users, "/api/users/invitations/".into()),
        (&s.crm, "/api/crm/leads/".into()),
        (&s.crm, format!("/api/crm/leads/{lead}/")),
        (&s.crm, "/api/crm/leads/export/".into()),
    ];
    for (app, uri) in others {
        let (_, calls, depth) = measure(&s, app, &uri, &admin).await;
        assert!(calls.len() <= 1, "{uri}: {calls:?}");
        assert!(depth <= 1, "{uri}: {calls:?}");
    }

    // An activity is read through its lead, which the activity names.
    let uri = format!("/api/crm/activities/{activity}/");
    let (_, calls, depth) = measure(&s, &s.crm, &uri, &admin).await;
    assert_eq!(calls, ["GetItem", "GetItem"]);
    assert_eq!(depth, 2);
}

#[tokio::test]
async fn own_profile_reads_the_roles_the_token_names_and_the_rest_after() {
    let s = setup().await;
    let admin = register(&s.auth, "me").await.access;
    let reps = create_role(&s, &admin, "Reps", crm_grants("own")).await;
    let other = create_role(&s, &admin, "Others", crm_grants("own")).await;
    let team = create_team(&s, &admin, "Team A").await;
    let rep = person(&s, &admin, &[&reps], &[team]).await;
    let (res, calls, depth) = measure(&s, &s.users, "/api/users/me/", &rep.access).await;
    assert_eq!(calls, ["BatchGetItem"]);
    assert_eq!(depth, 1);
    let body = res.json();
    assert_eq!(body["roles"], json!([{"id": reps, "name": "Reps"}]));
    assert_eq!(body["role_ids"], json!([reps]));
    assert_eq!(body["team_ids"], json!([team]));

    // A token naming other roles than the stored user holds (older than a
    // change, or before tokens named them) gets the same answer: the
    // roles it lacks are read after the user.
    let reps_id: Uuid = reps.parse().unwrap();
    let other_id: Uuid = other.parse().unwrap();
    for (roles, expected_depth) in [
        (vec![], 2),
        (vec![other_id], 2),
        (vec![other_id, reps_id], 1),
    ] {
        let token = naming_roles(&s, &rep.access, &roles);
        let (res, _, depth) = measure(&s, &s.users, "/api/users/me/", &token).await;
        assert_eq!(res.json(), body, "token naming {roles:?}");
        assert_eq!(depth, expected_depth, "token naming {roles:?}");
    }
}

#[tokio::test]
async fn a_profile_update_reads_once_and_writes_once() {
    let s = setup().await;
    let admin = register(&s.auth, "patchme").await.access;
    get_as(&s.users, "/api/users/me/", &admin).await;
    let before = get_as(&s.users, "/api/users/me/", &admin).await.json();
    for (body, writes) in [
        (json!({"first_name": "Grace"}), true),
        // Unchanged: nothing to write.
        (json!({"first_name": "Grace"}), false),
    ] {
        s.auth.calls.reset();
        let res = req(
            &s.users,
            "PATCH",
            "/api/users/update_me/",
            &admin,
            Some(body),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let mut calls = s.auth.calls.calls();
        calls.sort();
        // The user and the names its view shows in one batch; the answer
        // is built from what was written, not read again.
        let expected: &[&str] = if writes {
            &["BatchGetItem", "TransactWriteItems"]
        } else {
            &["BatchGetItem"]
        };
        assert_eq!(calls, expected);
        assert_eq!(s.auth.calls.depth(), expected.len());
        let mut want = before.clone();
        want["first_name"] = json!("Grace");
        assert_eq!(res.json(), want);
    }
    let after = get_as(&s.users, "/api/users/me/", &admin).await.json();
    assert_eq!(after["first_name"], "Grace");
}

#[tokio::test]
async fn role_writes_take_two_round_trips() {
    let s = setup().await;
    let admin = register(&s.auth, "rolewrites").await.access;
    get_as(&s.roles, "/api/roles/", &admin).await;
    let write = |method: &'static str, uri: String, body: Option<serde_json::Value>| {
        let (s, admin) = (&s, admin.clone());
        async move {
            s.auth.calls.reset();
            let res = req(&s.roles, method, &uri, &admin, body).await;
            assert!(res.status.is_success(), "{method} {uri}: {}", res.text());
            let mut calls = s.auth.calls.calls();
            calls.sort();
            (res, calls, s.auth.calls.depth())
        }
    };
    // The caller's grants (no escalation) are read with their user.
    let (res, calls, depth) = write(
        "POST",
        "/api/roles/".into(),
        Some(json!({"name": "Writers", "permissions": crm_grants("own")})),
    )
    .await;
    assert_eq!(
        (calls, depth),
        (vec!["BatchGetItem".into(), "TransactWriteItems".into()], 2)
    );
    let uri = format!("/api/roles/{}/", id_of(&res.json()));
    // The role and the caller's grants, concurrently; then the write.
    let both = vec![
        "BatchGetItem".to_owned(),
        "GetItem".into(),
        "TransactWriteItems".into(),
    ];
    let (_, calls, depth) = write("PATCH", uri.clone(), Some(json!({"description": "d"}))).await;
    assert_eq!((calls, depth), (both.clone(), 2));
    let (_, calls, depth) = write("DELETE", uri, None).await;
    assert_eq!((calls, depth), (both, 2));
}

/// `uri` read as `token` (for `tenant`, as a super admin) twice: the
/// second answer's body, sorted calls and depth.
async fn measure_for(
    s: &Setup,
    uri: &str,
    token: &str,
    tenant: Option<Uuid>,
) -> (serde_json::Value, Vec<String>, usize) {
    get_for(&s.subscriptions, uri, token, tenant).await;
    s.auth.calls.reset();
    let res = get_for(&s.subscriptions, uri, token, tenant).await;
    assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.text());
    let mut calls = s.auth.calls.calls();
    calls.sort();
    (res.json(), calls, s.auth.calls.depth())
}

const SUBSCRIPTION_VIEWS: [&str; 2] = [
    "/api/subscriptions/my_subscription/",
    "/api/subscriptions/usage/",
];

/// The token names the tenant's plan, read with the subscription in one
/// call. A token naming another plan (issued before a plan change) or
/// none gets the same answer, in more calls.
#[tokio::test]
async fn subscription_views_read_the_plan_the_token_names() {
    let s = setup().await;
    let reg = register(&s.auth, "planhint").await;
    let trial = claims_of(&s, &reg.access).plan.expect("a plan claim");
    let refresh = s.verifier.verify(&reg.refresh, TokenType::Refresh).unwrap();
    assert_eq!(refresh.plan, None, "refresh tokens name no plan");
    let (view, calls, depth) = measure_for(&s, SUBSCRIPTION_VIEWS[0], &reg.access, None).await;
    assert_eq!(view["plan_details"]["id"], trial.to_string());
    assert_eq!((calls, depth), (vec!["BatchGetItem".to_owned()], 1));

    let plans = get_as(&s.plans, "/api/plans/", &reg.access).await.json();
    let other = plans["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().parse::<Uuid>().unwrap())
        .find(|id| *id != trial)
        .unwrap();
    let res = call(
        &s.subscriptions,
        "POST",
        "/api/subscriptions/subscribe/",
        Some(&reg.access),
        Some(json!({"plan_id": other, "billing_cycle": "monthly"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let fresh = login(&s.auth, &reg.email, "correct-horse-battery")
        .await
        .json()["tokens"]["access"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(claims_of(&s, &fresh).plan, Some(other));
    let unnamed = resigned(&s, &fresh, |c| c.plan = None);
    for uri in SUBSCRIPTION_VIEWS {
        let (view, calls, depth) = measure_for(&s, uri, &fresh, None).await;
        assert_eq!(
            (calls, depth),
            (vec!["BatchGetItem".to_owned()], 1),
            "{uri}"
        );
        // Issued before the change: the plan it names is not the one.
        let (stale, calls, depth) = measure_for(&s, uri, &reg.access, None).await;
        assert_eq!(stale, view, "{uri}");
        assert_eq!(
            (calls, depth),
            (vec!["BatchGetItem".to_owned(), "GetItem".into()], 2),
            "{uri}"
        );
        let (none, calls, depth) = measure_for(&s, uri, &unnamed, None).await;
        assert_eq!(none, view, "{uri}");
        assert_eq!(
            (calls, depth),
            (vec!["BatchGetItem".to_owned(), "Query".into()], 1),
            "{uri}"
        );
    }
    let (view, ..) = measure_for(&s, SUBSCRIPTION_VIEWS[0], &fresh, None).await;
    assert_eq!(view["plan_details"]["id"], other.to_string());

    // A super admin's token names their own tenant's plan: in another
    // tenant it is not used, and the plans are listed. (The `GetItem`
    // before is the other tenant's routing item, for `X-Tenant-Id`.)
    let tenant = claims_of(&s, &reg.access).tenant_id;
    let root = resigned(
        &s,
        &token_for(&s, Uuid::new_v4(), true, Default::default()),
        |c| c.plan = Some(trial),
    );
    for uri in SUBSCRIPTION_VIEWS {
        let (view, calls, depth) = measure_for(&s, uri, &fresh, None).await;
        let (theirs, their_calls, their_depth) = measure_for(&s, uri, &root, Some(tenant)).await;
        assert_eq!(theirs, view, "{uri}");
        assert_eq!(
            (their_calls, their_depth),
            (
                vec!["BatchGetItem".to_owned(), "GetItem".into(), "Query".into()],
                2
            ),
            "{uri}: {calls:?} {depth}"
        );
    }
}

/// A tenant in a table of its own reads its subscription there and the
/// plan from the main table, concurrently.
#[tokio::test]
async fn a_dedicated_tenant_reads_its_plan_alongside() {
    let s = setup().await;
    let root = token_for(&s, Uuid::new_v4(), true, Default::default());
    let table = dedicated_table(&s, "plans").await;
    let (_, _, email) = tenant_in_table(&s, &root, &table, "pinnedplan").await;
    let token = login(&s.auth, &email, "correct-horse-battery").await.json()["tokens"]["access"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = claims_of(&s, &token);
    assert_eq!(claims.table.as_deref(), Some(table.as_str()));
    let plan = claims.plan.expect("a plan claim");
    for uri in SUBSCRIPTION_VIEWS {
        let (view, calls, depth) = measure_for(&s, uri, &token, None).await;
        assert_eq!(
            (calls, depth),
            (vec!["BatchGetItem".to_owned(), "GetItem".into()], 1),
            "{uri}"
        );
        if uri == SUBSCRIPTION_VIEWS[0] {
            assert_eq!(view["plan_details"]["id"], plan.to_string());
        }
    }
}

#[tokio::test]
async fn login_takes_at_most_three_round_trips() {
    let s = setup().await;
    let admin = register(&s.auth, "login").await;
    s.auth.calls.reset();
    let res = post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": admin.email, "password": "correct-horse-battery"}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let depth = s.auth.calls.depth();
    println!("login: {depth} round trips, {:?}", s.auth.calls.calls());
    assert!(depth <= 3, "{depth}: {:?}", s.auth.calls.calls());
}

#[tokio::test]
async fn the_tenant_list_reads_the_dedicated_profiles_together() {
    let s = setup().await;
    let root = token_for(&s, Uuid::new_v4(), true, Default::default());
    for suffix in ["one", "two"] {
        let table = dedicated_table(&s, suffix).await;
        tenant_in_table(&s, &root, &table, "pinned").await;
    }
    let (res, calls, depth) = measure(&s, &s.tenants, "/api/tenants/", &root).await;
    assert_eq!(res.json()["results"].as_array().unwrap().len(), 2);
    // The listing, then both profiles in their tables at once.
    assert_eq!(calls, ["GetItem", "GetItem", "Query"]);
    assert_eq!(depth, 2);
}

/// Past the names page (the profile, the revocation record and 100 roles),
/// the roles a view needs are read in a second round trip, and named.
#[tokio::test]
async fn a_tenant_with_more_roles_than_a_page_still_names_them() {
    let s = setup().await;
    let reg = register(&s.auth, "manyroles").await;
    let me = get_as(&s.users, "/api/users/me/", &reg.access).await.json();
    let admin_role: Uuid = me["role_ids"][0].as_str().unwrap().parse().unwrap();
    let admin_name = me["roles"][0]["name"].as_str().unwrap().to_owned();
    let scope = tests::app::scope(&s, &reg.access);
    let store = s.auth.store.tenant(&scope);
    let template: RoleRecord = store.get(&keys::role(admin_role)).await.unwrap().unwrap();
    // Ids that sort before any generated one fill the page.
    for n in 1..=usize::from(shared::views::ROLES_PAGE) + 1 {
        let id = Uuid::from_u128(n as u128);
        assert!(id < admin_role);
        let role = RoleRecord {
            id,
            name: format!("Filler {n}"),
            is_system: false,
            member_count: 0,
            ..template.clone()
        };
        store
            .put(&keys::role(id), &role, Condition::NotExists)
            .await
            .unwrap();
    }
    let user = me["id"].as_str().unwrap();
    for uri in ["/api/users/".to_owned(), format!("/api/users/{user}/")] {
        let (res, calls, depth) = measure(&s, &s.users, &uri, &reg.access).await;
        let body = res.json();
        let view = if uri.ends_with("users/") {
            &body["results"][0]
        } else {
            &body
        };
        assert_eq!(view["roles"][0]["name"], admin_name.as_str(), "{uri}");
        assert_eq!(view["role_ids"][0], admin_role.to_string(), "{uri}");
        assert!(
            calls.contains(&"BatchGetItem".to_owned()),
            "{uri}: {calls:?}"
        );
        assert_eq!(depth, 2, "{uri}: {calls:?}");
    }
}
