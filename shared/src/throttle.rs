//! Fixed-window throttles kept in the table.
//!
//! Counters live in fixed windows whose start is part of the counter's key,
//! so a new window starts at zero without any reset, and old counters
//! expire by TTL. An attempt *reserves* its slot before the work it guards
//! with one conditional write that fails once the limit is reached, so
//! concurrent attempts on any number of instances cannot together exceed
//! it. Across a window boundary a fixed window lets at most twice the
//! limit through. The source IP is API Gateway's
//! `requestContext.http.sourceIp`, never a client-supplied header.

use crate::http::ApiError;
use crate::keys;
use crate::keys::{kind, PlatformKey};
use crate::store::{Store, StoreError};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;
use std::convert::Infallible;
use std::net::IpAddr;

/// At most `max` attempts of one kind by one subject per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub bucket: &'static str,
    pub max: u32,
    pub window_secs: i64,
}

/// The bucket of requests without an API Gateway request context: local
/// servers other than `cargo lambda watch` (which reports 127.0.0.1) and
/// in-process tests. They all share one per-IP counter.
pub const UNKNOWN_IP: &str = "unknown";

const COUNT: &str = "count";
const ENTITY: &str = "throttle";

/// The caller's address as API Gateway saw it (HTTP API events carry it in
/// `requestContext.http.sourceIp`, which lambda_http puts into the request
/// extensions); [`UNKNOWN_IP`] without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SourceIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref(),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        // Parsed, so only an address ever becomes part of a key.
        let ip = ip
            .and_then(|s| s.parse::<IpAddr>().ok())
            .map_or_else(|| UNKNOWN_IP.to_owned(), |ip| ip.to_string());
        Ok(Self(ip))
    }
}

/// A slot taken in a counter.
#[derive(Debug)]
pub struct Slot {
    key: PlatformKey<kind::ThrottleCounter>,
}

/// Takes a slot of `limit` for `subject`, or answers 429 with the seconds
/// until the window ends.
pub async fn reserve(
    store: &Store,
    limit: &Limit,
    subject: &str,
    now: i64,
) -> Result<Slot, ApiError> {
    let start = now - now.rem_euclid(limit.window_secs);
    let end = start + limit.window_secs;
    let key = keys::throttle(limit.bucket, subject, start);
    if store
        .platform()
        .reserve(&key, COUNT, limit.max, end, ENTITY)
        .await?
    {
        Ok(Slot { key })
    } else {
        Err(ApiError::TooManyRequests {
            retry_after_secs: u64::try_from(end - now).unwrap_or(1).max(1),
        })
    }
}

impl Slot {
    /// Gives the slot back: the attempt is not counted.
    pub async fn release(&self, store: &Store) -> Result<(), StoreError> {
        store.platform().release(&self.key, COUNT).await
    }

    /// Forgets the whole window's count.
    pub async fn clear(&self, store: &Store) -> Result<(), StoreError> {
        store.platform().delete(&self.key).await.map(|_| ())
    }
}
