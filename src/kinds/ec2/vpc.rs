//! `vpc`: a virtual private cloud.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, ResourceType, Tag, VpcAttributeName, VpcState,
};

use super::{BATCH, address_filters, filter, tag_spec_with};
use crate::aws::ApiError;
use crate::kinds::support::{
    Poll, bool_attr, find_by_address, gone_is_ok, pages, str_attr, tags_value, update_from,
    wait_visible,
};
use crate::kinds::{
    ApiResult, Create, Ctx, Delete, Kind, LiveMap, MANAGES_TAG, Tagging, Timeouts, Update, managed,
    manages_of, manages_value,
};
use crate::schema::{Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct Vpc;

static SCHEMA: Schema = Schema {
    kind: "vpc",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A virtual private cloud: an isolated network with its own address range.",
    fields: &[
        Field::new("cidr_block", Type::Cidr)
            .required()
            .force_new()
            .doc("The IPv4 address range, e.g. \"10.0.0.0/16\"."),
        Field::new("enable_dns_support", Type::Bool).doc(
            "Whether the Amazon DNS server resolves names in the VPC. Unset: not managed (a new VPC has it on).",
        ),
        Field::new("enable_dns_hostnames", Type::Bool).doc(
            "Whether instances with public IPs get public DNS hostnames. Unset: not managed (a new VPC has it off).",
        ),
        TAGS,
        ID,
        Field::new("owner_id", Type::String)
            .computed()
            .doc("The owning account."),
    ],
};

/// The DNS attributes: DescribeVpcs does not return them, each costs a
/// DescribeVpcAttribute call per VPC, so only those the desired state sets
/// are read (`MANAGES_TAG`).
const DNS: &[&str] = &["enable_dns_support", "enable_dns_hostnames"];

impl Vpc {
    /// Every VPC matching the filters, with the DNS attributes it manages.
    async fn describe(
        &self,
        cx: Ctx<'_>,
        filters: Vec<Filter>,
    ) -> ApiResult<BTreeMap<String, Attrs>> {
        let vpcs = pages!(cx.aws.ec2.describe_vpcs().set_filters(Some(filters)))?;
        let reads = vpcs.into_iter().filter_map(|v| {
            let id = v.vpc_id()?.to_owned();
            Some(async move {
                let manages = manages_of(
                    v.tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
                );
                let read = |field: &'static str, name: VpcAttributeName| {
                    let (wanted, id) = (manages.contains(field), &id);
                    async move {
                        if wanted {
                            dns_attribute(cx, id, name).await
                        } else {
                            Ok(None)
                        }
                    }
                };
                let (support, hostnames) = futures::try_join!(
                    read("enable_dns_support", VpcAttributeName::EnableDnsSupport),
                    read("enable_dns_hostnames", VpcAttributeName::EnableDnsHostnames),
                )?;
                let mut a = Attrs::new();
                a.insert("id".into(), Value::str(&id));
                a.insert("cidr_block".into(), v.cidr_block().into());
                a.insert("owner_id".into(), v.owner_id().into());
                a.insert("enable_dns_support".into(), support.into());
                a.insert("enable_dns_hostnames".into(), hostnames.into());
                a.insert("tags".into(), tags_value(v.tags()));
                Ok::<_, ApiError>((id, a))
            })
        });
        futures::future::try_join_all(reads)
            .await
            .map(|v| v.into_iter().collect())
    }
}

async fn dns_attribute(cx: Ctx<'_>, id: &str, name: VpcAttributeName) -> ApiResult<Option<bool>> {
    let out = cx
        .aws
        .ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(name.clone())
        .send()
        .await?;
    let value = match name {
        VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
        _ => out.enable_dns_hostnames(),
    };
    Ok(value.and_then(AttributeBooleanValue::value))
}

async fn set_dns_attribute(cx: Ctx<'_>, id: &str, name: &str, on: bool) -> ApiResult<()> {
    let value = AttributeBooleanValue::builder().value(on).build();
    let call = cx.aws.ec2.modify_vpc_attribute().vpc_id(id);
    let call = if name == "enable_dns_support" {
        call.enable_dns_support(value)
    } else {
        call.enable_dns_hostnames(value)
    };
    call.send().await?;
    Ok(())
}

#[async_trait]
impl Kind for Vpc {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    fn network_interface_filter(&self) -> Option<&'static str> {
        Some("vpc-id")
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        BATCH
            .read(ids, |chunk| {
                self.describe(cx, vec![filter("vpc-id", chunk)])
            })
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let out = cx
            .aws
            .ec2
            .create_vpc()
            .set_cidr_block(str_attr(desired, "cidr_block"))
            .tag_specifications(tag_spec_with(
                cx,
                ResourceType::Vpc,
                address,
                desired,
                Some((MANAGES_TAG, manages_value(DNS, desired))).filter(|(_, v)| !v.is_empty()),
            )?)
            .send()
            .await?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .ok_or_else(|| ApiError::msg("CreateVpc returned no id"))?
            .to_owned();
        crate::kinds::created(&id);
        let what = format!("VPC {id} to become available");
        wait_visible(cx.timeouts(self).create, &what, || async {
            let out = cx.aws.ec2.describe_vpcs().vpc_ids(&id).send().await?;
            Ok(match out.vpcs().first().and_then(|v| v.state()) {
                Some(VpcState::Available) => Poll::Ready(()),
                s => Poll::Pending(format!("{s:?}")),
            })
        })
        .await?;
        // A new VPC has DNS support on and DNS hostnames off; of those, it
        // is known to manage what its manages tag (written above) lists.
        let mut created = Attrs::from([(
            "tags".to_owned(),
            desired.get("tags").cloned().unwrap_or_default(),
        )]);
        for name in managed(DNS, desired) {
            let on = name == "enable_dns_support";
            created.insert(name.to_owned(), Value::Bool(on));
        }
        update_from(self, cx, address, &id, &created, desired).await?;
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        // AWS takes one attribute per ModifyVpcAttribute call.
        let mut set = false;
        for name in DNS {
            if changed.has(name)
                && let Some(on) = bool_attr(desired, name)
            {
                set_dns_attribute(cx, id, name, on).await?;
                set = true;
            }
        }
        // A newly set attribute is read from now on. `live` holds just the
        // attributes its manages tag lists (only those are read).
        if set && manages_value(DNS, live) != manages_value(DNS, desired) {
            let tag = Tag::builder()
                .key(MANAGES_TAG)
                .value(manages_value(DNS, desired))
                .build();
            cx.aws
                .ec2
                .create_tags()
                .resources(id)
                .tags(tag)
                .send()
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        gone_is_ok(cx.aws.ec2.delete_vpc().vpc_id(id).send().await)
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t| self.describe(cx, address_filters(t))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;

    #[test]
    fn cidr_forces_replacement_and_dns_settings_do_not() {
        assert!(SCHEMA.field("cidr_block").unwrap().force_new);
        assert!(!SCHEMA.field("enable_dns_hostnames").unwrap().force_new);
        // Unset DNS settings are not managed (and so not read).
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert!(!filled.contains_key("enable_dns_support"));
        assert_eq!(filled["tags"], Value::Map(BTreeMap::new()));
    }

    #[test]
    fn the_manages_tag_lists_the_dns_settings_set() {
        let mut desired = Attrs::from([("enable_dns_hostnames".into(), Value::Bool(true))]);
        assert_eq!(manages_value(DNS, &desired), "enable_dns_hostnames");
        desired.insert("enable_dns_support".into(), Value::Bool(false));
        assert_eq!(
            manages_value(DNS, &desired),
            "enable_dns_support enable_dns_hostnames"
        );
        let read = manages_of([("Name", "x"), (MANAGES_TAG, "enable_dns_hostnames")]);
        assert!(read.contains("enable_dns_hostnames") && !read.contains("enable_dns_support"));
    }

    #[test]
    fn only_changed_dns_attributes_differ() {
        let mut live = SCHEMA.with_defaults(&Attrs::new());
        live.insert("enable_dns_support".into(), Value::Bool(true));
        live.insert("enable_dns_hostnames".into(), Value::Bool(false));
        let mut desired = live.clone();
        desired.insert("enable_dns_hostnames".into(), Value::Bool(true));
        assert!(Changes::between(&Vpc, &live, &desired).has("enable_dns_hostnames"));
        assert!(!Changes::between(&Vpc, &live, &desired).has("enable_dns_support"));
    }
}
