//! `subnet`: a range of a VPC's addresses in one availability zone.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, SubnetState};

use super::{BATCH, address_filters, filter, tag_spec};
use crate::aws::ApiError;
use crate::kinds::support::{
    Poll, bool_attr, find_by_address, pages, retry_while_in_use, str_attr, tags_value, update_from,
    wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct Subnet;

static SCHEMA: Schema = Schema {
    kind: "subnet",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A subnet: a range of a VPC's addresses in one availability zone.",
    fields: &[
        Field::new("vpc_id", Type::String)
            .required()
            .force_new()
            .doc("The VPC the subnet belongs to."),
        Field::new("cidr_block", Type::Cidr)
            .required()
            .force_new()
            .doc("The IPv4 address range, inside the VPC's, e.g. \"10.0.1.0/24\"."),
        Field::new("availability_zone", Type::String)
            .force_new()
            .doc("The availability zone, e.g. \"us-east-1a\"; AWS picks one when absent."),
        Field::new("map_public_ip_on_launch", Type::Bool)
            .default(Default::Bool(false))
            .doc("Whether instances launched in the subnet get a public IPv4 address."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The subnet's ARN."),
        Field::new("availability_zone_id", Type::String)
            .computed()
            .doc("The zone id (e.g. \"use1-az1\"), the same in every account."),
    ],
};

impl Subnet {
    /// Every subnet matching the filters (one paginated DescribeSubnets).
    async fn describe(
        &self,
        cx: Ctx<'_>,
        filters: Vec<Filter>,
    ) -> ApiResult<BTreeMap<String, Attrs>> {
        let subnets = pages!(cx.aws.ec2.describe_subnets().set_filters(Some(filters)))?;
        Ok(subnets
            .iter()
            .filter_map(|s| Some((s.subnet_id()?.to_owned(), attrs(s))))
            .collect())
    }
}

/// The attributes of a described subnet.
fn attrs(s: &aws_sdk_ec2::types::Subnet) -> Attrs {
    let mut a = Attrs::new();
    a.insert("id".into(), s.subnet_id().into());
    a.insert("vpc_id".into(), s.vpc_id().into());
    a.insert("cidr_block".into(), s.cidr_block().into());
    a.insert("availability_zone".into(), s.availability_zone().into());
    a.insert(
        "map_public_ip_on_launch".into(),
        s.map_public_ip_on_launch().unwrap_or(false).into(),
    );
    a.insert("arn".into(), s.subnet_arn().into());
    a.insert(
        "availability_zone_id".into(),
        s.availability_zone_id().into(),
    );
    a.insert("tags".into(), tags_value(s.tags()));
    a
}

/// What one look at a subnet being created means for the wait.
fn creation_progress(state: Option<&SubnetState>) -> Poll<()> {
    match state {
        Some(SubnetState::Available) => Poll::Ready(()),
        Some(s @ (SubnetState::Failed | SubnetState::FailedInsufficientCapacity)) => {
            Poll::Failed(s.as_str().to_owned())
        }
        Some(s) => Poll::Pending(s.as_str().to_owned()),
        None => Poll::Pending("not yet visible".into()),
    }
}

#[async_trait]
impl Kind for Subnet {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    fn network_interface_filter(&self) -> Option<&'static str> {
        Some("subnet-id")
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        BATCH
            .read(ids, |chunk| {
                self.describe(cx, vec![filter("subnet-id", chunk)])
            })
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let out = cx
            .aws
            .ec2
            .create_subnet()
            .set_vpc_id(str_attr(desired, "vpc_id"))
            .set_cidr_block(str_attr(desired, "cidr_block"))
            .set_availability_zone(str_attr(desired, "availability_zone"))
            .tag_specifications(tag_spec(cx, ResourceType::Subnet, address, desired)?)
            .send()
            .await?;
        let id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .ok_or_else(|| ApiError::msg("CreateSubnet returned no id"))?
            .to_owned();
        crate::kinds::created(&id);
        let what = format!("subnet {id} to become available");
        wait_visible(cx.timeouts(self).create, &what, || async {
            let out = cx.aws.ec2.describe_subnets().subnet_ids(&id).send().await?;
            Ok(creation_progress(
                out.subnets().first().and_then(|s| s.state()),
            ))
        })
        .await?;
        // A new subnet does not map public IPs on launch.
        let created = Attrs::from([
            ("map_public_ip_on_launch".to_owned(), Value::Bool(false)),
            (
                "tags".to_owned(),
                desired.get("tags").cloned().unwrap_or_default(),
            ),
        ]);
        update_from(self, cx, address, &id, &created, desired).await?;
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        if changed.has("map_public_ip_on_launch")
            && let Some(on) = bool_attr(desired, "map_public_ip_on_launch")
        {
            cx.aws
                .ec2
                .modify_subnet_attribute()
                .subnet_id(id)
                .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
                .send()
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // Real AWS answers DependencyViolation for a while after the subnet's
        // last dependents are gone (the ENIs of a just-deleted NAT gateway or
        // load balancer are released minutes later), so the delete call itself
        // is retried, with backoff, for at most the delete timeout.
        retry_while_in_use(
            cx.timeouts(self).delete,
            &format!("subnet {id} to be free to delete"),
            || async {
                cx.aws.ec2.delete_subnet().subnet_id(id).send().await?;
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use aws_sdk_ec2::types::Tag;

    use super::*;
    use crate::aws::ErrorClass;

    fn described() -> aws_sdk_ec2::types::Subnet {
        aws_sdk_ec2::types::Subnet::builder()
            .subnet_id("subnet-0abc")
            .vpc_id("vpc-0abc")
            .cidr_block("10.0.1.0/24")
            .availability_zone("us-east-1a")
            .availability_zone_id("use1-az1")
            .subnet_arn("arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0abc")
            .state(SubnetState::Available)
            .tags(Tag::builder().key("Name").value("public-a").build())
            .tags(Tag::builder().key("reconcile:stack").value("s").build())
            .tags(
                Tag::builder()
                    .key("reconcile:address")
                    .value("subnet.a")
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_described_subnet_reads_as_its_inputs_plus_computed_attributes() {
        let a = attrs(&described());
        assert_eq!(a["id"], Value::str("subnet-0abc"));
        assert_eq!(a["vpc_id"], Value::str("vpc-0abc"));
        assert_eq!(a["cidr_block"], Value::str("10.0.1.0/24"));
        assert_eq!(a["availability_zone"], Value::str("us-east-1a"));
        assert_eq!(a["availability_zone_id"], Value::str("use1-az1"));
        assert_eq!(
            a["arn"],
            Value::str("arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0abc")
        );
        // AWS leaves the flag out when it is off.
        assert_eq!(a["map_public_ip_on_launch"], Value::Bool(false));
        assert_eq!(a["tags"].str_map().len(), 1, "reconcile tags are hidden");
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
    }

    #[test]
    fn placement_forces_replacement_and_public_ip_mapping_does_not() {
        for f in ["vpc_id", "cidr_block", "availability_zone"] {
            assert!(SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        assert!(!SCHEMA.field("map_public_ip_on_launch").unwrap().force_new);
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert_eq!(filled["map_public_ip_on_launch"], Value::Bool(false));
        assert!(!filled.contains_key("availability_zone"));
    }

    #[test]
    fn a_pending_subnet_is_waited_for_and_a_failed_one_is_not() {
        assert_eq!(
            creation_progress(Some(&SubnetState::Available)),
            Poll::Ready(())
        );
        assert!(matches!(
            creation_progress(Some(&SubnetState::Pending)),
            Poll::Pending(_)
        ));
        assert!(matches!(creation_progress(None), Poll::Pending(_)));
        assert!(matches!(
            creation_progress(Some(&SubnetState::Failed)),
            Poll::Failed(_)
        ));
    }

    fn api_error(code: &str, class: ErrorClass) -> ApiError {
        ApiError { code: Some(code.into()), message: "m".into(), class }
    }

    #[tokio::test(start_paused = true)]
    async fn a_delete_is_retried_while_aws_says_the_subnet_is_in_use() {
        let calls = AtomicUsize::new(0);
        let r = retry_while_in_use(Duration::from_mins(10), "subnet", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    Err(api_error(
                        "DependencyViolation",
                        ErrorClass::DependencyViolation,
                    ))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delete_still_in_use_at_the_deadline_fails_and_other_errors_fail_at_once() {
        let err = retry_while_in_use(Duration::from_mins(1), "subnet", || async {
            Err(api_error(
                "DependencyViolation",
                ErrorClass::DependencyViolation,
            ))
        })
        .await
        .unwrap_err();
        assert!(err.message.contains("timed out after 1m"), "{err}");

        let calls = AtomicUsize::new(0);
        let err = retry_while_in_use(Duration::from_mins(1), "subnet", || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(api_error("UnauthorizedOperation", ErrorClass::Other)) }
        })
        .await
        .unwrap_err();
        assert_eq!(err.code.as_deref(), Some("UnauthorizedOperation"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let gone = retry_while_in_use(Duration::from_mins(1), "subnet", || async {
            Err(api_error("InvalidSubnetID.NotFound", ErrorClass::NotFound))
        })
        .await;
        assert!(gone.is_ok(), "not found counts as deleted");
    }
}
