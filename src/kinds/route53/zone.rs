//! `route53_zone`: a Route 53 hosted zone, public, or private to VPCs. Its
//! id is the zone id (`Z…`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneOutput;
use aws_sdk_route53::types::{HostedZoneConfig, Tag, TagResourceType, Vpc, VpcRegion};

use super::{bare, fqdn, missing, zone_id};
use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, client_token, create_tags, found, gone_is_ok, read_each, str_attr, tag_pairs, tags_value,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct Route53Zone;

static SCHEMA: Schema = Schema {
    kind: "route53_zone",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A Route 53 hosted zone: public (delegate the domain to its `name_servers`) or private to VPCs.",
    fields: &[
        Field::new("name", Type::String)
            .example("\"example.com\"")
            .required()
            .force_new()
            .doc("The domain name of the zone."),
        Field::new("comment", Type::String)
            .default(Default::Str(""))
            .doc("A comment on the zone."),
        Field::new("vpc_ids", Type::Set(&Type::String))
            .default(Default::EmptyList)
            .force_new()
            .doc("Private zone: the VPCs (of the resource's region) that resolve it; none for a public zone."),
        TAGS,
        Field::new("id", Type::String)
            .computed()
            .doc("The zone id, `Z…` (what `reconcile import` takes)."),
        Field::new("zone_id", Type::String)
            .computed()
            .doc("The zone id (also its id): what records and certificates take."),
        Field::new("name_servers", Type::List(&Type::String))
            .computed()
            .doc("A public zone's name servers, to delegate the domain to."),
    ],
};

/// The start of the caller reference of every zone made for `address`.
fn address_token(cx: Ctx<'_>, address: &str) -> String {
    client_token([cx.stack, address])
}

/// ListTagsForResources takes at most 10 zones.
const TAGS_CHUNK: usize = 10;

fn zone_attrs(id: &str, z: &GetHostedZoneOutput) -> Option<Attrs> {
    let hz = z.hosted_zone()?;
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(id));
    a.insert("zone_id".into(), Value::str(id));
    a.insert("name".into(), Value::str(bare(hz.name())));
    a.insert(
        "comment".into(),
        Value::str(hz.config().and_then(|c| c.comment()).unwrap_or_default()),
    );
    let vpcs: Vec<Value> = z
        .vpcs()
        .iter()
        .filter_map(|v| v.vpc_id().map(Value::str))
        .collect();
    a.insert("vpc_ids".into(), Value::List(vpcs));
    let servers = z
        .delegation_set()
        .map(|d| d.name_servers().iter().map(Value::str).collect())
        .unwrap_or_default();
    a.insert("name_servers".into(), Value::List(servers));
    Some(a)
}

/// The tags of each zone of `ids`, by zone id: one ListTagsForResources per
/// 10.
async fn zone_tags(cx: Ctx<'_>, ids: &[String]) -> ApiResult<BTreeMap<String, Vec<Tag>>> {
    Batch::of(TAGS_CHUNK)
        .read(ids, |chunk| async move {
            let out = cx
                .aws
                .route53
                .list_tags_for_resources()
                .resource_type(TagResourceType::Hostedzone)
                .set_resource_ids(Some(chunk.to_vec()))
                .send()
                .await?;
            Ok::<_, ApiError>(
                out.resource_tag_sets()
                    .iter()
                    .filter_map(|s| Some((zone_id(s.resource_id()?), s.tags().to_vec())))
                    .collect::<Vec<_>>(),
            )
        })
        .await
}

/// The region a private zone's VPCs are in: the region the calls of this
/// resource go to.
fn vpc_region(cx: Ctx<'_>) -> VpcRegion {
    let region = cx.aws.ec2.config().region().map(ToString::to_string);
    VpcRegion::from(region.as_deref().unwrap_or("us-east-1"))
}

#[async_trait]
impl Kind for Route53Zone {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::ZoneTags))
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(Value::Str(n)) = attrs.get_mut("name") {
            *n = bare(n);
        }
    }

    /// One GetHostedZone per zone (Route 53 has no batched form), then the
    /// tags of all of them, 10 to a call.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let reads: Vec<_> = ids
            .iter()
            .map(|id| async move {
                let r = cx.aws.route53.get_hosted_zone().id(id).send().await;
                let z = found(r.map_err(ApiError::from))?;
                Ok(z.as_ref()
                    .and_then(|z| zone_attrs(id, z))
                    .map(|a| (id.clone(), a)))
            })
            .collect();
        let mut live = read_each(reads).await?;
        let present: Vec<String> = live.keys().cloned().collect();
        let tags = zone_tags(cx, &present).await?;
        for (id, a) in &mut live {
            let t = tags.get(id).map(Vec::as_slice).unwrap_or_default();
            a.insert("tags".into(), tags_value(t));
        }
        Ok(live)
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name")
            .ok_or_else(|| ApiError::msg(format!("{address}: `name` is required")))?;
        let vpcs = desired
            .get("vpc_ids")
            .map(Value::str_list)
            .unwrap_or_default();
        let config = HostedZoneConfig::builder()
            .set_comment(str_attr(desired, "comment").filter(|c| !c.is_empty()))
            .private_zone(!vpcs.is_empty())
            .build();
        // Unique per request, as Route 53 wants, and prefixed by a token of
        // the address: CreateHostedZone takes no tags, so a zone whose
        // create answer was lost (before the tags) is found by it.
        let reference = format!(
            "{}-{}",
            address_token(cx, address),
            uuid::Uuid::new_v4().simple()
        );
        let out = cx
            .aws
            .route53
            .create_hosted_zone()
            .name(fqdn(&name))
            .caller_reference(reference)
            .hosted_zone_config(config)
            // A private zone is created with its first VPC.
            .set_vpc(
                vpcs.first()
                    .map(|v| Vpc::builder().vpc_id(v).vpc_region(vpc_region(cx)).build()),
            )
            .send()
            .await?;
        let id = zone_id(out.hosted_zone().ok_or_else(|| missing("the zone"))?.id());
        crate::kinds::created(&id);
        let tags = create_tags::<Tag>(cx, address, desired)?;
        cx.aws
            .route53
            .change_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(&id)
            .set_add_tags(Some(tags))
            .send()
            .await?;
        for v in vpcs.iter().skip(1) {
            let vpc = Vpc::builder().vpc_id(v).vpc_region(vpc_region(cx)).build();
            let out = cx
                .aws
                .route53
                .associate_vpc_with_hosted_zone()
                .hosted_zone_id(&id)
                .vpc(vpc)
                .send()
                .await?;
            if let Some(c) = out.change_info() {
                crate::kinds::support::dns::wait_insync(cx, c.id(), cx.timeouts(self).create)
                    .await?;
            }
        }
        if let Some(c) = out.change_info() {
            crate::kinds::support::dns::wait_insync(cx, c.id(), cx.timeouts(self).create).await?;
        }
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        if changed.has("comment") {
            cx.aws
                .route53
                .update_hosted_zone_comment()
                .id(id)
                .comment(str_attr(desired, "comment").unwrap_or_default())
                .send()
                .await?;
        }
        Ok(())
    }

    /// Route 53 refuses to delete a zone holding records besides its own
    /// NS and SOA: those are other resources' to delete first (the graph
    /// orders records before their zone).
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let r = cx.aws.route53.delete_hosted_zone().id(id).send().await;
        gone_is_ok(r.map(drop).map_err(ApiError::from))
    }

    /// Route 53 filters zones by nothing but name: every zone is listed and
    /// their tags read, 10 to a call.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let mut ids = Vec::new();
        let token = address_token(cx, address);
        let mut marker = None;
        loop {
            let page = cx
                .aws
                .route53
                .list_hosted_zones()
                .set_marker(marker)
                .send()
                .await?;
            for z in page.hosted_zones() {
                if z.caller_reference().starts_with(&token) {
                    return Ok(Some(zone_id(z.id())));
                }
                ids.push(zone_id(z.id()));
            }
            marker = page.next_marker().map(str::to_owned);
            if !page.is_truncated() || marker.is_none() {
                break;
            }
        }
        let tags = zone_tags(cx, &ids).await?;
        let t = crate::kinds::support::AddressTags::new(cx, address);
        Ok(tags
            .into_iter()
            .find(|(_, tags)| t.matches(tag_pairs(tags)))
            .map(|(id, _)| id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_route53::types::{DelegationSet, HostedZone};

    #[test]
    fn a_zone_reads_back_its_name_without_the_dot_and_its_name_servers() {
        let z = GetHostedZoneOutput::builder()
            .hosted_zone(
                HostedZone::builder()
                    .id("/hostedzone/Z1")
                    .name("Example.com.")
                    .caller_reference("r")
                    .build()
                    .unwrap(),
            )
            .delegation_set(
                DelegationSet::builder()
                    .name_servers("ns-1.awsdns-1.org")
                    .build()
                    .unwrap(),
            )
            .build();
        let a = zone_attrs("Z1", &z).unwrap();
        assert_eq!(a["name"], Value::str("example.com"));
        assert_eq!(a["comment"], Value::str(""));
        assert_eq!(a["vpc_ids"], Value::List(vec![]));
        assert_eq!(
            a["name_servers"],
            Value::List(vec![Value::str("ns-1.awsdns-1.org")])
        );
    }
}
