//! ECS kinds (cluster, task definition, service) and the helpers they share:
//! tags, capacity provider strategies, names and ARNs, integer fields.

/// The AWS service of these kinds.
pub const SERVICE: &str = "ecs";

pub mod capacity_provider;
pub mod cluster;
pub mod deployment;
pub mod service;
pub mod task_definition;
pub mod task_parts;

use aws_sdk_ecs::types::{CapacityProviderStrategyItem, Tag};

use super::Ctx;
use super::support::sync_tags_with;
use crate::aws::ApiError;
use crate::kinds::ApiResult;
use crate::kinds::support::{TagApi, int_field, str_field};
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

crate::sdk_tag!(Tag);

/// ECS's tag API, on the ARN: at most one TagResource and one
/// UntagResource call.
pub struct EcsTags;

#[async_trait::async_trait]
impl TagApi for EcsTags {
    async fn sync(&self, cx: Ctx<'_>, arn: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let ecs = &cx.aws.ecs;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| ecs.tag_resource().resource_arn(arn).set_tags(Some(set)),
            |unset| ecs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(unset)),
        )
    }
}

/// The last `/`-separated part of an ARN (a cluster's name from its ARN), or
/// the string itself when it is no ARN.
pub fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// A capacity provider strategy as the API takes it.
pub fn strategy_items(v: Option<&Value>) -> ApiResult<Vec<CapacityProviderStrategyItem>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::default_name;
    use crate::kinds::support;
    use crate::kinds::support::table;

    #[test]
    fn reconcile_tags_are_hidden_from_user_tags() {
        let tags = [
            Tag::builder().key("Name").value("web").build(),
            Tag::builder().key("reconcile:stack").value("s").build(),
        ];
        assert_eq!(support::tags_value(&tags).str_map().len(), 1);
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
    fn names_default_to_stack_and_resource_and_arns_end_in_names() {
        assert_eq!(default_name("shop", "ecs_cluster.main"), "shop-main");
        assert_eq!(
            last_segment("arn:aws:ecs:us-east-1:1:cluster/shop-main"),
            "shop-main"
        );
        assert_eq!(last_segment("shop-main"), "shop-main");
    }
}
