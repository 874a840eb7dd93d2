//! Password reset by email: the request answers alike for known and
//! unknown addresses, the mailed link works once, and a reset ends every
//! login of the user.

use http::StatusCode;
use serde_json::{json, Value};
use shared::auth::OneTimeToken;
use shared::email::{OutboxMessage, OutboxSender};
use shared::records::ResetTokenRecord;
use shared::store::Condition;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tests::app::{get_as, login, register, setup_on};
use tests::{
    auth_app, auth_app_checking, auth_app_sending, fresh_source_ip, post_json_from, AuthApp,
    TestResponse, TEST_FRONTEND_URL,
};

const RESET: &str = "/api/auth/password/reset/";
const CONFIRM: &str = "/api/auth/password/reset/confirm/";
const NEW_PASSWORD: &str = "a-brand-new-secret";
const OLD_PASSWORD: &str = "correct-horse-battery";

async fn request_reset(auth: &AuthApp, email: &str) -> TestResponse {
    post_json_from(
        &auth.app,
        RESET,
        &json!({ "email": email }),
        None,
        &fresh_source_ip(),
    )
    .await
}

async fn confirm(auth: &AuthApp, token: &str, password: &str) -> TestResponse {
    post_json_from(
        &auth.app,
        CONFIRM,
        &json!({"token": token, "new_password": password, "new_password_confirm": password}),
        None,
        &fresh_source_ip(),
    )
    .await
}

/// The password-reset messages the app sent (registration mails a
/// verification link too: see verify.rs).
fn outbox(auth: &AuthApp) -> Vec<OutboxMessage> {
    OutboxSender::read(&auth.outbox)
        .expect("outbox readable")
        .into_iter()
        .filter(|m| m.subject == "Reset your password")
        .collect()
}

/// The token of the one reset link in the newest message to `to`.
fn token_mailed_to(auth: &AuthApp, to: &str) -> String {
    let message = outbox(auth)
        .into_iter()
        .rev()
        .find(|m| m.to == to)
        .unwrap_or_else(|| panic!("no message to {to}"));
    assert_eq!(message.subject, "Reset your password");
    assert_eq!(message.links.len(), 1, "{:?}", message.links);
    let prefix = format!("{TEST_FRONTEND_URL}/reset-password?token=");
    let token = message.links[0]
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("unexpected link {}", message.links[0]))
        .to_owned();
    assert!(
        message.html.contains(&token),
        "the HTML body has the link too"
    );
    token
}

fn assert_invalid_token(res: &TestResponse) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json(), json!({"token": ["Invalid or expired token."]}));
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer_and_the_same_calls() {
    let auth = auth_app().await;
    let known = register(&auth, "reset-known").await.email;
    let unknown = format!("nobody-{}@example.com", uuid::Uuid::new_v4().simple());

    auth.calls.reset();
    let a = request_reset(&auth, &known).await;
    let known_calls = auth.calls.calls();
    auth.calls.reset();
    let b = request_reset(&auth, &unknown).await;
    let unknown_calls = auth.calls.calls();
    // The two reservations at once, then one call a round trip.
    assert_eq!(auth.calls.depth(), 4);

    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    let headers = |r: &TestResponse| {
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(name, _)| name.as_str() != "x-request-id")
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(headers(&a), headers(&b));
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

    let sent = outbox(&auth);
    assert_eq!(sent.len(), 1, "one message, to the known address only");
    assert_eq!(sent[0].to, known);
}

#[tokio::test]
async fn a_reset_link_works_once_and_ends_every_login() {
    let s = setup_on(auth_app_checking(Duration::ZERO).await);
    let admin = register(&s.auth, "reset-flow").await;
    assert_eq!(
        get_as(&s.users, "/api/users/me/", &admin.access)
            .await
            .status,
        StatusCode::OK
    );

    assert_eq!(
        request_reset(&s.auth, &admin.email).await.status,
        StatusCode::ACCEPTED
    );
    let token = token_mailed_to(&s.auth, &admin.email);

    let res = confirm(&s.auth, &token, NEW_PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json(), json!({"detail": "Password has been reset."}));

    // Single use.
    assert_invalid_token(&confirm(&s.auth, &token, "yet-another-secret").await);

    // Every earlier login has ended.
    let refresh = post_json_from(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": admin.refresh}),
        None,
        &fresh_source_ip(),
    )
    .await;
    assert_eq!(
        refresh.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        refresh.text()
    );
    assert_eq!(
        get_as(&s.users, "/api/users/me/", &admin.access)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // The new password opens a login; the old one no longer does.
    assert_eq!(
        login(&s.auth, &admin.email, OLD_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let fresh = login(&s.auth, &admin.email, NEW_PASSWORD).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text());
    let access = fresh.json()["tokens"]["access"]
        .as_str()
        .unwrap()
        .to_owned();

    // Both steps are in the tenant's audit log, without the token.
    let log = get_as(&s.audit, "/api/audit/", &access).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text());
    let actions: Vec<String> = log.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"user.password_reset".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"user.password_reset_requested".to_owned()),
        "{actions:?}"
    );
    assert!(!log.text().contains(&token));
}

#[tokio::test]
async fn concurrent_confirmations_of_one_token_succeed_once() {
    let auth = auth_app().await;
    let admin = register(&auth, "reset-race").await;
    request_reset(&auth, &admin.email).await;
    let token = token_mailed_to(&auth, &admin.email);
    let (a, b) = tokio::join!(
        confirm(&auth, &token, NEW_PASSWORD),
        confirm(&auth, &token, "another-new-secret")
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
    let loser = if a.status == StatusCode::OK { &b } else { &a };
    assert_invalid_token(loser);
}

#[tokio::test]
async fn expired_unknown_malformed_and_superseded_tokens_are_refused() {
    let auth = auth_app().await;
    let admin = register(&auth, "reset-bad").await;
    assert_eq!(
        login(&auth, &admin.email, OLD_PASSWORD).await.status,
        StatusCode::OK
    );
    let credential: shared::records::CredentialRecord = auth
        .store
        .platform()
        .get(&shared::keys::email_claim(&admin.email))
        .await
        .unwrap()
        .unwrap();

    // A token item whose TTL has passed (DynamoDB may not have removed it yet).
    let expired = OneTimeToken::generate();
    let now = time::OffsetDateTime::now_utc();
    auth.store
        .platform()
        .put(
            &shared::keys::reset_token(expired.hash()),
            &ResetTokenRecord {
                tenant_id: credential.tenant_id,
                user_id: credential.user_id,
                email: admin.email.clone(),
                credential_version: credential.version,
                created_at: now - time::Duration::hours(2),
                expires_at: now.unix_timestamp() - 1,
            },
            Condition::NotExists,
        )
        .await
        .unwrap();
    assert_invalid_token(&confirm(&auth, expired.secret(), NEW_PASSWORD).await);
    assert_invalid_token(&confirm(&auth, OneTimeToken::generate().secret(), NEW_PASSWORD).await);
    assert_invalid_token(&confirm(&auth, "not-a-token", NEW_PASSWORD).await);
    assert_invalid_token(&confirm(&auth, "", NEW_PASSWORD).await);

    // A bad token and a bad password: both errors at once.
    let res = confirm(&auth, "garbage", "short").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let body = res.json();
    assert_eq!(body["token"], json!(["Invalid or expired token."]));
    assert!(body["new_password"].is_array(), "{body}");

    // A valid token with a password registration would refuse: refused,
    // and the token still works afterwards.
    request_reset(&auth, &admin.email).await;
    let token = token_mailed_to(&auth, &admin.email);
    let res = confirm(&auth, &token, "1234567890123").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json(),
        json!({"new_password": ["This password is entirely numeric."]})
    );

    // A password change after the request makes the link useless.
    let change = post_json_from(
        &auth.app,
        "/api/auth/password/change/",
        &json!({"old_password": OLD_PASSWORD, "new_password": "changed-meanwhile",
                "new_password_confirm": "changed-meanwhile"}),
        Some(&admin.access),
        &fresh_source_ip(),
    )
    .await;
    assert_eq!(change.status, StatusCode::OK, "{}", change.text());
    assert_invalid_token(&confirm(&auth, &token, NEW_PASSWORD).await);
    assert_eq!(
        login(&auth, &admin.email, "changed-meanwhile").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_inactive_account_gets_the_same_answer_and_no_link() {
    let s = setup_on(auth_app().await);
    let admin = register(&s.auth, "reset-inactive").await;
    let claims = tests::app::claims_of(&s, &admin.access);
    let scope = tests::app::scope(&s, &admin.access);
    // Deactivated behind the API's back (the last admin cannot be).
    s.auth
        .store
        .tenant(&scope)
        .patch(
            &shared::keys::user(claims.sub),
            &shared::store::Patch::new().set("is_active", &false),
        )
        .await
        .unwrap();

    let unknown = request_reset(&s.auth, "nobody-inactive@example.com").await;
    s.auth.calls.reset();
    let res = request_reset(&s.auth, &admin.email).await;
    assert_eq!(
        s.auth.calls.calls(),
        [
            "UpdateItem",
            "UpdateItem",
            "GetItem",
            "BatchGetItem",
            "TransactWriteItems"
        ]
    );
    assert_eq!((res.status, res.body), (unknown.status, unknown.body));
    assert!(
        outbox(&s.auth).is_empty(),
        "no link for an inactive account"
    );
}

#[tokio::test]
async fn a_malformed_email_is_a_field_error() {
    let auth = auth_app().await;
    let res = request_reset(&auth, "not-an-email").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json(),
        json!({"email": ["Enter a valid email address."]})
    );
    assert!(outbox(&auth).is_empty());
}

#[tokio::test]
async fn requests_are_throttled_per_email_and_per_source_ip() {
    tests::in_one_window(&[
        auth::throttle::PASSWORD_RESETS_PER_EMAIL,
        auth::throttle::PASSWORD_RESETS_PER_IP,
        auth::throttle::PASSWORD_RESET_CONFIRMS_PER_IP,
    ])
    .await;
    let auth = auth_app().await;
    let email = format!("flood-{}@example.com", uuid::Uuid::new_v4().simple());
    for _ in 0..5 {
        assert_eq!(
            request_reset(&auth, &email).await.status,
            StatusCode::ACCEPTED
        );
    }
    let res = request_reset(&auth, &email).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text());
    assert!(res.headers.contains_key("retry-after"));
    assert_eq!(res.json()["code"], "throttled");

    let ip = fresh_source_ip();
    for n in 0..=20 {
        let body =
            json!({"email": format!("ip-{n}-{}@example.com", uuid::Uuid::new_v4().simple())});
        let res = post_json_from(&auth.app, RESET, &body, None, &ip).await;
        let expected = if n < 20 {
            StatusCode::ACCEPTED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(res.status, expected, "request {n}");
    }

    // Confirmations too, per source IP.
    let ip = fresh_source_ip();
    let body =
        json!({"token": "x", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD});
    for _ in 0..20 {
        let res = post_json_from(&auth.app, CONFIRM, &body, None, &ip).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
    }
    let res = post_json_from(&auth.app, CONFIRM, &body, None, &ip).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_reset_clears_the_failed_logins_of_the_account() {
    tests::in_one_window(&[auth::throttle::LOGIN_PER_EMAIL_AND_IP]).await;
    let auth = auth_app().await;
    let admin = register(&auth, "reset-unlock").await;
    // login() sends without a source IP: all from the "unknown" bucket.
    for _ in 0..5 {
        assert_eq!(
            login(&auth, &admin.email, "wrong-password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login(&auth, &admin.email, OLD_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    request_reset(&auth, &admin.email).await;
    let token = token_mailed_to(&auth, &admin.email);
    let res = tests::post_json(
        &auth.app,
        CONFIRM,
        &json!({"token": token, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        login(&auth, &admin.email, NEW_PASSWORD).await.status,
        StatusCode::OK
    );
}

/// Log lines written while a test runs on its own thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_send_is_logged_with_the_request_id_and_the_answer_stands() {
    let sender = Arc::new(tests::FailingSender::default());
    let auth = auth_app_sending(sender.clone()).await;
    let admin = register(&auth, "reset-fail").await;
    // Registration tried to mail a verification link.
    let before = sender.attempts();

    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(logs.clone())
        .with_current_span(true)
        .flatten_event(true)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let res = request_reset(&auth, &admin.email).await;
    drop(_guard);

    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    assert_eq!(sender.attempts(), before + 1);
    let request_id = res.headers["x-request-id"].to_str().unwrap().to_owned();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let line: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "email could not be sent; the request goes on")
        .unwrap_or_else(|| panic!("no failure logged:\n{text}"));
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["span"]["request_id"], request_id.as_str(), "{line}");
    assert!(line["error"].as_str().unwrap().contains("mail server down"));
}
