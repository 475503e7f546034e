//! A search over resources whose tags come one resource per call: the
//! checks run a few at a time, and the first match ends the search.
//!
//! Callers collect their checks into a `Vec` first: a lazy iterator of
//! borrowing closures trips the lifetimes of `async_trait` methods.

use std::future::Future;

use futures::StreamExt;

use super::READ_CONCURRENCY;
use crate::kinds::ApiResult;

/// Runs `checks`, `READ_CONCURRENCY` at a time, and answers the first
/// `Some` to come back (not necessarily of the first check), or `None`
/// when no check found anything.
pub async fn first_match<R, Fut>(checks: Vec<Fut>) -> ApiResult<Option<R>>
where
    Fut: Future<Output = ApiResult<Option<R>>>,
{
    let mut checks = futures::stream::iter(checks).buffer_unordered(READ_CONCURRENCY);
    while let Some(r) = checks.next().await {
        if let Some(found) = r? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Runs `checks`, `READ_CONCURRENCY` at a time, and answers every `Some`,
/// in no particular order.
pub async fn all_matches<R, Fut>(checks: Vec<Fut>) -> ApiResult<Vec<R>>
where
    Fut: Future<Output = ApiResult<Option<R>>>,
{
    let mut checks = futures::stream::iter(checks).buffer_unordered(READ_CONCURRENCY);
    let mut out = Vec::new();
    while let Some(r) = checks.next().await {
        out.extend(r?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ApiError;

    #[tokio::test]
    async fn the_first_match_ends_the_search_and_errors_stop_it() {
        let checks = (1..=20)
            .map(|i| async move { Ok((i == 7).then_some(i * 10)) })
            .collect();
        assert_eq!(first_match(checks).await.unwrap(), Some(70));
        let none = vec![async { Ok::<Option<u8>, _>(None) }];
        assert_eq!(first_match(none).await.unwrap(), None);
        let err = vec![async { Err::<Option<u8>, _>(ApiError::msg("x")) }];
        assert!(first_match(err).await.is_err());
    }

    #[tokio::test]
    async fn every_match_is_answered() {
        let checks = (1..=20)
            .map(|i| async move { Ok((i % 5 == 0).then_some(i)) })
            .collect();
        let mut got = all_matches(checks).await.unwrap();
        got.sort_unstable();
        assert_eq!(got, [5, 10, 15, 20]);
    }
}
