//! The Lambda Runtime API loop: the one lambda_runtime runs, less one thing.
//! When invocations do not overlap, lambda_runtime puts each one's X-Ray
//! trace id into the `_X_AMZN_TRACE_ID` environment variable, and glibc
//! keeps every value `setenv` is ever given: about 150 bytes more per
//! invocation for the life of the instance, since Lambda sends a new trace
//! id each time (docs/performance.md, "Memory over a warm instance's
//! life"). Here the trace id stays in the invocation's `Context`.
//!
//! The loop knows nothing of events: a [`Handler`] turns an event's bytes
//! into the answer's; [`super::serve_events`] makes one of a typed JSON
//! handler, API Gateway's router ([`super::serve`]) and the billing
//! scheduler's tick alike.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::Method;
use http_body_util::BodyExt;
use lambda_http::lambda_runtime::{Config, Context, Error};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{build_request, PooledClient};
use std::future::Future;
use std::sync::Arc;

const API: &str = "/2018-06-01/runtime";

/// Serves one invocation: the event's bytes and its context in, the
/// answer's JSON out, or the error Lambda reports as the invocation's.
/// Cloned into each worker.
pub trait Handler: Clone + Send + Sync + 'static {
    fn call(&self, event: Bytes, context: Context) -> impl Future<Output = Answer> + Send;
}

/// The answer's JSON, or why there is none.
pub type Answer = Result<Vec<u8>, Error>;

impl<F, Fut> Handler for F
where
    F: Fn(Bytes, Context) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send,
{
    fn call(&self, event: Bytes, context: Context) -> impl Future<Output = Answer> + Send {
        self(event, context)
    }
}

/// Serves `handler` with `workers` invocations at a time (1 unless Lambda
/// lets them overlap, `AWS_LAMBDA_MAX_CONCURRENCY`), each worker polling for
/// its next one, until the Runtime API cannot be reached (then Lambda
/// replaces the instance). Reads Lambda's variables; panics at start-up
/// without them, as lambda_runtime does.
pub async fn run(handler: impl Handler, workers: usize) -> Result<(), Error> {
    let client = Arc::new(PooledClient::builder().with_pool_size(workers).build());
    let config = Arc::new(Config::from_env());
    run_with(client, config, handler, workers).await
}

async fn run_with(
    client: Arc<PooledClient>,
    config: Arc<Config>,
    handler: impl Handler,
    workers: usize,
) -> Result<(), Error> {
    if workers <= 1 {
        return serve(client, config, handler).await;
    }
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..workers {
        running.spawn(serve(client.clone(), config.clone(), handler.clone()));
    }
    // The first worker to stop stops the process.
    match running.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(e.into()),
        None => Ok(()),
    }
}

async fn serve(
    client: Arc<PooledClient>,
    config: Arc<Config>,
    handler: impl Handler,
) -> Result<(), Error> {
    loop {
        serve_one(&client, &config, &handler).await?;
    }
}

/// Takes the next invocation and hands back its answer, or its error. An
/// error here is the Runtime API's: unreachable, or refusing to give an
/// invocation.
pub async fn serve_one(
    client: &PooledClient,
    config: &Arc<Config>,
    handler: &impl Handler,
) -> Result<(), Error> {
    let next = build_request()
        .method(Method::GET)
        .uri(format!("{API}/invocation/next"))
        .body(Body::empty())?;
    let (parts, body) = client.call(next).await?.into_parts();
    if !parts.status.is_success() {
        return Err(format!(
            "the Runtime API answered {} for the next invocation",
            parts.status
        )
        .into());
    }
    let event = body.collect().await?.to_bytes();
    let request_id = parts
        .headers
        .get("lambda-runtime-aws-request-id")
        .and_then(|v| v.to_str().ok())
        .ok_or("an invocation without its request id")?
        .to_owned();
    let context = Context::new(&request_id, config.clone(), &parts.headers)?;
    let report = match handler.call(event, context).await {
        Ok(json) => build_request()
            .method(Method::POST)
            .uri(format!("{API}/invocation/{request_id}/response"))
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(json))?,
        Err(e) => {
            tracing::error!(error = %e, request_id, "the invocation failed");
            let diagnostic = serde_json::json!({
                "errorType": "InvocationError",
                "errorMessage": e.to_string(),
            });
            build_request()
                .method(Method::POST)
                .uri(format!("{API}/invocation/{request_id}/error"))
                .header(CONTENT_TYPE, "application/json")
                .header("lambda-runtime-function-error-type", "Unhandled")
                .body(Body::from(diagnostic.to_string()))?
        }
    };
    // Its body is not waited for (lambda_runtime does not either): the
    // status says all, and the next poll must not wait on a slow last byte.
    let status = client.call(report).await?.status();
    if !status.is_success() {
        tracing::error!(%status, request_id, "the Runtime API refused the answer");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::sync::mpsc;

    /// What the function sent the Runtime API: method, path, headers, body.
    type Sent = (String, String, Vec<(String, String)>, Vec<u8>);

    /// A Runtime API on loopback that hands out `events` in turn, each with a
    /// new trace id, and passes on every request it gets.
    async fn runtime_api(events: Vec<Vec<u8>>) -> (String, mpsc::UnboundedReceiver<Sent>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        let events = Arc::new(std::sync::Mutex::new(events.into_iter().enumerate()));
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(connection(stream, events.clone(), tx.clone()));
            }
        });
        (address, rx)
    }

    type Events = Arc<std::sync::Mutex<std::iter::Enumerate<std::vec::IntoIter<Vec<u8>>>>>;

    /// One keep-alive connection of the fake Runtime API; once the events
    /// are out, a poll for the next one gets no answer.
    async fn connection(
        stream: tokio::net::TcpStream,
        events: Events,
        tx: mpsc::UnboundedSender<Sent>,
    ) {
        {
            let mut stream = BufReader::new(stream);
            loop {
                let mut line = String::new();
                if stream.read_line(&mut line).await.unwrap() == 0 {
                    return;
                }
                let mut words = line.split_whitespace();
                let (method, path) = (
                    words.next().unwrap().to_owned(),
                    words.next().unwrap().to_owned(),
                );
                let mut headers = Vec::new();
                loop {
                    let mut header = String::new();
                    stream.read_line(&mut header).await.unwrap();
                    let Some((name, value)) = header.trim_end().split_once(':') else {
                        break;
                    };
                    headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
                }
                let length = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; length];
                stream.read_exact(&mut body).await.unwrap();
                let reply = if method == "GET" {
                    let Some((i, event)) = events.lock().unwrap().next() else {
                        std::future::pending::<()>().await;
                        return;
                    };
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: req-{i}\r\n\
                         lambda-runtime-deadline-ms: 1796032800000\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:1:function:f\r\n\
                         lambda-runtime-trace-id: Root=1-{i:08}-abc\r\ncontent-length: {}\r\n\r\n{}",
                        event.len(),
                        String::from_utf8(event).unwrap()
                    )
                } else {
                    "HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}".to_owned()
                };
                tx.send((method, path, headers, body)).unwrap();
                stream.get_mut().write_all(reply.as_bytes()).await.unwrap();
            }
        }
    }

    /// A handler that answers a JSON event with itself and its trace id,
    /// and anything else with an error.
    async fn echo(event: Bytes, context: Context) -> Answer {
        let event: Value = serde_json::from_slice(&event)?;
        let answer = json!({"event": event, "trace": context.xray_trace_id});
        Ok(serde_json::to_vec(&answer)?)
    }

    #[tokio::test]
    async fn answers_each_invocation_and_reports_a_bad_one_without_touching_the_environment() {
        let (address, mut sent) =
            runtime_api(vec![b"{\"n\": 1}".to_vec(), b"[1, 2".to_vec()]).await;
        let client = PooledClient::builder()
            .with_endpoint(address.parse().unwrap())
            .build();
        let config = Arc::new(Config::default());

        serve_one(&client, &config, &echo).await.unwrap();
        let (method, path, _, _) = sent.recv().await.unwrap();
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("GET", "/2018-06-01/runtime/invocation/next")
        );
        let (method, path, _, body) = sent.recv().await.unwrap();
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("POST", "/2018-06-01/runtime/invocation/req-0/response")
        );
        let answer: Value = serde_json::from_slice(&body).unwrap();
        // The trace id reaches the handler's context, and only that.
        assert_eq!(
            answer,
            json!({"event": {"n": 1}, "trace": "Root=1-00000000-abc"})
        );
        assert!(std::env::var_os("_X_AMZN_TRACE_ID").is_none());

        // An event the handler refuses: an error report, and the loop goes on.
        serve_one(&client, &config, &echo).await.unwrap();
        sent.recv().await.unwrap();
        let (method, path, headers, body) = sent.recv().await.unwrap();
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("POST", "/2018-06-01/runtime/invocation/req-1/error")
        );
        assert!(headers.contains(&(
            "lambda-runtime-function-error-type".to_owned(),
            "Unhandled".to_owned()
        )));
        let diagnostic: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(diagnostic["errorType"], "InvocationError");
        assert!(std::env::var_os("_X_AMZN_TRACE_ID").is_none());
    }

    #[tokio::test]
    async fn overlapping_invocations_run_at_once_when_lambda_allows_them() {
        let (address, mut sent) = runtime_api(vec![b"{}".to_vec(); 4]).await;
        let client = Arc::new(
            PooledClient::builder()
                .with_endpoint(address.parse().unwrap())
                .with_pool_size(2)
                .build(),
        );
        // Each invocation waits for a second one: one worker alone would wait forever.
        let both = Arc::new(tokio::sync::Barrier::new(2));
        let handler = move |_: Bytes, _: Context| {
            let both = both.clone();
            async move {
                both.wait().await;
                Ok(b"\"both\"".to_vec())
            }
        };
        let running = tokio::spawn(run_with(client, Arc::new(Config::default()), handler, 2));
        let mut answered = Vec::new();
        while answered.len() < 4 {
            let (method, path, _, body) =
                tokio::time::timeout(std::time::Duration::from_secs(10), sent.recv())
                    .await
                    .expect("four answers within 10 s")
                    .unwrap();
            if method == "POST" {
                assert_eq!(body, b"\"both\"", "{path}");
                answered.push(path);
            }
        }
        answered.sort();
        assert_eq!(
            answered,
            (0..4)
                .map(|i| format!("/2018-06-01/runtime/invocation/req-{i}/response"))
                .collect::<Vec<_>>()
        );
        running.abort();
    }
}
