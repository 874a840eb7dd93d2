//! The users function against DynamoDB Local.

use crate::roles::{call, scope, setup, token_for, Setup};
use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::records::{RoleRecord, UsageRecord};
use tests::{post_json, registration, send, unique};

async fn users_call(s: &Setup, method: &str, uri: &str, token: &str, body: Option<Value>) -> tests::TestResponse {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("host", "api.test");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    send(&s.users, req.body(axum::body::Body::from(body)).unwrap()).await
}

async fn register(s: &Setup, prefix: &str) -> String {
    let (slug, email) = unique(prefix);
    let res = post_json(&s.auth.app, "/api/auth/register/", &registration(&slug, &email), None).await;
    res.json()["tokens"]["access"].as_str().unwrap().to_owned()
}

fn new_user(email: &str, role_ids: Value) -> Value {
    json!({"email": email, "password": "a-good-password", "password_confirm": "a-good-password",
           "first_name": "Nia", "role_ids": role_ids})
}

#[tokio::test]
async fn admins_create_users_who_can_log_in_with_their_roles() {
    let s = setup().await;
    let admin = register(&s, "usersa").await;
    let role = call(&s, "POST", "/api/roles/", &admin, Some(json!({"name": "Reps", "permissions": {"crm": {"leads": {"view": "own"}}}})), None)
        .await
        .json();
    let (_, email) = unique("newuser");
    let res = users_call(&s, "POST", "/api/users/", &admin, Some(new_user(&email, json!([role["id"]])))).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let user = res.json();
    assert_eq!(user["roles"], json!([{"id": role["id"], "name": "Reps"}]));
    assert_eq!(user["email"], email);

    let res = post_json(&s.auth.app, "/api/auth/login/", &json!({"email": email, "password": "a-good-password"}), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let access = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    let me = users_call(&s, "GET", "/api/users/me/", &access, None).await.json();
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
    let res = call(&s, "DELETE", &format!("/api/roles/{}/", role["id"].as_str().unwrap()), &admin, None, None).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "a role with members cannot be deleted");

    let listed = users_call(&s, "GET", "/api/users/", &admin, None).await.json();
    assert_eq!(listed["results"].as_array().unwrap().len(), 2);
    let one = users_call(&s, "GET", &format!("/api/users/{}/", user["id"].as_str().unwrap()), &admin, None).await;
    assert_eq!(one.json()["email"], email);
}

#[tokio::test]
async fn user_creation_is_validated_and_isolated() {
    let s = setup().await;
    let a = register(&s, "uvala").await;
    let b = register(&s, "uvalb").await;
    let b_role = call(&s, "GET", "/api/roles/", &b, None, None).await.json()["results"][0]["id"].clone();
    let (_, email) = unique("dup");
    assert_eq!(users_call(&s, "POST", "/api/users/", &a, Some(new_user(&email, json!([])))).await.status, StatusCode::CREATED);

    let res = users_call(&s, "POST", "/api/users/", &b, Some(new_user(&email.to_uppercase(), json!([])))).await;
    assert_eq!(res.json(), json!({"email": ["A user with this email already exists."]}), "emails are unique platform-wide");
    let res = users_call(&s, "POST", "/api/users/", &a, Some(new_user(&unique("r").1, json!([b_role])))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["role_ids"][0].as_str().unwrap().starts_with("Unknown role"), "another tenant's role is unknown");
    let mut bad = new_user("not-an-email", json!([]));
    bad["password_confirm"] = json!("different-password");
    bad["is_super_admin"] = json!(true);
    let res = users_call(&s, "POST", "/api/users/", &a, Some(bad)).await;
    assert_eq!(res.json(), json!({"is_super_admin": ["Unknown field."]}));

    let a_user = users_call(&s, "GET", "/api/users/", &a, None).await.json()["results"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(users_call(&s, "GET", &format!("/api/users/{a_user}/"), &b, None).await.status, StatusCode::NOT_FOUND);
    let member = token_for(&s, scope(&s, &a).tenant_id(), false, Default::default());
    assert_eq!(users_call(&s, "GET", "/api/users/", &member, None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(users_call(&s, "POST", "/api/users/", &member, Some(new_user(&unique("m").1, json!([])))).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn twenty_concurrent_creations_never_exceed_max_users() {
    let s = setup().await;
    let admin = register(&s, "limit").await;
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
    let usage: UsageRecord = s.auth.store.tenant(&scope(&s, &admin)).get(&keys::usage()).await.unwrap().unwrap();
    assert_eq!(usage.users, 1 + created);
    let listed = users_call(&s, "GET", "/api/users/?page_size=100", &admin, None).await.json();
    assert_eq!(listed["results"].as_array().unwrap().len() as u32, 1 + created);
    // Sequentially the limit is reached exactly.
    let mut extra = 0;
    loop {
        let res = users_call(&s, "POST", "/api/users/", &admin, Some(new_user(&unique("seq").1, json!([])))).await;
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
    let admin = register(&s, "profile").await;
    let res = users_call(
        &s,
        "PATCH",
        "/api/users/update_me/",
        &admin,
        Some(json!({"first_name": "Grace", "timezone": "Europe/Madrid", "phone": "+34 600 000 000",
                    "preferences": {"theme": "dark", "note": ""}})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let me = res.json();
    assert_eq!(me["first_name"], "Grace");
    assert_eq!(me["timezone"], "Europe/Madrid");
    assert_eq!(me["preferences"], json!({"theme": "dark", "note": ""}));
    for forbidden in [json!({"roles": []}), json!({"is_super_admin": true}), json!({"tenant": "x"}), json!({"is_active": false})] {
        let res = users_call(&s, "PATCH", "/api/users/update_me/", &admin, Some(forbidden.clone())).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{forbidden}");
    }
    let res = users_call(&s, "PATCH", "/api/users/update_me/", &admin, Some(json!({"timezone": "Not a zone!"}))).await;
    assert!(res.json()["timezone"].is_array());
    let res = users_call(&s, "PATCH", "/api/users/update_me/", &admin, Some(json!({"preferences": {"x": "y".repeat(20_000)}}))).await;
    assert!(res.json()["preferences"].is_array());
}

#[tokio::test]
async fn role_members_lists_exactly_the_holders() {
    let s = setup().await;
    let admin = register(&s, "members").await;
    let other = register(&s, "membersother").await;
    let role = call(&s, "POST", "/api/roles/", &admin, Some(json!({"name": "Support"})), None).await.json();
    let role_id = role["id"].as_str().unwrap().to_owned();
    let mut holders = Vec::new();
    for i in 0..3 {
        let roles = if i < 2 { json!([role_id]) } else { json!([]) };
        let res = users_call(&s, "POST", "/api/users/", &admin, Some(new_user(&unique("m").1, roles))).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        if i < 2 {
            holders.push(res.json()["id"].clone());
        }
    }
    let res = call(&s, "GET", &format!("/api/roles/{role_id}/members/?page_size=100"), &admin, None, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let mut members: Vec<Value> = res.json()["results"].as_array().unwrap().iter().map(|u| u["id"].clone()).collect();
    members.sort_by_key(|v| v.to_string());
    holders.sort_by_key(|v| v.to_string());
    assert_eq!(members, holders);

    let admin_role = call(&s, "GET", "/api/roles/", &admin, None, None).await.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = call(&s, "GET", &format!("/api/roles/{admin_role}/members/"), &admin, None, None).await;
    assert_eq!(res.json()["results"].as_array().unwrap().len(), 1);
    // Another tenant cannot probe the role.
    let res = call(&s, "GET", &format!("/api/roles/{role_id}/members/"), &other, None, None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
