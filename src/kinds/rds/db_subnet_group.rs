//! `db_subnet_group`: the subnets an RDS instance may be placed in.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_rds::types::DbSubnetGroup as AwsSubnetGroup;

use super::{default_name, list_tags};
use crate::kinds::support::{
    create_tags, found, gone_is_ok, is_ours, pages, read_each, str_attr, tags_value,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct RdsSubnetGroup;

static SCHEMA: Schema = Schema {
    kind: "db_subnet_group",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An RDS DB subnet group: the subnets (in two zones at least) a database may use.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::DB_SUBNET_GROUP)
            .force_new()
            .doc("The group name (lowercase); by default `<stack>-<resource name>`."),
        Field::new("description", Type::String)
            .doc("A description; by default \"Managed by reconcile\"."),
        Field::new("subnet_ids", Type::Set(&Type::String))
            .required()
            .doc("The subnets, in at least two availability zones."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the group."),
        Field::new("vpc_id", Type::String)
            .computed()
            .doc("The VPC of the subnets."),
    ],
};

const DEFAULT_DESCRIPTION: &str = "Managed by reconcile";

fn group_attrs(g: &AwsSubnetGroup, tags: Value) -> Attrs {
    let name = g.db_subnet_group_name().unwrap_or_default();
    let subnets: Vec<Value> = g
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier())
        .map(Value::str)
        .collect();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(name));
    a.insert("name".into(), Value::str(name));
    a.insert("description".into(), g.db_subnet_group_description().into());
    a.insert("subnet_ids".into(), Value::List(subnets));
    a.insert("arn".into(), g.db_subnet_group_arn().into());
    a.insert("vpc_id".into(), g.vpc_id().into());
    a.insert("tags".into(), tags);
    a
}

impl RdsSubnetGroup {
    /// The named groups. DescribeDBSubnetGroups takes one name or none
    /// (its filters are not supported): one call for a single group,
    /// otherwise one paginated listing filtered here.
    async fn describe(&self, cx: Ctx<'_>, names: &[String]) -> ApiResult<Vec<AwsSubnetGroup>> {
        let call = cx.aws.rds.describe_db_subnet_groups();
        let call = match names {
            [one] => call.db_subnet_group_name(one),
            _ => call,
        };
        let groups = found(pages!(call))?.unwrap_or_default();
        Ok(groups
            .into_iter()
            .filter(|g| {
                g.db_subnet_group_name()
                    .is_some_and(|n| names.iter().any(|x| x == n))
            })
            .collect())
    }
}

#[async_trait]
impl Kind for RdsSubnetGroup {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_arn(&super::RdsTags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let groups = self.describe(cx, ids).await?;
        // Tags are not in the description: one ListTagsForResource each.
        let reads: Vec<_> = groups
            .iter()
            .map(|g| async move {
                let arn = g.db_subnet_group_arn().unwrap_or_default();
                let tags = found(list_tags(cx, arn).await)?;
                Ok(tags.map(|t| {
                    let a = group_attrs(g, tags_value(&t));
                    (str_attr(&a, "name").unwrap_or_default(), a)
                }))
            })
            .collect();
        read_each(reads).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_else(|| default_name(cx, address, 255));
        let out = cx
            .aws
            .rds
            .create_db_subnet_group()
            .db_subnet_group_name(&name)
            .db_subnet_group_description(
                str_attr(desired, "description").unwrap_or_else(|| DEFAULT_DESCRIPTION.into()),
            )
            .set_subnet_ids(desired.get("subnet_ids").map(Value::str_list))
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await?;
        Ok(out
            .db_subnet_group()
            .and_then(|g| g.db_subnet_group_name())
            .unwrap_or(&name)
            .to_owned())
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        if changed.has("description") || changed.has("subnet_ids") {
            cx.aws
                .rds
                .modify_db_subnet_group()
                .db_subnet_group_name(id)
                .set_db_subnet_group_description(str_attr(desired, "description"))
                .set_subnet_ids(desired.get("subnet_ids").map(Value::str_list))
                .send()
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // An instance being deleted still holds the group for a moment.
        crate::aws::wait::retry_while_in_use(
            std::time::Duration::from_mins(10),
            &format!("DB subnet group {id} to be released"),
            || async {
                let r = cx
                    .aws
                    .rds
                    .delete_db_subnet_group()
                    .db_subnet_group_name(id)
                    .send()
                    .await;
                gone_is_ok(r)
            },
        )
        .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let all = cx.aws.rds.describe_db_subnet_groups();
        let all = pages!(all)?;
        for g in all {
            let tags = found(list_tags(cx, g.db_subnet_group_arn().unwrap_or_default()).await)?;
            if tags.is_some_and(|t| is_ours(cx, address, &t)) {
                return Ok(g.db_subnet_group_name().map(str::to_owned));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::Subnet;

    #[test]
    fn a_described_group_reads_every_field() {
        let g = AwsSubnetGroup::builder()
            .db_subnet_group_name("s-db")
            .db_subnet_group_description("d")
            .vpc_id("vpc-1")
            .db_subnet_group_arn("arn:aws:rds:us-east-1:1:subgrp:s-db")
            .subnets(Subnet::builder().subnet_identifier("subnet-b").build())
            .subnets(Subnet::builder().subnet_identifier("subnet-a").build())
            .build();
        let a = group_attrs(&g, Value::from(BTreeMap::<String, String>::new()));
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
        assert_eq!(a["subnet_ids"].str_list(), ["subnet-b", "subnet-a"]);
    }
}
