//! `security_group_ingress_rule` and `security_group_egress_rule`: one rule
//! of a security group as a resource of its own (the API's
//! `SecurityGroupRule`, with its `sgr-` id and its tags). The two kinds are
//! one kind in two directions, so they share this file.
//!
//! A rule that names another group, or its own, depends on both groups
//! instead of making the groups depend on each other: groups that admit
//! each other (or themselves) are created first, then their rules. The
//! group's read leaves these rules out (see `security_group::standalone_rules`).

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroupRule,
    SecurityGroupRuleRequest, SecurityGroupRuleUpdate, UserIdGroupPair,
};

use super::security_group::{canonical_protocol, has_ports};
use super::{BATCH, address_filters, filter, tag_spec};
use crate::aws::ApiError;
use crate::kinds::support::{find_by_address, gone_is_ok, pages, str_attr, tags_value, to_i32};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Rule, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

/// A rule of one direction.
pub struct SecurityGroupRuleKind {
    egress: bool,
    schema: &'static Schema,
}

pub static INGRESS: SecurityGroupRuleKind =
    SecurityGroupRuleKind { egress: false, schema: &INGRESS_SCHEMA };
pub static EGRESS: SecurityGroupRuleKind =
    SecurityGroupRuleKind { egress: true, schema: &EGRESS_SCHEMA };

/// The fields that name where traffic comes from (ingress) or goes to
/// (egress): exactly one is set.
const SOURCES: [&str; 4] = [
    "cidr_ipv4",
    "cidr_ipv6",
    "referenced_security_group_id",
    "prefix_list_id",
];

const RULES: &[Rule] = &[Rule::ExactlyOne { fields: &SOURCES }];

/// The fields of both directions.
macro_rules! rule_fields {
    ($peer:literal) => {
        &[
            Field::new("security_group_id", Type::String)
                .required()
                .force_new()
                .doc("The group the rule belongs to."),
            Field::new("protocol", Type::String)
                .default(Default::Str("tcp"))
                .force_new()
                .doc("\"tcp\", \"udp\", \"icmp\", \"icmpv6\", a protocol number, or \"-1\" for all."),
            Field::new("from_port", Type::Range(-1, 65535))
                .default(Default::Int(0))
                .force_new()
                .doc("First port of the range (the ICMP type for icmp); ignored for protocols without ports."),
            Field::new("to_port", Type::Range(-1, 65535))
                .default(Default::Int(0))
                .force_new()
                .doc("Last port of the range (the ICMP code for icmp)."),
            Field::new("cidr_ipv4", Type::Cidr)
                .unset_is_null()
                .force_new()
                .doc(concat!("The IPv4 network traffic is allowed ", $peer, ". Exactly one of `cidr_ipv4`, `cidr_ipv6`, `referenced_security_group_id`, `prefix_list_id` is set.")),
            Field::new("cidr_ipv6", Type::Cidr)
                .unset_is_null()
                .force_new()
                .doc(concat!("The IPv6 network traffic is allowed ", $peer, ".")),
            Field::new("referenced_security_group_id", Type::String)
                .unset_is_null()
                .force_new()
                .doc(concat!("The security group whose members traffic is allowed ", $peer, "; may be `security_group_id` itself (the group's own members).")),
            Field::new("prefix_list_id", Type::String)
                .unset_is_null()
                .force_new()
                .doc(concat!("The managed prefix list traffic is allowed ", $peer, " (e.g. S3's, for its gateway endpoint).")),
            Field::new("description", Type::String)
                .default(Default::Str(""))
                .doc("A description, changed in place."),
            TAGS,
            ID,
            Field::new("arn", Type::String)
                .computed()
                .doc("The rule's ARN."),
        ]
    };
}

static INGRESS_SCHEMA: Schema = Schema {
    kind: "security_group_ingress_rule",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "One inbound rule of a security group as a resource of its own: for groups that admit each other or their own members (which inline `ingress` rules cannot name without a dependency cycle), or rules managed apart from the group.",
    fields: rule_fields!("from"),
};

static EGRESS_SCHEMA: Schema = Schema {
    kind: "security_group_egress_rule",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "One outbound rule of a security group as a resource of its own: for groups that send to each other or to their own members (which inline `egress` rules cannot name without a dependency cycle), or rules managed apart from the group.",
    fields: rule_fields!("to"),
};

/// The attributes of a described rule.
fn rule_attrs(r: &SecurityGroupRule) -> Attrs {
    let protocol = canonical_protocol(r.ip_protocol().unwrap_or("-1"));
    // AWS reports -1 for the ports of a protocol without them.
    let port = |p: Option<i32>| {
        if has_ports(&protocol) {
            Value::from(p.unwrap_or(0))
        } else {
            Value::Int(0)
        }
    };
    let mut a = Attrs::new();
    a.insert("id".into(), r.security_group_rule_id().into());
    a.insert("security_group_id".into(), r.group_id().into());
    a.insert("from_port".into(), port(r.from_port()));
    a.insert("to_port".into(), port(r.to_port()));
    a.insert("protocol".into(), Value::Str(protocol));
    a.insert("cidr_ipv4".into(), r.cidr_ipv4().into());
    a.insert("cidr_ipv6".into(), r.cidr_ipv6().into());
    a.insert(
        "referenced_security_group_id".into(),
        r.referenced_group_info().and_then(|g| g.group_id()).into(),
    );
    a.insert("prefix_list_id".into(), r.prefix_list_id().into());
    a.insert(
        "description".into(),
        Value::str(r.description().unwrap_or_default()),
    );
    a.insert("tags".into(), tags_value(r.tags()));
    a.insert("arn".into(), r.security_group_rule_arn().into());
    a
}

/// The ports to send: none for a protocol without them.
fn ports(desired: &Attrs, protocol: &str) -> ApiResult<(Option<i32>, Option<i32>)> {
    if !has_ports(protocol) {
        return Ok((None, None));
    }
    let get = |k: &str| to_i32(desired.get(k).unwrap_or(&Value::Int(0)), k);
    Ok((get("from_port")?, get("to_port")?))
}

/// The permission that authorizes the desired rule.
fn permission(desired: &Attrs) -> ApiResult<IpPermission> {
    let protocol =
        canonical_protocol(&str_attr(desired, "protocol").unwrap_or_else(|| "tcp".into()));
    let (from, to) = ports(desired, &protocol)?;
    let d = str_attr(desired, "description").filter(|d| !d.is_empty());
    let p = IpPermission::builder()
        .ip_protocol(protocol)
        .set_from_port(from)
        .set_to_port(to);
    let p = if let Some(c) = str_attr(desired, "cidr_ipv4") {
        p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d).build())
    } else if let Some(c) = str_attr(desired, "cidr_ipv6") {
        p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d).build())
    } else if let Some(g) = str_attr(desired, "referenced_security_group_id") {
        p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(d)
                .build(),
        )
    } else if let Some(l) = str_attr(desired, "prefix_list_id") {
        p.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(l)
                .set_description(d)
                .build(),
        )
    } else {
        return Err(ApiError::msg(format!(
            "a security group rule needs exactly one of {}",
            SOURCES.join(", ")
        )));
    };
    Ok(p.build())
}

/// The whole rule as ModifySecurityGroupRules takes it (a description
/// change resends the rest unchanged).
fn rule_request(desired: &Attrs) -> ApiResult<SecurityGroupRuleRequest> {
    let protocol =
        canonical_protocol(&str_attr(desired, "protocol").unwrap_or_else(|| "tcp".into()));
    let (from, to) = ports(desired, &protocol)?;
    Ok(SecurityGroupRuleRequest::builder()
        .ip_protocol(protocol)
        .from_port(from.unwrap_or(-1))
        .to_port(to.unwrap_or(-1))
        .set_cidr_ipv4(str_attr(desired, "cidr_ipv4"))
        .set_cidr_ipv6(str_attr(desired, "cidr_ipv6"))
        .set_referenced_group_id(str_attr(desired, "referenced_security_group_id"))
        .set_prefix_list_id(str_attr(desired, "prefix_list_id"))
        .description(str_attr(desired, "description").unwrap_or_default())
        .build())
}

impl SecurityGroupRuleKind {
    /// The rules of this direction matching the filters.
    async fn describe(&self, cx: Ctx<'_>, filters: Vec<Filter>) -> ApiResult<LiveMap> {
        let rules = pages!(
            cx.aws
                .ec2
                .describe_security_group_rules()
                .set_filters(Some(filters))
        )?;
        Ok(rules
            .iter()
            .filter(|r| r.is_egress() == Some(self.egress))
            .filter_map(|r| Some((r.security_group_rule_id()?.to_owned(), rule_attrs(r))))
            .collect())
    }

    /// The group of rule `id`, from what was last seen of it or else AWS.
    async fn group_of(&self, cx: Ctx<'_>, id: &str, live: &Attrs) -> ApiResult<Option<String>> {
        if let Some(g) = str_attr(live, "security_group_id") {
            return Ok(Some(g));
        }
        let mut found = self
            .describe(cx, vec![filter("security-group-rule-id", [id])])
            .await?;
        Ok(found
            .remove(id)
            .and_then(|a| str_attr(&a, "security_group_id")))
    }
}

#[async_trait]
impl Kind for SecurityGroupRuleKind {
    fn schema(&self) -> &'static Schema {
        self.schema
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    fn rules(&self) -> &'static [Rule] {
        RULES
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        let Some(p) = attrs.get("protocol").and_then(Value::as_str) else {
            return;
        };
        let p = canonical_protocol(p);
        if !has_ports(&p) {
            attrs.insert("from_port".into(), Value::Int(0));
            attrs.insert("to_port".into(), Value::Int(0));
        }
        attrs.insert("protocol".into(), Value::Str(p));
    }

    /// One DescribeSecurityGroupRules per 200 ids, by the
    /// `security-group-rule-id` filter (which, unlike the id list, leaves
    /// an unknown id out instead of failing the call).
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        BATCH
            .read(ids, |chunk| {
                self.describe(cx, vec![filter("security-group-rule-id", chunk)])
            })
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let group = str_attr(desired, "security_group_id");
        let perm = permission(desired)?;
        let tags = tag_spec(cx, ResourceType::SecurityGroupRule, address, desired)?;
        let ec2 = &cx.aws.ec2;
        let made = if self.egress {
            ec2.authorize_security_group_egress()
                .set_group_id(group)
                .ip_permissions(perm)
                .tag_specifications(tags)
                .send()
                .await?
                .security_group_rules()
                .to_vec()
        } else {
            ec2.authorize_security_group_ingress()
                .set_group_id(group)
                .ip_permissions(perm)
                .tag_specifications(tags)
                .send()
                .await?
                .security_group_rules()
                .to_vec()
        };
        let id = made
            .first()
            .and_then(SecurityGroupRule::security_group_rule_id)
            .ok_or_else(|| ApiError::msg("AuthorizeSecurityGroup…: no rule id in the answer"))?
            .to_owned();
        crate::kinds::created(&id);
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        if changed.has("description") {
            cx.aws
                .ec2
                .modify_security_group_rules()
                .set_group_id(str_attr(desired, "security_group_id"))
                .security_group_rules(
                    SecurityGroupRuleUpdate::builder()
                        .security_group_rule_id(id)
                        .security_group_rule(rule_request(desired)?)
                        .build(),
                )
                .send()
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, live } = op;
        // A rule goes with its group: no group, no rule.
        let Some(group) = self.group_of(cx, id, live).await? else {
            return Ok(());
        };
        let ec2 = &cx.aws.ec2;
        if self.egress {
            gone_is_ok(
                ec2.revoke_security_group_egress()
                    .group_id(group)
                    .security_group_rule_ids(id)
                    .send()
                    .await,
            )
        } else {
            gone_is_ok(
                ec2.revoke_security_group_ingress()
                    .group_id(group)
                    .security_group_rule_ids(id)
                    .send()
                    .await,
            )
        }
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t| self.describe(cx, address_filters(t))).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use aws_sdk_ec2::types::ReferencedSecurityGroup;

    fn attrs(pairs: &[(&str, Value)]) -> Attrs {
        INGRESS.schema().with_defaults(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn a_described_rule_reads_back_as_the_desired_one() {
        let desired = attrs(&[
            ("security_group_id", Value::str("sg-1")),
            ("from_port", Value::Int(8080)),
            ("to_port", Value::Int(8080)),
            ("referenced_security_group_id", Value::str("sg-1")),
        ]);
        let described = SecurityGroupRule::builder()
            .security_group_rule_id("sgr-1")
            .group_id("sg-1")
            .is_egress(false)
            .ip_protocol("tcp")
            .from_port(8080)
            .to_port(8080)
            .referenced_group_info(ReferencedSecurityGroup::builder().group_id("sg-1").build())
            .build();
        let live = rule_attrs(&described);
        let c = crate::kinds::Changes::between(&INGRESS, &live, &desired);
        assert!(c.fields().all(|f| !c.sets(f)), "{c:?}\n{live:?}");
        let p = permission(&desired).unwrap();
        assert_eq!(p.user_id_group_pairs()[0].group_id(), Some("sg-1"));
        assert_eq!((p.from_port(), p.to_port()), (Some(8080), Some(8080)));
    }

    #[test]
    fn all_protocols_take_no_ports_and_read_back_as_zero() {
        let desired = attrs(&[
            ("security_group_id", Value::str("sg-1")),
            ("protocol", Value::str("all")),
            ("cidr_ipv4", Value::str("0.0.0.0/0")),
        ]);
        let described = SecurityGroupRule::builder()
            .security_group_rule_id("sgr-2")
            .group_id("sg-1")
            .is_egress(true)
            .ip_protocol("-1")
            .from_port(-1)
            .to_port(-1)
            .cidr_ipv4("0.0.0.0/0")
            .build();
        let c = crate::kinds::Changes::between(&EGRESS, &rule_attrs(&described), &desired);
        assert!(c.fields().all(|f| !c.sets(f)), "{c:?}");
        let p = permission(&desired).unwrap();
        assert_eq!((p.ip_protocol(), p.from_port()), (Some("-1"), None));
        let r = rule_request(&desired).unwrap();
        assert_eq!((r.from_port(), r.to_port()), (Some(-1), Some(-1)));
    }

    #[test]
    fn exactly_one_source_is_the_rule() {
        let rule = RULES[0];
        let m = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::str(*v)))
                .collect::<BTreeMap<_, _>>()
        };
        let fields = INGRESS.schema().fields;
        assert!(
            rule.problem(fields, &m(&[("cidr_ipv4", "10.0.0.0/8")]))
                .is_none()
        );
        let (key, msg) = rule
            .problem(
                fields,
                &m(&[("cidr_ipv4", "10.0.0.0/8"), ("prefix_list_id", "pl-1")]),
            )
            .unwrap();
        assert_eq!(key, "prefix_list_id");
        assert!(msg.contains("`cidr_ipv4`"), "{msg}");
        let (key, msg) = rule.problem(fields, &m(&[])).unwrap();
        assert_eq!(key, "cidr_ipv4");
        assert!(msg.contains("exactly one"), "{msg}");
        assert!(permission(&attrs(&[("security_group_id", Value::str("sg-1"))])).is_err());
    }

    #[test]
    fn only_the_description_and_tags_change_in_place() {
        for f in INGRESS.schema().fields.iter().filter(|f| !f.computed) {
            let in_place = matches!(f.name, "description" | "tags");
            assert_eq!(f.force_new, !in_place, "{}", f.name);
        }
        assert_eq!(EGRESS.schema().fields.len(), INGRESS.schema().fields.len());
    }
}
