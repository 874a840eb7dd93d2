//! Start-up helpers every function's `main` uses: JSON logging, the
//! DynamoDB client (built once per cold start, with bounded timeouts), and
//! serving a router on the Lambda runtime.

mod environment;
pub mod gateway;
mod https;
pub mod runtime_api;

pub use https::{Http1Client, TlsSetupError};

use crate::config::Config;
use crate::store::{CursorSigner, Store};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, StalledStreamProtectionConfig};
use aws_types::SdkConfig;
use bytes::Bytes;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use std::time::Duration;

/// JSON log lines carrying the current span's fields (request id, tenant
/// id). `RUST_LOG` sets the filter (see [`log_filter`]).
pub fn init_tracing() {
    install(json_lines().without_time());
}

/// The same lines with their time, on stderr: for a command-line run
/// (`billing-scheduler --once`), whose stdout carries only its report.
pub fn init_cli_tracing() {
    install(json_lines().with_writer(std::io::stderr));
}

fn json_lines<S>() -> tracing_subscriber::fmt::Layer<
    S,
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
> {
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
}

fn install<L>(format: L)
where
    L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // Ignore a second initialisation (tests build several apps).
    let _ = tracing_subscriber::registry()
        .with(format)
        .with(log_filter())
        .try_init();
}

/// `RUST_LOG` as a list of `level` and `target=level` directives (such as
/// `info,shared=debug`); `info` when unset or unreadable. Not the regex-based
/// `EnvFilter`: it costs every binary its regex engine and start-up time.
pub fn log_filter() -> tracing_subscriber::filter::Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
        })
}

/// A DynamoDB client that fails fast: an unreachable DynamoDB yields an
/// error within a few seconds (answered as 503), never a hang. Builds its
/// own [`sdk_config`]: for tests and the coldstart reference; a function
/// passes the one it built to [`store`].
pub fn dynamodb_client(endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(dynamodb_config(&sdk_config(), endpoint).build())
}

/// The configuration behind [`dynamodb_client`], for callers that add to
/// it (tests count calls with an interceptor).
pub fn dynamodb_config(
    aws: &SdkConfig,
    endpoint: Option<&str>,
) -> aws_sdk_dynamodb::config::Builder {
    let mut builder = lean(aws_sdk_dynamodb::config::Builder::from(aws));
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder
}

/// Turns off per-call work of the SDK that a function's DynamoDB client
/// does not need (each setting measured by the `endpoints` benchmark).
fn lean(builder: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder {
    // The stalled-stream guard arms a timer and samples throughput on every
    // request and response body; DynamoDB's are small and the attempt
    // timeout (3 s, `sdk_config`) already ends a stalled one.
    builder.stalled_stream_protection(StalledStreamProtectionConfig::disabled())
}

/// The roots of trust for AWS endpoints: Amazon Trust Services' CAs. The
/// platform's whole store (rustls-native-certs reads every file of
/// /etc/ssl/certs) took about 3 ms of each cold start.
const AMAZON_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// The HTTPS client of every AWS client ([`Http1Client`]), trusting only
/// [`AMAZON_ROOTS`]. Built at start-up; the roots are a fixed, tested input.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_runtime_api::client::http::SharedHttpClient::new(
        Http1Client::new(AMAZON_ROOTS).expect("an HTTPS client trusting the embedded Amazon roots"),
    )
}

/// AWS settings every client of a function shares: the region and
/// credentials Lambda puts in the environment ([`environment`]), short
/// timeouts and few retries, so a request or a cold start never hangs on an
/// unreachable service. A function builds it once in `main` and every
/// client from it (each build makes the TLS context again).
pub fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(environment::region(crate::config::env_var))
        .credentials_provider(SharedCredentialsProvider::new(
            environment::EnvironmentCredentials,
        ))
        .http_client(http_client())
        .timeout_config(timeout_config())
        .retry_config(retry_config())
        .build()
}

/// Every AWS call's time bounds: a second to connect, three per attempt,
/// eight in all.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build()
}

/// At most three attempts, with the standard backoff.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3)
}

/// The store described by `config`, its client built from `aws`.
pub fn store(config: &Config, aws: &SdkConfig) -> Store {
    let client = aws_sdk_dynamodb::Client::from_conf(
        dynamodb_config(aws, config.dynamodb_endpoint.as_deref()).build(),
    );
    Store::new(
        client,
        config.table_name.clone(),
        CursorSigner::new(config.cursor_secret.clone()),
    )
    .with_revocation_settings(config.revocation)
}

/// Runs a function's `main` future on a Tokio runtime shaped like Lambda's
/// invocations: one thread when they come one at a time (the default), a
/// multi-thread runtime when `AWS_LAMBDA_MAX_CONCURRENCY` lets several run
/// at once (Lambda Managed Instances). One request at a time gains nothing
/// from worker threads and pays for waking them: a hello world spends about
/// half the CPU per request on one thread (docs/performance.md).
pub fn block_on<F: std::future::Future>(main: F) -> F::Output {
    let max_concurrency = std::env::var("AWS_LAMBDA_MAX_CONCURRENCY").ok();
    let mut builder = if concurrent(max_concurrency.as_deref()) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder
        .enable_all()
        .build()
        .expect("a Tokio runtime at start-up")
        .block_on(main)
}

/// Whether `AWS_LAMBDA_MAX_CONCURRENCY` lets invocations overlap.
fn concurrent(max_concurrency: Option<&str>) -> bool {
    workers(max_concurrency) > 1
}

/// How many invocations at once `AWS_LAMBDA_MAX_CONCURRENCY` allows: 1
/// when unset or unreadable.
fn workers(max_concurrency: Option<&str>) -> usize {
    max_concurrency
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1)
}

/// Serves a router on the Lambda Runtime API ([`runtime_api`]), its API
/// Gateway HTTP API events converted by [`gateway`].
///
/// One invocation at a time unless `AWS_LAMBDA_MAX_CONCURRENCY` is above 1
/// (Lambda Managed Instances), then that many at once: the router is
/// `Clone + Send`. `cargo lambda watch` sets the variable to 1.
pub async fn serve(app: axum::Router) -> Result<(), lambda_http::Error> {
    serve_events(move |event| gateway::invoke(app.clone(), event)).await
}

/// Serves JSON events other than API Gateway's (a schedule's) on the same
/// loop as [`serve`]: `handler` gets each one parsed, and its answer goes
/// back as JSON. An event that does not parse as `E` is the invocation's
/// error.
pub async fn serve_events<E, R, F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    E: serde::de::DeserializeOwned + Send,
    R: serde::Serialize,
    F: Fn(LambdaEvent<E>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<R, lambda_http::Error>> + Send,
{
    runtime_api::run(json_events(handler), workers_from_env()).await
}

/// `handler` as the loop's [`runtime_api::Handler`]: JSON in and out.
fn json_events<E, R, F, Fut>(handler: F) -> impl runtime_api::Handler
where
    E: serde::de::DeserializeOwned + Send,
    R: serde::Serialize,
    F: Fn(LambdaEvent<E>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<R, lambda_http::Error>> + Send,
{
    move |event: Bytes, context: Context| {
        let handler = handler.clone();
        async move {
            let payload: E = parse_event(&event)?;
            let answer = handler(LambdaEvent::new(payload, context)).await?;
            Ok(serde_json::to_vec(&answer)?)
        }
    }
}

/// An event's JSON as `E`. The bytes are checked as UTF-8 once, whole:
/// `serde_json` reading bytes would check every string again.
pub fn parse_event<E: serde::de::DeserializeOwned>(event: &[u8]) -> Result<E, lambda_http::Error> {
    Ok(serde_json::from_str(std::str::from_utf8(event)?)?)
}

fn workers_from_env() -> usize {
    workers(std::env::var("AWS_LAMBDA_MAX_CONCURRENCY").ok().as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_parses_from_utf8_json_only() {
        #[derive(serde::Deserialize)]
        struct Tick {
            source: String,
        }
        let tick: Tick = parse_event(br#"{"source": "aws.events \u00e9"}"#).unwrap();
        assert_eq!(tick.source, "aws.events \u{e9}");
        assert!(parse_event::<Tick>(b"{\"source\": \"\xff\"}").is_err());
        assert!(parse_event::<Tick>(br#"{"source": 1}"#).is_err());
    }

    #[test]
    fn one_thread_unless_lambda_lets_invocations_overlap() {
        for (value, overlap) in [
            (None, false),
            (Some("1"), false),
            (Some("0"), false),
            (Some("many"), false),
            (Some("2"), true),
            (Some(" 16 "), true),
        ] {
            assert_eq!(concurrent(value), overlap, "{value:?}");
        }
        assert_eq!(workers(Some(" 16 ")), 16);
        assert_eq!(workers(Some("0")), 1);
        assert_eq!(workers(None), 1);
        assert_eq!(block_on(async { 7 }), 7);
    }

    #[tokio::test]
    async fn json_events_reach_the_handler_parsed_and_answer_as_json() {
        use runtime_api::Handler;
        let handler = json_events(|event: LambdaEvent<serde_json::Value>| async move {
            if event.payload["fail"] == true {
                return Err("asked to fail".into());
            }
            Ok(serde_json::json!({"got": event.payload, "request": event.context.request_id}))
        });
        let mut context = Context::default();
        context.request_id = "req-1".to_owned();

        let answer = handler
            .call(Bytes::from_static(br#"{"id": "tick"}"#), context.clone())
            .await
            .unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(
            answer,
            serde_json::json!({"got": {"id": "tick"}, "request": "req-1"})
        );
        // Not JSON, or the handler's own error: the invocation's error.
        let not_json = handler
            .call(Bytes::from_static(b"{"), context.clone())
            .await;
        assert!(not_json.unwrap_err().to_string().contains("EOF"));
        let failed = handler
            .call(Bytes::from_static(br#"{"fail": true}"#), context)
            .await;
        assert_eq!(failed.unwrap_err().to_string(), "asked to fail");
    }

    #[tokio::test]
    async fn an_event_that_is_not_an_http_api_event_is_an_error() {
        use runtime_api::Handler;
        let app = axum::Router::new();
        let handler = json_events(move |event| gateway::invoke(app.clone(), event));
        for event in [&b"[1, 2]"[..], b"{}", b"not json"] {
            let refused = handler
                .call(Bytes::copy_from_slice(event), Context::default())
                .await;
            assert!(refused.is_err(), "{}", String::from_utf8_lossy(event));
        }
    }

    #[test]
    fn trusts_the_five_amazon_roots() {
        assert_eq!(
            String::from_utf8_lossy(AMAZON_ROOTS)
                .matches("-----BEGIN CERTIFICATE-----")
                .count(),
            5
        );
        // A client validates its HTTP client's TLS setup when it is built:
        // an unreadable root panics here, not on a cold start.
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .http_client(http_client())
            .build();
        let _client = aws_sdk_dynamodb::Client::from_conf(config);
    }
}
