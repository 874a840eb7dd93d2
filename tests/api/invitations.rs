//! Invitations: an admin invites an address, the invitee reads the mail
//! and accepts, and is then a signed-in user of the tenant; links work
//! once, for seven days, and stop on revoke or resend; acceptances respect
//! the plan's `max_users` under concurrency.

use crate::crm::create_team;
use crate::escalation::user;
use http::StatusCode;
use serde_json::{json, Value};
use shared::auth::OneTimeToken;
use shared::email::OutboxSender;
use shared::keys;
use shared::records::{InviteTokenRecord, TeamRecord, UsageRecord};
use shared::store::Condition;
use std::sync::Arc;
use tests::app::{call_as, claims_of, get_as, login, scope, setup, setup_on, tenant, Setup};
use tests::TEST_FRONTEND_URL;
use tests::{auth_app_sending, fresh_source_ip, post_json_from, unique, TestResponse};
use tokio::sync::Barrier;
use uuid::Uuid;

const INVITATIONS: &str = "/api/users/invitations/";
const ACCEPT: &str = "/api/auth/invitations/accept/";
const PASSWORD: &str = "a-chosen-password";

async fn invite(s: &Setup, admin: &str, body: Value) -> TestResponse {
    call_as(&s.users, "POST", INVITATIONS, admin, Some(body)).await
}

/// Invites a fresh address with `roles` and `teams`; it must be created.
async fn invited(s: &Setup, admin: &str, roles: &[Uuid], teams: &[Uuid]) -> (String, Value) {
    let email = unique("inv").1;
    let res = invite(
        s,
        admin,
        json!({"email": email, "role_ids": roles, "team_ids": teams, "first_name": "Grace"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    (email, res.json())
}

async fn accept(s: &Setup, token: &str) -> TestResponse {
    post_json_from(
        &s.auth.app,
        ACCEPT,
        &json!({"token": token, "password": PASSWORD, "password_confirm": PASSWORD}),
        None,
        &fresh_source_ip(),
    )
    .await
}

/// The token of the newest invitation link mailed to `to`.
fn token_mailed_to(s: &Setup, to: &str) -> String {
    let message = OutboxSender::read(&s.auth.outbox)
        .expect("outbox readable")
        .into_iter()
        .rev()
        .find(|m| m.to == to && m.subject.starts_with("Join "))
        .unwrap_or_else(|| panic!("no invitation to {to}"));
    assert_eq!(message.links.len(), 1, "{:?}", message.links);
    let prefix = format!("{TEST_FRONTEND_URL}/accept-invitation?token=");
    let token = message.links[0]
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("unexpected link {}", message.links[0]))
        .to_owned();
    assert!(message.html.contains(&token), "the HTML body has the link");
    token
}

fn messages_to(s: &Setup, to: &str) -> usize {
    OutboxSender::read(&s.auth.outbox)
        .map(|all| all.iter().filter(|m| m.to == to).count())
        .unwrap_or(0)
}

fn assert_invalid_token(res: &TestResponse) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json(), json!({"token": ["Invalid or expired token."]}));
}

async fn pending(s: &Setup, admin: &str) -> Vec<Value> {
    let res = get_as(&s.users, INVITATIONS, admin).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["results"].as_array().unwrap().clone()
}

async fn audited(s: &Setup, admin: &str, action: &str) -> Vec<Value> {
    let res = get_as(&s.audit, &format!("/api/audit/?action={action}"), admin).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["results"].as_array().unwrap().clone()
}

/// A custom role of the tenant; its id.
async fn role(s: &Setup, admin: &str, permissions: Value) -> Uuid {
    let res = call_as(
        &s.roles,
        "POST",
        "/api/roles/",
        admin,
        Some(json!({"name": unique("Role").0, "permissions": permissions})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn invite_read_the_mail_accept_and_log_in() {
    let s = setup().await;
    let admin = tenant(&s, "invite").await;
    let viewer = role(&s, &admin, json!({"crm": {"leads": {"view": "team"}}})).await;
    let team = create_team(&s, &admin, "Sales").await;
    let (email, body) = invited(&s, &admin, &[viewer], &[team]).await;
    assert_eq!(body["email"], email.as_str());
    assert_eq!(body["role_ids"], json!([viewer]));
    assert_eq!(body["expired"], false);
    assert!(body.get("token").is_none() && body.get("token_hash").is_none());
    let listed = pending(&s, &admin).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], body["id"]);

    let token = token_mailed_to(&s, &email);
    let res = accept(&s, &token).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let accepted = res.json();
    assert_eq!(accepted["user"]["email"], email.as_str());
    assert_eq!(accepted["user"]["first_name"], "Grace");
    assert_eq!(accepted["user"]["email_verified"], true);
    assert_eq!(
        accepted["user"]["tenant"],
        claims_of(&s, &admin).tenant_id.to_string()
    );
    let access = accepted["tokens"]["access"].as_str().unwrap();
    let claims = claims_of(&s, access);
    assert!(claims.email_verified);
    assert_eq!(claims.team_ids, vec![team]);
    assert_eq!(
        serde_json::to_value(&claims.permissions).unwrap()["crm.leads.view"],
        "team"
    );
    // The returned tokens work, and so does the chosen password.
    assert_eq!(
        get_as(&s.users, "/api/users/me/", access).await.status,
        StatusCode::OK
    );
    assert_eq!(
        login(&s.auth, &email, PASSWORD).await.status,
        StatusCode::OK
    );

    // Used once; no longer pending; counted in the role and the team.
    assert_invalid_token(&accept(&s, &token).await);
    assert!(pending(&s, &admin).await.is_empty());
    let team_record: TeamRecord = s
        .auth
        .store
        .tenant(&scope(&s, &admin))
        .get(&keys::team(team))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(team_record.member_count, 1);
    let role_view = get_as(&s.roles, &format!("/api/roles/{viewer}/"), &admin)
        .await
        .json();
    assert_eq!(role_view["member_count"], 1);
    // The address may not be invited again: it has an account now.
    let res = invite(&s, &admin, json!({"email": email})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json(),
        json!({"email": ["A user with this email already exists."]})
    );
    assert_eq!(audited(&s, &admin, "invitation.create").await.len(), 1);
    let accepts = audited(&s, &admin, "invitation.accept").await;
    assert_eq!(accepts.len(), 1);
    assert_eq!(accepts[0]["changes"]["invitation_id"], body["id"]);
}

#[tokio::test]
async fn registered_and_already_invited_addresses_are_refused() {
    let s = setup().await;
    let admin = tenant(&s, "dup").await;
    let other = tests::app::register(&s.auth, "dup-other").await;
    let res = invite(&s, &admin, json!({"email": other.email.to_uppercase()})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json(),
        json!({"email": ["A user with this email already exists."]})
    );

    let (email, _) = invited(&s, &admin, &[], &[]).await;
    let res = invite(&s, &admin, json!({"email": format!(" {email} ")})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["email"][0]
        .as_str()
        .unwrap()
        .contains("pending invitation"));
    // Another tenant may invite the same address; the first acceptance wins.
    let admin2 = tenant(&s, "dup2").await;
    let res = invite(&s, &admin2, json!({"email": email})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let tokens: Vec<String> = OutboxSender::read(&s.auth.outbox)
        .unwrap()
        .into_iter()
        .filter(|m| m.to == email)
        .map(|m| m.links[0].rsplit('=').next().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(accept(&s, &tokens[1]).await.status, StatusCode::CREATED);
    let res = accept(&s, &tokens[0]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json(),
        json!({"token": ["An account with this email exists already; sign in instead."]})
    );

    // Bad input names its field.
    for (body, field) in [
        (json!({"email": "not-an-email"}), "email"),
        (
            json!({"email": unique("x").1, "role_ids": [Uuid::new_v4()]}),
            "role_ids",
        ),
        (
            json!({"email": unique("x").1, "team_ids": [Uuid::new_v4()]}),
            "team_ids",
        ),
        (
            json!({"email": unique("x").1, "first_name": "x".repeat(151)}),
            "first_name",
        ),
    ] {
        let res = invite(&s, &admin, body).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        assert!(res.json().get(field).is_some(), "{field}: {}", res.text());
    }
}

#[tokio::test]
async fn revoked_resent_and_expired_links_are_refused() {
    let s = setup().await;
    let admin = tenant(&s, "links").await;

    // Revoked: the link stops, the address may be invited again.
    let (email, body) = invited(&s, &admin, &[], &[]).await;
    let token = token_mailed_to(&s, &email);
    let uri = format!("{INVITATIONS}{}/", body["id"].as_str().unwrap());
    let res = call_as(&s.users, "DELETE", &uri, &admin, None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_invalid_token(&accept(&s, &token).await);
    assert_eq!(
        call_as(&s.users, "DELETE", &uri, &admin, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(pending(&s, &admin).await.is_empty());
    assert_eq!(audited(&s, &admin, "invitation.revoke").await.len(), 1);
    invite(&s, &admin, json!({"email": email})).await;

    // Resent: only the newest link works.
    let (email, body) = invited(&s, &admin, &[], &[]).await;
    let first = token_mailed_to(&s, &email);
    let resend = format!("{INVITATIONS}{}/resend/", body["id"].as_str().unwrap());
    let res = call_as(&s.users, "POST", &resend, &admin, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(messages_to(&s, &email), 2);
    let second = token_mailed_to(&s, &email);
    assert_ne!(first, second);
    assert_invalid_token(&accept(&s, &first).await);
    assert_eq!(accept(&s, &second).await.status, StatusCode::CREATED);
    assert_eq!(
        call_as(&s.users, "POST", &resend, &admin, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Expired: the token's time is up (the item outlives its TTL locally).
    let (email, body) = invited(&s, &admin, &[], &[]).await;
    let token = token_mailed_to(&s, &email);
    let key = keys::invite_token(&shared::auth::one_time_token_hash(&token).unwrap());
    let mut record: InviteTokenRecord = s.auth.store.platform().get(&key).await.unwrap().unwrap();
    record.expires_at = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    s.auth
        .store
        .platform()
        .put(&key, &record, Condition::Always)
        .await
        .unwrap();
    assert_invalid_token(&accept(&s, &token).await);
    // A resend revives it for seven more days.
    let resend = format!("{INVITATIONS}{}/resend/", body["id"].as_str().unwrap());
    let res = call_as(&s.users, "POST", &resend, &admin, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        accept(&s, &token_mailed_to(&s, &email)).await.status,
        StatusCode::CREATED
    );

    // Garbage and unknown tokens alike.
    assert_invalid_token(&accept(&s, "not-a-token").await);
    assert_invalid_token(&accept(&s, OneTimeToken::generate().secret()).await);
    assert_eq!(audited(&s, &admin, "invitation.resend").await.len(), 2);
}

#[tokio::test]
async fn resends_are_throttled_per_invitation() {
    tests::in_one_window(&[users::RESENDS_PER_INVITATION, users::INVITATIONS_PER_TENANT]).await;
    let s = setup().await;
    let admin = tenant(&s, "resend").await;
    let (_, body) = invited(&s, &admin, &[], &[]).await;
    let resend = format!("{INVITATIONS}{}/resend/", body["id"].as_str().unwrap());
    for _ in 0..3 {
        assert_eq!(
            call_as(&s.users, "POST", &resend, &admin, None)
                .await
                .status,
            StatusCode::OK
        );
    }
    let res = call_as(&s.users, "POST", &resend, &admin, None).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text());
    assert!(res.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn concurrent_acceptances_never_exceed_max_users() {
    let s = setup().await;
    let admin = tenant(&s, "accept-limit").await;
    // The trial plan allows 5 users; the admin is the first. Pending
    // invitations do not count, so 7 can be sent.
    let mut tokens = Vec::new();
    for _ in 0..7 {
        let (email, _) = invited(&s, &admin, &[], &[]).await;
        tokens.push(token_mailed_to(&s, &email));
    }
    let barrier = Arc::new(Barrier::new(tokens.len()));
    let mut tasks = Vec::new();
    for token in tokens {
        let app = s.auth.app.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            post_json_from(
                &app,
                ACCEPT,
                &json!({"token": token, "password": PASSWORD, "password_confirm": PASSWORD}),
                None,
                &fresh_source_ip(),
            )
            .await
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        let res = task.await.unwrap();
        match res.status {
            StatusCode::CREATED => created += 1,
            StatusCode::FORBIDDEN => {
                assert_eq!(res.json()["code"], "plan_limit_reached", "{}", res.text());
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", res.text()),
        }
    }
    assert_eq!((created, refused), (4, 3));
    let usage: UsageRecord = s
        .auth
        .store
        .tenant(&scope(&s, &admin))
        .get(&keys::usage())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(usage.users, 5);
    let users = get_as(&s.users, "/api/users/?page_size=100", &admin)
        .await
        .json();
    assert_eq!(users["results"].as_array().unwrap().len(), 5);
    // The refused invitations stay pending, for after an upgrade.
    assert_eq!(pending(&s, &admin).await.len(), 3);
}

#[tokio::test]
async fn inviting_needs_users_manage_and_roles_within_own_grants() {
    let s = setup().await;
    let admin = tenant(&s, "inv-perm").await;
    let manager = role(
        &s,
        &admin,
        json!({"administration": {"users": {"manage": true, "view": true}}}),
    )
    .await;
    let sales = role(&s, &admin, json!({"crm": {"leads": {"view": "all"}}})).await;
    let (_, manager_token) = user(&s, &admin, &[&manager.to_string()]).await;
    let res = invite(
        &s,
        &manager_token,
        json!({"email": unique("esc").1, "role_ids": [sales]}),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.json()["code"], "permission_escalation");
    let res = invite(
        &s,
        &manager_token,
        json!({"email": unique("ok").1, "role_ids": [manager]}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());

    let (_, plain) = user(&s, &admin, &[]).await;
    for (method, uri) in [
        ("GET", INVITATIONS.to_owned()),
        ("POST", INVITATIONS.to_owned()),
    ] {
        let res = call_as(
            &s.users,
            method,
            &uri,
            &plain,
            Some(json!({"email": unique("p").1})),
        )
        .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {uri}");
        assert_eq!(res.json()["permission"], "administration.users.manage");
    }

    // Another tenant's invitation is not there.
    let id = pending(&s, &admin).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stranger = tenant(&s, "inv-other").await;
    for (method, uri) in [
        ("DELETE", format!("{INVITATIONS}{id}/")),
        ("POST", format!("{INVITATIONS}{id}/resend/")),
    ] {
        let res = call_as(&s.users, method, &uri, &stranger, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{method} {uri}");
    }
    assert!(pending(&s, &stranger).await.is_empty());
}

/// The apps, with the auth and users functions sending through `sender`.
async fn setup_sending(sender: Arc<dyn shared::email::EmailSender>) -> Setup {
    let mut s = setup_on(auth_app_sending(sender.clone()).await);
    s.users = users::router(
        users::AppState {
            store: tests::iam::function_store(&s.auth.store, "users"),
            verifier: s.verifier.clone(),
            mailer: shared::email::Mailer::new(sender, TEST_FRONTEND_URL),
        },
        &shared::http::HttpConfig::default(),
    );
    s
}

#[tokio::test]
async fn a_failed_send_keeps_the_invitation() {
    let sender = Arc::new(tests::FailingSender::default());
    let s = setup_sending(sender.clone()).await;
    let admin = tenant(&s, "inv-fail").await;
    let before = sender.attempts();
    let (email, body) = invited(&s, &admin, &[], &[]).await;
    assert_eq!(sender.attempts(), before + 1, "a send was tried");
    let listed = pending(&s, &admin).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["email"], email.as_str());
    // Resending tries again, and still answers.
    let resend = format!("{INVITATIONS}{}/resend/", body["id"].as_str().unwrap());
    assert_eq!(
        call_as(&s.users, "POST", &resend, &admin, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(sender.attempts(), before + 2);
}

#[tokio::test]
async fn an_unreachable_ses_keeps_the_invitation() {
    // SES as deployed, at an address where nothing answers (the
    // emulator stopped).
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let client = crate::email::client(&format!("http://127.0.0.1:{port}")).await;
    let sender = Arc::new(shared::email::SesSender::new(
        client,
        "no-reply@example.com",
    ));
    let s = setup_sending(sender).await;
    let admin = tenant(&s, "inv-ses").await;
    let (email, _) = invited(&s, &admin, &[], &[]).await;
    let listed = pending(&s, &admin).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["email"], email.as_str());
    assert_eq!(audited(&s, &admin, "invitation.create").await.len(), 1);
}
