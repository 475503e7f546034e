//! Resource kinds described as data. One generic engine uses these schemas to
//! validate input, fill defaults, normalize values for comparison, decide
//! replacement and mask sensitive values.

use std::collections::BTreeMap;

use crate::value::{Attrs, Value};

#[derive(Debug, Clone, Copy)]
pub enum Type {
    Bool,
    Int,
    String,
    /// An IPv4 or IPv6 network in CIDR notation, checked when literal.
    Cidr,
    /// An integer within bounds (a port: `PORT`), checked when literal.
    Range(i64, i64),
    /// An Amazon Resource Name (`arn:partition:service:region:account:resource`),
    /// checked when literal.
    Arn,
    List(&'static Type),
    /// A list whose order carries no meaning: compared as a sorted set.
    Set(&'static Type),
    /// A table with string keys and values of one type (tags).
    Map(&'static Type),
    /// A table with named fields (a rule, a route).
    Object(&'static [Field]),
    /// A JSON document (an IAM policy, a lifecycle policy): written as a TOML
    /// table or as a JSON string, compared by content, not by text — key
    /// order and whitespace make no difference.
    Json,
}

#[derive(Debug, Clone, Copy)]
pub enum Default {
    Bool(bool),
    Int(i64),
    Str(&'static str),
    EmptyList,
    EmptyMap,
}

impl Default {
    pub fn value(self) -> Value {
        match self {
            Default::Bool(b) => Value::Bool(b),
            Default::Int(i) => Value::Int(i),
            Default::Str(s) => Value::str(s),
            Default::EmptyList => Value::List(Vec::new()),
            Default::EmptyMap => Value::Map(BTreeMap::new()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
    pub default: Option<Default>,
    /// A change cannot be made in place: the resource is replaced.
    pub force_new: bool,
    pub sensitive: bool,
    /// Sent to AWS but never readable back (a master password). The planner
    /// compares a keyed fingerprint recorded in the state at apply instead
    /// of the live value (see `state::fingerprint`).
    pub write_only: bool,
    /// Set by AWS, read-only: exported for references (`id`, `arn`).
    pub computed: bool,
    /// Tells reconcile how to apply (`wait_for_steady_state`); AWS knows
    /// nothing of it: never sent, never read, never a difference, and its
    /// planned value is the one written.
    pub client_only: bool,
    pub description: &'static str,
    /// The only values AWS accepts (an action type, a protocol); empty
    /// means any. Checked by `validate` where the value is literal.
    pub allowed: &'static [&'static str],
    /// The fewest items a list AWS accepts holds (0: any).
    pub min_items: usize,
}

impl Field {
    pub const fn new(name: &'static str, ty: Type) -> Field {
        Field {
            name,
            ty,
            required: false,
            default: None,
            force_new: false,
            sensitive: false,
            write_only: false,
            computed: false,
            client_only: false,
            description: "",
            allowed: &[],
            min_items: 0,
        }
    }
    /// Only these values: AWS refuses any other.
    pub const fn one_of(mut self, allowed: &'static [&'static str]) -> Field {
        self.allowed = allowed;
        self
    }
    /// At least `n` items: AWS refuses fewer.
    pub const fn min_items(mut self, n: usize) -> Field {
        self.min_items = n;
        self
    }

    /// Checks a value of this field: its type, then what AWS documents of
    /// its values (allowed values, fewest items). Templates and values not
    /// known yet pass (checked again once evaluated).
    pub fn check(&self, v: &Value) -> Result<(), String> {
        self.ty.check(v)?;
        let allowed = |s: &str| {
            if self.allowed.is_empty() || s.contains("${") || self.allowed.contains(&s) {
                return Ok(());
            }
            let list: Vec<String> = self.allowed.iter().map(|a| format!("{a:?}")).collect();
            Err(format!(
                "{s:?} is not allowed: expected one of {}{}",
                list.join(", "),
                did_you_mean(s, self.allowed.iter().copied())
            ))
        };
        match v {
            Value::Str(s) => allowed(s),
            Value::List(items) if items.len() < self.min_items => Err(format!(
                "needs at least {} item{}, found {}",
                self.min_items,
                if self.min_items == 1 { "" } else { "s" },
                items.len()
            )),
            // A list of allowed values (launch types).
            Value::List(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| match item {
                    Value::Str(s) => allowed(s).map_err(|e| format!("[{i}]: {e}")),
                    _ => Ok(()),
                }),
            _ => Ok(()),
        }
    }
    pub const fn required(mut self) -> Field {
        self.required = true;
        self
    }
    pub const fn default(mut self, d: Default) -> Field {
        self.default = Some(d);
        self
    }
    pub const fn force_new(mut self) -> Field {
        self.force_new = true;
        self
    }
    pub const fn sensitive(mut self) -> Field {
        self.sensitive = true;
        self
    }
    pub const fn write_only(mut self) -> Field {
        self.write_only = true;
        self
    }
    pub const fn computed(mut self) -> Field {
        self.computed = true;
        self
    }
    /// See the field.
    pub const fn client_only(mut self) -> Field {
        self.client_only = true;
        self
    }
    pub const fn doc(mut self, description: &'static str) -> Field {
        self.description = description;
        self
    }
}

/// `tags`: the user's tags, beside the `reconcile:*` tags every resource gets.
pub const TAGS: Field = Field::new("tags", Type::Map(&Type::String))
    .default(Default::EmptyMap)
    .doc("Tags to apply, besides reconcile:stack and reconcile:address.");

/// A TCP or UDP port.
pub const PORT: Type = Type::Range(0, 65535);

/// `id`: every kind exports the id AWS gave the resource.
pub const ID: Field = Field::new("id", Type::String).computed().doc("The AWS id.");

#[derive(Debug)]
pub struct Schema {
    pub kind: &'static str,
    pub description: &'static str,
    pub fields: &'static [Field],
}

impl Schema {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Fields a user may set.
    pub fn inputs(&self) -> impl Iterator<Item = &'static Field> {
        self.fields.iter().filter(|f| !f.computed)
    }

    pub fn field_names(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().map(|f| f.name)
    }

    /// Desired attributes with every default filled in.
    pub fn with_defaults(&self, attrs: &Attrs) -> Attrs {
        let mut out = attrs.clone();
        for f in self.inputs() {
            if let (None, Some(d)) = (out.get(f.name), f.default) {
                out.insert(f.name.to_owned(), d.value());
            }
        }
        out
    }
}

impl Type {
    /// A short description used in error messages and docs.
    pub fn describe(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Int => "integer".into(),
            Type::String => "string".into(),
            Type::Cidr => "CIDR string".into(),
            Type::Range(lo, hi) => format!("integer from {lo} to {hi}"),
            Type::Arn => "ARN string".into(),
            Type::List(t) | Type::Set(t) => format!("list of {}", t.describe()),
            Type::Map(t) => format!("table of {}", t.describe()),
            Type::Object(_) => "table".into(),
            Type::Json => "JSON document (a table or a JSON string)".into(),
        }
    }

    /// Checks a value against this type. Strings holding `${...}` are
    /// accepted anywhere: they are checked again once resolved. Unknown
    /// values are accepted too. Returns a message naming the path inside the
    /// value that is wrong.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        if matches!(v, Value::Unknown) {
            return Ok(());
        }
        if let Value::Str(s) = v
            && s.contains("${")
        {
            return Ok(());
        }
        let mismatch = || {
            Err(format!(
                "expected {}, found {}",
                self.describe(),
                v.type_name()
            ))
        };
        match (self, v) {
            (Type::Bool, Value::Bool(_)) => Ok(()),
            (Type::Int, Value::Int(_)) => Ok(()),
            (Type::Int, Value::Float(f)) if f.fract() == 0.0 => Ok(()),
            (Type::String, Value::Str(_)) => Ok(()),
            // Numbers and bools are written as text where text is wanted, as
            // Terraform converts them (`PORT = "${var.port}"`).
            (Type::String, Value::Int(_) | Value::Float(_) | Value::Bool(_)) => Ok(()),
            (Type::Cidr, Value::Str(s)) => check_cidr(s),
            (Type::Range(lo, hi), Value::Int(_) | Value::Float(_)) => {
                match v.as_int().filter(|n| (*lo..=*hi).contains(n)) {
                    Some(_) => Ok(()),
                    None if matches!(v, Value::Float(f) if f.fract() != 0.0) => mismatch(),
                    None => Err(format!("{v} is out of range: expected {lo} to {hi}")),
                }
            }
            (Type::Arn, Value::Str(s)) => check_arn(s),
            (Type::List(t) | Type::Set(t), Value::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    t.check(item).map_err(|e| format!("[{i}]: {e}"))?;
                }
                Ok(())
            }
            (Type::Map(t), Value::Map(m)) => {
                for (k, item) in m {
                    t.check(item).map_err(|e| format!("{k}: {e}"))?;
                }
                Ok(())
            }
            (Type::Json, Value::Map(_) | Value::List(_)) => Ok(()),
            (Type::Json, Value::Str(s)) => serde_json::from_str::<serde_json::Value>(s)
                .map(drop)
                .map_err(|e| format!("invalid JSON document: {e}")),
            (Type::Object(fields), Value::Map(m)) => {
                for (k, item) in m {
                    let Some(f) = fields.iter().find(|f| f.name == *k) else {
                        let names = fields.iter().map(|f| f.name);
                        return Err(format!("unknown field `{k}`{}", did_you_mean(k, names)));
                    };
                    f.check(item).map_err(|e| format!("{k}: {e}"))?;
                }
                for f in fields.iter().filter(|f| f.required) {
                    if !m.contains_key(f.name) {
                        return Err(format!("missing required field `{}`", f.name));
                    }
                }
                Ok(())
            }
            _ => mismatch(),
        }
    }

    /// The value with numbers and bools turned into text wherever this type
    /// wants a string (see `check`).
    pub fn convert(&self, v: Value) -> Value {
        match (self, v) {
            (Type::String, Value::Int(i)) => Value::Str(i.to_string()),
            (Type::String, Value::Float(f)) => Value::Str(f.to_string()),
            (Type::String, Value::Bool(b)) => Value::Str(b.to_string()),
            (Type::List(t) | Type::Set(t), Value::List(items)) => {
                Value::List(items.into_iter().map(|i| t.convert(i)).collect())
            }
            (Type::Map(t), Value::Map(m)) => {
                Value::Map(m.into_iter().map(|(k, v)| (k, t.convert(v))).collect())
            }
            (Type::Object(fields), Value::Map(m)) => Value::Map(
                m.into_iter()
                    .map(|(k, v)| match fields.iter().find(|f| f.name == k) {
                        Some(f) => {
                            let v = f.ty.convert(v);
                            (k, v)
                        }
                        None => (k, v),
                    })
                    .collect(),
            ),
            (_, v) => v,
        }
    }

    /// The canonical form used to compare desired and live values: defaults
    /// of nested objects filled, nulls dropped, sets sorted.
    pub fn normalize(&self, v: &Value) -> Value {
        match (self, v) {
            (Type::Int | Type::Range(..), Value::Float(f)) if f.fract() == 0.0 => {
                Value::Int(*f as i64)
            }
            (Type::List(t), Value::List(items)) => {
                Value::List(items.iter().map(|i| t.normalize(i)).collect())
            }
            (Type::Set(t), Value::List(items)) => {
                let mut items: Vec<Value> = items.iter().map(|i| t.normalize(i)).collect();
                items.sort_by_cached_key(|i| i.to_json().to_string());
                items.dedup();
                Value::List(items)
            }
            (Type::Map(t), Value::Map(m)) => {
                Value::Map(m.iter().map(|(k, v)| (k.clone(), t.normalize(v))).collect())
            }
            (Type::Object(fields), Value::Map(m)) => {
                let mut out = BTreeMap::new();
                for f in fields.iter() {
                    let v = match (m.get(f.name), f.default) {
                        (Some(v), _) if !v.is_null() => f.ty.normalize(v),
                        (_, Some(d)) => d.value(),
                        _ => continue,
                    };
                    out.insert(f.name.to_owned(), v);
                }
                Value::Map(out)
            }
            (Type::Json, Value::Str(s)) => serde_json::from_str::<serde_json::Value>(s)
                .map(|j| Value::from_json(&j))
                .unwrap_or_else(|_| v.clone()),
            _ => v.clone(),
        }
    }
}

/// The JSON text of a document value (`Type::Json`), as APIs want it.
pub fn json_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_json().to_string(),
    }
}

fn check_cidr(s: &str) -> Result<(), String> {
    let net: ipnet::IpNet = s
        .parse()
        .map_err(|_| format!("invalid CIDR block {s:?}: expected an address and a prefix length such as \"10.0.0.0/16\""))?;
    if net.trunc() != net {
        return Err(format!(
            "invalid CIDR block {s:?}: host bits are set (did you mean \"{}\"?)",
            net.trunc()
        ));
    }
    Ok(())
}

/// `arn:partition:service:region:account:resource`, region and account may
/// be empty (IAM, S3).
fn check_arn(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && !parts[2].is_empty()
        && !parts[5].is_empty();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid ARN {s:?}: expected arn:<partition>:<service>:<region>:<account>:<resource>, e.g. \"arn:aws:iam::aws:policy/ReadOnlyAccess\""
        ))
    }
}

/// ` (did you mean `x`?)` when a candidate is close enough, else "".
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_refuses_values_aws_refuses_and_lets_templates_through() {
        let kind = Field::new("type", Type::String).one_of(&["forward", "redirect"]);
        assert!(kind.check(&Value::str("forward")).is_ok());
        assert!(kind.check(&Value::str("${var.action}")).is_ok());
        let e = kind.check(&Value::str("foward")).unwrap_err();
        assert!(e.contains("\"foward\" is not allowed"), "{e}");
        assert!(e.contains("did you mean `forward`"), "{e}");
        let modes = Field::new("m", Type::Set(&Type::String)).one_of(&["EC2", "FARGATE"]);
        assert!(
            modes
                .check(&Value::from(vec!["FARGATE".to_owned()]))
                .is_ok()
        );
        let e = modes
            .check(&Value::from(vec!["EC2".to_owned(), "X".to_owned()]))
            .unwrap_err();
        assert!(e.starts_with("[1]: \"X\" is not allowed"), "{e}");
        let paths = Field::new("p", Type::Set(&Type::String)).min_items(1);
        assert_eq!(
            paths.check(&Value::List(vec![])).unwrap_err(),
            "needs at least 1 item, found 0"
        );
    }

    const RULE: &[Field] = &[
        Field::new("protocol", Type::String).default(Default::Str("tcp")),
        Field::new("port", Type::Int).required(),
        Field::new("cidr_blocks", Type::Set(&Type::Cidr)).default(Default::EmptyList),
    ];

    #[test]
    fn cidr_must_parse_and_have_no_host_bits() {
        assert!(Type::Cidr.check(&Value::str("10.0.0.0/16")).is_ok());
        let err = Type::Cidr.check(&Value::str("10.0.0.300/16")).unwrap_err();
        assert!(err.contains("invalid CIDR"), "{err}");
        let err = Type::Cidr.check(&Value::str("10.0.1.0/16")).unwrap_err();
        assert!(err.contains("did you mean \"10.0.0.0/16\""), "{err}");
    }

    #[test]
    fn ports_and_arns_are_checked_when_literal() {
        assert!(PORT.check(&Value::Int(443)).is_ok());
        assert!(PORT.check(&Value::Float(8080.0)).is_ok());
        let err = PORT.check(&Value::Int(70000)).unwrap_err();
        assert_eq!(err, "70000 is out of range: expected 0 to 65535");
        assert!(PORT.check(&Value::Int(-1)).is_err());
        assert!(PORT.check(&Value::Float(80.5)).is_err());
        assert!(PORT.check(&Value::str("${var.port}")).is_ok());
        assert!(Type::Range(-1, 65535).check(&Value::Int(-1)).is_ok());

        for ok in [
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:aws-cn:s3:::bucket",
            "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        ] {
            assert!(Type::Arn.check(&Value::str(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "ReadOnlyAccess",
            "arn:aws:iam",
            "arn:gcp:iam::1:x",
            "arn:aws:::1:",
        ] {
            let err = Type::Arn.check(&Value::str(bad)).unwrap_err();
            assert!(err.contains("invalid ARN"), "{bad}: {err}");
        }
        assert!(Type::Arn.check(&Value::str("${iam_role.x.arn}")).is_ok());
    }

    #[test]
    fn numbers_and_bools_become_text_where_text_is_wanted() {
        let ty = Type::Map(&Type::String);
        let mut m = BTreeMap::new();
        m.insert("PORT".to_owned(), Value::Int(8000));
        m.insert("DEBUG".to_owned(), Value::Bool(false));
        let v = Value::Map(m);
        assert!(ty.check(&v).is_ok());
        let Value::Map(out) = ty.convert(v) else {
            panic!("not a map")
        };
        assert_eq!(out["PORT"], Value::str("8000"));
        assert_eq!(out["DEBUG"], Value::str("false"));
        // Text is not turned into a number.
        assert!(Type::Int.check(&Value::str("8000")).is_err());
    }

    #[test]
    fn object_check_names_unknown_and_missing_fields() {
        let ty = Type::Object(RULE);
        let mut m = BTreeMap::new();
        m.insert("prot".to_owned(), Value::str("tcp"));
        let err = ty.check(&Value::Map(m.clone())).unwrap_err();
        assert!(err.contains("did you mean `port`"), "{err}");
        m.clear();
        m.insert("protocol".to_owned(), Value::str("tcp"));
        let err = ty.check(&Value::Map(m)).unwrap_err();
        assert_eq!(err, "missing required field `port`");
    }

    #[test]
    fn normalize_sorts_sets_and_fills_object_defaults() {
        let ty = Type::Set(&Type::Object(RULE));
        let rule = |port: i64| {
            let mut m = BTreeMap::new();
            m.insert("port".to_owned(), Value::Int(port));
            Value::Map(m)
        };
        let a = ty.normalize(&Value::List(vec![rule(443), rule(80)]));
        let b = ty.normalize(&Value::List(vec![rule(80), rule(443), rule(80)]));
        assert_eq!(a, b);
        let first = &a.as_list()[0];
        assert_eq!(first.as_map().unwrap()["protocol"], Value::str("tcp"));
    }

    #[test]
    fn json_documents_compare_by_content_not_text() {
        let a = Value::str(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}"#);
        let b = Value::str(
            "{\n  \"Statement\": [ { \"Effect\": \"Allow\" } ],\n  \"Version\": \"2012-10-17\"\n}",
        );
        assert_eq!(Type::Json.normalize(&a), Type::Json.normalize(&b));
        let table = Type::Json.normalize(&a);
        assert_eq!(Type::Json.normalize(&Value::str(json_text(&table))), table);
        assert!(Type::Json.check(&Value::str("{not json")).is_err());
    }

    #[test]
    fn templates_and_unknowns_pass_any_type_check() {
        assert!(Type::Int.check(&Value::str("${var.n}")).is_ok());
        assert!(Type::Bool.check(&Value::Unknown).is_ok());
        assert!(Type::Int.check(&Value::str("x")).is_err());
    }
}
