//! API Gateway HTTP API events (payload 2.0) in, the router's responses out:
//! the job `lambda_http::run` did for every function.
//!
//! Two things differ, both measured in docs/performance.md. The event is
//! parsed once (lambda_http buffers it and parses it a second time to tell
//! event sources apart; we have one). A body goes back as text when its bytes
//! are UTF-8, whatever its content type, and base64-encoded otherwise: byte
//! for byte what the router wrote, with no charset decoding, so encoding_rs
//! is not linked.

use axum::response::Response;
use axum::Router;
use http::header::{HeaderValue, SET_COOKIE};
use http::HeaderMap;
use http_body_util::BodyExt;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Body;
use lambda_http::lambda_runtime::{self, Context, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::RequestExt;
use tower::ServiceExt;

/// One invocation: the event as a request to `app`, its response as API
/// Gateway's. Only a response body that fails to read is an error (Lambda
/// then reports the invocation as failed, and API Gateway answers 500).
pub async fn invoke(
    app: Router,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, lambda_runtime::Error> {
    let LambdaEvent { payload, context } = event;
    let response = match app.oneshot(request(payload, context)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    Ok(response_of(response).await?)
}

/// The HTTP request an event stands for, as lambda_http builds it (path,
/// query, headers, cookies, decoded body, and the request context in its
/// extensions), with the invocation's context and X-Ray trace header.
pub fn request(event: ApiGatewayV2httpRequest, context: Context) -> lambda_http::Request {
    let mut request: lambda_http::Request = LambdaRequest::ApiGatewayV2(event).into();
    if let Some(trace) = context
        .xray_trace_id
        .as_deref()
        .and_then(|id| HeaderValue::from_str(id).ok())
    {
        request.headers_mut().insert("x-amzn-trace-id", trace);
    }
    request.with_lambda_context(context)
}

/// The response API Gateway turns back into HTTP: `Set-Cookie` headers go in
/// `cookies` (payload 2.0 has no repeated headers), the body as [`body`].
async fn response_of(response: Response) -> Result<ApiGatewayV2httpResponse, axum::Error> {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let mut headers = parts.headers;
    let cookies = take_cookies(&mut headers);
    let (body, is_base64_encoded) = self::body(Vec::from(bytes));
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = headers;
    out.cookies = cookies;
    out.body = body;
    out.is_base64_encoded = is_base64_encoded;
    Ok(out)
}

fn take_cookies(headers: &mut HeaderMap) -> Vec<String> {
    let cookies = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    headers.remove(SET_COOKIE);
    cookies
}

/// No body when empty; text when the bytes are UTF-8 (API Gateway sends
/// text as its UTF-8 bytes); otherwise base64, with `isBase64Encoded`.
fn body(bytes: Vec<u8>) -> (Option<Body>, bool) {
    if bytes.is_empty() {
        return (None, false);
    }
    match String::from_utf8(bytes) {
        Ok(text) => (Some(Body::Text(text)), false),
        Err(e) => (Some(Body::Binary(e.into_bytes())), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use serde_json::{json, Value};

    /// An event as API Gateway sends it (trimmed to what the conversion
    /// reads), for `POST /api/echo/?a=1`.
    fn event(body: Value, encoded: bool) -> ApiGatewayV2httpRequest {
        serde_json::from_value(json!({
            "version": "2.0",
            "routeKey": "ANY /api/echo/{proxy+}",
            "rawPath": "/api/echo/",
            "rawQueryString": "a=1",
            "cookies": ["session=s1", "theme=dark"],
            "headers": {"content-type": "application/octet-stream", "x-tenant": "acme"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "api.example.com",
                "http": {"method": "POST", "path": "/api/echo/", "protocol": "HTTP/1.1",
                         "sourceIp": "10.0.0.7", "userAgent": "test"},
                "requestId": "req-1",
                "routeKey": "ANY /api/echo/{proxy+}",
                "stage": "$default",
                "time": "30/Nov/2026:10:00:00 +0000",
                "timeEpoch": 1796032800000_i64
            },
            "body": body,
            "isBase64Encoded": encoded
        }))
        .unwrap()
    }

    /// Answers with what it received, its body as the response body, and
    /// two cookies.
    fn echo() -> Router {
        Router::new().route(
            "/api/echo/",
            post(|request: axum::extract::Request| async move {
                use lambda_http::request::RequestContext;
                let request_id = match request.request_context_ref() {
                    Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
                    _ => None,
                };
                let seen = json!({
                    "query": request.uri().query(),
                    "cookie": request.headers().get("cookie").and_then(|v| v.to_str().ok()),
                    "tenant": request.headers().get("x-tenant").and_then(|v| v.to_str().ok()),
                    "trace": request.headers().get("x-amzn-trace-id").and_then(|v| v.to_str().ok()),
                    "request_id": request_id,
                    "invocation": request.lambda_context_ref().map(|c| c.request_id.clone()),
                });
                let body = axum::body::to_bytes(request.into_body(), usize::MAX)
                    .await
                    .unwrap();
                http::Response::builder()
                    .status(201)
                    .header("x-seen", seen.to_string())
                    .header("set-cookie", "a=1; HttpOnly")
                    .header("set-cookie", "b=2")
                    .body(axum::body::Body::from(body))
                    .unwrap()
            }),
        )
    }

    fn context() -> Context {
        let mut context = Context::default();
        context.request_id = "invocation-1".to_owned();
        context.xray_trace_id = Some("Root=1-abc".to_owned());
        context
    }

    async fn call(event: ApiGatewayV2httpRequest) -> Value {
        let response = invoke(echo(), LambdaEvent::new(event, context()))
            .await
            .unwrap();
        serde_json::to_value(response).unwrap()
    }

    #[tokio::test]
    async fn a_request_reaches_the_router_as_api_gateway_described_it() {
        let answer = call(event(json!("hello"), false)).await;
        let seen: Value =
            serde_json::from_str(answer["headers"]["x-seen"].as_str().unwrap()).unwrap();
        assert_eq!(
            seen,
            json!({
                "query": "a=1",
                "cookie": "session=s1; theme=dark",
                "tenant": "acme",
                "trace": "Root=1-abc",
                "request_id": "req-1",
                "invocation": "invocation-1",
            })
        );
        assert_eq!(answer["statusCode"], 201);
    }

    #[tokio::test]
    async fn a_utf8_body_goes_back_as_text_and_cookies_apart() {
        let answer = call(event(json!("{\"é\": 1}"), false)).await;
        assert_eq!(answer["body"], "{\"é\": 1}");
        assert_eq!(answer["isBase64Encoded"], false);
        assert_eq!(answer["cookies"], json!(["a=1; HttpOnly", "b=2"]));
        assert!(answer["headers"].get("set-cookie").is_none());
    }

    #[tokio::test]
    async fn any_other_body_goes_back_base64_encoded_byte_for_byte() {
        // 0x1f 0x8b: the start of a gzip stream, which is not UTF-8.
        let answer = call(event(json!("H4sA/w=="), true)).await;
        assert_eq!(answer["body"], "H4sA/w==");
        assert_eq!(answer["isBase64Encoded"], true);
    }

    #[tokio::test]
    async fn an_empty_body_is_left_out() {
        let answer = call(event(Value::Null, false)).await;
        assert!(answer.get("body").is_none(), "{answer}");
        assert_eq!(answer["isBase64Encoded"], false);
    }

    /// lambda_http's adapter, which every function used before: the same
    /// answers, but for an empty body (it sent `""`).
    #[tokio::test]
    async fn answers_as_lambda_http_did() {
        use lambda_http::Service;
        let gzip = [0x1f_u8, 0x8b, 0x08, 0x00, 0xff, 0xfe];
        let app = Router::new()
            .route(
                "/json/",
                axum::routing::get(|| async { axum::Json(json!({"é": [1, "ü"]})) }),
            )
            .route(
                "/gzip/",
                axum::routing::get(move || async move {
                    (
                        [
                            ("content-type", "application/json"),
                            ("content-encoding", "gzip"),
                        ],
                        gzip.to_vec(),
                    )
                }),
            )
            .route(
                "/cookie/",
                axum::routing::post(|| async {
                    ([("set-cookie", "a=1"), ("set-cookie", "b=2; Secure")], "ok")
                }),
            )
            .route(
                "/empty/",
                axum::routing::delete(|| async { http::StatusCode::NO_CONTENT }),
            );
        for (method, path) in [
            ("GET", "/json/"),
            ("GET", "/gzip/"),
            ("POST", "/cookie/"),
            ("DELETE", "/empty/"),
        ] {
            let mut event = event(Value::Null, false);
            event.raw_path = Some(path.to_owned());
            event.request_context.http.method = method.parse().unwrap();
            let ours = serde_json::to_value(
                invoke(
                    app.clone(),
                    LambdaEvent::new(event.clone(), Context::default()),
                )
                .await
                .unwrap(),
            )
            .unwrap();
            let mut adapter = lambda_http::Adapter::from(app.clone());
            let mut theirs = serde_json::to_value(
                adapter
                    .call(LambdaEvent::new(
                        LambdaRequest::ApiGatewayV2(event),
                        Context::default(),
                    ))
                    .await
                    .unwrap(),
            )
            .unwrap();
            if path == "/empty/" {
                assert_eq!(theirs["body"], "");
                theirs.as_object_mut().unwrap().remove("body");
            }
            assert_eq!(ours, theirs, "{method} {path}");
        }
    }
}
