//! Policy documents (IAM's and every resource policy: ECR, S3, KMS): read
//! as AWS returns them and brought into one canonical form, so that equal
//! policies written differently compare equal.

use crate::schema::Type;
use crate::value::Value;

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
}
