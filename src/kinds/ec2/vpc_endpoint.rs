//! `vpc_endpoint`: a private way from a VPC to an AWS service, so that
//! private subnets reach it without a NAT gateway. Gateway endpoints (S3,
//! DynamoDB) add routes to route tables; interface endpoints (ECR, CloudWatch
//! Logs, Secrets Manager, SSM, …) put network interfaces in subnets, behind
//! security groups, with private DNS names for the service.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, VpcEndpoint as AwsEndpoint, VpcEndpointType};

use super::{FILTER_CHUNK, address_filters, tag_spec};
use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, Poll, Waiter, canonical_policy, client_token, find_by_address, gone_is_ok, pages,
    policy_value, str_attr, tags_value, wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type, json_text};
use crate::value::{Attrs, Value};

pub struct VpcEndpointKind;

/// DescribeVpcEndpoints takes ids, not an id filter (the emulator has
/// none), and fails the whole call for one unknown id.
const BATCH: Batch = Batch::of(FILTER_CHUNK).unknown_fails_chunk();

static SCHEMA: Schema = Schema {
    kind: "vpc_endpoint",
    service: super::SERVICE,
    timeouts: Timeouts::minutes(10, 10, 10),
    description: "A VPC endpoint: private access from a VPC to an AWS service without a NAT gateway. Gateway endpoints (S3, DynamoDB) route through route tables; interface endpoints (ECR api and dkr, CloudWatch Logs, Secrets Manager, SSM, …) sit in subnets behind security groups, with private DNS.",
    fields: &[
        Field::new("vpc_id", Type::String)
            .required()
            .force_new()
            .doc("The VPC the endpoint serves."),
        Field::new("service_name", Type::String)
            .required()
            .force_new()
            .doc("The service, e.g. \"com.amazonaws.${stack.region}.s3\" or \"com.amazonaws.${stack.region}.ecr.dkr\"."),
        Field::new("type", Type::String)
            .default(Default::Str("Gateway"))
            .one_of(&["Gateway", "Interface", "GatewayLoadBalancer"])
            .force_new()
            .doc("\"Gateway\" (S3, DynamoDB) or \"Interface\" (most other services)."),
        Field::new("route_table_ids", Type::Set(&Type::String))
            .default(Default::EmptyList)
            .doc("Gateway endpoints: the route tables that get a route to the service."),
        Field::new("subnet_ids", Type::Set(&Type::String))
            .default(Default::EmptyList)
            .doc("Interface endpoints: one subnet per availability zone to put an interface in."),
        Field::new("security_group_ids", Type::Set(&Type::String))
            .doc("Interface endpoints: the groups of its interfaces (they must admit HTTPS from the clients). Unset: AWS uses the VPC's default group, and reconcile leaves them alone."),
        Field::new("private_dns_enabled", Type::Bool)
            .doc("Interface endpoints: the service's public name resolves to the endpoint inside the VPC (needs the VPC's DNS support and hostnames). Unset: AWS's default, left alone."),
        Field::new("policy", Type::Json)
            .doc("Who may use the endpoint for what; by default AWS's, which allows everything."),
        TAGS,
        ID,
        Field::new("dns_names", Type::List(&Type::String))
            .computed()
            .doc("Interface endpoints: the endpoint's own DNS names."),
        Field::new("network_interface_ids", Type::List(&Type::String))
            .computed()
            .doc("Interface endpoints: the interfaces in the subnets."),
    ],
};

/// The attributes of a described endpoint.
fn endpoint_attrs(e: &AwsEndpoint) -> Attrs {
    let kind = e
        .vpc_endpoint_type()
        .map_or("Gateway", VpcEndpointType::as_str);
    let interface = kind != "Gateway";
    let mut a = Attrs::new();
    a.insert("id".into(), e.vpc_endpoint_id().into());
    a.insert("vpc_id".into(), e.vpc_id().into());
    a.insert("service_name".into(), e.service_name().into());
    a.insert("type".into(), Value::str(kind));
    a.insert(
        "route_table_ids".into(),
        Value::from(e.route_table_ids().to_vec()),
    );
    a.insert("subnet_ids".into(), Value::from(e.subnet_ids().to_vec()));
    let groups: Vec<String> = e
        .groups()
        .iter()
        .filter_map(|g| g.group_id().map(str::to_owned))
        .collect();
    a.insert("security_group_ids".into(), Value::from(groups));
    // Private DNS is a setting of interface endpoints only (the emulator
    // reports it on gateway ones too).
    a.insert(
        "private_dns_enabled".into(),
        if interface {
            Value::from(e.private_dns_enabled())
        } else {
            Value::Null
        },
    );
    a.insert(
        "policy".into(),
        e.policy_document().map_or(Value::Null, policy_value),
    );
    a.insert("tags".into(), tags_value(e.tags()));
    let dns: Vec<String> = e
        .dns_entries()
        .iter()
        .filter_map(|d| d.dns_name().map(str::to_owned))
        .collect();
    a.insert("dns_names".into(), Value::from(dns));
    a.insert(
        "network_interface_ids".into(),
        Value::from(e.network_interface_ids().to_vec()),
    );
    a
}

/// An endpoint's state in lowercase: the API answers "available" where
/// the SDK's shared `State` enum spells "Available" (and would take the
/// answer for an unknown value).
fn state_of(e: &AwsEndpoint) -> Option<String> {
    e.state().map(|s| s.as_str().to_ascii_lowercase())
}

/// Whether a described endpoint still exists (a deleted one is listed for
/// a while, in state `deleted`).
fn exists(e: &AwsEndpoint) -> bool {
    state_of(e).as_deref() != Some("deleted")
}

/// What one look at an endpoint being created means for the wait.
fn creation_progress(e: Option<&AwsEndpoint>) -> Poll<()> {
    let Some(e) = e else {
        return Poll::Pending("not yet visible".into());
    };
    match state_of(e).as_deref() {
        Some("available") => Poll::Ready(()),
        Some(s @ ("failed" | "rejected" | "expired" | "deleted")) => {
            let why = e
                .failure_reason()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            Poll::Failed(format!("{s}{why}"))
        }
        Some(s) => Poll::Pending(s.to_owned()),
        None => Poll::Pending("no state yet".into()),
    }
}

/// The ids a set field gains and loses from `live` to `desired`.
fn set_changes(live: &Attrs, desired: &Attrs, field: &str) -> (Vec<String>, Vec<String>) {
    let ids = |a: &Attrs| -> BTreeSet<String> {
        a.get(field)
            .map(Value::str_list)
            .unwrap_or_default()
            .into_iter()
            .collect()
    };
    let (before, after) = (ids(live), ids(desired));
    (
        after.difference(&before).cloned().collect(),
        before.difference(&after).cloned().collect(),
    )
}

/// A list argument: none when empty, as the API wants it left out.
fn some(ids: Vec<String>) -> Option<Vec<String>> {
    Some(ids).filter(|v| !v.is_empty())
}

impl VpcEndpointKind {
    /// Endpoints by id, or every one matching the filters.
    async fn describe(
        &self,
        cx: Ctx<'_>,
        ids: Option<&[String]>,
        filters: Vec<Filter>,
    ) -> ApiResult<LiveMap> {
        let found = pages!(
            cx.aws
                .ec2
                .describe_vpc_endpoints()
                .set_vpc_endpoint_ids(ids.map(<[String]>::to_vec))
                .set_filters(Some(filters).filter(|f| !f.is_empty()))
        )?;
        Ok(found
            .iter()
            .filter(|e| exists(e))
            .filter_map(|e| Some((e.vpc_endpoint_id()?.to_owned(), endpoint_attrs(e))))
            .collect())
    }

    async fn one(&self, cx: Ctx<'_>, id: &str) -> ApiResult<Option<AwsEndpoint>> {
        let out = cx
            .aws
            .ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await
            .map_err(ApiError::from);
        match out {
            Ok(out) => Ok(out.vpc_endpoints().iter().find(|e| exists(e)).cloned()),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Kind for VpcEndpointKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(doc) = attrs.get_mut("policy") {
            *doc = canonical_policy(doc);
        }
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        BATCH
            .read(ids, |chunk| self.describe(cx, Some(chunk), Vec::new()))
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let list = |f: &str| some(desired.get(f).map(Value::str_list).unwrap_or_default());
        let out = cx
            .aws
            .ec2
            .create_vpc_endpoint()
            .set_vpc_id(str_attr(desired, "vpc_id"))
            .set_service_name(str_attr(desired, "service_name"))
            .vpc_endpoint_type(VpcEndpointType::from(
                str_attr(desired, "type").as_deref().unwrap_or("Gateway"),
            ))
            .set_route_table_ids(list("route_table_ids"))
            .set_subnet_ids(list("subnet_ids"))
            .set_security_group_ids(list("security_group_ids"))
            .set_private_dns_enabled(desired.get("private_dns_enabled").and_then(Value::as_bool))
            .set_policy_document(
                desired
                    .get("policy")
                    .filter(|p| !p.is_null())
                    .map(json_text),
            )
            // A repeat of the same call answers the endpoint the first made.
            .client_token(client_token([cx.stack, address]))
            .tag_specifications(tag_spec(cx, ResourceType::VpcEndpoint, address, desired)?)
            .send()
            .await?;
        let id = out
            .vpc_endpoint()
            .and_then(AwsEndpoint::vpc_endpoint_id)
            .ok_or_else(|| ApiError::msg("CreateVpcEndpoint returned no id"))?
            .to_owned();
        crate::kinds::created(&id);
        let what = format!("VPC endpoint {id} to become available");
        wait_visible(cx.timeouts(self).create, &what, || async {
            Ok(creation_progress(self.one(cx, &id).await?.as_ref()))
        })
        .await?;
        Ok(id)
    }

    /// One ModifyVpcEndpoint for every change but tags.
    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        let fields = [
            "route_table_ids",
            "subnet_ids",
            "security_group_ids",
            "private_dns_enabled",
            "policy",
        ];
        if changed.sets_any(&fields) {
            let mut call = cx.aws.ec2.modify_vpc_endpoint().vpc_endpoint_id(id);
            if changed.sets("route_table_ids") {
                let (add, remove) = set_changes(live, desired, "route_table_ids");
                call = call
                    .set_add_route_table_ids(some(add))
                    .set_remove_route_table_ids(some(remove));
            }
            if changed.sets("subnet_ids") {
                let (add, remove) = set_changes(live, desired, "subnet_ids");
                call = call
                    .set_add_subnet_ids(some(add))
                    .set_remove_subnet_ids(some(remove));
            }
            if changed.sets("security_group_ids") {
                let (add, remove) = set_changes(live, desired, "security_group_ids");
                call = call
                    .set_add_security_group_ids(some(add))
                    .set_remove_security_group_ids(some(remove));
            }
            if changed.sets("private_dns_enabled") {
                call = call.set_private_dns_enabled(
                    desired.get("private_dns_enabled").and_then(Value::as_bool),
                );
            }
            if changed.sets("policy") {
                call = call.set_policy_document(desired.get("policy").map(json_text));
            }
            call.send().await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, live } = op;
        let ec2 = &cx.aws.ec2;
        // Route tables are let go first, so that the delete has no route
        // left to undo: the emulator's DeleteVpcEndpoints fails (not found)
        // on a route it never added for a table added by ModifyVpcEndpoint.
        let tables = live
            .get("route_table_ids")
            .map(Value::str_list)
            .unwrap_or_default();
        if !tables.is_empty() {
            gone_is_ok(
                ec2.modify_vpc_endpoint()
                    .vpc_endpoint_id(id)
                    .set_remove_route_table_ids(Some(tables))
                    .send()
                    .await,
            )?;
        }
        let out = ec2
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await
            .map_err(ApiError::from);
        match out {
            // Gone already, or not: the wait below looks.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
            Ok(out) => {
                // Refusals come back in the answer, not as an error.
                if let Some(err) = out.unsuccessful().iter().find_map(|u| u.error()) {
                    let code = err.code().unwrap_or_default();
                    let e = ApiError {
                        code: Some(code.to_owned()),
                        message: err.message().unwrap_or_default().to_owned(),
                        class: crate::aws::error::classify_code(code),
                    };
                    if !e.is_not_found() {
                        return Err(e);
                    }
                }
            }
        }
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("VPC endpoint {id} to be deleted"), || async {
                Ok(match self.one(cx, id).await? {
                    None => Poll::Ready(()),
                    Some(e) => Poll::Pending(state_of(&e).unwrap_or_else(|| "listed".into())),
                })
            })
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t| self.describe(cx, None, address_filters(t))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{DnsEntry, SecurityGroupIdentifier, State};

    fn desired(pairs: &[(&str, Value)]) -> Attrs {
        let mut d = SCHEMA.with_defaults(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        );
        VpcEndpointKind.canonicalize(&mut d);
        d
    }

    #[test]
    fn a_gateway_endpoint_reads_back_as_written_whatever_the_defaults() {
        let e = AwsEndpoint::builder()
            .vpc_endpoint_id("vpce-1")
            .vpc_id("vpc-1")
            .service_name("com.amazonaws.us-east-1.s3")
            .state(State::Available)
            .route_table_ids("rtb-1")
            .private_dns_enabled(true)
            .policy_document(r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#)
            .build();
        let mut live = endpoint_attrs(&e);
        VpcEndpointKind.canonicalize(&mut live);
        let d = desired(&[
            ("vpc_id", Value::str("vpc-1")),
            ("service_name", Value::str("com.amazonaws.us-east-1.s3")),
            ("route_table_ids", Value::from(vec!["rtb-1".to_owned()])),
        ]);
        let c = crate::kinds::Changes::between(&VpcEndpointKind, &live, &d);
        assert!(c.fields().all(|f| !c.sets(f)), "{c:?}");
        assert_eq!(live["private_dns_enabled"], Value::Null);
    }

    #[test]
    fn an_interface_endpoint_reads_its_groups_dns_and_interfaces() {
        let e = AwsEndpoint::builder()
            .vpc_endpoint_id("vpce-2")
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .subnet_ids("subnet-1")
            .groups(SecurityGroupIdentifier::builder().group_id("sg-1").build())
            .private_dns_enabled(true)
            .dns_entries(DnsEntry::builder().dns_name("vpce-2.logs").build())
            .network_interface_ids("eni-1")
            .build();
        let a = endpoint_attrs(&e);
        assert_eq!(a["type"], Value::str("Interface"));
        assert_eq!(
            a["security_group_ids"],
            Value::from(vec!["sg-1".to_owned()])
        );
        assert_eq!(a["private_dns_enabled"], Value::Bool(true));
        assert_eq!(a["dns_names"], Value::from(vec!["vpce-2.logs".to_owned()]));
        assert_eq!(
            a["network_interface_ids"],
            Value::from(vec!["eni-1".to_owned()])
        );
    }

    #[test]
    fn an_update_adds_what_is_new_and_removes_what_went() {
        let live = desired(&[(
            "subnet_ids",
            Value::from(vec!["a".to_owned(), "b".to_owned()]),
        )]);
        let d = desired(&[(
            "subnet_ids",
            Value::from(vec!["b".to_owned(), "c".to_owned()]),
        )]);
        assert_eq!(
            set_changes(&live, &d, "subnet_ids"),
            (vec!["c".to_owned()], vec!["a".to_owned()])
        );
        assert_eq!(some(Vec::new()), None);
    }

    #[test]
    fn a_deleted_endpoint_is_gone_and_a_failed_one_fails_the_wait() {
        let e = |s: State| AwsEndpoint::builder().state(s).build();
        assert!(!exists(&e(State::Deleted)));
        assert!(exists(&e(State::Deleting)));
        assert_eq!(
            creation_progress(Some(&e(State::Available))),
            Poll::Ready(())
        );
        assert!(matches!(
            creation_progress(Some(&e(State::Pending))),
            Poll::Pending(_)
        ));
        assert!(matches!(
            creation_progress(Some(&e(State::Failed))),
            Poll::Failed(_)
        ));
        assert!(matches!(creation_progress(None), Poll::Pending(_)));
        // What the API (and the emulator) answer: lowercase.
        let said = |s: &str| AwsEndpoint::builder().state(State::from(s)).build();
        assert!(!exists(&said("deleted")));
        assert_eq!(creation_progress(Some(&said("available"))), Poll::Ready(()));
        assert!(matches!(
            creation_progress(Some(&said("pendingAcceptance"))),
            Poll::Pending(_)
        ));
        assert!(matches!(
            creation_progress(Some(&said("failed"))),
            Poll::Failed(_)
        ));
    }
}
