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

/// The attribute of a counter item holding its subject's count.
pub const COUNT: &str = "count";
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

/// Two limits on one subject counted in one item, so that one write takes
/// a slot of both: `overall` per subject, and `per_part` per (subject,
/// part), e.g. failed logins per email, and per email from one address.
/// The item is the subject's `overall` window; each part's count in its
/// own window is an attribute of it, so `per_part` windows must nest in
/// `overall` ones (checked when the constant is built).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitLimit {
    pub overall: Limit,
    pub per_part: Limit,
}

impl SplitLimit {
    pub const fn new(overall: Limit, per_part: Limit) -> Self {
        assert!(
            per_part.window_secs > 0 && overall.window_secs % per_part.window_secs == 0,
            "the per-part windows must nest in the overall ones"
        );
        Self { overall, per_part }
    }

    /// The subject's item in the window of `now`, the part's attribute in
    /// it, and when each of the two windows ends.
    fn at(&self, subject: &str, part: &str, now: i64) -> (SplitSlot, i64, i64) {
        let overall_start = now - now.rem_euclid(self.overall.window_secs);
        let part_start = now - now.rem_euclid(self.per_part.window_secs);
        let slot = SplitSlot {
            key: keys::throttle(self.overall.bucket, subject, overall_start),
            part_field: format!("{}#{part}#W{part_start}", self.per_part.bucket),
        };
        (
            slot,
            overall_start + self.overall.window_secs,
            part_start + self.per_part.window_secs,
        )
    }
}

/// A slot taken in both counters of a [`SplitLimit`].
#[derive(Debug)]
pub struct SplitSlot {
    key: PlatformKey<kind::ThrottleCounter>,
    part_field: String,
}

/// Takes a slot of both limits for `subject` from `part`, or neither and
/// answers 429 with the seconds until the full window ends (the later
/// one when both are full). One write; a refusal reads the counts, to
/// tell which window to wait for.
pub async fn reserve_split(
    store: &Store,
    limit: &SplitLimit,
    subject: &str,
    part: &str,
    now: i64,
) -> Result<SplitSlot, ApiError> {
    let (slot, overall_end, part_end) = limit.at(subject, part, now);
    let counters = [
        (COUNT, limit.overall.max),
        (slot.part_field.as_str(), limit.per_part.max),
    ];
    let platform = store.platform();
    if platform
        .reserve_all(&slot.key, &counters, overall_end, ENTITY)
        .await?
    {
        return Ok(slot);
    }
    let counts = platform
        .counts(&slot.key, &[COUNT, &slot.part_field])
        .await?;
    let full = |i: usize, max: u32| counts.get(i).is_some_and(|&n| n >= u64::from(max));
    let end = [
        full(0, limit.overall.max).then_some(overall_end),
        full(1, limit.per_part.max).then_some(part_end),
    ]
    .into_iter()
    .flatten()
    .max()
    // Room was given back since the refusal: a second is enough.
    .unwrap_or(now + 1);
    Err(ApiError::TooManyRequests {
        retry_after_secs: u64::try_from(end - now).unwrap_or(1).max(1),
    })
}

/// Forgets `subject`'s overall count and its count from `part`, in the
/// current windows. Other parts' counts stay.
pub async fn clear_split(
    store: &Store,
    limit: &SplitLimit,
    subject: &str,
    part: &str,
    now: i64,
) -> Result<(), StoreError> {
    let (slot, _, _) = limit.at(subject, part, now);
    store
        .platform()
        .forget(&slot.key, &[COUNT, &slot.part_field])
        .await
}

impl SplitSlot {
    /// Gives back both slots: the attempt is not counted.
    pub async fn give_back(&self, store: &Store) -> Result<(), StoreError> {
        store
            .platform()
            .release_all(&self.key, &[COUNT, &self.part_field])
            .await
    }

    /// Gives back the overall slot and forgets the part's whole count, in
    /// one write.
    pub async fn release_and_clear_part(&self, store: &Store) -> Result<(), StoreError> {
        store
            .platform()
            .release_and_forget(&self.key, COUNT, &[&self.part_field])
            .await
    }
}

/// Takes a slot of `limit` for `subject`, or answers 429 with the seconds
/// until the window ends.
pub async fn reserve(
    store: &Store,
    limit: &Limit,
    subject: &str,
    now: i64,
) -> Result<(), ApiError> {
    reserve_each(store, &[(limit, subject)], now).await
}

/// Gives back the slot [`reserve`] took for `subject` in the window of
/// `now`: the attempt is not counted.
pub async fn give_back(
    store: &Store,
    limit: &Limit,
    subject: &str,
    now: i64,
) -> Result<(), StoreError> {
    let key = keys::throttle(
        limit.bucket,
        subject,
        now - now.rem_euclid(limit.window_secs),
    );
    store.platform().release_all(&key, &[COUNT]).await
}

/// Of two refusals, the one that waits longer (a request refused under two
/// limits may go on once both windows end).
pub fn longer_wait(a: ApiError, b: ApiError) -> ApiError {
    match (&a, &b) {
        (
            ApiError::TooManyRequests {
                retry_after_secs: x,
            },
            ApiError::TooManyRequests {
                retry_after_secs: y,
            },
        ) if y > x => b,
        (ApiError::TooManyRequests { .. }, _) if !matches!(b, ApiError::TooManyRequests { .. }) => {
            b
        }
        _ => a,
    }
}

/// Takes a slot of each `(limit, subject)` at once (one round trip), or
/// none: when any is refused, the slots taken are given back and the
/// answer is 429 with the longest wait among the refusals. A request
/// refused by one limit so costs nothing under the others.
pub async fn reserve_each(
    store: &Store,
    limits: &[(&Limit, &str)],
    now: i64,
) -> Result<(), ApiError> {
    let platform = store.platform();
    let attempts = limits.iter().map(|&(limit, subject)| {
        let start = now - now.rem_euclid(limit.window_secs);
        let end = start + limit.window_secs;
        let key = keys::throttle(limit.bucket, subject, start);
        let platform = &platform;
        async move {
            let taken = platform.reserve(&key, COUNT, limit.max, end, ENTITY).await;
            (key, end, taken)
        }
    });
    let mut taken = Vec::new();
    let mut wait: Option<i64> = None;
    let mut failure = None;
    for (key, end, result) in futures_util::future::join_all(attempts).await {
        match result {
            Ok(true) => taken.push(key),
            Ok(false) => wait = Some(wait.map_or(end - now, |w| w.max(end - now))),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    if wait.is_none() && failure.is_none() {
        return Ok(());
    }
    let releases = taken.iter().map(|key| platform.release_all(key, &[COUNT]));
    for result in futures_util::future::join_all(releases).await {
        if let Err(e) = result {
            tracing::warn!(error = %crate::report::ErrorChain(&e), "could not give back a throttle slot");
        }
    }
    match (failure, wait) {
        (Some(e), _) => Err(e.into()),
        (None, wait) => Err(ApiError::TooManyRequests {
            retry_after_secs: u64::try_from(wait.unwrap_or(1)).unwrap_or(1).max(1),
        }),
    }
}
