//! Split throttles (two limits on one subject, counted in one item)
//! against DynamoDB Local. Each test passes its own `now`, so windows are
//! fixed and the expected waits exact.

use shared::http::ApiError;
use shared::store::Store;
use shared::throttle::{clear_split, reserve_each, reserve_split, Limit, SplitLimit, SplitSlot};
use std::sync::Arc;
use tests::fresh_store;
use tokio::sync::Barrier;
use uuid::Uuid;

const HOUR: i64 = 3600;
const QUARTER: i64 = 900;

fn split(overall_max: u32, per_part_max: u32) -> SplitLimit {
    SplitLimit::new(
        Limit {
            bucket: "test-all",
            max: overall_max,
            window_secs: HOUR,
        },
        Limit {
            bucket: "test-part",
            max: per_part_max,
            window_secs: QUARTER,
        },
    )
}

/// 100 s into the current hour (and its first quarter).
fn early_in_the_hour() -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    now - now.rem_euclid(HOUR) + 100
}

fn subject() -> String {
    format!("{}@example.com", Uuid::new_v4())
}

async fn take(
    store: &Store,
    limit: &SplitLimit,
    subject: &str,
    part: &str,
    now: i64,
) -> Result<SplitSlot, u64> {
    match reserve_split(store, limit, subject, part, now).await {
        Ok(slot) => Ok(slot),
        Err(ApiError::TooManyRequests { retry_after_secs }) => Err(retry_after_secs),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

/// Takes `n` slots that must all be granted.
async fn take_n(store: &Store, limit: &SplitLimit, subject: &str, part: &str, now: i64, n: u32) {
    for i in 0..n {
        if let Err(retry) = take(store, limit, subject, part, now).await {
            panic!("slot {i} from {part} refused (retry after {retry} s)");
        }
    }
}

/// Concurrent attempts on one subject, all released at once.
async fn race(
    store: &Store,
    limit: SplitLimit,
    subject: &str,
    parts: Vec<String>,
    now: i64,
) -> usize {
    let start = Arc::new(Barrier::new(parts.len()));
    let tasks: Vec<_> = parts
        .into_iter()
        .map(|part| {
            let (store, start, subject) = (store.clone(), start.clone(), subject.to_owned());
            tokio::spawn(async move {
                start.wait().await;
                take(&store, &limit, &subject, &part, now).await.is_ok()
            })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        granted += usize::from(task.await.unwrap());
    }
    granted
}

#[tokio::test]
async fn thirty_concurrent_attempts_from_one_part_take_exactly_its_limit() {
    let store = fresh_store().await;
    let (limit, who, now) = (split(100, 5), subject(), early_in_the_hour());
    let granted = race(&store, limit, &who, vec!["203.0.113.1".into(); 30], now).await;
    assert_eq!(granted, 5);
    // The refused attempts took nothing overall either (one write takes
    // both slots or neither): 95 more fit from other parts.
    for i in 0..19 {
        take_n(&store, &limit, &who, &format!("198.51.100.{i}"), now, 5).await;
    }
    assert_eq!(
        take(&store, &limit, &who, "192.0.2.1", now).await.err(),
        Some((HOUR - 100) as u64),
        "the overall count must be full now"
    );
}

#[tokio::test]
async fn concurrent_attempts_from_many_parts_stop_at_the_overall_limit() {
    let store = fresh_store().await;
    let (limit, who, now) = (split(4, 5), subject(), early_in_the_hour());
    let parts = (0..12).map(|i| format!("198.51.100.{i}")).collect();
    assert_eq!(race(&store, limit, &who, parts, now).await, 4);
}

#[tokio::test]
async fn a_refusal_waits_for_the_window_that_is_full() {
    let store = fresh_store().await;
    let (limit, who, now) = (split(8, 5), subject(), early_in_the_hour());
    take_n(&store, &limit, &who, "a", now, 5).await;
    // Only the part is full: until the quarter ends.
    assert_eq!(
        take(&store, &limit, &who, "a", now).await.err(),
        Some((QUARTER - 100) as u64)
    );
    take_n(&store, &limit, &who, "b", now, 3).await;
    // The subject is full: until the hour ends, from any part, even one
    // whose own quarter is full too.
    for part in ["c", "a"] {
        assert_eq!(
            take(&store, &limit, &who, part, now).await.err(),
            Some((HOUR - 100) as u64),
            "{part}"
        );
    }
    // A part's count is per quarter: the next one starts at zero, while
    // the hour's count still holds.
    assert_eq!(
        take(&store, &limit, &who, "a", now + QUARTER).await.err(),
        Some((HOUR - 100 - QUARTER) as u64)
    );
    let next_hour = now + HOUR;
    take_n(&store, &limit, &who, "a", next_hour, 5).await;
}

#[tokio::test]
async fn a_success_gives_back_one_overall_slot_and_forgives_its_part() {
    let store = fresh_store().await;
    let (limit, who, now) = (split(6, 5), subject(), early_in_the_hour());
    take_n(&store, &limit, &who, "a", now, 2).await;
    take_n(&store, &limit, &who, "b", now, 1).await;
    let last = take(&store, &limit, &who, "a", now).await.unwrap();
    last.release_and_clear_part(&store).await.unwrap();
    // Overall 4 - 1 = 3; "a" from zero: exactly 3 more fit, then the
    // subject (not "a") is full.
    take_n(&store, &limit, &who, "a", now, 3).await;
    assert_eq!(
        take(&store, &limit, &who, "a", now).await.err(),
        Some((HOUR - 100) as u64)
    );
}

#[tokio::test]
async fn clearing_forgets_the_subject_and_that_part_only() {
    let store = fresh_store().await;
    let (limit, who, now) = (split(10, 5), subject(), early_in_the_hour());
    take_n(&store, &limit, &who, "a", now, 5).await;
    take_n(&store, &limit, &who, "b", now, 2).await;
    clear_split(&store, &limit, &who, "a", now).await.unwrap();
    take_n(&store, &limit, &who, "a", now, 5).await;
    // "b" kept its two: three more, then its quarter is full.
    take_n(&store, &limit, &who, "b", now, 3).await;
    assert_eq!(
        take(&store, &limit, &who, "b", now).await.err(),
        Some((QUARTER - 100) as u64)
    );
    // Clearing a subject with nothing counted creates nothing and fails
    // nothing.
    clear_split(&store, &limit, &subject(), "a", now)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_release_after_a_clear_never_drives_the_count_below_zero() {
    let store = fresh_store().await;
    let (limit, who, now) = (split(3, 5), subject(), early_in_the_hour());
    let slot = take(&store, &limit, &who, "a", now).await.unwrap();
    take_n(&store, &limit, &who, "a", now, 1).await;
    clear_split(&store, &limit, &who, "a", now).await.unwrap();
    slot.release_and_clear_part(&store).await.unwrap();
    // A count of -1 would let a fourth through.
    let parts = (0..6).map(|i| format!("p{i}")).collect();
    assert_eq!(race(&store, limit, &who, parts, now).await, 3);
}

#[tokio::test]
async fn a_release_after_a_clear_still_forgives_its_part() {
    let store = fresh_store().await;
    let (limit, who, now) = (split(10, 5), subject(), early_in_the_hour());
    take_n(&store, &limit, &who, "a", now, 3).await;
    let slot = take(&store, &limit, &who, "a", now).await.unwrap();
    // A reset from another address clears the subject's count meanwhile.
    clear_split(&store, &limit, &who, "b", now).await.unwrap();
    slot.release_and_clear_part(&store).await.unwrap();
    // "a" is forgiven all four: five fit again, not one.
    take_n(&store, &limit, &who, "a", now, 5).await;
    assert_eq!(
        take(&store, &limit, &who, "a", now).await.err(),
        Some((QUARTER - 100) as u64)
    );
}

fn limit(bucket: &'static str, max: u32, window_secs: i64) -> Limit {
    Limit {
        bucket,
        max,
        window_secs,
    }
}

async fn each(store: &Store, limits: &[(&Limit, &str)], now: i64) -> Result<(), u64> {
    match reserve_each(store, limits, now).await {
        Ok(()) => Ok(()),
        Err(ApiError::TooManyRequests { retry_after_secs }) => Err(retry_after_secs),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[tokio::test]
async fn a_request_refused_by_one_limit_costs_nothing_under_the_others() {
    let store = fresh_store().await;
    let (by_ip, by_email) = (limit("test-ip", 3, HOUR), limit("test-email", 1, HOUR));
    let (ip, now) = (subject(), early_in_the_hour());
    let (first, second) = (subject(), subject());
    each(&store, &[(&by_ip, &ip), (&by_email, &first)], now)
        .await
        .unwrap();
    // The email's one slot is gone: refused, and the address's slot of
    // this attempt given back.
    for _ in 0..3 {
        assert_eq!(
            each(&store, &[(&by_ip, &ip), (&by_email, &first)], now).await,
            Err((HOUR - 100) as u64)
        );
    }
    // So the address has two left, not none.
    each(&store, &[(&by_ip, &ip), (&by_email, &second)], now)
        .await
        .unwrap();
    each(&store, &[(&by_ip, &ip)], now).await.unwrap();
    assert_eq!(
        each(&store, &[(&by_ip, &ip)], now).await,
        Err((HOUR - 100) as u64)
    );
}

#[tokio::test]
async fn a_request_refused_by_several_limits_waits_for_the_last_window() {
    let store = fresh_store().await;
    let (short, long) = (limit("test-short", 1, QUARTER), limit("test-long", 1, HOUR));
    let (who, now) = (subject(), early_in_the_hour());
    each(&store, &[(&short, &who), (&long, &who)], now)
        .await
        .unwrap();
    assert_eq!(
        each(&store, &[(&short, &who), (&long, &who)], now).await,
        Err((HOUR - 100) as u64)
    );
    assert_eq!(
        each(&store, &[(&short, &who)], now).await,
        Err((QUARTER - 100) as u64)
    );
}
