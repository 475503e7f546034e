//! EC2 network kinds and the helpers they share: tags, filters, paging.

pub mod eip;
pub mod internet_gateway;
pub mod launch_template;
pub mod nat_gateway;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod vpc;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use super::{Ctx, user_tags};
use crate::aws::ApiError;
use crate::value::{Attrs, Value};

/// EC2 accepts at most 200 values in one filter.
pub const FILTER_CHUNK: usize = 200;

pub fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// `read_many` of an EC2 kind: its describe filtered by id, in chunks of
/// what one filter takes. Ids that are gone are simply absent.
pub async fn read_by_id_filter<F, Fut>(
    id_filter: &str,
    ids: &[String],
    describe: F,
) -> Result<std::collections::BTreeMap<String, Attrs>, ApiError>
where
    F: Fn(Vec<Filter>) -> Fut,
    Fut: std::future::Future<Output = Result<std::collections::BTreeMap<String, Attrs>, ApiError>>,
{
    let mut out = std::collections::BTreeMap::new();
    for chunk in ids.chunks(FILTER_CHUNK) {
        out.extend(describe(vec![filter(id_filter, chunk)]).await?);
    }
    Ok(out)
}

/// The filters that find a resource by its `reconcile:*` tags.
pub fn address_filters(cx: Ctx<'_>, address: &str) -> Vec<Filter> {
    vec![
        filter(&format!("tag:{}", super::STACK_TAG), [cx.stack]),
        filter(
            &format!("tag:{}", super::ADDRESS_TAG),
            [filter_pattern(address).as_str()],
        ),
    ]
}

/// Whether a filter pattern of [`filter_pattern`] matches `s` (`?`: any
/// one character), for services whose filters the emulator ignores.
pub fn pattern_matches(pattern: &str, s: &str) -> bool {
    pattern.chars().count() == s.chars().count()
        && pattern
            .chars()
            .zip(s.chars())
            .all(|(p, c)| p == '?' || p == c)
}

/// A filter value that matches `s` literally. Filter values are patterns:
/// `*`, `?` (and, in the emulator, `[...]`) are wildcards, and the brackets
/// of an instance key (`subnet.a["x"]`) would otherwise make a character
/// class; `?` matches them (and nothing else can stand there in an address).
pub fn filter_pattern(s: &str) -> String {
    s.chars()
        .map(|c| if matches!(c, '[' | ']' | '*') { '?' } else { c })
        .collect()
}

/// The tag specification of a create call: user tags plus `reconcile:*`.
pub fn tag_spec(cx: Ctx<'_>, rt: ResourceType, address: &str, desired: &Attrs) -> TagSpecification {
    tag_spec_with(cx, rt, address, desired, None)
}

/// `tag_spec` with one more tag, e.g. `reconcile:manages`.
pub fn tag_spec_with(
    cx: Ctx<'_>,
    rt: ResourceType,
    address: &str,
    desired: &Attrs,
    extra: Option<(&str, String)>,
) -> TagSpecification {
    let mut pairs = cx.tags_for(address, desired);
    pairs.extend(extra.map(|(k, v)| (k.to_owned(), v)));
    let tags = pairs
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build());
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tags.collect()))
        .build()
}

/// The user-visible tags of a described resource.
pub fn tags_value(tags: Option<&[Tag]>) -> Value {
    user_tags(
        tags.unwrap_or_default()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
    )
}

/// Brings the user tags of `id` from `live` to `desired` with at most one
/// CreateTags and one DeleteTags call. `reconcile:*` tags are never touched.
pub async fn sync_tags(
    cx: Ctx<'_>,
    id: &str,
    live: &Attrs,
    desired: &Attrs,
) -> Result<(), ApiError> {
    let (set, unset) = super::tag_changes(live, desired);
    let set: Vec<Tag> = set
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let unset: Vec<Tag> = unset
        .into_iter()
        .map(|k| Tag::builder().key(k).build())
        .collect();
    if !set.is_empty() {
        cx.aws
            .ec2
            .create_tags()
            .resources(id)
            .set_tags(Some(set))
            .send()
            .await?;
    }
    if !unset.is_empty() {
        cx.aws
            .ec2
            .delete_tags()
            .resources(id)
            .set_tags(Some(unset))
            .send()
            .await?;
    }
    Ok(())
}

/// An idempotency token (EC2 `ClientToken`) derived from `parts` (stack,
/// address, the inputs that make the call distinct): the same for a retried
/// call, so AWS returns the first result instead of making a second one. At
/// most 64 ASCII characters, as EC2 requires. FNV-1a (128 bits): stable
/// across Rust releases, unlike `DefaultHasher`.
pub fn client_token<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    for part in parts {
        // A separator keeps ("ab", "c") and ("a", "bc") apart.
        for b in part.bytes().chain([0]) {
            hash ^= u128::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("reconcile-{hash:032x}")
}

// Generic helpers every kind uses, re-exported for the EC2 kinds.
pub use crate::aws::error::gone_is_ok;
pub use crate::aws::wait::retry_while_in_use;
pub use crate::kinds::{bool_attr, str_attr};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_tags_are_hidden_from_user_tags() {
        let tags = [
            Tag::builder().key("Name").value("main").build(),
            Tag::builder().key("reconcile:stack").value("s").build(),
            Tag::builder()
                .key("reconcile:address")
                .value("vpc.main")
                .build(),
        ];
        let v = tags_value(Some(&tags));
        assert_eq!(v.str_map().len(), 1);
        assert_eq!(v.str_map()["Name"], "main");
    }

    #[test]
    fn instance_keys_match_literally_in_filters() {
        assert_eq!(
            filter_pattern("module.vpc.eip.nat[\"a\"]"),
            "module.vpc.eip.nat?\"a\"?"
        );
        assert_eq!(filter_pattern("vpc.main"), "vpc.main");
        let address = "module.vpc.nat_gateway.nat[\"a\"]";
        assert!(pattern_matches(&filter_pattern(address), address));
        assert!(!pattern_matches(
            &filter_pattern(address),
            "module.vpc.nat_gateway.nat[\"b\"]"
        ));
    }
}
