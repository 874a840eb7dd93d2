//! Access tokens stop within the revocation check interval after the change
//! that revokes them (issue #11): each event below, against DynamoDB Local,
//! with the interval at 0 (every request rereads) unless said otherwise.

use axum::Router;
use http::StatusCode;
use serde_json::{json, Value};
use shared::billing::BillingPolicy;
use shared::keys;
use shared::permissions::admin_permissions;
use shared::records::{SubscriptionRecord, SubscriptionStatus};
use std::time::Duration;
use tests::app::{claims_of, scope, setup_on, token_for, Setup};
use tests::{auth_app_checking, post_json, registration, send, unique, TestResponse};
use uuid::Uuid;

const PASSWORD: &str = "a-good-password";

async fn checking(interval: Duration) -> Setup {
    setup_on(auth_app_checking(interval).await)
}

async fn req(
    app: &Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> TestResponse {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("host", "api.test");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    send(app, req.body(axum::body::Body::from(body)).unwrap()).await
}

/// [`req`], answered with `status` (else the body shows in the failure).
async fn expect(
    app: &Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
    status: StatusCode,
) -> TestResponse {
    let res = req(app, method, uri, token, body).await;
    assert_eq!(res.status, status, "{}", res.text());
    res
}

/// Changes role `id` as `admin`.
async fn patch_role(s: &Setup, admin: &str, id: &str, body: Value) {
    let uri = format!("/api/roles/{id}/");
    expect(&s.roles, "PATCH", &uri, admin, Some(body), StatusCode::OK).await;
}

/// Deactivates user `id` as `admin`.
async fn deactivate(s: &Setup, admin: &str, id: &str) {
    let uri = format!("/api/users/{id}/");
    expect(
        &s.users,
        "DELETE",
        &uri,
        admin,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
}

fn grant(claims: &shared::auth::Claims, key: &str) -> Value {
    serde_json::to_value(&claims.permissions).unwrap()[key].clone()
}

fn assert_revoked(res: &TestResponse) {
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"code": "token_not_valid",
               "detail": "Token has been revoked; refresh or log in again."})
    );
}

/// The admin's `access` token is revoked, and a refresh of `refresh` brings
/// one that works for administration, without modules.
async fn assert_modules_revoked(s: &Setup, access: &str, refresh: &str) {
    assert_revoked(&admin_call(s, access).await);
    let fresh = refreshed(s, refresh).await;
    assert!(claims_of(s, &fresh).enabled_modules.is_empty());
    assert_eq!(admin_call(s, &fresh).await.status, StatusCode::OK);
}

/// An admin-only call (lists users).
async fn admin_call(s: &Setup, token: &str) -> TestResponse {
    req(&s.users, "GET", "/api/users/", token, None).await
}

/// Any member's call.
async fn member_call(s: &Setup, token: &str) -> TestResponse {
    req(&s.users, "GET", "/api/users/me/", token, None).await
}

/// Registers a tenant: (admin access token, admin refresh token).
/// (access, refresh) of a login or registration response.
fn token_pair(res: &TestResponse) -> (String, String) {
    let tokens = &res.json()["tokens"];
    (
        tokens["access"].as_str().unwrap().to_owned(),
        tokens["refresh"].as_str().unwrap().to_owned(),
    )
}

async fn tenant(s: &Setup, prefix: &str) -> (String, String) {
    let (slug, email) = unique(prefix);
    let res = post_json(
        &s.auth.app,
        "/api/auth/register/",
        &registration(&slug, &email),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    token_pair(&res)
}

/// The system Admin role's id.
async fn admin_role(s: &Setup, admin: &str) -> String {
    let roles = req(&s.roles, "GET", "/api/roles/", admin, None)
        .await
        .json();
    roles["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_system"] == json!(true))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn create_role(s: &Setup, admin: &str, name: &str, permissions: Value) -> String {
    let res = expect(
        &s.roles,
        "POST",
        "/api/roles/",
        admin,
        Some(json!({"name": name, "permissions": permissions})),
        StatusCode::CREATED,
    )
    .await;
    res.json()["id"].as_str().unwrap().to_owned()
}

/// Creates a user holding `roles` and logs them in: (user id, access, refresh).
async fn member(s: &Setup, admin: &str, roles: &[&str]) -> (String, String, String) {
    let (_, email) = unique("member");
    let res = expect(
        &s.users,
        "POST",
        "/api/users/",
        admin,
        Some(
            json!({"email": email, "password": PASSWORD, "password_confirm": PASSWORD,
                    "first_name": "Nia", "role_ids": roles}),
        ),
        StatusCode::CREATED,
    )
    .await;
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let (access, refresh) = login(s, &email, PASSWORD).await;
    (id, access, refresh)
}

async fn login(s: &Setup, email: &str, password: &str) -> (String, String) {
    let res = post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": email, "password": password}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    token_pair(&res)
}

async fn refresh(s: &Setup, refresh: &str) -> TestResponse {
    post_json(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": refresh}),
        None,
    )
    .await
}

/// Refreshes; the new access token.
async fn refreshed(s: &Setup, token: &str) -> String {
    let res = refresh(s, token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["access"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn deactivating_a_user_stops_their_access_token() {
    let s = checking(Duration::ZERO).await;
    let (admin, _) = tenant(&s, "rvdeact").await;
    let admin_role = admin_role(&s, &admin).await;
    let (id, victim, victim_refresh) = member(&s, &admin, &[&admin_role]).await;
    let (_, bystander, _) = member(&s, &admin, &[&admin_role]).await;
    assert_eq!(admin_call(&s, &victim).await.status, StatusCode::OK);

    deactivate(&s, &admin, &id).await;

    // The reported case: the token no longer creates admins, or does anything.
    let (_, email) = unique("sneaky");
    let res = req(
        &s.users,
        "POST",
        "/api/users/",
        &victim,
        Some(
            json!({"email": email, "password": PASSWORD, "password_confirm": PASSWORD,
                    "role_ids": [admin_role]}),
        ),
    )
    .await;
    assert_revoked(&res);
    assert_revoked(&member_call(&s, &victim).await);
    assert_revoked(&req(&s.roles, "GET", "/api/roles/", &victim, None).await);
    // Others of the tenant carry on.
    assert_eq!(admin_call(&s, &admin).await.status, StatusCode::OK);
    assert_eq!(admin_call(&s, &bystander).await.status, StatusCode::OK);
    // And the login is gone.
    let res = refresh(&s, &victim_refresh).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_eq!(res.json()["code"], "token_not_valid");
}

#[tokio::test]
async fn removing_a_role_stops_the_token_and_a_refresh_carries_the_rest() {
    let s = checking(Duration::ZERO).await;
    let (admin, _) = tenant(&s, "rvremove").await;
    let admin_role = admin_role(&s, &admin).await;
    let reps = create_role(
        &s,
        &admin,
        "Reps",
        json!({"crm": {"leads": {"view": "own"}}}),
    )
    .await;
    let (id, token, refresh_token) = member(&s, &admin, &[&admin_role, &reps]).await;
    let (_, bystander, _) = member(&s, &admin, &[&admin_role]).await;
    assert_eq!(admin_call(&s, &token).await.status, StatusCode::OK);
    let mut held = claims_of(&s, &token).roles;
    held.sort();
    let mut expected: Vec<Uuid> = [&admin_role, &reps]
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
    expected.sort();
    assert_eq!(
        held, expected,
        "the token names the roles its grants came from"
    );

    expect(
        &s.users,
        "DELETE",
        &format!("/api/users/{id}/remove_role/"),
        &admin,
        Some(json!({"role_id": admin_role})),
        StatusCode::OK,
    )
    .await;
    assert_revoked(&admin_call(&s, &token).await);
    assert_eq!(admin_call(&s, &bystander).await.status, StatusCode::OK);

    let fresh = refreshed(&s, &refresh_token).await;
    let claims = claims_of(&s, &fresh);
    assert_eq!(claims.roles, vec![reps.parse::<Uuid>().unwrap()]);
    assert_eq!(grant(&claims, "crm.leads.view"), json!("own"));
    assert_eq!(member_call(&s, &fresh).await.status, StatusCode::OK);
    assert_eq!(admin_call(&s, &fresh).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn reducing_or_deactivating_a_role_stops_its_holders_tokens() {
    let s = checking(Duration::ZERO).await;
    let (admin, _) = tenant(&s, "rvreduce").await;
    let admin_grants = serde_json::to_value(admin_permissions()).unwrap();
    let deputies = create_role(&s, &admin, "Deputies", admin_grants.clone()).await;
    let sellers = create_role(&s, &admin, "Sellers", admin_grants).await;
    let (_, deputy, deputy_refresh) = member(&s, &admin, &[&deputies]).await;
    let (_, seller, seller_refresh) = member(&s, &admin, &[&sellers]).await;
    let (_, other, _) = member(&s, &admin, &[&admin_role(&s, &admin).await]).await;
    assert_eq!(admin_call(&s, &deputy).await.status, StatusCode::OK);

    // A change that takes nothing away revokes nothing.
    patch_role(&s, &admin, &deputies, json!({"description": "Stand-ins"})).await;
    assert_eq!(admin_call(&s, &deputy).await.status, StatusCode::OK);

    patch_role(
        &s,
        &admin,
        &deputies,
        json!({"permissions": {"crm": {"leads": {"view": "all"}}}}),
    )
    .await;
    assert_revoked(&admin_call(&s, &deputy).await);
    assert_eq!(admin_call(&s, &seller).await.status, StatusCode::OK);
    let fresh = refreshed(&s, &deputy_refresh).await;
    assert_eq!(admin_call(&s, &fresh).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        grant(&claims_of(&s, &fresh), "crm.leads.view"),
        json!("all")
    );

    patch_role(&s, &admin, &sellers, json!({"is_active": false})).await;
    assert_revoked(&admin_call(&s, &seller).await);
    assert_eq!(admin_call(&s, &other).await.status, StatusCode::OK);
    assert_eq!(admin_call(&s, &fresh).await.status, StatusCode::FORBIDDEN);
    let fresh = refreshed(&s, &seller_refresh).await;
    assert!(claims_of(&s, &fresh).permissions.is_empty());
    assert_eq!(member_call(&s, &fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn deleting_a_role_stops_tokens_still_naming_it() {
    let s = checking(Duration::ZERO).await;
    let (admin, _) = tenant(&s, "rvdelete").await;
    let temp = create_role(
        &s,
        &admin,
        "Temp",
        json!({"crm": {"leads": {"view": "own"}}}),
    )
    .await;
    let (_, token, _) = member(&s, &admin, &[]).await;
    // A token issued now that still names the role (it would have come
    // from a login racing the role's last removal).
    let mut claims = claims_of(&s, &token);
    claims.roles = vec![temp.parse().unwrap()];
    claims.jti = Uuid::new_v4();
    let signer = shared::auth::TokenSigner::new(s.auth.key.clone(), s.auth.settings.clone());
    let naming = signer.sign(&claims).unwrap();
    assert_eq!(member_call(&s, &naming).await.status, StatusCode::OK);

    expect(
        &s.roles,
        "DELETE",
        &format!("/api/roles/{temp}/"),
        &admin,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_revoked(&member_call(&s, &naming).await);
    assert_eq!(member_call(&s, &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_stops_every_earlier_token_and_hands_the_caller_a_new_pair() {
    let s = checking(Duration::ZERO).await;
    let (admin, _) = tenant(&s, "rvpassword").await;
    let (_, email) = unique("pw");
    expect(
        &s.users,
        "POST",
        "/api/users/",
        &admin,
        Some(json!({"email": email, "password": PASSWORD, "password_confirm": PASSWORD})),
        StatusCode::CREATED,
    )
    .await;
    let (here, here_refresh) = login(&s, &email, PASSWORD).await;
    let (there, there_refresh) = login(&s, &email, PASSWORD).await;

    let res = expect(
        &s.auth.app,
        "POST",
        "/api/auth/password/change/",
        &here,
        Some(
            json!({"old_password": PASSWORD, "new_password": "another-good-password",
                    "new_password_confirm": "another-good-password"}),
        ),
        StatusCode::OK,
    )
    .await;
    let new_access = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    let new_refresh = res.json()["tokens"]["refresh"].as_str().unwrap().to_owned();
    // Every login from before the change is gone, the caller's included.
    assert_revoked(&member_call(&s, &there).await);
    assert_revoked(&member_call(&s, &here).await);
    for old in [&there_refresh, &here_refresh] {
        assert_eq!(refresh(&s, old).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(admin_call(&s, &admin).await.status, StatusCode::OK);
    // The pair issued with the change goes on.
    assert_eq!(member_call(&s, &new_access).await.status, StatusCode::OK);
    let fresh = refreshed(&s, &new_refresh).await;
    assert_eq!(member_call(&s, &fresh).await.status, StatusCode::OK);
    let (again, _) = login(&s, &email, "another-good-password").await;
    assert_eq!(member_call(&s, &again).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_logout_stops_its_own_login_and_logout_everywhere_stops_them_all() {
    let s = checking(Duration::ZERO).await;
    let (admin, _) = tenant(&s, "rvlogout").await;
    let (_, first, first_refresh) = member(&s, &admin, &[]).await;
    let me = req(&s.users, "GET", "/api/users/me/", &first, None)
        .await
        .json();
    let email = me["email"].as_str().unwrap().to_owned();
    let (second, second_refresh) = login(&s, &email, PASSWORD).await;
    let (third, _) = login(&s, &email, PASSWORD).await;

    // One login ends: its access token stops, the others go on.
    expect(
        &s.auth.app,
        "POST",
        "/api/auth/logout/",
        &first,
        Some(json!({"refresh": first_refresh})),
        StatusCode::OK,
    )
    .await;
    assert_revoked(&member_call(&s, &first).await);
    assert_eq!(member_call(&s, &second).await.status, StatusCode::OK);
    let verify = |token: String| {
        let app = s.auth.app.clone();
        async move {
            post_json(
                &app,
                "/api/auth/token/verify/",
                &json!({"token": token}),
                None,
            )
            .await
        }
    };
    // Services asking the verify endpoint hear the same.
    assert_revoked(&verify(first.clone()).await);
    assert_eq!(verify(second.clone()).await.status, StatusCode::OK);

    // Everywhere: every access token of the user stops, and no refresh works.
    expect(
        &s.auth.app,
        "POST",
        "/api/auth/logout/",
        &second,
        Some(json!({"all": true})),
        StatusCode::OK,
    )
    .await;
    for token in [&second, &third] {
        assert_revoked(&member_call(&s, token).await);
        assert_revoked(&verify(token.clone()).await);
    }
    assert_eq!(
        refresh(&s, &second_refresh).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(admin_call(&s, &admin).await.status, StatusCode::OK);
    // A new login works at once.
    let (fresh, _) = login(&s, &email, PASSWORD).await;
    assert_eq!(member_call(&s, &fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn suspending_a_tenant_stops_its_tokens() {
    let s = checking(Duration::ZERO).await;
    let (admin, admin_refresh) = tenant(&s, "rvsuspend").await;
    let (other, _) = tenant(&s, "rvsuspendother").await;
    let tenant_id = scope(&s, &admin).tenant_id();
    let root = token_for(&s, Uuid::new_v4(), true, Default::default());
    assert_eq!(admin_call(&s, &admin).await.status, StatusCode::OK);

    expect(
        &s.tenants,
        "POST",
        &format!("/api/tenants/{tenant_id}/suspend/"),
        &root,
        None,
        StatusCode::OK,
    )
    .await;
    assert_revoked(&admin_call(&s, &admin).await);
    assert_revoked(&req(&s.tenants, "GET", "/api/tenants/me/", &admin, None).await);
    assert_eq!(admin_call(&s, &other).await.status, StatusCode::OK);
    // A super admin is judged by their own tenant, wherever they act.
    expect(
        &s.tenants,
        "GET",
        &format!("/api/tenants/{tenant_id}/"),
        &root,
        None,
        StatusCode::OK,
    )
    .await;
    let res = refresh(&s, &admin_refresh).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.json()["code"], "tenant_suspended");
}

async fn subscription(s: &Setup, token: &str) -> SubscriptionRecord {
    s.auth
        .store
        .tenant(&scope(s, token))
        .get(&keys::subscription())
        .await
        .unwrap()
        .unwrap()
}

/// Runs the billing scheduler at `at` until the subscription reaches `status`.
async fn run_billing_until(
    s: &Setup,
    token: &str,
    at: time::OffsetDateTime,
    status: SubscriptionStatus,
) {
    for _ in 0..10 {
        billing_scheduler::tick(
            &tests::iam::function_store(&s.auth.store, "billing-scheduler"),
            &BillingPolicy::default(),
            at,
        )
        .await
        .unwrap();
        if subscription(s, token).await.status == status {
            return;
        }
    }
    panic!("still {:?}", subscription(s, token).await.status);
}

#[tokio::test]
async fn an_expired_subscription_stops_tokens_holding_modules() {
    let s = checking(Duration::ZERO).await;
    let (admin, admin_refresh) = tenant(&s, "rvexpire").await;
    assert!(!claims_of(&s, &admin).enabled_modules.is_empty());
    assert_eq!(admin_call(&s, &admin).await.status, StatusCode::OK);

    let later = time::OffsetDateTime::now_utc() + time::Duration::days(400);
    run_billing_until(&s, &admin, later, SubscriptionStatus::Expired).await;
    // Administration stays: a refreshed token works, without modules.
    assert_modules_revoked(&s, &admin, &admin_refresh).await;
}

#[tokio::test]
async fn a_cancellation_stops_tokens_when_it_takes_effect() {
    let s = checking(Duration::ZERO).await;
    let (admin, admin_refresh) = tenant(&s, "rvcancel").await;
    expect(
        &s.subscriptions,
        "POST",
        "/api/subscriptions/cancel/",
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    // Cancelled at the period's end: until then the modules stay.
    assert_eq!(admin_call(&s, &admin).await.status, StatusCode::OK);

    let end = subscription(&s, &admin).await.current_period_end;
    run_billing_until(
        &s,
        &admin,
        end + time::Duration::minutes(1),
        SubscriptionStatus::Cancelled,
    )
    .await;
    assert_modules_revoked(&s, &admin, &admin_refresh).await;
}

#[tokio::test]
async fn with_an_interval_the_revocation_lands_once_it_has_passed() {
    let s = checking(Duration::from_secs(1)).await;
    let (admin, _) = tenant(&s, "rvinterval").await;
    let admin_role = admin_role(&s, &admin).await;
    let (id, victim, _) = member(&s, &admin, &[&admin_role]).await;
    assert_eq!(admin_call(&s, &victim).await.status, StatusCode::OK);
    deactivate(&s, &admin, &id).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_revoked(&admin_call(&s, &victim).await);
    assert_eq!(admin_call(&s, &admin).await.status, StatusCode::OK);
}

#[tokio::test]
async fn one_read_per_tenant_per_interval_and_one_for_concurrent_first_requests() {
    let s = checking(Duration::from_secs(600)).await;
    let (a, _) = tenant(&s, "rvcosta").await;
    let (b, _) = tenant(&s, "rvcostb").await;
    let a_role = admin_role(&s, &a).await;
    let (_, a2, _) = member(&s, &a, &[&a_role]).await;
    let (c, _) = tenant(&s, "rvcostc").await;

    // Tenant c, cold: its first request reads, the next ones do not.
    s.auth.calls.reset();
    for _ in 0..5 {
        expect(&s.roles, "GET", "/api/roles/", &c, None, StatusCode::OK).await;
    }
    assert_eq!(
        s.auth.calls.calls(),
        ["BatchGetItem", "Query", "Query", "Query", "Query", "Query"]
    );

    // Tenant a is warm by now; b has only registered (no checked request).
    s.auth.calls.reset();
    for token in [&a, &a2, &a, &a2, &a] {
        assert_eq!(
            req(&s.roles, "GET", "/api/roles/", token, None)
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_eq!(
        s.auth.calls.calls(),
        vec!["Query"; 5],
        "a warm tenant reads nothing more"
    );

    // Eight concurrent first requests of tenant b: one read between them.
    s.auth.calls.reset();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let app = s.roles.clone();
        let token = b.clone();
        set.spawn(async move { req(&app, "GET", "/api/roles/", &token, None).await.status });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    let calls = s.auth.calls.calls();
    assert_eq!(
        calls.iter().filter(|c| *c == "BatchGetItem").count(),
        1,
        "{calls:?}"
    );
    assert_eq!(
        calls.iter().filter(|c| *c == "Query").count(),
        8,
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_writer_prunes_cutoffs_older_than_any_token_and_keeps_the_rest() {
    use shared::revocation::{revoke, Cutoff};
    let s = checking(Duration::ZERO).await;
    let (admin, _) = tenant(&s, "rvprune").await;
    let tenant = scope(&s, &admin);
    let (forgotten, recent) = (Uuid::new_v4(), Uuid::new_v4());
    let now = time::OffsetDateTime::now_utc();
    let mut tx = s.auth.store.transaction();
    revoke(
        &mut tx,
        &tenant,
        &[
            (forgotten, Cutoff::at(now - time::Duration::hours(2))),
            (recent, Cutoff::at(now - time::Duration::minutes(5))),
        ],
        &[],
    );
    tx.execute().await.unwrap();
    // The admin's request reads the state; the deactivation then prunes.
    assert_eq!(admin_call(&s, &admin).await.status, StatusCode::OK);
    let (id, _, _) = member(&s, &admin, &[]).await;
    deactivate(&s, &admin, &id).await;

    let state = s.auth.store.revocation_state(&tenant).await.unwrap();
    assert!(!state.users.contains_key(&forgotten), "{state:?}");
    assert!(state.users.contains_key(&recent), "{state:?}");
    assert!(state.users.contains_key(&id.parse().unwrap()), "{state:?}");
}
