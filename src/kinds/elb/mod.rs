//! Elastic Load Balancing (v2) kinds and the helpers they share: tags,
//! names, actions, and batched reads that survive an unknown ARN.

/// The AWS service of these kinds.
pub const SERVICE: &str = "elasticloadbalancing";

pub mod listener;
pub mod listener_rule;
pub mod load_balancer;
pub mod target_group;

use crate::kinds::support::TagApi;
use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, RedirectActionConfig,
    RedirectActionStatusCodeEnum, Tag,
};

use super::Ctx;
use super::support::{AddressTags, Batch, pages, sync_tags_with, user_tags};
use crate::aws::ApiError;
use crate::kinds::ApiResult;
use crate::schema::{Default, Field, Rule, Type};
use crate::value::{Attrs, Value};

crate::sdk_tag!(Tag);

/// DescribeLoadBalancers and DescribeTags take at most 20 ARNs per call;
/// the other describes are batched the same way.
pub const ARN_CHUNK: usize = 20;

/// How the ELB describes read many ARNs. DescribeLoadBalancers,
/// DescribeTargetGroups, DescribeListeners, DescribeRules and DescribeTags
/// fail the whole call with a *NotFound error when any one ARN is unknown:
/// such a chunk is described again one ARN at a time.
pub const BATCH: Batch = Batch::of(ARN_CHUNK).unknown_fails_chunk();

/// Only the described items that were asked for (the emulator may answer
/// more).
pub fn only_requested<T>(
    items: Vec<T>,
    arns: &[String],
    arn: impl Fn(&T) -> Option<&str>,
) -> Vec<T> {
    items
        .into_iter()
        .filter(|i| arn(i).is_some_and(|a| arns.iter().any(|x| x == a)))
        .collect()
}

/// Described items keyed by ARN, each read by `attrs` and given its tags
/// (one DescribeTags per 20 ARNs).
pub async fn with_tags<T>(
    cx: Ctx<'_>,
    items: &[T],
    arn: impl Fn(&T) -> Option<&str>,
    attrs: impl Fn(&T) -> Attrs,
) -> ApiResult<BTreeMap<String, Attrs>> {
    let found: Vec<String> = items
        .iter()
        .filter_map(|i| arn(i).map(str::to_owned))
        .collect();
    let tags = tags_of(cx, &found).await?;
    Ok(items
        .iter()
        .filter_map(|i| {
            let arn = arn(i)?;
            let mut a = attrs(i);
            a.insert("tags".into(), tags_value(tags.get(arn)));
            Some((arn.to_owned(), a))
        })
        .collect())
}

/// The tags of many resources, in batches of 20 ARNs per DescribeTags.
/// Reads of load balancers and target groups use the tagging API instead
/// (`support::tagging::tags_of`, 100 ARNs per call); listeners and rules
/// stay here (the emulator's tagging API does not answer for them), and so
/// does `tagged_with`, which finds a resource right after its create (the
/// tagging API's index may lag behind the tags ELB reports).
pub async fn tags_of(
    cx: Ctx<'_>,
    arns: &[String],
) -> ApiResult<BTreeMap<String, BTreeMap<String, String>>> {
    let described: Vec<_> = BATCH
        .read(arns, |chunk| async move {
            let out = cx
                .aws
                .elb
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await?;
            Ok(out.tag_descriptions().to_vec())
        })
        .await?;
    Ok(described
        .iter()
        .filter_map(|d| {
            let tags = d
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect();
            Some((d.resource_arn()?.to_owned(), tags))
        })
        .collect())
}

/// The user-visible tags of a described resource.
pub fn tags_value(tags: Option<&BTreeMap<String, String>>) -> Value {
    user_tags(
        tags.into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// Elastic Load Balancing's tag API, on the ARN: at most one AddTags and
/// one RemoveTags call.
pub struct ElbTags;

#[async_trait::async_trait]
impl TagApi for ElbTags {
    async fn sync(&self, cx: Ctx<'_>, arn: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let elb = &cx.aws.elb;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| elb.add_tags().resource_arns(arn).set_tags(Some(set)),
            |unset| elb
                .remove_tags()
                .resource_arns(arn)
                .set_tag_keys(Some(unset)),
        )
    }
}

/// The ARNs, among `arns`, whose tags are `t`, in the order given.
pub async fn tagged_with(
    cx: Ctx<'_>,
    arns: &[String],
    t: AddressTags<'_>,
) -> ApiResult<Vec<String>> {
    let tags = tags_of(cx, arns).await?;
    Ok(arns
        .iter()
        .filter(|arn| {
            tags.get(*arn)
                .is_some_and(|m| t.matches(m.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
        })
        .cloned()
        .collect())
}

/// The ARN of every load balancer of the account and region.
pub async fn all_load_balancer_arns(cx: Ctx<'_>) -> ApiResult<Vec<String>> {
    let lbs = pages!(cx.aws.elb.describe_load_balancers())?;
    Ok(lbs
        .iter()
        .filter_map(|lb| lb.load_balancer_arn().map(str::to_owned))
        .collect())
}

/// The ARN of every listener of every load balancer.
pub async fn all_listener_arns(cx: Ctx<'_>) -> ApiResult<Vec<String>> {
    let lbs = all_load_balancer_arns(cx).await?;
    let per_lb = lbs.iter().map(|lb| async move {
        match pages!(cx.aws.elb.describe_listeners().load_balancer_arn(lb)) {
            // Deleted since it was listed.
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e),
            Ok(listeners) => Ok(listeners
                .iter()
                .filter_map(|l| l.listener_arn().map(str::to_owned))
                .collect()),
        }
    });
    Ok(futures::future::try_join_all(per_lb)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// `s` reduced to what ELB names allow: letters, digits and single hyphens,
/// neither first nor last, at most `max` characters.
pub fn name_part(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

pub use crate::kinds::resource_name;

/// A protocol as AWS spells it ("http" → "HTTP"), left alone when it is not
/// a string yet (unknown until apply).
pub fn upper_case(attrs: &mut Attrs, field: &str) {
    if let Some(Value::Str(s)) = attrs.get_mut(field) {
        *s = s.to_ascii_uppercase();
    }
}

/// An integer attribute as the i32 the API takes.
pub fn i32_attr(a: &Attrs, name: &str) -> ApiResult<Option<i32>> {
    match a.get(name).and_then(Value::as_int) {
        None => Ok(None),
        Some(n) => i32::try_from(n)
            .map(Some)
            .map_err(|_| ApiError::msg(format!("{name} {n} is out of range"))),
    }
}

/// A redirect: each part defaults to the part of the request.
const REDIRECT: &[Field] = &[
    Field::new("protocol", Type::String)
        .default(Default::Str("#{protocol}"))
        .one_of(&["HTTP", "HTTPS", "#{protocol}"])
        .doc("\"HTTP\", \"HTTPS\" or \"#{protocol}\" (the request's)."),
    Field::new("port", Type::String)
        .default(Default::Str("#{port}"))
        .doc("The port, or \"#{port}\" (the request's)."),
    Field::new("host", Type::String)
        .default(Default::Str("#{host}"))
        .doc("The host name, or \"#{host}\" (the request's)."),
    Field::new("path", Type::String)
        .default(Default::Str("/#{path}"))
        .doc("The absolute path, starting with \"/\"."),
    Field::new("query", Type::String)
        .default(Default::Str("#{query}"))
        .doc("The query string, without the leading \"?\"."),
    Field::new("status_code", Type::String)
        .required()
        .doc("\"HTTP_301\" (permanent) or \"HTTP_302\" (temporary)."),
];

const FIXED_RESPONSE: &[Field] = &[
    Field::new("status_code", Type::String)
        .required()
        .doc("The HTTP status code: 2XX, 4XX or 5XX."),
    Field::new("content_type", Type::String)
        .doc("\"text/plain\", \"text/css\", \"text/html\", \"application/javascript\" or \"application/json\"."),
    Field::new("message_body", Type::String).doc("The body of the response."),
];

/// The protocols of listeners and target groups.
pub const ELB_PROTOCOLS: &[&str] = &["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"];

const ACTION_FIELDS: &[Field] = &[
    Field::new("type", Type::String)
        .required()
        .one_of(&["forward", "redirect", "fixed-response"])
        .doc("\"forward\", \"redirect\" or \"fixed-response\"."),
    Field::new("target_group_arn", Type::Arn)
        .doc("The target group a \"forward\" action sends requests to."),
    Field::new("redirect", Type::Object(REDIRECT))
        .doc("Where a \"redirect\" action sends clients."),
    Field::new("fixed_response", Type::Object(FIXED_RESPONSE))
        .doc("What a \"fixed-response\" action answers."),
];

/// What a listener or a listener rule does with a request.
pub const ACTION: Type = Type::Object(ACTION_FIELDS);

/// What each action type needs besides its type.
pub const ACTION_RULES: &[Rule] = &[
    Rule::Needs { field: "type", is: "forward", needs: &["target_group_arn"] },
    Rule::Needs { field: "type", is: "redirect", needs: &["redirect"] },
    Rule::Needs { field: "type", is: "fixed-response", needs: &["fixed_response"] },
];

/// The one action reconcile manages, from the actions AWS reports: the
/// terminal one (authentication actions, if any, come first).
pub fn action_value(actions: &[Action]) -> Value {
    let Some(a) = actions.iter().max_by_key(|a| a.order().unwrap_or(0)) else {
        return Value::Null;
    };
    let mut m = BTreeMap::new();
    m.insert(
        "type".to_owned(),
        Value::from(a.r#type().map(ActionTypeEnum::as_str)),
    );
    let target = a.target_group_arn().or_else(|| {
        a.forward_config()
            .map(aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::target_groups)
            .filter(|groups| groups.len() == 1)
            .and_then(|groups| groups[0].target_group_arn())
    });
    if let Some(arn) = target {
        m.insert("target_group_arn".to_owned(), Value::str(arn));
    }
    if let Some(r) = a.redirect_config() {
        let parts = [
            ("protocol", r.protocol()),
            ("port", r.port()),
            ("host", r.host()),
            ("path", r.path()),
            ("query", r.query()),
            (
                "status_code",
                r.status_code().map(RedirectActionStatusCodeEnum::as_str),
            ),
        ];
        m.insert("redirect".to_owned(), object(&parts));
    }
    if let Some(f) = a.fixed_response_config() {
        let parts = [
            ("status_code", f.status_code()),
            ("content_type", f.content_type()),
            ("message_body", f.message_body()),
        ];
        m.insert("fixed_response".to_owned(), object(&parts));
    }
    Value::Map(m)
}

/// A table of the parts that are set.
fn object(parts: &[(&str, Option<&str>)]) -> Value {
    Value::Map(
        parts
            .iter()
            .filter_map(|(k, v)| Some(((*k).to_owned(), Value::str((*v)?))))
            .collect(),
    )
}

/// The API action of a desired action (defaults filled in).
pub fn action_of(v: &Value) -> ApiResult<Action> {
    let normalized = ACTION.normalize(v);
    let m = normalized
        .as_map()
        .ok_or_else(|| ApiError::msg(format!("an action must be a table, found {v}")))?;
    let text =
        |m: &BTreeMap<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let kind = text(m, "type").ok_or_else(|| ApiError::msg("an action needs a `type`"))?;
    let mut a = Action::builder().r#type(ActionTypeEnum::from(kind.as_str()));
    match kind.as_str() {
        "forward" => {
            let arn = text(m, "target_group_arn")
                .ok_or_else(|| ApiError::msg("a \"forward\" action needs a `target_group_arn`"))?;
            a = a.target_group_arn(arn);
        }
        "redirect" => {
            let r = m
                .get("redirect")
                .and_then(Value::as_map)
                .ok_or_else(|| ApiError::msg("a \"redirect\" action needs a `redirect` table"))?;
            a = a.redirect_config(
                RedirectActionConfig::builder()
                    .set_protocol(text(r, "protocol"))
                    .set_port(text(r, "port"))
                    .set_host(text(r, "host"))
                    .set_path(text(r, "path"))
                    .set_query(text(r, "query"))
                    .set_status_code(
                        text(r, "status_code")
                            .map(|s| RedirectActionStatusCodeEnum::from(s.as_str())),
                    )
                    .build(),
            );
        }
        "fixed-response" => {
            let f = m
                .get("fixed_response")
                .and_then(Value::as_map)
                .ok_or_else(|| {
                    ApiError::msg("a \"fixed-response\" action needs a `fixed_response` table")
                })?;
            a = a.fixed_response_config(
                FixedResponseActionConfig::builder()
                    .set_status_code(text(f, "status_code"))
                    .set_content_type(text(f, "content_type"))
                    .set_message_body(text(f, "message_body"))
                    .build(),
            );
        }
        other => {
            return Err(ApiError::msg(format!(
                "action type {other:?} is not supported: use \"forward\", \"redirect\" or \"fixed-response\""
            )));
        }
    }
    Ok(a.build())
}

// Generic helpers every kind uses, re-exported for the ELB kinds.
pub use crate::aws::error::gone_is_ok;
pub use crate::aws::wait::retry_while_in_use;
pub use crate::kinds::{bool_attr, str_attr};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ErrorClass;
    use aws_sdk_elasticloadbalancingv2::types::{ForwardActionConfig, TargetGroupTuple};
    use std::sync::Mutex;

    fn table(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn names_keep_letters_digits_and_single_inner_hyphens() {
        assert_eq!(name_part("hello-web_front", 32), "hello-web-front");
        assert_eq!(name_part("--a__b--", 32), "a-b");
        assert_eq!(name_part("abcdef-ghij", 7), "abcdef");
        assert_eq!(name_part("x".repeat(40).as_str(), 32).len(), 32);
        assert_eq!(name_part("___", 32), "");
        assert_eq!(resource_name("load_balancer.web"), "web");
    }

    #[test]
    fn a_forward_action_reads_back_as_written() {
        let desired = table(&[
            ("type", Value::str("forward")),
            ("target_group_arn", Value::str("arn:tg")),
        ]);
        let action = action_of(&desired).unwrap();
        assert_eq!(action.target_group_arn(), Some("arn:tg"));
        assert_eq!(
            ACTION.normalize(&action_value(&[action])),
            ACTION.normalize(&desired)
        );
    }

    #[test]
    fn a_forward_config_with_one_group_reads_as_its_target_group() {
        // What AWS answers for a forward action given by target_group_arn.
        let reported = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .target_groups(
                        TargetGroupTuple::builder()
                            .target_group_arn("arn:tg")
                            .weight(1)
                            .build(),
                    )
                    .build(),
            )
            .order(1)
            .build();
        assert_eq!(
            action_value(&[reported]),
            table(&[
                ("type", Value::str("forward")),
                ("target_group_arn", Value::str("arn:tg")),
            ])
        );
    }

    #[test]
    fn a_redirect_gets_every_default_and_reads_back_equal() {
        let desired = table(&[
            ("type", Value::str("redirect")),
            (
                "redirect",
                table(&[
                    ("protocol", Value::str("HTTPS")),
                    ("port", Value::str("443")),
                    ("status_code", Value::str("HTTP_301")),
                ]),
            ),
        ]);
        let action = action_of(&desired).unwrap();
        let r = action.redirect_config().unwrap();
        assert_eq!(r.host(), Some("#{host}"));
        assert_eq!(r.path(), Some("/#{path}"));
        assert_eq!(r.query(), Some("#{query}"));
        assert_eq!(
            r.status_code(),
            Some(&RedirectActionStatusCodeEnum::Http301)
        );
        assert_eq!(
            ACTION.normalize(&action_value(&[action])),
            ACTION.normalize(&desired)
        );
    }

    #[test]
    fn a_fixed_response_reads_back_equal() {
        let desired = table(&[
            ("type", Value::str("fixed-response")),
            (
                "fixed_response",
                table(&[
                    ("status_code", Value::str("404")),
                    ("content_type", Value::str("text/plain")),
                    ("message_body", Value::str("nothing here")),
                ]),
            ),
        ]);
        let action = action_of(&desired).unwrap();
        assert_eq!(
            ACTION.normalize(&action_value(&[action])),
            ACTION.normalize(&desired)
        );
    }

    #[test]
    fn an_action_missing_its_configuration_is_an_error_not_a_call() {
        for bad in [
            table(&[("type", Value::str("forward"))]),
            table(&[("type", Value::str("redirect"))]),
            table(&[("type", Value::str("fixed-response"))]),
            table(&[("type", Value::str("authenticate-oidc"))]),
            Value::str("forward"),
        ] {
            assert!(action_of(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_terminal_action_is_the_one_read() {
        let auth = Action::builder()
            .r#type(ActionTypeEnum::AuthenticateOidc)
            .order(1)
            .build();
        let forward = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn("arn:tg")
            .order(2)
            .build();
        let v = action_value(&[auth, forward]);
        assert_eq!(v.as_map().unwrap()["type"], Value::str("forward"));
        assert_eq!(action_value(&[]), Value::Null);
    }

    fn not_found() -> ApiError {
        ApiError {
            code: Some("LoadBalancerNotFound".into()),
            message: "m".into(),
            class: ErrorClass::NotFound,
        }
    }

    #[tokio::test]
    async fn a_chunk_with_an_unknown_arn_is_read_one_by_one() {
        let calls = Mutex::new(Vec::new());
        let arns: Vec<String> = ["a", "gone", "b"].map(String::from).to_vec();
        let got: Vec<String> = BATCH
            .read(&arns, |chunk| {
                calls.lock().unwrap().push(chunk.to_vec());
                async move {
                    if chunk.iter().any(|a| a == "gone") {
                        Err(not_found())
                    } else {
                        Ok(chunk.to_vec())
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(got, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(calls.lock().unwrap().len(), 4, "one batch, then one each");
    }

    #[tokio::test]
    async fn chunks_hold_twenty_arns_and_other_errors_stop_the_read() {
        let arns: Vec<String> = (0..45).map(|i| i.to_string()).collect();
        let sizes = Mutex::new(Vec::new());
        let got: Vec<String> = BATCH
            .read(&arns, |chunk| {
                sizes.lock().unwrap().push(chunk.len());
                async move { Ok(chunk.to_vec()) }
            })
            .await
            .unwrap();
        assert_eq!(got.len(), 45);
        assert_eq!(*sizes.lock().unwrap(), vec![20, 20, 5]);
        let err = BATCH
            .read::<Vec<String>, _, _, _>(&arns, |_chunk| async {
                Err::<Vec<String>, _>(ApiError::msg("AccessDenied"))
            })
            .await
            .unwrap_err();
        assert_eq!(err.message, "AccessDenied");
        let none: Vec<String> = BATCH
            .read(&[], |_chunk| async {
                Err::<Vec<String>, _>(ApiError::msg("no call for no ARNs"))
            })
            .await
            .unwrap();
        assert!(none.is_empty());
    }
}
