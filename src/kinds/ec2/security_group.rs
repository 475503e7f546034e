//! `security_group`: stateful firewall rules for the network interfaces of a VPC.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType,
    SecurityGroup as AwsGroup, SecurityGroupRule, UserIdGroupPair,
};

use super::{BATCH, address_filters, filter, tag_spec};
use crate::aws::{ApiError, ErrorClass};
use crate::kinds::support::{
    Waiter, delete_poll, find_by_address, gone_is_ok, pages, present, str_attr, tags_value,
    update_from, wait_visible,
};
use crate::kinds::{
    self, ADDRESS_TAG, ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update,
};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct SecurityGroup;

/// One rule. AWS groups rules by protocol and ports; reconcile compares them
/// exploded, one rule per source (see `canonicalize`).
const RULE: &[Field] = &[
    Field::new("protocol", Type::String)
        .default(Default::Str("tcp"))
        .doc("\"tcp\", \"udp\", \"icmp\", \"icmpv6\", a protocol number, or \"-1\" for all."),
    Field::new("from_port", Type::Range(-1, 65535))
        .default(Default::Int(0))
        .doc("First port of the range (the ICMP type for icmp)."),
    Field::new("to_port", Type::Range(-1, 65535))
        .default(Default::Int(0))
        .doc("Last port of the range (the ICMP code for icmp)."),
    Field::new("cidr_blocks", Type::Set(&Type::Cidr))
        .default(Default::EmptyList)
        .doc("IPv4 networks the rule applies to."),
    Field::new("ipv6_cidr_blocks", Type::Set(&Type::Cidr))
        .default(Default::EmptyList)
        .doc("IPv6 networks the rule applies to."),
    Field::new("source_security_group_ids", Type::Set(&Type::String))
        .default(Default::EmptyList)
        .doc("Security groups whose members the rule applies to."),
    Field::new("self", Type::Bool)
        .default(Default::Bool(false))
        .doc("The group's own members (a rule naming its own group by id would depend on itself)."),
    Field::new("description", Type::String)
        .default(Default::Str(""))
        .doc("A description of each source of the rule."),
];

const RULES: Type = Type::Set(&Type::Object(RULE));

/// The rule fields that list sources; a canonical rule has exactly one
/// source: one item of one of them, or `self`.
const SOURCES: [&str; 3] = [
    "cidr_blocks",
    "ipv6_cidr_blocks",
    "source_security_group_ids",
];

static SCHEMA: Schema = Schema {
    kind: "security_group",
    service: super::SERVICE,
    // Network interfaces of just-deleted dependents (instances, load
    // balancers, Lambda functions) can take many minutes to go away.
    timeouts: Timeouts::minutes(10, 10, 15),
    description: "A security group: stateful firewall rules for the network interfaces of a VPC.",
    fields: &[
        Field::stack_name("name", crate::kinds::names::SECURITY_GROUP)
            .doc("The group name; by default `<stack>-<resource name>`."),
        Field::new("description", Type::String)
            .default(Default::Str("Managed by reconcile"))
            .force_new()
            .doc("The group description (AWS cannot change it)."),
        Field::new("vpc_id", Type::String)
            .required()
            .force_new()
            .doc("The VPC the group belongs to."),
        Field::new("ingress", RULES)
            .default(Default::EmptyList)
            .doc("Inbound rules, changed in place."),
        Field::new("egress", RULES)
            .default(Default::EmptyList)
            .doc("Outbound rules, changed in place. Empty means no outbound traffic."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the group."),
        Field::new("owner_id", Type::String)
            .computed()
            .doc("The owning account."),
    ],
};

impl SecurityGroup {
    /// Every security group matching the filters.
    async fn describe(
        &self,
        cx: Ctx<'_>,
        filters: Vec<Filter>,
    ) -> ApiResult<BTreeMap<String, Attrs>> {
        let groups = pages!(
            cx.aws
                .ec2
                .describe_security_groups()
                .set_filters(Some(filters))
        )?;
        let region = cx
            .aws
            .ec2
            .config()
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default();
        let ids: Vec<String> = groups
            .iter()
            .filter_map(|g| g.group_id().map(str::to_owned))
            .collect();
        let standalone = standalone_rules(cx, &ids).await?;
        Ok(groups
            .iter()
            .filter_map(|g| {
                let id = g.group_id()?;
                let mut a = group_attrs(g, &region);
                for (field, egress) in [("ingress", false), ("egress", true)] {
                    if let (Some(Value::List(rules)), Some(theirs)) =
                        (a.get_mut(field), standalone.get(&(id.to_owned(), egress)))
                    {
                        rules.retain(|r| !theirs.contains(&rule_key(r)));
                    }
                }
                Some((id.to_owned(), a))
            })
            .collect())
    }
}

/// The rules of `groups` that standalone rule resources own
/// (`security_group_ingress_rule`, `security_group_egress_rule`: they carry
/// a `reconcile:address` tag, which no inline rule does), as keys of
/// canonical inline rules by group and direction. A group's read leaves
/// them out, so neither side sees the other's rules as drift; every other
/// rule, a hand-added one too, is the group's. One DescribeSecurityGroupRules
/// per 200 groups.
async fn standalone_rules(
    cx: Ctx<'_>,
    groups: &[String],
) -> ApiResult<BTreeMap<(String, bool), Vec<Value>>> {
    let rules: Vec<SecurityGroupRule> = BATCH
        .read(groups, |chunk| async move {
            pages!(
                cx.aws
                    .ec2
                    .describe_security_group_rules()
                    .filters(filter("group-id", chunk))
            )
        })
        .await?;
    let mut out: BTreeMap<(String, bool), Vec<Value>> = BTreeMap::new();
    for r in &rules {
        if !r.tags().iter().any(|t| t.key() == Some(ADDRESS_TAG)) {
            continue;
        }
        let Some(group) = r.group_id() else { continue };
        let keys = rules_value(&[rule_permission(r)], group);
        out.entry((group.to_owned(), r.is_egress().unwrap_or(false)))
            .or_default()
            .extend(keys.as_list().iter().map(rule_key));
    }
    Ok(out)
}

/// A described rule as the permission a group's description shows it in.
fn rule_permission(r: &SecurityGroupRule) -> IpPermission {
    let d = r.description().map(str::to_owned);
    let mut p = IpPermission::builder()
        .set_ip_protocol(r.ip_protocol().map(str::to_owned))
        .set_from_port(r.from_port())
        .set_to_port(r.to_port());
    if let Some(c) = r.cidr_ipv4() {
        p = p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d).build());
    } else if let Some(c) = r.cidr_ipv6() {
        p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d).build());
    } else if let Some(g) = r.referenced_group_info().and_then(|g| g.group_id()) {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(d)
                .build(),
        );
    } else if let Some(l) = r.prefix_list_id() {
        p = p.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(l)
                .set_description(d)
                .build(),
        );
    }
    p.build()
}

fn group_attrs(g: &AwsGroup, region: &str) -> Attrs {
    let id = g.group_id().unwrap_or_default();
    let owner = g.owner_id().unwrap_or_default();
    let arn = g.security_group_arn().map_or_else(
        || {
            format!(
                "arn:{}:ec2:{region}:{owner}:security-group/{id}",
                partition(region)
            )
        },
        str::to_owned,
    );
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(id));
    a.insert("name".into(), g.group_name().into());
    a.insert("description".into(), g.description().into());
    a.insert("vpc_id".into(), g.vpc_id().into());
    a.insert("ingress".into(), rules_value(g.ip_permissions(), id));
    a.insert("egress".into(), rules_value(g.ip_permissions_egress(), id));
    a.insert("tags".into(), tags_value(g.tags()));
    a.insert("arn".into(), Value::str(arn));
    a.insert("owner_id".into(), Value::str(owner));
    a
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The protocol as AWS reports it: names for tcp, udp, icmp and icmpv6
/// (whether given by name or number), "-1" for all.
pub(super) fn canonical_protocol(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "6" | "tcp" => "tcp".into(),
        "17" | "udp" => "udp".into(),
        "1" | "icmp" => "icmp".into(),
        "58" | "icmpv6" => "icmpv6".into(),
        "all" | "-1" => "-1".into(),
        other => other.into(),
    }
}

/// Whether AWS honours port ranges for the protocol; for the others (all
/// protocols, ESP, GRE, …) it allows every port and reports none.
pub(super) fn has_ports(protocol: &str) -> bool {
    matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6")
}

/// One rule exploded into one rule per source, with defaults filled in, the
/// protocol named as AWS names it and ports zeroed where AWS ignores them. A
/// rule with no source, or whose sources are not known yet, stays one rule.
fn explode(rule: &Value) -> Vec<Value> {
    let Value::Map(mut m) = Type::Object(RULE).normalize(rule) else {
        return vec![rule.clone()];
    };
    if let Some(p) = m
        .get("protocol")
        .and_then(Value::as_str)
        .map(canonical_protocol)
    {
        if !has_ports(&p) {
            m.insert("from_port".into(), Value::Int(0));
            m.insert("to_port".into(), Value::Int(0));
        }
        m.insert("protocol".into(), Value::Str(p));
    }
    let mut sources = Vec::new();
    for key in SOURCES {
        match m.get(key) {
            Some(Value::List(items)) => {
                sources.extend(items.iter().map(|i| (key, Value::List(vec![i.clone()]))));
            }
            _ => return vec![Value::Map(m)],
        }
    }
    match m.get("self") {
        Some(Value::Bool(true)) => sources.push(("self", Value::Bool(true))),
        Some(Value::Bool(false)) => {}
        _ => return vec![Value::Map(m)],
    }
    if sources.is_empty() {
        return vec![Value::Map(m)];
    }
    sources
        .into_iter()
        .map(|(key, source)| {
            let mut one = m.clone();
            for k in SOURCES {
                one.insert(k.into(), Value::List(Vec::new()));
            }
            one.insert("self".into(), Value::Bool(false));
            one.insert(key.into(), source);
            Value::Map(one)
        })
        .collect()
}

/// Rules in canonical form: exploded, sorted, without duplicates.
fn canonical_rules(rules: &Value) -> Value {
    match rules {
        Value::List(items) => {
            RULES.normalize(&Value::List(items.iter().flat_map(explode).collect()))
        }
        other => other.clone(),
    }
}

/// The rules of described permissions of group `own`, in canonical form:
/// a source that is the group itself reads as `self`. Prefix-list sources
/// are not part of the inline schema and are left out (a standalone rule
/// takes them).
pub(super) fn rules_value(perms: &[IpPermission], own: &str) -> Value {
    let mut rules = Vec::new();
    for p in perms {
        let rule = |key: &str, source: Option<&str>, description: Option<&str>| {
            let mut m = BTreeMap::from([
                (
                    "protocol".to_owned(),
                    Value::from(p.ip_protocol().unwrap_or("-1")),
                ),
                (
                    "from_port".to_owned(),
                    Value::from(p.from_port().unwrap_or(0)),
                ),
                ("to_port".to_owned(), Value::from(p.to_port().unwrap_or(0))),
                (
                    "description".to_owned(),
                    Value::from(description.unwrap_or_default()),
                ),
            ]);
            m.insert(
                key.to_owned(),
                Value::List(source.map(Value::from).into_iter().collect()),
            );
            Value::Map(m)
        };
        for r in p.ip_ranges() {
            rules.push(rule("cidr_blocks", r.cidr_ip(), r.description()));
        }
        for r in p.ipv6_ranges() {
            rules.push(rule("ipv6_cidr_blocks", r.cidr_ipv6(), r.description()));
        }
        for g in p.user_id_group_pairs() {
            if g.group_id() == Some(own) {
                let mut r = rule("source_security_group_ids", None, g.description());
                if let Value::Map(m) = &mut r {
                    m.insert("self".into(), Value::Bool(true));
                }
                rules.push(r);
            } else {
                rules.push(rule(
                    "source_security_group_ids",
                    g.group_id(),
                    g.description(),
                ));
            }
        }
    }
    canonical_rules(&Value::List(rules))
}

/// The permission that authorizes or revokes one canonical rule of group
/// `own`.
fn permission(rule: &Value, own: &str) -> ApiResult<IpPermission> {
    let m = rule.as_map().ok_or_else(|| {
        ApiError::msg(format!(
            "a security group rule must be a table, found {rule}"
        ))
    })?;
    let text = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let port = |k: &str| {
        let n = m.get(k).and_then(Value::as_int).unwrap_or(0);
        i32::try_from(n).map_err(|_| ApiError::msg(format!("{k} {n} is out of range")))
    };
    let first = |k: &str| {
        m.get(k)
            .and_then(|v| v.as_list().first())
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let protocol = text("protocol");
    let description = Some(text("description")).filter(|d| !d.is_empty());
    let mut p = IpPermission::builder().ip_protocol(&protocol);
    // "-1" allows every port and takes none.
    if protocol != "-1" {
        p = p.from_port(port("from_port")?).to_port(port("to_port")?);
    }
    if let Some(cidr) = first("cidr_blocks") {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description)
                .build(),
        );
    } else if let Some(cidr) = first("ipv6_cidr_blocks") {
        p = p.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .set_description(description)
                .build(),
        );
    } else if let Some(group) = first("source_security_group_ids")
        .or_else(|| (m.get("self") == Some(&Value::Bool(true))).then(|| own.to_owned()))
    {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(description)
                .build(),
        );
    }
    Ok(p.build())
}

/// A canonical rule without its description: rules with equal keys differ
/// only in description, which AWS changes in place.
fn rule_key(rule: &Value) -> Value {
    match rule {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(k, _)| *k != "description")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What to do to bring live rules (of one direction) to the desired ones.
#[derive(Debug, Default, PartialEq)]
struct RuleChanges {
    authorize: Vec<Value>,
    describe: Vec<Value>,
    revoke: Vec<Value>,
}

fn rule_changes(live: Option<&Value>, desired: Option<&Value>) -> RuleChanges {
    let canonical = |v: Option<&Value>| {
        canonical_rules(v.unwrap_or(&Value::List(Vec::new())))
            .as_list()
            .to_vec()
    };
    let before = canonical(live);
    let after = canonical(desired);
    let before_keys: Vec<Value> = before.iter().map(rule_key).collect();
    let after_keys: Vec<Value> = after.iter().map(rule_key).collect();
    let mut changes = RuleChanges::default();
    for (rule, key) in after.iter().zip(&after_keys) {
        if before.contains(rule) {
            continue;
        }
        if before_keys.contains(key) {
            changes.describe.push(rule.clone());
        } else {
            changes.authorize.push(rule.clone());
        }
    }
    for (rule, key) in before.iter().zip(&before_keys) {
        if !after_keys.contains(key) {
            changes.revoke.push(rule.clone());
        }
    }
    changes
}

/// Applies rule changes. New rules are authorized before old ones are
/// revoked, so a changed rule never leaves a moment without either.
async fn apply_rules(cx: Ctx<'_>, id: &str, egress: bool, changes: RuleChanges) -> ApiResult<()> {
    let perms = |rules: &[Value]| {
        rules
            .iter()
            .map(|r| permission(r, id))
            .collect::<Result<Vec<_>, _>>()
    };
    let ec2 = &cx.aws.ec2;
    let authorize = perms(&changes.authorize)?;
    if !authorize.is_empty() {
        let r = if egress {
            let call = ec2.authorize_security_group_egress().group_id(id);
            call.set_ip_permissions(Some(authorize))
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from)
        } else {
            let call = ec2.authorize_security_group_ingress().group_id(id);
            call.set_ip_permissions(Some(authorize))
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from)
        };
        r?;
    }
    let describe = perms(&changes.describe)?;
    if !describe.is_empty() {
        let r = if egress {
            let call = ec2
                .update_security_group_rule_descriptions_egress()
                .group_id(id);
            call.set_ip_permissions(Some(describe))
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from)
        } else {
            let call = ec2
                .update_security_group_rule_descriptions_ingress()
                .group_id(id);
            call.set_ip_permissions(Some(describe))
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from)
        };
        r?;
    }
    let revoke = perms(&changes.revoke)?;
    if revoke.is_empty() {
        return Ok(());
    }
    match revoke_permissions(cx, id, egress, revoke.clone()).await {
        // One of them is already gone, and AWS then may have revoked none of
        // the others: revoke them one by one, each gone one being success.
        Err(e) if e.is_not_found() && revoke.len() > 1 => {
            for p in revoke {
                gone_is_ok(revoke_permissions(cx, id, egress, vec![p]).await)?;
            }
            Ok(())
        }
        r => gone_is_ok(r),
    }
}

async fn revoke_permissions(
    cx: Ctx<'_>,
    id: &str,
    egress: bool,
    perms: Vec<IpPermission>,
) -> ApiResult<()> {
    let ec2 = &cx.aws.ec2;
    if egress {
        let call = ec2.revoke_security_group_egress().group_id(id);
        call.set_ip_permissions(Some(perms))
            .send()
            .await
            .map(drop)
            .map_err(ApiError::from)
    } else {
        let call = ec2.revoke_security_group_ingress().group_id(id);
        call.set_ip_permissions(Some(perms))
            .send()
            .await
            .map(drop)
            .map_err(ApiError::from)
    }
}

/// What one DeleteSecurityGroup attempt means for the delete waiter.
fn in_use(e: &ApiError) -> bool {
    e.class == ErrorClass::DependencyViolation
}

#[async_trait]
impl Kind for SecurityGroup {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    fn network_interface_filter(&self) -> Option<&'static str> {
        Some("group-id")
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        for field in ["ingress", "egress"] {
            if let Some(rules) = attrs.get_mut(field) {
                *rules = canonical_rules(rules);
            }
        }
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        BATCH
            .read(ids, |chunk| {
                self.describe(cx, vec![filter("group-id", chunk)])
            })
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name =
            str_attr(desired, "name").unwrap_or_else(|| kinds::default_name(cx.stack, address));
        let out = cx
            .aws
            .ec2
            .create_security_group()
            .group_name(name)
            .description(
                str_attr(desired, "description").unwrap_or_else(|| "Managed by reconcile".into()),
            )
            .set_vpc_id(str_attr(desired, "vpc_id"))
            .tag_specifications(tag_spec(cx, ResourceType::SecurityGroup, address, desired)?)
            .send()
            .await?;
        let id = out
            .group_id()
            .ok_or_else(|| ApiError::msg("CreateSecurityGroup returned no id"))?
            .to_owned();
        crate::kinds::created(&id);
        let what = format!("security group {id} to become visible");
        let created = wait_visible(cx.timeouts(self).create, &what, || async {
            let mut found = self.describe(cx, vec![filter("group-id", [&id])]).await?;
            Ok(present(found.remove(&id)))
        })
        .await?;
        // AWS gives a new group an egress rule allowing everything; like
        // Terraform, it goes unless the desired egress rules contain it.
        update_from(self, cx, address, &id, &created, desired).await?;
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        for (field, egress) in [("ingress", false), ("egress", true)] {
            if changed.has(field) {
                apply_rules(
                    cx,
                    id,
                    egress,
                    rule_changes(live.get(field), desired.get(field)),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // AWS refuses with DependencyViolation while a network interface
        // still uses the group or another group's rule refers to it. Right
        // after a dependent is deleted its interfaces linger for a while, so
        // that one named condition is retried with backoff, up to the delete
        // timeout.
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("security group {id} to be deleted"), || async {
                let r = cx.aws.ec2.delete_security_group().group_id(id).send().await;
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
    use super::*;
    use crate::kinds::support::Poll;

    fn delete_outcome(r: ApiResult<()>) -> ApiResult<Poll<()>> {
        delete_poll(r, in_use)
    }

    /// A rule table from `key = value` pairs.
    fn rule(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs)
    }

    fn list(items: &[&str]) -> Value {
        Value::strs(items)
    }

    fn canon(rules: Vec<Value>) -> Value {
        let mut attrs = Attrs::from([("ingress".to_owned(), Value::List(rules))]);
        SecurityGroup.canonicalize(&mut attrs);
        attrs.remove("ingress").unwrap()
    }

    fn https(sources: &[(&str, Value)]) -> Value {
        let mut pairs = vec![("from_port", Value::Int(443)), ("to_port", Value::Int(443))];
        pairs.extend(sources.iter().cloned());
        rule(&pairs)
    }

    #[test]
    fn a_rule_with_two_cidrs_equals_two_rules_with_one_each() {
        let one = canon(vec![https(&[(
            "cidr_blocks",
            list(&["10.0.0.0/8", "192.168.0.0/16"]),
        )])]);
        let two = canon(vec![
            https(&[("cidr_blocks", list(&["192.168.0.0/16"]))]),
            https(&[("cidr_blocks", list(&["10.0.0.0/8"]))]),
        ]);
        assert_eq!(one, two);
        assert_eq!(one.as_list().len(), 2);
    }

    #[test]
    fn each_canonical_rule_has_one_source_and_every_default() {
        let rules = canon(vec![https(&[
            ("cidr_blocks", list(&["10.0.0.0/8"])),
            ("ipv6_cidr_blocks", list(&["::/0"])),
            ("source_security_group_ids", list(&["sg-1", "sg-2"])),
            ("description", Value::str("web")),
        ])]);
        assert_eq!(rules.as_list().len(), 4);
        for r in rules.as_list() {
            let m = r.as_map().unwrap();
            assert_eq!(m.len(), RULE.len(), "{r}");
            assert_eq!(m["protocol"], Value::str("tcp"));
            assert_eq!(m["description"], Value::str("web"));
            let sources: usize = SOURCES.iter().map(|k| m[*k].as_list().len()).sum();
            assert_eq!(sources, 1, "{r}");
        }
    }

    #[test]
    fn rule_order_does_not_matter() {
        let a = https(&[("cidr_blocks", list(&["10.0.0.0/8"]))]);
        let b = https(&[("source_security_group_ids", list(&["sg-1"]))]);
        assert_eq!(canon(vec![a.clone(), b.clone()]), canon(vec![b, a]));
    }

    #[test]
    fn all_protocols_have_ports_zero_whatever_was_reported() {
        let aws = rule(&[
            ("protocol", Value::str("-1")),
            ("from_port", Value::Int(-1)),
            ("to_port", Value::Int(-1)),
            ("cidr_blocks", list(&["0.0.0.0/0"])),
        ]);
        let user = rule(&[
            ("protocol", Value::str("all")),
            ("cidr_blocks", list(&["0.0.0.0/0"])),
        ]);
        assert_eq!(canon(vec![aws.clone()]), canon(vec![user]));
        let m = canon(vec![aws]).as_list()[0].as_map().cloned().unwrap();
        assert_eq!(
            (&m["protocol"], &m["from_port"], &m["to_port"]),
            (&Value::str("-1"), &Value::Int(0), &Value::Int(0))
        );
    }

    #[test]
    fn protocol_numbers_and_case_become_the_names_aws_reports() {
        let by_number = rule(&[
            ("protocol", Value::str("6")),
            ("from_port", Value::Int(22)),
            ("to_port", Value::Int(22)),
        ]);
        let by_name = rule(&[
            ("protocol", Value::str("TCP")),
            ("from_port", Value::Int(22)),
            ("to_port", Value::Int(22)),
        ]);
        assert_eq!(canon(vec![by_number]), canon(vec![by_name]));
        assert_eq!(canonical_protocol("17"), "udp");
        assert_eq!(canonical_protocol("1"), "icmp");
        assert_eq!(canonical_protocol("50"), "50");
    }

    #[test]
    fn canonicalize_is_idempotent_and_leaves_unknown_sources_alone() {
        let once = canon(vec![https(&[(
            "cidr_blocks",
            list(&["10.0.0.0/8", "10.1.0.0/16"]),
        )])]);
        assert_eq!(canon(once.as_list().to_vec()), once);
        let pending = https(&[("source_security_group_ids", Value::Unknown)]);
        let out = canon(vec![pending]);
        assert_eq!(out.as_list().len(), 1);
        assert_eq!(
            out.as_list()[0].as_map().unwrap()["source_security_group_ids"],
            Value::Unknown
        );
        let mut attrs = Attrs::from([("egress".to_owned(), Value::Unknown)]);
        SecurityGroup.canonicalize(&mut attrs);
        assert_eq!(attrs["egress"], Value::Unknown);
    }

    #[test]
    fn grouped_permissions_read_as_one_rule_per_source() {
        let perm = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(
                IpRange::builder()
                    .cidr_ip("10.0.0.0/8")
                    .description("office")
                    .build(),
            )
            .ip_ranges(IpRange::builder().cidr_ip("192.168.0.0/16").build())
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id("sg-1")
                    .user_id("123")
                    .build(),
            )
            .build();
        let desired = canon(vec![
            https(&[
                ("cidr_blocks", list(&["10.0.0.0/8"])),
                ("description", Value::str("office")),
            ]),
            https(&[
                ("cidr_blocks", list(&["192.168.0.0/16"])),
                ("source_security_group_ids", list(&["sg-1"])),
            ]),
        ]);
        assert_eq!(rules_value(&[perm], "sg-own"), desired);
    }

    #[test]
    fn the_default_egress_rule_reads_as_all_traffic_to_anywhere() {
        let perm = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let desired = canon(vec![rule(&[
            ("protocol", Value::str("-1")),
            ("cidr_blocks", list(&["0.0.0.0/0"])),
        ])]);
        assert_eq!(rules_value(&[perm], "sg-own"), desired);
    }

    #[test]
    fn a_canonical_rule_becomes_a_permission_and_reads_back_the_same() {
        let rules = canon(vec![
            https(&[
                ("ipv6_cidr_blocks", list(&["::/0"])),
                ("description", Value::str("v6")),
            ]),
            https(&[("source_security_group_ids", list(&["sg-9"]))]),
            rule(&[
                ("protocol", Value::str("-1")),
                ("cidr_blocks", list(&["0.0.0.0/0"])),
            ]),
        ]);
        let perms: Vec<IpPermission> = rules
            .as_list()
            .iter()
            .map(|r| permission(r, "sg-own").unwrap())
            .collect();
        let all = perms
            .iter()
            .find(|p| p.ip_protocol() == Some("-1"))
            .unwrap();
        assert_eq!((all.from_port(), all.to_port()), (None, None));
        let v6 = perms.iter().find(|p| !p.ipv6_ranges().is_empty()).unwrap();
        assert_eq!(v6.ipv6_ranges()[0].description(), Some("v6"));
        let sg = perms
            .iter()
            .find(|p| !p.user_id_group_pairs().is_empty())
            .unwrap();
        assert_eq!(
            sg.user_id_group_pairs()[0].description(),
            None,
            "an empty description is not sent"
        );
        assert_eq!(rules_value(&perms, "sg-own"), rules);
    }

    #[test]
    fn the_groups_own_members_read_as_self_and_are_sent_as_the_group() {
        let perm = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-own").build())
            .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-other").build())
            .build();
        let desired = canon(vec![https(&[
            ("self", Value::Bool(true)),
            ("source_security_group_ids", list(&["sg-other"])),
        ])]);
        assert_eq!(desired.as_list().len(), 2);
        assert_eq!(rules_value(&[perm], "sg-own"), desired);
        let own = desired
            .as_list()
            .iter()
            .find(|r| r.as_map().unwrap()["self"] == Value::Bool(true))
            .unwrap();
        let sent = permission(own, "sg-own").unwrap();
        assert_eq!(sent.user_id_group_pairs()[0].group_id(), Some("sg-own"));
    }

    #[test]
    fn a_standalone_rule_reads_as_the_inline_rule_it_is_left_out_as() {
        let r = SecurityGroupRule::builder()
            .group_id("sg-own")
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .referenced_group_info(
                aws_sdk_ec2::types::ReferencedSecurityGroup::builder()
                    .group_id("sg-own")
                    .build(),
            )
            .build();
        let inline = canon(vec![https(&[
            ("self", Value::Bool(true)),
            ("description", Value::str("lost by the emulator")),
        ])]);
        let key = rules_value(&[rule_permission(&r)], "sg-own");
        assert_eq!(
            key.as_list().iter().map(rule_key).collect::<Vec<_>>(),
            inline.as_list().iter().map(rule_key).collect::<Vec<_>>()
        );
    }

    #[test]
    fn out_of_range_ports_are_an_error_not_a_wrap() {
        let r = canon(vec![rule(&[
            ("from_port", Value::Int(1 << 40)),
            ("cidr_blocks", list(&["10.0.0.0/8"])),
        ])]);
        assert!(permission(&r.as_list()[0], "sg-own").is_err());
    }

    #[test]
    fn changes_authorize_new_rules_revoke_old_ones_and_redescribe_in_place() {
        let live = Value::List(vec![
            https(&[
                ("cidr_blocks", list(&["10.0.0.0/8"])),
                ("description", Value::str("old")),
            ]),
            https(&[("cidr_blocks", list(&["172.16.0.0/12"]))]),
        ]);
        let desired = Value::List(vec![https(&[
            ("cidr_blocks", list(&["10.0.0.0/8", "192.168.0.0/16"])),
            ("description", Value::str("new")),
        ])]);
        let c = rule_changes(Some(&live), Some(&desired));
        let one = |cidr: &str, d: &str| {
            canon(vec![https(&[
                ("cidr_blocks", list(&[cidr])),
                ("description", Value::str(d)),
            ])])
            .as_list()[0]
                .clone()
        };
        assert_eq!(c.authorize, vec![one("192.168.0.0/16", "new")]);
        assert_eq!(c.describe, vec![one("10.0.0.0/8", "new")]);
        assert_eq!(c.revoke, vec![one("172.16.0.0/12", "")]);
    }

    #[test]
    fn equal_rules_in_another_shape_need_no_change() {
        let live = Value::List(vec![
            https(&[("cidr_blocks", list(&["10.0.0.0/8"]))]),
            https(&[("cidr_blocks", list(&["192.168.0.0/16"]))]),
        ]);
        let desired = Value::List(vec![https(&[(
            "cidr_blocks",
            list(&["192.168.0.0/16", "10.0.0.0/8"]),
        )])]);
        assert_eq!(
            rule_changes(Some(&live), Some(&desired)),
            RuleChanges::default()
        );
    }

    #[test]
    fn an_empty_egress_list_revokes_the_default_rule() {
        let default = rules_value(
            &[IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build()],
            "sg-own",
        );
        let c = rule_changes(Some(&default), Some(&Value::List(Vec::new())));
        assert_eq!(c.revoke, default.as_list().to_vec());
        assert!(c.authorize.is_empty());
    }

    #[test]
    fn delete_retries_only_dependency_violations() {
        let err = |code: &str| ApiError {
            code: Some(code.into()),
            message: "m".into(),
            class: crate::aws::error::classify_code(code),
        };
        assert_eq!(delete_outcome(Ok(())).unwrap(), Poll::Ready(()));
        assert_eq!(
            delete_outcome(Err(err("InvalidGroup.NotFound"))).unwrap(),
            Poll::Ready(())
        );
        assert!(matches!(
            delete_outcome(Err(err("DependencyViolation"))).unwrap(),
            Poll::Pending(_)
        ));
        assert!(delete_outcome(Err(err("UnauthorizedOperation"))).is_err());
    }

    #[test]
    fn the_group_is_replaced_only_for_its_identity_never_for_rules() {
        for f in ["name", "description", "vpc_id"] {
            assert!(SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        for f in ["ingress", "egress", "tags"] {
            assert!(!SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert_eq!(filled["description"], Value::str("Managed by reconcile"));
        assert_eq!(filled["egress"], Value::List(Vec::new()));
        assert!(!filled.contains_key("name"));
    }

    #[test]
    fn arns_carry_the_partition_of_the_region() {
        let g = AwsGroup::builder().group_id("sg-1").owner_id("123").build();
        assert_eq!(
            group_attrs(&g, "us-east-1")["arn"],
            Value::str("arn:aws:ec2:us-east-1:123:security-group/sg-1")
        );
        assert_eq!(
            group_attrs(&g, "cn-north-1")["arn"],
            Value::str("arn:aws-cn:ec2:cn-north-1:123:security-group/sg-1")
        );
    }
}
