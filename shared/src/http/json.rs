//! `ApiJson<T>`: the JSON body extractor every handler uses. Unlike axum's
//! `Json`, its failures are rendered as our errors: 415 for a non-JSON
//! content type, 413 beyond the size limit, 400 naming the field for
//! malformed or mistyped input.

use super::error::{ApiError, ValidationErrors};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

/// Default largest accepted request body.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// The body limit in force, set once per process by the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

fn is_json(req: &Request) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming the offending field on failure.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(format!("Malformed JSON: {inner}"), "parse_error");
        }
        let message = strip_position(&inner.to_string());
        // serde reports a missing field at the parent's path; name the field.
        if let Some(field) = missing_field(&message) {
            let full = if path == "." {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            };
            return ValidationErrors::field(full, "This field is required.").into();
        }
        // For unknown fields the path already ends with the field.
        if let Some(field) = unknown_field(&message) {
            let full = if path == "." { field.to_owned() } else { path };
            return ValidationErrors::field(full, "Unknown field.").into();
        }
        let field = if path == "." {
            "non_field_errors".to_owned()
        } else {
            path
        };
        ValidationErrors::field(field, message).into()
    })
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn backticked<'a>(msg: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = msg.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    rest.split('`').next()
}

fn missing_field(msg: &str) -> Option<&str> {
    backticked(msg, "missing field ")
}

fn unknown_field(msg: &str) -> Option<&str> {
    backticked(msg, "unknown field ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Signup {
        email: String,
        age: u8,
        address: Option<Address>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Address {
        city: String,
    }

    fn body(err: ApiError) -> serde_json::Value {
        err.body()
    }

    #[test]
    fn names_the_missing_field() {
        let e = parse::<Signup>(br#"{"age": 3}"#).unwrap_err();
        assert_eq!(body(e), json!({"email": ["This field is required."]}));
        let e = parse::<Signup>(br#"{"email": "a", "age": 3, "address": {}}"#).unwrap_err();
        assert_eq!(
            body(e),
            json!({"address.city": ["This field is required."]})
        );
    }

    #[test]
    fn names_the_mistyped_field() {
        let e = parse::<Signup>(br#"{"email": "a", "age": "old"}"#).unwrap_err();
        let b = body(e);
        let msg = b["age"][0].as_str().unwrap();
        assert!(msg.contains("invalid type"), "{msg}");
        assert!(!msg.contains("line"), "{msg}");
    }

    #[test]
    fn names_unknown_fields() {
        let e = parse::<Signup>(br#"{"email": "a", "age": 1, "is_admin": true}"#).unwrap_err();
        assert_eq!(body(e), json!({"is_admin": ["Unknown field."]}));
    }

    #[test]
    fn malformed_json_is_a_parse_error() {
        let e = parse::<Signup>(br#"{"email": "#).unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body(e)["code"], "parse_error");
    }

    async fn extract(
        ct: Option<&str>,
        payload: &'static str,
        limit: usize,
    ) -> Result<Signup, ApiError> {
        let mut req = Request::builder().method("POST").uri("/");
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let mut req = req.body(Body::from(payload)).unwrap();
        req.extensions_mut().insert(BodyLimit(limit));
        ApiJson::<Signup>::from_request(req, &()).await.map(|j| j.0)
    }

    #[tokio::test]
    async fn checks_content_type_and_size() {
        let ok = r#"{"email": "a@b.c", "age": 30}"#;
        assert!(extract(Some("application/json; charset=utf-8"), ok, 1024)
            .await
            .is_ok());
        assert!(matches!(
            extract(Some("text/plain"), ok, 1024).await,
            Err(ApiError::UnsupportedMediaType)
        ));
        assert!(matches!(
            extract(None, ok, 1024).await,
            Err(ApiError::UnsupportedMediaType)
        ));
        assert!(matches!(
            extract(Some("application/json"), ok, 10).await,
            Err(ApiError::PayloadTooLarge { limit: 10 })
        ));
    }
}
