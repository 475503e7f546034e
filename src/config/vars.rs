//! `[variables.*]`: declarations, values from `--var` and the environment,
//! and their checks — all before any AWS call.

use std::collections::BTreeMap;

use crate::config::Loc;
use crate::schema::did_you_mean;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    String,
    Number,
    Bool,
    List,
    Map,
}

#[derive(Debug, Clone)]
pub struct VarDecl {
    pub ty: VarType,
    pub default: Option<Value>,
    pub description: String,
    pub sensitive: bool,
    pub allowed_values: Vec<Value>,
    pub pattern: Option<regex::Regex>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    /// The value of the last successful apply is recorded in the state and
    /// used by a later run that gives none (a deploy channel).
    pub persist: bool,
}

/// Where a variable's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VarSource {
    /// `--var` or `--var-file`.
    Cli,
    /// `RECONCILE_VAR_<name>`.
    Env,
    /// Typed in at the prompt.
    Prompt,
    /// Recorded in the state by the last successful apply.
    Persisted,
    Default,
}

impl VarSource {
    /// Given on this run (not persisted nor the default).
    pub fn is_given(self) -> bool {
        matches!(self, VarSource::Cli | VarSource::Env | VarSource::Prompt)
    }

    /// The source as `reconcile vars` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            VarSource::Cli => "--var",
            VarSource::Env => "RECONCILE_VAR_",
            VarSource::Prompt => "the prompt",
            VarSource::Persisted => "persisted",
            VarSource::Default => "default",
        }
    }

    /// `given`, `persisted` or `default`.
    pub fn class(self) -> &'static str {
        match self {
            VarSource::Persisted => "persisted",
            VarSource::Default => "default",
            _ => "given",
        }
    }
}

const FIELDS: &[&str] = &[
    "type",
    "default",
    "description",
    "sensitive",
    "allowed_values",
    "pattern",
    "min_length",
    "max_length",
    "persist",
];

type FieldError = (Option<String>, String);

impl VarType {
    /// `type = "..."`; unset is a string.
    fn parse(v: Option<&Value>) -> Option<VarType> {
        Some(match v.map(Value::as_str) {
            None | Some(Some("string")) => VarType::String,
            Some(Some("number")) => VarType::Number,
            Some(Some("bool")) => VarType::Bool,
            Some(Some("list")) => VarType::List,
            Some(Some("map")) => VarType::Map,
            Some(_) => return None,
        })
    }
}

impl VarDecl {
    /// Parses a declaration; an error names the offending field.
    pub fn parse(
        name: &str,
        fields: &BTreeMap<String, (Value, Loc)>,
    ) -> Result<VarDecl, FieldError> {
        let err = |f: &str, m: String| Err((Some(f.to_owned()), format!("variable `{name}`: {m}")));
        if let Some(k) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            let hint = did_you_mean(k, FIELDS.iter().copied());
            return err(k, format!("unknown field `{k}`{hint}"));
        }
        let get = |f: &str| fields.get(f).map(|(v, _)| v);
        let Some(ty) = VarType::parse(get("type")) else {
            return err(
                "type",
                "`type` must be one of string, number, bool, list, map".into(),
            );
        };
        let bool_of = |f: &str| -> Result<bool, FieldError> {
            match get(f) {
                None => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err((
                    Some(f.to_owned()),
                    format!("variable `{name}`: `{f}` must be true or false"),
                )),
            }
        };
        let usize_of = |f: &str| -> Result<Option<usize>, FieldError> {
            match get(f) {
                None => Ok(None),
                Some(v) => v
                    .as_int()
                    .and_then(|i| usize::try_from(i).ok())
                    .map(Some)
                    .ok_or((
                        Some(f.to_owned()),
                        format!("variable `{name}`: `{f}` must be a non-negative integer"),
                    )),
            }
        };
        let pattern = match get("pattern") {
            None => None,
            Some(Value::Str(p)) => match regex::Regex::new(p) {
                Ok(r) => Some(r),
                Err(e) => return err("pattern", format!("invalid pattern: {e}")),
            },
            Some(_) => return err("pattern", "`pattern` must be a string".into()),
        };
        let decl = VarDecl {
            ty,
            default: get("default").cloned(),
            description: get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            sensitive: bool_of("sensitive")?,
            allowed_values: match get("allowed_values") {
                None => Vec::new(),
                Some(Value::List(l)) => l.clone(),
                Some(_) => return err("allowed_values", "`allowed_values` must be a list".into()),
            },
            pattern,
            min_length: usize_of("min_length")?,
            max_length: usize_of("max_length")?,
            persist: bool_of("persist")?,
        };
        if decl.persist && decl.sensitive {
            return err(
                "persist",
                "`persist = true` cannot be combined with `sensitive = true`: the state never holds a secret (pass it on every run, or from RECONCILE_VAR_<name>)".into(),
            );
        }
        if let Some(d) = &decl.default
            && let Err(m) = decl.check(d)
        {
            return err("default", format!("default value: {m}"));
        }
        Ok(decl)
    }

    /// Checks a value against the declaration; the message never contains a
    /// sensitive value.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        let shown = |v: &Value| {
            if self.sensitive {
                "(sensitive value)".to_owned()
            } else {
                v.to_string()
            }
        };
        let type_ok = matches!(
            (self.ty, v),
            (VarType::String, Value::Str(_))
                | (VarType::Number, Value::Int(_) | Value::Float(_))
                | (VarType::Bool, Value::Bool(_))
                | (VarType::List, Value::List(_))
                | (VarType::Map, Value::Map(_))
        );
        if !type_ok {
            return Err(
                format!("expected a {:?} value, found {}", self.ty, v.type_name()).to_lowercase(),
            );
        }
        if !self.allowed_values.is_empty() && !self.allowed_values.contains(v) {
            let allowed: Vec<String> = self.allowed_values.iter().map(Value::to_string).collect();
            return Err(format!(
                "{} is not one of the allowed values: {}",
                shown(v),
                allowed.join(", ")
            ));
        }
        let len = match v {
            Value::Str(s) => Some(s.chars().count()),
            Value::List(l) => Some(l.len()),
            _ => None,
        };
        if let (Some(len), Some(min)) = (len, self.min_length)
            && len < min
        {
            return Err(format!(
                "{} is shorter than the minimum length {min}",
                shown(v)
            ));
        }
        if let (Some(len), Some(max)) = (len, self.max_length)
            && len > max
        {
            return Err(format!(
                "{} is longer than the maximum length {max}",
                shown(v)
            ));
        }
        if let (Some(p), Value::Str(s)) = (&self.pattern, v)
            && !p.is_match(s)
        {
            return Err(format!(
                "{} does not match the pattern {:?}",
                shown(v),
                p.as_str()
            ));
        }
        Ok(())
    }

    /// A value given as text on the command line or in the environment.
    fn parse_text(&self, text: &str) -> Result<Value, String> {
        match self.ty {
            VarType::String => Ok(Value::str(text)),
            VarType::Number => text
                .parse::<i64>()
                .map(Value::Int)
                .or_else(|_| text.parse::<f64>().map(Value::Float))
                .map_err(|_| "expected a number".to_owned()),
            VarType::Bool => text
                .parse::<bool>()
                .map(Value::Bool)
                .map_err(|_| "expected true or false".to_owned()),
            // Lists and maps are written as TOML: ["a", "b"] or { k = "v" }.
            VarType::List | VarType::Map => {
                let doc = format!("v = {text}");
                let t: toml::Table = doc
                    .parse()
                    .map_err(|_| format!("expected a TOML {:?}", self.ty).to_lowercase())?;
                let j = serde_json::to_value(&t["v"]).map_err(|e| e.to_string())?;
                Ok(Value::from_json(&j))
            }
        }
    }
}

/// Asks the user for a sensitive variable's value (no echo); `None` when
/// nobody can answer.
pub type Prompt<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The value of every declared variable: `--var`, else the environment,
/// else the default. Errors are (variable, message).
pub fn values(
    decls: &BTreeMap<String, VarDecl>,
    cli: &BTreeMap<String, String>,
    env: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>, Vec<(String, String)>> {
    values_prompting(decls, cli, env, &BTreeMap::new(), &|_| None).map(|(v, _)| v)
}

/// Values and where each came from.
pub type Resolved = (BTreeMap<String, Value>, BTreeMap<String, VarSource>);

/// Like `values`, asking `prompt` for a sensitive variable that has no value
/// at all; a `persist` variable given no value takes its `persisted` one
/// (recorded by the last successful apply) before its default.
pub fn values_prompting(
    decls: &BTreeMap<String, VarDecl>,
    cli: &BTreeMap<String, String>,
    env: &BTreeMap<String, String>,
    persisted: &BTreeMap<String, Value>,
    prompt: Prompt,
) -> Result<Resolved, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    let mut sources = BTreeMap::new();
    let mut problems = Vec::new();
    for name in cli.keys() {
        if !decls.contains_key(name) {
            let hint = did_you_mean(name, decls.keys().map(String::as_str));
            problems.push((
                name.clone(),
                format!("--var {name}: no such variable is declared{hint}"),
            ));
        }
    }
    for (name, d) in decls {
        let asked = (d.sensitive && d.default.is_none() && !cli.contains_key(name))
            .then(|| env.get(name).is_none().then(|| prompt(name)).flatten())
            .flatten();
        let (text, source) = match (cli.get(name), env.get(name), &asked) {
            (Some(t), _, _) => (Some(t), VarSource::Cli),
            (None, Some(t), _) => (Some(t), VarSource::Env),
            (None, None, Some(t)) => (Some(t), VarSource::Prompt),
            (None, None, None) => (None, VarSource::Default),
        };
        let kept = persisted.get(name).filter(|_| d.persist && !d.sensitive);
        let (value, source) = match (text, kept, &d.default) {
            (Some(t), _, _) => match d.parse_text(t) {
                Ok(v) => (v, source),
                Err(m) => {
                    problems.push((
                        name.clone(),
                        format!("variable `{name}` (from {}): {m}", source.as_str()),
                    ));
                    continue;
                }
            },
            (None, Some(p), _) => (p.clone(), VarSource::Persisted),
            (None, None, Some(def)) => (def.clone(), VarSource::Default),
            (None, None, None) => {
                problems.push((
                    name.clone(),
                    format!("variable `{name}` has no value: pass --var {name}=... or set RECONCILE_VAR_{name}"),
                ));
                continue;
            }
        };
        if let Err(m) = d.check(&value) {
            let from = if source == VarSource::Persisted {
                " (the value persisted by the last successful apply; pass a new one with --var)"
            } else {
                ""
            };
            problems.push((name.clone(), format!("variable `{name}`{from}: {m}")));
            continue;
        }
        out.insert(name.clone(), value);
        sources.insert(name.clone(), source);
    }
    if problems.is_empty() {
        Ok((out, sources))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn decl(fields: &[(&str, Value)]) -> VarDecl {
        let loc = Loc { file: PathBuf::from("x.toml"), line: 1, col: 1 };
        let m = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (v.clone(), loc.clone())))
            .collect();
        VarDecl::parse("p", &m).unwrap()
    }

    #[test]
    fn only_a_sensitive_variable_without_any_value_is_asked_for() {
        let secret = decl(&[("sensitive", Value::Bool(true))]);
        let plain = decl(&[]);
        let decls: BTreeMap<String, VarDecl> = [
            ("password".to_owned(), secret.clone()),
            ("given".to_owned(), secret),
            ("name".to_owned(), plain),
        ]
        .into();
        let cli: BTreeMap<String, String> = [("given".to_owned(), "x".to_owned())].into();
        let asked = std::cell::RefCell::new(Vec::new());
        let prompt = |n: &str| {
            asked.borrow_mut().push(n.to_owned());
            Some("typed-in".to_owned())
        };
        let (none, kept) = (BTreeMap::new(), BTreeMap::new());
        let errs = values_prompting(&decls, &cli, &none, &kept, &prompt).unwrap_err();
        assert_eq!(*asked.borrow(), ["password"]);
        // The plain variable still has no value; the typed one is taken.
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "name");
        let cli: BTreeMap<String, String> = [
            ("given".to_owned(), "x".to_owned()),
            ("name".to_owned(), "n".to_owned()),
        ]
        .into();
        let (v, sources) = values_prompting(&decls, &cli, &none, &kept, &prompt).unwrap();
        assert_eq!(v["password"], Value::str("typed-in"));
        assert_eq!(sources["password"], VarSource::Prompt);
    }

    #[test]
    fn a_sensitive_value_that_breaks_its_pattern_is_not_revealed() {
        let d = decl(&[
            ("sensitive", Value::Bool(true)),
            ("pattern", Value::str("^[a-z]{10,}$")),
        ]);
        let err = d.check(&Value::str("hunter2")).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("does not match"), "{err}");
    }

    #[test]
    fn command_line_wins_over_environment_and_default() {
        let mut decls = BTreeMap::new();
        decls.insert(
            "n".to_owned(),
            decl(&[("type", Value::str("number")), ("default", Value::Int(1))]),
        );
        let cli = BTreeMap::from([("n".to_owned(), "3".to_owned())]);
        let env = BTreeMap::from([("n".to_owned(), "2".to_owned())]);
        assert_eq!(values(&decls, &cli, &env).unwrap()["n"], Value::Int(3));
        assert_eq!(
            values(&decls, &BTreeMap::new(), &env).unwrap()["n"],
            Value::Int(2)
        );
        assert_eq!(
            values(&decls, &BTreeMap::new(), &BTreeMap::new()).unwrap()["n"],
            Value::Int(1)
        );
    }

    #[test]
    fn allowed_values_lengths_and_missing_values_are_errors() {
        let d = decl(&[(
            "allowed_values",
            Value::List(vec![Value::str("a"), Value::str("b")]),
        )]);
        assert!(
            d.check(&Value::str("c"))
                .unwrap_err()
                .contains("allowed values")
        );
        let d = decl(&[("min_length", Value::Int(3))]);
        assert!(
            d.check(&Value::str("ab"))
                .unwrap_err()
                .contains("minimum length 3")
        );
        let decls = BTreeMap::from([("x".to_owned(), decl(&[]))]);
        let errs = values(&decls, &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
        assert!(errs[0].1.contains("--var x="), "{errs:?}");
    }

    #[test]
    fn lists_are_given_as_toml() {
        let d = decl(&[("type", Value::str("list"))]);
        assert_eq!(
            d.parse_text("[\"a\", \"b\"]").unwrap(),
            Value::List(vec![Value::str("a"), Value::str("b")])
        );
    }

    #[test]
    fn a_persisted_value_comes_after_a_given_one_and_before_the_default() {
        let d = decl(&[
            ("persist", Value::Bool(true)),
            ("default", Value::str("nginx:1.27")),
        ]);
        let decls = BTreeMap::from([("image".to_owned(), d)]);
        let none = BTreeMap::new();
        let persisted = BTreeMap::from([("image".to_owned(), Value::str("nginx:1.28"))]);
        let (v, s) = values_prompting(&decls, &none, &none, &persisted, &|_| None).unwrap();
        assert_eq!(v["image"], Value::str("nginx:1.28"));
        assert_eq!(s["image"], VarSource::Persisted);
        let cli = BTreeMap::from([("image".to_owned(), "nginx:1.29".to_owned())]);
        let (v, s) = values_prompting(&decls, &cli, &none, &persisted, &|_| None).unwrap();
        assert_eq!(v["image"], Value::str("nginx:1.29"));
        assert_eq!(s["image"], VarSource::Cli);
        let (v, s) = values_prompting(&decls, &none, &none, &BTreeMap::new(), &|_| None).unwrap();
        assert_eq!(v["image"], Value::str("nginx:1.27"));
        assert_eq!(s["image"], VarSource::Default);
        // A variable without `persist` ignores what a state may hold.
        let plain = BTreeMap::from([("image".to_owned(), decl(&[("default", Value::str("a"))]))]);
        let (v, _) = values_prompting(&plain, &none, &none, &persisted, &|_| None).unwrap();
        assert_eq!(v["image"], Value::str("a"));
    }

    #[test]
    fn persist_with_sensitive_is_refused_at_the_persist_field() {
        let loc = Loc { file: PathBuf::from("x.toml"), line: 1, col: 1 };
        let m = [
            ("persist", Value::Bool(true)),
            ("sensitive", Value::Bool(true)),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (v.clone(), loc.clone())))
        .collect();
        let (field, msg) = VarDecl::parse("p", &m).unwrap_err();
        assert_eq!(field.as_deref(), Some("persist"));
        assert!(msg.contains("never holds a secret"), "{msg}");
    }
}
