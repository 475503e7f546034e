//! ECS kinds (cluster, task definition, service) and the helpers they share:
//! tags, capacity provider strategies, names and ARNs, integer fields.

pub mod capacity_provider;
pub mod cluster;
pub mod service;
pub mod task_definition;

use aws_sdk_ecs::types::{CapacityProviderStrategyItem, Tag};

use super::{Ctx, user_tags};
use crate::aws::ApiError;
use crate::schema::{Default, Field, Type};
use crate::value::{Attrs, Value};

/// One entry of a capacity provider strategy (a cluster's default strategy,
/// a service's strategy).
pub const STRATEGY: &[Field] = &[
    Field::new("capacity_provider", Type::String)
        .required()
        .doc("The capacity provider: \"FARGATE\", \"FARGATE_SPOT\" or an Auto Scaling one."),
    Field::new("weight", Type::Int)
        .default(Default::Int(0))
        .doc("The relative share of tasks placed on this provider."),
    Field::new("base", Type::Int)
        .default(Default::Int(0))
        .doc("How many tasks, at least, run on this provider."),
];

/// How many ECS describe calls of one read run at once (DescribeServices
/// per cluster, DescribeTaskDefinition per revision).
pub const READ_CONCURRENCY: usize = 8;

/// The tags of a create call: user tags plus `reconcile:*`.
pub fn tags(cx: Ctx<'_>, address: &str, desired: &Attrs) -> Vec<Tag> {
    cx.tags_for(address, desired)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The user-visible tags of a described resource.
pub fn tags_value(tags: &[Tag]) -> Value {
    user_tags(
        tags.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
    )
}

/// True when the tags carry the `reconcile:*` tags of `address` in this stack.
pub fn is_ours(cx: Ctx<'_>, address: &str, tags: &[Tag]) -> bool {
    let has = |key: &str, value: &str| {
        tags.iter()
            .any(|t| t.key() == Some(key) && t.value() == Some(value))
    };
    has(super::STACK_TAG, cx.stack) && has(super::ADDRESS_TAG, address)
}

/// Brings the user tags of `arn` from `live` to `desired` with at most one
/// TagResource and one UntagResource call. `reconcile:*` tags are never
/// touched.
pub async fn sync_tags(
    cx: Ctx<'_>,
    arn: &str,
    live: &Attrs,
    desired: &Attrs,
) -> Result<(), ApiError> {
    let (set, unset) = super::tag_changes(live, desired);
    let set: Vec<Tag> = set
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    if !set.is_empty() {
        cx.aws
            .ecs
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(set))
            .send()
            .await?;
    }
    if !unset.is_empty() {
        cx.aws
            .ecs
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(unset))
            .send()
            .await?;
    }
    Ok(())
}

pub use crate::kinds::default_name;

/// The last `/`-separated part of an ARN (a cluster's name from its ARN), or
/// the string itself when it is no ARN.
pub fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// True when `desired` manages `field` (sets it to something) and the live
/// value differs: the planner's rule, so that update calls only what the
/// plan showed.
pub fn changed(schema: &crate::schema::Schema, field: &str, live: &Attrs, desired: &Attrs) -> bool {
    desired.get(field).is_some_and(|v| !v.is_null()) && super::differs(schema, field, live, desired)
}

/// An integer as the ECS API takes it, refusing values out of range rather
/// than wrapping them.
pub fn to_i32(v: &Value, what: &str) -> Result<Option<i32>, ApiError> {
    match v {
        Value::Null => Ok(None),
        other => {
            let i = other.as_int().ok_or_else(|| {
                ApiError::msg(format!("`{what}` must be an integer, not {other}"))
            })?;
            i32::try_from(i)
                .map(Some)
                .map_err(|_| ApiError::msg(format!("`{what}` = {i} is out of range")))
        }
    }
}

/// An integer attribute of a table, if set.
pub fn int_field(m: Option<&Value>, name: &str) -> Result<Option<i32>, ApiError> {
    let v = m
        .and_then(Value::as_map)
        .and_then(|m| m.get(name))
        .unwrap_or(&Value::Null);
    to_i32(v, name)
}

/// A string attribute of a table, if set.
pub fn str_field(m: Option<&Value>, name: &str) -> Option<String> {
    m.and_then(Value::as_map)
        .and_then(|m| m.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A capacity provider strategy as the API takes it.
pub fn strategy_items(v: Option<&Value>) -> Result<Vec<CapacityProviderStrategyItem>, ApiError> {
    v.map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|item| {
            let provider = str_field(Some(item), "capacity_provider").unwrap_or_default();
            CapacityProviderStrategyItem::builder()
                .capacity_provider(provider)
                .weight(int_field(Some(item), "weight")?.unwrap_or(0))
                .base(int_field(Some(item), "base")?.unwrap_or(0))
                .build()
                .map_err(|e| ApiError::msg(e.to_string()))
        })
        .collect()
}

/// A capacity provider strategy as AWS reports it.
pub fn strategy_value(items: &[CapacityProviderStrategyItem]) -> Value {
    Value::List(
        items
            .iter()
            .map(|i| {
                Value::Map(
                    [
                        ("capacity_provider", Value::str(i.capacity_provider())),
                        ("weight", Value::from(i.weight())),
                        ("base", Value::from(i.base())),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                )
            })
            .collect(),
    )
}

/// Builds a table from `(name, value)` pairs, leaving nulls out.
pub fn table<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

// Generic helpers every kind uses, re-exported for the ECS kinds.
pub use crate::aws::error::gone_is_ok;
pub use crate::kinds::{bool_attr, str_attr};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_tags_are_hidden_from_user_tags() {
        let tags = [
            Tag::builder().key("Name").value("web").build(),
            Tag::builder().key("reconcile:stack").value("s").build(),
        ];
        assert_eq!(tags_value(&tags).str_map().len(), 1);
    }

    #[test]
    fn a_strategy_reads_back_as_written() {
        let written = Value::List(vec![table([
            ("capacity_provider", Value::str("FARGATE_SPOT")),
            ("weight", Value::Int(3)),
            ("base", Value::Int(1)),
        ])]);
        let items = strategy_items(Some(&written)).unwrap();
        assert_eq!(strategy_value(&items), written);
    }

    #[test]
    fn integers_out_of_range_are_refused_not_wrapped() {
        assert_eq!(to_i32(&Value::Int(5), "n").unwrap(), Some(5));
        assert_eq!(to_i32(&Value::Null, "n").unwrap(), None);
        assert!(to_i32(&Value::Int(1 << 40), "n").is_err());
        assert!(to_i32(&Value::str("5"), "n").is_err());
    }

    #[test]
    fn names_default_to_stack_and_resource_and_arns_end_in_names() {
        assert_eq!(default_name("shop", "ecs_cluster.main"), "shop-main");
        assert_eq!(
            last_segment("arn:aws:ecs:us-east-1:1:cluster/shop-main"),
            "shop-main"
        );
        assert_eq!(last_segment("shop-main"), "shop-main");
    }
}
