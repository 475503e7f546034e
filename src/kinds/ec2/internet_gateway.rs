//! `internet_gateway`: a VPC's route to the internet, attached to at most
//! one VPC.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType};

use super::{BATCH, address_filters, filter, tag_spec};
use crate::aws::ApiError;
use crate::kinds::support::{
    Poll, Waiter, find_by_address, pages, present, retry_while_in_use, str_attr, tags_value,
    update_from, wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct InternetGateway;

static SCHEMA: Schema = Schema {
    kind: "internet_gateway",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An internet gateway: a VPC's route to and from the internet.",
    fields: &[
        Field::new("vpc_id", Type::String)
            .unset_is_null()
            .doc("The VPC it is attached to; changed in place (detached, then attached)."),
        TAGS,
        ID,
    ],
};

/// A detach answers this when the gateway is not attached to that VPC.
const NOT_ATTACHED: &str = "Gateway.NotAttached";

impl InternetGateway {
    /// Every internet gateway matching the filters (one paginated call).
    async fn describe(
        &self,
        cx: Ctx<'_>,
        filters: Vec<Filter>,
    ) -> ApiResult<BTreeMap<String, Attrs>> {
        let igws = pages!(
            cx.aws
                .ec2
                .describe_internet_gateways()
                .set_filters(Some(filters))
        )?;
        Ok(igws
            .iter()
            .filter_map(|g| Some((g.internet_gateway_id()?.to_owned(), attrs(g))))
            .collect())
    }

    /// The live attributes of one gateway, if it exists.
    async fn read_one(&self, cx: Ctx<'_>, id: &str) -> ApiResult<Option<Attrs>> {
        Ok(self
            .describe(cx, vec![filter("internet-gateway-id", [id])])
            .await?
            .remove(id))
    }

    /// Attaches the gateway to `vpc_id` and waits until the attachment shows.
    async fn attach(&self, cx: Ctx<'_>, id: &str, vpc_id: &str) -> ApiResult<()> {
        cx.aws
            .ec2
            .attach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc_id)
            .send()
            .await?;
        Waiter::new(cx.timeouts(self).update)
            .until(
                &format!("internet gateway {id} to be attached to {vpc_id}"),
                || async {
                    let live = self.read_one(cx, id).await?;
                    let attached = live.as_ref().and_then(|a| str_attr(a, "vpc_id"));
                    Ok(if attached.as_deref() == Some(vpc_id) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending(format!("attached to {attached:?}"))
                    })
                },
            )
            .await
    }

    /// Detaches the gateway from `vpc_id`. Real AWS refuses with
    /// DependencyViolation while the VPC still has public addresses mapped
    /// (EIPs of a NAT gateway being deleted): retried for at most `timeout`.
    async fn detach(
        &self,
        cx: Ctx<'_>,
        id: &str,
        vpc_id: &str,
        timeout: std::time::Duration,
    ) -> ApiResult<()> {
        retry_while_in_use(
            timeout,
            &format!("internet gateway {id} to be free to detach from {vpc_id}"),
            || async {
                let r = cx
                    .aws
                    .ec2
                    .detach_internet_gateway()
                    .internet_gateway_id(id)
                    .vpc_id(vpc_id)
                    .send()
                    .await;
                match r.map_err(ApiError::from) {
                    Err(e) if e.code.as_deref() == Some(NOT_ATTACHED) => Ok(()),
                    other => other.map(drop),
                }
            },
        )
        .await
    }
}

/// The attributes of a described internet gateway.
fn attrs(g: &aws_sdk_ec2::types::InternetGateway) -> Attrs {
    let mut a = Attrs::new();
    a.insert("id".into(), g.internet_gateway_id().into());
    a.insert("vpc_id".into(), attached_vpc(g).into());
    a.insert("tags".into(), tags_value(g.tags()));
    a
}

/// The VPC the gateway is attached to. AWS reports an internet gateway's
/// attachment as `available` (a value its own enum does not list); `attached`
/// and `attaching` count too, `detaching`/`detached` do not.
fn attached_vpc(g: &aws_sdk_ec2::types::InternetGateway) -> Option<&str> {
    g.attachments()
        .iter()
        .find(|a| {
            matches!(
                a.state().map(aws_sdk_ec2::types::AttachmentStatus::as_str),
                Some("available" | "attached" | "attaching")
            )
        })
        .and_then(|a| a.vpc_id())
}

#[async_trait]
impl Kind for InternetGateway {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        BATCH
            .read(ids, |chunk| {
                self.describe(cx, vec![filter("internet-gateway-id", chunk)])
            })
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let out = cx
            .aws
            .ec2
            .create_internet_gateway()
            .tag_specifications(tag_spec(
                cx,
                ResourceType::InternetGateway,
                address,
                desired,
            )?)
            .send()
            .await?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .ok_or_else(|| ApiError::msg("CreateInternetGateway returned no id"))?
            .to_owned();
        crate::kinds::created(&id);
        // Usable at once, but EC2 may not know the id yet: attaching would fail.
        let what = format!("internet gateway {id} to be visible");
        wait_visible(cx.timeouts(self).create, &what, || async {
            Ok(present(self.read_one(cx, &id).await?))
        })
        .await?;
        // A new gateway is attached to nothing.
        let created = Attrs::from([
            ("vpc_id".to_owned(), Value::Null),
            (
                "tags".to_owned(),
                desired.get("tags").cloned().unwrap_or_default(),
            ),
        ]);
        update_from(self, cx, address, &id, &created, desired).await?;
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        if changed.has("vpc_id") {
            if let Some(old) = str_attr(live, "vpc_id") {
                self.detach(cx, id, &old, cx.timeouts(self).update).await?;
            }
            if let Some(new) = str_attr(desired, "vpc_id") {
                self.attach(cx, id, &new).await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // Detach from whatever it is attached to now, not what the state
        // last saw: AWS refuses to delete an attached gateway.
        let Some(live) = self.read_one(cx, id).await? else {
            return Ok(());
        };
        if let Some(vpc_id) = str_attr(&live, "vpc_id") {
            self.detach(cx, id, &vpc_id, cx.timeouts(self).delete)
                .await?;
        }
        retry_while_in_use(
            cx.timeouts(self).delete,
            &format!("internet gateway {id} to be free to delete"),
            || async {
                let call = cx.aws.ec2.delete_internet_gateway();
                call.internet_gateway_id(id).send().await?;
                Ok(())
            },
        )
        .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t| self.describe(cx, address_filters(t))).await
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{AttachmentStatus, InternetGatewayAttachment, Tag};

    use super::*;
    use crate::kinds::Changes;

    fn gateway(attachments: &[(&str, &str)]) -> aws_sdk_ec2::types::InternetGateway {
        let mut b = aws_sdk_ec2::types::InternetGateway::builder()
            .internet_gateway_id("igw-0abc")
            .tags(Tag::builder().key("Name").value("main").build())
            .tags(
                Tag::builder()
                    .key("reconcile:address")
                    .value("internet_gateway.main")
                    .build(),
            );
        for (vpc, state) in attachments {
            b = b.attachments(
                InternetGatewayAttachment::builder()
                    .vpc_id(*vpc)
                    .state(AttachmentStatus::from(*state))
                    .build(),
            );
        }
        b.build()
    }

    #[test]
    fn an_available_attachment_reads_as_the_vpc_id() {
        let a = attrs(&gateway(&[("vpc-1", "available")]));
        assert_eq!(a["id"], Value::str("igw-0abc"));
        assert_eq!(a["vpc_id"], Value::str("vpc-1"));
        assert_eq!(a["tags"].str_map().len(), 1, "reconcile tags are hidden");
        assert_eq!(
            attrs(&gateway(&[("vpc-1", "attached")]))["vpc_id"],
            Value::str("vpc-1")
        );
    }

    #[test]
    fn a_detached_or_detaching_gateway_reads_as_attached_to_nothing() {
        assert_eq!(attrs(&gateway(&[]))["vpc_id"], Value::Null);
        assert_eq!(
            attrs(&gateway(&[("vpc-1", "detaching")]))["vpc_id"],
            Value::Null
        );
        assert_eq!(
            attrs(&gateway(&[("vpc-1", "detached"), ("vpc-2", "available")]))["vpc_id"],
            Value::str("vpc-2")
        );
    }

    #[test]
    fn the_attachment_changes_in_place() {
        let f = SCHEMA.field("vpc_id").unwrap();
        assert!(!f.force_new && !f.required);
        let live = Attrs::from([("vpc_id".to_owned(), Value::str("vpc-1"))]);
        let desired = Attrs::from([("vpc_id".to_owned(), Value::str("vpc-2"))]);
        assert!(Changes::between(&InternetGateway, &live, &desired).has("vpc_id"));
        assert!(!Changes::between(&InternetGateway, &live, &desired).has("tags"));
    }
}
