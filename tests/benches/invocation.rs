//! The cost of one invocation around the router: the Runtime API's event
//! (JSON bytes) parsed into a request, and the router's response made into
//! the JSON answer, as the Lambda runtime does for every request. Each case
//! runs through lambda_http's adapter (what every function used before) and
//! through `shared::runtime::gateway` (what they use now), in one run.
//!
//! The router is the platform's HTTP layer (`shared::http::app`: request id,
//! span, CORS, path normalisation) over a handler that answers from memory,
//! so the difference between the two is the conversion alone.

use std::hint::black_box;

use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, LambdaEvent, Service};
use serde_json::json;
use shared::http::HttpConfig;

// The functions' allocator (their main.rs), so the figures are theirs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A payload-2.0 event as API Gateway sends it for `GET path` with a
/// bearer token of a realistic size.
fn event(path: &str) -> Vec<u8> {
    let token = format!(
        "eyJhbGciOiJFZERTQSJ9.{}.{}",
        "a".repeat(900),
        "s".repeat(86)
    );
    serde_json::to_vec(&json!({
        "version": "2.0",
        "routeKey": "ANY /api/users/{proxy+}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "accept-encoding": "gzip, deflate, br",
            "authorization": format!("Bearer {token}"),
            "content-length": "0",
            "host": "api.example.com",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "x-amzn-trace-id": "Root=1-67891233-abcdef012345678912345678",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "ANY /api/users/{proxy+}",
            "stage": "$default",
            "time": "30/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1796032800000_i64
        },
        "pathParameters": {"proxy": path.trim_start_matches("/api/users/")},
        "isBase64Encoded": false
    }))
    .expect("an event")
}

/// A JSON answer of about 1 KiB (a user with roles), and a gzip-encoded
/// one of 32 KiB (the docs function's OpenAPI document is 34 KB).
fn app() -> Router {
    let user = json!({
        "id": "0193a1f2-7c4e-7d2a-9b1e-5f6a7b8c9d0e",
        "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
        "tenant": {"id": "0193a1f2-0000-7000-8000-000000000001", "slug": "acme", "name": "Acme"},
        "roles": [{"id": "0193a1f2-0000-7000-8000-000000000002", "name": "Admin"}],
        "permissions": (0..20).map(|i| format!("crm.leads.action_{i}")).collect::<Vec<_>>(),
    })
    .to_string();
    let gzip: Vec<u8> = (0..32 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let router = Router::new()
        .route(
            "/api/users/me/",
            get(move || async move { ([("content-type", "application/json")], user) }),
        )
        .route(
            "/api/users/schema/",
            get(move || async move {
                (
                    [
                        ("content-type", "application/json"),
                        ("content-encoding", "gzip"),
                    ],
                    gzip,
                )
            }),
        );
    shared::http::app(router, &HttpConfig::default())
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let app = app();
    let mut group = c.benchmark_group("invocation");
    for (name, path) in [
        ("JSON answer (1 KiB)", "/api/users/me/"),
        ("gzip answer (32 KiB)", "/api/users/schema/"),
    ] {
        let event = event(path);
        let old = rt.block_on(lambda_http_invocation(&app, &event));
        let new = rt.block_on(gateway_invocation(&app, &event));
        let json = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).expect("JSON");
        assert_eq!(json(&old), json(&new), "{name}: both answer the same");
        println!(
            "{name}: event {} bytes, answer {} bytes",
            event.len(),
            new.len()
        );
        group.bench_function(format!("{name}, lambda_http"), |b| {
            b.iter(|| rt.block_on(lambda_http_invocation(&app, black_box(&event))))
        });
        group.bench_function(format!("{name}, shared::runtime::gateway"), |b| {
            b.iter(|| rt.block_on(gateway_invocation(&app, black_box(&event))))
        });
    }
    group.finish();
}

/// What `lambda_http::run` does with one event (its `Adapter`).
async fn lambda_http_invocation(app: &Router, event: &[u8]) -> Vec<u8> {
    let payload: LambdaRequest = serde_json::from_slice(event).expect("an event");
    let mut adapter = lambda_http::Adapter::from(app.clone());
    let answer = adapter
        .call(LambdaEvent::new(payload, Context::default()))
        .await
        .expect("an answer");
    serde_json::to_vec(&answer).expect("JSON")
}

/// What `shared::runtime::serve` does with one event.
async fn gateway_invocation(app: &Router, event: &[u8]) -> Vec<u8> {
    let payload: ApiGatewayV2httpRequest = shared::runtime::parse_event(event).expect("an event");
    let answer = shared::runtime::gateway::invoke(
        app.clone(),
        LambdaEvent::new(payload, Context::default()),
    )
    .await
    .expect("an answer");
    serde_json::to_vec(&answer).expect("JSON")
}

criterion_group!(benches, bench);
criterion_main!(benches);
