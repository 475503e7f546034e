//! The desired state and the state of an adoption: TOML files whose values
//! are the live ones (less defaults and AWS's own `aws:*` tags), with ids
//! and ARNs of other adopted resources turned into references, and a state
//! that records each address with its id.

use std::collections::{BTreeMap, BTreeSet};

use crate::schema::{Field, Type};
use crate::state::{ResourceState, State, Status};
use crate::value::Value;

use super::{Adopted, Adoption};

/// What adopt writes: `(file name, text)` pairs and the state.
pub struct Written {
    pub files: Vec<(String, String)>,
    pub state: State,
}

/// Where the desired state and the state come from, for the comments.
pub struct Origin<'a> {
    /// `CloudFormation stack web` or `Terraform state terraform.tfstate`.
    pub source: &'a str,
    /// `CloudFormation` or `Terraform`, before each resource's logical id.
    pub tool: &'a str,
    pub stack: &'a str,
    pub region: &'a str,
}

pub fn render(adoption: &Adoption, origin: &Origin<'_>) -> Written {
    let index = Index::of(&adoption.adopted);
    let mut secrets = Vec::new();
    let accepted = index.acyclic_edges(&adoption.adopted);
    let mut by_file: BTreeMap<String, String> = BTreeMap::new();
    let mut state = State::new(origin.stack);
    for a in &adoption.adopted {
        let allowed = accepted.get(&a.address).cloned().unwrap_or_default();
        let mut used = BTreeSet::new();
        let body = resource_toml(a, &index, &allowed, &mut used);
        let body = body + &secret_inputs(a, &mut secrets);
        let folded: Vec<String> = adoption
            .folded
            .iter()
            .filter(|f| f.into.starts_with(&format!("{}.", a.address)))
            .map(|f| {
                format!(
                    "# also holds {} ({}) as `{}`\n",
                    f.logical_id,
                    f.ty,
                    f.into.rsplit('.').next().unwrap_or_default()
                )
            })
            .collect();
        let text = format!(
            "# {}: {} ({})\n{}[{}]\n{body}\n",
            origin.tool,
            a.logical_id,
            a.ty,
            folded.concat(),
            a.address
        );
        by_file
            .entry(format!(
                "{}.toml",
                a.kind.schema().service.replace('-', "_")
            ))
            .or_default()
            .push_str(&text);
        state.resources.insert(
            a.address.clone(),
            ResourceState {
                kind: a.kind.schema().kind.to_owned(),
                id: a.id.clone(),
                attributes: a.attrs.clone(),
                dependencies: used.into_iter().collect(),
                status: Status::Created,
                deletion_policy: None,
                fingerprints: BTreeMap::new(),
                region: None,
            },
        );
    }
    let mut stack = stack_toml(adoption, origin);
    for (name, description) in secrets {
        stack.push_str(&format!(
            "\n[variables.{name}]\ntype = \"string\"\nsensitive = true\ndescription = {}\n",
            toml_string(&description)
        ));
    }
    let mut files = vec![("stack.toml".to_owned(), stack)];
    files.extend(by_file);
    Written { files, state }
}

/// `[stack]`, with what was not adopted named in a comment.
fn stack_toml(adoption: &Adoption, origin: &Origin<'_>) -> String {
    let mut out = format!(
        "# Adopted by `reconcile adopt` from {} ({}).\n",
        origin.source, origin.region
    );
    if !adoption.not_adopted.is_empty() {
        out.push_str("#\n# Not adopted (they stay where they are):\n");
        for n in &adoption.not_adopted {
            out.push_str(&format!("#   {} ({}): {}\n", n.logical_id, n.ty, n.reason));
        }
    }
    out.push_str(&format!(
        "\n[stack]\nname = {}\nregion = {}\n",
        toml_string(origin.stack),
        toml_string(origin.region)
    ));
    out
}

/// The fields of one resource, one per line, in schema order.
fn resource_toml(
    a: &Adopted,
    index: &Index,
    allowed: &BTreeSet<String>,
    used: &mut BTreeSet<String>,
) -> String {
    let mut out = String::new();
    for f in written_fields(a) {
        let Some(v) = a.attrs.get(f.name) else {
            continue;
        };
        // Tags are names people read, never references.
        let v = if f.name == "tags" {
            escaped(&without_aws_tags(v))
        } else {
            let v = without_defaults(v, &f.ty);
            index.walk(&v, &f.ty, f.name, &a.address, Some(allowed), used)
        };
        out.push_str(&format!("{} = {}\n", toml_key(f.name), toml_value(&v, 0)));
    }
    let unreported = unreported(a);
    if !unreported.is_empty() {
        let names: Vec<String> = unreported.iter().map(|n| toml_string(n)).collect();
        out.push_str(&format!(
            "# AWS reported no value for these: left as they are until set here.\nlifecycle = {{ ignore_changes = [{}] }}\n",
            names.join(", ")
        ));
    }
    out
}

/// Required inputs AWS never returns or that must not be written in clear
/// (a database's master password): each becomes a sensitive variable,
/// given at plan time like any secret (`RECONCILE_VAR_<name>`).
fn secret_inputs(a: &Adopted, vars: &mut Vec<(String, String)>) -> String {
    let mut out = String::new();
    for f in a.kind.schema().inputs() {
        if !f.required || !(f.write_only || f.sensitive) {
            continue;
        }
        let name = format!("{}_{}", a.address.replace(['.', '-'], "_"), f.name);
        out.push_str(&format!("{} = \"${{var.{name}}}\"\n", toml_key(f.name)));
        vars.push((
            name,
            format!(
                "`{}` of {}: AWS never returns it; give it as a variable",
                f.name, a.address
            ),
        ));
    }
    out
}

/// Inputs with a default that the live read left empty: written out, the
/// default would be planned as a change to a value no one knows. (The
/// emulator leaves a CloudFormation-made service's deployment settings
/// empty; a kind that reads a field only when it manages it leaves it out.)
fn unreported(a: &Adopted) -> Vec<&'static str> {
    a.kind
        .schema()
        .inputs()
        .filter(|f| !f.client_only && !f.write_only && f.default.is_some())
        .filter(|f| a.attrs.get(f.name).is_none_or(Value::is_null))
        .map(|f| f.name)
        .collect()
}

/// The inputs of a resource worth writing: set, readable, and not the
/// kind's default (an omitted default is planned as that default).
fn written_fields(a: &Adopted) -> Vec<&'static Field> {
    a.kind
        .schema()
        .inputs()
        .filter(|f| !f.client_only && !f.write_only && !f.sensitive)
        .filter(|f| {
            let Some(v) = a.attrs.get(f.name).filter(|v| !v.is_null()) else {
                return false;
            };
            let v = if f.name == "tags" {
                without_aws_tags(v)
            } else {
                v.clone()
            };
            let empty = match &v {
                Value::Null => true,
                Value::List(l) => l.is_empty(),
                Value::Map(m) => m.is_empty(),
                _ => false,
            };
            match f.default {
                Some(d) => f.ty.normalize(&v) != f.ty.normalize(&d.value()),
                None => !empty,
            }
        })
        .collect()
}

/// `v` without the entries of its tables that equal their field's default
/// (or are null): the comparison fills them back in, and some may not be
/// written empty (a rule's `host_headers = []`).
fn without_defaults(v: &Value, ty: &Type) -> Value {
    match (v, ty) {
        (Value::List(items), Type::List(t) | Type::Set(t)) => {
            Value::List(items.iter().map(|i| without_defaults(i, t)).collect())
        }
        (Value::Map(m), Type::Map(t)) => Value::Map(
            m.iter()
                .map(|(k, i)| (k.clone(), without_defaults(i, t)))
                .collect(),
        ),
        (Value::Map(m), Type::Object(fields)) => Value::Map(
            m.iter()
                .filter_map(|(k, i)| {
                    let Some(f) = fields.iter().find(|f| f.name == k) else {
                        return Some((k.clone(), i.clone()));
                    };
                    let default = f
                        .default
                        .is_some_and(|d| f.ty.normalize(i) == f.ty.normalize(&d.value()));
                    (!default && !i.is_null()).then(|| (k.clone(), without_defaults(i, &f.ty)))
                })
                .collect(),
        ),
        (other, _) => other.clone(),
    }
}

/// Tags without AWS's own `aws:*` ones (CloudFormation's stack tags): no
/// one can set or remove those, so they are never the desired state's.
fn without_aws_tags(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(k, _)| !k.starts_with("aws:"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Ids and ARNs of the adopted resources, to turn values into references.
struct Index {
    /// value → what it refers to; values two resources share are left out
    /// (a reference must name one).
    by_value: BTreeMap<String, Target>,
}

#[derive(Clone)]
struct Target {
    address: String,
    attr: &'static str,
    /// For an id that is a plain name (a role's, a log group's), the word
    /// the key holding it must contain (`role`, `instance_profile`): a
    /// service and its container may well be called `app` like the
    /// repository, and are not references to it.
    key_word: Option<String>,
}

/// Ids AWS generates (`vpc-0abc…`, `sg-…`, `lt-…`) and ARNs: values that
/// name one resource wherever they appear.
fn distinctive(id: &str) -> bool {
    if id.starts_with("arn:") {
        return true;
    }
    id.split_once('-').is_some_and(|(prefix, rest)| {
        !prefix.is_empty()
            && prefix.chars().all(|c| c.is_ascii_lowercase())
            && rest.len() >= 8
            && rest.chars().all(|c| c.is_ascii_hexdigit())
    })
}

impl Index {
    fn of(adopted: &[Adopted]) -> Index {
        let mut seen: BTreeMap<String, Vec<Target>> = BTreeMap::new();
        for a in adopted {
            let schema = a.kind.schema();
            let arn = a.attrs.get("arn").and_then(Value::as_str);
            let name = a.attrs.get("name").and_then(Value::as_str);
            // The attribute that reads best for the id.
            let id_attr = if schema.field("arn").is_some() && arn == Some(a.id.as_str()) {
                "arn"
            } else if schema.field("name").is_some_and(|f| !f.computed)
                && name == Some(a.id.as_str())
            {
                "name"
            } else {
                "id"
            };
            let kind = schema.kind;
            let word = ["iam_", "ecs_", "s3_"]
                .iter()
                .find_map(|p| kind.strip_prefix(p))
                .unwrap_or(kind);
            seen.entry(a.id.clone()).or_default().push(Target {
                address: a.address.clone(),
                attr: id_attr,
                key_word: (!distinctive(&a.id)).then(|| word.to_owned()),
            });
            if schema.field("arn").is_some()
                && let Some(arn) = arn
                && arn != a.id
            {
                seen.entry(arn.to_owned()).or_default().push(Target {
                    address: a.address.clone(),
                    attr: "arn",
                    key_word: None,
                });
            }
        }
        Index {
            by_value: seen
                .into_iter()
                .filter(|(_, v)| v.len() == 1)
                .map(|(k, mut v)| (k, v.remove(0)))
                .collect(),
        }
    }

    /// What a string under `key` refers to, if anything but `me`.
    fn target(&self, s: &str, key: &str, me: &str) -> Option<&Target> {
        let t = self.by_value.get(s)?;
        let key = key.to_ascii_lowercase().replace('-', "_");
        let fits = t.key_word.as_ref().is_none_or(|w| key.contains(w.as_str()));
        (t.address != me && fits).then_some(t)
    }

    /// Per address, the addresses it may reference: every one its values
    /// name, less any edge that would close a cycle (two resources naming
    /// each other's ids — a security group pair admitting each other — keep
    /// one side literal).
    fn acyclic_edges(&self, adopted: &[Adopted]) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for a in adopted {
            let mut wanted = BTreeSet::new();
            for f in written_fields(a) {
                if f.name == "tags" {
                    continue;
                }
                if let Some(v) = a.attrs.get(f.name) {
                    self.walk(v, &f.ty, f.name, &a.address, None, &mut wanted);
                }
            }
            for target in wanted {
                if !reaches(&edges, &target, &a.address) {
                    edges.entry(a.address.clone()).or_default().insert(target);
                }
            }
        }
        edges
    }

    /// `v` with every string that names an adopted resource in `allowed`
    /// written as a reference to it (its address added to `used`), and
    /// every other string's `${` escaped. Without `allowed`, every address
    /// named is added to `used`. JSON documents stay literal.
    fn walk(
        &self,
        v: &Value,
        ty: &Type,
        key: &str,
        me: &str,
        allowed: Option<&BTreeSet<String>>,
        used: &mut BTreeSet<String>,
    ) -> Value {
        match (v, ty) {
            (Value::Str(s), _) if !matches!(ty, Type::Json) => match self.target(s, key, me) {
                Some(t) if allowed.is_none_or(|a| a.contains(&t.address)) => {
                    used.insert(t.address.clone());
                    Value::Str(format!("${{{}.{}}}", t.address, t.attr))
                }
                _ => Value::Str(s.replace("${", "$${")),
            },
            (Value::List(items), Type::List(t) | Type::Set(t)) => Value::List(
                items
                    .iter()
                    .map(|i| self.walk(i, t, key, me, allowed, used))
                    .collect(),
            ),
            (Value::Map(m), Type::Map(t)) => Value::Map(
                m.iter()
                    .map(|(k, i)| (k.clone(), self.walk(i, t, k, me, allowed, used)))
                    .collect(),
            ),
            (Value::Map(m), Type::Object(fields)) => Value::Map(
                m.iter()
                    .map(|(k, i)| {
                        let v = match fields.iter().find(|f| f.name == k) {
                            Some(f) => self.walk(i, &f.ty, k, me, allowed, used),
                            None => escaped(i),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            (other, _) => escaped(other),
        }
    }
}

/// Whether `to` is reachable from `from` along `edges`.
fn reaches(edges: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n.clone())
            && let Some(next) = edges.get(&n)
        {
            stack.extend(next.iter().cloned());
        }
    }
    false
}

/// Every string's `${` as `$${`: a literal, not a reference.
fn escaped(v: &Value) -> Value {
    match v {
        Value::Str(s) => Value::Str(s.replace("${", "$${")),
        Value::List(l) => Value::List(l.iter().map(escaped).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), escaped(v))).collect()),
        other => other.clone(),
    }
}

/// A TOML basic string (JSON's escapes are TOML's).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        toml_string(k)
    }
}

/// A value as inline TOML; a list of tables gets one line per table.
fn toml_value(v: &Value, depth: usize) -> String {
    match v {
        Value::Null | Value::Unknown => "\"\"".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            if f.is_finite() {
                format!("{f:?}")
            } else {
                "nan".to_owned()
            }
        }
        Value::Str(s) => toml_string(s),
        Value::List(items) if depth == 0 && items.iter().any(|i| matches!(i, Value::Map(_))) => {
            let lines: Vec<String> = items
                .iter()
                .map(|i| format!("  {},\n", toml_value(i, depth + 1)))
                .collect();
            format!("[\n{}]", lines.concat())
        }
        Value::List(items) => {
            let parts: Vec<String> = items.iter().map(|i| toml_value(i, depth + 1)).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(m) if m.is_empty() => "{}".to_owned(),
        Value::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{} = {}", toml_key(k), toml_value(v, depth + 1)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::{Folded, NotAdopted};
    use crate::kinds;

    fn adopted(kind: &str, address: &str, id: &str, attrs: &[(&str, Value)]) -> Adopted {
        Adopted {
            address: address.to_owned(),
            kind: kinds::lookup(kind).unwrap(),
            logical_id: address.to_owned(),
            ty: "T".to_owned(),
            id: id.to_owned(),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    fn origin() -> Origin<'static> {
        Origin {
            source: "CloudFormation stack net",
            tool: "CloudFormation",
            stack: "net",
            region: "us-east-1",
        }
    }

    #[test]
    fn ids_become_references_defaults_and_aws_tags_are_left_out() {
        let tags = Value::Map(
            [
                ("Name".to_owned(), Value::str("main")),
                (
                    "aws:cloudformation:stack-name".to_owned(),
                    Value::str("net"),
                ),
            ]
            .into_iter()
            .collect(),
        );
        let adoption = Adoption {
            adopted: vec![
                adopted(
                    "vpc",
                    "vpc.vpc",
                    "vpc-1",
                    &[
                        ("id", Value::str("vpc-1")),
                        ("cidr_block", Value::str("10.0.0.0/16")),
                        ("tags", tags),
                    ],
                ),
                adopted(
                    "subnet",
                    "subnet.a",
                    "subnet-1",
                    &[
                        ("vpc_id", Value::str("vpc-1")),
                        ("cidr_block", Value::str("10.0.1.0/24")),
                        ("map_public_ip_on_launch", Value::Bool(false)),
                        ("tags", Value::Map(BTreeMap::new())),
                    ],
                ),
            ],
            folded: vec![],
            not_adopted: vec![NotAdopted {
                logical_id: "Queue".into(),
                ty: "AWS::SQS::Queue".into(),
                reason: "no reconcile kind for this type".into(),
            }],
        };
        let w = render(&adoption, &origin());
        let all: String = w.files.iter().map(|(_, t)| t.as_str()).collect();
        assert!(all.contains("vpc_id = \"${vpc.vpc.id}\""), "{all}");
        assert!(all.contains("tags = { Name = \"main\" }"), "{all}");
        assert!(!all.contains("aws:cloudformation"), "{all}");
        assert!(!all.contains("map_public_ip_on_launch"), "{all}");
        assert!(
            all.contains("# CloudFormation: vpc.vpc (T)\n[vpc.vpc]"),
            "{all}"
        );
        assert!(
            all.contains("#   Queue (AWS::SQS::Queue): no reconcile kind"),
            "{all}"
        );
        assert_eq!(w.state.resources["subnet.a"].dependencies, vec!["vpc.vpc"]);
        assert_eq!(w.state.resources["subnet.a"].id, "subnet-1");
        let parsed: toml::Table = w.files[1].1.parse().unwrap();
        assert!(parsed.contains_key("subnet"));
    }

    #[test]
    fn two_resources_naming_each_other_keep_one_side_literal() {
        let rule = |sg: &str| {
            Value::List(vec![Value::Map(
                [
                    ("protocol".to_owned(), Value::str("-1")),
                    (
                        "source_security_group_ids".to_owned(),
                        Value::List(vec![Value::str(sg)]),
                    ),
                ]
                .into_iter()
                .collect(),
            )])
        };
        let adoption = Adoption {
            adopted: vec![
                adopted(
                    "security_group",
                    "security_group.a",
                    "sg-a",
                    &[("ingress", rule("sg-b"))],
                ),
                adopted(
                    "security_group",
                    "security_group.b",
                    "sg-b",
                    &[("ingress", rule("sg-a"))],
                ),
            ],
            folded: vec![Folded {
                logical_id: "AIn".into(),
                ty: "AWS::EC2::SecurityGroupIngress".into(),
                into: "security_group.a.ingress".into(),
            }],
            not_adopted: vec![],
        };
        let w = render(&adoption, &origin());
        let text = &w.files[1].1;
        assert!(text.contains("${security_group.b.id}"), "{text}");
        assert!(text.contains("\"sg-a\""), "{text}");
        assert!(
            text.contains("# also holds AIn (AWS::EC2::SecurityGroupIngress) as `ingress`"),
            "{text}"
        );
    }

    #[test]
    fn a_required_secret_becomes_a_sensitive_variable_never_a_value() {
        let adoption = Adoption {
            adopted: vec![adopted(
                "db_instance",
                "db_instance.db",
                "app-db",
                &[("master_password", Value::str("hunter2hunter2"))],
            )],
            folded: vec![],
            not_adopted: vec![],
        };
        let w = render(&adoption, &origin());
        let all: String = w.files.iter().map(|(_, t)| t.as_str()).collect();
        assert!(
            all.contains("master_password = \"${var.db_instance_db_master_password}\""),
            "{all}"
        );
        assert!(
            all.contains(
                "[variables.db_instance_db_master_password]\ntype = \"string\"\nsensitive = true"
            ),
            "{all}"
        );
        assert!(!all.contains("hunter2"), "{all}");
    }

    #[test]
    fn literal_dollar_braces_are_escaped_and_odd_keys_quoted() {
        let v = Value::Map(
            [("aws:x".to_owned(), Value::str("${HOME}"))]
                .into_iter()
                .collect(),
        );
        assert_eq!(toml_value(&escaped(&v), 0), "{ \"aws:x\" = \"$${HOME}\" }");
    }
}
