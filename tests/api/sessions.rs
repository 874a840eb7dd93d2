//! Logins that must end stay ended, and throttles that cannot be raced past
//! or turned against the owner: concurrent requests against DynamoDB Local,
//! with barriers forcing each interleaving.

use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::records::TokenFamilyRecord;
use shared::store::TenantScope;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tests::{
    auth_app, auth_app_paused, post_json, post_json_from, registration, unique, AuthApp,
    TestResponse,
};
use tokio::sync::Barrier;

const PASSWORD: &str = "correct-horse-battery";

type Queue = Arc<Mutex<VecDeque<Vec<Arc<Barrier>>>>>;

/// Barriers for the refreshes (and logins) that reach their write: each
/// takes the next list of its step and waits on each barrier in turn; they
/// find nothing once the lists run out.
#[derive(Clone, Default)]
struct Pauses {
    refresh: Queue,
    login: Queue,
}

impl Pauses {
    fn push(&self, barriers: Vec<Arc<Barrier>>) {
        self.refresh.lock().unwrap().push_back(barriers);
    }

    fn push_login(&self, barriers: Vec<Arc<Barrier>>) {
        self.login.lock().unwrap().push_back(barriers);
    }
}

async fn paused_app() -> (AuthApp, Pauses) {
    let pauses = Pauses::default();
    let taken = pauses.clone();
    let app = auth_app_paused(Arc::new(move |step| {
        let queue = match step {
            auth::Step::Refresh => &taken.refresh,
            auth::Step::Login => &taken.login,
            auth::Step::PasswordChange => return Box::pin(async {}),
        };
        let next = queue.lock().unwrap().pop_front().unwrap_or_default();
        Box::pin(async move {
            for barrier in next {
                barrier.wait().await;
            }
        })
    }))
    .await;
    (app, pauses)
}

async fn register(app: &AuthApp) -> (String, String, String) {
    let r = tests::app::register(app, "sess").await;
    (r.access, r.refresh, r.email)
}

fn tokens(pair: &Value) -> (String, String) {
    (
        pair["access"].as_str().unwrap().to_owned(),
        pair["refresh"].as_str().unwrap().to_owned(),
    )
}

async fn login(app: &AuthApp, email: &str, password: &str, ip: &str) -> TestResponse {
    post_json_from(
        &app.app,
        "/api/auth/login/",
        &json!({"email": email, "password": password}),
        None,
        ip,
    )
    .await
}

/// Takes every slot of `limit` for `subject` in the current window, as
/// if from many requests; the counter's key and the window's start.
async fn fill_window(
    app: &AuthApp,
    limit: &shared::throttle::Limit,
    subject: &str,
) -> (keys::PlatformKey<keys::kind::ThrottleCounter>, i64) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let start = now - now.rem_euclid(limit.window_secs);
    let key = keys::throttle(limit.bucket, subject, start);
    let end = start + limit.window_secs;
    let platform = app.store.platform();
    for _ in 0..limit.max {
        let taken = platform.reserve(&key, "count", limit.max, end, "throttle");
        assert!(taken.await.unwrap());
    }
    (key, start)
}

async fn refresh(router: &axum::Router, token: &str) -> TestResponse {
    post_json(
        router,
        "/api/auth/token/refresh/",
        &json!({"refresh": token}),
        None,
    )
    .await
}

/// Starts a refresh that stops between its reads and its write; returns
/// once it has read, with the barrier that lets it write.
async fn refresh_stopped_before_write(
    app: &AuthApp,
    pauses: &Pauses,
    token: &str,
) -> (tokio::task::JoinHandle<TestResponse>, Arc<Barrier>) {
    let (read, write) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    pauses.push(vec![read.clone(), write.clone()]);
    let router = app.app.clone();
    let token = token.to_owned();
    let task = tokio::spawn(async move { refresh(&router, &token).await });
    read.wait().await;
    (task, write)
}

/// Every token must be refused, by refresh and by verify.
async fn assert_all_dead(app: &AuthApp, refresh_tokens: &[&str]) {
    for token in refresh_tokens {
        let res = post_json(
            &app.app,
            "/api/auth/token/verify/",
            &json!({"token": token}),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "verify accepted it");
        let res = refresh(&app.app, token).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
        assert_eq!(res.json()["code"], "token_not_valid");
    }
}

fn family_of(
    app: &AuthApp,
    refresh_token: &str,
) -> (TenantScope, keys::Key<keys::kind::TokenFamily>) {
    let verifier = shared::auth::TokenVerifier::new(
        &shared::auth::Jwks {
            keys: vec![app.key.public_jwk()],
        },
        &app.settings,
    )
    .unwrap();
    let principal = shared::auth::verify_refresh(&verifier, refresh_token).unwrap();
    let c = principal.claims();
    (principal.scope().clone(), keys::token_family(c.sub, c.fam))
}

async fn family(app: &AuthApp, refresh_token: &str) -> TokenFamilyRecord {
    let (scope, key) = family_of(app, refresh_token);
    app.store.tenant(&scope).get(&key).await.unwrap().unwrap()
}

#[tokio::test]
async fn logout_between_a_refreshs_read_and_write_stays_logged_out() {
    let (app, pauses) = paused_app().await;
    let (access, first, _) = register(&app).await;
    let (pending, write) = refresh_stopped_before_write(&app, &pauses, &first).await;

    let res = post_json(
        &app.app,
        "/api/auth/logout/",
        &json!({"refresh": first}),
        Some(&access),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    write.wait().await;
    let res = pending.await.unwrap();
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());

    assert!(family(&app, &first).await.revoked, "written back as live");
    assert_all_dead(&app, &[&first]).await;
}

#[tokio::test]
async fn logout_everywhere_between_a_refreshs_read_and_write_ends_every_login() {
    let (app, pauses) = paused_app().await;
    let (access, first, email) = register(&app).await;
    let other = login(&app, &email, PASSWORD, "192.0.2.1").await;
    assert_eq!(other.status, StatusCode::OK);
    let (_, other_refresh) = tokens(&other.json()["tokens"]);
    let (pending, write) = refresh_stopped_before_write(&app, &pauses, &first).await;

    // No refresh token needed with `all`.
    let res = post_json(
        &app.app,
        "/api/auth/logout/",
        &json!({"all": true}),
        Some(&access),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    write.wait().await;
    let res = pending.await.unwrap();
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_all_dead(&app, &[&first, &other_refresh]).await;

    // A login after it is a new session, and works.
    let res = login(&app, &email, PASSWORD, "192.0.2.1").await;
    assert_eq!(res.status, StatusCode::OK);
    let (_, fresh) = tokens(&res.json()["tokens"]);
    assert_eq!(refresh(&app.app, &fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_without_all_still_requires_a_refresh_token() {
    let app = auth_app().await;
    let (access, first, _) = register(&app).await;
    let res = post_json(&app.app, "/api/auth/logout/", &json!({}), Some(&access)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["refresh_token"].is_array());
    // With `all`, a given token must still be the caller's own.
    let (_, bob_refresh, _) = register(&app).await;
    let res = post_json(
        &app.app,
        "/api/auth/logout/",
        &json!({"all": true, "refresh": bob_refresh}),
        Some(&access),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app.app, &first).await.status, StatusCode::OK);
    assert_eq!(refresh(&app.app, &bob_refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn password_change_between_a_refreshs_read_and_write_ends_that_login() {
    let (app, pauses) = paused_app().await;
    let (access, first, email) = register(&app).await;
    let other = login(&app, &email, PASSWORD, "192.0.2.2").await;
    let (_, other_refresh) = tokens(&other.json()["tokens"]);
    let (pending, write) = refresh_stopped_before_write(&app, &pauses, &first).await;

    let res = post_json(
        &app.app,
        "/api/auth/password/change/",
        &json!({"old_password": PASSWORD, "new_password": "another-long-password", "new_password_confirm": "another-long-password"}),
        Some(&access),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let (_, changed_refresh) = tokens(&res.json()["tokens"]);
    write.wait().await;
    let res = pending.await.unwrap();
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_all_dead(&app, &[&first, &other_refresh]).await;

    // The login the change returned was created at the cut: it stays.
    let res = refresh(&app.app, &changed_refresh).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let (_, next) = tokens(&res.json());
    assert_eq!(refresh(&app.app, &next).await.status, StatusCode::OK);
}

#[tokio::test]
async fn reuse_detected_between_a_refreshs_read_and_write_revokes_the_login() {
    let (app, pauses) = paused_app().await;
    let (_, first, _) = register(&app).await;
    let res = refresh(&app.app, &first).await;
    assert_eq!(res.status, StatusCode::OK);
    let (_, second) = tokens(&res.json());
    let (pending, write) = refresh_stopped_before_write(&app, &pauses, &second).await;

    // The stolen first token comes back while the owner's refresh is in flight.
    let res = refresh(&app.app, &first).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.json()["detail"]
        .as_str()
        .unwrap()
        .contains("already used"));
    write.wait().await;
    let res = pending.await.unwrap();
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());

    assert!(family(&app, &first).await.revoked, "written back as live");
    assert_all_dead(&app, &[&first, &second]).await;
}

#[tokio::test]
async fn two_refreshes_of_one_token_exactly_one_wins_and_keeps_the_login() {
    let (app, pauses) = paused_app().await;
    let (_, first, _) = register(&app).await;
    // Both read before either writes.
    let both = Arc::new(Barrier::new(2));
    pauses.push(vec![both.clone()]);
    pauses.push(vec![both]);
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let router = app.app.clone();
            let token = first.clone();
            tokio::spawn(async move { refresh(&router, &token).await })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = 0;
    for task in tasks {
        let res = task.await.unwrap();
        match res.status {
            StatusCode::OK => winners.push(tokens(&res.json()).1),
            StatusCode::UNAUTHORIZED => {
                assert_eq!(res.json()["code"], "token_not_valid");
                losers += 1;
            }
            other => panic!("unexpected {other}: {}", res.text()),
        }
    }
    assert_eq!((winners.len(), losers), (1, 1));
    let family_now = family(&app, &first).await;
    assert!(
        !family_now.revoked,
        "the loser must not end the winner's login"
    );

    // Only the winner's token goes on.
    let res = refresh(&app.app, &winners[0]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let (_, third) = tokens(&res.json());
    // The original token is spent: presenting it is reuse, which ends the
    // login, so the winner's successor dies with it.
    assert_all_dead(&app, &[&first, &winners[0]]).await;
    assert_all_dead(&app, &[&third]).await;
}

#[tokio::test]
async fn fifty_concurrent_wrong_guesses_cost_exactly_the_limit_in_password_checks() {
    tests::in_one_window(&[
        auth::throttle::LOGIN_PER_EMAIL_AND_IP,
        auth::throttle::LOGIN_PER_EMAIL,
    ])
    .await;
    let app = auth_app().await;
    let (_, _, email) = register(&app).await;
    let limit = auth::throttle::LOGIN_PER_EMAIL_AND_IP.max as usize;
    app.calls.reset();
    let start = Arc::new(Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let router = app.app.clone();
            let (start, email) = (start.clone(), email.clone());
            tokio::spawn(async move {
                start.wait().await;
                post_json_from(
                    &router,
                    "/api/auth/login/",
                    &json!({"email": email, "password": "guess-guess-guess"}),
                    None,
                    "203.0.113.50",
                )
                .await
            })
        })
        .collect();
    let (mut refused, mut throttled) = (0, 0);
    for task in tasks {
        let res = task.await.unwrap();
        match res.status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(res.headers.contains_key("retry-after"));
                throttled += 1;
            }
            other => panic!("unexpected {other}: {}", res.text()),
        }
    }
    // A password is checked only after both reservations are taken, and
    // every check of this wrong password is a 401: the 429s checked none.
    assert_eq!(
        (refused, throttled),
        (limit, 50 - limit),
        "argon2 ran more often than the limit"
    );
    // Each attempt read the credential with its reservation, and each
    // refusal read the counts (to tell which window to wait for); a wrong
    // password reads nothing more.
    let calls = app.calls.calls();
    let count = |op: &str| calls.iter().filter(|c| c.as_str() == op).count();
    assert_eq!(count("UpdateItem"), 50);
    assert_eq!(count("GetItem"), 50 + throttled);
    assert_eq!(count("BatchGetItem"), 0);
    // The owner elsewhere is unaffected.
    let res = login(&app, &email, PASSWORD, "192.0.2.50").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn the_per_email_cap_holds_across_addresses() {
    tests::in_one_window(&[
        auth::throttle::LOGIN_PER_EMAIL,
        auth::throttle::LOGIN_PER_EMAIL_AND_IP,
    ])
    .await;
    let app = auth_app().await;
    let (_, _, email) = register(&app).await;
    let limit = auth::throttle::LOGIN_PER_EMAIL;
    // This window's email-wide count, full as if from many addresses.
    let (key, start) = fill_window(&app, &limit, &email).await;
    let ip = "192.0.2.60";
    for _ in 0..auth::throttle::LOGIN_PER_EMAIL_AND_IP.max + 1 {
        let res = login(&app, &email, PASSWORD, ip).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        let retry: i64 = res.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        // Until the hour's window ends, not the address's quarter.
        let left = start + limit.window_secs - time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((left - 2..=left + 2).contains(&retry), "{retry} vs {left}");
    }
    // The refused attempts took no per-address slot: with one email-wide
    // slot given back, that address gets a password check (a 401, not a
    // 429).
    app.store
        .platform()
        .release_and_forget(&key, "count", &[])
        .await
        .unwrap();
    let res = login(&app, &email, "not-the-password", ip).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
}

#[tokio::test]
async fn registrations_are_throttled_per_address() {
    tests::in_one_window(&[auth::throttle::REGISTRATIONS_PER_IP]).await;
    let app = auth_app().await;
    let limit = auth::throttle::REGISTRATIONS_PER_IP.max;
    for _ in 0..limit {
        let (slug, email) = unique("reg");
        let res = post_json_from(
            &app.app,
            "/api/auth/register/",
            &registration(&slug, &email),
            None,
            "198.51.100.77",
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    }
    let (slug, email) = unique("reg");
    let res = post_json_from(
        &app.app,
        "/api/auth/register/",
        &registration(&slug, &email),
        None,
        "198.51.100.77",
    )
    .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.json()["code"], "throttled");
    assert!(res.headers.contains_key("retry-after"));
    let res = post_json_from(
        &app.app,
        "/api/auth/register/",
        &registration(&slug, &email),
        None,
        "198.51.100.78",
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
}

#[tokio::test]
async fn a_wrong_old_password_counts_as_a_failed_login() {
    tests::in_one_window(&[
        auth::throttle::LOGIN_PER_EMAIL_AND_IP,
        auth::throttle::PASSWORD_CHANGES_PER_IP,
    ])
    .await;
    let app = auth_app().await;
    let (access, _, email) = register(&app).await;
    let ip = "203.0.113.80";
    let change = json!({"old_password": "not-my-password", "new_password": "another-long-password", "new_password_confirm": "another-long-password"});
    for _ in 0..auth::throttle::LOGIN_PER_EMAIL_AND_IP.max {
        let res = post_json_from(
            &app.app,
            "/api/auth/password/change/",
            &change,
            Some(&access),
            ip,
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    }
    let res = post_json_from(
        &app.app,
        "/api/auth/password/change/",
        &change,
        Some(&access),
        ip,
    )
    .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    // The same count guards login from that address...
    assert_eq!(
        login(&app, &email, PASSWORD, ip).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...and not from another.
    assert_eq!(
        login(&app, &email, PASSWORD, "192.0.2.80").await.status,
        StatusCode::OK
    );
}

const CHANGE: &str = "/api/auth/password/change/";

fn change_to(old: &str, new: &str) -> Value {
    json!({"old_password": old, "new_password": new, "new_password_confirm": new})
}

#[tokio::test]
async fn a_password_change_reserves_and_reads_the_credential_in_one_round_trip() {
    let app = auth_app().await;
    let (access, _, _) = register(&app).await;
    let ip = tests::fresh_source_ip();
    // Warms the revocation state; a right old password counts nothing.
    let res = post_json_from(
        &app.app,
        CHANGE,
        &change_to(PASSWORD, "short"),
        Some(&access),
        &ip,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    app.calls.reset();
    let new = change_to(PASSWORD, "another-long-password");
    let res = post_json_from(&app.app, CHANGE, &new, Some(&access), &ip).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // Concurrent calls start in no fixed order: the two reservations with
    // the credential; the account with the login slots' release; the
    // write.
    let mut calls = app.calls.calls();
    calls[..3].sort();
    calls[3..5].sort();
    assert_eq!(
        calls,
        [
            "GetItem",
            "UpdateItem",
            "UpdateItem",
            "BatchGetItem",
            "UpdateItem",
            "TransactWriteItems"
        ]
    );
    assert_eq!(app.calls.depth(), 3);
}

#[tokio::test]
async fn a_password_change_refused_by_its_address_limit_counts_no_failed_login() {
    tests::in_one_window(&[
        auth::throttle::LOGIN_PER_EMAIL_AND_IP,
        auth::throttle::PASSWORD_CHANGES_PER_IP,
    ])
    .await;
    let app = auth_app().await;
    let (access, _, email) = register(&app).await;
    let ip = tests::fresh_source_ip();
    fill_window(&app, &auth::throttle::PASSWORD_CHANGES_PER_IP, &ip).await;
    let logins = auth::throttle::LOGIN_PER_EMAIL_AND_IP.max;
    let wrong = change_to("not-my-password", "another-long-password");
    for _ in 0..=logins {
        let res = post_json_from(&app.app, CHANGE, &wrong, Some(&access), &ip).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text());
    }
    // No password was checked, so none of them was a failed login: all
    // five are left to that address.
    for _ in 0..logins {
        let res = login(&app, &email, "not-my-password", &ip).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    }
    let res = login(&app, &email, PASSWORD, &ip).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_login_verified_before_a_password_change_does_not_survive_it() {
    let (app, pauses) = paused_app().await;
    let (access, _, email) = register(&app).await;
    let (read, write) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    pauses.push_login(vec![read.clone(), write.clone()]);
    let router = app.app.clone();
    let old_email = email.clone();
    let pending = tokio::spawn(async move {
        post_json_from(
            &router,
            "/api/auth/login/",
            &json!({"email": old_email, "password": PASSWORD}),
            None,
            "192.0.2.90",
        )
        .await
    });
    // The old password has been verified; the change lands before the
    // login writes its family.
    read.wait().await;
    let res = post_json(
        &app.app,
        "/api/auth/password/change/",
        &json!({"old_password": PASSWORD, "new_password": "another-long-password", "new_password_confirm": "another-long-password"}),
        Some(&access),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    write.wait().await;
    let res = pending.await.unwrap();
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_eq!(res.json()["code"], "authentication_failed");
    // The new password opens a login.
    assert_eq!(
        login(&app, &email, "another-long-password", "192.0.2.90")
            .await
            .status,
        StatusCode::OK
    );
}
