//! IAM kinds and the helpers they share: default names, tags, and policy
//! documents (URL-decoded as IAM returns them, and brought into one canonical
//! form so that equal policies written differently compare equal).

/// The AWS service of these kinds.
pub const SERVICE: &str = "iam";

pub mod instance_profile;
pub mod role;

use std::time::Duration;

use aws_sdk_iam::types::Tag;

use super::{ADDRESS_TAG, Ctx, STACK_TAG, user_tags};
use crate::aws::ApiError;
use crate::aws::wait::{Poll, Waiter};
use crate::schema::Type;
use crate::value::{Attrs, Value};

/// How many per-resource calls run at once, to stay clear of IAM's
/// (account-wide, low) request rate.
pub use crate::kinds::READ_CONCURRENCY as CONCURRENCY;

/// IAM names (roles, instance profiles) are at most 64 characters.
pub const NAME_MAX: usize = 64;

/// How long IAM may take to let other IAM calls see a new entity (a role
/// named as principal of a trust policy, a role added to a profile).
pub const PROPAGATION: Duration = Duration::from_secs(120);

/// `<stack>-<resource name>`, cut to `max` characters; the resource name is
/// the part of the address after the first '.'.
pub fn default_name(cx: Ctx<'_>, address: &str, max: usize) -> String {
    crate::kinds::default_name(cx.stack, address)
        .chars()
        .take(max)
        .collect()
}

/// The tags of a create call: user tags plus `reconcile:*`.
pub fn create_tags(cx: Ctx<'_>, address: &str, desired: &Attrs) -> Result<Vec<Tag>, ApiError> {
    cx.tags_for(address, desired)
        .into_iter()
        .map(|(k, v)| tag(k, v))
        .collect()
}

pub fn tag(key: impl Into<String>, value: impl Into<String>) -> Result<Tag, ApiError> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| ApiError::msg(format!("building an IAM tag: {e}")))
}

/// The user-visible tags of an IAM entity.
pub fn tags_value(tags: &[Tag]) -> Value {
    user_tags(tags.iter().map(|t| (t.key(), t.value())))
}

/// True when the tags say the entity is `address` of this stack.
pub fn is_ours(cx: Ctx<'_>, address: &str, tags: &[Tag]) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|t| t.key() == k && t.value() == v);
    has(STACK_TAG, cx.stack) && has(ADDRESS_TAG, address)
}

pub use super::tag_changes;

/// `Ok(None)` when the error says the entity is gone, so that a read can
/// leave it out of its answer.
pub fn found<T>(r: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match r {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Runs `call` until it stops failing with an error `pending` names, for at
/// most `PROPAGATION`: IAM is eventually consistent, and a role created a
/// moment ago can be unknown to the next call.
pub async fn retry_while_propagating<T, F, Fut>(
    what: &str,
    pending: fn(&ApiError) -> bool,
    mut call: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    Waiter::new(PROPAGATION)
        .until(what, || {
            let attempt = call();
            async move {
                match attempt.await {
                    Ok(t) => Ok(Poll::Ready(t)),
                    Err(e) if pending(&e) => Ok(Poll::Pending(e.to_string())),
                    Err(e) => Err(e),
                }
            }
        })
        .await
}

/// A policy document as IAM returns it: URL-encoded (RFC 3986) by most
/// calls, plain JSON by some (and by the emulator). Parsed into a value; text
/// that is not JSON either way is kept as it is.
pub fn policy_value(text: &str) -> Value {
    let parse = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .ok()
            .map(|j| Value::from_json(&j))
    };
    parse(text)
        .or_else(|| parse(&url_decode(text)))
        .unwrap_or_else(|| Value::str(text))
}

/// Decodes `%XX` escapes, and `+` as a space (as Go's `url.QueryUnescape`,
/// which Terraform uses for the same documents). A `%` not followed by two
/// hex digits stays as it is.
pub fn url_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)).map(|(h, l)| (h * 16 + l) as u8),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The one form a policy document is compared in: parsed, `Statement`
/// always a list, and inside each statement every `Action`, `NotAction`,
/// `Resource`, `NotResource`, principal and condition value a sorted list
/// without duplicates; a bare account id as AWS principal becomes the root
/// ARN IAM stores for it. Statement order and every other key are kept.
/// Values not known yet are left alone.
pub fn canonical_policy(v: &Value) -> Value {
    let Value::Map(mut doc) = Type::Json.normalize(v) else {
        return Type::Json.normalize(v);
    };
    if let Some(st) = doc.get_mut("Statement") {
        let statements = match st {
            Value::Map(_) => vec![st.clone()],
            Value::List(l) => l.clone(),
            _ => return Value::Map(doc),
        };
        *st = Value::List(statements.iter().map(canonical_statement).collect());
    }
    Value::Map(doc)
}

fn canonical_statement(s: &Value) -> Value {
    let Value::Map(m) = s else {
        return s.clone();
    };
    let mut out = m.clone();
    for key in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(v) = out.get_mut(key) {
            *v = sorted_list(v);
        }
    }
    for key in ["Principal", "NotPrincipal"] {
        if let Some(Value::Map(p)) = out.get_mut(key) {
            for (kind, v) in p.iter_mut() {
                if kind == "AWS" {
                    *v = account_roots(v);
                }
                *v = sorted_list(v);
            }
        }
    }
    if let Some(Value::Map(conditions)) = out.get_mut("Condition") {
        for keys in conditions.values_mut() {
            if let Value::Map(keys) = keys {
                for v in keys.values_mut() {
                    *v = sorted_list(v);
                }
            }
        }
    }
    Value::Map(out)
}

/// A list sorted and without duplicates; a single value becomes a list of
/// one. Tables and unknown values are left alone.
fn sorted_list(v: &Value) -> Value {
    match v {
        Value::List(items) => {
            let mut items = items.clone();
            items.sort_by_cached_key(|i| i.to_json().to_string());
            items.dedup();
            Value::List(items)
        }
        Value::Map(_) | Value::Unknown | Value::Null => v.clone(),
        scalar => Value::List(vec![scalar.clone()]),
    }
}

/// IAM stores a bare account id given as AWS principal as the account's
/// root ARN (in the `aws` partition).
fn account_roots(v: &Value) -> Value {
    let root = |x: &Value| match x.as_str() {
        Some(s) if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Value::str(format!("arn:aws:iam::{s}:root"))
        }
        _ => x.clone(),
    };
    match v {
        Value::List(items) => Value::List(items.iter().map(root).collect()),
        other => root(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn url_encoded_and_plain_documents_read_the_same() {
        let plain = r#"{"Version":"2012-10-17","Statement":[{"Sid":"a b+c%","Effect":"Allow"}]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Sid%22%3A%22a%20b%2Bc%25%22%2C%22Effect%22%3A%22Allow%22%7D%5D%7D";
        assert_eq!(policy_value(encoded), policy_value(plain));
        let doc = policy_value(encoded);
        let sid = &doc.as_map().unwrap()["Statement"].as_list()[0];
        assert_eq!(sid.as_map().unwrap()["Sid"], Value::str("a b+c%"));
    }

    #[test]
    fn url_decoding_follows_query_unescape() {
        assert_eq!(url_decode("a+b%20c"), "a b c");
        assert_eq!(url_decode("%7b%7D"), "{}");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz%4"), "%zz%4");
        assert_eq!(url_decode("%C3%A9"), "é");
        assert_eq!(policy_value("not json"), Value::str("not json"));
    }

    #[test]
    fn a_policy_written_loosely_equals_the_one_aws_returns() {
        let user = Value::str(
            r#"{ "Statement": { "Action": "s3:GetObject", "Effect": "Allow",
                 "Resource": ["arn:b", "arn:a", "arn:a"],
                 "Principal": { "Service": "ecs-tasks.amazonaws.com", "AWS": "123456789012" },
                 "Condition": { "StringEquals": { "aws:SourceAccount": "123456789012" } } },
                 "Version": "2012-10-17" }"#,
        );
        let aws = policy_value(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:a","arn:b"],"Principal":{"AWS":["arn:aws:iam::123456789012:root"],"Service":["ecs-tasks.amazonaws.com"]},"Condition":{"StringEquals":{"aws:SourceAccount":["123456789012"]}}}]}"#,
        );
        assert_eq!(canonical_policy(&user), canonical_policy(&aws));
        let once = canonical_policy(&user);
        assert_eq!(canonical_policy(&once), once, "idempotent");
    }

    #[test]
    fn statement_order_and_effect_still_matter() {
        let doc = |effect: &str| {
            Value::str(format!(
                r#"{{"Statement":[{{"Effect":"{effect}","Action":"a"}},{{"Effect":"Allow","Action":"b"}}]}}"#
            ))
        };
        assert_ne!(
            canonical_policy(&doc("Allow")),
            canonical_policy(&doc("Deny"))
        );
        let star = Value::str(r#"{"Statement":[{"Principal":"*","Action":"*"}]}"#);
        let doc = canonical_policy(&star);
        let st = &doc.as_map().unwrap()["Statement"].as_list()[0];
        assert_eq!(st.as_map().unwrap()["Principal"], Value::str("*"));
        assert_eq!(
            st.as_map().unwrap()["Action"],
            Value::List(vec![Value::str("*")])
        );
    }

    #[test]
    fn unknown_parts_of_a_policy_are_left_alone() {
        let mut statement = BTreeMap::new();
        statement.insert("Resource".to_owned(), Value::Unknown);
        statement.insert("Action".to_owned(), Value::str("s3:*"));
        let doc = Value::Map(BTreeMap::from([(
            "Statement".to_owned(),
            Value::List(vec![Value::Map(statement)]),
        )]));
        let out = canonical_policy(&doc);
        assert!(out.has_unknown());
        assert_eq!(canonical_policy(&Value::Unknown), Value::Unknown);
    }

    #[test]
    fn default_names_join_stack_and_resource_and_fit_iam() {
        let aws = crate::aws::Clients::from_config(
            &aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
        );
        let cx = Ctx {
            aws: &aws,
            stack: "shop",
        };
        assert_eq!(
            default_name(cx, "module.web.iam_role.task_exec", NAME_MAX),
            "shop-web-task_exec"
        );
        let long = format!("iam_role.{}", "x".repeat(100));
        assert_eq!(default_name(cx, &long, NAME_MAX).len(), NAME_MAX);
    }

    #[test]
    fn tag_changes_set_new_values_and_remove_dropped_keys() {
        let tags = |pairs: &[(&str, &str)]| {
            Attrs::from([(
                "tags".to_owned(),
                Value::from(
                    pairs
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect::<BTreeMap<_, _>>(),
                ),
            )])
        };
        let (set, unset) = tag_changes(
            &tags(&[("a", "1"), ("b", "2")]),
            &tags(&[("a", "1"), ("c", "3")]),
        );
        assert_eq!(set, BTreeMap::from([("c".to_owned(), "3".to_owned())]));
        assert_eq!(unset, vec!["b".to_owned()]);
    }
}
