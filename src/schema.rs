//! Resource kinds described as data. One generic engine uses these schemas to
//! validate input, fill defaults, normalize values for comparison, decide
//! replacement and mask sensitive values.

use std::collections::BTreeMap;

use crate::value::{Attrs, Value};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub enum Type {
    Bool,
    Int,
    /// A number with or without a fraction (an alarm threshold): AWS's
    /// doubles. Whole numbers compare equal whether written `80` or `80.0`.
    Number,
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
    /// The only values AWS accepts (an action type, a protocol, a number
    /// of days); empty means any. Checked by `validate` where the value is
    /// literal.
    pub allowed: &'static [&'static str],
    /// The fewest and most items a list AWS accepts holds (0: no limit).
    pub min_items: usize,
    pub max_items: usize,
    /// What AWS accepts as a name (its length and characters).
    pub naming: Option<Name>,
    /// What a create plans for this field when the desired state leaves it
    /// unset.
    pub when_unset: Unset,
    /// The value the generated docs show, as JSON, where the type's
    /// placeholder would not be a valid one (a task definition's ARN).
    pub example: Option<&'static str>,
    /// Rules between the fields of this field's table (or of each table of
    /// its list) that no single field can check.
    pub rules: &'static [Rule],
}

/// A rule between fields of one table that no single field can check, as
/// AWS enforces it (a "forward" action needs its target group; gp2 storage
/// starts at 20 GiB). Only literal values are judged; a field left unset
/// counts as its default.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// When `field` is `is`, each of `needs` must be set.
    Needs {
        field: &'static str,
        is: &'static str,
        needs: &'static [&'static str],
    },
    /// When `field` is one of `is`, the number `number` is at least `min`.
    AtLeast {
        field: &'static str,
        is: &'static [&'static str],
        number: &'static str,
        min: i64,
    },
    /// Exactly one of `fields` is set (a security-group rule's source).
    ExactlyOne { fields: &'static [&'static str] },
}

impl Rule {
    /// The key to locate a broken rule at, and what is wrong.
    pub fn problem(
        &self,
        fields: &[Field],
        m: &BTreeMap<String, Value>,
    ) -> Option<(String, String)> {
        let get = |name: &str| -> Option<Value> {
            m.get(name).cloned().or_else(|| {
                fields
                    .iter()
                    .find(|f| f.name == name)?
                    .default
                    .map(Default::value)
            })
        };
        let literal = |v: &Value| !matches!(v, Value::Str(s) if s.contains("${"));
        match *self {
            Rule::Needs { field, is, needs } => {
                let v = get(field)?;
                if v.as_str() != Some(is) {
                    return None;
                }
                let missing = needs.iter().find(|n| !m.contains_key(**n))?;
                Some((
                    field.to_owned(),
                    format!("`{field}` = {is:?} needs `{missing}`"),
                ))
            }
            Rule::AtLeast { field, is, number, min } => {
                let v = get(field)?;
                let n = get(number)?;
                let (Some(text), Value::Int(n)) = (v.as_str(), n) else {
                    return None;
                };
                if !literal(&v) || !is.contains(&text) || n >= min {
                    return None;
                }
                Some((
                    number.to_owned(),
                    format!("is {n}, but with `{field}` = {text:?} AWS needs at least {min}"),
                ))
            }
            Rule::ExactlyOne { fields } => {
                let set: Vec<&str> = fields
                    .iter()
                    .copied()
                    .filter(|f| m.get(*f).is_some_and(|v| !v.is_null()))
                    .collect();
                let list: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
                match set.as_slice() {
                    [_] => None,
                    [] => Some((
                        fields.first().copied().unwrap_or_default().to_owned(),
                        format!(
                            "(or another of {}) must be set: exactly one",
                            list.join(", ")
                        ),
                    )),
                    [first, second, ..] => Some((
                        (*second).to_owned(),
                        format!(
                            "cannot be set together with `{first}`: exactly one of {} is set",
                            list.join(", ")
                        ),
                    )),
                }
            }
        }
    }

    /// The rule in words, for the docs.
    pub fn describe(&self) -> String {
        match *self {
            Rule::Needs { field, is, needs } => {
                let list: Vec<String> = needs.iter().map(|n| format!("`{n}`")).collect();
                format!("`{field}` = \"{is}\" needs {}.", list.join(" and "))
            }
            Rule::AtLeast { field, is, number, min } => {
                let list: Vec<String> = is.iter().map(|v| format!("\"{v}\"")).collect();
                format!(
                    "`{number}` is at least {min} when `{field}` is {}.",
                    list.join(" or ")
                )
            }
            Rule::ExactlyOne { fields } => {
                let list: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
                format!("Exactly one of {} is set.", list.join(", "))
            }
        }
    }
}

/// What an optional field left unset becomes once created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unset {
    /// AWS or the kind fills it in (a zone, a generated name): known only
    /// after apply.
    Filled,
    /// Nothing fills it in (a task role, a network configuration): planned
    /// as absent, so a create does not show it and a replacement shows it
    /// going away.
    Null,
    /// The kind names the resource `<stack>-<resource name>`
    /// (`kinds::default_name`): known at plan time.
    StackName,
}

/// The names AWS accepts for one kind of resource, as its API reference
/// documents them.
#[derive(Debug, Clone, Copy)]
pub struct Name {
    pub min: usize,
    pub max: usize,
    /// A regular expression the whole name must match.
    pub pattern: &'static str,
    /// The same rule in words, for the error message.
    pub rule: &'static str,
}

impl Name {
    fn problem(&self, s: &str) -> Option<String> {
        let n = s.chars().count();
        if n < self.min || n > self.max {
            let bounds = if self.min == self.max {
                self.max.to_string()
            } else {
                format!("{} to {}", self.min, self.max)
            };
            return Some(format!(
                "{s:?} is {n} characters long: AWS accepts {bounds}"
            ));
        }
        if !matches_pattern(self.pattern, s) {
            return Some(format!("{s:?} is not a valid name: {}", self.rule));
        }
        None
    }
}

/// Whether `s` matches `pattern` as a whole. Patterns are the schemas'
/// constants; each is compiled once.
fn matches_pattern(pattern: &'static str, s: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    static COMPILED: LazyLock<Mutex<HashMap<&'static str, regex::Regex>>> =
        LazyLock::new(Mutex::default);
    let mut compiled = COMPILED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let re = compiled.entry(pattern).or_insert_with(|| {
        regex::Regex::new(&format!("^(?:{pattern})$")).expect("schema name patterns compile")
    });
    re.is_match(s)
}

/// One step from a field's value down to an element inside it.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Index(usize),
    Key(String),
}

/// One thing wrong inside a field's value, and where: the steps from the
/// field down to the element (none: the value itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub path: Vec<Step>,
    /// An unknown key of a table at `path`: the error is located at it.
    pub key: Option<String>,
    pub message: String,
}

impl Invalid {
    /// `` `ingress[0].to_port`: 70000 is out of range … `` for field `ingress`.
    pub fn describe(&self, field: &str) -> String {
        format!("`{field}{}`: {}", path_text(&self.path), self.message)
    }
}

/// `[0].to_port` for `[Index(0), Key("to_port")]`.
pub fn path_text(path: &[Step]) -> String {
    path.iter()
        .map(|s| match s {
            Step::Index(i) => format!("[{i}]"),
            Step::Key(k) => format!(".{k}"),
        })
        .collect()
}

/// Where problems of one value are collected, with the path to the element
/// being checked.
#[derive(Default)]
struct Problems {
    path: Vec<Step>,
    out: Vec<Invalid>,
}

impl Problems {
    fn push(&mut self, message: String) {
        self.out
            .push(Invalid { path: self.path.clone(), key: None, message });
    }

    fn at<R>(&mut self, step: Step, f: impl FnOnce(&mut Problems) -> R) -> R {
        self.path.push(step);
        let r = f(self);
        self.path.pop();
        r
    }
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
            max_items: 0,
            naming: None,
            when_unset: Unset::Filled,
            example: None,
            rules: &[],
        }
    }
    /// See the field.
    pub const fn rules(mut self, rules: &'static [Rule]) -> Field {
        self.rules = rules;
        self
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
    /// At most `n` items: AWS refuses more.
    pub const fn max_items(mut self, n: usize) -> Field {
        self.max_items = n;
        self
    }
    /// A name, as AWS accepts it.
    pub const fn naming(mut self, rule: Name) -> Field {
        self.naming = Some(rule);
        self
    }
    /// Nothing fills the field in when it is left unset (`Unset::Null`).
    pub const fn unset_is_null(mut self) -> Field {
        self.when_unset = Unset::Null;
        self
    }
    /// Left unset, the kind names the resource `<stack>-<resource name>`
    /// (`Unset::StackName`).
    pub const fn unset_is_stack_name(mut self) -> Field {
        self.when_unset = Unset::StackName;
        self
    }
    /// A resource's AWS name as AWS accepts it (`rule`): set once (a
    /// change replaces the resource), `<stack>-<resource name>` when unset.
    pub const fn stack_name(name: &'static str, rule: Name) -> Field {
        Field::new(name, Type::String)
            .naming(rule)
            .unset_is_stack_name()
            .force_new()
    }
    /// What the docs show for this field, as JSON.
    pub const fn example(mut self, json: &'static str) -> Field {
        self.example = Some(json);
        self
    }

    /// Everything wrong with a value of this field: its type, then what AWS
    /// documents of its values (allowed values, item counts, names), each
    /// with the path to its element. Templates and values not known yet
    /// pass (checked again once evaluated).
    pub fn problems(&self, v: &Value) -> Vec<Invalid> {
        let mut p = Problems::default();
        self.collect(v, &mut p);
        p.out
    }

    /// The first problem of `problems`, as text (`[0].to_port: …`).
    pub fn check(&self, v: &Value) -> Result<(), String> {
        match self.problems(v).into_iter().next() {
            None => Ok(()),
            Some(i) if i.path.is_empty() => Err(i.message),
            Some(i) => Err(format!(
                "{}: {}",
                path_text(&i.path).trim_start_matches('.'),
                i.message
            )),
        }
    }

    fn collect(&self, v: &Value, p: &mut Problems) {
        let before = p.out.len();
        self.ty.collect(v, p);
        if p.out.len() > before {
            return;
        }
        if let Type::Object(fields) | Type::List(&Type::Object(fields)) = self.ty {
            rule_problems(self.rules, fields, v, p);
        }
        match v {
            Value::Str(s) if s.contains("${") => {}
            Value::Str(_) | Value::Int(_) => {
                if let Some(m) = self.value_problem(v) {
                    p.push(m);
                }
            }
            Value::List(items) => {
                let n = items.len();
                if n < self.min_items {
                    p.push(format!(
                        "needs at least {}, found {n}",
                        items_text(self.min_items)
                    ));
                } else if self.max_items > 0 && n > self.max_items {
                    p.push(format!(
                        "takes at most {}, found {n}",
                        items_text(self.max_items)
                    ));
                }
                // A list of allowed values (launch types) or names.
                for (i, item) in items.iter().enumerate() {
                    if let Some(m) = self.value_problem(item) {
                        p.at(Step::Index(i), |p| p.push(m));
                    }
                }
            }
            _ => {}
        }
    }

    /// What is wrong with one literal string or number of this field.
    fn value_problem(&self, v: &Value) -> Option<String> {
        let text = match v {
            Value::Str(s) if !s.contains("${") => s.clone(),
            Value::Int(i) => i.to_string(),
            _ => return None,
        };
        if !self.allowed.is_empty() && !self.allowed.contains(&text.as_str()) {
            let list: Vec<String> = match v {
                Value::Int(_) => self
                    .allowed
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect(),
                _ => self.allowed.iter().map(|a| format!("{a:?}")).collect(),
            };
            let (shown, hint) = match v {
                Value::Str(s) => (
                    format!("{s:?}"),
                    did_you_mean(s, self.allowed.iter().copied()),
                ),
                other => (other.to_string(), String::new()),
            };
            return Some(format!(
                "{shown} is not allowed: expected one of {}{hint}",
                list.join(", "),
            ));
        }
        self.naming.and_then(|n| n.problem(&text))
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

/// A step of a step-scaling policy: the shape EC2 Auto Scaling and
/// Application Auto Scaling share.
pub const STEP_ADJUSTMENT: &[Field] = &[
    Field::new("metric_interval_lower_bound", Type::Number)
        .doc("Lower bound of the step, relative to the alarm threshold (unset: minus infinity)."),
    Field::new("metric_interval_upper_bound", Type::Number)
        .doc("Upper bound of the step, relative to the alarm threshold (unset: infinity)."),
    Field::new("scaling_adjustment", Type::Int)
        .required()
        .doc("The change when the metric is in this step (see `adjustment_type`)."),
];

/// A TCP or UDP port.
pub const PORT: Type = Type::Range(0, 65535);

/// `id`: every kind exports the id AWS gave the resource.
pub const ID: Field = Field::new("id", Type::String).computed().doc("The AWS id.");

/// The time limits of a kind's waiters, per operation.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl Timeouts {
    /// Ten minutes for each operation, where a kind has no reason for more.
    pub const DEFAULT: Timeouts = Timeouts::minutes(10, 10, 10);

    pub const fn minutes(create: u64, update: u64, delete: u64) -> Timeouts {
        Timeouts {
            create: Duration::from_secs(create * 60),
            update: Duration::from_secs(update * 60),
            delete: Duration::from_secs(delete * 60),
        }
    }
}

#[derive(Debug)]
pub struct Schema {
    pub kind: &'static str,
    /// The AWS service the kind's calls go to (`"ec2"`,
    /// `"elasticloadbalancing"`), as IAM and the service quotas name it.
    pub service: &'static str,
    /// Default time limits of the kind's waiters.
    pub timeouts: Timeouts,
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
            Type::Number => "number".into(),
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

    /// Checks a value against this type: the first problem, as text
    /// naming the path inside the value that is wrong (`[0]: to_port: …`).
    /// Strings holding `${...}` are accepted anywhere: they are checked
    /// again once resolved. Unknown values are accepted too.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        Field::new("", *self).check(v)
    }

    /// Every problem of a value of this type, into `p`.
    fn collect(&self, v: &Value, p: &mut Problems) {
        if matches!(v, Value::Unknown) {
            return;
        }
        if let Value::Str(s) = v
            && s.contains("${")
        {
            return;
        }
        let mismatch = || format!("expected {}, found {}", self.describe(), v.type_name());
        let found = match (self, v) {
            (Type::Bool, Value::Bool(_)) | (Type::Int, Value::Int(_)) => Ok(()),
            (Type::Int, Value::Float(f)) if f.fract() == 0.0 => Ok(()),
            (Type::Number, Value::Int(_) | Value::Float(_)) => Ok(()),
            // Numbers and bools are written as text where text is wanted, as
            // Terraform converts them (`PORT = "${var.port}"`).
            (Type::String, Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_)) => {
                Ok(())
            }
            (Type::Cidr, Value::Str(s)) => check_cidr(s),
            (Type::Range(lo, hi), Value::Int(_) | Value::Float(_)) => {
                match v.as_int().filter(|n| (*lo..=*hi).contains(n)) {
                    Some(_) => Ok(()),
                    None if matches!(v, Value::Float(f) if f.fract() != 0.0) => Err(mismatch()),
                    None => Err(format!("{v} is out of range: expected {lo} to {hi}")),
                }
            }
            (Type::Arn, Value::Str(s)) => check_arn(s),
            (Type::List(t) | Type::Set(t), Value::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    p.at(Step::Index(i), |p| t.collect(item, p));
                }
                Ok(())
            }
            (Type::Map(t), Value::Map(m)) => {
                for (k, item) in m {
                    p.at(Step::Key(k.clone()), |p| t.collect(item, p));
                }
                Ok(())
            }
            (Type::Json, Value::Map(_) | Value::List(_)) => Ok(()),
            (Type::Json, Value::Str(s)) => serde_json::from_str::<serde_json::Value>(s)
                .map(drop)
                .map_err(|e| format!("invalid JSON document: {e}")),
            (Type::Object(fields), Value::Map(m)) => {
                object_problems(fields, m, p);
                Ok(())
            }
            _ => Err(mismatch()),
        };
        if let Err(m) = found {
            p.push(m);
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
            (Type::Int | Type::Range(..) | Type::Number, Value::Float(f)) if f.fract() == 0.0 => {
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
                for f in *fields {
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
                .map_or_else(|_| v.clone(), |j| Value::from_json(&j)),
            _ => v.clone(),
        }
    }
}

/// Unknown keys (each located at itself), wrong values and missing
/// required fields of a table with named fields.
fn object_problems(fields: &[Field], m: &BTreeMap<String, Value>, p: &mut Problems) {
    for (k, item) in m {
        if let Some(f) = fields.iter().find(|f| f.name == *k) {
            p.at(Step::Key(k.clone()), |p| f.collect(item, p));
        } else {
            let names = fields.iter().map(|f| f.name);
            p.out.push(Invalid {
                path: p.path.clone(),
                key: Some(k.clone()),
                message: format!("unknown field `{k}`{}", did_you_mean(k, names)),
            });
        }
    }
    for f in fields.iter().filter(|f| f.required) {
        if !m.contains_key(f.name) {
            p.push(format!("missing required field `{}`", f.name));
        }
    }
}

/// The broken `rules` of a table, or of each table of a list.
fn rule_problems(rules: &[Rule], fields: &[Field], v: &Value, p: &mut Problems) {
    match v {
        Value::Map(m) => {
            for (key, message) in rules.iter().filter_map(|r| r.problem(fields, m)) {
                p.out
                    .push(Invalid { path: p.path.clone(), key: Some(key), message });
            }
        }
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                p.at(Step::Index(i), |p| rule_problems(rules, fields, item, p));
            }
        }
        _ => {}
    }
}

/// "1 item", "2 items".
fn items_text(n: usize) -> String {
    format!("{n} item{}", if n == 1 { "" } else { "s" })
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

/// ` (did you mean `x`?)` when a candidate is close enough, else "": a few
/// edits away (typos, swapped letters), or the word cut short (`vpc` for
/// `vpc_id`). Two names that only share a long prefix are not close
/// (`deployment_configuration` is not `deployment_circuit_breaker`).
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let score = |c: &str| {
        let edits = strsim::normalized_damerau_levenshtein(word, c);
        let cut_short = word.len() >= 3 && c.starts_with(word);
        if edits >= 0.6 || cut_short {
            Some(edits)
        } else {
            None
        }
    };
    candidates
        .into_iter()
        .filter_map(|c| Some((score(c)?, c)))
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
    fn numbers_take_fractions_and_whole_ones_compare_equal_however_written() {
        assert!(Type::Number.check(&Value::Float(0.5)).is_ok());
        assert!(Type::Number.check(&Value::Int(80)).is_ok());
        assert!(Type::Number.check(&Value::str("${var.t}")).is_ok());
        let err = Type::Number.check(&Value::str("80")).unwrap_err();
        assert_eq!(err, "expected number, found string");
        assert_eq!(
            Type::Number.normalize(&Value::Float(80.0)),
            Type::Number.normalize(&Value::Int(80))
        );
        assert_eq!(
            Type::Number.normalize(&Value::Float(1.5)),
            Value::Float(1.5)
        );
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
    fn suggestions_are_near_misses_not_names_sharing_a_prefix() {
        let names = ["deployment_circuit_breaker", "desired_count", "from_port"];
        assert_eq!(did_you_mean("deployment_configuration", names), "");
        assert_eq!(
            did_you_mean("form_port", names),
            " (did you mean `from_port`?)"
        );
        assert_eq!(
            did_you_mean("desired", names),
            " (did you mean `desired_count`?)"
        );
        assert_eq!(did_you_mean("bogus", names), "");
    }

    #[test]
    fn every_problem_of_a_value_is_reported_at_its_element() {
        const PORTS: &[Field] = &[
            Field::new("from_port", PORT).required(),
            Field::new("to_port", PORT),
        ];
        let rules = Field::new("ingress", Type::List(&Type::Object(PORTS)));
        let rule = |pairs: &[(&str, i64)]| {
            Value::Map(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::Int(*v)))
                    .collect(),
            )
        };
        let v = Value::List(vec![
            rule(&[("form_port", 80), ("from_port", 80)]),
            rule(&[("from_port", 80), ("to_port", 70000), ("bogus", 1)]),
        ]);
        let found: Vec<String> = rules
            .problems(&v)
            .iter()
            .map(|i| format!("{} {:?}", i.describe("ingress"), i.key))
            .collect();
        assert_eq!(
            found,
            [
                "`ingress[0]`: unknown field `form_port` (did you mean `from_port`?) Some(\"form_port\")",
                "`ingress[1]`: unknown field `bogus` Some(\"bogus\")",
                "`ingress[1].to_port`: 70000 is out of range: expected 0 to 65535 None",
            ]
        );
    }

    #[test]
    fn names_lengths_counts_and_allowed_numbers_are_checked() {
        let rule = Name {
            min: 1,
            max: 32,
            pattern: "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?",
            rule: "letters, digits and hyphens, not at either end",
        };
        let name = Field::new("name", Type::String).naming(rule);
        assert!(name.check(&Value::str("web-1")).is_ok());
        assert!(name.check(&Value::str("${var.name}")).is_ok());
        let e = name.check(&Value::str("-web")).unwrap_err();
        assert_eq!(
            e,
            "\"-web\" is not a valid name: letters, digits and hyphens, not at either end"
        );
        let e = name.check(&Value::str("a".repeat(33))).unwrap_err();
        assert!(
            e.ends_with("is 33 characters long: AWS accepts 1 to 32"),
            "{e}"
        );
        let days = Field::new("days", Type::Int).one_of(&["1", "3", "7"]);
        assert!(days.check(&Value::Int(7)).is_ok());
        let e = days.check(&Value::Int(2)).unwrap_err();
        assert_eq!(e, "2 is not allowed: expected one of 1, 3, 7");
        let two = Field::new("azs", Type::List(&Type::String)).max_items(2);
        let e = two
            .check(&Value::from(vec![
                "a".to_owned(),
                "b".to_owned(),
                "c".to_owned(),
            ]))
            .unwrap_err();
        assert_eq!(e, "takes at most 2 items, found 3");
    }

    #[test]
    fn templates_and_unknowns_pass_any_type_check() {
        assert!(Type::Int.check(&Value::str("${var.n}")).is_ok());
        assert!(Type::Bool.check(&Value::Unknown).is_ok());
        assert!(Type::Int.check(&Value::str("x")).is_err());
    }
}
