//! Finders: "not found" is an answer (`None`), not an error; and a
//! resource reconcile made is found again by its `reconcile:*` tags.

use std::future::Future;

use crate::kinds::{ADDRESS_TAG, ApiResult, Ctx, STACK_TAG};

/// `Ok(None)` when the error says the resource is gone, so that a read can
/// leave it out of its answer.
pub fn found<T>(r: ApiResult<T>) -> ApiResult<Option<T>> {
    match r {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The `reconcile:*` tags that identify the resource at an address of a
/// stack.
#[derive(Debug, Clone, Copy)]
pub struct AddressTags<'a> {
    pub stack: &'a str,
    pub address: &'a str,
}

impl<'a> AddressTags<'a> {
    pub fn new(cx: Ctx<'a>, address: &'a str) -> AddressTags<'a> {
        AddressTags { stack: cx.stack, address }
    }

    /// The tags as key/value pairs, e.g. for a tag filter.
    pub fn pairs(&self) -> [(&'static str, &'a str); 2] {
        [(STACK_TAG, self.stack), (ADDRESS_TAG, self.address)]
    }

    /// True when `tags` carry both.
    pub fn matches<'t>(&self, tags: impl IntoIterator<Item = (&'t str, &'t str)>) -> bool {
        let (mut stack, mut address) = (false, false);
        for (k, v) in tags {
            stack |= k == STACK_TAG && v == self.stack;
            address |= k == ADDRESS_TAG && v == self.address;
        }
        stack && address
    }
}

/// What a search answers for each resource it found: its id, or its id
/// and attributes.
pub trait FoundId {
    fn into_id(self) -> String;
}

impl FoundId for String {
    fn into_id(self) -> String {
        self
    }
}

impl<V> FoundId for (String, V) {
    fn into_id(self) -> String {
        self.0
    }
}

/// `Kind::find_by_address` of a kind identified by tags: `search` answers
/// the resources that carry the address's tags — by a tag filter where the
/// API has one, else by listing and `AddressTags::matches` — and the first
/// one is the resource.
pub async fn find_by_address<'a, F, Fut, I>(
    cx: Ctx<'a>,
    address: &'a str,
    search: F,
) -> ApiResult<Option<String>>
where
    F: FnOnce(AddressTags<'a>) -> Fut,
    Fut: Future<Output = ApiResult<I>>,
    I: IntoIterator,
    I::Item: FoundId,
{
    Ok(search(AddressTags::new(cx, address))
        .await?
        .into_iter()
        .next()
        .map(FoundId::into_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ApiError;
    use crate::aws::ErrorClass;

    #[test]
    fn not_found_is_none_and_other_errors_stay_errors() {
        let err = |class| ApiError { code: Some("X".into()), message: "m".into(), class };
        assert_eq!(found(Ok::<_, ApiError>(3)).unwrap(), Some(3));
        assert_eq!(found::<u8>(Err(err(ErrorClass::NotFound))).unwrap(), None);
        assert!(found::<u8>(Err(err(ErrorClass::Other))).is_err());
    }

    #[test]
    fn address_tags_match_only_both_tags_of_this_stack() {
        let t = AddressTags { stack: "s", address: "vpc.main" };
        assert!(t.matches([(STACK_TAG, "s"), (ADDRESS_TAG, "vpc.main"), ("Name", "x")]));
        assert!(!t.matches([(STACK_TAG, "other"), (ADDRESS_TAG, "vpc.main")]));
        assert!(!t.matches([(ADDRESS_TAG, "vpc.main")]));
    }
}
