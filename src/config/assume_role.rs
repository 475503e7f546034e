//! `assume_role = { role_arn, external_id, session_name }`, in `[stack]`
//! (the role every AWS call of the stack runs as) and in `[backend]` (the
//! role that reads and writes the state, which may live in another
//! account). Kept apart from the loader so that it parses one table and
//! nothing else.

use std::sync::LazyLock;

use regex::Regex;
use toml::Spanned;
use toml::de::DeValue;

use super::{Lines, Problem};
use crate::schema::did_you_mean;

pub use crate::aws::AssumeRole;

const FIELDS: [&str; 3] = ["role_arn", "external_id", "session_name"];

// The shapes STS accepts (AssumeRole's parameter constraints; lengths are
// checked apart, as counted repetitions would make large automata).
static ROLE_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$").expect("a valid regex")
});
static EXTERNAL_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_+=,.@:/-]+$").expect("a valid regex"));
static SESSION_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_+=,.@-]+$").expect("a valid regex"));

/// Whether `value` has the shape STS accepts for `key`; else what it
/// expects.
fn check(key: &str, value: &str) -> Result<(), &'static str> {
    let (shape, lengths, expected) = match key {
        "role_arn" => (
            &*ROLE_ARN,
            20..=2048,
            "an IAM role ARN such as arn:aws:iam::123456789012:role/reconcile",
        ),
        "external_id" => (
            &*EXTERNAL_ID,
            2..=1224,
            "2 to 1224 letters, digits or _+=,.@:/-",
        ),
        _ => (&*SESSION_NAME, 2..=64, "2 to 64 letters, digits or _+=,.@-"),
    };
    if shape.is_match(value) && lengths.contains(&value.len()) {
        Ok(())
    } else {
        Err(expected)
    }
}

/// The `assume_role` value of `table` (`[stack]` or `[backend]`), every
/// problem located at the value or key at fault.
pub(super) fn parse(
    lines: &Lines,
    value: &Spanned<DeValue>,
    table: &str,
) -> Result<AssumeRole, Vec<Problem>> {
    let at = |offset: usize, message: String| Problem { loc: Some(lines.loc(offset)), message };
    let DeValue::Table(t) = value.get_ref() else {
        return Err(vec![at(
            value.span().start,
            format!(
                "[{table}] `assume_role`: expected a table such as {{ role_arn = \"arn:aws:iam::123456789012:role/reconcile\" }}, found {}",
                value.get_ref().type_str()
            ),
        )]);
    };
    let mut problems = Vec::new();
    let mut role = AssumeRole { role_arn: String::new(), external_id: None, session_name: None };
    let mut role_arn = None;
    for (k, v) in t {
        let key = k.get_ref().as_ref();
        if !FIELDS.contains(&key) {
            let hint = did_you_mean(key, FIELDS);
            problems.push(at(
                k.span().start,
                format!("unknown field `{key}` in [{table}] assume_role{hint}"),
            ));
            continue;
        }
        let DeValue::String(s) = v.get_ref() else {
            problems.push(at(
                v.span().start,
                format!(
                    "[{table}] assume_role `{key}`: expected a string, found {}",
                    v.get_ref().type_str()
                ),
            ));
            continue;
        };
        if let Err(expected) = check(key, s) {
            // The external id is a shared secret of sorts: not echoed.
            let found = if key == "external_id" {
                String::new()
            } else {
                format!(", found {s:?}")
            };
            problems.push(at(
                v.span().start,
                format!("[{table}] assume_role `{key}`: expected {expected}{found}"),
            ));
            continue;
        }
        match key {
            "role_arn" => role_arn = Some(s.to_string()),
            "external_id" => role.external_id = Some(s.to_string()),
            _ => role.session_name = Some(s.to_string()),
        }
    }
    match role_arn {
        Some(arn) if problems.is_empty() => {
            role.role_arn = arn;
            Ok(role)
        }
        None if problems.is_empty() => Err(vec![at(
            value.span().start,
            format!("[{table}] assume_role is missing required field `role_arn`"),
        )]),
        _ => {
            // The table iterates in key order: report in reading order.
            problems.sort_by_key(|p| p.loc.as_ref().map(|l| (l.line, l.col)));
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use toml::de::DeTable;

    use super::*;

    fn parse_in(text: &str) -> Result<AssumeRole, Vec<String>> {
        let lines = Lines { file: Path::new("s.toml"), text };
        let doc = DeTable::parse(text).expect("TOML").into_inner();
        let (_, stack) = doc.iter().next().expect("a table");
        let DeValue::Table(t) = stack.get_ref() else {
            panic!("not a table")
        };
        let (_, value) = t
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == "assume_role")
            .expect("assume_role");
        parse(&lines, value, "stack").map_err(|ps| ps.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_role_with_every_field_is_read() {
        let role = parse_in(
            "[stack]\nassume_role = { role_arn = \"arn:aws:iam::111111111111:role/reconcile\", external_id = \"fleet-1\", session_name = \"reconcile-web\" }\n",
        )
        .expect("valid");
        assert_eq!(role.role_arn, "arn:aws:iam::111111111111:role/reconcile");
        assert_eq!(role.account(), Some("111111111111"));
        assert_eq!(role.external_id.as_deref(), Some("fleet-1"));
        assert_eq!(role.session_name.as_deref(), Some("reconcile-web"));
    }

    #[test]
    fn a_sub_table_is_the_same_as_an_inline_table() {
        let role = parse_in(
            "[stack]\nname = \"a\"\n\n[stack.assume_role]\nrole_arn = \"arn:aws-us-gov:iam::222222222222:role/path/to/r\"\n",
        )
        .expect("valid");
        assert_eq!(role.account(), Some("222222222222"));
        assert_eq!(role.session_name, None);
    }

    #[test]
    fn each_problem_is_located_at_its_value_and_the_external_id_is_not_echoed() {
        let errors = parse_in(
            "[stack]\nassume_role = { role_arn = \"arn:aws:iam::1:role/x\", external_id = \"s3cret!\", sesion_name = \"ab\" }\n",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with(
                "s.toml:2:28: [stack] assume_role `role_arn`: expected an IAM role ARN"
            ),
            "{errors:?}"
        );
        assert!(errors[1].starts_with("s.toml:2:67: [stack] assume_role `external_id`"));
        assert!(!errors[1].contains("s3cret"), "{errors:?}");
        assert!(
            errors[2].contains(
                "unknown field `sesion_name` in [stack] assume_role (did you mean `session_name`?)"
            ),
            "{errors:?}"
        );
    }

    #[test]
    fn the_loader_gives_the_stack_and_the_backend_each_its_role() {
        let text = "[stack]\nname = \"web\"\nregion = \"eu-west-1\"\nassume_role = { role_arn = \"arn:aws:iam::111111111111:role/fleet\" }\n\n[backend]\ntype = \"s3\"\nbucket = \"b\"\nkey = \"web.json\"\nregion = \"us-east-1\"\nassume_role = { role_arn = \"arn:aws:iam::999999999999:role/state\", session_name = \"st\" }\n";
        let none = std::collections::BTreeMap::new();
        let c = crate::config::load_bytes(Path::new("m.toml"), text.as_bytes(), &none, &none)
            .expect("valid");
        assert_eq!(
            c.assume_role
                .and_then(|r| r.account().map(str::to_owned))
                .as_deref(),
            Some("111111111111")
        );
        let b = c.backend.expect("a backend");
        assert_eq!(
            b.assume_role.and_then(|r| r.session_name).as_deref(),
            Some("st")
        );
        let bad = text.replace("session_name", "session");
        let e = crate::config::load_bytes(Path::new("m.toml"), bad.as_bytes(), &none, &none)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m.toml:11:68: unknown field `session` in [backend] assume_role"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_role_arn_or_a_string_is_refused() {
        let errors = parse_in("[stack]\nassume_role = { session_name = \"ab\" }\n").unwrap_err();
        assert_eq!(
            errors,
            ["s.toml:2:15: [stack] assume_role is missing required field `role_arn`"]
        );
        let errors =
            parse_in("[stack]\nassume_role = \"arn:aws:iam::111111111111:role/r\"\n").unwrap_err();
        assert!(errors[0].starts_with("s.toml:2:15: [stack] `assume_role`: expected a table"));
    }
}
