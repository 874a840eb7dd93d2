//! Test helpers: a fresh DynamoDB Local table per test, in-process apps,
//! request helpers, and token minting with a throwaway key.
//!
//! Integration tests need DynamoDB Local: `make test` starts it and sets
//! `DYNAMODB_ENDPOINT`.

use axum::body::Body;
use axum::Router;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use shared::runtime::dynamodb_client;
use shared::store::table::TableDefinition;
use shared::store::{CursorSigner, Store};
use std::path::PathBuf;
use tower::ServiceExt;

pub mod app;
pub mod fake_dynamodb;
pub mod gateway;
pub mod iam;
pub mod routes;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn template_yaml() -> String {
    std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml is readable")
}

pub fn dynamodb_endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT is not set: run the tests with `make test`, which starts DynamoDB Local",
    )
}

pub const TEST_CURSOR_SECRET: &[u8] = b"integration-test-cursor-secret";

/// A new table, created from template.yaml, that only this test uses.
pub async fn fresh_table() -> (aws_sdk_dynamodb::Client, String) {
    let client = dynamodb_client(Some(&dynamodb_endpoint()));
    let table = format!("test-{}", uuid::Uuid::new_v4());
    let definition =
        TableDefinition::from_template(&template_yaml()).expect("template has the table");
    definition
        .create(&client, &table)
        .await
        .expect("table created in DynamoDB Local");
    (client, table)
}

/// A store over a fresh table.
pub async fn fresh_store() -> Store {
    let (client, table) = fresh_table().await;
    Store::new(
        client,
        table,
        CursorSigner::new(TEST_CURSOR_SECRET.to_vec()),
    )
    .with_revocation_settings(steady_revocation_checks())
}

/// Tests that count calls see one revocation read per tenant, however slow
/// the machine; revocation tests choose their own interval.
fn steady_revocation_checks() -> shared::revocation::Settings {
    shared::revocation::Settings {
        check_interval: std::time::Duration::from_secs(3600),
        ..shared::revocation::Settings::default()
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to an in-process app.
pub async fn send(app: &Router, request: Request<Body>) -> TestResponse {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body reads")
        .to_bytes()
        .to_vec();
    TestResponse {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &Router, uri: &str) -> TestResponse {
    send(
        app,
        Request::builder()
            .method(Method::GET)
            .uri(uri)
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

pub async fn post_json(app: &Router, uri: &str, body: &Value, token: Option<&str>) -> TestResponse {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    send(
        app,
        req.body(Body::from(body.to_string())).expect("request"),
    )
    .await
}

/// Marks a request as sent from `source_ip`: sets the API Gateway request
/// context that lambda_http puts into the request extensions.
pub fn with_source_ip(req: &mut Request<Body>, source_ip: &str) {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(source_ip.to_owned());
    req.extensions_mut()
        .insert(RequestContext::ApiGatewayV2(context));
}

/// Waits, when need be, until the current fixed window of every one of
/// `limits` has at least [`WINDOW_ROOM_SECS`] left. A test that fills a
/// window and then expects a 429 must not straddle a boundary: the next
/// window starts its count at zero (the handlers read the same system clock).
pub async fn in_one_window(limits: &[shared::throttle::Limit]) {
    with_room(limits, WINDOW_ROOM_SECS).await;
}

/// Ample for any throttle test's requests, even on a loaded CI machine.
pub const WINDOW_ROOM_SECS: i64 = 60;

async fn with_room(limits: &[shared::throttle::Limit], room: i64) {
    assert!(
        limits.iter().all(|l| l.window_secs > room),
        "a window shorter than the room asked for never has it"
    );
    loop {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let wait = limits
            .iter()
            .map(|limit| limit.window_secs - now.rem_euclid(limit.window_secs))
            .filter(|&left| left < room)
            .max();
        let Some(left) = wait else { return };
        // Into the next window, past the boundary's second.
        let secs = u64::try_from(left).unwrap_or(0) + 1;
        tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
    }
}

/// An address no other request of the test run uses (in 10.0.0.0/8), for
/// tests that are not about per-address throttling.
pub fn fresh_source_ip() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::net::Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff)).to_string()
}

/// Like [`post_json`], as if sent from `source_ip`.
pub async fn post_json_from(
    app: &Router,
    uri: &str,
    body: &Value,
    token: Option<&str>,
    source_ip: &str,
) -> TestResponse {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut req = req.body(Body::from(body.to_string())).expect("request");
    with_source_ip(&mut req, source_ip);
    send(app, req).await
}

pub mod counting {
    //! Counts DynamoDB calls per operation, through an SDK interceptor, so
    //! tests can assert how many calls an endpoint makes, and how many of
    //! them had to wait for another ([`CallCounter::depth`]).
    use aws_sdk_dynamodb::config::interceptors::{
        BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
    };
    use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
    use aws_sdk_dynamodb::error::BoxError;
    use aws_smithy_runtime_api::client::orchestrator::Metadata;
    use aws_smithy_types::config_bag::{Storable, StoreReplace};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    /// One call: its operation, when it started and when it ended (every
    /// attempt included).
    #[derive(Debug, Clone)]
    struct Call {
        name: String,
        /// The counter's generation, so that a call ending after a reset
        /// is not matched with a call of the new generation.
        generation: u64,
        start: Instant,
        end: Option<Instant>,
    }

    #[derive(Debug, Default)]
    struct Record {
        generation: u64,
        calls: Vec<Call>,
    }

    /// Which call of the record an operation is, kept in its config bag
    /// from its start to its end.
    #[derive(Debug, Clone, Copy)]
    struct CallIndex {
        generation: u64,
        index: usize,
    }

    impl Storable for CallIndex {
        type Storer = StoreReplace<Self>;
    }

    #[derive(Debug, Clone, Default)]
    pub struct CallCounter(Arc<Mutex<Record>>);

    impl CallCounter {
        /// Operation names called since the last reset, in order.
        pub fn calls(&self) -> Vec<String> {
            self.0
                .lock()
                .map(|r| r.calls.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default()
        }

        /// Sequential round trips since the last reset: the longest chain
        /// of calls each started after the previous one ended. Calls issued
        /// concurrently overlap, so they count once.
        pub fn depth(&self) -> usize {
            let calls = self.0.lock().map(|r| r.calls.clone()).unwrap_or_default();
            chain_depth(&calls)
        }

        pub fn reset(&self) {
            if let Ok(mut r) = self.0.lock() {
                r.calls.clear();
                r.generation += 1;
            }
        }
    }

    /// The longest chain of non-overlapping calls (a call still running
    /// counts as ending now).
    fn chain_depth(calls: &[Call]) -> usize {
        let now = Instant::now();
        let mut spans: Vec<(Instant, Instant)> = calls
            .iter()
            .map(|c| (c.start, c.end.unwrap_or(now)))
            .collect();
        spans.sort();
        let mut depth = vec![1usize; spans.len()];
        for i in 0..spans.len() {
            for j in 0..i {
                if spans[j].1 <= spans[i].0 {
                    depth[i] = depth[i].max(depth[j] + 1);
                }
            }
        }
        depth.into_iter().max().unwrap_or(0)
    }

    impl Intercept for CallCounter {
        fn name(&self) -> &'static str {
            "CallCounter"
        }

        fn read_before_serialization(
            &self,
            _context: &BeforeSerializationInterceptorContextRef<'_>,
            _components: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let name = cfg
                .load::<Metadata>()
                .map(|m| m.name().to_owned())
                .unwrap_or_else(|| "?".into());
            if let Ok(mut r) = self.0.lock() {
                let generation = r.generation;
                r.calls.push(Call {
                    name,
                    generation,
                    start: Instant::now(),
                    end: None,
                });
                let index = r.calls.len() - 1;
                cfg.interceptor_state()
                    .store_put(CallIndex { generation, index });
            }
            Ok(())
        }

        fn read_after_execution(
            &self,
            _context: &FinalizerInterceptorContextRef<'_>,
            _components: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let Some(call) = cfg.load::<CallIndex>().copied() else {
                return Ok(());
            };
            if let Ok(mut r) = self.0.lock() {
                if let Some(c) = r.calls.get_mut(call.index) {
                    if c.generation == call.generation {
                        c.end = Some(Instant::now());
                    }
                }
            }
            Ok(())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::time::Duration;

        fn call(start: u64, end: u64) -> Call {
            let t0 = Instant::now();
            Call {
                name: "Op".into(),
                generation: 0,
                start: t0 + Duration::from_millis(start),
                end: Some(t0 + Duration::from_millis(end)),
            }
        }

        #[test]
        fn overlapping_calls_are_one_round_trip() {
            assert_eq!(chain_depth(&[]), 0);
            assert_eq!(chain_depth(&[call(0, 10), call(1, 5), call(2, 12)]), 1);
            assert_eq!(chain_depth(&[call(0, 10), call(11, 20)]), 2);
            // Two concurrent calls, then one after the longer of them.
            assert_eq!(chain_depth(&[call(0, 10), call(0, 3), call(4, 8)]), 2);
            assert_eq!(
                chain_depth(&[call(0, 1), call(2, 3), call(4, 5), call(0, 5)]),
                3
            );
        }
    }
}

/// A store over a fresh table whose DynamoDB calls are counted.
pub async fn counted_store() -> (Store, counting::CallCounter) {
    let (_, table) = fresh_table().await;
    let counter = counting::CallCounter::default();
    let config = shared::runtime::dynamodb_config(
        &shared::runtime::sdk_config(),
        Some(&dynamodb_endpoint()),
    )
    .interceptor(counter.clone())
    .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    (
        Store::new(
            client,
            table,
            CursorSigner::new(TEST_CURSOR_SECRET.to_vec()),
        )
        .with_revocation_settings(steady_revocation_checks()),
        counter,
    )
}

/// The auth function in-process over a fresh, seeded table, with a
/// throwaway signing key.
pub struct AuthApp {
    pub app: Router,
    pub store: Store,
    pub calls: counting::CallCounter,
    pub key: shared::auth::SigningKeyPair,
    pub settings: shared::auth::TokenSettings,
    /// The app's own outbox: the messages it sent (unless built with
    /// another sender by [`auth_app_sending`]).
    pub outbox: Outbox,
}

/// A test app's outbox directory, removed with it (it exists only once
/// something was sent).
#[derive(Debug)]
pub struct Outbox(PathBuf);

impl std::ops::Deref for Outbox {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Links in test messages point here.
pub const TEST_FRONTEND_URL: &str = "https://app.test";

/// A new, empty outbox directory under the system's temporary directory.
pub fn fresh_outbox() -> PathBuf {
    std::env::temp_dir().join(format!("test-outbox-{}", uuid::Uuid::new_v4()))
}

/// A mailer writing to `outbox`.
pub fn outbox_mailer(outbox: &std::path::Path) -> shared::email::Mailer {
    shared::email::Mailer::new(
        std::sync::Arc::new(shared::email::OutboxSender::new(outbox)),
        TEST_FRONTEND_URL,
    )
}

/// A sender that always fails, counting its attempts.
#[derive(Default)]
pub struct FailingSender(std::sync::atomic::AtomicUsize);

impl FailingSender {
    pub fn attempts(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl shared::email::EmailSender for FailingSender {
    fn send<'a>(&'a self, _email: &'a shared::email::Email) -> shared::email::SendFuture<'a> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async {
            Err(shared::email::EmailError::Service(
                "mail server down".into(),
            ))
        })
    }
}

/// The auth app sending through `sender` (a failing one, say).
pub async fn auth_app_sending(sender: std::sync::Arc<dyn shared::email::EmailSender>) -> AuthApp {
    let (store, calls) = counted_store().await;
    let mailer = shared::email::Mailer::new(sender, TEST_FRONTEND_URL);
    auth_app_on(
        store,
        calls,
        shared::auth::TokenSettings::default(),
        None,
        Some(mailer),
    )
    .await
}

pub async fn auth_app() -> AuthApp {
    auth_app_with(shared::auth::TokenSettings::default()).await
}

pub async fn auth_app_with(settings: shared::auth::TokenSettings) -> AuthApp {
    auth_app_custom(settings, None).await
}

/// The auth function with a pause between the reads and the write of each
/// refresh and login (see `auth::AppState::pause`).
pub async fn auth_app_paused(pause: auth::Pause) -> AuthApp {
    auth_app_custom(shared::auth::TokenSettings::default(), Some(pause)).await
}

async fn auth_app_custom(
    settings: shared::auth::TokenSettings,
    pause: Option<auth::Pause>,
) -> AuthApp {
    let (store, calls) = counted_store().await;
    auth_app_on(store, calls, settings, pause, None).await
}

/// The auth app over a store that rereads revocation state at least every
/// `check_interval` (`ZERO`: on every request), for revocation tests.
pub async fn auth_app_checking(check_interval: std::time::Duration) -> AuthApp {
    let (store, calls) = counted_store().await;
    let settings = shared::auth::TokenSettings::default();
    let store = store.with_revocation_settings(shared::revocation::Settings {
        check_interval,
        ..shared::revocation::Settings::default()
    });
    auth_app_on(store, calls, settings, None, None).await
}

async fn auth_app_on(
    store: Store,
    calls: counting::CallCounter,
    settings: shared::auth::TokenSettings,
    pause: Option<auth::Pause>,
    mailer: Option<shared::email::Mailer>,
) -> AuthApp {
    let outbox = fresh_outbox();
    let mailer = mailer.unwrap_or_else(|| outbox_mailer(&outbox));
    for plan in shared::tenancy::default_plans(time::OffsetDateTime::now_utc()) {
        store
            .platform()
            .put(
                &shared::keys::plan(plan.id),
                &plan,
                shared::store::Condition::NotExists,
            )
            .await
            .expect("plans seeded");
    }
    let key = shared::auth::SigningKeyPair::generate("test-key");
    let signer = shared::auth::TokenSigner::new(key.clone(), settings.clone());
    let mut state = auth::state(
        iam::function_store(&store, "auth"),
        signer,
        shared::auth::Jwks::default(),
        mailer,
    )
    .expect("state");
    state.pause = pause;
    let app = auth::router(state, &shared::http::HttpConfig::default());
    calls.reset();
    AuthApp {
        app,
        store,
        calls,
        key,
        settings,
        outbox: Outbox(outbox),
    }
}

/// A unique, valid registration body.
pub fn registration(slug: &str, email: &str) -> Value {
    serde_json::json!({
        "tenant_name": format!("Org {slug}"),
        "tenant_slug": slug,
        "admin_email": email,
        "admin_password": "correct-horse-battery",
        "admin_password_confirm": "correct-horse-battery",
        "admin_first_name": "Ada",
        "admin_last_name": "Lovelace",
    })
}

/// A slug and email no other test uses.
pub fn unique(prefix: &str) -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    (
        format!("{prefix}-{}", &id[..12]),
        format!("{prefix}-{}@example.com", &id[..12]),
    )
}

#[cfg(test)]
mod window_tests {
    use super::*;
    use shared::throttle::Limit;

    #[tokio::test]
    async fn in_one_window_leaves_the_room_it_promises() {
        // Windows of 3 and 4 s, 2 s of room: usually a wait, at most 3 s.
        let limits = [3, 4].map(|window_secs| Limit {
            bucket: "t",
            max: 1,
            window_secs,
        });
        with_room(&limits, 2).await;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        for limit in limits {
            let left = limit.window_secs - now.rem_euclid(limit.window_secs);
            assert!(left >= 2, "{left} s left in {limit:?}");
        }
    }
}
