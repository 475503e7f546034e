//! The batched reader: ids split into chunks of what one call of the API
//! takes, chunks read a few at a time, pages followed by the SDK's
//! paginators (`all_pages!`).

use std::collections::BTreeMap;
use std::future::Future;

use futures::StreamExt;

use crate::kinds::ApiResult;
use crate::value::Attrs;

/// How a describe takes many ids at once.
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    /// Ids (or filter values) per call.
    pub limit: usize,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// The whole call fails when any one id is unknown (ELB): such a chunk
    /// is read again one id at a time, and an id still not found is left
    /// out.
    pub unknown_fails_chunk: bool,
}

impl Batch {
    /// `limit` ids per call, one call at a time.
    pub const fn of(limit: usize) -> Batch {
        Batch { limit, concurrency: 1, unknown_fails_chunk: false }
    }

    /// Up to `n` calls at once.
    pub const fn concurrent(mut self, n: usize) -> Batch {
        self.concurrency = n;
        self
    }

    /// See the field.
    pub const fn unknown_fails_chunk(mut self) -> Batch {
        self.unknown_fails_chunk = true;
        self
    }

    /// Reads `ids` with `describe`, one call per chunk, and gathers every
    /// answer. No id, no call.
    pub async fn read<'a, O, I, F, Fut>(&self, ids: &'a [String], describe: F) -> ApiResult<O>
    where
        O: Default + Extend<I::Item>,
        I: IntoIterator,
        F: Fn(&'a [String]) -> Fut,
        Fut: Future<Output = ApiResult<I>>,
    {
        let describe = &describe;
        let calls: Vec<_> = ids
            .chunks(self.limit.max(1))
            .map(|chunk| async move {
                match describe(chunk).await {
                    Err(e) if self.unknown_fails_chunk && e.is_not_found() => {
                        self.one_by_one(chunk, describe).await
                    }
                    Ok(items) => Ok(items.into_iter().collect()),
                    Err(e) => Err(e),
                }
            })
            .collect();
        let mut answers = futures::stream::iter(calls).buffer_unordered(self.concurrency.max(1));
        let mut out = O::default();
        while let Some(items) = answers.next().await {
            let items: Vec<I::Item> = items?;
            out.extend(items);
        }
        Ok(out)
    }

    async fn one_by_one<'a, I, F, Fut>(
        &self,
        chunk: &'a [String],
        describe: &F,
    ) -> ApiResult<Vec<I::Item>>
    where
        I: IntoIterator,
        F: Fn(&'a [String]) -> Fut,
        Fut: Future<Output = ApiResult<I>>,
    {
        let each = chunk.chunks(1).map(|one| async move {
            match describe(one).await {
                Err(e) if e.is_not_found() => Ok(Vec::new()),
                other => other.map(|items| items.into_iter().collect::<Vec<_>>()),
            }
        });
        Ok(futures::future::try_join_all(each)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }
}

/// At most this many per-resource reads of one kind at once, where the API
/// has no batched describe (or tags come one resource at a time).
pub const READ_CONCURRENCY: usize = 8;

/// Runs per-resource reads, `READ_CONCURRENCY` at a time, into id →
/// attributes; a read that answers `None` (the resource is gone) is left
/// out.
pub async fn read_each<I, Fut>(reads: I) -> ApiResult<BTreeMap<String, Attrs>>
where
    I: IntoIterator<Item = Fut>,
    Fut: Future<Output = ApiResult<Option<(String, Attrs)>>>,
{
    let mut reads = futures::stream::iter(reads).buffer_unordered(READ_CONCURRENCY);
    let mut out = BTreeMap::new();
    while let Some(r) = reads.next().await {
        if let Some((id, a)) = r? {
            out.insert(id, a);
        }
    }
    Ok(out)
}

/// Every item of every page of an SDK call that has a paginator, or the
/// first error (as an `ApiError`).
#[macro_export]
macro_rules! all_pages {
    ($call:expr) => {
        $call
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err($crate::aws::ApiError::from)
    };
}

pub use crate::all_pages as pages;

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::aws::ApiError;
    use crate::aws::ErrorClass;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("id-{i}")).collect()
    }

    #[tokio::test]
    async fn ids_are_read_in_chunks_of_the_limit_and_none_makes_no_call() {
        let calls = Mutex::new(Vec::new());
        let ids = ids(45);
        let got: BTreeMap<String, usize> = Batch::of(20)
            .concurrent(3)
            .read(&ids, |chunk| {
                calls.lock().unwrap().push(chunk.len());
                async move { Ok(chunk.iter().map(|i| (i.clone(), chunk.len()))) }
            })
            .await
            .unwrap();
        assert_eq!(got.len(), 45);
        let mut sizes = calls.lock().unwrap().clone();
        sizes.sort_unstable();
        assert_eq!(sizes, [5, 20, 20]);
        let none: Vec<String> = Batch::of(20)
            .read(&[], |chunk| {
                calls.lock().unwrap().push(chunk.len());
                async move { Ok(chunk.to_vec()) }
            })
            .await
            .unwrap();
        assert!(none.is_empty());
        assert_eq!(calls.lock().unwrap().len(), 3, "no call without ids");
    }

    #[tokio::test]
    async fn an_unknown_id_in_a_chunk_leaves_only_that_id_out() {
        let ids = ids(3);
        let got: Vec<String> = Batch::of(20)
            .unknown_fails_chunk()
            .read(&ids, |chunk| async move {
                if chunk.iter().any(|i| i == "id-1") {
                    Err(ApiError {
                        code: Some("LoadBalancerNotFound".into()),
                        message: "m".into(),
                        class: ErrorClass::NotFound,
                    })
                } else {
                    Ok(chunk.to_vec())
                }
            })
            .await
            .unwrap();
        let mut got = got;
        got.sort();
        assert_eq!(got, ["id-0", "id-2"]);
    }
}
