//! The wait after a create, on top of `aws::wait::Waiter`.

use std::future::Future;
use std::time::Duration;

use crate::aws::ApiError;
use crate::aws::wait::{Poll, Waiter};
use crate::kinds::ApiResult;

const NOT_YET_VISIBLE: &str = "not yet visible";

/// Polls `look` until the resource just created is ready. Just created, it
/// may be unknown to the API for a moment (EC2 and IAM are eventually
/// consistent): a NotFound answer means "not yet visible", not gone.
pub async fn wait_visible<T, F, Fut>(timeout: Duration, what: &str, mut look: F) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ApiResult<Poll<T>>>,
{
    Waiter::new(timeout)
        .until(what, || {
            let look = look();
            async move {
                match look.await {
                    Err(e) if e.is_not_found() => Ok(Poll::Pending(NOT_YET_VISIBLE.into())),
                    other => other,
                }
            }
        })
        .await
}

/// Ready once the resource is seen at all.
pub fn present<T>(seen: Option<T>) -> Poll<T> {
    seen.map_or_else(|| Poll::Pending(NOT_YET_VISIBLE.into()), Poll::Ready)
}

/// One attempt of a delete as a waiter's poll: done when it worked or the
/// resource is already gone; pending while `in_use` says that something
/// still holds it (a dependency AWS releases on its own, in time).
pub fn delete_poll<T, E>(r: Result<T, E>, in_use: impl Fn(&ApiError) -> bool) -> ApiResult<Poll<()>>
where
    ApiError: From<E>,
{
    match r.map_err(ApiError::from) {
        Ok(_) => Ok(Poll::Ready(())),
        Err(e) if e.is_not_found() => Ok(Poll::Ready(())),
        Err(e) if in_use(&e) => Ok(Poll::Pending(e.to_string())),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::aws::ApiError;
    use crate::aws::ErrorClass;

    fn api_error(class: ErrorClass) -> ApiError {
        ApiError { code: Some("X".into()), message: "m".into(), class }
    }

    #[tokio::test(start_paused = true)]
    async fn not_found_after_a_create_is_waited_out() {
        let n = AtomicUsize::new(0);
        let got = wait_visible(Duration::from_mins(1), "thing", || {
            let i = n.fetch_add(1, Ordering::SeqCst);
            async move {
                match i {
                    0 => Err(api_error(ErrorClass::NotFound)),
                    1 => Ok(present(None)),
                    _ => Ok(present(Some(7))),
                }
            }
        })
        .await;
        assert_eq!(got.unwrap(), 7);
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_stop_the_wait_and_a_resource_never_seen_times_out() {
        let err = wait_visible(Duration::from_mins(1), "thing", || async {
            Err::<Poll<()>, _>(api_error(ErrorClass::Other))
        })
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Other);
        let err = wait_visible(Duration::from_secs(5), "thing", || async {
            Ok(present::<()>(None))
        })
        .await
        .unwrap_err();
        assert!(err.message.contains("not yet visible"), "{err}");
    }
}
