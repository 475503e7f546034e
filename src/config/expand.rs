//! Turns the desired state as written — modules, `count`, `for_each`,
//! `enabled` — into a flat set of resources with absolute addresses
//! (`module.web.subnet.private["a"]`), before anything else sees it.
//!
//! Every expression is rewritten in its scope: `each.*` and `count.index`
//! become their values, a module's `var.x` becomes the expression its caller
//! passed, `module.m.out` becomes that output's expression, and resource
//! references gain their module prefix and instance key. What remains refers
//! only to the root's variables, the stack, lookups and absolute resource
//! addresses, so dependencies stay at the resource level across modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::template::{
    self, Bound, Expr, ParseError, Part, Ref, Resolve, StackField, Step, Template,
};
use super::{Loader, Loc, Problem, Raw};
use crate::schema::did_you_mean;
use crate::value::Value;

/// `count`, `for_each` and `enabled` of a resource or a module call.
#[derive(Default, Clone)]
pub(super) struct Meta {
    pub count: Option<MetaValue>,
    pub for_each: Option<MetaValue>,
    pub enabled: Option<MetaValue>,
}

/// A meta value as parsed at load; a syntax error is reported when the
/// value is needed, with the address of the instance that needs it.
pub(super) type MetaValue = (Result<Template, ParseError>, Loc);

/// `[modules.<name>]` as written.
pub(super) struct ModuleCall {
    pub source: String,
    /// The directory `source` is relative to.
    pub base: PathBuf,
    pub args: BTreeMap<String, (Template, Loc)>,
    pub meta: Meta,
    pub loc: Loc,
}

/// One instance of a resource or module: its key and `each.value`.
#[derive(Clone)]
struct Inst {
    key: Option<Value>,
    each_value: Option<Value>,
}

/// The outputs of every instance of a module call, as expressions.
type ModuleOutputs = Vec<(Option<Value>, BTreeMap<String, Expr>)>;

/// What a scope's expressions see: the instances of its resources and the
/// outputs of its modules.
type Expanded = (BTreeMap<String, Vec<Inst>>, BTreeMap<String, ModuleOutputs>);

struct Scope<'a> {
    def: &'a Loader,
    /// `module.a["k"].` steps and text; empty at the root.
    prefix: Vec<Step>,
    prefix_text: String,
    /// A module's variables as expressions of its caller; `None` at the
    /// root, whose variables stay references.
    vars: Option<&'a BTreeMap<String, Expr>>,
    locals: Vec<(&'static str, Value)>,
    instances: &'a BTreeMap<String, Vec<Inst>>,
    modules: &'a BTreeMap<String, ModuleOutputs>,
}

pub(super) struct Expander<'a> {
    pub root_vars: &'a BTreeMap<String, Value>,
    pub stack: &'a str,
    pub region: &'a str,
    pub problems: Vec<Problem>,
    pub resources: BTreeMap<String, Raw>,
    pub files: Vec<PathBuf>,
    /// Module directories being instantiated, to stop recursion.
    active: Vec<PathBuf>,
}

impl<'a> Expander<'a> {
    pub fn new(root_vars: &'a BTreeMap<String, Value>, stack: &'a str, region: &'a str) -> Self {
        Expander {
            root_vars,
            stack,
            region,
            problems: Vec::new(),
            resources: BTreeMap::new(),
            files: Vec::new(),
            active: Vec::new(),
        }
    }

    fn problem(&mut self, loc: &Loc, message: String) {
        self.problems
            .push(Problem { loc: Some(loc.clone()), message });
    }

    /// Expands the root; returns its outputs with rewritten templates.
    pub fn root(&mut self, def: &Loader) -> BTreeMap<String, Template> {
        let mut out = BTreeMap::new();
        let Some((instances, modules)) = self.instantiate(def, Vec::new(), String::new(), None)
        else {
            return out;
        };
        let sc = Scope {
            def,
            prefix: Vec::new(),
            prefix_text: String::new(),
            vars: None,
            locals: Vec::new(),
            instances: &instances,
            modules: &modules,
        };
        for (name, (value, loc)) in &def.outputs {
            match rewrite_value(&sc, value) {
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err((offset, m)) => self.problem(&at(loc, offset), format!("output `{name}`: {m}")),
            }
        }
        out
    }

    /// Expands one module instance (or the root): its resources go to
    /// `self.resources`; returns the instances and module outputs its own
    /// expressions see.
    fn instantiate(
        &mut self,
        def: &Loader,
        prefix: Vec<Step>,
        prefix_text: String,
        vars: Option<&BTreeMap<String, Expr>>,
    ) -> Option<Expanded> {
        let empty_instances = BTreeMap::new();
        let empty_modules = BTreeMap::new();
        let bare = Scope {
            def,
            prefix: prefix.clone(),
            prefix_text: prefix_text.clone(),
            vars,
            locals: Vec::new(),
            instances: &empty_instances,
            modules: &empty_modules,
        };
        // Instances first: `count` and friends are known before any AWS call.
        let mut instances = BTreeMap::new();
        for (base, raw) in &def.resources {
            let what = format!("{prefix_text}{base}");
            instances.insert(base.clone(), self.instances_of(&bare, &raw.meta, &what));
        }
        let mut modules: BTreeMap<String, ModuleOutputs> = BTreeMap::new();
        for name in self.module_order(def) {
            let call = &def.modules[&name];
            let what = format!("{prefix_text}module.{name}");
            let sc = Scope { instances: &instances, modules: &modules, ..bare_clone(&bare) };
            let insts = self.instances_of(&sc, &call.meta, &what);
            let child = if let Some(c) = self.module_def(call, &name) {
                c
            } else {
                modules.insert(name, Vec::new());
                continue;
            };
            let mut outs = Vec::new();
            for inst in insts {
                let sc = Scope {
                    instances: &instances,
                    modules: &modules,
                    locals: locals_of(&inst, call.meta.count.is_some()),
                    ..bare_clone(&bare)
                };
                let key = inst.key.as_ref();
                if let Some(outputs) = self.module_instance(&sc, &child, call, &name, key) {
                    outs.push((inst.key.clone(), outputs));
                }
            }
            modules.insert(name, outs);
        }
        // Then every resource instance, with its expressions rewritten.
        for (base, raw) in &def.resources {
            for inst in &instances[base] {
                let sc = Scope {
                    instances: &instances,
                    modules: &modules,
                    locals: locals_of(inst, raw.meta.count.is_some()),
                    ..bare_clone(&bare)
                };
                let address = format!(
                    "{prefix_text}{}",
                    template::instance_address(base, inst.key.as_ref())
                );
                if let Some(flat) = self.resource_instance(&sc, raw, address) {
                    self.resources.insert(flat.address.clone(), flat);
                }
            }
        }
        Some((instances, modules))
    }

    /// One instance of a module call, in the caller's scope: its resources
    /// expanded, its outputs returned as expressions of the caller. `None`
    /// when its arguments are wrong.
    fn module_instance(
        &mut self,
        sc: &Scope,
        child: &Loader,
        call: &ModuleCall,
        name: &str,
        key: Option<&Value>,
    ) -> Option<BTreeMap<String, Expr>> {
        let args = self.module_args(sc, child, call, name)?;
        let mut child_prefix = sc.prefix.clone();
        child_prefix.push(Step::Name("module".into()));
        child_prefix.push(Step::Name(name.to_owned()));
        if let Some(k) = key {
            child_prefix.push(Step::Index(Expr::Lit(k.clone())));
        }
        let child_text = format!(
            "{}{}.",
            sc.prefix_text,
            template::instance_address(&format!("module.{name}"), key)
        );
        self.active.push(call_dir(call));
        let result = self.instantiate(child, child_prefix.clone(), child_text.clone(), Some(&args));
        let outputs = match result {
            Some((ci, cm)) => {
                let csc = Scope {
                    def: child,
                    prefix: child_prefix,
                    prefix_text: child_text,
                    vars: Some(&args),
                    locals: Vec::new(),
                    instances: &ci,
                    modules: &cm,
                };
                self.module_outputs(&csc, child)
            }
            None => BTreeMap::new(),
        };
        self.active.pop();
        Some(outputs)
    }

    fn resource_instance(&mut self, sc: &Scope, raw: &Raw, address: String) -> Option<Raw> {
        let mut attrs = raw.attrs.clone();
        for (name, value) in &mut attrs {
            let loc = &raw.attr_locs[name];
            match rewrite_value(sc, value) {
                Ok(v) => *value = v,
                Err((offset, m)) => {
                    self.problem(&at(loc, offset), format!("{address}: `{name}`: {m}"));
                    return None;
                }
            }
        }
        let depends_on = raw
            .depends_on
            .iter()
            .flat_map(|(dep, loc)| match sc.instances.get(dep) {
                Some(insts) => insts
                    .iter()
                    .map(|i| {
                        let a = template::instance_address(dep, i.key.as_ref());
                        (format!("{}{a}", sc.prefix_text), loc.clone())
                    })
                    .collect(),
                None => vec![(format!("{}{dep}", sc.prefix_text), loc.clone())],
            })
            .collect();
        Some(Raw {
            address,
            kind: raw.kind,
            attrs,
            attr_locs: raw.attr_locs.clone(),
            depends_on,
            lifecycle: raw.lifecycle.clone(),
            region: raw.region.clone(),
            meta: Meta::default(),
            loc: raw.loc.clone(),
        })
    }

    /// A meta value (`count`, `for_each`, `enabled`), known now.
    fn meta_value(&mut self, sc: &Scope, v: &MetaValue, field: &str, what: &str) -> Option<Value> {
        let (value, loc) = v;
        let env = ConstEnv(self.root_vars, self.stack, self.region);
        let value = match value {
            Ok(t) => rewrite_value(sc, t).and_then(|t| t.eval(&env).map_err(|m| (0, m))),
            Err((offset, m)) => Err((offset + 1, m.clone())),
        };
        match value {
            Ok(v) => Some(v),
            Err((offset, m)) => {
                self.problem(&at(loc, offset), format!("{what}: `{field}`: {m}"));
                None
            }
        }
    }

    /// The instances `count`, `for_each` and `enabled` ask for.
    fn instances_of(&mut self, sc: &Scope, meta: &Meta, what: &str) -> Vec<Inst> {
        if let Some(e) = &meta.enabled {
            match self.meta_value(sc, e, "enabled", what) {
                Some(Value::Bool(true)) => {}
                Some(Value::Bool(false)) | None => return Vec::new(),
                Some(other) => {
                    self.problem(
                        &e.1,
                        format!(
                            "{what}: `enabled` must be a bool, found {}",
                            other.type_name()
                        ),
                    );
                    return Vec::new();
                }
            }
        }
        if let Some(c) = &meta.count {
            return self.count_instances(sc, c, what);
        }
        if let Some(f) = &meta.for_each {
            return self.for_each_instances(sc, f, what);
        }
        vec![Inst { key: None, each_value: None }]
    }

    /// `count = n`: instances keyed 0..n.
    fn count_instances(&mut self, sc: &Scope, c: &MetaValue, what: &str) -> Vec<Inst> {
        match self.meta_value(sc, c, "count", what) {
            Some(Value::Int(n)) if n > MAX_COUNT => {
                self.problem(
                    &c.1,
                    format!(
                        "{what}: `count` = {n} is more than the limit of {MAX_COUNT} instances"
                    ),
                );
                Vec::new()
            }
            Some(Value::Int(n)) if n >= 0 => (0..n)
                .map(|i| Inst { key: Some(Value::Int(i)), each_value: None })
                .collect(),
            Some(other) => {
                self.problem(
                    &c.1,
                    format!("{what}: `count` must be a whole number ≥ 0, found {other}"),
                );
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// `for_each` over a list of strings or a map: instances keyed by them,
    /// in key order.
    fn for_each_instances(&mut self, sc: &Scope, f: &MetaValue, what: &str) -> Vec<Inst> {
        let pairs: Vec<(String, Value)> = match self.meta_value(sc, f, "for_each", what) {
            Some(Value::List(items)) => {
                let mut out = Vec::new();
                for i in items {
                    match i {
                        Value::Str(s) => out.push((s.clone(), Value::Str(s))),
                        other => {
                            self.problem(
                                &f.1,
                                format!(
                                    "{what}: `for_each` over a list needs strings (they become the keys), found {}; use a map for other values",
                                    other.type_name()
                                ),
                            );
                            return Vec::new();
                        }
                    }
                }
                out
            }
            Some(Value::Map(m)) => m.into_iter().collect(),
            Some(other) => {
                self.problem(
                    &f.1,
                    format!(
                        "{what}: `for_each` must be a list of strings or a map, found {}",
                        other.type_name()
                    ),
                );
                return Vec::new();
            }
            None => return Vec::new(),
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (k, v) in pairs {
            if !seen.insert(k.clone()) {
                self.problem(
                    &f.1,
                    format!("{what}: `for_each` has the key \"{k}\" twice"),
                );
                continue;
            }
            out.push(Inst { key: Some(Value::Str(k)), each_value: Some(v) });
        }
        // Keys, not positions, name instances: reordering changes nothing.
        out.sort_by(|a, b| {
            a.key
                .as_ref()
                .and_then(Value::as_str)
                .cmp(&b.key.as_ref().and_then(Value::as_str))
        });
        out
    }

    /// Module calls in an order where a call comes after the modules its
    /// arguments use; a cycle is reported.
    fn module_order(&mut self, def: &Loader) -> Vec<String> {
        let uses = |call: &ModuleCall| -> BTreeSet<String> {
            let mut out = BTreeSet::new();
            let meta = [&call.meta.count, &call.meta.for_each, &call.meta.enabled];
            let values = call.args.values().map(|(t, _)| t).chain(
                meta.into_iter()
                    .filter_map(|m| m.as_ref().and_then(|(t, _)| t.as_ref().ok())),
            );
            for v in values {
                for e in v.exprs() {
                    template::walk_paths(e, &mut |steps| {
                        if let Ok(Bound::ModuleOutput { modules, .. }) =
                            template::bind(steps, &is_kind)
                            && let Some((m, _)) = modules.first()
                        {
                            out.insert((*m).to_owned());
                        }
                    });
                }
            }
            out
        };
        let graph: BTreeMap<&String, BTreeSet<String>> =
            def.modules.iter().map(|(n, c)| (n, uses(c))).collect();
        let mut order = Vec::new();
        let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 visiting, 2 done
        fn visit<'g>(
            n: &'g str,
            graph: &'g BTreeMap<&String, BTreeSet<String>>,
            state: &mut BTreeMap<&'g str, u8>,
            path: &mut Vec<&'g str>,
            order: &mut Vec<String>,
        ) -> Result<(), Vec<String>> {
            match state.get(n) {
                Some(2) => return Ok(()),
                Some(1) => {
                    let start = path.iter().position(|p| *p == n).unwrap_or(0);
                    let mut cycle: Vec<String> = path[start..]
                        .iter()
                        .map(|p| format!("module.{p}"))
                        .collect();
                    cycle.push(format!("module.{n}"));
                    return Err(cycle);
                }
                _ => {}
            }
            state.insert(n, 1);
            path.push(n);
            if let Some((_, deps)) = graph.get_key_value(&n.to_owned()) {
                for d in deps {
                    if let Some((k, _)) = graph.get_key_value(d) {
                        visit(k.as_str(), graph, state, path, order)?;
                    }
                }
            }
            path.pop();
            state.insert(n, 2);
            order.push(n.to_owned());
            Ok(())
        }
        for n in def.modules.keys() {
            if let Err(cycle) = visit(n, &graph, &mut state, &mut Vec::new(), &mut order) {
                let loc = def.modules[n].loc.clone();
                self.problem(
                    &loc,
                    format!("dependency cycle through modules: {}", cycle.join(" -> ")),
                );
                return Vec::new();
            }
        }
        order
    }

    /// Parses a module's directory.
    fn module_def(&mut self, call: &ModuleCall, name: &str) -> Option<Loader> {
        let dir = call_dir(call);
        if self.active.contains(&dir) {
            self.problem(
                &call.loc,
                format!(
                    "module `{name}`: {} includes itself (modules cannot recurse)",
                    call.source
                ),
            );
            return None;
        }
        if !dir.is_dir() {
            self.problem(
                &call.loc,
                format!(
                    "module `{name}`: source \"{}\" is not a directory ({} does not exist)",
                    call.source,
                    dir.display()
                ),
            );
            return None;
        }
        match super::parse_dir(&dir, true) {
            Ok((files, def)) => {
                for f in files {
                    if !self.files.contains(&f) {
                        self.files.push(f);
                    }
                }
                let ok = def.problems.is_empty();
                self.problems.extend(def.problems.iter().cloned());
                ok.then_some(def)
            }
            Err(e) => {
                let message = format!(
                    "module `{name}`: {}",
                    e.0.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                self.problem(&call.loc, message);
                None
            }
        }
    }

    /// A module instance's variables: each argument as an expression of the
    /// caller, or the default; checked against the declarations.
    fn module_args(
        &mut self,
        sc: &Scope,
        child: &Loader,
        call: &ModuleCall,
        name: &str,
    ) -> Option<BTreeMap<String, Expr>> {
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (arg, (value, loc)) in &call.args {
            let Some((decl, _)) = child.variables.get(arg) else {
                let hint = did_you_mean(arg, child.variables.keys().map(String::as_str));
                self.problem(
                    loc,
                    format!(
                        "module `{name}`: {} declares no variable `{arg}`{hint}",
                        call.source
                    ),
                );
                ok = false;
                continue;
            };
            match rewrite_value(sc, value).and_then(|v| value_expr(&v).map_err(|m| (0, m))) {
                Ok(e) => {
                    // A value known now is checked now, as a root variable is.
                    if let Ok(v) =
                        template::eval_expr(&e, &ConstEnv(self.root_vars, self.stack, self.region))
                        && !v.has_unknown()
                        && let Err(m) = decl.check(&v)
                    {
                        self.problem(loc, format!("module `{name}`: variable `{arg}`: {m}"));
                        ok = false;
                    }
                    out.insert(arg.clone(), e);
                }
                Err((offset, m)) => {
                    self.problem(&at(loc, offset), format!("module `{name}`: `{arg}`: {m}"));
                    ok = false;
                }
            }
        }
        for (var, (decl, _)) in &child.variables {
            if out.contains_key(var) || call.args.contains_key(var) {
                continue;
            }
            if let Some(d) = &decl.default {
                out.insert(var.clone(), Expr::Lit(d.clone()));
            } else {
                self.problem(
                    &call.loc,
                    format!("module `{name}`: missing variable `{var}` (declared by {} without a default)", call.source),
                );
                ok = false;
            }
        }
        ok.then_some(out)
    }

    fn module_outputs(&mut self, sc: &Scope, def: &Loader) -> BTreeMap<String, Expr> {
        let mut out = BTreeMap::new();
        for (name, (value, loc)) in &def.outputs {
            match rewrite_value(sc, value).and_then(|v| value_expr(&v).map_err(|m| (0, m))) {
                Ok(e) => {
                    out.insert(name.clone(), e);
                }
                Err((offset, m)) => self.problem(&at(loc, offset), format!("output `{name}`: {m}")),
            }
        }
        out
    }
}

/// As written in a module's caller, `module.m.<x>` is a resource of the
/// module (to be refused) only when `x` names a kind.
fn is_kind(name: &str) -> bool {
    crate::kinds::lookup(name).is_some()
}

fn bare_clone<'a>(s: &Scope<'a>) -> Scope<'a> {
    Scope {
        def: s.def,
        prefix: s.prefix.clone(),
        prefix_text: s.prefix_text.clone(),
        vars: s.vars,
        locals: s.locals.clone(),
        instances: s.instances,
        modules: s.modules,
    }
}

fn call_dir(call: &ModuleCall) -> PathBuf {
    let dir = call.base.join(&call.source);
    dir.canonicalize().unwrap_or(dir)
}

fn locals_of(inst: &Inst, counted: bool) -> Vec<(&'static str, Value)> {
    match (&inst.key, &inst.each_value) {
        (Some(k), _) if counted => vec![("count.index", k.clone())],
        (Some(k), Some(v)) => vec![("each.key", k.clone()), ("each.value", v.clone())],
        _ => Vec::new(),
    }
}

fn at(loc: &Loc, offset: usize) -> Loc {
    let mut l = loc.clone();
    l.col += offset;
    l
}

/// Values known before any AWS call: the root's variables and the stack.
/// Far above any real stack; a typo such as `count = 1e9` must be an error,
/// not an attempt to build a billion resources.
const MAX_COUNT: i64 = 10_000;

struct ConstEnv<'a>(&'a BTreeMap<String, Value>, &'a str, &'a str);

impl Resolve for ConstEnv<'_> {
    fn resolve(&self, r: &Ref) -> Result<Value, String> {
        match r {
            Ref::Var(n) => self
                .0
                .get(n)
                .cloned()
                .ok_or_else(|| format!("undeclared variable `var.{n}`")),
            Ref::Stack(StackField::Name) => Ok(Value::str(self.1)),
            Ref::Stack(StackField::Region) => Ok(Value::str(self.2)),
            Ref::Attr { .. } | Ref::Lookup { .. } => Err(format!(
                "`{r}` is only known once AWS is read; `count`, `for_each`, `enabled` and instance keys may use variables, literals, `each` and `count` only"
            )),
        }
    }
}

/// Rewrites every expression of a template in a scope; an error carries
/// its column offset from the value's start.
fn rewrite_value(sc: &Scope, t: &Template) -> Result<Template, (usize, String)> {
    t.try_map(&mut |e| rewrite(sc, e))
        .map_err(|(offset, m)| (offset + 1, m))
}

/// A rewritten template as one expression (a module argument or output).
fn value_expr(t: &Template) -> Result<Expr, String> {
    Ok(match t {
        Template::Lit(v) => Expr::Lit(v.clone()),
        Template::Text(parts) => if let [Part::Expr(e, _)] = parts.as_slice() { e.clone() } else {
            // "a-${x}" is format("a-%s", x).
            let mut fmt = String::new();
            let mut args = Vec::new();
            for p in parts {
                match p {
                    Part::Lit(l) => fmt.push_str(&l.replace('%', "%%")),
                    Part::Expr(e, _) => {
                        fmt.push_str("%s");
                        args.push(e.clone());
                    }
                }
            }
            args.insert(0, Expr::Lit(Value::Str(fmt)));
            Expr::Call("format".into(), args)
        },
        Template::List(l) => Expr::List(l.iter().map(value_expr).collect::<Result<_, _>>()?),
        Template::Map(m) => Expr::Map(
            m.iter()
                .map(|(k, i)| match k {
                    Template::Lit(Value::Str(k)) => Ok((k.clone(), value_expr(i)?)),
                    _ => Err(format!(
                        "the table key `{}` is a template: module arguments and outputs take literal keys",
                        k.to_value().as_str().unwrap_or_default()
                    )),
                })
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// Follows accessors (`.x`, `[i]`) after a substituted expression.
fn with_rest(sc: &Scope, mut e: Expr, rest: &[Step]) -> Result<Expr, String> {
    for s in rest {
        let key = match s {
            Step::Name(n) => Expr::Lit(Value::Str(n.clone())),
            Step::Index(i) => rewrite(sc, i)?,
            Step::Splat => return Err("`[*]` only follows a resource or a module".into()),
        };
        e = Expr::Index(Box::new(e), Box::new(key));
    }
    Ok(e)
}

/// A path with its accessors rewritten (indices may hold expressions).
fn keep_path(sc: &Scope, steps: &[Step]) -> Result<Expr, String> {
    let steps = steps
        .iter()
        .map(|s| {
            Ok(match s {
                Step::Index(i) => Step::Index(rewrite(sc, i)?),
                other => other.clone(),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Expr::Path(steps))
}

/// The key an index expression names, known now.
fn const_key(sc: &Scope, e: &Expr) -> Result<Value, String> {
    let e = rewrite(sc, e)?;
    match template::eval_expr(&e, &NoRefs)? {
        v @ (Value::Str(_) | Value::Int(_)) => Ok(v),
        other => Err(format!(
            "an instance key must be a string or a number, found {}",
            other.type_name()
        )),
    }
}

struct NoRefs;

impl Resolve for NoRefs {
    fn resolve(&self, r: &Ref) -> Result<Value, String> {
        Err(format!(
            "an instance key must be known now; {} is not",
            template::display_ref(r)
        ))
    }
}

/// Picks instances by a selector: none (the only one), `[key]`, `[*]`.
/// `Ok(None)` means "every instance, as a list".
fn select<'i>(
    sc: &Scope,
    what: &str,
    keys: &'i [Option<Value>],
    index: Option<&Step>,
) -> Result<Option<Option<&'i Option<Value>>>, String> {
    let repeated = keys.iter().any(Option::is_some);
    match index {
        Some(Step::Splat) => Ok(None),
        None if repeated => Err(format!(
            "`{what}` has `count` or `for_each`: pick an instance (`{what}[\"key\"]`, `{what}[0]`) or all of them (`{what}[*]`)"
        )),
        // Disabled: no instance.
        None => Ok(Some(keys.first())),
        Some(Step::Index(e)) => {
            if !repeated && !keys.is_empty() {
                return Err(format!(
                    "`{what}` has no `count` or `for_each`: it cannot be indexed"
                ));
            }
            let k = const_key(sc, e)?;
            match keys.iter().find(|x| x.as_ref() == Some(&k)) {
                Some(found) => Ok(Some(Some(found))),
                None if keys.is_empty() => Ok(Some(None)),
                None => {
                    let have: Vec<String> =
                        keys.iter().flatten().map(ToString::to_string).collect();
                    Err(format!(
                        "`{what}` has no instance [{k}] (it has: {})",
                        have.join(", ")
                    ))
                }
            }
        }
        Some(Step::Name(_)) => unreachable!("a selector is an index or a splat"),
    }
}

fn rewrite(sc: &Scope, e: &Expr) -> Result<Expr, String> {
    let r = |x: &Expr| rewrite(sc, x).map(Box::new);
    Ok(match e {
        Expr::Lit(_) => e.clone(),
        Expr::List(items) => Expr::List(
            items
                .iter()
                .map(|i| rewrite(sc, i))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Map(items) => Expr::Map(
            items
                .iter()
                .map(|(k, i)| Ok((k.clone(), rewrite(sc, i)?)))
                .collect::<Result<_, String>>()?,
        ),
        Expr::Index(a, b) => Expr::Index(r(a)?, r(b)?),
        Expr::Not(a) => Expr::Not(r(a)?),
        Expr::Neg(a) => Expr::Neg(r(a)?),
        Expr::Bin(op, a, b) => Expr::Bin(*op, r(a)?, r(b)?),
        Expr::Cond(c, a, b) => Expr::Cond(r(c)?, r(a)?, r(b)?),
        Expr::Call(n, args) => {
            template::check_arity(n, args.len())?;
            Expr::Call(
                n.clone(),
                args.iter()
                    .map(|a| rewrite(sc, a))
                    .collect::<Result<_, _>>()?,
            )
        }
        Expr::Path(steps) => rewrite_path(sc, steps)?,
    })
}

fn rewrite_path(sc: &Scope, steps: &[Step]) -> Result<Expr, String> {
    match template::bind(steps, &is_kind)? {
        Bound::Ref(Ref::Var(n), rest) => match sc.vars {
            None => {
                sc.def.check_ref(&Ref::Var(n), &sc.def.resources)?;
                keep_path(sc, steps)
            }
            Some(vars) => {
                if let Some(e) = vars.get(&n) {
                    with_rest(sc, e.clone(), rest)
                } else {
                    let hint = did_you_mean(&n, vars.keys().map(String::as_str));
                    Err(format!("reference to undeclared variable `var.{n}`{hint}"))
                }
            }
        },
        Bound::Ref(r @ Ref::Lookup { .. }, _) => {
            if sc.vars.is_some() {
                return Err(format!(
                    "`{r}`: lookups are read by the root stack; pass the value to the module as a variable"
                ));
            }
            sc.def.check_ref(&r, &sc.def.resources)?;
            keep_path(sc, steps)
        }
        Bound::Ref(Ref::Stack(_) | Ref::Attr { .. }, _) => keep_path(sc, steps),
        Bound::Local(name, rest) => match sc.locals.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => with_rest(sc, Expr::Lit(v.clone()), rest),
            None => Err(format!(
                "`{name}` is only available in a resource or module with {}",
                if name == "count.index" {
                    "`count`"
                } else {
                    "`for_each`"
                }
            )),
        },
        Bound::Resource { modules, .. } if !modules.is_empty() => Err(format!(
            "`{}` reaches into a module: use one of its outputs (`module.<name>.<output>`)",
            Expr::Path(steps.to_vec())
        )),
        Bound::Resource { kind, name, index, attr, rest, .. } => {
            rewrite_resource(sc, kind, name, index, attr, rest)
        }
        Bound::ModuleOutput { modules, output, rest } => match modules.as_slice() {
            [(m, index)] => rewrite_module_output(sc, m, *index, output, rest),
            _ => Err(format!(
                "`{}`: refer to outputs of this module's own modules only (`module.<name>.<output>`)",
                Expr::Path(steps.to_vec())
            )),
        },
    }
}

/// A resource of the scope: its absolute path, the paths of every instance
/// (`[*]`), or null for a disabled one.
fn rewrite_resource(
    sc: &Scope,
    kind: &str,
    name: &str,
    index: Option<&Step>,
    attr: &str,
    rest: &[Step],
) -> Result<Expr, String> {
    let base = format!("{kind}.{name}");
    let r = Ref::Attr { address: base.clone(), attr: attr.to_owned() };
    sc.def.check_ref(&r, &sc.def.resources)?;
    let keys: Option<Vec<Option<Value>>> = sc
        .instances
        .get(&base)
        .map(|i| i.iter().map(|i| i.key.clone()).collect());
    let path_of = |key: &Option<Value>| -> Result<Expr, String> {
        let mut s = sc.prefix.clone();
        s.push(Step::Name(kind.to_owned()));
        s.push(Step::Name(name.to_owned()));
        if let Some(k) = key {
            s.push(Step::Index(Expr::Lit(k.clone())));
        }
        s.push(Step::Name(attr.to_owned()));
        with_rest(sc, Expr::Path(s), rest)
    };
    // Instances are not known yet while `count`, `for_each` and
    // `enabled` are evaluated: the path stays, and evaluating it says
    // why it cannot be used there.
    let Some(keys) = keys else {
        return path_of(&None);
    };
    match select(sc, &base, &keys, index)? {
        None => Ok(Expr::List(
            keys.iter().map(path_of).collect::<Result<_, _>>()?,
        )),
        Some(Some(key)) => path_of(key),
        // A disabled resource's attributes are null.
        Some(None) => Ok(Expr::Lit(Value::Null)),
    }
}

/// An output of one of the scope's modules, as the expression the module
/// gave it (a list of them with `[*]`).
fn rewrite_module_output(
    sc: &Scope,
    m: &str,
    index: Option<&Step>,
    output: &str,
    rest: &[Step],
) -> Result<Expr, String> {
    if !sc.def.modules.contains_key(m) {
        let hint = did_you_mean(m, sc.def.modules.keys().map(String::as_str));
        return Err(format!("reference to unknown module `{m}`{hint}"));
    }
    let Some(outs) = sc.modules.get(m) else {
        return Err(format!(
            "module `{m}` is not known yet here (`count`, `for_each` and `enabled` cannot use module outputs)"
        ));
    };
    let keys: Vec<Option<Value>> = outs.iter().map(|(k, _)| k.clone()).collect();
    let out_of = |key: &Option<Value>| -> Result<Expr, String> {
        let (_, o) = outs
            .iter()
            .find(|(k, _)| k == key)
            .ok_or("no such instance")?;
        if let Some(e) = o.get(output) {
            with_rest(sc, e.clone(), rest)
        } else {
            let hint = did_you_mean(output, o.keys().map(String::as_str));
            Err(format!("module `{m}` has no output `{output}`{hint}"))
        }
    };
    match select(sc, &format!("module.{m}"), &keys, index)? {
        None => Ok(Expr::List(
            keys.iter().map(out_of).collect::<Result<_, _>>()?,
        )),
        Some(Some(key)) => out_of(key),
        Some(None) => Ok(Expr::Lit(Value::Null)),
    }
}
