//! `target_group`: the targets a load balancer routes to, and how it checks
//! their health.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, Tag, TargetGroup as AwsTargetGroup, TargetGroupAttribute, TargetTypeEnum,
};

use super::{BATCH, i32_attr, name_part, tagged_with, tags_value, upper_case};
use crate::aws::ApiError;
use crate::kinds::support::tagging::tags_of;
use crate::kinds::support::{
    AddressTags, Poll, Waiter, create_tags, pages, present, retry_while_in_use, str_attr,
    update_from, wait_visible,
};
use crate::kinds::{
    ApiResult, Create, Ctx, Delete, Kind, LiveMap, MANAGES_TAG, Tagging, Timeouts, Update,
    manages_of, manages_value,
};
use crate::schema::PORT;
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct TargetGroup;

/// How the load balancer checks the health of each target. Defaults are
/// those of an HTTP check; a TCP check has no path or matcher and a timeout
/// of 10 seconds (see `canonicalize`).
const HEALTH_CHECK: &[Field] = &[
    Field::new("path", Type::String)
        .default(Default::Str("/"))
        .doc("The path an HTTP(S) check requests (not for TCP checks)."),
    Field::new("protocol", Type::String)
        .one_of(&["HTTP", "HTTPS", "TCP"])
        .doc("\"HTTP\", \"HTTPS\" or \"TCP\"; by default the group's protocol (TCP for TCP, UDP and TLS groups)."),
    Field::new("port", Type::String)
        .default(Default::Str("traffic-port"))
        .doc("The port checked, or \"traffic-port\": the port each target receives traffic on."),
    Field::new("interval", Type::Range(5, 300))
        .default(Default::Int(30))
        .doc("Seconds between checks of one target."),
    Field::new("timeout", Type::Range(2, 120))
        .default(Default::Int(5))
        .doc("Seconds without an answer that fail a check (10 by default for TCP checks)."),
    Field::new("healthy_threshold", Type::Range(2, 10))
        .default(Default::Int(5))
        .doc("Consecutive successes that make a target healthy."),
    Field::new("unhealthy_threshold", Type::Range(2, 10))
        .default(Default::Int(2))
        .doc("Consecutive failures that make a target unhealthy."),
    Field::new("matcher", Type::String)
        .default(Default::Str("200"))
        .doc("HTTP codes of a healthy answer: \"200\", \"200,202\" or \"200-299\" (HTTP(S) checks only)."),
];

static SCHEMA: Schema = Schema {
    kind: "target_group",
    service: super::SERVICE,
    // A group still used by a listener cannot be deleted; after the
    // listeners are repointed AWS may say so for a little while.
    timeouts: Timeouts::minutes(5, 5, 2),
    description: "A target group: the targets a load balancer routes requests to, and how it checks their health.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::ELB)
            .force_new()
            .doc("The name (at most 32 letters, digits and hyphens); by default a unique name starting with the stack's, so that a replacement can exist beside the group it replaces."),
        Field::new("port", PORT)
            .required()
            .force_new()
            .doc("The port targets receive traffic on, unless registered with another."),
        Field::new("protocol", Type::String)
            .default(Default::Str("HTTP"))
            .one_of(super::ELB_PROTOCOLS)
            .force_new()
            .doc("\"HTTP\" or \"HTTPS\" behind an application load balancer; \"TCP\", \"UDP\", \"TCP_UDP\" or \"TLS\" behind a network one."),
        Field::new("target_type", Type::String)
            .default(Default::Str("instance"))
            .one_of(&["instance", "ip", "lambda", "alb"])
            .force_new()
            .doc("\"instance\", \"ip\" (awsvpc tasks), \"lambda\" or \"alb\"."),
        Field::new("vpc_id", Type::String)
            .required()
            .force_new()
            .doc("The VPC of the targets."),
        Field::new("health_check", Type::Object(HEALTH_CHECK))
            .doc("How targets are checked; changed in place. AWS's defaults when not set."),
        Field::new("deregistration_delay", Type::Int).doc(
            "Seconds a deregistering target keeps serving its requests. Unset: not managed (AWS's default is 300).",
        ),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the target group (also its id)."),
        Field::new("arn_suffix", Type::String)
            .computed()
            .doc("The part of the ARN CloudWatch metrics use: `targetgroup/<name>/<id>`."),
    ],
};

const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

/// Fields read with DescribeTargetGroupAttributes, one call per group: read
/// only when the desired state sets them (`MANAGES_TAG`).
const ATTRIBUTES: &[&str] = &["deregistration_delay"];

impl TargetGroup {
    /// The target groups of `arns` that exist, with their tags and
    /// deregistration delay: one DescribeTargetGroups per 20 ARNs, one
    /// GetResources (tagging API) per 100, one DescribeTargetGroupAttributes for each group that
    /// manages its delay.
    async fn describe(&self, cx: Ctx<'_>, arns: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
        let groups = self.groups(cx, arns).await?;
        let found: Vec<String> = groups
            .iter()
            .filter_map(|g| g.target_group_arn().map(str::to_owned))
            .collect();
        let tags = tags_of(cx, &found).await?;
        let reads = groups.iter().map(|g| {
            let tags = &tags;
            async move {
                let arn = g.target_group_arn().unwrap_or_default();
                let group_tags = tags.get(arn);
                let manages = manages_of(
                    group_tags
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                );
                let delay = if manages.contains("deregistration_delay") {
                    let r = cx
                        .aws
                        .elb
                        .describe_target_group_attributes()
                        .target_group_arn(arn)
                        .send()
                        .await
                        .map_err(ApiError::from);
                    match r {
                        // Deleted since it was described.
                        Err(e) if e.is_not_found() => return Ok(None),
                        Err(e) => return Err(e),
                        Ok(out) => out
                            .attributes()
                            .iter()
                            .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
                            .and_then(|a| a.value()?.parse::<i64>().ok()),
                    }
                } else {
                    None
                };
                let mut a = group_attrs(g, delay);
                a.insert("tags".into(), tags_value(group_tags));
                Ok::<_, ApiError>(Some((arn.to_owned(), a)))
            }
        });
        Ok(futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// The described target groups of `arns` that exist.
    async fn groups(&self, cx: Ctx<'_>, arns: &[String]) -> ApiResult<Vec<AwsTargetGroup>> {
        BATCH
            .read(arns, |chunk| async move {
                pages!(
                    cx.aws
                        .elb
                        .describe_target_groups()
                        .set_target_group_arns(Some(chunk.to_vec()))
                )
            })
            .await
    }
}

/// The create call's tags, with the attributes the group manages.
fn tags_with_manages(cx: Ctx<'_>, address: &str, desired: &Attrs) -> ApiResult<Vec<Tag>> {
    let mut tags = create_tags(cx, address, desired)?;
    let manages = manages_value(ATTRIBUTES, desired);
    if !manages.is_empty() {
        tags.push(Tag::builder().key(MANAGES_TAG).value(manages).build());
    }
    Ok(tags)
}

/// The attributes of a described target group. The health check holds what
/// AWS reports; `canonicalize` drops what does not apply.
fn group_attrs(g: &AwsTargetGroup, deregistration_delay: Option<i64>) -> Attrs {
    let arn = g.target_group_arn().unwrap_or_default();
    let mut hc = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            hc.insert(k.to_owned(), v);
        }
    };
    put("path", g.health_check_path().into());
    put(
        "protocol",
        g.health_check_protocol().map(ProtocolEnum::as_str).into(),
    );
    put("port", g.health_check_port().into());
    put("interval", g.health_check_interval_seconds().into());
    put("timeout", g.health_check_timeout_seconds().into());
    put("healthy_threshold", g.healthy_threshold_count().into());
    put("unhealthy_threshold", g.unhealthy_threshold_count().into());
    put("matcher", g.matcher().and_then(Matcher::http_code).into());
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert(
        "arn_suffix".into(),
        arn.rsplit_once(':').map(|(_, s)| s.to_owned()).into(),
    );
    a.insert("name".into(), g.target_group_name().into());
    a.insert("port".into(), g.port().into());
    a.insert(
        "protocol".into(),
        g.protocol().map(ProtocolEnum::as_str).into(),
    );
    a.insert(
        "target_type".into(),
        g.target_type().map(TargetTypeEnum::as_str).into(),
    );
    a.insert("vpc_id".into(), g.vpc_id().into());
    a.insert("health_check".into(), Value::Map(hc));
    a.insert("deregistration_delay".into(), deregistration_delay.into());
    a
}

/// A unique name for a new target group: up to 20 characters of the stack's
/// name, a hyphen and 6 base-36 characters from the address and the time,
/// so that a replacement can exist beside the group it replaces.
fn generated_name(stack: &str, address: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (address, nanos, std::process::id()).hash(&mut h);
    let mut n = h.finish();
    let mut suffix = String::new();
    for _ in 0..6 {
        let digit = u32::try_from(n % 36).unwrap_or(0);
        suffix.push(char::from_digit(digit, 36).unwrap_or('0'));
        n /= 36;
    }
    let prefix = name_part(stack, 20);
    let prefix = if prefix.is_empty() {
        "tg".to_owned()
    } else {
        prefix
    };
    format!("{prefix}-{suffix}")
}

/// Whether a health check of this protocol sends HTTP requests (and so has
/// a path and a matcher).
fn is_http(protocol: &str) -> bool {
    matches!(protocol, "HTTP" | "HTTPS")
}

/// The health check protocol AWS picks when none is given.
fn default_check_protocol(protocol: &str, target_type: &str) -> Option<&'static str> {
    match (protocol, target_type) {
        (_, "lambda") => None,
        (_, "alb") => Some("HTTP"),
        ("HTTPS", _) => Some("HTTPS"),
        ("HTTP", _) => Some("HTTP"),
        _ => Some("TCP"),
    }
}

/// A health check in canonical form, before defaults are filled in: the
/// protocol always named, in upper case; a TCP check without the path and
/// matcher AWS does not have, and with the 10-second timeout AWS gives it.
fn canonical_health_check(hc: &mut BTreeMap<String, Value>, protocol: &str, target_type: &str) {
    let check = match hc.get("protocol") {
        Some(Value::Str(p)) => p.to_ascii_uppercase(),
        // Not known until apply.
        Some(v) if !v.is_null() => return,
        _ => match default_check_protocol(protocol, target_type) {
            Some(p) => p.to_owned(),
            None => return,
        },
    };
    if !is_http(&check) {
        hc.remove("path");
        hc.remove("matcher");
        if hc.get("timeout").is_none_or(Value::is_null) {
            hc.insert("timeout".into(), Value::Int(10));
        }
    }
    hc.insert("protocol".into(), Value::Str(check));
}

/// The desired health check, canonical with every default: what create and
/// update send.
fn desired_health_check(desired: &Attrs) -> Option<BTreeMap<String, Value>> {
    let mut d = desired.clone();
    TargetGroup.canonicalize(&mut d);
    match Type::Object(HEALTH_CHECK).normalize(d.get("health_check")?) {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

/// An integer of a health check table as the i32 the API takes.
fn check_int(hc: &Attrs, name: &str) -> ApiResult<Option<i32>> {
    i32_attr(hc, name).map_err(|e| ApiError::msg(format!("health_check.{}", e.message)))
}

/// A string of a health check table.
fn check_text(hc: &Attrs, name: &str) -> Option<String> {
    hc.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// The health check settings create and update send: every field of the
/// desired check, without the path and matcher a TCP check does not take.
#[derive(Debug, Default)]
struct Check {
    protocol: Option<ProtocolEnum>,
    port: Option<String>,
    interval: Option<i32>,
    timeout: Option<i32>,
    healthy: Option<i32>,
    unhealthy: Option<i32>,
    path: Option<String>,
    matcher: Option<Matcher>,
}

fn check_settings(desired: &Attrs) -> ApiResult<Option<Check>> {
    let Some(hc) = desired_health_check(desired) else {
        return Ok(None);
    };
    let protocol = check_text(&hc, "protocol");
    let http = protocol.as_deref().is_some_and(is_http);
    Ok(Some(Check {
        protocol: protocol.as_deref().map(ProtocolEnum::from),
        port: check_text(&hc, "port"),
        interval: check_int(&hc, "interval")?,
        timeout: check_int(&hc, "timeout")?,
        healthy: check_int(&hc, "healthy_threshold")?,
        unhealthy: check_int(&hc, "unhealthy_threshold")?,
        path: check_text(&hc, "path").filter(|_| http),
        matcher: check_text(&hc, "matcher")
            .filter(|_| http)
            .map(|c| Matcher::builder().http_code(c).build()),
    }))
}

#[async_trait]
impl Kind for TargetGroup {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::ElbTags))
    }

    /// The engine creates the replacement first, repoints the listeners and
    /// services to it, then deletes the old group.
    fn create_before_destroy(&self) -> bool {
        true
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        upper_case(attrs, "protocol");
        let protocol = str_attr(attrs, "protocol").unwrap_or_else(|| "HTTP".into());
        let target_type = str_attr(attrs, "target_type").unwrap_or_else(|| "instance".into());
        if let Some(Value::Map(hc)) = attrs.get_mut("health_check") {
            canonical_health_check(hc, &protocol, &target_type);
        }
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        self.describe(cx, ids).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_else(|| generated_name(cx.stack, address));
        let protocol = str_attr(desired, "protocol").map(|p| p.to_ascii_uppercase());
        let mut call = cx
            .aws
            .elb
            .create_target_group()
            .name(name)
            .set_port(i32_attr(desired, "port")?)
            .set_protocol(protocol.as_deref().map(ProtocolEnum::from))
            .set_target_type(
                str_attr(desired, "target_type").map(|t| TargetTypeEnum::from(t.as_str())),
            )
            .set_vpc_id(str_attr(desired, "vpc_id"))
            .set_tags(Some(tags_with_manages(cx, address, desired)?));
        if let Some(c) = check_settings(desired)? {
            call = call
                .set_health_check_protocol(c.protocol)
                .set_health_check_port(c.port)
                .set_health_check_interval_seconds(c.interval)
                .set_health_check_timeout_seconds(c.timeout)
                .set_healthy_threshold_count(c.healthy)
                .set_unhealthy_threshold_count(c.unhealthy)
                .set_health_check_path(c.path)
                .set_matcher(c.matcher);
        }
        let out = call.send().await?;
        let arn = out
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .ok_or_else(|| ApiError::msg("CreateTargetGroup returned no ARN"))?
            .to_owned();
        crate::kinds::created(&arn);
        let what = format!("target group {arn} to become visible");
        wait_visible(cx.timeouts(self).create, &what, || async {
            let found = self.groups(cx, std::slice::from_ref(&arn)).await?;
            Ok(present(found.first().map(drop)))
        })
        .await?;
        // A new group has the default deregistration delay; its identity,
        // tags and health check were set by the create.
        let mut created = SCHEMA.with_defaults(&Attrs::new());
        for f in ["protocol", "target_type", "tags", "health_check"] {
            if let Some(v) = desired.get(f) {
                created.insert(f.into(), v.clone());
            }
        }
        update_from(self, cx, address, &arn, &created, desired).await?;
        Ok(arn)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        let (mut before, mut after) = (live.clone(), desired.clone());
        self.canonicalize(&mut before);
        self.canonicalize(&mut after);
        if after.get("health_check").is_some_and(|v| !v.is_null())
            && changed.has("health_check")
            && let Some(c) = check_settings(desired)?
        {
            cx.aws
                .elb
                .modify_target_group()
                .target_group_arn(id)
                .set_health_check_protocol(c.protocol)
                .set_health_check_port(c.port)
                .set_health_check_interval_seconds(c.interval)
                .set_health_check_timeout_seconds(c.timeout)
                .set_healthy_threshold_count(c.healthy)
                .set_unhealthy_threshold_count(c.unhealthy)
                .set_health_check_path(c.path)
                .set_matcher(c.matcher)
                .send()
                .await?;
        }
        if changed.has("deregistration_delay")
            && let Some(secs) = after.get("deregistration_delay").and_then(Value::as_int)
        {
            cx.aws
                .elb
                .modify_target_group_attributes()
                .target_group_arn(id)
                .attributes(
                    TargetGroupAttribute::builder()
                        .key(DEREGISTRATION_DELAY)
                        .value(secs.to_string())
                        .build(),
                )
                .send()
                .await?;
            // Read from now on.
            cx.aws
                .elb
                .add_tags()
                .resource_arns(id)
                .tags(
                    Tag::builder()
                        .key(MANAGES_TAG)
                        .value(manages_value(ATTRIBUTES, desired))
                        .build(),
                )
                .send()
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // ResourceInUse while a listener or rule still forwards to it: right
        // after a replacement the engine has just repointed them, so that
        // one condition is retried, briefly. Not found is success.
        retry_while_in_use(
            cx.timeouts(self).delete,
            &format!("target group {id} to be deleted"),
            || async {
                cx.aws
                    .elb
                    .delete_target_group()
                    .target_group_arn(id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(ApiError::from)
            },
        )
        .await?;
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("target group {id} to be gone"), || async {
                let found = self.groups(cx, &[id.to_owned()]).await?;
                Ok(if found.is_empty() {
                    Poll::Ready(())
                } else {
                    Poll::Pending("still listed".into())
                })
            })
            .await
    }

    /// A replacement carries the same address as the group it replaces
    /// until that one is deleted: the one no load balancer uses yet is the
    /// newer one.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let groups = pages!(cx.aws.elb.describe_target_groups())?;
        let arns: Vec<String> = groups
            .iter()
            .filter_map(|g| g.target_group_arn().map(str::to_owned))
            .collect();
        let mine = tagged_with(cx, &arns, AddressTags::new(cx, address)).await?;
        let unused = groups.iter().find(|g| {
            g.load_balancer_arns().is_empty()
                && g.target_group_arn()
                    .is_some_and(|a| mine.iter().any(|m| m == a))
        });
        Ok(unused
            .and_then(|g| g.target_group_arn().map(str::to_owned))
            .or_else(|| mine.into_iter().next()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    /// Desired attributes as the engine compares them: defaults, then
    /// canonical form, then normalized.
    fn compared(attrs: &Attrs) -> Attrs {
        let mut a = SCHEMA.with_defaults(attrs);
        TargetGroup.canonicalize(&mut a);
        a.iter()
            .map(|(k, v)| {
                let f = SCHEMA.field(k).unwrap();
                (k.clone(), f.ty.normalize(v))
            })
            .collect()
    }

    #[test]
    fn identity_forces_replacement_and_health_checks_do_not() {
        for f in ["name", "port", "protocol", "target_type", "vpc_id"] {
            assert!(SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        for f in ["health_check", "deregistration_delay", "tags"] {
            assert!(!SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        assert!(TargetGroup.create_before_destroy());
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert!(!filled.contains_key("name"));
        assert!(!filled.contains_key("health_check"));
        assert!(!filled.contains_key("deregistration_delay"));
    }

    #[test]
    fn generated_names_are_valid_unique_and_start_with_the_stack() {
        let a = generated_name("my_stack", "target_group.web");
        let b = generated_name("my_stack", "target_group.web");
        assert_ne!(a, b, "a replacement needs another name");
        for n in [&a, &b] {
            assert!(n.starts_with("my-stack-"), "{n}");
            assert_eq!(n.len(), "my-stack-".len() + 6, "{n}");
            assert!(
                n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{n}"
            );
        }
        let long = generated_name(&"s".repeat(50), "target_group.web");
        assert_eq!(long.len(), 27, "{long}");
        assert!(generated_name("__", "target_group.web").starts_with("tg-"));
    }

    /// What AWS reports for a TCP group of an NLB created without a health
    /// check.
    fn tcp_group() -> AwsTargetGroup {
        AwsTargetGroup::builder()
            .target_group_arn(
                "arn:aws:elasticloadbalancing:us-east-1:123:targetgroup/s-abc123/73e2d6bc24d8a067",
            )
            .target_group_name("s-abc123")
            .protocol(ProtocolEnum::Tcp)
            .port(80)
            .vpc_id("vpc-1")
            .target_type(TargetTypeEnum::Ip)
            .health_check_protocol(ProtocolEnum::Tcp)
            .health_check_port("traffic-port")
            .health_check_interval_seconds(30)
            .health_check_timeout_seconds(10)
            .healthy_threshold_count(5)
            .unhealthy_threshold_count(2)
            .build()
    }

    #[test]
    fn a_tcp_group_reads_back_equal_to_a_partial_health_check() {
        let live = compared(&group_attrs(&tcp_group(), Some(300)));
        assert_eq!(
            live["arn_suffix"],
            Value::str("targetgroup/s-abc123/73e2d6bc24d8a067")
        );
        let desired = compared(&Attrs::from([
            ("port".to_owned(), Value::Int(80)),
            ("protocol".to_owned(), Value::str("tcp")),
            ("target_type".to_owned(), Value::str("ip")),
            ("vpc_id".to_owned(), Value::str("vpc-1")),
            (
                "health_check".to_owned(),
                table(&[("interval", Value::Int(30))]),
            ),
        ]));
        for (k, v) in &desired {
            assert_eq!(&live[k], v, "{k}");
        }
    }

    #[test]
    fn a_tcp_check_has_no_path_or_matcher_and_a_ten_second_timeout() {
        let hc = desired_health_check(&Attrs::from([
            ("protocol".to_owned(), Value::str("TCP")),
            (
                "health_check".to_owned(),
                table(&[("path", Value::str("/x"))]),
            ),
        ]))
        .unwrap();
        assert_eq!(hc["protocol"], Value::str("TCP"));
        assert_eq!(hc["timeout"], Value::Int(10));
        // The object's defaults fill them back in on both sides alike.
        assert_eq!(hc["path"], Value::str("/"));
        let explicit = desired_health_check(&Attrs::from([
            ("protocol".to_owned(), Value::str("TCP")),
            (
                "health_check".to_owned(),
                table(&[("timeout", Value::Int(6))]),
            ),
        ]))
        .unwrap();
        assert_eq!(explicit["timeout"], Value::Int(6));
    }

    #[test]
    fn a_tcp_check_sends_no_path_or_matcher_and_an_http_check_sends_both() {
        let tcp = check_settings(&Attrs::from([
            ("protocol".to_owned(), Value::str("TCP")),
            ("health_check".to_owned(), table(&[])),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(tcp.protocol, Some(ProtocolEnum::Tcp));
        assert_eq!((tcp.path, tcp.matcher), (None, None));
        assert_eq!((tcp.timeout, tcp.interval), (Some(10), Some(30)));
        let http = check_settings(&Attrs::from([(
            "health_check".to_owned(),
            table(&[("matcher", Value::str("200-299"))]),
        )]))
        .unwrap()
        .unwrap();
        assert_eq!(http.protocol, Some(ProtocolEnum::Http));
        assert_eq!(http.path.as_deref(), Some("/"));
        assert_eq!(
            http.matcher.as_ref().and_then(Matcher::http_code),
            Some("200-299")
        );
        assert!(check_settings(&Attrs::new()).unwrap().is_none());
    }

    #[test]
    fn an_http_check_of_a_tcp_group_keeps_its_path() {
        let hc = desired_health_check(&Attrs::from([
            ("protocol".to_owned(), Value::str("TCP")),
            (
                "health_check".to_owned(),
                table(&[
                    ("protocol", Value::str("http")),
                    ("path", Value::str("/ping")),
                ]),
            ),
        ]))
        .unwrap();
        assert_eq!(hc["protocol"], Value::str("HTTP"));
        assert_eq!(hc["path"], Value::str("/ping"));
        assert_eq!(hc["timeout"], Value::Int(5));
    }

    #[test]
    fn an_http_group_check_defaults_to_http_and_reads_back_equal() {
        let g = AwsTargetGroup::builder()
            .target_group_arn("arn:aws:elasticloadbalancing:us-east-1:123:targetgroup/t/1")
            .protocol(ProtocolEnum::Http)
            .port(8080)
            .target_type(TargetTypeEnum::Instance)
            .vpc_id("vpc-1")
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_port("traffic-port")
            .health_check_path("/health")
            .health_check_interval_seconds(30)
            .health_check_timeout_seconds(5)
            .healthy_threshold_count(5)
            .unhealthy_threshold_count(2)
            .matcher(Matcher::builder().http_code("200").build())
            .build();
        let live = compared(&group_attrs(&g, None));
        let desired = compared(&Attrs::from([
            ("port".to_owned(), Value::Int(8080)),
            ("vpc_id".to_owned(), Value::str("vpc-1")),
            (
                "health_check".to_owned(),
                table(&[("path", Value::str("/health"))]),
            ),
        ]));
        for (k, v) in &desired {
            assert_eq!(&live[k], v, "{k}");
        }
    }

    #[test]
    fn canonicalize_is_idempotent_and_leaves_unknowns_alone() {
        let mut a = Attrs::from([
            ("protocol".to_owned(), Value::str("UDP")),
            ("health_check".to_owned(), table(&[])),
        ]);
        TargetGroup.canonicalize(&mut a);
        let once = a.clone();
        TargetGroup.canonicalize(&mut a);
        assert_eq!(a, once);
        let mut pending = Attrs::from([(
            "health_check".to_owned(),
            table(&[("protocol", Value::Unknown)]),
        )]);
        let before = pending.clone();
        TargetGroup.canonicalize(&mut pending);
        assert_eq!(pending, before);
    }

    #[test]
    fn out_of_range_numbers_are_an_error_not_a_wrap() {
        let hc = BTreeMap::from([("interval".to_owned(), Value::Int(1 << 40))]);
        assert!(check_int(&hc, "interval").is_err());
        assert_eq!(check_int(&hc, "timeout").unwrap(), None);
    }
}
