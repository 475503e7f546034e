//! Auto Scaling kinds and the helpers they share: tags, which on a group
//! carry `propagate_at_launch`.

/// The AWS service of these kinds.
pub const SERVICE: &str = "autoscaling";

pub mod group;
pub mod policy;

use aws_sdk_autoscaling::types::{Tag, TagDescription};

use super::Ctx;
use super::support::bool_attr;
use crate::value::Attrs;

/// The resource type of a group's tags.
const GROUP: &str = "auto-scaling-group";

/// A tag of group `name`. `reconcile:*` tags stay on the group: instances
/// launched with them would look like resources of their own.
pub fn group_tag(name: &str, key: &str, value: &str, propagate: bool) -> Tag {
    Tag::builder()
        .resource_id(name)
        .resource_type(GROUP)
        .key(key)
        .value(value)
        .propagate_at_launch(propagate && !key.starts_with("reconcile:"))
        .build()
}

/// Every tag a new group `name` gets: user tags (propagated when asked)
/// plus the `reconcile:*` tags.
pub fn group_tags(cx: Ctx<'_>, name: &str, address: &str, desired: &Attrs) -> Vec<Tag> {
    let propagate = bool_attr(desired, "propagate_tags_at_launch").unwrap_or(true);
    cx.tags_for(address, desired)
        .iter()
        .map(|(k, v)| group_tag(name, k, v, propagate))
        .collect()
}

crate::sdk_tag!(TagDescription);

/// The value of one tag, if present.
pub fn tag<'a>(tags: &'a [TagDescription], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(TagDescription::value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_tags_never_propagate_to_instances() {
        assert_eq!(
            group_tag("g", "Name", "node", true).propagate_at_launch(),
            Some(true)
        );
        assert_eq!(
            group_tag("g", "reconcile:address", "autoscaling_group.a", true).propagate_at_launch(),
            Some(false)
        );
        assert_eq!(
            group_tag("g", "Name", "node", false).propagate_at_launch(),
            Some(false)
        );
    }
}
