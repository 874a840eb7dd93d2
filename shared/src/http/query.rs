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
        let pairs = pairs(parts.uri.query().unwrap_or(""))?;
        deserialize(&pairs).map(ApiQuery)
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
        let pairs = pairs(parts.uri.query().unwrap_or(""))?;
        let filters: Vec<_> = pairs
            .into_iter()
            .filter(|(k, _)| k != "cursor" && k != "page_size")
            .collect();
        deserialize(&filters).map(ListQuery)
    }
}

/// The decoded parameters; an empty value counts as absent (`?actor=`), as
/// in DRF's filters.
pub(crate) fn pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| ApiError::bad_request("Malformed query string.", "parse_error"))?;
    Ok(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect())
}

/// Deserializes the parameters, naming each invalid one under its own key.
fn deserialize<T: DeserializeOwned>(pairs: &[(String, String)]) -> Result<T, ApiError> {
    let encode =
        |pairs: &[(String, String)]| serde_urlencoded::to_string(pairs).unwrap_or_default();
    let whole = serde_urlencoded::from_str::<T>(&encode(pairs));
    let Err(err) = whole else {
        return whole.map_err(|_| ApiError::bad_request("Malformed query string.", "parse_error"));
    };
    // serde's first error rarely names the parameter; each one alone does.
    let mut errors = ValidationErrors::new();
    for pair in pairs {
        if let Err(e) = serde_urlencoded::from_str::<T>(&encode(std::slice::from_ref(pair))) {
            let msg = e.to_string();
            match backticked(&msg, "missing field ") {
                // Another parameter is required; not this one's fault.
                Some(_) => {}
                None => errors.add(pair.0.clone(), message(&msg)),
            }
        }
    }
    if errors.is_empty() {
        let msg = err.to_string();
        let field = backticked(&msg, "missing field ")
            .or_else(|| backticked(&msg, "duplicate field "))
            .unwrap_or("non_field_errors");
        errors.add(field, message(&msg));
    }
    Err(errors.into())
}

fn backticked<'a>(msg: &'a str, prefix: &str) -> Option<&'a str> {
    msg.strip_prefix(prefix)?
        .strip_prefix('`')?
        .split('`')
        .next()
}

/// serde's messages in the words of Django's form fields.
fn message(msg: &str) -> String {
    if msg.starts_with("missing field ") {
        "This field is required.".to_owned()
    } else if msg.starts_with("unknown field ") {
        "Unknown parameter.".to_owned()
    } else if msg.starts_with("duplicate field ") {
        "Give this parameter once.".to_owned()
    } else if msg.starts_with("UUID parsing failed") || msg.contains("expected UUID") {
        "Enter a valid UUID.".to_owned()
    } else if let Some(v) = backticked(msg, "unknown variant ") {
        format!("Select a valid choice. {v} is not one of the available choices.")
    } else if msg.contains("`true` or `false`") {
        "Enter true or false.".to_owned()
    } else if msg.starts_with("invalid digit") || msg.starts_with("number too large") {
        "Enter a whole number.".to_owned()
    } else {
        msg.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Filters {
        actor: Option<uuid::Uuid>,
        active: Option<bool>,
        search: Option<String>,
    }

    fn run(q: &str) -> Result<Filters, ApiError> {
        deserialize(&pairs(q)?)
    }

    #[test]
    fn empty_parameters_are_absent() {
        let f = run("actor=&active=&search=").unwrap();
        assert!(f.actor.is_none() && f.active.is_none() && f.search.is_none());
        assert_eq!(run("search=a%20b").unwrap().search.as_deref(), Some("a b"));
    }

    #[test]
    fn each_invalid_parameter_is_named() {
        let e = run("actor=nope&active=maybe&search=x&colour=red").unwrap_err();
        assert_eq!(
            e.body(),
            json!({"actor": ["Enter a valid UUID."], "active": ["Enter true or false."],
                   "colour": ["Unknown parameter."]})
        );
    }
}
