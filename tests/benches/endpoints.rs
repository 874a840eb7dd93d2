//! Per-request cost of each endpoint, in-process: each function's router
//! answers a realistic request (a tenant admin's signed access token)
//! while DynamoDB answers from memory (`tests::fake_dynamodb`), so the
//! figure is the function's own work: routing, extraction, token and
//! permission checks, (de)serialisation, and the SDK's request building,
//! signing and response parsing. No network, no DynamoDB Local.
//!
//! The data is made through the functions themselves before measuring (a
//! registration, roles, teams, users, CRM leads), so every canned item is
//! one the store wrote from a real record. Then the fake is frozen: writes
//! are answered but change nothing, so every iteration sees the same data.
//!
//! The tenant's revocation state is trusted for an hour, as in a warm
//! function between two checks: one bench (`users/me, revocation read`)
//! pays that `BatchGetItem` on every request to show its cost.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use shared::auth::{Jwks, SigningKeyPair, TokenSettings, TokenSigner, TokenVerifier};
use shared::http::HttpConfig;
use shared::store::{Condition, CursorSigner, Store};
use tests::fake_dynamodb::FakeDynamo;
use tower::ServiceExt;

// The functions' allocator (their main.rs), so the figures are theirs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TABLE: &str = "bench-table";
const SOURCE_IP: &str = "203.0.113.7";
const PASSWORD: &str = "a-good-password";

/// The apps over one fake table, and what the requests name.
struct Fixture {
    auth: Router,
    users: Router,
    users_checking: Router,
    roles: Router,
    teams: Router,
    tenants: Router,
    subscriptions: Router,
    plans: Router,
    audit: Router,
    crm: Router,
    /// The functions' DynamoDB client, for the SDK's own cost per call.
    client: aws_sdk_dynamodb::Client,
    admin_email: String,
    token: String,
    user_id: String,
    role_id: String,
    lead_id: String,
}

fn request(method: Method, uri: &str, token: Option<&str>, body: Option<&str>) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "api.test");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let mut req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .expect("request");
    tests::with_source_ip(&mut req, SOURCE_IP);
    req
}

/// Sends a request and reads the whole answer, as the Lambda adapter does.
async fn call(app: &Router, req: Request<Body>) -> (StatusCode, bytes::Bytes) {
    let res = app
        .clone()
        .oneshot(req)
        .await
        .expect("router is infallible");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}

async fn json_call(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let body = body.map(|b| b.to_string());
    let (status, bytes) = call(app, request(method, uri, token, body.as_deref())).await;
    assert!(
        status.is_success(),
        "{uri}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).expect("JSON answer")
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

async fn fixture() -> (Fixture, FakeDynamo) {
    // The SDK's usual configuration, with dummy credentials and no
    // instance metadata lookups; the fake replaces its HTTPS client.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(k, v);
    }
    std::env::remove_var("AWS_PROFILE");
    std::env::remove_var("AWS_SESSION_TOKEN");
    let fake = FakeDynamo::new();
    let config = shared::runtime::dynamodb_config(&shared::runtime::sdk_config(), None)
        .http_client(fake.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let sdk = client.clone();
    let revocation = |check_interval| shared::revocation::Settings {
        check_interval,
        ..shared::revocation::Settings::default()
    };
    let store = Store::new(
        client,
        TABLE.to_owned(),
        CursorSigner::new(b"bench-cursor-secret".to_vec()),
    );
    let checking = store
        .clone()
        .with_revocation_settings(revocation(Duration::ZERO));
    let store = store.with_revocation_settings(revocation(Duration::from_secs(3600)));

    for plan in shared::tenancy::default_plans(time::OffsetDateTime::now_utc()) {
        store
            .platform()
            .put(&shared::keys::plan(plan.id), &plan, Condition::NotExists)
            .await
            .expect("plan seeded");
    }
    let outbox = tests::fresh_outbox();
    let settings = TokenSettings::default();
    let key = SigningKeyPair::generate("bench-key");
    let verifier = Arc::new(
        TokenVerifier::new(
            &Jwks {
                keys: vec![key.public_jwk()],
            },
            &settings,
        )
        .expect("verifier"),
    );
    let auth = auth::router(
        auth::state(
            store.clone(),
            TokenSigner::new(key, settings),
            Jwks::default(),
            tests::outbox_mailer(&outbox),
        )
        .expect("auth state"),
        &HttpConfig::default(),
    );
    macro_rules! app {
        ($function:ident) => {
            $function::router(
                $function::AppState {
                    store: store.clone(),
                    verifier: verifier.clone(),
                },
                &HttpConfig::default(),
            )
        };
    }
    let users_on = |store: &Store| {
        users::router(
            users::AppState {
                store: store.clone(),
                verifier: verifier.clone(),
                mailer: tests::outbox_mailer(&outbox),
            },
            &HttpConfig::default(),
        )
    };
    let (users, users_checking) = (users_on(&store), users_on(&checking));
    let (roles, teams, tenants) = (app!(roles), app!(teams), app!(tenants));
    let (subscriptions, plans, audit, crm) =
        (app!(subscriptions), app!(plans), app!(audit), app!(crm));

    // The tenant and its data, made through the functions.
    let admin_email = "ada@bench-company.example".to_owned();
    let registered = json_call(
        &auth,
        Method::POST,
        "/api/auth/register/",
        None,
        Some(tests::registration("bench-company", &admin_email)),
    )
    .await;
    let token = registered["tokens"]["access"]
        .as_str()
        .expect("access token")
        .to_owned();
    let t = Some(token.as_str());
    let mut role_id = String::new();
    for i in 0..10 {
        let role = json_call(
            &roles,
            Method::POST,
            "/api/roles/",
            t,
            Some(json!({"name": format!("Role {i}"), "description": "Sales people of one region",
                "permissions": {"crm": {
                    "leads": {"view": "team", "create": true, "edit": "own", "delete": false, "export": "team"},
                    "activities": {"view": "team", "create": true, "edit": "own", "delete": false},
                }}})),
        )
        .await;
        role_id = id_of(&role);
    }
    for i in 0..5 {
        json_call(
            &teams,
            Method::POST,
            "/api/teams/",
            t,
            Some(json!({"name": format!("Team {i}")})),
        )
        .await;
    }
    let mut user_id = String::new();
    for i in 0..20 {
        let user = json_call(
            &users,
            Method::POST,
            "/api/users/",
            t,
            Some(json!({"email": format!("user{i}@bench-company.example"),
                "first_name": "Grace", "last_name": format!("Hopper {i}"),
                "password": PASSWORD, "password_confirm": PASSWORD})),
        )
        .await;
        user_id = id_of(&user);
    }
    let mut lead_id = String::new();
    for i in 0..20 {
        let lead = json_call(
            &crm,
            Method::POST,
            "/api/crm/leads/",
            t,
            Some(json!({"name": format!("Lead {i}")})),
        )
        .await;
        lead_id = id_of(&lead);
    }
    fake.freeze();
    (
        Fixture {
            auth,
            users,
            users_checking,
            roles,
            teams,
            tenants,
            subscriptions,
            plans,
            audit,
            crm,
            client: sdk,
            admin_email,
            token,
            user_id,
            role_id,
            lead_id,
        },
        fake,
    )
}

/// Gives the admin's credential an argon2id hash of the smallest cost
/// (8 KiB, one pass), so that login's own work shows apart from the
/// password check; the platform's parameters cost what `tokens` measures.
fn cheapen_password_hash(fake: &FakeDynamo, email: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(8, 1, 1, None).expect("argon2 parameters");
    let hasher = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::from_b64("YmVuY2hzYWx0YmVuY2hzYWx0").expect("salt");
    let hash = hasher
        .hash_password(PASSWORD.as_bytes(), &salt)
        .expect("hash")
        .to_string();
    for mut item in fake.items_of("credential") {
        if item["email"]["S"] == email {
            item["password_hash"] = json!({ "S": hash });
            fake.put_item(TABLE, item);
        }
    }
    hash
}

fn bench(c: &mut Criterion) {
    // One request at a time, as a Lambda handles them; a current-thread
    // runtime keeps the harness's own share (`block_on`) small.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (f, fake) = rt.block_on(fixture());
    println!("fake table: {} items", fake.len());
    let token = Some(f.token.as_str());

    let login_body = json!({"email": f.admin_email, "password": PASSWORD}).to_string();
    let user_uri = format!("/api/users/{}/", f.user_id);
    let role_uri = format!("/api/roles/{}/", f.role_id);
    let lead_uri = format!("/api/crm/leads/{}/", f.lead_id);
    let new_role = json!({"name": "Support", "description": "Answers customers",
        "permissions": {"crm": {"leads": {"view": "all"}}}})
    .to_string();
    let update_me = json!({"last_name": "Hopper"}).to_string();

    type Case<'a> = (&'a str, &'a Router, Method, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "GET users/me",
            &f.users,
            Method::GET,
            "/api/users/me/",
            None,
        ),
        (
            "GET users/me, revocation read",
            &f.users_checking,
            Method::GET,
            "/api/users/me/",
            None,
        ),
        (
            "GET users (list)",
            &f.users,
            Method::GET,
            "/api/users/",
            None,
        ),
        ("GET users/{id}", &f.users, Method::GET, &user_uri, None),
        (
            "GET roles (list)",
            &f.roles,
            Method::GET,
            "/api/roles/",
            None,
        ),
        ("GET roles/{id}", &f.roles, Method::GET, &role_uri, None),
        (
            "GET teams (list)",
            &f.teams,
            Method::GET,
            "/api/teams/",
            None,
        ),
        (
            "GET tenants/me",
            &f.tenants,
            Method::GET,
            "/api/tenants/me/",
            None,
        ),
        (
            "GET subscriptions/my_subscription",
            &f.subscriptions,
            Method::GET,
            "/api/subscriptions/my_subscription/",
            None,
        ),
        (
            "GET plans (list)",
            &f.plans,
            Method::GET,
            "/api/plans/",
            None,
        ),
        (
            "GET audit (list)",
            &f.audit,
            Method::GET,
            "/api/audit/",
            None,
        ),
        (
            "GET crm/leads (list)",
            &f.crm,
            Method::GET,
            "/api/crm/leads/",
            None,
        ),
        // Pages of 1 and 10 beside the default 20: what a page costs apart
        // from its records, and what each record adds.
        (
            "GET crm/leads (page of 1)",
            &f.crm,
            Method::GET,
            "/api/crm/leads/?page_size=1",
            None,
        ),
        (
            "GET crm/leads (page of 10)",
            &f.crm,
            Method::GET,
            "/api/crm/leads/?page_size=10",
            None,
        ),
        ("GET crm/leads/{id}", &f.crm, Method::GET, &lead_uri, None),
        (
            "PATCH users/update_me",
            &f.users,
            Method::PATCH,
            "/api/users/update_me/",
            Some(&update_me),
        ),
        (
            "POST roles",
            &f.roles,
            Method::POST,
            "/api/roles/",
            Some(&new_role),
        ),
    ];

    let mut group = c.benchmark_group("endpoint");
    // Nothing but routing: an unknown path, no token, no DynamoDB call.
    group.bench_function("baseline: unknown path (404)", |b| {
        b.iter(|| {
            rt.block_on(call(
                &f.users,
                request(Method::GET, "/api/nowhere/", None, None),
            ))
        })
    });
    // The floor under every read: one `GetItem` through the SDK (build,
    // sign, send to the fake, parse the answer), no router, no record.
    let role = fake
        .items_of("role")
        .into_iter()
        .next()
        .expect("a role item");
    let key = |name: &str| {
        aws_sdk_dynamodb::types::AttributeValue::S(
            role[name]["S"].as_str().expect("a key").to_owned(),
        )
    };
    let (pk, sk) = (key("PK"), key("SK"));
    group.bench_function("SDK floor: one GetItem, no router", |b| {
        b.iter(|| {
            rt.block_on(
                f.client
                    .get_item()
                    .table_name(TABLE)
                    .key("PK", pk.clone())
                    .key("SK", sk.clone())
                    .consistent_read(true)
                    .send(),
            )
            .expect("GetItem")
        })
    });
    for (name, app, method, uri, body) in &cases {
        fake.take_calls();
        let (status, bytes) = rt.block_on(call(app, request(method.clone(), uri, token, *body)));
        assert!(
            status.is_success(),
            "{name}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        println!(
            "{name}: {status}, {} bytes, DynamoDB: {}",
            bytes.len(),
            fake.take_calls().join(" + ")
        );
        group.bench_function(*name, |b| {
            b.iter(|| {
                rt.block_on(call(
                    app,
                    black_box(request(method.clone(), uri, token, *body)),
                ))
            })
        });
    }

    let hash = cheapen_password_hash(&fake, &f.admin_email);
    // What login's password check costs here (the hash on Tokio's blocking
    // pool and back), to tell login's own work apart from it.
    group.bench_function("login's password check alone (8 KiB argon2id hash)", |b| {
        b.iter(|| {
            let ok = rt.block_on(shared::auth::verify_password(
                PASSWORD.to_owned(),
                hash.clone(),
            ));
            assert!(ok, "the bench password verifies");
        })
    });
    let login = || request(Method::POST, "/api/auth/login/", None, Some(&login_body));
    fake.take_calls();
    let (status, bytes) = rt.block_on(call(&f.auth, login()));
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    println!("login: DynamoDB: {}", fake.take_calls().join(" + "));
    group.bench_function("POST auth/login (8 KiB argon2id hash)", |b| {
        b.iter(|| rt.block_on(call(&f.auth, black_box(login()))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
