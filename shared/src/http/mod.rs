//! HTTP conventions shared by every function: the error type, the JSON
//! extractor, and [`app`], which wraps a function's router with path
//! normalisation, CORS, request ids, structured request logs, panic
//! recovery and JSON 404/405 answers.

mod conflict;
mod error;
mod json;
mod nullable;
mod pagination;
mod path;
mod query;
pub mod schema;

pub use error::{ApiError, ValidationErrors};
pub use json::{
    from_value, parse, replace_schema, ApiJson, BodyLimit, OptionalJson, Replace,
    DEFAULT_BODY_LIMIT,
};
pub use nullable::nullable;
pub use pagination::{PageQuery, Paginated, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use path::IdPath;
pub use query::{ApiQuery, ListQuery};

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

/// Header carrying the request id back to the caller.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Header a super admin uses to act inside a tenant.
pub const TENANT_HEADER: &str = "x-tenant-id";

/// The id of the current request: API Gateway's id when deployed (and under
/// `cargo lambda watch`), the caller's `x-request-id`, or a fresh one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// As an extractor: the id [`app`] gave the request, or empty outside it
/// (a router tested without the wrapper).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or(RequestId(String::new())))
    }
}

/// In the extensions of the 404 answered when no route matches the path
/// (never sent): clients get DRF's plain `Not found.` either way, tests
/// use it to tell an unrouted path from a routed one that found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unrouted;

/// Settings of the HTTP layer, read once per cold start.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub body_limit: usize,
    /// Allowed CORS origins; `["*"]` allows any.
    pub cors_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            cors_origins: vec!["*".to_owned()],
        }
    }
}

/// Wraps a function's router with the platform's HTTP conventions. The
/// result is both what `lambda_http::run` serves and what tests drive.
pub fn app(router: Router, config: &HttpConfig) -> Router {
    let inner = router
        .fallback(|| async {
            let mut response = ApiError::NoRoute.into_response();
            response.extensions_mut().insert(Unrouted);
            response
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("handler panicked").into_response()
        }))
        .layer(middleware::from_fn_with_state(
            config.body_limit,
            request_context,
        ))
        .layer(cors(config));
    // Normalising before routing needs a service outside the router.
    Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .map_request(normalize_path)
            .service(inner),
    )
}

fn cors(config: &HttpConfig) -> CorsLayer {
    let origins = if config.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(TENANT_HEADER),
            HeaderName::from_static(REQUEST_ID_HEADER),
        ])
        .expose_headers([
            HeaderName::from_static(REQUEST_ID_HEADER),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}

/// The existing API writes paths with a trailing slash (`/api/users/`);
/// routes are declared that way and the slash-less form is accepted too.
/// Paths whose last segment has a dot are files (Swagger UI assets) and
/// are left alone.
fn normalize_path<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    let path = req.uri().path();
    let last = path.rsplit('/').next().unwrap_or("");
    if path.ends_with('/') || last.contains('.') {
        return req;
    }
    let new_path = format!("{path}/");
    let pq = match req.uri().query() {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = pq.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

fn request_id_of(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(id) = &ctx.request_id {
            return id.clone();
        }
    }
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Gives every request an id and a span (so every log line carries the
/// request id, and the tenant id once authentication records it), and logs
/// one line per request.
async fn request_context(
    State(body_limit): State<usize>,
    mut req: Request,
    next: Next,
) -> Response {
    let request_id = request_id_of(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.uri().path(),
        tenant_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    );
    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(BodyLimit(body_limit));
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request completed"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn router() -> Router {
        let r = Router::new()
            .route("/api/things/", get(|| async { "list" }))
            .route("/api/things/{id}/", get(|| async { "one" }))
            .route(
                "/api/boom/",
                get(|| async {
                    if true {
                        panic!("boom")
                    } else {
                        ""
                    }
                }),
            );
        app(r, &HttpConfig::default())
    }

    async fn call(method: &str, uri: &str) -> (u16, String, Response) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let res = router().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            status,
            String::from_utf8_lossy(&bytes).into_owned(),
            Response::from_parts(parts, Body::empty()),
        )
    }

    #[tokio::test]
    async fn accepts_paths_with_and_without_trailing_slash() {
        assert_eq!(call("GET", "/api/things/").await.1, "list");
        assert_eq!(call("GET", "/api/things").await.1, "list");
        assert_eq!(call("GET", "/api/things/1?x=y").await.1, "one");
    }

    #[tokio::test]
    async fn unknown_paths_and_methods_answer_json() {
        let (s, b, res) = call("GET", "/api/nope/").await;
        assert_eq!(s, 404);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&b).unwrap(),
            serde_json::json!({"detail": "Not found.", "code": "not_found"})
        );
        assert_eq!(res.extensions().get::<Unrouted>(), Some(&Unrouted));
        let (s, b, _) = call("DELETE", "/api/things/").await;
        assert_eq!(s, 405);
        assert!(b.contains("method_not_allowed"), "{b}");
    }

    #[tokio::test]
    async fn panics_become_opaque_500s() {
        let (s, b, _) = call("GET", "/api/boom/").await;
        assert_eq!(s, 500);
        assert!(b.contains("internal_error") && !b.contains("boom"), "{b}");
    }

    #[tokio::test]
    async fn every_response_carries_a_request_id() {
        let (_, _, res) = call("GET", "/api/things/").await;
        assert!(res.headers().get(REQUEST_ID_HEADER).is_some());
        let req = Request::builder()
            .uri("/api/things/")
            .header(REQUEST_ID_HEADER, "abc-123")
            .body(Body::empty())
            .unwrap();
        let res = router().oneshot(req).await.unwrap();
        assert_eq!(res.headers()[REQUEST_ID_HEADER], "abc-123");
    }

    #[tokio::test]
    async fn answers_cors_preflight() {
        let req = Request::builder()
            .method("OPTIONS")
            .uri("/api/things/")
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap();
        let res = router().oneshot(req).await.unwrap();
        assert!(res.status().is_success());
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        assert!(res.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST"));
    }
}
