//! `nat_gateway`: lets a private subnet reach out without being reachable.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{ConnectivityType, Filter, NatGatewayState, ResourceType, Tag};

use super::{BATCH, address_filters, filter, tag_spec};
use crate::aws::ApiError;
use crate::kinds::support::{
    Poll, Waiter, find_by_address, pages, str_attr, tags_value, wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::Attrs;

pub struct NatGateway;

static SCHEMA: Schema = Schema {
    kind: "nat_gateway",
    service: super::SERVICE,
    // A public gateway takes minutes to come up and to go away.
    timeouts: Timeouts::minutes(10, 10, 30),
    description: "A NAT gateway: outbound-only internet access for private subnets.",
    fields: &[
        Field::new("subnet_id", Type::String)
            .required()
            .force_new()
            .doc("The subnet it lives in (a public one for a public gateway)."),
        Field::new("allocation_id", Type::String)
            .unset_is_null()
            .force_new()
            .doc("The Elastic IP allocation it uses; required for a public gateway."),
        Field::new("connectivity_type", Type::String)
            .default(Default::Str("public"))
            .force_new()
            .doc("\"public\" (reaches the internet) or \"private\" (other networks only)."),
        TAGS,
        ID,
        Field::new("public_ip", Type::String)
            .computed()
            .doc("The public address of a public gateway."),
        Field::new("private_ip", Type::String)
            .computed()
            .doc("The gateway's address inside the subnet."),
    ],
};

impl NatGateway {
    /// Every NAT gateway matching the filters, except deleted ones (AWS lists
    /// a deleted gateway for about an hour; it is gone for reconcile).
    async fn describe(
        &self,
        cx: Ctx<'_>,
        filters: Vec<Filter>,
    ) -> ApiResult<BTreeMap<String, Attrs>> {
        let gateways = self.describe_raw(cx, &filters).await?;
        Ok(gateways
            .iter()
            .filter(|g| exists(g.state()))
            // The emulator ignores tag filters here; AWS applies them. Check
            // again so that a lookup by address can never adopt a stranger.
            .filter(|g| tag_filters_match(&filters, g.tags()))
            .filter_map(|g| Some((g.nat_gateway_id()?.to_owned(), attrs(g))))
            .collect())
    }

    async fn describe_raw(
        &self,
        cx: Ctx<'_>,
        filters: &[Filter],
    ) -> ApiResult<Vec<aws_sdk_ec2::types::NatGateway>> {
        pages!(
            cx.aws
                .ec2
                .describe_nat_gateways()
                .set_filter(Some(filters.to_vec()))
        )
    }

    /// The state of one gateway (deleted ones included) and why it failed,
    /// if it failed; None when AWS does not know the id.
    async fn state(
        &self,
        cx: Ctx<'_>,
        id: &str,
    ) -> ApiResult<Option<(NatGatewayState, Option<String>)>> {
        let found = self
            .describe_raw(cx, &[filter("nat-gateway-id", [id])])
            .await?;
        Ok(found
            .into_iter()
            .find(|g| g.nat_gateway_id() == Some(id))
            .map(|g| {
                (
                    g.state.unwrap_or(NatGatewayState::Pending),
                    g.failure_message,
                )
            }))
    }

    /// The state of one gateway that still exists; None when it is gone.
    async fn live_state(&self, cx: Ctx<'_>, id: &str) -> ApiResult<Option<NatGatewayState>> {
        Ok(self
            .state(cx, id)
            .await?
            .map(|(s, _)| s)
            .filter(|s| exists(Some(s))))
    }
}

/// The attributes of a described gateway, its addresses taken from the
/// primary one (the first when none says it is primary).
fn attrs(g: &aws_sdk_ec2::types::NatGateway) -> Attrs {
    let addresses = g.nat_gateway_addresses();
    let primary = addresses
        .iter()
        .find(|a| a.is_primary() == Some(true))
        .or_else(|| addresses.first());
    let mut a = Attrs::new();
    a.insert("id".into(), g.nat_gateway_id().into());
    a.insert("subnet_id".into(), g.subnet_id().into());
    a.insert(
        "allocation_id".into(),
        primary.and_then(|p| p.allocation_id()).into(),
    );
    a.insert(
        "connectivity_type".into(),
        g.connectivity_type().map(ConnectivityType::as_str).into(),
    );
    a.insert(
        "public_ip".into(),
        primary.and_then(|p| p.public_ip()).into(),
    );
    a.insert(
        "private_ip".into(),
        primary.and_then(|p| p.private_ip()).into(),
    );
    a.insert("tags".into(), tags_value(g.tags()));
    a
}

/// A gateway in state `deleted` is gone; `deleting` still exists.
fn exists(state: Option<&NatGatewayState>) -> bool {
    !matches!(state, Some(NatGatewayState::Deleted))
}

/// True when `tags` satisfy every `tag:<key>` filter.
fn tag_filters_match(filters: &[Filter], tags: &[Tag]) -> bool {
    filters
        .iter()
        .all(|f| match f.name().and_then(|n| n.strip_prefix("tag:")) {
            None => true,
            Some(key) => tags.iter().any(|t| {
                t.key() == Some(key)
                    && f.values()
                        .iter()
                        .any(|v| t.value().is_some_and(|t| super::pattern_matches(v, t)))
            }),
        })
}

/// What one look at a gateway being created means for the wait.
fn creation_progress(state: Option<&NatGatewayState>, failure: Option<&str>) -> Poll<()> {
    match state {
        Some(NatGatewayState::Available) => Poll::Ready(()),
        Some(NatGatewayState::Failed) => Poll::Failed(format!(
            "failed: {}",
            failure.unwrap_or("AWS gave no reason")
        )),
        // Only when the client token named a gateway deleted earlier.
        Some(s @ (NatGatewayState::Deleting | NatGatewayState::Deleted)) => Poll::Failed(format!(
            "{}: the create returned a gateway already deleted",
            s.as_str()
        )),
        Some(s) => Poll::Pending(s.as_str().to_owned()),
        None => Poll::Pending("not yet visible".into()),
    }
}

/// The idempotency token of a create: the same for a retried create of the
/// same resource, so AWS returns the first gateway instead of making a second
/// one. Besides stack and address it covers the force-new inputs, so that a
/// replacement (which changes one of them) gets a gateway of its own.
fn client_token(stack: &str, address: &str, desired: &Attrs) -> String {
    let inputs = ["subnet_id", "allocation_id", "connectivity_type"]
        .map(|f| str_attr(desired, f).unwrap_or_default());
    crate::kinds::support::client_token(
        [stack, address]
            .into_iter()
            .chain(inputs.iter().map(String::as_str)),
    )
}

#[async_trait]
impl Kind for NatGateway {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        BATCH
            .read(ids, |chunk| {
                self.describe(cx, vec![filter("nat-gateway-id", chunk)])
            })
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let connectivity =
            str_attr(desired, "connectivity_type").unwrap_or_else(|| "public".into());
        let out = cx
            .aws
            .ec2
            .create_nat_gateway()
            .set_subnet_id(str_attr(desired, "subnet_id"))
            .set_allocation_id(str_attr(desired, "allocation_id"))
            .connectivity_type(ConnectivityType::from(connectivity.as_str()))
            .client_token(client_token(cx.stack, address, desired))
            .tag_specifications(tag_spec(cx, ResourceType::Natgateway, address, desired)?)
            .send()
            .await?;
        let id = out
            .nat_gateway()
            .and_then(|g| g.nat_gateway_id())
            .ok_or_else(|| ApiError::msg("CreateNatGateway returned no id"))?
            .to_owned();
        crate::kinds::created(&id);
        wait_visible(
            cx.timeouts(self).create,
            &format!("NAT gateway {id} to become available"),
            || async {
                let state = self.state(cx, &id).await?;
                Ok(match &state {
                    Some((s, failure)) => creation_progress(Some(s), failure.as_deref()),
                    None => creation_progress(None, None),
                })
            },
        )
        .await?;
        Ok(id)
    }

    async fn update(&self, _op: Update<'_>) -> ApiResult<()> {
        // Everything else forces a new gateway.
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // Look first: AWS answers NatGatewayNotFound for an unknown id, the
        // emulator HTTP 500 (which the SDK retries before giving up).
        if self.live_state(cx, id).await?.is_none() {
            return Ok(());
        }
        let deleted = cx
            .aws
            .ec2
            .delete_nat_gateway()
            .nat_gateway_id(id)
            .send()
            .await;
        if let Err(e) = deleted.map_err(ApiError::from) {
            // Fine if it went away meanwhile or is already on its way out.
            if let Some(s) = self.live_state(cx, id).await?
                && s != NatGatewayState::Deleting
            {
                return Err(e);
            }
        }
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("NAT gateway {id} to be deleted"), || async {
                Ok(match self.live_state(cx, id).await? {
                    None => Poll::Ready(()),
                    Some(s) => Poll::Pending(s.as_str().to_owned()),
                })
            })
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        // A gateway being deleted, or failed, must not be adopted.
        find_by_address(cx, address, |t| {
            let mut filters = address_filters(t);
            filters.push(filter("state", ["pending", "available"]));
            self.describe(cx, filters)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::NatGatewayAddress;

    use super::*;
    use crate::value::Value;

    fn described(state: NatGatewayState) -> aws_sdk_ec2::types::NatGateway {
        aws_sdk_ec2::types::NatGateway::builder()
            .nat_gateway_id("nat-0abc")
            .subnet_id("subnet-0abc")
            .vpc_id("vpc-0abc")
            .state(state)
            .connectivity_type(ConnectivityType::Public)
            .nat_gateway_addresses(
                NatGatewayAddress::builder()
                    .allocation_id("eipalloc-secondary")
                    .public_ip("203.0.113.9")
                    .private_ip("10.0.1.9")
                    .is_primary(false)
                    .build(),
            )
            .nat_gateway_addresses(
                NatGatewayAddress::builder()
                    .allocation_id("eipalloc-0abc")
                    .public_ip("203.0.113.7")
                    .private_ip("10.0.1.7")
                    .is_primary(true)
                    .build(),
            )
            .tags(Tag::builder().key("Name").value("nat-a").build())
            .tags(Tag::builder().key("reconcile:stack").value("s").build())
            .tags(
                Tag::builder()
                    .key("reconcile:address")
                    .value("nat_gateway.a")
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_described_gateway_reads_its_primary_address() {
        let a = attrs(&described(NatGatewayState::Available));
        assert_eq!(a["id"], Value::str("nat-0abc"));
        assert_eq!(a["subnet_id"], Value::str("subnet-0abc"));
        assert_eq!(a["allocation_id"], Value::str("eipalloc-0abc"));
        assert_eq!(a["connectivity_type"], Value::str("public"));
        assert_eq!(a["public_ip"], Value::str("203.0.113.7"));
        assert_eq!(a["private_ip"], Value::str("10.0.1.7"));
        assert_eq!(a["tags"].str_map().len(), 1, "reconcile tags are hidden");
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
    }

    #[test]
    fn a_private_gateway_has_no_public_address() {
        let g = aws_sdk_ec2::types::NatGateway::builder()
            .nat_gateway_id("nat-0abc")
            .connectivity_type(ConnectivityType::Private)
            .nat_gateway_addresses(NatGatewayAddress::builder().private_ip("10.0.1.7").build())
            .build();
        let a = attrs(&g);
        assert_eq!(a["connectivity_type"], Value::str("private"));
        assert_eq!(a["allocation_id"], Value::Null);
        assert_eq!(a["public_ip"], Value::Null);
        assert_eq!(a["private_ip"], Value::str("10.0.1.7"));
    }

    #[test]
    fn a_deleted_gateway_is_gone_and_a_deleting_one_still_exists() {
        assert!(!exists(Some(&NatGatewayState::Deleted)));
        assert!(exists(Some(&NatGatewayState::Deleting)));
        assert!(exists(Some(&NatGatewayState::Available)));
        assert!(exists(Some(&NatGatewayState::Failed)));
    }

    #[test]
    fn a_failed_gateway_stops_the_wait_with_aws_reason() {
        assert_eq!(
            creation_progress(Some(&NatGatewayState::Available), None),
            Poll::Ready(())
        );
        assert!(matches!(
            creation_progress(Some(&NatGatewayState::Pending), None),
            Poll::Pending(_)
        ));
        assert!(matches!(creation_progress(None, None), Poll::Pending(_)));
        let Poll::Failed(why) = creation_progress(
            Some(&NatGatewayState::Failed),
            Some("Subnet subnet-0abc does not have enough free addresses"),
        ) else {
            panic!("a failed gateway must stop the wait");
        };
        assert!(why.contains("does not have enough free addresses"), "{why}");
        assert!(matches!(
            creation_progress(Some(&NatGatewayState::Deleted), None),
            Poll::Failed(_)
        ));
    }

    #[test]
    fn the_client_token_is_stable_short_and_specific_to_the_resource() {
        let desired = Attrs::from([
            ("subnet_id".to_owned(), Value::str("subnet-0abc")),
            ("allocation_id".to_owned(), Value::str("eipalloc-0abc")),
            ("connectivity_type".to_owned(), Value::str("public")),
        ]);
        let token = client_token("prod", "nat_gateway.a", &desired);
        assert_eq!(token, client_token("prod", "nat_gateway.a", &desired));
        // Fixed here so that a change of the hash (which would break
        // idempotency across versions) is noticed.
        assert_eq!(token, "reconcile-72d4ce88feff70c7fd562e9b181409d6");
        assert!(token.len() <= 64 && token.is_ascii());
        assert_ne!(token, client_token("prod", "nat_gateway.b", &desired));
        assert_ne!(token, client_token("dev", "nat_gateway.a", &desired));
        let mut moved = desired.clone();
        moved.insert("subnet_id".into(), Value::str("subnet-0def"));
        assert_ne!(token, client_token("prod", "nat_gateway.a", &moved));
        // Tags are not part of it: retagging is an update, not a new gateway.
        let mut tagged = desired.clone();
        tagged.insert(
            "tags".into(),
            Value::from(BTreeMap::from([("a".to_owned(), "b".to_owned())])),
        );
        assert_eq!(token, client_token("prod", "nat_gateway.a", &tagged));
    }

    #[test]
    fn tag_filters_are_checked_again_on_the_answer() {
        let g = described(NatGatewayState::Available);
        let mine = [
            filter("tag:reconcile:stack", ["s"]),
            filter("tag:reconcile:address", ["nat_gateway.a"]),
            filter("state", ["available"]),
        ];
        assert!(tag_filters_match(&mine, g.tags()));
        let other = [filter("tag:reconcile:address", ["nat_gateway.b"])];
        assert!(!tag_filters_match(&other, g.tags()));
        let missing = [filter("tag:Owner", ["me"])];
        assert!(!tag_filters_match(&missing, g.tags()));
    }
}
