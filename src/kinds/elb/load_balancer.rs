//! `load_balancer`: an application or network load balancer (ELBv2).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    IpAddressType, LoadBalancer as AwsLoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum,
    LoadBalancerStateEnum, LoadBalancerTypeEnum,
};

use super::{
    BATCH, all_load_balancer_arns, name_part, only_requested, resource_name, tagged_with,
    tags_value,
};
use crate::aws::ApiError;
use crate::kinds::support::tagging::tags_of;
use crate::kinds::support::{
    Poll, Waiter, bool_attr, create_tags, find_by_address, gone_is_ok, pages, str_attr,
    update_from, wait_visible,
};
use crate::kinds::{
    ApiResult, Changes, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update,
};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct LoadBalancer;

static SCHEMA: Schema = Schema {
    kind: "load_balancer",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An application or network load balancer (ELBv2).",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::ELB)
            .force_new()
            .doc("The name (at most 32 letters, digits and hyphens); by default `<stack>-<resource name>`."),
        Field::new("type", Type::String)
            .default(Default::Str("application"))
            .one_of(&["application", "network", "gateway"])
            .force_new()
            .doc("\"application\" or \"network\"."),
        Field::new("scheme", Type::String)
            .default(Default::Str("internet-facing"))
            .one_of(&["internet-facing", "internal"])
            .force_new()
            .doc("\"internet-facing\" or \"internal\"."),
        Field::new("subnet_ids", Type::Set(&Type::String))
            .required()
            .doc("The subnets, one per availability zone (at least two for an application load balancer); changed in place."),
        Field::new("security_group_ids", Type::Set(&Type::String))
            .default(Default::EmptyList)
            .doc("Security groups of an application load balancer; changed in place."),
        Field::new("idle_timeout", Type::Int)
            .default(Default::Int(60))
            .doc("Seconds a connection may stay idle (application load balancers only)."),
        Field::new("deletion_protection", Type::Bool)
            .default(Default::Bool(false))
            .doc("Whether AWS refuses to delete the load balancer."),
        Field::new("ip_address_type", Type::String)
            .default(Default::Str("ipv4"))
            .doc("\"ipv4\" or \"dualstack\"; changed in place."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the load balancer (also its id)."),
        Field::new("arn_suffix", Type::String)
            .computed()
            .doc("The part of the ARN CloudWatch metrics use: `app/<name>/<id>`."),
        Field::new("dns_name", Type::String)
            .computed()
            .doc("The DNS name clients connect to."),
        Field::new("zone_id", Type::String)
            .computed()
            .doc("The Route 53 hosted zone of the DNS name, for alias records."),
        Field::new("vpc_id", Type::String)
            .computed()
            .doc("The VPC of the subnets."),
    ],
};

/// Attribute keys of the schema's attribute fields.
const IDLE_TIMEOUT: &str = "idle_timeout.timeout_seconds";
const DELETION_PROTECTION: &str = "deletion_protection.enabled";

impl LoadBalancer {
    /// The load balancers of `arns` that exist, with their tags and the
    /// attributes of the schema: one DescribeLoadBalancers per 20 ARNs,
    /// one GetResources (tagging API) per 100, one
    /// DescribeLoadBalancerAttributes each.
    async fn describe(&self, cx: Ctx<'_>, arns: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
        let lbs = BATCH
            .read(arns, |chunk| async move {
                pages!(
                    cx.aws
                        .elb
                        .describe_load_balancers()
                        .set_load_balancer_arns(Some(chunk.to_vec()))
                )
            })
            .await?;
        let lbs = only_requested(lbs, arns, AwsLoadBalancer::load_balancer_arn);
        let found: Vec<String> = lbs
            .iter()
            .filter_map(|lb| lb.load_balancer_arn().map(str::to_owned))
            .collect();
        let tags = tags_of(cx, &found).await?;
        let reads = lbs.iter().map(|lb| {
            let tags = &tags;
            async move {
                let arn = lb.load_balancer_arn().unwrap_or_default();
                let r = cx
                    .aws
                    .elb
                    .describe_load_balancer_attributes()
                    .load_balancer_arn(arn)
                    .send()
                    .await
                    .map_err(ApiError::from);
                let attributes: BTreeMap<String, String> = match r {
                    // Deleted since it was described.
                    Err(e) if e.is_not_found() => return Ok(None),
                    Err(e) => return Err(e),
                    Ok(out) => out
                        .attributes()
                        .iter()
                        .filter_map(|a| Some((a.key()?.to_owned(), a.value()?.to_owned())))
                        .collect(),
                };
                let mut a = lb_attrs(lb, &attributes);
                a.insert("tags".into(), tags_value(tags.get(arn)));
                Ok::<_, ApiError>(Some((arn.to_owned(), a)))
            }
        });
        Ok(futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }
}

/// The attributes of a described load balancer. An attribute AWS does not
/// report has its default value (the emulator leaves out the idle timeout
/// until it is set).
fn lb_attrs(lb: &AwsLoadBalancer, attributes: &BTreeMap<String, String>) -> Attrs {
    let arn = lb.load_balancer_arn().unwrap_or_default();
    let subnets: Vec<String> = lb
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id().map(str::to_owned))
        .collect();
    let idle_timeout = attributes
        .get(IDLE_TIMEOUT)
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(60);
    let deletion_protection = attributes
        .get(DELETION_PROTECTION)
        .is_some_and(|v| v == "true");
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("arn_suffix".into(), Value::from(arn_suffix(arn)));
    a.insert("name".into(), lb.load_balancer_name().into());
    a.insert(
        "type".into(),
        lb.r#type().map(LoadBalancerTypeEnum::as_str).into(),
    );
    a.insert(
        "scheme".into(),
        lb.scheme().map(LoadBalancerSchemeEnum::as_str).into(),
    );
    a.insert(
        "subnet_ids".into(),
        Type::Set(&Type::String).normalize(&Value::from(subnets)),
    );
    a.insert(
        "security_group_ids".into(),
        Type::Set(&Type::String).normalize(&Value::from(lb.security_groups().to_vec())),
    );
    a.insert("idle_timeout".into(), Value::Int(idle_timeout));
    a.insert(
        "deletion_protection".into(),
        Value::Bool(deletion_protection),
    );
    a.insert(
        "ip_address_type".into(),
        lb.ip_address_type().map(IpAddressType::as_str).into(),
    );
    a.insert("dns_name".into(), lb.dns_name().into());
    a.insert("zone_id".into(), lb.canonical_hosted_zone_id().into());
    a.insert("vpc_id".into(), lb.vpc_id().into());
    a
}

/// `app/<name>/<id>` of `arn:…:loadbalancer/app/<name>/<id>`.
fn arn_suffix(arn: &str) -> Option<String> {
    arn.split_once(":loadbalancer/").map(|(_, s)| s.to_owned())
}

/// The name of a new load balancer: the one asked for, or
/// `<stack>-<resource name>` reduced to what ELB names allow.
fn lb_name(stack: &str, address: &str, desired: &Attrs) -> String {
    str_attr(desired, "name")
        .unwrap_or_else(|| name_part(&format!("{stack}-{}", resource_name(address)), 32))
}

/// Whether the load balancer has the attributes of an application load
/// balancer (idle timeout).
fn is_application(a: &Attrs) -> bool {
    a.get("type")
        .and_then(Value::as_str)
        .is_none_or(|t| t == "application")
}

/// The attribute changes from `live` to `desired`, as ModifyLoadBalancer-
/// Attributes takes them.
fn attribute_changes(desired: &Attrs, changed: &Changes) -> Vec<LoadBalancerAttribute> {
    let mut changes = Vec::new();
    if is_application(desired)
        && changed.has("idle_timeout")
        && let Some(secs) = desired.get("idle_timeout").and_then(Value::as_int)
    {
        changes.push(
            LoadBalancerAttribute::builder()
                .key(IDLE_TIMEOUT)
                .value(secs.to_string())
                .build(),
        );
    }
    if changed.has("deletion_protection")
        && let Some(on) = bool_attr(desired, "deletion_protection")
    {
        changes.push(
            LoadBalancerAttribute::builder()
                .key(DELETION_PROTECTION)
                .value(on.to_string())
                .build(),
        );
    }
    changes
}

/// What one poll of a new load balancer saw. Like Terraform, only `active`
/// is ready; `active_impaired` is still on its way.
fn create_outcome(state: Option<&LoadBalancerStateEnum>) -> Poll<()> {
    match state {
        Some(LoadBalancerStateEnum::Active) => Poll::Ready(()),
        Some(LoadBalancerStateEnum::Failed) => Poll::Failed("failed".into()),
        Some(s) => Poll::Pending(s.as_str().to_owned()),
        None => Poll::Pending("no state yet".into()),
    }
}

#[async_trait]
impl Kind for LoadBalancer {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::ElbTags))
    }

    /// A network load balancer has no idle timeout: it is not compared.
    fn canonicalize(&self, attrs: &mut Attrs) {
        if !is_application(attrs) {
            attrs.remove("idle_timeout");
        }
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        self.describe(cx, ids).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let security_groups = desired
            .get("security_group_ids")
            .map(Value::str_list)
            .filter(|g| !g.is_empty());
        let out = cx
            .aws
            .elb
            .create_load_balancer()
            .name(lb_name(cx.stack, address, desired))
            .set_subnets(desired.get("subnet_ids").map(Value::str_list))
            .set_security_groups(security_groups)
            .set_scheme(
                str_attr(desired, "scheme").map(|s| LoadBalancerSchemeEnum::from(s.as_str())),
            )
            .set_type(str_attr(desired, "type").map(|s| LoadBalancerTypeEnum::from(s.as_str())))
            .set_ip_address_type(
                str_attr(desired, "ip_address_type").map(|s| IpAddressType::from(s.as_str())),
            )
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await?;
        let arn = out
            .load_balancers()
            .first()
            .and_then(|lb| lb.load_balancer_arn())
            .ok_or_else(|| ApiError::msg("CreateLoadBalancer returned no ARN"))?
            .to_owned();
        crate::kinds::created(&arn);
        // Real AWS takes minutes in `provisioning`.
        let what = format!("load balancer {arn} to become active");
        wait_visible(cx.timeouts(self).create, &what, || async {
            let call = cx
                .aws
                .elb
                .describe_load_balancers()
                .load_balancer_arns(&arn);
            let out = call.send().await?;
            Ok(create_outcome(
                out.load_balancers()
                    .first()
                    .and_then(|lb| lb.state())
                    .and_then(|s| s.code()),
            ))
        })
        .await?;
        // A new load balancer has what the create took and the default
        // attributes; set the others.
        let took = [
            "type",
            "tags",
            "subnet_ids",
            "security_group_ids",
            "ip_address_type",
        ];
        let created = SCHEMA.with_defaults(
            &took
                .map(|f| (f.to_owned(), desired.get(f).cloned().unwrap_or_default()))
                .into(),
        );
        update_from(self, cx, address, &arn, &created, desired).await?;
        Ok(arn)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        let elb = &cx.aws.elb;
        if changed.has("subnet_ids") {
            elb.set_subnets()
                .load_balancer_arn(id)
                .set_subnets(desired.get("subnet_ids").map(Value::str_list))
                .send()
                .await?;
        }
        if changed.has("security_group_ids") {
            elb.set_security_groups()
                .load_balancer_arn(id)
                .set_security_groups(Some(
                    desired
                        .get("security_group_ids")
                        .map(Value::str_list)
                        .unwrap_or_default(),
                ))
                .send()
                .await?;
        }
        if changed.has("ip_address_type")
            && let Some(t) = str_attr(desired, "ip_address_type")
        {
            elb.set_ip_address_type()
                .load_balancer_arn(id)
                .ip_address_type(IpAddressType::from(t.as_str()))
                .send()
                .await?;
        }
        let attributes = attribute_changes(desired, changed);
        if !attributes.is_empty() {
            elb.modify_load_balancer_attributes()
                .load_balancer_arn(id)
                .set_attributes(Some(attributes))
                .send()
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        gone_is_ok(
            cx.aws
                .elb
                .delete_load_balancer()
                .load_balancer_arn(id)
                .send()
                .await,
        )?;
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("load balancer {id} to be deleted"), || async {
                let r = cx
                    .aws
                    .elb
                    .describe_load_balancers()
                    .load_balancer_arns(id)
                    .send()
                    .await
                    .map_err(ApiError::from);
                Ok(match r {
                    Err(e) if e.is_not_found() => Poll::Ready(()),
                    Err(e) => return Err(e),
                    Ok(o) if o.load_balancers().is_empty() => Poll::Ready(()),
                    Ok(_) => Poll::Pending("still listed".into()),
                })
            })
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let arns = all_load_balancer_arns(cx).await?;
        find_by_address(cx, address, |t| tagged_with(cx, &arns, t)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::AvailabilityZone;

    #[test]
    fn identity_forces_replacement_and_network_settings_do_not() {
        for f in ["name", "type", "scheme"] {
            assert!(SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        for f in [
            "subnet_ids",
            "security_group_ids",
            "idle_timeout",
            "deletion_protection",
            "ip_address_type",
            "tags",
        ] {
            assert!(!SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert_eq!(filled["type"], Value::str("application"));
        assert_eq!(filled["scheme"], Value::str("internet-facing"));
        assert_eq!(filled["idle_timeout"], Value::Int(60));
        assert!(!filled.contains_key("name"));
    }

    #[test]
    fn the_default_name_is_the_stack_and_resource_within_32_characters() {
        assert_eq!(
            lb_name("hello", "load_balancer.web", &Attrs::new()),
            "hello-web"
        );
        let long = lb_name(
            "a-very-long-stack-name",
            "load_balancer.public_facing_front",
            &Attrs::new(),
        );
        assert!(long.len() <= 32, "{long}");
        assert!(!long.ends_with('-') && !long.contains('_'), "{long}");
        let given = Attrs::from([("name".to_owned(), Value::str("mine"))]);
        assert_eq!(lb_name("s", "load_balancer.web", &given), "mine");
    }

    #[test]
    fn a_described_load_balancer_reads_with_attribute_defaults() {
        let lb = AwsLoadBalancer::builder()
            .load_balancer_arn(
                "arn:aws:elasticloadbalancing:us-east-1:123:loadbalancer/app/web/50dc6c495c0c9188",
            )
            .load_balancer_name("web")
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .availability_zones(AvailabilityZone::builder().subnet_id("subnet-b").build())
            .availability_zones(AvailabilityZone::builder().subnet_id("subnet-a").build())
            .security_groups("sg-1")
            .ip_address_type(IpAddressType::Ipv4)
            .dns_name("web-1.elb.amazonaws.com")
            .canonical_hosted_zone_id("Z35SXDOTRQ7X7K")
            .build();
        let a = lb_attrs(&lb, &BTreeMap::new());
        assert_eq!(
            a["subnet_ids"],
            Value::from(vec!["subnet-a".to_owned(), "subnet-b".to_owned()])
        );
        assert_eq!(a["idle_timeout"], Value::Int(60));
        assert_eq!(a["deletion_protection"], Value::Bool(false));
        assert_eq!(a["arn_suffix"], Value::str("app/web/50dc6c495c0c9188"));
        assert_eq!(a["zone_id"], Value::str("Z35SXDOTRQ7X7K"));
        let set = BTreeMap::from([
            (IDLE_TIMEOUT.to_owned(), "120".to_owned()),
            (DELETION_PROTECTION.to_owned(), "true".to_owned()),
        ]);
        let a = lb_attrs(&lb, &set);
        assert_eq!(a["idle_timeout"], Value::Int(120));
        assert_eq!(a["deletion_protection"], Value::Bool(true));
    }

    #[test]
    fn a_network_load_balancer_has_no_idle_timeout_to_compare_or_set() {
        let mut nlb =
            SCHEMA.with_defaults(&Attrs::from([("type".to_owned(), Value::str("network"))]));
        LoadBalancer.canonicalize(&mut nlb);
        assert!(!nlb.contains_key("idle_timeout"));
        let mut desired = nlb.clone();
        desired.insert("idle_timeout".into(), Value::Int(300));
        assert!(
            attribute_changes(&desired, &Changes::between(&LoadBalancer, &nlb, &desired))
                .is_empty()
        );
        let mut alb = SCHEMA.with_defaults(&Attrs::new());
        LoadBalancer.canonicalize(&mut alb);
        assert_eq!(alb["idle_timeout"], Value::Int(60));
    }

    #[test]
    fn only_changed_attributes_are_modified() {
        let live = SCHEMA.with_defaults(&Attrs::new());
        let mut desired = live.clone();
        assert!(
            attribute_changes(&desired, &Changes::between(&LoadBalancer, &live, &desired))
                .is_empty()
        );
        desired.insert("idle_timeout".into(), Value::Int(120));
        let changes =
            attribute_changes(&desired, &Changes::between(&LoadBalancer, &live, &desired));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].key(), Some(IDLE_TIMEOUT));
        assert_eq!(changes[0].value(), Some("120"));
        desired.insert("deletion_protection".into(), Value::Bool(true));
        assert_eq!(
            attribute_changes(&desired, &Changes::between(&LoadBalancer, &live, &desired)).len(),
            2
        );
    }

    #[test]
    fn only_active_is_ready_and_failed_stops_the_wait() {
        assert_eq!(
            create_outcome(Some(&LoadBalancerStateEnum::Active)),
            Poll::Ready(())
        );
        assert!(matches!(
            create_outcome(Some(&LoadBalancerStateEnum::Provisioning)),
            Poll::Pending(_)
        ));
        assert!(matches!(
            create_outcome(Some(&LoadBalancerStateEnum::ActiveImpaired)),
            Poll::Pending(_)
        ));
        assert!(matches!(
            create_outcome(Some(&LoadBalancerStateEnum::Failed)),
            Poll::Failed(_)
        ));
    }
}
