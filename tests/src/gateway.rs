//! API Gateway's HTTP API in front of every function's router, in one
//! process: what schemathesis runs against in `make test`
//! (docs/testing.md, "Fuzzing the contract").
//!
//! Each request becomes the payload-2.0 event API Gateway would send (a body
//! that is not UTF-8 base64-encoded), goes to the function the local router
//! table (Cargo.toml) names, chosen as API Gateway chooses a route, through
//! the same conversion as a deployed function (`shared::runtime::gateway`),
//! and its serialised answer is turned back into HTTP as API Gateway does.
//! Unlike `cargo lambda watch` it never answers for a function: every
//! response is the function's own.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use http::{request::Parts, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// API Gateway's payload limit; a larger body never reaches a function.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

/// The local router table: exact paths, and greedy `{*proxy}` routes by
/// their prefix.
#[derive(Debug, Default)]
pub struct Routes {
    exact: HashMap<String, String>,
    /// (prefix ending in `/`, function), longest prefix first.
    greedy: Vec<(String, String)>,
}

/// Where one request goes.
#[derive(Debug, PartialEq, Eq)]
pub struct Route {
    pub function: String,
    /// The route as the template writes it, e.g. `/api/users/{proxy+}`.
    pub key: String,
    /// The part of the path a greedy route matched.
    pub proxy: Option<String>,
}

impl Routes {
    /// `[workspace.metadata.lambda.watch.router]` of a Cargo.toml.
    pub fn from_cargo_toml(cargo_toml: &str) -> Self {
        let mut routes = Self::default();
        for (method, path, function) in crate::routes::local_routes(cargo_toml) {
            assert_eq!(
                method, "ANY",
                "per-method local routes are not emulated: {path}"
            );
            match path.strip_suffix("{*proxy}") {
                Some(prefix) => routes.greedy.push((prefix.to_owned(), function)),
                None => {
                    routes.exact.insert(path, function);
                }
            }
        }
        routes
            .greedy
            .sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        routes
    }

    /// API Gateway's choice: the exact route, else the greedy route with
    /// the longest prefix (`{proxy+}` matches at least one character).
    pub fn route(&self, path: &str) -> Option<Route> {
        if let Some(function) = self.exact.get(path) {
            return Some(Route {
                function: function.clone(),
                key: path.to_owned(),
                proxy: None,
            });
        }
        self.greedy.iter().find_map(|(prefix, function)| {
            let rest = path.strip_prefix(prefix.as_str())?;
            (!rest.is_empty()).then(|| Route {
                function: function.clone(),
                key: format!("{prefix}{{proxy+}}"),
                proxy: Some(rest.to_owned()),
            })
        })
    }

    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.exact
            .values()
            .chain(self.greedy.iter().map(|(_, f)| f))
            .map(String::as_str)
    }
}

/// The routes and each function's router.
#[derive(Clone)]
pub struct Gateway {
    routes: std::sync::Arc<Routes>,
    functions: HashMap<String, Router>,
}

impl Gateway {
    /// Panics (at start-up) if a routed function has no router.
    pub fn new(routes: Routes, functions: HashMap<String, Router>) -> Self {
        for function in routes.functions() {
            assert!(
                functions.contains_key(function),
                "no router for the routed function {function}"
            );
        }
        Self {
            routes: std::sync::Arc::new(routes),
            functions,
        }
    }

    /// An axum app that hands every request to [`Gateway::handle`]; the
    /// source address comes from `ConnectInfo` when served with it.
    pub fn into_router(self) -> Router {
        Router::new().fallback(move |request: http::Request<Body>| {
            let gateway = self.clone();
            async move {
                let source_ip = request
                    .extensions()
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|c| c.0.ip().to_string())
                    .unwrap_or_else(|| "127.0.0.1".to_owned());
                gateway.handle(request, &source_ip).await
            }
        })
    }

    /// One request, as API Gateway would pass it to the function and return
    /// its response.
    pub async fn handle(&self, request: http::Request<Body>, source_ip: &str) -> Response {
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, MAX_PAYLOAD).await else {
            return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        };
        let Some(route) = self.routes.route(parts.uri.path()) else {
            return gateway_error(StatusCode::NOT_FOUND, "Not Found");
        };
        let Some(function) = self.functions.get(&route.function) else {
            return gateway_error(StatusCode::NOT_FOUND, "Not Found");
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let event = event(&parts, &body, &route, source_ip, &request_id);
        let event = match serde_json::from_value(event) {
            Ok(event) => event,
            Err(e) => {
                eprintln!("gateway: the function could not read the event: {e}");
                return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
            }
        };
        let invocation = lambda_http::LambdaEvent::new(event, lambda_http::Context::default());
        match shared::runtime::gateway::invoke(function.clone(), invocation).await {
            Ok(answer) => match serde_json::to_value(answer)
                .map_err(|e| e.to_string())
                .and_then(|answer| from_answer(&answer))
            {
                Ok(response) => response,
                Err(e) => {
                    eprintln!("gateway: malformed function answer: {e}");
                    gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                }
            },
            // A failed invocation: API Gateway answers 500.
            Err(e) => {
                eprintln!("gateway: the invocation failed: {e}");
                gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
}

/// The HTTP response API Gateway makes of a function's payload-2.0 answer:
/// its status, headers, `cookies` as `Set-Cookie` headers, and its body,
/// base64-decoded when `isBase64Encoded`.
pub fn from_answer(answer: &Value) -> Result<Response, String> {
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or("no valid statusCode")?;
    let mut response = http::Response::builder().status(status);
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        let value = value.as_str().ok_or("a header that is not a string")?;
        response = response.header(name.as_str(), value);
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        let cookie = cookie.as_str().ok_or("a cookie that is not a string")?;
        response = response.header(http::header::SET_COOKIE, cookie);
    }
    let body = match answer.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(body)) if answer["isBase64Encoded"] == true => {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|e| format!("a body that is not base64: {e}"))?
        }
        Some(Value::String(body)) => body.clone().into_bytes(),
        Some(other) => return Err(format!("a body that is not a string: {other}")),
    };
    response.body(Body::from(body)).map_err(|e| e.to_string())
}

/// API Gateway's own error body.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

/// The HTTP API payload-2.0 event for a request.
pub fn event(
    parts: &Parts,
    body: &[u8],
    route: &Route,
    source_ip: &str,
    request_id: &str,
) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(value.split("; ").map(str::to_owned));
            continue;
        }
        // Repeated headers arrive joined by commas.
        match headers.get_mut(name.as_str()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let user_agent = headers.get("user-agent").cloned().unwrap_or(Value::Null);
    let route_key = format!("ANY {}", route.key);
    let now = time::OffsetDateTime::now_utc();
    let (body, encoded) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        ),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": parts.uri.query().unwrap_or(""),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
            "timeEpoch": now.unix_timestamp() * 1000,
        },
        "body": body,
        "isBase64Encoded": encoded,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if let Some(proxy) = &route.proxy {
        event["pathParameters"] = json!({ "proxy": proxy });
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        Routes::from_cargo_toml(
            &std::fs::read_to_string(crate::repo_root().join("Cargo.toml")).unwrap(),
        )
    }

    #[test]
    fn routes_as_api_gateway_chooses_them() {
        let routes = routes();
        let route = routes.route("/api/users/abc/").unwrap();
        assert_eq!(route.function, "users");
        assert_eq!(route.key, "/api/users/{proxy+}");
        assert_eq!(route.proxy.as_deref(), Some("abc/"));
        assert_eq!(
            routes.route("/api/auth/login/").unwrap().key,
            "/api/auth/login/"
        );
        assert_eq!(routes.route("/api/users").unwrap().proxy, None);
        // The catch-all takes what nothing more specific does.
        let other = routes.route("/nothing/here").unwrap();
        assert_eq!(
            (other.function.as_str(), other.key.as_str()),
            ("docs", "/{proxy+}")
        );
        assert_eq!(routes.route("/").unwrap().key, "/");
    }

    #[test]
    fn a_body_that_is_not_utf8_is_base64_encoded_and_decodes_as_sent() {
        let (parts, _) = http::Request::post("/api/roles/?a=1&b=")
            .header("content-type", "application/json")
            .header("cookie", "a=1; b=2")
            .body(())
            .unwrap()
            .into_parts();
        let route = routes().route("/api/roles/").unwrap();
        let sent = [0xff, 0x00, b'{'];
        let event = event(&parts, &sent, &route, "10.0.0.1", "rid");
        assert_eq!(event["isBase64Encoded"], true);
        let request = shared::runtime::gateway::request(
            serde_json::from_value(event).unwrap(),
            lambda_http::Context::default(),
        );
        assert_eq!(request.uri().query(), Some("a=1&b="));
        assert_eq!(request.headers()["cookie"], "a=1; b=2");
        assert_eq!(request.body().as_ref(), &sent);
        use lambda_http::RequestExt;
        let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) =
            request.request_context_ref()
        else {
            panic!("an HTTP API event")
        };
        assert_eq!(ctx.http.source_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(ctx.request_id.as_deref(), Some("rid"));
    }

    #[tokio::test]
    async fn an_answer_becomes_the_response_api_gateway_sends() {
        let answer = json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json", "content-encoding": "gzip"},
            "cookies": ["a=1; HttpOnly", "b=2"],
            "body": "H4sA/w==",
            "isBase64Encoded": true,
        });
        let response = from_answer(&answer).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cookies: Vec<_> = response
            .headers()
            .get_all(http::header::SET_COOKIE)
            .iter()
            .collect();
        assert_eq!(cookies, ["a=1; HttpOnly", "b=2"]);
        assert_eq!(response.headers()["content-encoding"], "gzip");
        let body = axum::body::to_bytes(response.into_body(), 100)
            .await
            .unwrap();
        assert_eq!(body.as_ref(), [0x1f, 0x8b, 0x00, 0xff]);

        let text = from_answer(&json!({"statusCode": 204})).unwrap();
        assert_eq!(text.status(), StatusCode::NO_CONTENT);
        assert!(from_answer(&json!({"statusCode": 99})).is_err());
        assert!(
            from_answer(&json!({"statusCode": 200, "body": "%%", "isBase64Encoded": true}))
                .is_err()
        );
    }
}
