//! No client input answers 500: over-long id lists and key strings are
//! refused before DynamoDB sees them, race losers get 409, and a body that
//! is not UTF-8 is a 400.

use axum::body::Body;
use http::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use tests::app::{assert_field_error, scope, setup_on, token_for, Setup};
use tests::{auth_app, auth_app_paused, post_json, registration, send, unique, TestResponse};
use tokio::sync::Barrier;
use uuid::Uuid;

const PASSWORD: &str = "correct-horse-battery";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Body,
) -> TestResponse {
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    send(app, req.body(body).unwrap()).await
}

fn json_body(v: Value) -> Body {
    Body::from(v.to_string())
}

/// Registers a tenant: (admin's access token, admin's user id, email).
async fn register(s: &Setup, prefix: &str) -> (String, String, String) {
    let r = tests::app::register(&s.auth, prefix).await;
    let user_id = r.body["user"]["id"].as_str().unwrap().to_owned();
    (r.access, user_id, r.email)
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|_| Uuid::new_v4().to_string()).collect()
}

/// Item reads and writes among the DynamoDB calls made (the revocation
/// check of authentication aside, which reads no client-named key).
fn item_calls(s: &Setup) -> Vec<String> {
    s.auth
        .calls
        .calls()
        .into_iter()
        .filter(|c| {
            matches!(
                c.as_str(),
                "BatchGetItem" | "TransactWriteItems" | "PutItem" | "UpdateItem" | "Query"
            )
        })
        .collect()
}

#[tokio::test]
async fn id_lists_over_their_limit_are_400_before_any_read() {
    let s = setup_on(auth_app().await);
    let (admin, admin_id, _) = register(&s, "idlists").await;
    let new_user = |field: &str, n: usize| {
        let mut body = json!({"email": unique("many").1, "password": "a-good-password",
            "password_confirm": "a-good-password", "first_name": "Nia"});
        body[field] = json!(ids(n));
        body
    };
    let cases = [
        (
            "POST",
            "/api/users/".to_owned(),
            new_user("role_ids", 101),
            "role_ids",
        ),
        (
            "POST",
            "/api/users/".to_owned(),
            new_user("team_ids", 101),
            "team_ids",
        ),
        (
            "PATCH",
            format!("/api/users/{admin_id}/"),
            json!({"role_ids": ids(101)}),
            "role_ids",
        ),
        (
            "PATCH",
            format!("/api/users/{admin_id}/"),
            json!({"team_ids": ids(21)}),
            "team_ids",
        ),
        (
            "POST",
            format!("/api/users/{admin_id}/assign_roles/"),
            json!({"role_ids": ids(101)}),
            "role_ids",
        ),
    ];
    // Authentication reads the tenant's revocation state at most every so
    // often: this request does it, so the ones below read only for their own.
    let res = call(
        &s.users,
        "GET",
        "/api/users/me/",
        Some(&admin),
        Body::empty(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    for (method, uri, body, field) in cases {
        s.auth.calls.reset();
        let res = call(&s.users, method, &uri, Some(&admin), json_body(body)).await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{method} {uri}: {}",
            res.text()
        );
        assert_eq!(
            res.json()[field],
            json!(["At most 20 entries."]),
            "{method} {uri}"
        );
        assert_eq!(item_calls(&s), Vec::<String>::new(), "{method} {uri}");
    }
    // At the limit the ids are looked up (and unknown ones reported).
    let res = call(
        &s.users,
        "POST",
        "/api/users/",
        Some(&admin),
        json_body(new_user("role_ids", 20)),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json()["role_ids"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn an_email_too_long_for_a_key_is_400_not_500() {
    let s = setup_on(auth_app().await);
    let (admin, _, _) = register(&s, "longmail").await;
    // DynamoDB refuses partition keys over 2,048 bytes.
    let long = format!("{}@example.com", "a".repeat(3000));
    s.auth.calls.reset();
    let res = post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": long, "password": PASSWORD}),
        None,
    )
    .await;
    assert_field_error(
        &res,
        "email",
        "Ensure this field has no more than 254 characters.",
    );
    assert_eq!(item_calls(&s), Vec::<String>::new());

    // 254 characters still reach the lookup: an unknown account, 401.
    let longest = format!("{}@{}.io", "a".repeat(64), "b".repeat(186));
    assert_eq!(longest.len(), 254);
    let res = post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": longest, "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());

    let mut body = registration(&unique("longmail").0, &long);
    body["admin_email"] = json!(long);
    let res = post_json(&s.auth.app, "/api/auth/register/", &body, None).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert!(res.json()["admin_email"].is_array(), "{}", res.text());

    let res = call(
        &s.users,
        "POST",
        "/api/users/",
        Some(&admin),
        json_body(json!({"email": long, "password": "a-good-password",
            "password_confirm": "a-good-password", "first_name": "Nia"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert!(res.json()["email"].is_array(), "{}", res.text());
}

/// Concurrent suspensions (and activations) of one tenant: both read the
/// same version, one writes, the other's conditional write fails. The
/// loser is a 409, never a 500.
#[tokio::test]
async fn racing_suspensions_and_activations_lose_with_409() {
    let s = setup_on(auth_app().await);
    let root = token_for(&s, Uuid::new_v4(), true, Default::default());
    let (admin, _, _) = register(&s, "racing").await;
    let tenant = scope(&s, &admin).tenant_id();
    let mut conflicts = 0;
    for round in 0..20 {
        for action in ["suspend", "activate"] {
            let uri = format!("/api/tenants/{tenant}/{action}/");
            let (a, b) = tokio::join!(
                call(&s.tenants, "POST", &uri, Some(&root), Body::empty()),
                call(&s.tenants, "POST", &uri, Some(&root), Body::empty()),
            );
            for res in [a, b] {
                match res.status {
                    StatusCode::OK => assert_eq!(res.json()["is_active"], action == "activate"),
                    StatusCode::CONFLICT => {
                        assert_eq!(res.json()["code"], "conflict", "{}", res.text());
                        conflicts += 1;
                    }
                    other => panic!("{action}: {other} {}", res.text()),
                }
            }
        }
        if conflicts > 0 && round >= 2 {
            break;
        }
    }
    assert!(conflicts > 0, "no request lost a race");
}

/// Two password changes of one login: the first is held between its reads
/// and its write while the second completes; its write then fails on the
/// credential's version.
#[tokio::test]
async fn the_loser_of_two_password_changes_is_409() {
    let held = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (h, r, f) = (held.clone(), release.clone(), first.clone());
    let app = auth_app_paused(Arc::new(move |step| {
        let hold = step == auth::Step::PasswordChange
            && f.swap(false, std::sync::atomic::Ordering::SeqCst);
        let (h, r) = (h.clone(), r.clone());
        Box::pin(async move {
            if hold {
                h.wait().await;
                r.wait().await;
            }
        })
    }))
    .await;
    let s = setup_on(app);
    let (admin, _, _) = register(&s, "pwrace").await;
    let change = |new: &'static str| {
        call(
            &s.auth.app,
            "POST",
            "/api/auth/password/change/",
            Some(&admin),
            json_body(json!({"old_password": PASSWORD, "new_password": new,
                "new_password_confirm": new})),
        )
    };
    let loser = change("first-new-password-1");
    let winner = async {
        held.wait().await;
        let res = change("second-new-password-2").await;
        release.wait().await;
        res
    };
    let (lost, won) = tokio::join!(loser, winner);
    assert_eq!(won.status, StatusCode::OK, "{}", won.text());
    assert_eq!(lost.status, StatusCode::CONFLICT, "{}", lost.text());
    assert_eq!(lost.json()["code"], "conflict");
}

/// API Gateway base64-encodes a body that is not UTF-8 and lambda_http
/// hands the bytes on: the function answers 400 `parse_error`.
#[tokio::test]
async fn a_body_that_is_not_utf8_is_a_400_parse_error() {
    let s = setup_on(auth_app().await);
    let (admin, _, _) = register(&s, "utf8").await;
    let mut bytes = br#"{"email": "a@example.com", "password": "x"}"#.to_vec();
    bytes[11] = 0xff;
    assert!(String::from_utf8(bytes.clone()).is_err());
    let res = call(
        &s.auth.app,
        "POST",
        "/api/auth/login/",
        None,
        Body::from(bytes),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json()["code"], "parse_error", "{}", res.text());
    let res = call(
        &s.roles,
        "POST",
        "/api/roles/",
        Some(&admin),
        Body::from(vec![0xc3, 0x28, b'{', b'}']),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json()["code"], "parse_error", "{}", res.text());
}

/// Filter values only ever meet DynamoDB in filter expressions or bounded
/// key prefixes: long ones are answered, never a 500.
#[tokio::test]
async fn long_query_values_are_never_a_500() {
    let s = setup_on(auth_app().await);
    let (admin, _, _) = register(&s, "longquery").await;
    let long = "x".repeat(5000);
    let cases = [
        (&s.audit, format!("/api/audit/?action={long}&entity={long}")),
        (&s.users, format!("/api/users/?search={long}")),
        (
            &s.users,
            format!("/api/users/?search={long}@x.io&ordering=email"),
        ),
        (&s.teams, format!("/api/teams/?search={long}")),
        (&s.roles, format!("/api/roles/?search={long}")),
        (&s.users, format!("/api/users/?cursor={long}")),
        // Percent-encoded bytes that are not UTF-8.
        (&s.users, "/api/users/?search=%FF%FE".to_owned()),
        (&s.audit, "/api/audit/?action=%C3%28".to_owned()),
    ];
    for (app, uri) in cases {
        let res = call(app, "GET", &uri, Some(&admin), Body::empty()).await;
        // 404 for a cursor that is not one (`Invalid cursor`, as DRF).
        assert!(
            res.status == StatusCode::OK
                || res.status == StatusCode::BAD_REQUEST
                || res.status == StatusCode::NOT_FOUND,
            "{}: {} {}",
            &uri[..uri.len().min(40)],
            res.status,
            res.text()
        );
    }
}
