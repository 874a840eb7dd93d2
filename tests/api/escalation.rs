//! The no-escalation rule through the roles and users routers: a partial
//! administrator writes, hands out and takes away only grants they hold.

use crate::matrix::super_admin;
use http::StatusCode;
use serde_json::{json, Value};
use tests::app::{call_plain, claims_of, naming_roles, setup, tenant, Setup};
use tests::{unique, TestResponse};

pub(crate) async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    tenant: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    call_plain(app, method, uri, Some(token), body, tenant).await
}

/// A role made by the tenant admin; its id.
async fn role(s: &Setup, admin: &str, permissions: Value) -> String {
    let res = create_role_as(s, admin, permissions).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

/// A user holding `role_ids`, logged in: (user id, access token).
pub(crate) async fn user(s: &Setup, admin: &str, role_ids: &[&str]) -> (String, String) {
    let email = unique("esc").1;
    let res = call(
        &s.users,
        "POST",
        "/api/users/",
        admin,
        None,
        Some(json!({"email": email, "password": "a-good-password", "password_confirm": "a-good-password",
                    "role_ids": role_ids})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let res = tests::post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": email, "password": "a-good-password"}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    (
        id,
        res.json()["tokens"]["access"].as_str().unwrap().to_owned(),
    )
}

/// What the partial role managers below hold.
fn role_manager_grants() -> Value {
    json!({"administration": {"roles": {"manage": true}}, "crm": {"leads": {"view": "team"}}})
}

/// A user holding one role of [`role_manager_grants`]: (that role, the
/// user's id, their access token).
async fn role_manager(s: &Setup, admin: &str) -> (String, String, String) {
    let r = role(s, admin, role_manager_grants()).await;
    let (id, token) = user(s, admin, &[&r]).await;
    (r, id, token)
}

/// `POST /api/roles/` as `token`, a fresh name with `permissions`.
async fn create_role_as(s: &Setup, token: &str, permissions: Value) -> TestResponse {
    let name = format!("P {}", unique("p").0);
    let body = json!({"name": name, "permissions": permissions});
    call(&s.roles, "POST", "/api/roles/", token, None, Some(body)).await
}

fn assert_escalation(res: &TestResponse, exceeding: &[&str]) {
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    let body = res.json();
    assert_eq!(body["code"], "permission_escalation", "{body}");
    assert_eq!(body["exceeding"], json!(exceeding), "{body}");
    assert!(body["detail"].as_str().unwrap().contains(exceeding[0]));
}

async fn system_role(s: &Setup, admin: &str) -> String {
    let res = call(&s.roles, "GET", "/api/roles/", admin, None, None).await;
    res.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_system"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_role_manager_creates_and_changes_roles_only_within_their_own_grants() {
    let s = setup().await;
    let admin = tenant(&s, "escroles").await;
    let mine = role_manager_grants();
    let (_, _, partial) = role_manager(&s, &admin).await;

    let create = |permissions: Value| create_role_as(&s, &partial, permissions);
    // At or below: own < team, and the grants they hold.
    let res = create(json!({"crm": {"leads": {"view": "own"}}})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let res = create(mine.clone()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    // Above: a wider scope, a boolean not held, another administration grant.
    assert_escalation(
        &create(json!({"crm": {"leads": {"view": "all", "delete": true}}})).await,
        &["crm.leads.view", "crm.leads.delete"],
    );
    assert_escalation(
        &create(json!({"administration": {"users": {"manage": true}}})).await,
        &["administration.users.manage"],
    );

    // A role stronger than the caller can be neither raised, nor stripped,
    // nor deleted by them.
    let strong = role(&s, &admin, json!({"crm": {"leads": {"view": "all"}}})).await;
    let uri = format!("/api/roles/{strong}/");
    let res = call(
        &s.roles,
        "PATCH",
        &uri,
        &partial,
        None,
        Some(json!({"permissions": {"crm": {"leads": {"view": "own"}}}})),
    )
    .await;
    assert_escalation(&res, &["crm.leads.view"]);
    let res = call(&s.roles, "DELETE", &uri, &partial, None, None).await;
    assert_escalation(&res, &["crm.leads.view"]);
    let admin_role = system_role(&s, &admin).await;
    let res = call(
        &s.roles,
        "PATCH",
        &format!("/api/roles/{admin_role}/"),
        &partial,
        None,
        Some(json!({"description": "mine now"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["code"], "permission_escalation");

    // A role within their grants they change and delete freely.
    let weak = role(&s, &admin, json!({"crm": {"leads": {"view": "own"}}})).await;
    let uri = format!("/api/roles/{weak}/");
    let res = call(
        &s.roles,
        "PATCH",
        &uri,
        &partial,
        None,
        Some(json!({"permissions": {"crm": {"leads": {"view": "team"}}}})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = call(
        &s.roles,
        "PATCH",
        &uri,
        &partial,
        None,
        Some(json!({"permissions": {"crm": {"leads": {"view": "all"}}}})),
    )
    .await;
    assert_escalation(&res, &["crm.leads.view"]);
    let res = call(&s.roles, "DELETE", &uri, &partial, None, None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
}

#[tokio::test]
async fn the_rule_reads_the_roles_the_user_holds_now_not_those_the_token_names() {
    let s = setup().await;
    let admin = tenant(&s, "escstale").await;
    let (a, id, partial) = role_manager(&s, &admin).await;
    let b = role(&s, &admin, json!({"crm": {"leads": {"view": "all"}}})).await;
    let all = json!({"crm": {"leads": {"view": "all"}}});

    // A token naming a role the user does not hold gains nothing from it.
    let ids = [&a, &b].map(|r| r.parse().unwrap());
    let claims_b = naming_roles(&s, &partial, &ids);
    s.auth.calls.reset();
    assert_escalation(
        &create_role_as(&s, &claims_b, all.clone()).await,
        &["crm.leads.view"],
    );
    assert_eq!(
        s.auth.calls.calls(),
        ["BatchGetItem"],
        "the user with A and B"
    );

    // Given B since the token was issued: it counts, read after the user.
    let res = call(
        &s.users,
        "PATCH",
        &format!("/api/users/{id}/"),
        &admin,
        None,
        Some(json!({"role_ids": [a, b]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    s.auth.calls.reset();
    let res = create_role_as(&s, &partial, all.clone()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(
        s.auth.calls.calls(),
        ["BatchGetItem", "BatchGetItem", "TransactWriteItems"],
        "the user with A, then B"
    );
    // Named by the token too: one read.
    s.auth.calls.reset();
    let res = create_role_as(&s, &claims_b, all).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(s.auth.calls.calls(), ["BatchGetItem", "TransactWriteItems"]);
}

#[tokio::test]
async fn a_user_manager_hands_out_and_takes_away_only_roles_within_their_grants() {
    let s = setup().await;
    let admin = tenant(&s, "escusers").await;
    let admin_id = claims_of(&s, &admin).sub.to_string();
    let admin_role = system_role(&s, &admin).await;
    let mine = role(
        &s,
        &admin,
        json!({"administration": {"users": {"manage": true, "view": true}}, "crm": {"leads": {"view": "team"}}}),
    )
    .await;
    let (me, partial) = user(&s, &admin, &[&mine]).await;
    let weak = role(&s, &admin, json!({"crm": {"leads": {"view": "own"}}})).await;
    let strong = role(&s, &admin, json!({"crm": {"leads": {"view": "all"}}})).await;
    let (target, _) = user(&s, &admin, &[]).await;

    let assign = |id: String, roles: Vec<String>| {
        let token = partial.clone();
        let app = s.users.clone();
        async move {
            call(
                &app,
                "POST",
                &format!("/api/users/{id}/assign_roles/"),
                &token,
                None,
                Some(json!({"role_ids": roles})),
            )
            .await
        }
    };
    let res = assign(target.clone(), vec![weak.clone()]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_escalation(
        &assign(target.clone(), vec![weak.clone(), strong.clone()]).await,
        &["crm.leads.view"],
    );
    // Not to themselves either.
    assert_escalation(
        &assign(me.clone(), vec![mine.clone(), strong.clone()]).await,
        &["crm.leads.view"],
    );
    // The system Admin role: only a holder of every grant moves it.
    let res = assign(target.clone(), vec![admin_role.clone()]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.json()["code"], "permission_escalation");
    let res = call(
        &s.users,
        "DELETE",
        &format!("/api/users/{admin_id}/remove_role/"),
        &partial,
        None,
        Some(json!({"role_id": admin_role})),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.json()["code"], "permission_escalation");
    // Nor may they switch off a stronger user.
    let res = call(
        &s.users,
        "DELETE",
        &format!("/api/users/{admin_id}/"),
        &partial,
        None,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    // At creation, through PUT and PATCH alike.
    let res = call(
        &s.users,
        "POST",
        "/api/users/",
        &partial,
        None,
        Some(
            json!({"email": unique("escn").1, "password": "a-good-password",
                    "password_confirm": "a-good-password", "role_ids": [strong]}),
        ),
    )
    .await;
    assert_escalation(&res, &["crm.leads.view"]);
    let res = call(
        &s.users,
        "PATCH",
        &format!("/api/users/{target}/"),
        &partial,
        None,
        Some(json!({"role_ids": [strong]})),
    )
    .await;
    assert_escalation(&res, &["crm.leads.view"]);
    // Other changes of a user stay open.
    let res = call(
        &s.users,
        "PATCH",
        &format!("/api/users/{admin_id}/"),
        &partial,
        None,
        Some(json!({"first_name": "Renamed"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // The full administrator hands out anything.
    let res = call(
        &s.users,
        "POST",
        &format!("/api/users/{target}/assign_roles/"),
        &admin,
        None,
        Some(json!({"role_ids": [strong, admin_role]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn super_admins_are_exempt() {
    let s = setup().await;
    let admin = tenant(&s, "escsuper").await;
    let a = claims_of(&s, &admin).tenant_id.to_string();
    let root = super_admin(&s).await;
    // The super admin's own tenant roles hold everything anyway; what counts
    // is that no store read of its grants in A (where it has no user) refuses.
    let res = call(
        &s.roles,
        "POST",
        "/api/roles/",
        &root.access,
        Some(a.as_str()),
        Some(
            json!({"name": "Everything", "permissions": shared::permissions::admin_permissions()}),
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let strong = res.json()["id"].as_str().unwrap().to_owned();
    let (target, _) = user(&s, &admin, &[]).await;
    let res = call(
        &s.users,
        "POST",
        &format!("/api/users/{target}/assign_roles/"),
        &root.access,
        Some(a.as_str()),
        Some(json!({"role_ids": [strong]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}
