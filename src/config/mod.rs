//! Loading the desired state: one TOML file or every `*.toml` of a
//! directory, merged; variables; references; validation against the kinds'
//! schemas. Every error names file:line:col or the resource address.

mod assume_role;
mod expand;
pub mod graph;
pub mod lookup;
pub mod template;
pub mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::graph::Graph;
use crate::kinds::{self, Kind};
pub use crate::lifecycle::{DeletionPolicy, Lifecycle, TimeoutOverrides};
use crate::schema::{Step, did_you_mean};
use crate::value::Value;
pub use assume_role::AssumeRole;
use lookup::{Lookup, LookupKind};
use template::{Ref, StackField, Template, Templates};
pub use vars::{VarDecl, VarSource, VarType};

/// A place in a desired-state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// One problem in the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub loc: Option<Loc>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// Every problem found, so one run shows them all.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError(pub Vec<Problem>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "the desired state has {n} error{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct Resource {
    pub address: String,
    pub kind: &'static dyn Kind,
    /// As written, with every `${...}` parsed and its references absolute.
    pub attrs: Templates,
    /// Every resource this one must wait for: references plus `depends_on`.
    pub deps: BTreeSet<String>,
    /// Attributes whose value comes from a sensitive variable.
    pub sensitive_attrs: BTreeSet<String>,
    pub lifecycle: Lifecycle,
    /// `region = "…"`: the region this resource lives in, when not the
    /// stack's (a CloudFront certificate in us-east-1).
    pub region: Option<String>,
    pub loc: Loc,
    /// Where each attribute is written (for located warnings).
    pub attr_locs: BTreeMap<String, Loc>,
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("address", &self.address)
            .field("attrs", &self.attrs)
            .field("deps", &self.deps)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub stack: String,
    pub region: String,
    pub variables: BTreeMap<String, VarDecl>,
    /// Final values of every variable, checked against its declaration.
    pub var_values: BTreeMap<String, Value>,
    /// Where each value came from (given, persisted, default).
    pub var_sources: BTreeMap<String, VarSource>,
    /// Where each variable is declared.
    pub var_locs: BTreeMap<String, Loc>,
    pub resources: BTreeMap<String, Resource>,
    /// Output name → template.
    pub outputs: BTreeMap<String, Template>,
    /// Read-only data read at plan time.
    pub lookups: BTreeMap<String, Lookup>,
    /// Every file read, for fingerprinting saved plans.
    pub files: Vec<PathBuf>,
    /// Where the state lives; `None` is the local file.
    pub backend: Option<Backend>,
    /// The resources' dependencies, checked free of cycles at load; the
    /// planner and `reconcile graph` use this one.
    pub graph: Graph,
    /// `[stack] assume_role`: the role the stack's AWS calls run as.
    pub assume_role: Option<AssumeRole>,
}

/// `[backend]`: the state kept in S3 and locked with a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub bucket: String,
    pub key: String,
    pub region: String,
    /// The role that reads and writes the state (its own account).
    pub assume_role: Option<AssumeRole>,
}

impl Config {
    /// The value of `stack.name` or `stack.region`.
    pub fn stack_value(&self, field: StackField) -> Value {
        Value::str(match field {
            StackField::Name => &self.stack,
            StackField::Region => &self.region,
        })
    }

    /// The value of `var.<name>`, as references resolve it.
    pub fn var_value(&self, name: &str) -> Result<Value, String> {
        self.var_values
            .get(name)
            .cloned()
            .ok_or_else(|| format!("variable `{name}` has no value"))
    }

    /// True when the value of a reference must never be shown.
    pub fn is_sensitive_var(&self, name: &str) -> bool {
        self.variables.get(name).is_some_and(|v| v.sensitive)
    }

    /// True when an output's template uses a sensitive variable.
    pub fn is_sensitive_output(&self, name: &str) -> bool {
        self.outputs.get(name).is_some_and(|t| {
            t.refs()
                .iter()
                .any(|r| matches!(r, Ref::Var(v) if self.is_sensitive_var(v)))
        })
    }
}

const RESERVED: &[&str] = &[
    "stack",
    "variables",
    "outputs",
    "lookups",
    "modules",
    "backend",
];
const META_FIELDS: &[&str] = &[
    "depends_on",
    "lifecycle",
    "timeouts",
    "count",
    "for_each",
    "enabled",
    "region",
];

/// Whether `s` reads as an AWS region name (`us-east-1`, `us-gov-west-1`).
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Loads `path` (a file, or every `*.toml` of a directory in name order).
/// `cli_vars` are `--var` values; `env_vars` are `RECONCILE_VAR_*` values
/// (the command line wins).
pub fn load(
    path: &Path,
    cli_vars: &BTreeMap<String, String>,
    env_vars: &BTreeMap<String, String>,
) -> Result<Config, ConfigError> {
    load_prompting(path, cli_vars, env_vars, &|_| None)
}

/// Like `load`, asking `prompt` for sensitive variables given no value.
pub fn load_prompting(
    path: &Path,
    cli_vars: &BTreeMap<String, String>,
    env_vars: &BTreeMap<String, String>,
    prompt: vars::Prompt,
) -> Result<Config, ConfigError> {
    load_with(path, cli_vars, env_vars, &BTreeMap::new(), prompt)
}

/// Like `load_prompting`; a `persist` variable given no value takes its
/// value in `persisted` (from the state) before its default.
pub fn load_with(
    path: &Path,
    cli_vars: &BTreeMap<String, String>,
    env_vars: &BTreeMap<String, String>,
    persisted: &BTreeMap<String, Value>,
    prompt: vars::Prompt,
) -> Result<Config, ConfigError> {
    let (files, loader) = parse_dir(path, false)?;
    loader.finish(cli_vars, env_vars, persisted, prompt, files)
}

/// What the desired state says about where its state lives and where the
/// stack runs, read without checking anything else.
#[derive(Debug, Clone)]
pub struct Located {
    pub stack: String,
    pub region: String,
    pub backend: Option<Backend>,
    /// Whether any variable is persisted in the state.
    pub persist: bool,
    /// The account of the role `[stack] assume_role` names, if any.
    pub account: Option<String>,
}

/// `Located` of the desired state; `None` when the files do not even name
/// the stack (the full load then reports why).
pub fn locate(path: &Path) -> Option<Located> {
    let (_, loader) = parse_dir(path, false).ok()?;
    let (stack, region, _) = loader.stack.as_ref()?;
    Some(Located {
        stack: stack.clone(),
        region: region.clone(),
        backend: loader.backend.as_ref().map(|(b, _)| b.clone()),
        persist: loader.variables.values().any(|(d, _)| d.persist),
        account: loader
            .stack_role
            .as_ref()
            .and_then(|r| r.role_arn.split(':').nth(4))
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
    })
}

/// Loads one desired-state file given as bytes, as if read from `file`
/// (the fuzz target in fuzz/ feeds the loader this way).
pub fn load_bytes(
    file: &Path,
    bytes: &[u8],
    cli_vars: &BTreeMap<String, String>,
    env_vars: &BTreeMap<String, String>,
) -> Result<Config, ConfigError> {
    let mut loader = Loader::default();
    loader.bytes(file, bytes);
    loader.finish(
        cli_vars,
        env_vars,
        &BTreeMap::new(),
        &|_| None,
        vec![file.to_owned()],
    )
}

/// Parses every file of a desired state or a module, without checking
/// references yet.
fn parse_dir(path: &Path, is_module: bool) -> Result<(Vec<PathBuf>, Loader), ConfigError> {
    let files = files_of(path)?;
    let mut loader = Loader { is_module, ..Loader::default() };
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| {
            ConfigError(vec![Problem {
                loc: None,
                message: format!("cannot read {}: {e}", f.display()),
            }])
        })?;
        loader.bytes(f, &bytes);
    }
    Ok((files, loader))
}

fn files_of(path: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let err = |message: String| ConfigError(vec![Problem { loc: None, message }]);
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    if !path.is_dir() {
        return Err(err(format!(
            "desired state {} does not exist (pass --desired <FILE|DIR>)",
            path.display()
        )));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| err(format!("cannot read directory {}: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(err(format!("no *.toml files in {}", path.display())));
    }
    Ok(files)
}

/// Converts byte offsets to line and column, per file.
struct Lines<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Lines<'_> {
    fn loc(&self, offset: usize) -> Loc {
        let mut end = offset.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &self.text[..end];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Loc { file: self.file.to_owned(), line, col }
    }
}

/// A value as written, with where it was written (for reference errors).
struct Raw {
    address: String,
    kind: &'static dyn Kind,
    attrs: Templates,
    /// Each top-level attribute's location, and each string's location.
    attr_locs: BTreeMap<String, Loc>,
    depends_on: Vec<(String, Loc)>,
    lifecycle: Lifecycle,
    region: Option<String>,
    meta: expand::Meta,
    loc: Loc,
}

/// One directory of desired-state files as written: the root stack or a
/// module.
#[derive(Default)]
struct Loader {
    /// A module: no `[stack]` or `[lookups]` of its own.
    is_module: bool,
    problems: Vec<Problem>,
    modules: BTreeMap<String, expand::ModuleCall>,
    stack: Option<(String, String, Loc)>,
    variables: BTreeMap<String, (VarDecl, Loc)>,
    resources: BTreeMap<String, Raw>,
    outputs: BTreeMap<String, (Template, Loc)>,
    lookups: BTreeMap<String, Lookup>,
    backend: Option<(Backend, Loc)>,
    /// `[stack] assume_role`.
    stack_role: Option<AssumeRole>,
}

impl Loader {
    fn backend_table(&mut self, lines: &Lines, value: &Spanned<DeValue>, loc: Loc) {
        let Some(t) = self.table(lines, value, "[backend]") else {
            return;
        };
        const FIELDS: [&str; 5] = ["type", "bucket", "key", "region", "assume_role"];
        let mut fields: BTreeMap<&str, String> = BTreeMap::new();
        let mut role = None;
        for (k, v) in t {
            let key = k.get_ref().as_ref();
            if key == "assume_role" {
                role = self.assume_role(lines, v, "backend");
                continue;
            }
            match (FIELDS.iter().find(|f| **f == key), v.get_ref()) {
                (Some(f), DeValue::String(s)) => {
                    fields.insert(f, s.to_string());
                }
                (Some(_), other) => self.problem(
                    lines.loc(v.span().start),
                    format!(
                        "[backend] `{key}`: expected a string, found {}",
                        other.type_str()
                    ),
                ),
                (None, _) => {
                    let hint = did_you_mean(key, FIELDS);
                    self.problem(
                        lines.loc(k.span().start),
                        format!("unknown field `{key}` in [backend]{hint}"),
                    );
                }
            }
        }
        if let Some((_, first)) = &self.backend {
            let first = first.clone();
            self.problem(
                loc,
                format!("[backend] is defined twice (first at {first})"),
            );
            return;
        }
        match fields.get("type").map(String::as_str) {
            Some("s3") => {}
            Some("local") => return,
            other => {
                self.problem(
                    loc,
                    format!(
                        "[backend] `type` must be \"s3\" or \"local\", found {}",
                        other.map_or("nothing".to_owned(), |t| format!("{t:?}"))
                    ),
                );
                return;
            }
        }
        let mut get = |f: &str| {
            if let Some(v) = fields.get(f).filter(|v| !v.is_empty()) {
                Some(v.clone())
            } else {
                self.problems.push(Problem {
                    loc: Some(loc.clone()),
                    message: format!("[backend] of type \"s3\" is missing required field `{f}`"),
                });
                None
            }
        };
        let (bucket, key, region) = (get("bucket"), get("key"), get("region"));
        if let (Some(bucket), Some(key), Some(region)) = (bucket, key, region) {
            self.backend = Some((Backend { bucket, key, region, assume_role: role }, loc));
        }
    }

    fn assume_role(
        &mut self,
        lines: &Lines,
        value: &Spanned<DeValue>,
        table: &str,
    ) -> Option<AssumeRole> {
        assume_role::parse(lines, value, table)
            .map_err(|ps| self.problems.extend(ps))
            .ok()
    }

    fn lookups_table(&mut self, lines: &Lines, value: &Spanned<DeValue>) {
        let Some(t) = self.table(lines, value, "[lookups]") else {
            return;
        };
        for (k, v) in t {
            let name = k.get_ref().to_string();
            let loc = lines.loc(k.span().start);
            let Some(body) = self.table(lines, v, &format!("lookup `{name}`")) else {
                continue;
            };
            let field = |f: &str| {
                body.iter()
                    .find(|(k, _)| k.get_ref().as_ref() == f)
                    .map(|(_, v)| to_value(v.get_ref()))
            };
            let kind = field("type").and_then(|t| t.as_str().and_then(LookupKind::parse));
            let Some(kind) = kind else {
                self.problem(
                    loc,
                    format!(
                        "lookup `{name}`: `type` must be one of {}",
                        LookupKind::NAMES.join(", ")
                    ),
                );
                continue;
            };
            for (k, _) in body {
                let key = k.get_ref().as_ref();
                if key != "type" && !kind.fields().contains(&key) {
                    let hint = did_you_mean(key, kind.fields().iter().copied());
                    self.problem(
                        lines.loc(k.span().start),
                        format!("lookup `{name}`: unknown field `{key}`{hint}"),
                    );
                }
            }
            let text = |f: &str| field(f).and_then(|v| v.as_str().map(str::to_owned));
            let parameter = text("name");
            let named = [LookupKind::SsmParameter, LookupKind::Route53Zone];
            if named.contains(&kind) && parameter.is_none() {
                let ty = LookupKind::NAMES
                    .iter()
                    .find(|n| LookupKind::parse(n) == Some(kind))
                    .unwrap_or(&"this");
                self.problem(loc, format!("lookup `{name}`: a {ty} lookup needs `name`"));
                continue;
            }
            let private = field("private").and_then(|p| p.as_bool());
            if field("private").is_some() && private.is_none() {
                self.problem(
                    loc,
                    format!(
                        "lookup `{name}`: `private` is a true or false of a route53_zone lookup"
                    ),
                );
                continue;
            }
            let state = match (text("path"), text("bucket"), text("key")) {
                _ if kind != LookupKind::StackOutputs => None,
                (Some(path), None, None) => Some(lookup::StateSource::File(path.into())),
                (None, Some(bucket), Some(key)) => {
                    Some(lookup::StateSource::S3 { bucket, key, region: text("region") })
                }
                _ => {
                    self.problem(
                        loc,
                        format!(
                            "lookup `{name}`: a stack_outputs lookup reads the other stack's state from `path` (its local state file) or from `bucket` and `key` (its S3 backend), one of the two"
                        ),
                    );
                    continue;
                }
            };
            let at = loc.to_string();
            self.lookups
                .insert(name, Lookup { kind, name: parameter, state, at, private });
        }
    }

    /// A value's templates, parsed once; a syntax error is reported at its
    /// place (after `what`) and the value kept as written, so that it is not
    /// also reported as missing.
    fn template(&mut self, value: Value, loc: &Loc, what: impl FnOnce() -> String) -> Template {
        match Template::parse(&value) {
            Ok(t) => t,
            Err((offset, m)) => {
                let mut at = loc.clone();
                at.col += offset + 1;
                self.problem(at, format!("{}: {m}", what()));
                Template::Lit(value)
            }
        }
    }

    fn problem(&mut self, loc: Loc, message: impl Into<String>) {
        self.problems
            .push(Problem { loc: Some(loc), message: message.into() });
    }

    /// One file's contents, which TOML requires to be UTF-8.
    fn bytes(&mut self, file: &Path, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.file(file, text),
            Err(e) => self.not_utf8(file, bytes, e),
        }
    }

    /// A file that is not UTF-8: where the first bad byte is.
    fn not_utf8(&mut self, file: &Path, bytes: &[u8], e: std::str::Utf8Error) {
        let good = e.valid_up_to();
        let text = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
        let loc = Lines { file, text }.loc(good);
        self.problem(
            loc,
            format!(
                "not valid UTF-8 (byte 0x{:02x}): a desired-state file must be UTF-8 text",
                bytes[good]
            ),
        );
    }

    fn file(&mut self, file: &Path, text: &str) {
        let lines = Lines { file, text };
        let doc = match DeTable::parse(text) {
            Ok(doc) => doc.into_inner(),
            Err(e) => {
                let loc = lines.loc(e.span().map_or(0, |s| s.start));
                self.problem(loc, format!("TOML syntax error: {}", e.message().trim()));
                return;
            }
        };
        for (key, value) in &doc {
            let key_loc = lines.loc(key.span().start);
            let name = key.get_ref().as_ref();
            match name {
                "stack" | "lookups" | "backend" if self.is_module => self.problem(
                    key_loc,
                    format!("`[{name}]` belongs to the root stack, not to a module"),
                ),
                "modules" => self.modules_table(&lines, value),
                "stack" => self.stack_table(&lines, value, key_loc),
                "variables" => self.variables_table(&lines, value),
                "outputs" => self.outputs_table(&lines, value),
                "lookups" => self.lookups_table(&lines, value),
                "backend" => self.backend_table(&lines, value, key_loc),
                kind => self.kind_table(&lines, kind, value, key_loc),
            }
        }
    }

    fn stack_table(&mut self, lines: &Lines, value: &Spanned<DeValue>, loc: Loc) {
        let Some(t) = self.table(lines, value, "[stack]") else {
            return;
        };
        let mut name = None;
        let mut region = None;
        for (k, v) in t {
            let kloc = lines.loc(k.span().start);
            match (k.get_ref().as_ref(), v.get_ref()) {
                ("name", DeValue::String(s)) => name = Some(s.to_string()),
                ("region", DeValue::String(s)) => region = Some(s.to_string()),
                ("assume_role", _) => self.stack_role = self.assume_role(lines, v, "stack"),
                (field @ ("name" | "region"), other) => self.problem(
                    lines.loc(v.span().start),
                    format!(
                        "[stack] `{field}`: expected a string, found {}",
                        other.type_str()
                    ),
                ),
                (other, _) => {
                    let hint = did_you_mean(other, ["name", "region", "assume_role"]);
                    self.problem(kloc, format!("unknown field `{other}` in [stack]{hint}"));
                }
            }
        }
        if let Some((_, _, first)) = &self.stack {
            let first = first.clone();
            self.problem(loc, format!("[stack] is defined twice (first at {first})"));
            return;
        }
        match (name, region) {
            (Some(n), Some(r)) => {
                if !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    || n.is_empty()
                {
                    self.problem(
                        loc.clone(),
                        format!("stack name {n:?} may only hold letters, digits, `-` and `_`"),
                    );
                }
                self.stack = Some((n, r, loc));
            }
            (None, _) => self.problem(loc, "[stack] is missing required field `name`"),
            (_, None) => self.problem(loc, "[stack] is missing required field `region`"),
        }
    }

    fn table<'v, 'i>(
        &mut self,
        lines: &Lines,
        value: &'v Spanned<DeValue<'i>>,
        what: &str,
    ) -> Option<&'v DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.problem(
                    lines.loc(value.span().start),
                    format!("{what} must be a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn variables_table(&mut self, lines: &Lines, value: &Spanned<DeValue>) {
        let Some(t) = self.table(lines, value, "[variables]") else {
            return;
        };
        for (k, v) in t {
            let name = k.get_ref().to_string();
            let loc = lines.loc(k.span().start);
            let Some(decl) = self.table(lines, v, &format!("variable `{name}`")) else {
                continue;
            };
            let fields: BTreeMap<String, (Value, Loc)> = decl
                .iter()
                .map(|(k, v)| {
                    (
                        k.get_ref().to_string(),
                        (to_value(v.get_ref()), lines.loc(v.span().start)),
                    )
                })
                .collect();
            match VarDecl::parse(&name, &fields) {
                Ok(d) => {
                    if let Some((_, first)) = self.variables.get(&name) {
                        let first = first.clone();
                        self.problem(
                            loc,
                            format!("variable `{name}` is declared twice (first at {first})"),
                        );
                    } else {
                        self.variables.insert(name, (d, loc));
                    }
                }
                Err((field, msg)) => {
                    let at = field
                        .and_then(|f| fields.get(&f).map(|(_, l)| l.clone()))
                        .unwrap_or(loc);
                    self.problem(at, msg);
                }
            }
        }
    }

    /// `[modules.<name>]`: `source`, `count` / `for_each` / `enabled`, and
    /// the module's variables.
    fn modules_table(&mut self, lines: &Lines, value: &Spanned<DeValue>) {
        let Some(t) = self.table(lines, value, "[modules]") else {
            return;
        };
        for (k, v) in t {
            let name = k.get_ref().to_string();
            let loc = lines.loc(k.span().start);
            let Some(body) = self.table(lines, v, &format!("module `{name}`")) else {
                continue;
            };
            let mut call = expand::ModuleCall {
                source: String::new(),
                base: lines
                    .file
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                args: BTreeMap::new(),
                meta: expand::Meta::default(),
                loc: loc.clone(),
            };
            for (k, v) in body {
                let key = k.get_ref().to_string();
                let vloc = lines.loc(v.span().start);
                let value = to_value(v.get_ref());
                match key.as_str() {
                    "source" => match value {
                        Value::Str(s) => call.source = s,
                        other => self.problem(
                            vloc,
                            format!(
                                "module `{name}`: `source` must be a path, found {}",
                                other.type_name()
                            ),
                        ),
                    },
                    "count" => call.meta.count = Some((Template::parse(&value), vloc)),
                    "for_each" => call.meta.for_each = Some((Template::parse(&value), vloc)),
                    "enabled" => call.meta.enabled = Some((Template::parse(&value), vloc)),
                    _ => {
                        let t = self.template(value, &vloc, || format!("module `{name}`: `{key}`"));
                        call.args.insert(key, (t, vloc));
                    }
                }
            }
            if call.source.is_empty() {
                self.problem(
                    loc,
                    format!("module `{name}`: missing `source`, the module's directory (e.g. source = \"modules/vpc\")"),
                );
                continue;
            }
            if call.meta.count.is_some() && call.meta.for_each.is_some() {
                self.problem(
                    loc.clone(),
                    format!("module `{name}`: use `count` or `for_each`, not both"),
                );
            }
            if self.modules.contains_key(&name) {
                self.problem(loc, format!("module `{name}` is defined twice"));
                continue;
            }
            self.modules.insert(name, call);
        }
    }

    fn outputs_table(&mut self, lines: &Lines, value: &Spanned<DeValue>) {
        let Some(t) = self.table(lines, value, "[outputs]") else {
            return;
        };
        for (k, v) in t {
            let loc = lines.loc(v.span().start);
            let name = k.get_ref().to_string();
            if self.outputs.contains_key(&name) {
                self.problem(loc, format!("output `{name}` is defined twice"));
                continue;
            }
            let t = self.template(to_value(v.get_ref()), &loc, || format!("output `{name}`"));
            self.outputs.insert(name, (t, loc));
        }
    }

    fn kind_table(&mut self, lines: &Lines, kind_name: &str, value: &Spanned<DeValue>, loc: Loc) {
        let Some(kind) = kinds::lookup(kind_name) else {
            let hint = did_you_mean(kind_name, kinds::names().chain(RESERVED.iter().copied()));
            self.problem(loc, format!("unknown resource kind `{kind_name}`{hint}"));
            return;
        };
        let Some(t) = self.table(lines, value, &format!("[{kind_name}]")) else {
            return;
        };
        for (k, v) in t {
            let name = k.get_ref().to_string();
            let address = format!("{kind_name}.{name}");
            let loc = lines.loc(k.span().start);
            if let Some(first) = self.resources.get(&address) {
                let first = first.loc.clone();
                self.problem(
                    loc,
                    format!("duplicate resource `{address}` (first defined at {first})"),
                );
                continue;
            }
            let Some(body) = self.table(lines, v, &format!("resource `{address}`")) else {
                continue;
            };
            if let Some(raw) = self.resource(lines, kind, &address, body, loc) {
                self.resources.insert(address, raw);
            }
        }
    }

    /// A meta field of a resource: `depends_on`, `count`, `for_each`,
    /// `enabled`, `timeouts` or `lifecycle`.
    fn meta_field(&mut self, raw: &mut Raw, key: &str, value: Value, kloc: Loc, vloc: Loc) {
        let address = raw.address.clone();
        match key {
            "depends_on" => match &value {
                Value::List(items) if items.iter().all(|i| i.as_str().is_some()) => {
                    raw.depends_on = items
                        .iter()
                        .filter_map(|i| Some((i.as_str()?.to_owned(), vloc.clone())))
                        .collect();
                }
                _ => self.problem(
                    vloc,
                    format!("{address}: `depends_on` must be a list of resource addresses"),
                ),
            },
            "count" | "for_each" | "enabled" => {
                let slot = match key {
                    "count" => &mut raw.meta.count,
                    "for_each" => &mut raw.meta.for_each,
                    _ => &mut raw.meta.enabled,
                };
                *slot = Some((Template::parse(&value), vloc));
                if raw.meta.count.is_some() && raw.meta.for_each.is_some() {
                    self.problem(
                        kloc,
                        format!("{address}: use `count` or `for_each`, not both"),
                    );
                }
            }
            "region" => match value.as_str() {
                Some(r) if is_region(r) => raw.region = Some(r.to_owned()),
                _ => self.problem(
                    vloc,
                    format!(
                        "{address}: `region` must be an AWS region written out, such as \"us-east-1\", found {value}"
                    ),
                ),
            },
            "timeouts" => match TimeoutOverrides::parse(&value) {
                Ok(t) => raw.lifecycle.timeouts = t,
                Err(m) => self.problem(vloc, format!("{address}: timeouts: {m}")),
            },
            _ => match Lifecycle::parse(&value) {
                Ok(l)
                    if l.deletion_policy == Some(DeletionPolicy::Snapshot)
                        && !raw.kind.can_snapshot() =>
                {
                    self.problem(
                        vloc,
                        format!(
                            "{address}: lifecycle: kind `{}` has no snapshots; deletion_policy must be \"delete\" or \"retain\"",
                            raw.kind.schema().kind
                        ),
                    );
                }
                Ok(l) => raw.lifecycle = Lifecycle { timeouts: raw.lifecycle.timeouts, ..l },
                Err(m) => self.problem(vloc, format!("{address}: lifecycle: {m}")),
            },
        }
    }

    fn resource(
        &mut self,
        lines: &Lines,
        kind: &'static dyn Kind,
        address: &str,
        body: &DeTable,
        loc: Loc,
    ) -> Option<Raw> {
        let schema = kind.schema();
        let mut raw = Raw {
            address: address.to_owned(),
            kind,
            attrs: Templates::new(),
            attr_locs: BTreeMap::new(),
            depends_on: Vec::new(),
            lifecycle: Lifecycle::default(),
            region: None,
            meta: expand::Meta::default(),
            loc: loc.clone(),
        };
        for (k, v) in body {
            let key = k.get_ref().as_ref();
            let kloc = lines.loc(k.span().start);
            let vloc = lines.loc(v.span().start);
            let value = to_value(v.get_ref());
            if META_FIELDS.contains(&key) {
                self.meta_field(&mut raw, key, value, kloc, vloc);
                continue;
            }
            let Some(field) = schema.field(key) else {
                let names = schema
                    .inputs()
                    .map(|f| f.name)
                    .chain(META_FIELDS.iter().copied());
                let hint = did_you_mean(key, names);
                self.problem(
                    kloc,
                    format!(
                        "{address}: unknown field `{key}` for kind `{}`{hint}",
                        schema.kind
                    ),
                );
                continue;
            };
            if field.computed {
                self.problem(
                    kloc,
                    format!("{address}: `{key}` is set by AWS and cannot be set here"),
                );
                continue;
            }
            // A wrong value is reported and kept, so that it is not also
            // reported as missing.
            let invalid = field.problems(&value);
            for i in &invalid {
                let at = lines.loc(element_start(v, &i.path, i.key.as_deref()));
                self.problem(at, format!("{address}: {}", i.describe(key)));
            }
            let t = if invalid.is_empty() {
                self.template(value, &vloc, || format!("{address}: `{key}`"))
            } else {
                Template::Lit(value)
            };
            raw.attrs.insert(key.to_owned(), t);
            raw.attr_locs.insert(key.to_owned(), vloc);
        }
        self.rule_problems(kind, &raw, address);
        for f in schema.inputs().filter(|f| f.required) {
            if !raw.attrs.contains_key(f.name) {
                self.problem(
                    loc.clone(),
                    format!("{address}: missing required field `{}`", f.name),
                );
            }
        }
        Some(raw)
    }

    /// The kind's rules between its fields, on the literal values (a value
    /// with an expression stands as `${…}`: judged by AWS at apply).
    fn rule_problems(&mut self, kind: &dyn Kind, raw: &Raw, address: &str) {
        let values: BTreeMap<String, Value> = raw
            .attrs
            .iter()
            .map(|(k, t)| match t {
                Template::Lit(v) => (k.clone(), v.clone()),
                _ => (k.clone(), Value::str("${…}")),
            })
            .collect();
        for rule in kind.rules() {
            if let Some((key, message)) = rule.problem(kind.schema().fields, &values) {
                let at = raw
                    .attr_locs
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| raw.loc.clone());
                self.problem(at, format!("{address}: `{key}` {message}"));
            }
        }
    }

    fn finish(
        mut self,
        cli_vars: &BTreeMap<String, String>,
        env_vars: &BTreeMap<String, String>,
        persisted: &BTreeMap<String, Value>,
        prompt: vars::Prompt,
        mut files: Vec<PathBuf>,
    ) -> Result<Config, ConfigError> {
        let (stack, region) = self.take_stack();
        let variables: BTreeMap<String, VarDecl> = self
            .variables
            .iter()
            .map(|(k, (d, _))| (k.clone(), d.clone()))
            .collect();
        let (var_values, var_sources) =
            match vars::values_prompting(&variables, cli_vars, env_vars, persisted, prompt) {
                Ok(v) => v,
                Err(ps) => {
                    for (name, m) in ps {
                        let loc = self.variables.get(&name).map(|(_, l)| l.clone());
                        self.problems.push(Problem { loc, message: m });
                    }
                    // Expanding without the variables would only add errors
                    // that follow from these.
                    return Err(ConfigError(self.problems));
                }
            };
        files.extend(self.expand(&var_values, &stack, &region)?);
        let found = self.check_references();
        if !self.problems.is_empty() {
            return Err(ConfigError(self.problems));
        }
        let resources = self.resolve(found);
        let graph = Graph::from_deps(resources.iter().map(|(a, r)| (a, &r.deps)))
            .map_err(|m| ConfigError(vec![Problem { loc: None, message: m }]))?;
        Ok(Config {
            stack,
            region,
            variables,
            var_values,
            var_sources,
            var_locs: self
                .variables
                .iter()
                .map(|(k, (_, l))| (k.clone(), l.clone()))
                .collect(),
            resources,
            outputs: self.outputs.into_iter().map(|(k, (v, _))| (k, v)).collect(),
            files,
            backend: self.backend.map(|(b, _)| b),
            assume_role: self.stack_role,
            lookups: self.lookups,
            graph,
        })
    }

    /// The stack's name and region; a missing `[stack]` is a problem unless
    /// another one explains it.
    fn take_stack(&mut self) -> (String, String) {
        if let Some((n, r, _)) = self.stack.take() {
            (n, r)
        } else {
            if self.problems.is_empty() {
                self.problems.push(Problem {
                    loc: None,
                    message: "no [stack] table: name the stack and its region, e.g. [stack] name = \"web\" region = \"us-east-1\"".into(),
                });
            }
            (String::new(), String::new())
        }
    }

    /// Modules, count, for_each and enabled: a flat set of resources and
    /// outputs with absolute references. Returns the modules' files.
    fn expand(
        &mut self,
        var_values: &BTreeMap<String, Value>,
        stack: &str,
        region: &str,
    ) -> Result<Vec<PathBuf>, ConfigError> {
        let mut ex = expand::Expander::new(var_values, stack, region);
        let outputs = ex.root(self);
        let expanded_ok = ex.problems.is_empty();
        // A syntax error already reported while loading is not repeated.
        for p in ex.problems {
            if !self.problems.contains(&p) {
                self.problems.push(p);
            }
        }
        if !expanded_ok {
            return Err(ConfigError(std::mem::take(&mut self.problems)));
        }
        self.resources = ex.resources;
        for (name, value) in outputs {
            if let Some(slot) = self.outputs.get_mut(&name) {
                slot.0 = value;
            }
        }
        Ok(ex.files)
    }

    /// Every reference and `depends_on` of the expanded resources and the
    /// outputs checked; per resource (in address order), what it depends on
    /// and which attributes use a sensitive variable.
    fn check_references(&mut self) -> Vec<(BTreeSet<String>, BTreeSet<String>)> {
        let mut found = Vec::with_capacity(self.resources.len());
        let mut problems = Vec::new();
        for raw in self.resources.values() {
            let mut deps = BTreeSet::new();
            let mut sensitive_attrs = BTreeSet::new();
            for (attr, value) in &raw.attrs {
                for r in value.refs() {
                    match self.check_ref(&r, &self.resources) {
                        Ok(Some(dep)) => {
                            deps.insert(dep);
                        }
                        Ok(None) => {
                            if let Ref::Var(v) = &r
                                && self.variables.get(v).is_some_and(|(d, _)| d.sensitive)
                            {
                                sensitive_attrs.insert(attr.clone());
                            }
                        }
                        Err(m) => problems.push(Problem {
                            loc: Some(raw.attr_locs[attr].clone()),
                            message: format!("{}: `{attr}`: {m}", raw.address),
                        }),
                    }
                }
            }
            for (dep, at) in &raw.depends_on {
                if self.resources.contains_key(dep) {
                    deps.insert(dep.clone());
                } else {
                    let hint = did_you_mean(dep, self.resources.keys().map(String::as_str));
                    problems.push(Problem {
                        loc: Some(at.clone()),
                        message: format!(
                            "{}: depends_on names unknown resource `{dep}`{hint}",
                            raw.address
                        ),
                    });
                }
            }
            found.push((deps, sensitive_attrs));
        }
        for (name, (value, loc)) in &self.outputs {
            for r in value.refs() {
                if let Err(m) = self.check_ref(&r, &self.resources) {
                    problems.push(Problem {
                        loc: Some(loc.clone()),
                        message: format!("output `{name}`: {m}"),
                    });
                }
            }
        }
        self.problems.extend(problems);
        found
    }

    /// The expanded resources with what `check_references` found; moved, not
    /// copied: at scale the attribute trees are most of the memory.
    fn resolve(
        &mut self,
        found: Vec<(BTreeSet<String>, BTreeSet<String>)>,
    ) -> BTreeMap<String, Resource> {
        std::mem::take(&mut self.resources)
            .into_iter()
            .zip(found)
            .map(|((address, raw), (deps, sensitive_attrs))| {
                let resource = Resource {
                    address: raw.address,
                    kind: raw.kind,
                    attrs: raw.attrs,
                    deps,
                    sensitive_attrs,
                    lifecycle: raw.lifecycle,
                    region: raw.region,
                    loc: raw.loc,
                    attr_locs: raw.attr_locs,
                };
                (address, resource)
            })
            .collect()
    }

    /// Checks one reference against this scope's variables and lookups and
    /// `resources` (as written, or expanded); returns the address it depends
    /// on, if any. Expansion checks references in their scope with it, and
    /// the loaded stack's absolute ones are checked again with it.
    fn check_ref(
        &self,
        r: &Ref,
        resources: &BTreeMap<String, Raw>,
    ) -> Result<Option<String>, String> {
        match r {
            Ref::Stack(_) => Ok(None),
            Ref::Var(v) => {
                if self.variables.contains_key(v) {
                    Ok(None)
                } else {
                    let hint = did_you_mean(v, self.variables.keys().map(String::as_str));
                    Err(format!("reference to undeclared variable `var.{v}`{hint}"))
                }
            }
            Ref::Lookup { name, attr } => {
                let Some(l) = self.lookups.get(name) else {
                    let hint = did_you_mean(name, self.lookups.keys().map(String::as_str));
                    return Err(format!("reference to unknown lookup `{name}`{hint}"));
                };
                if !l.kind.attributes().contains(&attr.as_str()) {
                    let hint = did_you_mean(attr, l.kind.attributes().iter().copied());
                    return Err(format!("lookup `{name}` has no attribute `{attr}`{hint}"));
                }
                Ok(None)
            }
            Ref::Attr { address, attr } => {
                let Some(target) = resources.get(address) else {
                    let hint = did_you_mean(address, resources.keys().map(String::as_str));
                    return Err(format!("reference to unknown resource `{address}`{hint}"));
                };
                let schema = target.kind.schema();
                if schema.field(attr).is_none() {
                    let hint = did_you_mean(attr, schema.field_names());
                    return Err(format!("`{address}` has no attribute `{attr}`{hint}"));
                }
                Ok(Some(address.clone()))
            }
        }
    }
}

/// Where the element `path` leads to inside `v` starts (at `key`, when the
/// problem is an unknown key of that table): so that every problem of a
/// list or table is located at its own element.
fn element_start(v: &Spanned<DeValue>, path: &[Step], key: Option<&str>) -> usize {
    let mut at = v;
    for step in path {
        let next = match (step, at.get_ref()) {
            (Step::Index(i), DeValue::Array(a)) => a.get(*i),
            (Step::Key(k), DeValue::Table(t)) => t
                .iter()
                .find(|(name, _)| name.get_ref() == k)
                .map(|(_, v)| v),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => return at.span().start,
        }
    }
    if let (Some(k), DeValue::Table(t)) = (key, at.get_ref())
        && let Some((name, _)) = t.iter().find(|(name, _)| name.get_ref() == k)
    {
        return name.span().start;
    }
    at.span().start
}

/// A TOML value as a reconcile value (datetimes become strings).
fn to_value(v: &DeValue) -> Value {
    match v {
        DeValue::String(s) => Value::Str(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(
            i.as_str()
                .replace('_', "")
                .trim_start_matches("0x")
                .trim_start_matches("0o")
                .trim_start_matches("0b"),
            i.radix(),
        )
        .map_or_else(|_| Value::Str(i.as_str().to_owned()), Value::Int),
        DeValue::Float(f) => f
            .as_str()
            .replace('_', "")
            .parse()
            .map_or(Value::Null, Value::Float),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Str(d.to_string()),
        DeValue::Array(a) => Value::List(a.iter().map(|i| to_value(i.get_ref())).collect()),
        DeValue::Table(t) => Value::Map(
            t.iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_value(v.get_ref())))
                .collect(),
        ),
    }
}

/// Every `RECONCILE_VAR_<name>` of the environment.
pub fn env_vars() -> BTreeMap<String, String> {
    std::env::vars()
        .filter_map(|(k, v)| Some((k.strip_prefix("RECONCILE_VAR_")?.to_owned(), v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn load_text(text: &str) -> Result<Config, ConfigError> {
        let none = BTreeMap::new();
        load_bytes(Path::new("main.toml"), text.as_bytes(), &none, &none)
    }

    #[test]
    fn a_resource_sets_its_own_timeouts_over_the_kinds() {
        let c = load_text(
            "[stack]\nname = \"t\"\nregion = \"us-east-1\"\n\n[nat_gateway.a]\nsubnet_id = \"subnet-1\"\nallocation_id = \"eipalloc-1\"\ntimeouts = { create = \"45m\", delete = \"1h 30m\" }\nlifecycle = { prevent_destroy = true }\n",
        )
        .unwrap();
        let r = &c.resources["nat_gateway.a"];
        assert!(r.lifecycle.prevent_destroy);
        let t = r.lifecycle.timeouts;
        assert_eq!(t.create, Some(Duration::from_mins(45)));
        assert_eq!(t.update, None);
        assert_eq!(t.delete, Some(Duration::from_mins(90)));
        let merged = t.over(r.kind.schema().timeouts);
        assert_eq!(merged.create, Duration::from_mins(45));
        assert_eq!(merged.update, r.kind.schema().timeouts.update);
    }

    #[test]
    fn bad_timeouts_are_named() {
        for (t, message) in [
            (
                "{ craete = \"1m\" }",
                "unknown operation `craete` (did you mean `create`?)",
            ),
            (
                "{ create = 30 }",
                "`create`: expected a duration such as \"30m\", found integer",
            ),
            (
                "{ create = \"soon\" }",
                "`create`: invalid duration \"soon\"",
            ),
            ("{ delete = \"2d\" }", "\"2d\" is outside 1s to 24h"),
            ("\"30m\"", "expected a table"),
        ] {
            let err = load_text(&format!(
                "[stack]\nname = \"t\"\nregion = \"us-east-1\"\n\n[vpc.a]\ncidr_block = \"10.0.0.0/16\"\ntimeouts = {t}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(err.contains("main.toml:7:12: vpc.a: timeouts: "), "{err}");
            assert!(err.contains(message), "{t}: {err}");
        }
    }
}
