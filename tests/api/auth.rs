//! The auth function against DynamoDB Local.

use http::StatusCode;
use serde::Serialize;
use serde_json::{json, Value};
use shared::auth::{authenticate, Claims, Jwks, TokenType};
use shared::keys;
use shared::records::{CredentialRecord, PlanRecord, SubscriptionRecord, TenantRecord, UserRecord};
use shared::store::{Condition, TenantScope};
use tests::app::{assert_field_error, login, verifier};
use tests::{
    auth_app, auth_app_with, get, post_json, post_json_from, registration, unique, AuthApp,
    TestResponse,
};
use time::OffsetDateTime;

fn claims(app: &AuthApp, token: &str, ty: TokenType) -> Claims {
    verifier(app).verify(token, ty).unwrap()
}

/// The scope of the tenant an access token belongs to (as a handler gets it).
fn scope_of(app: &AuthApp, access: &str) -> TenantScope {
    authenticate(&verifier(app), Some(&format!("Bearer {access}")))
        .unwrap()
        .scope()
        .clone()
}

async fn register(app: &AuthApp, prefix: &str) -> (Value, String, String) {
    let r = tests::app::register(app, prefix).await;
    (r.body, r.slug, r.email)
}

fn tokens(body: &Value) -> (String, String) {
    (
        body["tokens"]["access"].as_str().unwrap().to_owned(),
        body["tokens"]["refresh"].as_str().unwrap().to_owned(),
    )
}

/// Asks for new tokens with a refresh token.
async fn post_refresh(app: &AuthApp, refresh: impl Serialize) -> TestResponse {
    post_json(
        &app.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": refresh}),
        None,
    )
    .await
}

/// Asks whether a token is valid.
async fn post_verify(app: &AuthApp, token: impl Serialize) -> TestResponse {
    post_json(
        &app.app,
        "/api/auth/token/verify/",
        &json!({"token": token}),
        None,
    )
    .await
}

/// Changes the password as `access`, confirming the new one as typed.
async fn change_password(app: &AuthApp, access: &str, old: &str, new: &str) -> TestResponse {
    post_json(
        &app.app,
        "/api/auth/password/change/",
        &json!({"old_password": old, "new_password": new, "new_password_confirm": new}),
        Some(access),
    )
    .await
}

#[tokio::test]
async fn full_flow_register_login_refresh_verify_logout() {
    let app = auth_app().await;
    let (body, slug, email) = register(&app, "flow").await;
    assert_eq!(body["tenant"]["slug"], slug);
    assert_eq!(body["user"]["email"], email);
    assert_eq!(body["user"]["roles"][0]["name"], "Admin");
    assert_eq!(
        body["tenant"]["enabled_modules"],
        json!(["crm", "whatsapp", "meetings"])
    );

    let res = login(&app, &email.to_uppercase(), "correct-horse-battery").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let (access, refresh) = tokens(&res.json());
    let c = claims(&app, &access, TokenType::Access);
    assert_eq!(c.email, email);
    assert_eq!(c.tenant_slug, slug);
    assert!(!c.is_super_admin);
    assert!(
        shared::permissions::is_tenant_admin(&c.permissions),
        "the registrant is tenant admin"
    );
    assert_eq!(c.enabled_modules, vec!["crm", "whatsapp", "meetings"]);
    assert_eq!(c.exp - c.iat, 15 * 60);

    let res = post_refresh(&app, &refresh).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let rotated = res.json();
    let new_refresh = rotated["refresh"].as_str().unwrap().to_owned();
    let new_access = rotated["access"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);

    for token in [&new_access, &new_refresh] {
        let res = post_verify(&app, &token).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(res.json(), json!({}));
    }

    let res = post_json(
        &app.app,
        "/api/auth/logout/",
        &json!({"refresh_token": new_refresh}),
        Some(&new_access),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    let res = post_refresh(&app, &new_refresh).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.json()["code"], "token_not_valid");
    let res = post_verify(&app, &new_refresh).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registration_is_a_reservation_one_plan_read_one_transaction_and_the_verification_token() {
    let app = auth_app().await;
    register(&app, "calls").await;
    assert_eq!(
        app.calls.calls(),
        vec!["UpdateItem", "Query", "TransactWriteItems", "PutItem"]
    );
}

#[tokio::test]
async fn login_reserves_its_attempt_with_the_credential_and_gives_it_back_on_success() {
    let app = auth_app().await;
    let (_, _, email) = register(&app, "logincalls").await;
    app.calls.reset();
    assert_eq!(
        login(&app, &email, "wrong-password-123").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Both reservations (email and IP, email) in one write, with the
    // credential; a wrong password reads nothing else and keeps them.
    let sorted = |calls: &[String]| {
        let mut calls = calls.to_vec();
        calls.sort();
        calls
    };
    assert_eq!(sorted(&app.calls.calls()), ["GetItem", "UpdateItem"]);
    assert_eq!(app.calls.depth(), 1);
    app.calls.reset();
    assert_eq!(
        login(&app, &email, "correct-horse-battery").await.status,
        StatusCode::OK
    );
    let calls = app.calls.calls();
    assert_eq!(calls.len(), 5, "{calls:?}");
    assert_eq!(sorted(&calls[..2]), ["GetItem", "UpdateItem"]);
    assert_eq!(calls[2], "BatchGetItem");
    // The password was right: the release (one write for both slots) with
    // the new login.
    assert_eq!(sorted(&calls[3..]), ["TransactWriteItems", "UpdateItem"]);
    assert_eq!(app.calls.depth(), 3, "{calls:?}");
}

#[tokio::test]
async fn registration_names_every_bad_field() {
    let app = auth_app().await;
    let res = post_json(
        &app.app,
        "/api/auth/register/",
        &json!({
            "tenant_name": "",
            "tenant_slug": "Bad Slug",
            "admin_email": "not-an-email",
            "admin_password": "1234567890",
            "admin_password_confirm": "different-one",
            "admin_first_name": "Ada",
            "enabled_modules": ["crm", "erp", "tasks"],
        }),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let body = res.json();
    for field in [
        "tenant_name",
        "tenant_slug",
        "admin_email",
        "admin_password",
        "admin_password_confirm",
        "enabled_modules",
    ] {
        assert!(body[field].is_array(), "no error on {field}: {body}");
    }
    let modules = body["enabled_modules"].to_string();
    assert!(modules.contains("Unknown module 'erp'"), "{modules}");
    assert!(
        modules.contains("'tasks' is not included in the trial plan"),
        "{modules}"
    );
    assert!(body["admin_password"]
        .to_string()
        .contains("entirely numeric"));

    let (slug, email) = unique("extra");
    let mut with_extra = registration(&slug, &email);
    with_extra["is_super_admin"] = json!(true);
    let res = post_json(&app.app, "/api/auth/register/", &with_extra, None).await;
    assert_field_error(&res, "is_super_admin", "Unknown field.");
    assert!(
        app.calls.calls().iter().all(|c| c != "TransactWriteItems"),
        "nothing written for bad input"
    );
}

#[tokio::test]
async fn taken_slug_or_email_is_a_field_error() {
    let app = auth_app().await;
    let (_, slug, email) = register(&app, "taken").await;
    let (other_slug, other_email) = unique("other");
    let res = post_json(
        &app.app,
        "/api/auth/register/",
        &registration(&slug, &other_email),
        None,
    )
    .await;
    assert_field_error(
        &res,
        "tenant_slug",
        "A tenant with this slug already exists.",
    );
    let res = post_json(
        &app.app,
        "/api/auth/register/",
        &registration(&other_slug, &email.to_uppercase()),
        None,
    )
    .await;
    assert_field_error(
        &res,
        "admin_email",
        "A user with this email already exists.",
    );
}

async fn race(app: &AuthApp, bodies: Vec<Value>) -> (usize, Vec<Value>) {
    let mut tasks = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let router = app.app.clone();
        // One address each: registrations are throttled per source IP.
        let ip = format!("198.51.100.{i}");
        tasks.push(tokio::spawn(async move {
            post_json_from(&router, "/api/auth/register/", &body, None, &ip).await
        }));
    }
    let mut created = 0;
    let mut refused = Vec::new();
    for t in tasks {
        let res = t.await.unwrap();
        match res.status {
            StatusCode::CREATED => created += 1,
            StatusCode::BAD_REQUEST => refused.push(res.json()),
            other => panic!("unexpected {other}: {}", res.text()),
        }
    }
    (created, refused)
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_slug_make_exactly_one_tenant() {
    let app = auth_app().await;
    let (slug, _) = unique("race");
    let emails: Vec<String> = (0..20).map(|_| unique("racer").1).collect();
    let (created, refused) = race(
        &app,
        emails.iter().map(|e| registration(&slug, e)).collect(),
    )
    .await;
    assert_eq!(created, 1);
    assert_eq!(refused.len(), 19);
    assert!(
        refused.iter().all(|b| b["tenant_slug"].is_array()),
        "{refused:?}"
    );
    // Nothing partial: the losers' emails were never claimed.
    let mut claimed = 0;
    for email in &emails {
        if app
            .store
            .platform()
            .get::<CredentialRecord>(&keys::email_claim(email))
            .await
            .unwrap()
            .is_some()
        {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1);
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_email_make_exactly_one_user() {
    let app = auth_app().await;
    let (_, email) = unique("sameemail");
    let slugs: Vec<String> = (0..20).map(|_| unique("org").0).collect();
    let (created, refused) = race(
        &app,
        slugs.iter().map(|s| registration(s, &email)).collect(),
    )
    .await;
    assert_eq!(created, 1);
    assert!(
        refused.iter().all(|b| b["admin_email"].is_array()),
        "{refused:?}"
    );
    let mut claimed = 0;
    for slug in &slugs {
        if app
            .store
            .platform()
            .get::<shared::records::SlugClaim>(&keys::slug_claim(slug))
            .await
            .unwrap()
            .is_some()
        {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1, "losing tenants left slug claims behind");
}

#[tokio::test]
async fn trial_length_comes_from_the_trial_plan() {
    let app = auth_app().await;
    // Lengthen the seeded trial plan to 30 days.
    let trial_id = shared::tenancy::default_plans(OffsetDateTime::now_utc())[0].id;
    let mut plan: PlanRecord = app
        .store
        .platform()
        .get(&keys::plan(trial_id))
        .await
        .unwrap()
        .unwrap();
    plan.trial_days = 30;
    app.store
        .platform()
        .put(&keys::plan(trial_id), &plan, Condition::Exists)
        .await
        .unwrap();

    let (body, _, _) = register(&app, "trial").await;
    let (access, _) = tokens(&body);
    let scope = scope_of(&app, &access);
    let sub: SubscriptionRecord = app
        .store
        .tenant(&scope)
        .get(&keys::subscription())
        .await
        .unwrap()
        .unwrap();
    let days = (sub.trial_ends_at.unwrap() - sub.created_at).whole_days();
    assert_eq!(days, 30);
    assert_eq!(sub.plan_id, Some(trial_id));
}

#[tokio::test]
async fn registration_without_any_trial_plan_uses_the_default_trial() {
    let (store, _) = tests::counted_store().await;
    let key = shared::auth::SigningKeyPair::generate("k");
    let signer = shared::auth::TokenSigner::new(key, Default::default());
    let state = auth::state(
        tests::iam::function_store(&store, "auth"),
        signer,
        Jwks::default(),
        tests::outbox_mailer(&tests::fresh_outbox()),
    )
    .unwrap();
    let router = auth::router(state, &Default::default());
    let (slug, email) = unique("noplan");
    let res = post_json(
        &router,
        "/api/auth/register/",
        &registration(&slug, &email),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let trial_ends = OffsetDateTime::parse(
        res.json()["tenant"]["trial_ends_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (trial_ends - OffsetDateTime::now_utc()).whole_hours();
    assert!((13 * 24..=14 * 24).contains(&days), "{days} hours");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_look_the_same() {
    let app = auth_app().await;
    let (_, _, email) = register(&app, "same").await;
    let wrong = login(&app, &email, "not-the-password").await;
    let unknown = login(&app, "nobody-here@example.com", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.json(),
        json!({"detail": "Invalid credentials", "code": "authentication_failed"})
    );
    assert_eq!(unknown.json(), wrong.json());
}

async fn login_from(app: &AuthApp, email: &str, password: &str, ip: &str) -> tests::TestResponse {
    post_json_from(
        &app.app,
        "/api/auth/login/",
        &json!({"email": email, "password": password}),
        None,
        ip,
    )
    .await
}

#[tokio::test]
async fn five_failures_throttle_the_email_from_that_ip_with_retry_after() {
    tests::in_one_window(&[
        auth::throttle::LOGIN_PER_EMAIL_AND_IP,
        auth::throttle::LOGIN_PER_EMAIL,
    ])
    .await;
    let app = auth_app().await;
    let (_, _, email) = register(&app, "throttle").await;
    let attacker = "203.0.113.7";
    for _ in 0..5 {
        assert_eq!(
            login_from(&app, &email, "bad-password-xx", attacker)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Even the right password is refused from there until the window passes.
    let res = login_from(&app, &email, "correct-horse-battery", attacker).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.json()["code"], "throttled");
    let retry: i64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // Until this address's quarter ends, not the email's hour.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let left = 15 * 60 - now.rem_euclid(15 * 60);
    assert!((left - 2..=left + 2).contains(&retry), "{retry} vs {left}");
    // The owner, from another address, is not locked out.
    let res = login_from(&app, &email, "correct-horse-battery", "192.0.2.10").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // Nor are requests without a request context (the "unknown" bucket).
    assert_eq!(
        login(&app, &email, "correct-horse-battery").await.status,
        StatusCode::OK
    );
    // Unknown emails are throttled as well.
    for _ in 0..5 {
        login_from(&app, "ghost-user@example.com", "bad-password-xx", attacker).await;
    }
    assert_eq!(
        login_from(&app, "ghost-user@example.com", "bad-password-xx", attacker)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another email is unaffected, from the same address.
    let (_, _, other) = register(&app, "unthrottled").await;
    assert_eq!(
        login_from(&app, &other, "correct-horse-battery", attacker)
            .await
            .status,
        StatusCode::OK
    );
}

/// Four wrong passwords from `ip`, each refused (not throttled), then the
/// right one, accepted.
async fn four_typos_then_the_password(app: &AuthApp, email: &str, ip: &str) {
    for _ in 0..4 {
        assert_eq!(
            login_from(app, email, "typo-password", ip).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from(app, email, "correct-horse-battery", ip)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_successful_login_forgives_earlier_failures_from_its_address() {
    let app = auth_app().await;
    let (_, _, email) = register(&app, "forgive").await;
    let ip = "192.0.2.20";
    four_typos_then_the_password(&app, &email, ip).await;
    // A fresh count of five: four typos in a row do not throttle.
    four_typos_then_the_password(&app, &email, ip).await;
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_login() {
    let app = auth_app().await;
    let (body, _, _) = register(&app, "reuse").await;
    let (_, first) = tokens(&body);
    let res = post_refresh(&app, &first).await;
    assert_eq!(res.status, StatusCode::OK);
    let second = res.json()["refresh"].as_str().unwrap().to_owned();

    // The first token comes back: reuse.
    let res = post_refresh(&app, &first).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.json()["detail"]
        .as_str()
        .unwrap()
        .contains("already used"));
    // And the legitimate successor is dead too.
    let res = post_refresh(&app, &second).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tokens_of_the_wrong_type_are_refused() {
    let app = auth_app().await;
    let (body, _, _) = register(&app, "types").await;
    let (access, refresh) = tokens(&body);
    let res = post_refresh(&app, &access).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // A refresh token is no bearer credential.
    let res = post_json(
        &app.app,
        "/api/auth/logout/",
        &json!({"refresh": refresh}),
        Some(&refresh),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = post_json(
        &app.app,
        "/api/auth/logout/",
        &json!({"refresh": refresh}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.json()["code"], "not_authenticated");
    let res = post_verify(&app, "garbage").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rereads_modules_and_refuses_inactive_users_and_suspended_tenants() {
    let app = auth_app().await;
    let (body, _, _) = register(&app, "reread").await;
    let (access, refresh) = tokens(&body);
    let scope = scope_of(&app, &access);
    let store = app.store.tenant(&scope);

    let mut tenant: TenantRecord = store.get(&keys::tenant_profile()).await.unwrap().unwrap();
    tenant.enabled_modules = vec![shared::permissions::Module::Crm];
    store
        .put(&keys::tenant_profile(), &tenant, Condition::Exists)
        .await
        .unwrap();
    let res = post_refresh(&app, &refresh).await;
    assert_eq!(res.status, StatusCode::OK);
    let pair = res.json();
    let c = claims(&app, pair["access"].as_str().unwrap(), TokenType::Access);
    assert_eq!(c.enabled_modules, vec!["crm"]);
    assert!(
        c.permissions
            .iter()
            .all(|(k, _)| k.starts_with("crm.") || k.starts_with("administration.")),
        "{:?}",
        c.permissions
    );

    let user_id = c.sub;
    let mut user: UserRecord = store.get(&keys::user(user_id)).await.unwrap().unwrap();
    user.is_active = false;
    store
        .put(&keys::user(user_id), &user, Condition::Exists)
        .await
        .unwrap();
    let res = post_refresh(&app, &pair["refresh"]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["code"], "account_inactive");
    let res = login(&app, &c.email, "correct-horse-battery").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    user.is_active = true;
    store
        .put(&keys::user(user_id), &user, Condition::Exists)
        .await
        .unwrap();
    tenant.is_active = false;
    store
        .put(&keys::tenant_profile(), &tenant, Condition::Exists)
        .await
        .unwrap();
    let res = login(&app, &c.email, "correct-horse-battery").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["code"], "tenant_suspended");
}

#[tokio::test]
async fn password_change_ends_every_login_and_returns_a_new_one() {
    let app = auth_app().await;
    let (body, _, email) = register(&app, "pwchange").await;
    let (access, this_refresh) = tokens(&body);
    let other = login(&app, &email, "correct-horse-battery").await.json();
    let (_, other_refresh) = tokens(&other);

    let res = change_password(&app, &access, "wrong-old-password", "a-new-long-password").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["old_password"].is_array());

    let res = change_password(&app, &access, "correct-horse-battery", "short").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["new_password"].is_array());

    let res = change_password(
        &app,
        &access,
        "correct-horse-battery",
        "a-new-long-password",
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let changed = res.json();
    assert_eq!(changed["detail"], "Password changed.");
    let (new_access, new_refresh) = tokens(&changed);
    assert_eq!(claims(&app, &new_access, TokenType::Access).email, email);

    for (old, what) in [
        (&other_refresh, "the other login"),
        (&this_refresh, "this login"),
    ] {
        let res = post_refresh(&app, &old).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{what} must end");
        assert_eq!(res.json()["code"], "token_not_valid");
    }
    let res = post_refresh(&app, &new_refresh).await;
    assert_eq!(res.status, StatusCode::OK, "the new login works");
    assert_eq!(
        login(&app, &email, "correct-horse-battery").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, &email, "a-new-long-password").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_refuses_someone_elses_refresh_token() {
    let app = auth_app().await;
    let (a, _, _) = register(&app, "alice").await;
    let (b, _, _) = register(&app, "bob").await;
    let (a_access, _) = tokens(&a);
    let (_, b_refresh) = tokens(&b);
    let res = post_json(
        &app.app,
        "/api/auth/logout/",
        &json!({"refresh": b_refresh}),
        Some(&a_access),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // Bob's login survives.
    let res = post_refresh(&app, &b_refresh).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn jwks_serves_the_signing_key() {
    let app = auth_app().await;
    let res = get(&app.app, "/.well-known/jwks.json").await;
    assert_eq!(res.status, StatusCode::OK);
    let jwks: Jwks = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(jwks.keys, vec![app.key.public_jwk()]);
}

#[tokio::test]
async fn access_tokens_expire_as_configured() {
    let settings = shared::auth::TokenSettings {
        access_ttl_secs: 60,
        refresh_ttl_secs: 120,
        ..Default::default()
    };
    let app = auth_app_with(settings).await;
    let (body, _, _) = register(&app, "ttl").await;
    let (access, refresh) = tokens(&body);
    let a = claims(&app, &access, TokenType::Access);
    let r = claims(&app, &refresh, TokenType::Refresh);
    assert_eq!(a.exp - a.iat, 60);
    assert_eq!(r.exp - r.iat, 120);
    assert!(r.permissions.is_empty(), "refresh tokens carry no grants");
}
