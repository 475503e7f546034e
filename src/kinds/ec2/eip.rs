//! `eip`: an Elastic IP address, a public IPv4 address kept across uses.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{DomainType, Filter, ResourceType};

use super::{BATCH, address_filters, filter, tag_spec};
use crate::aws::ApiError;
use crate::kinds::support::{
    Waiter, delete_poll, find_by_address, present, str_attr, tags_value, wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::Attrs;

pub struct Eip;

static SCHEMA: Schema = Schema {
    kind: "eip",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An Elastic IP address: a public IPv4 address that outlives what uses it.",
    fields: &[
        Field::new("domain", Type::String)
            .default(Default::Str("vpc"))
            .force_new()
            .doc("Where the address is used: \"vpc\" (the only choice since EC2-Classic retired)."),
        TAGS,
        ID.doc("The allocation id (eipalloc-…)."),
        Field::new("public_ip", Type::String)
            .computed()
            .doc("The public IPv4 address."),
    ],
};

/// ReleaseAddress answers this while the address is still associated, e.g.
/// for a short while after the NAT gateway that used it was deleted.
const IN_USE: &str = "InvalidIPAddress.InUse";

impl Eip {
    /// Every address matching the filters. DescribeAddresses is not paginated.
    async fn describe(
        &self,
        cx: Ctx<'_>,
        filters: Vec<Filter>,
    ) -> ApiResult<BTreeMap<String, Attrs>> {
        let out = cx
            .aws
            .ec2
            .describe_addresses()
            .set_filters(Some(filters))
            .send()
            .await?;
        Ok(out
            .addresses()
            .iter()
            .filter_map(|a| Some((a.allocation_id()?.to_owned(), attrs(a))))
            .collect())
    }
}

/// The attributes of a described address.
fn attrs(a: &aws_sdk_ec2::types::Address) -> Attrs {
    let mut out = Attrs::new();
    out.insert("id".into(), a.allocation_id().into());
    out.insert("domain".into(), a.domain().map(DomainType::as_str).into());
    out.insert("public_ip".into(), a.public_ip().into());
    out.insert("tags".into(), tags_value(a.tags()));
    out
}

/// What one ReleaseAddress answer means for the delete.
fn in_use(e: &ApiError) -> bool {
    e.code.as_deref() == Some(IN_USE)
}

#[async_trait]
impl Kind for Eip {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        BATCH
            .read(ids, |chunk| {
                self.describe(cx, vec![filter("allocation-id", chunk)])
            })
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let domain = str_attr(desired, "domain").unwrap_or_else(|| "vpc".into());
        let out = cx
            .aws
            .ec2
            .allocate_address()
            .domain(DomainType::from(domain.as_str()))
            .tag_specifications(tag_spec(cx, ResourceType::ElasticIp, address, desired)?)
            .send()
            .await?;
        let id = out
            .allocation_id()
            .ok_or_else(|| ApiError::msg("AllocateAddress returned no allocation id"))?
            .to_owned();
        crate::kinds::created(&id);
        // Usable at once, but DescribeAddresses may not show it yet.
        let what = format!("Elastic IP {id} to be visible");
        wait_visible(cx.timeouts(self).create, &what, || async {
            let mut found = self
                .describe(cx, vec![filter("allocation-id", [id.as_str()])])
                .await?;
            Ok(present(found.remove(&id)))
        })
        .await?;
        Ok(id)
    }

    async fn update(&self, _op: Update<'_>) -> ApiResult<()> {
        // Everything else forces a new address.
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("Elastic IP {id} to be released"), || async {
                let r = cx.aws.ec2.release_address().allocation_id(id).send().await;
                delete_poll(r, in_use)
            })
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t| self.describe(cx, address_filters(t))).await
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::Tag;

    use super::*;
    use crate::kinds::support::Poll;

    fn release_progress(r: ApiResult<()>) -> ApiResult<Poll<()>> {
        delete_poll(r, in_use)
    }
    use crate::aws::ErrorClass;
    use crate::value::Value;

    #[test]
    fn a_described_address_reads_with_its_allocation_id_as_id() {
        let a = attrs(
            &aws_sdk_ec2::types::Address::builder()
                .allocation_id("eipalloc-0abc")
                .public_ip("203.0.113.7")
                .domain(DomainType::Vpc)
                .tags(Tag::builder().key("Name").value("nat").build())
                .tags(Tag::builder().key("reconcile:stack").value("s").build())
                .build(),
        );
        assert_eq!(a["id"], Value::str("eipalloc-0abc"));
        assert_eq!(a["public_ip"], Value::str("203.0.113.7"));
        assert_eq!(a["domain"], Value::str("vpc"));
        assert_eq!(a["tags"].str_map().len(), 1, "reconcile tags are hidden");
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
    }

    #[test]
    fn the_domain_defaults_to_vpc_and_forces_a_new_address() {
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert_eq!(filled["domain"], Value::str("vpc"));
        assert!(SCHEMA.field("domain").unwrap().force_new);
        assert!(SCHEMA.field("public_ip").unwrap().computed);
    }

    #[test]
    fn a_release_of_a_released_address_succeeds_and_an_address_in_use_is_waited_for() {
        let err =
            |code: &str, class| ApiError { code: Some(code.into()), message: "m".into(), class };
        assert_eq!(release_progress(Ok(())).unwrap(), Poll::Ready(()));
        assert_eq!(
            release_progress(Err(err(
                "InvalidAllocationID.NotFound",
                ErrorClass::NotFound
            )))
            .unwrap(),
            Poll::Ready(())
        );
        assert!(matches!(
            release_progress(Err(err(IN_USE, ErrorClass::Other))),
            Ok(Poll::Pending(_))
        ));
        assert!(release_progress(Err(err("AuthFailure", ErrorClass::Other))).is_err());
    }
}
