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

/// The filters of a paginated list: the query string without `cursor` and
/// `page_size` (those belong to [`super::PageQuery`]), so a filter struct
/// can refuse unknown parameters without listing the pagination ones.
#[derive(Debug, Clone, Default)]
pub struct ListQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ListQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded_de(&without_pagination(query)).map(ListQuery)
    }
}

/// Drops the `cursor` and `page_size` pairs (plain keys: compared raw).
fn without_pagination(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            !pair.is_empty() && key != "cursor" && key != "page_size"
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn serde_urlencoded_de<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ApiError::bad_request("Malformed query string.", "parse_error"))?,
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_parameters_are_not_filters() {
        assert_eq!(
            without_pagination("cursor=abc%3D&status=paid&page_size=5"),
            "status=paid"
        );
        assert_eq!(without_pagination("page_size=5"), "");
        assert_eq!(
            without_pagination("search=cursor%3D1&cursors=2"),
            "search=cursor%3D1&cursors=2"
        );
        assert_eq!(without_pagination(""), "");
    }
}
