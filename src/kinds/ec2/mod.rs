//! EC2 network kinds and the helpers they share: tags, filters, paging.

/// The AWS service of these kinds.
pub const SERVICE: &str = "ec2";

pub mod eip;
pub mod internet_gateway;
pub mod launch_template;
pub mod nat_gateway;
pub mod route_table;
pub mod security_group;
pub mod security_group_rule;
pub mod subnet;
pub mod vpc;
pub mod vpc_endpoint;

use crate::kinds::support::TagApi;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use super::Ctx;
use super::support::{AddressTags, Batch, create_tags};
use crate::kinds::ApiResult;
use crate::value::Attrs;

crate::sdk_tag!(Tag);

/// EC2 accepts at most 200 values in one filter.
pub const FILTER_CHUNK: usize = 200;

/// How an EC2 describe reads many ids: as values of one id filter.
pub const BATCH: Batch = Batch::of(FILTER_CHUNK);

pub fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// The filters that find a resource by its `reconcile:*` tags.
pub fn address_filters(t: AddressTags<'_>) -> Vec<Filter> {
    t.pairs()
        .into_iter()
        .map(|(k, v)| filter(&format!("tag:{k}"), [filter_pattern(v)]))
        .collect()
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
pub fn tag_spec(
    cx: Ctx<'_>,
    rt: ResourceType,
    address: &str,
    desired: &Attrs,
) -> ApiResult<TagSpecification> {
    tag_spec_with(cx, rt, address, desired, None)
}

/// `tag_spec` with one more tag, e.g. `reconcile:manages`.
pub fn tag_spec_with(
    cx: Ctx<'_>,
    rt: ResourceType,
    address: &str,
    desired: &Attrs,
    extra: Option<(&str, String)>,
) -> ApiResult<TagSpecification> {
    let mut tags: Vec<Tag> = create_tags(cx, address, desired)?;
    tags.extend(extra.map(|(k, v)| Tag::builder().key(k).value(v).build()));
    Ok(TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tags))
        .build())
}

/// EC2's tag API, on the resource id: at most one CreateTags and one
/// DeleteTags call.
pub struct Ec2Tags;

#[async_trait::async_trait]
impl TagApi for Ec2Tags {
    async fn sync(&self, cx: Ctx<'_>, id: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let ec2 = &cx.aws.ec2;
        super::support::sync_tags(
            live,
            desired,
            |set: Vec<Tag>| async move {
                ec2.create_tags()
                    .resources(id)
                    .set_tags(Some(set))
                    .send()
                    .await?;
                Ok(())
            },
            |unset| async move {
                let keys = unset.into_iter().map(|k| Tag::builder().key(k).build());
                ec2.delete_tags()
                    .resources(id)
                    .set_tags(Some(keys.collect()))
                    .send()
                    .await?;
                Ok(())
            },
        )
        .await
    }
}

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
        let v = crate::kinds::support::tags_value(&tags);
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
