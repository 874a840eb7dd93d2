//! Email verification: registration mails a single-use link, the link
//! verifies the address once, new links come by token or by email (alike
//! for known and unknown addresses), a reset proves the mailbox too, and a
//! tenant may require a verified email to log in.

use http::StatusCode;
use serde_json::{json, Value};
use shared::auth::OneTimeToken;
use shared::email::{OutboxMessage, OutboxSender};
use shared::keys;
use shared::records::VerifyTokenRecord;
use shared::store::{Condition, Patch};
use std::sync::Arc;
use tests::app::{call, claims_of, get_as, login, register, scope, setup_on, Registered, Setup};
use tests::{auth_app, auth_app_sending, fresh_source_ip, post_json_from, AuthApp, TestResponse};
use tests::{unique, TEST_FRONTEND_URL};

const VERIFY: &str = "/api/auth/email/verify/";
const RESEND: &str = "/api/auth/email/verify/resend/";
const SUBJECT: &str = "Verify your email address";
const PASSWORD: &str = "correct-horse-battery";
const RESENT: &str =
    "If the address belongs to an account that still needs verifying, a new link has been sent.";

fn verification_mail(auth: &AuthApp) -> Vec<OutboxMessage> {
    OutboxSender::read(&auth.outbox)
        .expect("outbox readable")
        .into_iter()
        .filter(|m| m.subject == SUBJECT)
        .collect()
}

/// The token of the one link in the newest verification message to `to`.
fn token_mailed_to(auth: &AuthApp, to: &str) -> String {
    let message = verification_mail(auth)
        .into_iter()
        .rev()
        .find(|m| m.to == to)
        .unwrap_or_else(|| panic!("no verification message to {to}"));
    assert_eq!(message.links.len(), 1, "{:?}", message.links);
    let prefix = format!("{TEST_FRONTEND_URL}/verify-email?token=");
    let token = message.links[0]
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("unexpected link {}", message.links[0]))
        .to_owned();
    assert!(message.html.contains(&token), "the HTML body has the link");
    token
}

async fn verify(auth: &AuthApp, token: &str) -> TestResponse {
    post_json_from(
        &auth.app,
        VERIFY,
        &json!({ "token": token }),
        None,
        &fresh_source_ip(),
    )
    .await
}

async fn resend_signed_in(auth: &AuthApp, access: &str) -> TestResponse {
    post_json_from(
        &auth.app,
        RESEND,
        &json!({}),
        Some(access),
        &fresh_source_ip(),
    )
    .await
}

async fn resend_by_email(auth: &AuthApp, email: &str) -> TestResponse {
    post_json_from(
        &auth.app,
        RESEND,
        &json!({ "email": email }),
        None,
        &fresh_source_ip(),
    )
    .await
}

fn assert_invalid_token(res: &TestResponse) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json(), json!({"token": ["Invalid or expired token."]}));
}

fn assert_resent(res: &TestResponse) {
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    assert_eq!(res.json(), json!({ "detail": RESENT }));
}

async fn me(s: &Setup, access: &str) -> Value {
    let res = get_as(&s.users, "/api/users/me/", access).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

async fn refreshed_access(s: &Setup, admin: &Registered) -> String {
    let res = post_json_from(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({ "refresh": admin.refresh }),
        None,
        &fresh_source_ip(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["access"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn registration_mails_a_link_that_verifies_the_address_once() {
    let s = setup_on(auth_app().await);
    let admin = register(&s.auth, "verify-flow").await;
    assert_eq!(admin.body["user"]["email_verified"], json!(false));
    assert!(!claims_of(&s, &admin.access).email_verified);
    assert_eq!(me(&s, &admin.access).await["email_verified"], json!(false));

    let sent = verification_mail(&s.auth);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, admin.email);
    assert!(sent[0].text.contains("7 days"), "{}", sent[0].text);
    let token = token_mailed_to(&s.auth, &admin.email);

    let res = verify(&s.auth, &token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json(), json!({"detail": "Email verified."}));
    // Single use.
    assert_invalid_token(&verify(&s.auth, &token).await);

    assert_eq!(me(&s, &admin.access).await["email_verified"], json!(true));
    // The token in hand still says what was true when it was issued; the
    // next one says verified.
    let access = refreshed_access(&s, &admin).await;
    assert!(claims_of(&s, &access).email_verified);
    let fresh = login(&s.auth, &admin.email, PASSWORD).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text());
    assert_eq!(fresh.json()["user"]["email_verified"], json!(true));

    // Audited, without the token.
    let log = get_as(&s.audit, "/api/audit/", &access).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text());
    assert!(log.text().contains("user.email_verified"), "{}", log.text());
    assert!(!log.text().contains(&token));

    // Already verified: asking again answers alike and sends nothing.
    assert_resent(&resend_signed_in(&s.auth, &access).await);
    assert_resent(&resend_by_email(&s.auth, &admin.email).await);
    assert_eq!(verification_mail(&s.auth).len(), 1);
}

#[tokio::test]
async fn concurrent_verifications_of_one_token_succeed_once() {
    let auth = auth_app().await;
    let admin = register(&auth, "verify-race").await;
    let token = token_mailed_to(&auth, &admin.email);
    let (a, b) = tokio::join!(verify(&auth, &token), verify(&auth, &token));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
}

#[tokio::test]
async fn expired_unknown_malformed_and_outdated_tokens_are_refused() {
    let s = setup_on(auth_app().await);
    let admin = register(&s.auth, "verify-bad").await;
    let claims = claims_of(&s, &admin.access);

    // A token item whose TTL has passed (DynamoDB may not have removed it yet).
    let expired = OneTimeToken::generate();
    let now = time::OffsetDateTime::now_utc();
    s.auth
        .store
        .platform()
        .put(
            &keys::verify_token(expired.hash()),
            &VerifyTokenRecord {
                tenant_id: claims.tenant_id,
                user_id: claims.sub,
                email: admin.email.clone(),
                created_at: now - time::Duration::days(8),
                expires_at: now.unix_timestamp() - 1,
            },
            Condition::NotExists,
        )
        .await
        .unwrap();
    assert_invalid_token(&verify(&s.auth, expired.secret()).await);
    assert_invalid_token(&verify(&s.auth, OneTimeToken::generate().secret()).await);
    assert_invalid_token(&verify(&s.auth, "not-a-token").await);
    assert_invalid_token(&verify(&s.auth, "").await);
    // A reset token is no verification token.
    let res = post_json_from(
        &s.auth.app,
        "/api/auth/password/reset/",
        &json!({"email": admin.email}),
        None,
        &fresh_source_ip(),
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    let reset_link = OutboxSender::read(&s.auth.outbox)
        .unwrap()
        .into_iter()
        .find(|m| m.subject == "Reset your password")
        .unwrap()
        .links[0]
        .clone();
    let reset_token = reset_link.split("token=").nth(1).unwrap();
    assert_invalid_token(&verify(&s.auth, reset_token).await);

    // The user's address changed after the link was mailed (behind the
    // API's back: emails are logins and have no change endpoint).
    let token = token_mailed_to(&s.auth, &admin.email);
    s.auth
        .store
        .tenant(&scope(&s, &admin.access))
        .patch(
            &keys::user(claims.sub),
            &Patch::new().set("email", &"someone-else@example.com"),
        )
        .await
        .unwrap();
    assert_invalid_token(&verify(&s.auth, &token).await);
    assert_eq!(me(&s, &admin.access).await["email_verified"], json!(false));
}

#[tokio::test]
async fn a_signed_in_user_gets_a_new_link_at_most_three_times_an_hour() {
    tests::in_one_window(&[
        auth::throttle::VERIFICATION_RESENDS_PER_USER,
        auth::throttle::VERIFICATION_RESENDS_PER_IP,
    ])
    .await;
    let auth = auth_app().await;
    let admin = register(&auth, "verify-resend").await;
    for n in 0..3 {
        assert_resent(&resend_signed_in(&auth, &admin.access).await);
        assert_eq!(verification_mail(&auth).len(), n + 2);
    }
    let res = resend_signed_in(&auth, &admin.access).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text());
    assert!(res.headers.contains_key("retry-after"));
    assert_eq!(res.json()["code"], "throttled");
    // Every link works (each once); none was revealed in an answer.
    let token = token_mailed_to(&auth, &admin.email);
    assert_eq!(verify(&auth, &token).await.status, StatusCode::OK);

    // An email with a token, or neither: a field error.
    let both = post_json_from(
        &auth.app,
        RESEND,
        &json!({"email": admin.email}),
        Some(&admin.access),
        &fresh_source_ip(),
    )
    .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST, "{}", both.text());
    assert!(both.json()["email"].is_array());
    let neither = post_json_from(&auth.app, RESEND, &json!({}), None, &fresh_source_ip()).await;
    assert_eq!(
        neither.json(),
        json!({"email": ["This field is required."]})
    );
    let bad = post_json_from(
        &auth.app,
        RESEND,
        &json!({}),
        Some("not-a-token"),
        &fresh_source_ip(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn by_email_known_and_unknown_addresses_get_the_same_answer_and_calls() {
    let auth = auth_app().await;
    let known = register(&auth, "verify-known").await.email;
    let unknown = unique("verify-nobody").1;

    auth.calls.reset();
    let a = resend_by_email(&auth, &known).await;
    let known_calls = auth.calls.calls();
    auth.calls.reset();
    let b = resend_by_email(&auth, &unknown).await;
    let unknown_calls = auth.calls.calls();
    // The two reservations at once, then one call a round trip.
    assert_eq!(auth.calls.depth(), 4);

    assert_resent(&a);
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(known_calls, unknown_calls);
    assert_eq!(
        known_calls,
        [
            "UpdateItem",
            "UpdateItem",
            "GetItem",
            "BatchGetItem",
            "TransactWriteItems"
        ]
    );
    let sent = verification_mail(&auth);
    assert_eq!(sent.len(), 2, "registration's and the resent one");
    assert!(sent.iter().all(|m| m.to == known));

    // A malformed email is a field error.
    let res = resend_by_email(&auth, "not-an-email").await;
    assert_eq!(
        res.json(),
        json!({"email": ["Enter a valid email address."]})
    );
}

#[tokio::test]
async fn by_email_requests_are_throttled_per_email_and_per_source_ip() {
    tests::in_one_window(&[
        auth::throttle::VERIFICATION_RESENDS_PER_EMAIL,
        auth::throttle::VERIFICATION_RESENDS_PER_IP,
        auth::throttle::EMAIL_VERIFICATIONS_PER_IP,
    ])
    .await;
    let auth = auth_app().await;
    let email = unique("verify-flood").1;
    for _ in 0..3 {
        assert_resent(&resend_by_email(&auth, &email).await);
    }
    let res = resend_by_email(&auth, &email).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text());

    let ip = fresh_source_ip();
    for n in 0..=20 {
        let body = json!({ "email": unique(&format!("verify-ip-{n}")).1 });
        let res = post_json_from(&auth.app, RESEND, &body, None, &ip).await;
        let expected = if n < 20 {
            StatusCode::ACCEPTED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(res.status, expected, "request {n}");
    }

    // Verifications too, per source IP.
    let ip = fresh_source_ip();
    for _ in 0..20 {
        let res = post_json_from(&auth.app, VERIFY, &json!({"token": "x"}), None, &ip).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
    }
    let res = post_json_from(&auth.app, VERIFY, &json!({"token": "x"}), None, &ip).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_password_reset_verifies_the_address() {
    let s = setup_on(auth_app().await);
    let admin = register(&s.auth, "verify-reset").await;
    post_json_from(
        &s.auth.app,
        "/api/auth/password/reset/",
        &json!({"email": admin.email}),
        None,
        &fresh_source_ip(),
    )
    .await;
    let link = OutboxSender::read(&s.auth.outbox)
        .unwrap()
        .into_iter()
        .find(|m| m.subject == "Reset your password")
        .unwrap()
        .links[0]
        .clone();
    let token = link.split("token=").nth(1).unwrap();
    let new = "a-brand-new-secret";
    let res = post_json_from(
        &s.auth.app,
        "/api/auth/password/reset/confirm/",
        &json!({"token": token, "new_password": new, "new_password_confirm": new}),
        None,
        &fresh_source_ip(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = login(&s.auth, &admin.email, new).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["user"]["email_verified"], json!(true));
    let access = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    assert!(claims_of(&s, &access).email_verified);
}

async fn require_verified_email(s: &Setup, access: &str, value: Value) -> TestResponse {
    call(
        &s.tenants,
        "PATCH",
        "/api/tenants/me/",
        Some(access),
        Some(json!({"settings": {"require_verified_email": value}})),
        None,
    )
    .await
}

#[tokio::test]
async fn a_tenant_may_require_a_verified_email_to_log_in() {
    let s = setup_on(auth_app().await);
    let admin = register(&s.auth, "verify-required").await;
    // Only a boolean is a valid setting.
    let res = require_verified_email(&s, &admin.access, json!("yes")).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"settings": ["`require_verified_email` must be true or false."]})
    );
    let res = require_verified_email(&s, &admin.access, json!(true)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    // A wrong password is the usual 401: nothing said about the account.
    let res = login(&s.auth, &admin.email, "wrong-password").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_eq!(res.json()["code"], "authentication_failed");

    // The right one: 403 with the way out, and no tokens.
    s.auth.calls.reset();
    let res = login(&s.auth, &admin.email, PASSWORD).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({
            "detail": "Verify your email address to sign in; we can send you a new link.",
            "code": "email_not_verified",
            "resend": RESEND,
        })
    );
    assert!(
        !s.auth
            .calls
            .calls()
            .contains(&"TransactWriteItems".to_owned()),
        "no login is written: {:?}",
        s.auth.calls.calls()
    );

    // Without a token, a new link by email; it verifies, and login works.
    assert_resent(&resend_by_email(&s.auth, &admin.email).await);
    let token = token_mailed_to(&s.auth, &admin.email);
    assert_eq!(verify(&s.auth, &token).await.status, StatusCode::OK);
    let res = login(&s.auth, &admin.email, PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    // Another organisation, without the setting: unverified users log in.
    let other = register(&s.auth, "verify-optional").await;
    let res = login(&s.auth, &other.email, PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn super_admins_are_never_held_to_it() {
    let s = setup_on(auth_app().await);
    let email = unique("verify-root").1;
    shared::superadmins::add(&s.auth.store, &email, PASSWORD)
        .await
        .unwrap();
    let platform = shared::superadmins::platform_scope(&s.auth.store)
        .await
        .unwrap()
        .unwrap();
    s.auth
        .store
        .tenant(&platform)
        .patch(
            &keys::tenant_profile(),
            &Patch::new().set("settings", &r#"{"require_verified_email":true}"#),
        )
        .await
        .unwrap();
    let res = login(&s.auth, &email, PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["user"]["email_verified"], json!(false));
    assert_eq!(res.json()["user"]["is_super_admin"], json!(true));
}

#[tokio::test]
async fn users_an_admin_creates_start_unverified_and_get_no_mail() {
    let s = setup_on(auth_app().await);
    let admin = register(&s.auth, "verify-created").await;
    let email = unique("verify-member").1;
    let res = call(
        &s.users,
        "POST",
        "/api/users/",
        Some(&admin.access),
        Some(json!({"email": email, "password": PASSWORD, "password_confirm": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["email_verified"], json!(false));
    assert!(verification_mail(&s.auth).iter().all(|m| m.to != email));
    // They may ask for a link themselves.
    let login = login(&s.auth, &email, PASSWORD).await;
    let access = login.json()["tokens"]["access"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_resent(&resend_signed_in(&s.auth, &access).await);
    let token = token_mailed_to(&s.auth, &email);
    assert_eq!(verify(&s.auth, &token).await.status, StatusCode::OK);
    assert_eq!(me(&s, &access).await["email_verified"], json!(true));
}

#[tokio::test]
async fn a_failed_send_does_not_fail_the_registration() {
    let sender = Arc::new(tests::FailingSender::default());
    let auth = auth_app_sending(sender.clone()).await;
    let admin = register(&auth, "verify-fail").await;
    assert_eq!(sender.attempts(), 1, "a send was tried");
    assert_eq!(admin.body["user"]["email_verified"], json!(false));
    // The admin can ask again; that send fails the same quiet way.
    assert_resent(&resend_signed_in(&auth, &admin.access).await);
    assert_eq!(sender.attempts(), 2);
}
