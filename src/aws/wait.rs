//! Waiters: poll a resource until it reaches a target state, with explicit
//! pending states, a failure state and a timeout (the shape of
//! terraform-provider-aws's `StateChangeConf`).

use std::future::Future;
use std::time::Duration;

use super::ApiError;

/// What one poll saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll<T> {
    /// Still in a pending state (named, for messages).
    Pending(String),
    /// The target state was reached.
    Ready(T),
    /// A state from which the target cannot be reached.
    Failed(String),
}

#[derive(Debug, Clone, Copy)]
pub struct Waiter {
    pub timeout: Duration,
    /// First delay between polls; doubles up to `max_interval`.
    pub interval: Duration,
    pub max_interval: Duration,
}

impl Waiter {
    pub const fn new(timeout: Duration) -> Waiter {
        Waiter {
            timeout,
            interval: Duration::from_millis(200),
            max_interval: Duration::from_secs(15),
        }
    }

    /// Polls `probe` until it answers `Ready` or `Failed`, or the timeout
    /// passes. `what` names the wait in error messages ("NAT gateway
    /// nat-0ab… to become available").
    pub async fn until<T, F, Fut>(&self, what: &str, mut probe: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, ApiError>>,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut delay = self.interval;
        loop {
            let last = match probe().await? {
                Poll::Ready(t) => return Ok(t),
                Poll::Failed(state) => {
                    return Err(ApiError {
                        class: super::ErrorClass::Failed,
                        ..ApiError::msg(format!(
                            "waiting for {what}: reached state {state:?}, which cannot become ready"
                        ))
                    });
                }
                Poll::Pending(state) => state,
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(ApiError {
                    class: super::ErrorClass::Timeout,
                    ..ApiError::msg(format!(
                        "timed out after {} waiting for {what} (last state {last:?})",
                        humantime::format_duration(self.timeout)
                    ))
                });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(self.max_interval);
        }
    }
}

/// Runs `call` (a delete or detach) until it stops answering
/// `DependencyViolation`, for at most `timeout`, backing off between tries.
/// Real AWS keeps answering DependencyViolation for a while after the last
/// dependent went away (e.g. the ENIs of a deleted NAT gateway still hold a
/// subnet); this is the one named, bounded retry for that. Not found counts
/// as success; any other error stops at once.
pub async fn retry_while_in_use<F, Fut>(
    timeout: std::time::Duration,
    what: &str,
    mut call: F,
) -> Result<(), ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    Waiter::new(timeout)
        .until(what, || {
            let attempt = call();
            async move {
                match attempt.await {
                    Ok(()) => Ok(Poll::Ready(())),
                    Err(e) if e.is_not_found() => Ok(Poll::Ready(())),
                    Err(e) if e.class == super::ErrorClass::DependencyViolation => {
                        Ok(Poll::Pending(e.to_string()))
                    }
                    Err(e) => Err(e),
                }
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn scripted(
        states: &'static [&'static str],
    ) -> impl FnMut() -> std::future::Ready<Result<Poll<u8>, ApiError>> {
        let n = AtomicUsize::new(0);
        move || {
            let i = n.fetch_add(1, Ordering::SeqCst).min(states.len() - 1);
            std::future::ready(Ok(match states[i] {
                "available" => Poll::Ready(7),
                "failed" => Poll::Failed("failed".into()),
                s => Poll::Pending(s.into()),
            }))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_through_pending_states_until_available() {
        let w = Waiter::new(Duration::from_mins(1));
        let got = w
            .until("thing", scripted(&["pending", "pending", "available"]))
            .await;
        assert_eq!(got.unwrap(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_state_stops_the_wait_with_its_name() {
        let w = Waiter::new(Duration::from_mins(1));
        let err = w
            .until("thing", scripted(&["pending", "failed"]))
            .await
            .unwrap_err();
        assert!(err.message.contains("\"failed\""), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_resource_stuck_pending_times_out() {
        let w = Waiter::new(Duration::from_secs(30));
        let start = tokio::time::Instant::now();
        let err = w.until("thing", scripted(&["pending"])).await.unwrap_err();
        assert!(err.message.contains("timed out after 30s"), "{err}");
        assert!(err.message.contains("\"pending\""), "{err}");
        assert!(start.elapsed() >= Duration::from_secs(30));
        assert!(start.elapsed() < Duration::from_secs(31));
    }
}
