//! Cursor pagination in the shape of Django REST Framework's cursor
//! paginator: `{"next": url|null, "previous": url|null, "results": [...]}`,
//! with `?cursor=` and `?page_size=` (default 20, at most 100).

use super::error::{ApiError, ValidationErrors};
use crate::store::Page;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::Serialize;
use utoipa::ToSchema;

pub const DEFAULT_PAGE_SIZE: u16 = 20;
pub const MAX_PAGE_SIZE: u16 = 100;

/// One page of results with links to its neighbours.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T> {
    /// URL of the next page, or null.
    pub next: Option<String>,
    /// URL of the previous page, or null.
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// The page a request asks for, and how to link to its neighbours.
#[derive(Debug, Clone)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub page_size: u16,
    /// Absolute URL of the request without `cursor`.
    base: String,
    /// The other query parameters, kept in the links.
    params: Vec<(String, String)>,
}

impl PageQuery {
    /// Reads `cursor` and `page_size` from a query string.
    pub fn parse(scheme_host: &str, path: &str, query: Option<&str>) -> Result<Self, ApiError> {
        let mut cursor = None;
        let mut page_size = DEFAULT_PAGE_SIZE;
        let mut params = Vec::new();
        // Empty values count as absent (`?cursor=`).
        let pairs = super::query::pairs(query.unwrap_or(""))?;
        for (k, v) in pairs {
            match k.as_str() {
                "cursor" => cursor = Some(v),
                "page_size" => {
                    page_size = match v.parse::<u16>() {
                        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
                        _ => {
                            return Err(ValidationErrors::field(
                                "page_size",
                                format!("Enter a whole number from 1 to {MAX_PAGE_SIZE}."),
                            )
                            .into())
                        }
                    };
                    params.push((k, v));
                }
                _ => params.push((k, v)),
            }
        }
        Ok(Self {
            cursor,
            page_size,
            base: format!("{scheme_host}{path}"),
            params,
        })
    }

    fn link(&self, cursor: &str) -> String {
        let mut query = form_urlencode(&self.params);
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("cursor=");
        query.push_str(&urlencode(cursor));
        format!("{}?{}", self.base, query)
    }

    /// The DRF-shaped answer for a store page, items mapped by `f`.
    pub fn respond<T, U>(&self, page: Page<T>, f: impl FnMut(T) -> U) -> Paginated<U> {
        Paginated {
            next: page.next.as_deref().map(|c| self.link(c)),
            previous: page.previous.as_deref().map(|c| self.link(c)),
            results: page.items.into_iter().map(f).collect(),
        }
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn form_urlencode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `scheme://host` of the request as the client addressed it (API
/// Gateway sets `x-forwarded-proto`; locally it is plain HTTP).
fn scheme_host(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(
            if host.starts_with("127.0.0.1") || host.starts_with("localhost") {
                "http"
            } else {
                "https"
            },
        );
    format!("{proto}://{host}")
}

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        PageQuery::parse(
            &scheme_host(&parts.headers),
            parts.uri.path(),
            parts.uri.query(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_limits() {
        let q = PageQuery::parse("http://h", "/api/roles/", None).unwrap();
        assert_eq!((q.cursor, q.page_size), (None, DEFAULT_PAGE_SIZE));
        assert_eq!(
            PageQuery::parse("http://h", "/p/", Some("page_size=100"))
                .unwrap()
                .page_size,
            100
        );
        for bad in ["page_size=0", "page_size=101", "page_size=abc"] {
            let e = PageQuery::parse("http://h", "/p/", Some(bad)).unwrap_err();
            assert!(e.body()["page_size"].is_array(), "{bad}");
        }
    }

    #[test]
    fn links_keep_filters_and_replace_the_cursor() {
        let q = PageQuery::parse(
            "https://api.example.com",
            "/api/users/",
            Some("is_active=true&cursor=old&page_size=5"),
        )
        .unwrap();
        let page = Page {
            items: vec![1, 2],
            next: Some("ab.c+/=".into()),
            previous: None,
        };
        let body = q.respond(page, |n| n * 10);
        assert_eq!(body.results, vec![10, 20]);
        assert_eq!(
            body.next.as_deref(),
            Some("https://api.example.com/api/users/?is_active=true&page_size=5&cursor=ab.c%2B%2F%3D")
        );
        assert!(body.previous.is_none());
    }
}
