//! Tags through one trait over the SDKs' tag types: read into a value,
//! the tags of a create, the user tags to set and remove, and whether a
//! resource carries the `reconcile:*` tags of an address.

use std::collections::BTreeMap;
use std::future::Future;

use crate::kinds::ApiResult;
use crate::kinds::{Ctx, Kind, Update};
use crate::value::{Attrs, Value};

/// A key/value tag of one SDK (`aws_sdk_ec2::types::Tag`, …). Each
/// service implements it for its type in its `mod.rs`.
pub trait SdkTag: Sized {
    fn tag_key(&self) -> Option<&str>;
    fn tag_value(&self) -> Option<&str>;
    /// A tag to send (a few SDKs' builders can fail).
    fn from_pair(key: String, value: String) -> ApiResult<Self>;
}

/// `SdkTag` for an SDK tag type with optional key and value and an
/// infallible builder (EC2's, ECS's, ELB's, …).
#[macro_export]
macro_rules! sdk_tag {
    ($tag:ty) => {
        impl $crate::kinds::support::SdkTag for $tag {
            fn tag_key(&self) -> Option<&str> {
                self.key()
            }
            fn tag_value(&self) -> Option<&str> {
                self.value()
            }
            fn from_pair(key: String, value: String) -> Result<Self, $crate::aws::ApiError> {
                Ok(<$tag>::builder().key(key).value(value).build())
            }
        }
    };
}

/// The key/value pairs of SDK tags.
pub fn tag_pairs<T: SdkTag>(tags: &[T]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .filter_map(|t| Some((t.tag_key()?, t.tag_value().unwrap_or_default())))
}

/// The user-visible tags: everything but the `reconcile:*` tags and AWS's
/// own `aws:*` tags (CloudFormation's on what it made, which no one can set
/// or remove: never a difference from the desired state).
pub fn user_tags<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let map: BTreeMap<String, String> = pairs
        .into_iter()
        .filter(|(k, _)| !k.starts_with("reconcile:") && !k.starts_with("aws:"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Value::from(map)
}

/// The user-visible tags of described SDK tags.
pub fn tags_value<T: SdkTag>(tags: &[T]) -> Value {
    user_tags(tag_pairs(tags))
}

/// True when the tags carry the `reconcile:*` tags of `address` in this stack.
pub fn is_ours<T: SdkTag>(cx: Ctx<'_>, address: &str, tags: &[T]) -> bool {
    super::AddressTags::new(cx, address).matches(tag_pairs(tags))
}

/// The tags of a create call: the user's tags plus `reconcile:*`.
pub fn create_tags<T: SdkTag>(cx: Ctx<'_>, address: &str, desired: &Attrs) -> ApiResult<Vec<T>> {
    cx.tags_for(address, desired)
        .into_iter()
        .map(|(k, v)| T::from_pair(k, v))
        .collect()
}

/// The user tags to set and the keys to remove to go from `live` to
/// `desired`. `reconcile:*` tags are never touched (they are not user tags).
pub fn tag_changes(live: &Attrs, desired: &Attrs) -> (BTreeMap<String, String>, Vec<String>) {
    let before = live.get("tags").map(Value::str_map).unwrap_or_default();
    let after = desired.get("tags").map(Value::str_map).unwrap_or_default();
    let unset = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    let set = after
        .into_iter()
        .filter(|(k, v)| before.get(k) != Some(v))
        .collect();
    (set, unset)
}

/// Brings the user tags from `live` to `desired` with at most one `set`
/// call (the tags to add or change) and one `unset` call (the keys to
/// remove), each made only when it has something to do.
pub async fn sync_tags<T, S, SF, U, UF>(
    live: &Attrs,
    desired: &Attrs,
    set: S,
    unset: U,
) -> ApiResult<()>
where
    T: SdkTag,
    S: FnOnce(Vec<T>) -> SF,
    SF: Future<Output = ApiResult<()>>,
    U: FnOnce(Vec<String>) -> UF,
    UF: Future<Output = ApiResult<()>>,
{
    let (to_set, to_unset) = tag_changes(live, desired);
    if !to_set.is_empty() {
        let tags = to_set
            .into_iter()
            .map(|(k, v)| T::from_pair(k, v))
            .collect::<Result<_, _>>()?;
        set(tags).await?;
    }
    if !to_unset.is_empty() {
        unset(to_unset).await?;
    }
    Ok(())
}

/// A service's in-place tag API: brings a resource's user tags from
/// `live`'s to `desired`'s on the handle the API takes (an id or an ARN).
/// One per service (per resource type where the API differs, as IAM's).
#[async_trait::async_trait]
pub trait TagApi: Send + Sync {
    async fn sync(&self, cx: Ctx<'_>, handle: &str, live: &Attrs, desired: &Attrs)
    -> ApiResult<()>;
}

/// Which handle a kind's resources give their tag API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handle {
    /// The resource's id.
    Id,
    /// Its `arn` attribute (read again when the live attributes lack it).
    Arn,
}

/// How a kind's user tags change in place (see `Kind::tagging`).
#[derive(Clone, Copy)]
pub struct Tagging {
    pub api: &'static dyn TagApi,
    pub handle: Handle,
}

impl Tagging {
    /// Tags through `api` on the resource's id.
    pub const fn by_id(api: &'static dyn TagApi) -> Tagging {
        Tagging { api, handle: Handle::Id }
    }

    /// Tags through `api` on the resource's ARN.
    pub const fn by_arn(api: &'static dyn TagApi) -> Tagging {
        Tagging { api, handle: Handle::Arn }
    }

    /// The handle of the resource `op` updates.
    pub async fn handle(&self, kind: &dyn Kind, op: &Update<'_>) -> ApiResult<String> {
        if self.handle == Handle::Id {
            return Ok(op.id.to_owned());
        }
        if let Some(arn) = super::str_attr(op.live, "arn") {
            return Ok(arn);
        }
        let live = kind.read_many(op.cx, &[op.id.to_owned()]).await?;
        live.get(op.id)
            .and_then(|a| super::str_attr(a, "arn"))
            .ok_or_else(|| crate::aws::ApiError::msg(format!("{}: no ARN to tag", op.address)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{ADDRESS_TAG, STACK_TAG};

    /// A tag type of no SDK, to test the generic part alone.
    #[derive(Debug, Clone, PartialEq)]
    struct T(String, String);

    impl SdkTag for T {
        fn tag_key(&self) -> Option<&str> {
            Some(&self.0)
        }
        fn tag_value(&self) -> Option<&str> {
            Some(&self.1)
        }
        fn from_pair(key: String, value: String) -> ApiResult<Self> {
            Ok(T(key, value))
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::str(*v)))
                .collect(),
        )
    }

    fn cx(clients: &crate::aws::Clients) -> Ctx<'_> {
        Ctx { aws: clients, stack: "s" }
    }

    fn clients() -> crate::aws::Clients {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        crate::aws::Clients::from_config(&config)
    }

    #[test]
    fn reconcile_tags_are_hidden_and_identify_the_address() {
        let clients = clients();
        let described = [
            T("Name".into(), "web".into()),
            T(STACK_TAG.into(), "s".into()),
            T(ADDRESS_TAG.into(), "vpc.main".into()),
        ];
        assert_eq!(tags_value(&described), tags(&[("Name", "web")]));
        assert!(is_ours(cx(&clients), "vpc.main", &described));
        assert!(!is_ours(cx(&clients), "vpc.other", &described));
        let other_stack = Ctx { aws: &clients, stack: "t" };
        assert!(!is_ours(other_stack, "vpc.main", &described));
    }

    #[test]
    fn a_create_carries_the_user_tags_and_the_reconcile_tags() {
        let clients = clients();
        let desired = Attrs::from([("tags".to_owned(), tags(&[("Name", "web")]))]);
        let sent: Vec<T> = create_tags(cx(&clients), "vpc.main", &desired).unwrap();
        assert!(sent.contains(&T("Name".into(), "web".into())));
        assert!(sent.contains(&T(STACK_TAG.into(), "s".into())));
        assert!(sent.contains(&T(ADDRESS_TAG.into(), "vpc.main".into())));
    }

    #[tokio::test]
    async fn a_sync_sets_what_changed_removes_what_went_and_calls_nothing_else() {
        let live = Attrs::from([("tags".to_owned(), tags(&[("a", "1"), ("b", "2")]))]);
        let desired = Attrs::from([("tags".to_owned(), tags(&[("a", "1"), ("c", "3")]))]);
        let calls = std::sync::Mutex::new(Vec::new());
        sync_tags(
            &live,
            &desired,
            |set: Vec<T>| {
                calls.lock().unwrap().push(format!("set {set:?}"));
                async { Ok(()) }
            },
            |unset| {
                calls.lock().unwrap().push(format!("unset {unset:?}"));
                async { Ok(()) }
            },
        )
        .await
        .unwrap();
        assert_eq!(
            *calls.lock().unwrap(),
            [r#"set [T("c", "3")]"#, r#"unset ["b"]"#]
        );
        sync_tags(
            &live,
            &live,
            |_: Vec<T>| async { panic!("nothing to set") },
            |_| async { panic!("nothing to unset") },
        )
        .await
        .unwrap();
    }

    #[test]
    fn aws_own_tags_are_not_user_tags() {
        let v = user_tags([
            ("Name", "web"),
            ("aws:cloudformation:stack-name", "legacy"),
            ("reconcile:stack", "s"),
        ]);
        assert_eq!(v, tags(&[("Name", "web")]));
    }
}
