use super::error::{ApiError, ValidationErrors};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Query-string extractor whose failures name the parameter (400 JSON).
#[derive(Debug, Clone, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_de(query);
        de.map(ApiQuery)
    }
}

fn serde_urlencoded_de<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(&format!("/?{query}").parse().map_err(|_| {
        ApiError::bad_request("Malformed query string.", "parse_error")
    })?)
    .map(|q| q.0)
    .map_err(|e| {
        let msg = e.body_text();
        let msg = msg.trim_start_matches("Failed to deserialize query string: ");
        // serde_urlencoded names the field in its messages ("missing field `x`").
        let field = msg
            .split('`')
            .nth(1)
            .filter(|_| msg.contains('`'))
            .unwrap_or("non_field_errors");
        ValidationErrors::field(field, msg.to_owned()).into()
    })
}
