use std::future::Future;
use std::time::Duration;

/// How often, and how far apart, a contended write is tried again.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Fixed part of each pause, in milliseconds.
    pub base_ms: u64,
    /// Added to a pause per failed attempt so far, for at most `max_steps`.
    pub step_ms: u64,
    pub max_steps: u32,
    /// Up to this many milliseconds more, at random: racing requests that
    /// failed together must not retry together.
    pub jitter_ms: u64,
}

impl Backoff {
    /// The pause after the `failures`-th failed attempt.
    fn pause(&self, failures: u32) -> Duration {
        let jitter = match self.jitter_ms {
            0 => 0,
            n => u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % n,
        };
        let steps = u64::from(failures.min(self.max_steps));
        Duration::from_millis(self.base_ms + self.step_ms * steps + jitter)
    }
}

/// Runs `attempt` until it succeeds, fails with an error `retryable`
/// refuses, or `backoff.attempts` are spent (then: the last error),
/// pausing between attempts.
pub async fn retry<T, E, F, Fut>(
    backoff: Backoff,
    retryable: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut failures = 0u32;
    loop {
        match attempt().await {
            Err(e) if retryable(&e) && failures + 1 < backoff.attempts => {
                failures += 1;
                tokio::time::sleep(backoff.pause(failures)).await;
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stops_at_success_at_a_final_error_or_when_attempts_are_spent() {
        let quick = Backoff {
            attempts: 3,
            base_ms: 0,
            step_ms: 0,
            max_steps: 0,
            jitter_ms: 0,
        };
        let mut calls = 0;
        let r: Result<u32, &str> = retry(
            quick,
            |_| true,
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 2 {
                        Err("busy")
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(r, Ok(2));

        let mut calls = 0;
        let r: Result<(), &str> = retry(
            quick,
            |e| *e == "busy",
            || {
                calls += 1;
                async { Err("busy") }
            },
        )
        .await;
        assert_eq!((r, calls), (Err("busy"), 3));

        let mut calls = 0;
        let r: Result<(), &str> = retry(
            quick,
            |e| *e == "busy",
            || {
                calls += 1;
                async { Err("gone") }
            },
        )
        .await;
        assert_eq!((r, calls), (Err("gone"), 1));
    }
}
