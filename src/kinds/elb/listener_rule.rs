//! `listener_rule`: requests of a listener that match conditions (path,
//! host), and what to do with them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    HostHeaderConditionConfig, PathPatternConditionConfig, Rule, RuleCondition, RulePriorityPair,
};

use super::{
    ACTION, ACTION_RULES, BATCH, action_of, action_value, all_listener_arns, i32_attr,
    only_requested, tagged_with, with_tags,
};
use crate::aws::ApiError;
use crate::kinds::support::{
    Poll, Waiter, create_tags, find_by_address, gone_is_ok, pages, present, str_attr, wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct ListenerRule;

/// What a request must match; every non-empty condition must match.
const CONDITIONS: &[Field] = &[
    Field::new("path_patterns", Type::Set(&Type::String))
        .example("[\"/api/*\"]")
        .default(Default::EmptyList)
        .min_items(1)
        .doc("Path patterns, any of which matches: \"/api/*\"."),
    Field::new("host_headers", Type::Set(&Type::String))
        .default(Default::EmptyList)
        .min_items(1)
        .doc("Host names, any of which matches: \"*.example.com\"."),
];

static SCHEMA: Schema = Schema {
    kind: "listener_rule",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A listener rule: requests of a listener that match its conditions, and what to do with them.",
    fields: &[
        Field::new("listener_arn", Type::Arn)
            .required()
            .force_new()
            .doc("The listener the rule belongs to."),
        Field::new("priority", Type::Range(1, 50000))
            .required()
            .doc("1–50000; lower is evaluated first, unique per listener; changed in place."),
        Field::new("conditions", Type::Object(CONDITIONS))
            .required()
            .doc("What a request must match (at least one condition); changed in place."),
        Field::new("action", ACTION)
            .rules(ACTION_RULES)
            .example(
                "{\"type\": \"forward\", \"target_group_arn\": \"${target_group.example.arn}\"}",
            )
            .required()
            .doc("What to do with matching requests; changed in place."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the rule (also its id)."),
    ],
};

const PATH_PATTERN: &str = "path-pattern";
const HOST_HEADER: &str = "host-header";

impl ListenerRule {
    /// The rules of `arns` that exist, with their tags: one DescribeRules
    /// and one DescribeTags per 20 ARNs.
    async fn describe(&self, cx: Ctx<'_>, arns: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
        let rules = self.rules(cx, arns).await?;
        with_tags(cx, &rules, Rule::rule_arn, rule_attrs).await
    }

    /// The described rules of `arns` that exist.
    async fn rules(&self, cx: Ctx<'_>, arns: &[String]) -> ApiResult<Vec<Rule>> {
        let rules = BATCH
            .read(arns, |chunk| async move {
                pages!(
                    cx.aws
                        .elb
                        .describe_rules()
                        .set_rule_arns(Some(chunk.to_vec()))
                )
            })
            .await?;
        Ok(only_requested(rules, arns, Rule::rule_arn))
    }
}

fn rule_attrs(r: &Rule) -> Attrs {
    let arn = r.rule_arn().unwrap_or_default();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("listener_arn".into(), listener_of(arn).into());
    a.insert(
        "priority".into(),
        r.priority().and_then(|p| p.parse::<i64>().ok()).into(),
    );
    a.insert("conditions".into(), conditions_value(r.conditions()));
    a.insert("action".into(), action_value(r.actions()));
    a
}

/// The listener of a rule, from its ARN (DescribeRules does not name it):
/// `…:listener-rule/app/<lb>/<lb id>/<listener id>/<rule id>` belongs to
/// `…:listener/app/<lb>/<lb id>/<listener id>`.
fn listener_of(rule_arn: &str) -> Option<String> {
    let (base, _rule_id) = rule_arn.rsplit_once('/')?;
    base.contains(":listener-rule/")
        .then(|| base.replacen(":listener-rule/", ":listener/", 1))
}

/// The conditions reconcile manages, as AWS reports them (in a `…Config`
/// or, for rules made the old way, in `Values`).
fn conditions_value(conditions: &[RuleCondition]) -> Value {
    let mut paths = Vec::new();
    let mut hosts = Vec::new();
    for c in conditions {
        match c.field() {
            Some(PATH_PATTERN) => {
                paths.extend(c.values().iter().cloned());
                if let Some(cfg) = c.path_pattern_config() {
                    paths.extend(cfg.values().iter().cloned());
                }
            }
            Some(HOST_HEADER) => {
                hosts.extend(c.values().iter().cloned());
                if let Some(cfg) = c.host_header_config() {
                    hosts.extend(cfg.values().iter().cloned());
                }
            }
            _ => {}
        }
    }
    Type::Object(CONDITIONS).normalize(&Value::Map(BTreeMap::from([
        ("path_patterns".to_owned(), Value::from(paths)),
        ("host_headers".to_owned(), Value::from(hosts)),
    ])))
}

/// The API conditions of desired conditions: one per non-empty kind.
fn conditions_of(v: &Value) -> ApiResult<Vec<RuleCondition>> {
    let normalized = Type::Object(CONDITIONS).normalize(v);
    let m = normalized
        .as_map()
        .ok_or_else(|| ApiError::msg(format!("conditions must be a table, found {v}")))?;
    let list = |k: &str| m.get(k).map(Value::str_list).unwrap_or_default();
    let mut out = Vec::new();
    let paths = list("path_patterns");
    if !paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field(PATH_PATTERN)
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(paths))
                        .build(),
                )
                .build(),
        );
    }
    let hosts = list("host_headers");
    if !hosts.is_empty() {
        out.push(
            RuleCondition::builder()
                .field(HOST_HEADER)
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(hosts))
                        .build(),
                )
                .build(),
        );
    }
    if out.is_empty() {
        return Err(ApiError::msg(
            "a listener rule needs at least one condition: path_patterns or host_headers",
        ));
    }
    Ok(out)
}

#[async_trait]
impl Kind for ListenerRule {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::ElbTags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        self.describe(cx, ids).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let conditions = conditions_of(desired.get("conditions").unwrap_or(&Value::Null))?;
        let action = action_of(desired.get("action").unwrap_or(&Value::Null))?;
        let out = cx
            .aws
            .elb
            .create_rule()
            .set_listener_arn(str_attr(desired, "listener_arn"))
            .set_priority(i32_attr(desired, "priority")?)
            .set_conditions(Some(conditions))
            .actions(action)
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await?;
        let arn = out
            .rules()
            .first()
            .and_then(|r| r.rule_arn())
            .ok_or_else(|| ApiError::msg("CreateRule returned no ARN"))?
            .to_owned();
        crate::kinds::created(&arn);
        let what = format!("listener rule {arn} to become visible");
        wait_visible(cx.timeouts(self).create, &what, || async {
            let found = self.rules(cx, std::slice::from_ref(&arn)).await?;
            Ok(present(found.first().map(drop)))
        })
        .await?;
        Ok(arn)
    }

    /// SetRulePriorities for the priority, one ModifyRule for conditions
    /// and action, then the tags.
    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        if changed.has("priority") {
            cx.aws
                .elb
                .set_rule_priorities()
                .rule_priorities(
                    RulePriorityPair::builder()
                        .rule_arn(id)
                        .set_priority(i32_attr(desired, "priority")?)
                        .build(),
                )
                .send()
                .await?;
        }
        let conditions = changed.has("conditions");
        let action = changed.has("action");
        if conditions || action {
            let mut call = cx.aws.elb.modify_rule().rule_arn(id);
            if conditions {
                call = call.set_conditions(Some(conditions_of(
                    desired.get("conditions").unwrap_or(&Value::Null),
                )?));
            }
            if action {
                call = call.actions(action_of(desired.get("action").unwrap_or(&Value::Null))?);
            }
            call.send().await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        gone_is_ok(cx.aws.elb.delete_rule().rule_arn(id).send().await)?;
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("listener rule {id} to be deleted"), || async {
                let found = self.rules(cx, &[id.to_owned()]).await?;
                Ok(if found.is_empty() {
                    Poll::Ready(())
                } else {
                    Poll::Pending("still listed".into())
                })
            })
            .await
    }

    /// Every rule of every listener is looked at: a rule may belong to a
    /// listener reconcile does not manage.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let listeners = all_listener_arns(cx).await?;
        let per_listener = listeners.iter().map(|l| async move {
            match pages!(cx.aws.elb.describe_rules().listener_arn(l)) {
                // Deleted since it was listed.
                Err(e) if e.is_not_found() => Ok(Vec::new()),
                Err(e) => Err(e),
                Ok(rules) => Ok(rules
                    .iter()
                    .filter(|r| r.is_default() != Some(true))
                    .filter_map(|r| r.rule_arn().map(str::to_owned))
                    .collect::<Vec<_>>()),
            }
        });
        let arns: Vec<String> = futures::future::try_join_all(per_listener)
            .await?
            .into_iter()
            .flatten()
            .collect();
        find_by_address(cx, address, |t| tagged_with(cx, &arns, t)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum};

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::str(*s)).collect())
    }

    #[test]
    fn only_the_listener_forces_replacement() {
        assert!(SCHEMA.field("listener_arn").unwrap().force_new);
        for f in ["priority", "conditions", "action", "tags"] {
            assert!(!SCHEMA.field(f).unwrap().force_new, "{f}");
        }
    }

    #[test]
    fn the_listener_of_a_rule_comes_from_its_arn() {
        assert_eq!(
            listener_of(
                "arn:aws:elasticloadbalancing:us-east-1:123:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
            )
            .as_deref(),
            Some(
                "arn:aws:elasticloadbalancing:us-east-1:123:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
            )
        );
        assert_eq!(
            listener_of("arn:aws:elasticloadbalancing:x:listener/app/a/b/c"),
            None
        );
    }

    #[test]
    fn conditions_become_one_api_condition_per_kind_and_read_back_equal() {
        let desired = Value::Map(BTreeMap::from([
            ("path_patterns".to_owned(), list(&["/v2/*", "/api/*"])),
            ("host_headers".to_owned(), list(&["example.com"])),
        ]));
        let api = conditions_of(&desired).unwrap();
        assert_eq!(api.len(), 2);
        assert_eq!(api[0].field(), Some(PATH_PATTERN));
        assert_eq!(
            conditions_value(&api),
            Type::Object(CONDITIONS).normalize(&desired)
        );
        let only_path = Value::Map(BTreeMap::from([(
            "path_patterns".to_owned(),
            list(&["/x"]),
        )]));
        assert_eq!(conditions_of(&only_path).unwrap().len(), 1);
    }

    #[test]
    fn conditions_made_the_old_way_read_the_same() {
        let old = RuleCondition::builder()
            .field(PATH_PATTERN)
            .values("/api/*")
            .build();
        let new = conditions_of(&Value::Map(BTreeMap::from([(
            "path_patterns".to_owned(),
            list(&["/api/*"]),
        )])))
        .unwrap();
        assert_eq!(conditions_value(&[old]), conditions_value(&new));
    }

    #[test]
    fn a_rule_without_conditions_is_an_error_not_a_call() {
        let err = conditions_of(&Value::Map(BTreeMap::new())).unwrap_err();
        assert!(err.message.contains("at least one condition"), "{err}");
    }

    #[test]
    fn a_described_rule_reads_its_priority_listener_and_action() {
        let r = Rule::builder()
            .rule_arn("arn:aws:elasticloadbalancing:us-east-1:123:listener-rule/app/web/1/2/3")
            .priority("10")
            .conditions(
                RuleCondition::builder()
                    .field(HOST_HEADER)
                    .host_header_config(
                        HostHeaderConditionConfig::builder()
                            .values("example.com")
                            .build(),
                    )
                    .build(),
            )
            .actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn("arn:tg")
                    .build(),
            )
            .build();
        let a = rule_attrs(&r);
        assert_eq!(a["priority"], Value::Int(10));
        assert_eq!(
            a["listener_arn"],
            Value::str("arn:aws:elasticloadbalancing:us-east-1:123:listener/app/web/1/2")
        );
        assert_eq!(
            a["conditions"].as_map().unwrap()["host_headers"],
            list(&["example.com"])
        );
        let default = rule_attrs(
            &Rule::builder()
                .rule_arn("arn:r")
                .priority("default")
                .build(),
        );
        assert_eq!(default["priority"], Value::Null);
    }
}
