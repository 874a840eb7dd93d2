//! The users function against DynamoDB Local.

use crate::roles::call;
use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::records::{RoleRecord, UsageRecord};
use tests::app::{call_as, scope, setup, tenant, token_for, Setup};
use tests::{post_json, send, unique};
use uuid::Uuid;

fn new_user(email: &str, role_ids: Value) -> Value {
    json!({"email": email, "password": "a-good-password", "password_confirm": "a-good-password",
           "first_name": "Nia", "role_ids": role_ids})
}

#[tokio::test]
async fn admins_create_users_who_can_log_in_with_their_roles() {
    let s = setup().await;
    let admin = tenant(&s, "usersa").await;
    let role = call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "Reps", "permissions": {"crm": {"leads": {"view": "own"}}}})),
        None,
    )
    .await
    .json();
    let (_, email) = unique("newuser");
    let res = call_as(
        &s.users,
        "POST",
        "/api/users/",
        &admin,
        Some(new_user(&email, json!([role["id"]]))),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let user = res.json();
    assert_eq!(user["roles"], json!([{"id": role["id"], "name": "Reps"}]));
    assert_eq!(user["email"], email);

    let res = post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": email, "password": "a-good-password"}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let access = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    let me = call_as(&s.users, "GET", "/api/users/me/", &access, None)
        .await
        .json();
    assert_eq!(me["id"], user["id"]);

    let scope = scope(&s, &admin);
    let stored: RoleRecord = s
        .auth
        .store
        .tenant(&scope)
        .get(&keys::role(role["id"].as_str().unwrap().parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.member_count, 1);
    let res = call(
        &s,
        "DELETE",
        &format!("/api/roles/{}/", role["id"].as_str().unwrap()),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::CONFLICT,
        "a role with members cannot be deleted"
    );

    let listed = call_as(&s.users, "GET", "/api/users/", &admin, None)
        .await
        .json();
    assert_eq!(listed["results"].as_array().unwrap().len(), 2);
    let one = call_as(
        &s.users,
        "GET",
        &format!("/api/users/{}/", user["id"].as_str().unwrap()),
        &admin,
        None,
    )
    .await;
    assert_eq!(one.json()["email"], email);
}

#[tokio::test]
async fn user_creation_is_validated_and_isolated() {
    let s = setup().await;
    let a = tenant(&s, "uvala").await;
    let b = tenant(&s, "uvalb").await;
    let b_role =
        call(&s, "GET", "/api/roles/", &b, None, None).await.json()["results"][0]["id"].clone();
    let (_, email) = unique("dup");
    assert_eq!(
        call_as(
            &s.users,
            "POST",
            "/api/users/",
            &a,
            Some(new_user(&email, json!([])))
        )
        .await
        .status,
        StatusCode::CREATED
    );

    let res = call_as(
        &s.users,
        "POST",
        "/api/users/",
        &b,
        Some(new_user(&email.to_uppercase(), json!([]))),
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"email": ["A user with this email already exists."]}),
        "emails are unique platform-wide"
    );
    let res = call_as(
        &s.users,
        "POST",
        "/api/users/",
        &a,
        Some(new_user(&unique("r").1, json!([b_role]))),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.json()["role_ids"][0]
            .as_str()
            .unwrap()
            .starts_with("Unknown role"),
        "another tenant's role is unknown"
    );
    let mut bad = new_user("not-an-email", json!([]));
    bad["password_confirm"] = json!("different-password");
    bad["is_super_admin"] = json!(true);
    let res = call_as(&s.users, "POST", "/api/users/", &a, Some(bad)).await;
    assert_eq!(res.json(), json!({"is_super_admin": ["Unknown field."]}));

    let a_user = call_as(&s.users, "GET", "/api/users/", &a, None)
        .await
        .json()["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        call_as(&s.users, "GET", &format!("/api/users/{a_user}/"), &b, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let member = token_for(&s, scope(&s, &a).tenant_id(), false, Default::default());
    assert_eq!(
        call_as(&s.users, "GET", "/api/users/", &member, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call_as(
            &s.users,
            "POST",
            "/api/users/",
            &member,
            Some(new_user(&unique("m").1, json!([])))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn twenty_concurrent_creations_never_exceed_max_users() {
    let s = setup().await;
    let admin = tenant(&s, "limit").await;
    // The trial plan allows 5 users; the admin is the first.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let router = s.users.clone();
        let admin = admin.clone();
        let body = new_user(&unique("racer").1, json!([]));
        tasks.push(tokio::spawn(async move {
            let req = http::Request::builder()
                .method("POST")
                .uri("/api/users/")
                .header("authorization", format!("Bearer {admin}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            send(&router, req).await
        }));
    }
    let mut created = 0;
    for t in tasks {
        let res = t.await.unwrap();
        match res.status {
            StatusCode::CREATED => created += 1,
            StatusCode::FORBIDDEN => assert_eq!(res.json()["code"], "plan_limit_reached"),
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}: {}", res.text()),
        }
    }
    assert!(created <= 4, "{created} users created past the limit");
    let usage: UsageRecord = s
        .auth
        .store
        .tenant(&scope(&s, &admin))
        .get(&keys::usage())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(usage.users, 1 + created);
    let listed = call_as(&s.users, "GET", "/api/users/?page_size=100", &admin, None)
        .await
        .json();
    assert_eq!(
        listed["results"].as_array().unwrap().len() as u32,
        1 + created
    );
    // Sequentially the limit is reached exactly.
    let mut extra = 0;
    loop {
        let res = call_as(
            &s.users,
            "POST",
            "/api/users/",
            &admin,
            Some(new_user(&unique("seq").1, json!([]))),
        )
        .await;
        if res.status == StatusCode::FORBIDDEN {
            assert_eq!(res.json()["code"], "plan_limit_reached");
            break;
        }
        assert_eq!(res.status, StatusCode::CREATED);
        extra += 1;
        assert!(extra < 10);
    }
    assert_eq!(created + extra, 4);
}

#[tokio::test]
async fn members_edit_only_their_own_profile_fields() {
    let s = setup().await;
    let admin = tenant(&s, "profile").await;
    let res = call_as(
        &s.users,
        "PATCH",
        "/api/users/update_me/",
        &admin,
        Some(
            json!({"first_name": "Grace", "timezone": "Europe/Madrid", "phone": "+34 600 000 000",
                    "preferences": {"theme": "dark", "note": ""}}),
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let me = res.json();
    assert_eq!(me["first_name"], "Grace");
    assert_eq!(me["timezone"], "Europe/Madrid");
    assert_eq!(me["preferences"], json!({"theme": "dark", "note": ""}));
    for forbidden in [
        json!({"roles": []}),
        json!({"is_super_admin": true}),
        json!({"tenant": "x"}),
        json!({"is_active": false}),
    ] {
        let res = call_as(
            &s.users,
            "PATCH",
            "/api/users/update_me/",
            &admin,
            Some(forbidden.clone()),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{forbidden}");
    }
    let res = call_as(
        &s.users,
        "PATCH",
        "/api/users/update_me/",
        &admin,
        Some(json!({"timezone": "Not a zone!"})),
    )
    .await;
    assert!(res.json()["timezone"].is_array());
    let res = call_as(
        &s.users,
        "PATCH",
        "/api/users/update_me/",
        &admin,
        Some(json!({"preferences": {"x": "y".repeat(20_000)}})),
    )
    .await;
    assert!(res.json()["preferences"].is_array());
}

#[tokio::test]
async fn concurrent_profile_updates_never_lose_a_change() {
    let s = setup().await;
    let admin = tenant(&s, "profilerace").await;
    for round in 0..6 {
        let (first, last) = (format!("First{round}"), format!("Last{round}"));
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let spawn = |body: Value| {
            let (app, token, b) = (s.users.clone(), admin.clone(), barrier.clone());
            tokio::spawn(async move {
                b.wait().await;
                call_as(&app, "PATCH", "/api/users/update_me/", &token, Some(body)).await
            })
        };
        let a = spawn(json!({"first_name": first}));
        let b = spawn(json!({"last_name": last}));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        // Each either applied or refused as a conflict; an applied change
        // is never overwritten by the other's stale copy.
        let me = call_as(&s.users, "GET", "/api/users/me/", &admin, None)
            .await
            .json();
        for (res, field, value) in [(&a, "first_name", &first), (&b, "last_name", &last)] {
            match res.status {
                StatusCode::OK => assert_eq!(me[field], json!(value), "round {round}"),
                StatusCode::CONFLICT => assert_eq!(res.json()["code"], "conflict"),
                other => panic!("round {round}: {other} {}", res.text()),
            }
        }
    }
}

#[tokio::test]
async fn role_members_lists_exactly_the_holders() {
    let s = setup().await;
    let admin = tenant(&s, "members").await;
    let other = tenant(&s, "membersother").await;
    let role = call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "Support"})),
        None,
    )
    .await
    .json();
    let role_id = role["id"].as_str().unwrap().to_owned();
    let mut holders = Vec::new();
    for i in 0..3 {
        let roles = if i < 2 { json!([role_id]) } else { json!([]) };
        let res = call_as(
            &s.users,
            "POST",
            "/api/users/",
            &admin,
            Some(new_user(&unique("m").1, roles)),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        if i < 2 {
            holders.push(res.json()["id"].clone());
        }
    }
    let res = call(
        &s,
        "GET",
        &format!("/api/roles/{role_id}/members/?page_size=100"),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let mut members: Vec<Value> = res.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].clone())
        .collect();
    members.sort_by_key(|v| v.to_string());
    holders.sort_by_key(|v| v.to_string());
    assert_eq!(members, holders);

    let admin_role = call(&s, "GET", "/api/roles/", &admin, None, None)
        .await
        .json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = call(
        &s,
        "GET",
        &format!("/api/roles/{admin_role}/members/"),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(res.json()["results"].as_array().unwrap().len(), 1);
    // Another tenant cannot probe the role.
    let res = call(
        &s,
        "GET",
        &format!("/api/roles/{role_id}/members/"),
        &other,
        None,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

// ---- Managing users: update, (de)activation, roles, teams, invariants ----

async fn on(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> tests::TestResponse {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("host", "api.test");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    send(app, req.body(axum::body::Body::from(body)).unwrap()).await
}

async fn create_role(s: &Setup, admin: &str, name: &str, permissions: Value) -> String {
    let res = call(
        s,
        "POST",
        "/api/roles/",
        admin,
        Some(json!({"name": name, "permissions": permissions})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

async fn admin_role_id(s: &Setup, admin: &str) -> String {
    let roles = call(s, "GET", "/api/roles/", admin, None, None)
        .await
        .json();
    roles["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_system"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn create_user(s: &Setup, admin: &str, email: &str, body: Value) -> Value {
    let mut user = new_user(email, json!([]));
    user.as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    let res = call_as(&s.users, "POST", "/api/users/", admin, Some(user)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()
}

async fn login(s: &Setup, email: &str) -> tests::TestResponse {
    post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": email, "password": "a-good-password"}),
        None,
    )
    .await
}

async fn role_record(s: &Setup, admin: &str, id: &str) -> RoleRecord {
    s.auth
        .store
        .tenant(&scope(s, admin))
        .get(&keys::role(id.parse().unwrap()))
        .await
        .unwrap()
        .unwrap()
}

async fn usage(s: &Setup, admin: &str) -> UsageRecord {
    s.auth
        .store
        .tenant(&scope(s, admin))
        .get(&keys::usage())
        .await
        .unwrap()
        .unwrap()
}

async fn audit_actions(s: &Setup, admin: &str, entity_id: &str) -> Vec<String> {
    let req = shared::store::PageRequest::new(100, None, "audit");
    let entries = s
        .auth
        .store
        .tenant(&scope(s, admin))
        .query::<shared::records::AuditRecord>(&keys::audit_log(), &req)
        .await
        .unwrap();
    entries
        .items
        .into_iter()
        .filter(|e| e.entity_id == entity_id)
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn admins_change_users_and_every_copy_follows() {
    let s = setup().await;
    let admin = tenant(&s, "uupd").await;
    let viewers = create_role(
        &s,
        &admin,
        "Viewers",
        json!({"crm": {"leads": {"view": "own"}}}),
    )
    .await;
    let managers = create_role(
        &s,
        &admin,
        "Managers",
        json!({"crm": {"leads": {"view": "all", "create": true}}}),
    )
    .await;
    let (_, email) = unique("uupd-user");
    let user = create_user(&s, &admin, &email, json!({"role_ids": [viewers]})).await;
    let id = user["id"].as_str().unwrap().to_owned();

    s.auth.calls.reset();
    let res = call_as(
        &s.users,
        "PATCH",
        &format!("/api/users/{id}/"),
        &admin,
        Some(json!({"role_ids": [managers], "last_name": "Okafor"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        s.auth.calls.calls(),
        vec![
            "GetItem",
            "BatchGetItem",
            "BatchGetItem",
            "GetItem",
            "TransactWriteItems"
        ],
        "user, related records, the caller's user with the roles their token names (no escalation), credential, one transaction"
    );
    assert_eq!(
        res.json()["roles"],
        json!([{"id": managers, "name": "Managers"}])
    );
    assert_eq!(res.json()["last_name"], "Okafor");
    assert_eq!(role_record(&s, &admin, &viewers).await.member_count, 0);
    assert_eq!(role_record(&s, &admin, &managers).await.member_count, 1);
    // Login reads the roles from the credential: the new role is in the token.
    let tokens = login(&s, &email).await.json();
    let claims = tests::app::claims_of(&s, tokens["tokens"]["access"].as_str().unwrap());
    let view = serde_json::to_value(claims.permissions.get("crm.leads.view")).unwrap();
    assert_eq!(view, json!("all"));

    // PUT needs every field and refuses unknown ones.
    let res = call_as(
        &s.users,
        "PUT",
        &format!("/api/users/{id}/"),
        &admin,
        Some(json!({"first_name": "A"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let full = json!({"first_name": "Ada", "last_name": "Obi", "phone": null, "timezone": "Africa/Lagos",
                      "preferences": {}, "profile_picture": null, "is_active": true, "role_ids": [], "team_ids": []});
    let res = call_as(
        &s.users,
        "PUT",
        &format!("/api/users/{id}/"),
        &admin,
        Some(full.clone()),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["roles"], json!([]));
    assert_eq!(role_record(&s, &admin, &managers).await.member_count, 0);
    let mut bad = full.clone();
    bad["email"] = json!("x@y.io");
    assert_eq!(
        call_as(
            &s.users,
            "PUT",
            &format!("/api/users/{id}/"),
            &admin,
            Some(bad)
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    let res = call_as(
        &s.users,
        "PATCH",
        &format!("/api/users/{id}/"),
        &admin,
        Some(json!({"timezone": "no zone", "role_ids": [Uuid::new_v4()]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.json()["timezone"].is_array() && res.json()["role_ids"].is_array(),
        "{}",
        res.text()
    );

    // A no-op writes nothing; each real change is audited exactly once.
    s.auth.calls.reset();
    call_as(
        &s.users,
        "PUT",
        &format!("/api/users/{id}/"),
        &admin,
        Some(full),
    )
    .await;
    assert!(!s
        .auth
        .calls
        .calls()
        .contains(&"TransactWriteItems".to_owned()));
    assert_eq!(
        audit_actions(&s, &admin, &id).await,
        vec!["user.create", "user.update", "user.update"]
    );
}

#[tokio::test]
async fn assign_and_remove_roles_keep_counts_and_refuse_foreign_roles() {
    let s = setup().await;
    let admin = tenant(&s, "uroles").await;
    let other = tenant(&s, "urolesother").await;
    let a = create_role(&s, &admin, "A", json!({})).await;
    let b = create_role(&s, &admin, "B", json!({})).await;
    let foreign = create_role(&s, &other, "Foreign", json!({})).await;
    let user = create_user(&s, &admin, &unique("uroles-u").1, json!({"role_ids": [a]})).await;
    let id = user["id"].as_str().unwrap();

    let res = call_as(
        &s.users,
        "POST",
        &format!("/api/users/{id}/assign_roles/"),
        &admin,
        Some(json!({"role_ids": [a, b, b]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["roles"].as_array().unwrap().len(), 2);
    assert_eq!(
        (
            role_record(&s, &admin, &a).await.member_count,
            role_record(&s, &admin, &b).await.member_count
        ),
        (1, 1)
    );
    let res = call_as(
        &s.users,
        "POST",
        &format!("/api/users/{id}/assign_roles/"),
        &admin,
        Some(json!({"role_ids": [foreign]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["role_ids"][0]
        .as_str()
        .unwrap()
        .contains("Unknown role"));

    let res = call_as(
        &s.users,
        "DELETE",
        &format!("/api/users/{id}/remove_role/"),
        &admin,
        Some(json!({"role_id": a})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["roles"], json!([{"id": b, "name": "B"}]));
    assert_eq!(role_record(&s, &admin, &a).await.member_count, 0);
    let res = call_as(
        &s.users,
        "DELETE",
        &format!("/api/users/{id}/remove_role/"),
        &admin,
        Some(json!({"role_id": a})),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        res.json(),
        json!({"detail": "The user does not hold this role.", "code": "not_found"})
    );
    assert_eq!(
        audit_actions(&s, &admin, id).await,
        vec!["user.create", "user.assign_roles", "user.remove_role"]
    );
}

#[tokio::test]
async fn deactivation_ends_logins_and_frees_a_seat_and_activation_respects_the_plan() {
    let s = setup().await;
    let admin = tenant(&s, "udeact").await;
    let (_, email) = unique("udeact-u");
    let user = create_user(&s, &admin, &email, json!({})).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let refresh = login(&s, &email).await.json()["tokens"]["refresh"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(usage(&s, &admin).await.users, 2);

    let res = call_as(
        &s.users,
        "DELETE",
        &format!("/api/users/{id}/"),
        &admin,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_eq!(usage(&s, &admin).await.users, 1);
    assert_eq!(
        login(&s, &email).await.status,
        StatusCode::FORBIDDEN,
        "inactive users cannot log in"
    );
    let res = post_json(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": refresh}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    // Deactivating twice changes nothing more.
    assert_eq!(
        call_as(
            &s.users,
            "DELETE",
            &format!("/api/users/{id}/"),
            &admin,
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(usage(&s, &admin).await.users, 1);

    let res = call_as(
        &s.users,
        "POST",
        &format!("/api/users/{id}/activate/"),
        &admin,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["is_active"], true);
    assert_eq!(usage(&s, &admin).await.users, 2);
    let res = post_json(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": refresh}),
        None,
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "reactivation does not revive old logins"
    );
    let res = post_json(
        &s.auth.app,
        "/api/auth/token/verify/",
        &json!({"token": refresh}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&s, &email).await.status, StatusCode::OK);

    // The trial allows 5 active users: fill it, then a deactivated user
    // cannot come back until a seat frees up.
    call_as(
        &s.users,
        "DELETE",
        &format!("/api/users/{id}/"),
        &admin,
        None,
    )
    .await;
    for i in 0..4 {
        create_user(&s, &admin, &unique(&format!("udeact-fill{i}")).1, json!({})).await;
    }
    let res = call_as(
        &s.users,
        "POST",
        &format!("/api/users/{id}/activate/"),
        &admin,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.json()["code"], "plan_limit_reached");
    let res = call_as(
        &s.users,
        "PATCH",
        &format!("/api/users/{id}/"),
        &admin,
        Some(json!({"is_active": true})),
    )
    .await;
    assert_eq!(res.json()["code"], "plan_limit_reached");
    assert_eq!(usage(&s, &admin).await.users, 5);
    assert_eq!(
        audit_actions(&s, &admin, &id).await,
        vec![
            "user.create",
            "user.deactivate",
            "user.activate",
            "user.deactivate"
        ]
    );
}

#[tokio::test]
async fn the_last_active_administrator_cannot_be_removed() {
    let s = setup().await;
    let admin = tenant(&s, "ulast").await;
    let admin_role = admin_role_id(&s, &admin).await;
    let me = call_as(&s.users, "GET", "/api/users/me/", &admin, None)
        .await
        .json();
    let me_id = me["id"].as_str().unwrap().to_owned();
    for (method, uri, body) in [
        ("DELETE", format!("/api/users/{me_id}/"), None),
        (
            "PATCH",
            format!("/api/users/{me_id}/"),
            Some(json!({"is_active": false})),
        ),
        (
            "PATCH",
            format!("/api/users/{me_id}/"),
            Some(json!({"role_ids": []})),
        ),
        (
            "POST",
            format!("/api/users/{me_id}/assign_roles/"),
            Some(json!({"role_ids": []})),
        ),
        (
            "DELETE",
            format!("/api/users/{me_id}/remove_role/"),
            Some(json!({"role_id": admin_role})),
        ),
    ] {
        let res = call_as(&s.users, method, &uri, &admin, body).await;
        assert_eq!(
            res.status,
            StatusCode::CONFLICT,
            "{method} {uri}: {}",
            res.text()
        );
        assert_eq!(res.json()["code"], "last_admin");
    }
    assert_eq!(usage(&s, &admin).await.admins, 1);

    // With a second administrator, one of the two may step down — but two
    // concurrent demotions still leave exactly one.
    let (_, email) = unique("ulast-2");
    let second = create_user(&s, &admin, &email, json!({"role_ids": [admin_role]})).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    assert_eq!(usage(&s, &admin).await.admins, 2);
    let s = std::sync::Arc::new(s);
    let tasks: Vec<_> = [me_id.clone(), second_id.clone()]
        .into_iter()
        .map(|id| {
            let (s, admin, role) = (s.clone(), admin.clone(), admin_role.clone());
            tokio::spawn(async move {
                call_as(
                    &s.users,
                    "DELETE",
                    &format!("/api/users/{id}/remove_role/"),
                    &admin,
                    Some(json!({"role_id": role})),
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let res = t.await.unwrap();
        match res.status {
            StatusCode::OK => ok += 1,
            // The last admin (`last_admin`), or a lost race (`conflict`).
            StatusCode::CONFLICT => {}
            // The actor's own demotion committed first: it no longer holds
            // the grants that removing the other's Admin role needs.
            StatusCode::FORBIDDEN if res.json()["code"] == "permission_escalation" => {}
            other => panic!("unexpected {other}: {}", res.text()),
        }
    }
    assert_eq!(ok, 1, "exactly one demotion wins");
    assert_eq!(usage(&s, &admin).await.admins, 1);
    assert_eq!(role_record(&s, &admin, &admin_role).await.member_count, 1);
}

#[tokio::test]
async fn users_of_another_tenant_are_not_found_on_every_endpoint() {
    let s = setup().await;
    let a = tenant(&s, "uprobea").await;
    let b = tenant(&s, "uprobeb").await;
    let victim = create_user(&s, &a, &unique("uprobe-v").1, json!({})).await;
    let id = victim["id"].as_str().unwrap();
    let b_role = admin_role_id(&s, &b).await;
    for (method, uri, body) in [
        ("GET", format!("/api/users/{id}/"), None),
        (
            "PATCH",
            format!("/api/users/{id}/"),
            Some(json!({"first_name": "X"})),
        ),
        ("DELETE", format!("/api/users/{id}/"), None),
        ("POST", format!("/api/users/{id}/activate/"), None),
        (
            "POST",
            format!("/api/users/{id}/assign_roles/"),
            Some(json!({"role_ids": [b_role]})),
        ),
        (
            "DELETE",
            format!("/api/users/{id}/remove_role/"),
            Some(json!({"role_id": b_role})),
        ),
    ] {
        let res = call_as(&s.users, method, &uri, &b, body).await;
        assert_eq!(
            res.status,
            StatusCode::NOT_FOUND,
            "{method} {uri}: {}",
            res.text()
        );
    }
    let full = json!({"first_name": "X", "last_name": "Y", "phone": null, "timezone": "UTC", "preferences": {},
                      "profile_picture": null, "is_active": true, "role_ids": [], "team_ids": []});
    assert_eq!(
        call_as(
            &s.users,
            "PUT",
            &format!("/api/users/{id}/"),
            &b,
            Some(full)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let still = call_as(&s.users, "GET", &format!("/api/users/{id}/"), &a, None)
        .await
        .json();
    assert_eq!(still["first_name"], "Nia");
    assert_eq!(still["is_active"], true);
}

#[tokio::test]
async fn the_list_filters_searches_orders_and_pages() {
    let s = setup().await;
    let admin = tenant(&s, "ulist").await;
    let other = tenant(&s, "ulistother").await;
    let sales = create_role(&s, &admin, "Sales", json!({})).await;
    let team = on(
        &s.teams,
        "POST",
        "/api/teams/",
        &admin,
        Some(json!({"name": "North"})),
    )
    .await;
    assert_eq!(team.status, StatusCode::CREATED, "{}", team.text());
    let team = team.json()["id"].as_str().unwrap().to_owned();
    let tag = unique("ul").0;
    let people = [
        ("zoe", "Zoe", "Adams"),
        ("bob", "Bob", "Zimmer"),
        ("amy", "Amy", "Brown"),
        ("carl", "Carl", "Brook"),
    ];
    let mut ids = Vec::new();
    for (i, (local, first, last)) in people.iter().enumerate() {
        let mut extra = json!({"first_name": first, "last_name": last});
        if i % 2 == 0 {
            extra["role_ids"] = json!([sales]);
            extra["team_ids"] = json!([team]);
        }
        let u = create_user(&s, &admin, &format!("{local}.{tag}@example.com"), extra).await;
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    call_as(
        &s.users,
        "DELETE",
        &format!("/api/users/{}/", ids[1]),
        &admin,
        None,
    )
    .await;
    let emails = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                u["email"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let list = |q: &str| {
        let (s, admin, q) = (&s, &admin, q.to_owned());
        async move {
            let res = call_as(&s.users, "GET", &format!("/api/users/?{q}"), admin, None).await;
            assert_eq!(res.status, StatusCode::OK, "{q}: {}", res.text());
            res.json()
        }
    };
    // The admin registered first; the four follow in creation order.
    let by_date = emails(&list("page_size=100").await);
    assert_eq!(by_date[1..], ["zoe", "bob", "amy", "carl"]);
    assert_eq!(
        emails(&list("ordering=-date_joined&page_size=4").await),
        ["carl", "amy", "bob", "zoe"]
    );
    let by_email = emails(&list(&format!("ordering=email&search={tag}")).await);
    assert!(by_email.is_empty(), "search matches prefixes only");
    let by_email: Vec<String> = emails(&list("ordering=email&page_size=100").await)
        .into_iter()
        .filter(|e| people.iter().any(|p| p.0 == e))
        .collect();
    assert_eq!(by_email, ["amy", "bob", "carl", "zoe"]);
    let desc: Vec<String> = emails(&list("ordering=-email&page_size=100").await)
        .into_iter()
        .filter(|e| people.iter().any(|p| p.0 == e))
        .collect();
    assert_eq!(desc, ["zoe", "carl", "bob", "amy"]);

    assert_eq!(emails(&list("is_active=false").await), ["bob"]);
    assert_eq!(
        emails(&list(&format!("role={sales}")).await),
        ["zoe", "amy"]
    );
    assert_eq!(
        emails(&list(&format!("team={team}&ordering=email")).await),
        ["amy", "zoe"]
    );
    assert_eq!(
        emails(&list("search=BRO").await),
        ["amy", "carl"],
        "last-name prefix, any case"
    );
    assert_eq!(emails(&list("search=zo").await), ["zoe"]);
    assert_eq!(
        emails(&list(&format!("search=amy.{tag}@&ordering=email")).await),
        ["amy"],
        "email prefix"
    );
    assert_eq!(
        emails(&list("search=bob&is_active=true").await),
        Vec::<String>::new()
    );

    // Filtered pages: follow next to the end and previous back.
    let first = list("is_active=true&page_size=2").await;
    assert_eq!(first["results"].as_array().unwrap().len(), 2);
    assert_eq!(first["previous"], Value::Null);
    let second = call_as(
        &s.users,
        "GET",
        &tests::app::path_of(&first["next"]),
        &admin,
        None,
    )
    .await
    .json();
    assert_eq!(emails(&second), ["amy", "carl"]);
    assert_eq!(second["next"], Value::Null);
    let back = call_as(
        &s.users,
        "GET",
        &tests::app::path_of(&second["previous"]),
        &admin,
        None,
    )
    .await
    .json();
    assert_eq!(emails(&back), emails(&first));

    // Cursors are bound to the query and the tenant.
    let next = tests::app::path_of(&first["next"]);
    let cursor = next
        .split("cursor=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let res = call_as(
        &s.users,
        "GET",
        &format!("/api/users/?is_active=false&page_size=2&cursor={cursor}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "a cursor does not move to other filters"
    );
    let res = call_as(
        &s.users,
        "GET",
        &format!("/api/users/?is_active=true&page_size=2&cursor={cursor}"),
        &other,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "nor to another tenant");
    // A different character in the middle: it always changes the decoded
    // bytes (the last character of unpadded base64 may carry unused bits).
    let mid = cursor.len() / 2;
    let other = if &cursor[mid..=mid] == "A" { "B" } else { "A" };
    let tampered = format!("{}{other}{}", &cursor[..mid], &cursor[mid + 1..]);
    let res = call_as(
        &s.users,
        "GET",
        &format!("/api/users/?is_active=true&page_size=2&cursor={tampered}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    for (bad, field) in [
        ("ordering=name", "ordering"),
        ("is_active=maybe", "is_active"),
        ("role=nope", "role"),
        ("colour=red", "colour"),
    ] {
        let res = call_as(&s.users, "GET", &format!("/api/users/?{bad}"), &admin, None).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.text());
        assert!(res.json()[field].is_array(), "{bad}: {}", res.text());
    }
    // An empty parameter is absent, as in DRF.
    let everyone = list("").await;
    assert_eq!(list("search=&role=&cursor=").await, everyone);
    // The page, and the tenant with its roles, at once.
    s.auth.calls.reset();
    list(&format!("role={sales}")).await;
    assert_eq!(s.auth.calls.calls(), ["Query", "Query"]);
    assert_eq!(s.auth.calls.depth(), 1);
}
