//! Bodies embedded gzip-compressed by build.rs: sent as they are to every
//! client that accepts gzip, inflated for the rare one that does not.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use shared::http::ApiError;
use std::io::Read;

/// The response for an embedded body; `cache_control` as given.
pub(crate) fn respond(
    content_type: &'static str,
    gzipped: &'static [u8],
    headers: &HeaderMap,
    cache_control: Option<&'static str>,
) -> Result<Response, ApiError> {
    let mut parts = HeaderMap::new();
    parts.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    parts.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(cache_control) = cache_control {
        parts.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
    }
    if accepts_gzip(headers) {
        parts.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return Ok((parts, gzipped).into_response());
    }
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(gzipped)
        .read_to_end(&mut plain)
        .map_err(|e| ApiError::internal(format!("an embedded body is not gzip: {e}")))?;
    Ok((parts, plain).into_response())
}

/// `Accept-Encoding` names gzip (or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn reads_accept_encoding() {
        assert!(accepts_gzip(&with("gzip, deflate, br")));
        assert!(accepts_gzip(&with("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br, deflate")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
