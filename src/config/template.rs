//! `${...}` expressions inside strings: parsing, printing, the references
//! they hold, and evaluation against known values.
//!
//! The language is small on purpose: literals, lists and maps, references
//! (`var.x`, `stack.region`, `kind.name.attr`, `kind.name["key"].attr`,
//! `kind.name[*].attr`, `lookups.n.attr`, `module.m.output`, `each.key`,
//! `each.value`, `count.index`), indexing, `!`, `-`, arithmetic, comparisons,
//! `&&`, `||`, `c ? a : b`, and the functions in [`call`].

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use crate::value::Value;

/// What a reference names once bound to an absolute address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ref {
    Var(String),
    /// `stack.name` or `stack.region`.
    Stack(String),
    /// `<address>.<attribute>`; the address may be a lookup
    /// (`lookups.zones`), indexed (`subnet.a["x"]`) or in a module.
    Attr {
        address: String,
        attr: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Name(String),
    Index(Expr),
    /// `[*]`: every instance.
    Splat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Or => "||",
            Op::And => "&&",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Rem => "%",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Value),
    List(Vec<Expr>),
    Map(Vec<(String, Expr)>),
    /// A name path as written; its first step is a name.
    Path(Vec<Step>),
    Index(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

/// A string: literal text and `${...}` expressions with their byte offsets.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Lit(String),
    Expr(Expr, usize),
}

/// Parses a string's literal parts and expressions. `$${` is a literal `${`.
/// An error carries the byte offset where it was found.
pub fn parse(s: &str) -> Result<Vec<Part>, (usize, String)> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut pos = 0;
    while let Some(i) = s[pos..].find("${").map(|i| i + pos) {
        if s[..i].ends_with('$') {
            lit.push_str(&s[pos..i - 1]);
            lit.push_str("${");
            pos = i + 2;
            continue;
        }
        lit.push_str(&s[pos..i]);
        let mut p = Parser { s, pos: i + 2 };
        let e = p.expr()?;
        p.ws();
        if !p.eat("}") {
            return Err(match p.peek() {
                None => (i, "unterminated `${`: expected a closing `}`".into()),
                Some(c) => (p.pos, format!("unexpected `{c}` in expression")),
            });
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(std::mem::take(&mut lit)));
        }
        parts.push(Part::Expr(e, i));
        pos = p.pos;
    }
    lit.push_str(&s[pos..]);
    if !lit.is_empty() || parts.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}

/// Parses one bare expression (no `${}`), e.g. a `count` written as text.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

type PResult<T> = Result<T, (usize, String)>;

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        if self.s[self.pos..].starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn err<T>(&self, m: impl Into<String>) -> PResult<T> {
        Err((self.pos, m.into()))
    }

    fn expr(&mut self) -> PResult<Expr> {
        let c = self.binary(0)?;
        if self.eat("?") {
            let a = self.expr()?;
            if !self.eat(":") {
                return self.err("expected `:` in `condition ? a : b`");
            }
            let b = self.expr()?;
            return Ok(Expr::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }

    /// Precedence climbing: `||` < `&&` < comparisons < `+ -` < `* / %`.
    fn binary(&mut self, level: usize) -> PResult<Expr> {
        const LEVELS: &[&[(&str, Op)]] = &[
            &[("||", Op::Or)],
            &[("&&", Op::And)],
            &[
                ("==", Op::Eq),
                ("!=", Op::Ne),
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("<", Op::Lt),
                (">", Op::Gt),
            ],
            &[("+", Op::Add), ("-", Op::Sub)],
            &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Rem)],
        ];
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        'more: loop {
            for (tok, op) in ops.iter() {
                if self.eat(tok) {
                    let right = self.binary(level + 1)?;
                    left = Expr::Bin(*op, Box::new(left), Box::new(right));
                    continue 'more;
                }
            }
            return Ok(left);
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.ws();
        if self.s[self.pos..].starts_with('!') && !self.s[self.pos..].starts_with("!=") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            if self.eat("[") {
                let i = self.expr()?;
                if !self.eat("]") {
                    return self.err("expected `]`");
                }
                e = Expr::Index(Box::new(e), Box::new(i));
            } else if self.s[self.pos..].starts_with('.') && !matches!(e, Expr::Path(_)) {
                self.pos += 1;
                let n = self
                    .ident()
                    .ok_or((self.pos, "expected a name after `.`".into()))?;
                e = Expr::Index(Box::new(e), Box::new(Expr::Lit(Value::Str(n))));
            } else {
                return Ok(e);
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        let rest = &self.s[self.pos..];
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if n == 0 || rest.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return None;
        }
        self.pos += n;
        Some(rest[..n].to_owned())
    }

    fn primary(&mut self) -> PResult<Expr> {
        self.ws();
        let start = self.pos;
        match self.peek() {
            None => self.err("expected an expression"),
            Some('"') => self.string().map(|s| Expr::Lit(Value::Str(s))),
            Some('(') => {
                self.pos += 1;
                let e = self.expr()?;
                if !self.eat(")") {
                    return self.err("expected `)`");
                }
                Ok(e)
            }
            Some('[') => {
                self.pos += 1;
                let items = self.list_of("]", Parser::expr)?;
                Ok(Expr::List(items))
            }
            Some('{') => {
                self.pos += 1;
                let items = self.list_of("}", |p| {
                    p.ws();
                    let k = if p.peek() == Some('"') {
                        p.string()?
                    } else {
                        p.ident().ok_or((p.pos, "expected a key".to_owned()))?
                    };
                    if !p.eat("=") && !p.eat(":") {
                        return p.err("expected `=` after a map key");
                    }
                    Ok((k, p.expr()?))
                })?;
                Ok(Expr::Map(items))
            }
            Some(c) if c.is_ascii_digit() => {
                let rest = &self.s[self.pos..];
                let n = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                self.pos += n;
                let text = &rest[..n];
                text.parse::<i64>()
                    .map(Value::Int)
                    .or_else(|_| text.parse::<f64>().map(Value::Float))
                    .map(Expr::Lit)
                    .map_err(|_| (start, format!("invalid number `{text}`")))
            }
            Some(_) => {
                let Some(name) = self.ident() else {
                    return self.err(format!(
                        "unexpected `{}` in expression",
                        self.peek().unwrap_or(' ')
                    ));
                };
                match name.as_str() {
                    "true" => return Ok(Expr::Lit(Value::Bool(true))),
                    "false" => return Ok(Expr::Lit(Value::Bool(false))),
                    "null" => return Ok(Expr::Lit(Value::Null)),
                    _ => {}
                }
                if self.eat("(") {
                    let args = self.list_of(")", Parser::expr)?;
                    return Ok(Expr::Call(name, args));
                }
                let mut steps = vec![Step::Name(name)];
                loop {
                    if self.s[self.pos..].starts_with('.') {
                        self.pos += 1;
                        let n = self
                            .ident()
                            .ok_or((self.pos, "expected a name after `.`".to_owned()))?;
                        steps.push(Step::Name(n));
                    } else if self.s[self.pos..].starts_with('[') {
                        self.pos += 1;
                        if self.eat("*") {
                            steps.push(Step::Splat);
                        } else {
                            steps.push(Step::Index(self.expr()?));
                        }
                        if !self.eat("]") {
                            return self.err("expected `]`");
                        }
                    } else {
                        return Ok(Expr::Path(steps));
                    }
                }
            }
        }
    }

    /// Items separated by commas up to `close` (a trailing comma is fine).
    fn list_of<T>(
        &mut self,
        close: &str,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(out);
            }
            out.push(item(self)?);
            if !self.eat(",") {
                if self.eat(close) {
                    return Ok(out);
                }
                return self.err(format!("expected `,` or `{close}`"));
            }
        }
    }

    /// A double-quoted string with JSON escapes.
    fn string(&mut self) -> PResult<String> {
        let start = self.pos;
        let bytes = self.s.as_bytes();
        let mut i = self.pos + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return serde_json::from_str(&self.s[start..=i])
                        .map_err(|e| (start, format!("invalid string literal: {e}")));
                }
                _ => i += 1,
            }
        }
        Err((start, "unterminated string literal".into()))
    }
}

/// A reference path, classified.
pub enum Bound<'a> {
    /// An absolute reference, then accessors applied to its value.
    Ref(Ref, &'a [Step]),
    /// `each.key`, `each.value` or `count.index`, then accessors.
    Local(&'a str, &'a [Step]),
    /// A resource of a scope: `kind.name`, its instance selector (none, an
    /// index, or `[*]`), the attribute, then accessors.
    Resource {
        modules: Vec<(&'a str, Option<&'a Expr>)>,
        kind: &'a str,
        name: &'a str,
        index: Option<&'a Step>,
        attr: &'a str,
        rest: &'a [Step],
    },
    /// `module.m.output` (possibly `module.m["k"].output`), then accessors.
    ModuleOutput {
        modules: Vec<(&'a str, Option<&'a Step>)>,
        output: &'a str,
        rest: &'a [Step],
    },
}

const SHAPES: &str = "expected `kind.name.attribute`, `var.name`, `stack.region`, `lookups.name.attribute`, `module.name.output`, `each.key`, `each.value` or `count.index`";

fn name(step: Option<&Step>) -> Option<&str> {
    match step {
        Some(Step::Name(n)) => Some(n),
        _ => None,
    }
}

/// Classifies a path by its first names.
pub fn bind(steps: &[Step]) -> Result<Bound<'_>, String> {
    let bad = || format!("invalid reference `{}`: {SHAPES}", print_path(steps));
    let root = name(steps.first()).ok_or_else(bad)?;
    let second = name(steps.get(1));
    match root {
        "var" => Ok(Bound::Ref(
            Ref::Var(second.ok_or_else(bad)?.to_owned()),
            &steps[2..],
        )),
        "stack" => match second {
            Some(f @ ("name" | "region")) => Ok(Bound::Ref(Ref::Stack(f.to_owned()), &steps[2..])),
            Some(other) => Err(format!(
                "unknown stack attribute `{other}`: use `stack.name` or `stack.region`"
            )),
            None => Err(bad()),
        },
        "each" => match second {
            Some(k @ ("key" | "value")) => Ok(Bound::Local(
                if k == "key" { "each.key" } else { "each.value" },
                &steps[2..],
            )),
            _ => Err("`each` has `each.key` and `each.value`".into()),
        },
        "count" => match second {
            Some("index") => Ok(Bound::Local("count.index", &steps[2..])),
            _ => Err("`count` has only `count.index`".into()),
        },
        "lookups" => {
            let (n, attr) = (second.ok_or_else(bad)?, name(steps.get(2)).ok_or_else(bad)?);
            Ok(Bound::Ref(
                Ref::Attr {
                    address: format!("lookups.{n}"),
                    attr: attr.to_owned(),
                },
                &steps[3..],
            ))
        }
        "module" => {
            let mut modules = Vec::new();
            let mut i = 0;
            while name(steps.get(i)) == Some("module") {
                let m = name(steps.get(i + 1)).ok_or_else(bad)?;
                match steps.get(i + 2) {
                    Some(s @ (Step::Index(_) | Step::Splat)) => {
                        modules.push((m, Some(s)));
                        i += 3;
                    }
                    _ => {
                        modules.push((m, None));
                        i += 2;
                    }
                }
            }
            let rest = &steps[i..];
            if let Some(kind) = name(rest.first())
                && crate::kinds::lookup(kind).is_some()
                && rest.len() >= 3
                && !modules.iter().any(|(_, s)| matches!(s, Some(Step::Splat)))
            {
                let modules = modules
                    .into_iter()
                    .map(|(m, s)| match s {
                        Some(Step::Index(e)) => (m, Some(e)),
                        _ => (m, None),
                    })
                    .collect();
                return resource(modules, rest).ok_or_else(bad);
            }
            let output = name(rest.first()).ok_or_else(bad)?;
            Ok(Bound::ModuleOutput {
                modules,
                output,
                rest: &rest[1..],
            })
        }
        _ => resource(Vec::new(), steps).ok_or_else(bad),
    }
}

fn resource<'a>(modules: Vec<(&'a str, Option<&'a Expr>)>, steps: &'a [Step]) -> Option<Bound<'a>> {
    let kind = name(steps.first())?;
    let n = name(steps.get(1))?;
    let (index, at) = match steps.get(2)? {
        s @ (Step::Index(_) | Step::Splat) => (Some(s), 3),
        Step::Name(_) => (None, 2),
    };
    let attr = name(steps.get(at))?;
    Some(Bound::Resource {
        modules,
        kind,
        name: n,
        index,
        attr,
        rest: &steps[at + 1..],
    })
}

/// The address of one instance: `kind.name`, `kind.name[0]`,
/// `kind.name["key"]`.
pub fn instance_address(base: &str, key: Option<&Value>) -> String {
    match key {
        None => base.to_owned(),
        Some(k) => format!("{base}[{}]", print_lit(k)),
    }
}

// ---- printing: an expression back to text that parses to the same thing.

fn print_lit(v: &Value) -> String {
    match v {
        Value::Str(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::List(l) => format!(
            "[{}]",
            l.iter().map(print_lit).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{} = {}", print_lit(&Value::Str(k.clone())), print_lit(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Unknown => "null".into(),
        other => other.to_string(),
    }
}

fn print_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for (i, s) in steps.iter().enumerate() {
        match s {
            Step::Name(n) if i == 0 => out.push_str(n),
            Step::Name(n) => write!(out, ".{n}").unwrap_or(()),
            Step::Index(e) => write!(out, "[{e}]").unwrap_or(()),
            Step::Splat => out.push_str("[*]"),
        }
    }
    out
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Lit(v) => f.write_str(&print_lit(v)),
            Expr::List(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
            Expr::Map(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|(k, v)| format!("{} = {v}", print_lit(&Value::Str(k.clone()))))
                    .collect();
                write!(f, "{{{}}}", items.join(", "))
            }
            Expr::Path(steps) => f.write_str(&print_path(steps)),
            Expr::Index(e, i) => write!(f, "({e})[{i}]"),
            Expr::Not(e) => write!(f, "!({e})"),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Bin(op, a, b) => write!(f, "({a} {} {b})", op.as_str()),
            Expr::Cond(c, a, b) => write!(f, "({c} ? {a} : {b})"),
            Expr::Call(n, args) => {
                let args: Vec<String> = args.iter().map(ToString::to_string).collect();
                write!(f, "{n}({})", args.join(", "))
            }
        }
    }
}

/// Parts back to a string.
pub fn print(parts: &[Part]) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Lit(l) => out.push_str(&l.replace("${", "$${")),
            Part::Expr(e, _) => write!(out, "${{{e}}}").unwrap_or(()),
        }
    }
    out
}

// ---- references and evaluation.

/// Every absolute reference in a value tree (unparsable strings skipped).
pub fn refs(v: &Value) -> Vec<Ref> {
    let mut out = Vec::new();
    walk_strings(v, &mut |s| {
        if let Ok(parts) = parse(s) {
            for p in &parts {
                if let Part::Expr(e, _) = p {
                    expr_refs(e, &mut out);
                }
            }
        }
    });
    out
}

/// Every path of an expression, as written.
pub fn walk_paths<'a>(e: &'a Expr, f: &mut impl FnMut(&'a [Step])) {
    match e {
        Expr::Lit(_) => {}
        Expr::List(items) => items.iter().for_each(|i| walk_paths(i, f)),
        Expr::Map(items) => items.iter().for_each(|(_, i)| walk_paths(i, f)),
        Expr::Path(steps) => {
            f(steps);
            for s in steps {
                if let Step::Index(i) = s {
                    walk_paths(i, f);
                }
            }
        }
        Expr::Index(a, b) | Expr::Bin(_, a, b) => {
            walk_paths(a, f);
            walk_paths(b, f);
        }
        Expr::Not(a) | Expr::Neg(a) => walk_paths(a, f),
        Expr::Cond(c, a, b) => {
            walk_paths(c, f);
            walk_paths(a, f);
            walk_paths(b, f);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| walk_paths(a, f)),
    }
}

fn expr_refs(e: &Expr, out: &mut Vec<Ref>) {
    walk_paths(e, &mut |steps| match bind(steps) {
        Ok(Bound::Ref(r, _)) => out.push(r),
        Ok(Bound::Resource {
            modules,
            kind,
            name,
            index,
            attr,
            ..
        }) => {
            if let Some(address) = literal_address(&modules, kind, name, index) {
                out.push(Ref::Attr {
                    address,
                    attr: attr.to_owned(),
                });
            }
        }
        _ => {}
    });
}

/// The address of a resource path whose indices are all literals.
fn literal_address(
    modules: &[(&str, Option<&Expr>)],
    kind: &str,
    name: &str,
    index: Option<&Step>,
) -> Option<String> {
    let lit = |e: &Expr| match e {
        Expr::Lit(v @ (Value::Str(_) | Value::Int(_))) => Some(v.clone()),
        _ => None,
    };
    let mut address = String::new();
    for (m, i) in modules {
        let key = match i {
            Some(e) => Some(lit(e)?),
            None => None,
        };
        address.push_str(&instance_address(&format!("module.{m}"), key.as_ref()));
        address.push('.');
    }
    let key = match index {
        None => None,
        Some(Step::Index(e)) => Some(lit(e)?),
        Some(_) => return None,
    };
    address.push_str(&instance_address(&format!("{kind}.{name}"), key.as_ref()));
    Some(address)
}

/// Every string of a value tree, table keys included (a key may be a
/// template too).
fn walk_strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::Str(s) => f(s),
        Value::List(l) => l.iter().for_each(|i| walk_strings(i, f)),
        Value::Map(m) => m.iter().for_each(|(k, i)| {
            f(k);
            walk_strings(i, f);
        }),
        _ => {}
    }
}

/// Gives the value of a reference; `Value::Unknown` when not known yet.
pub trait Resolve {
    fn resolve(&self, r: &Ref) -> Result<Value, String>;
}

/// Evaluates every template in a value tree. A string that is exactly one
/// `${...}` takes the value with its type (a list stays a list); otherwise
/// parts are joined into a string, unknown if any part is.
pub fn eval(v: &Value, env: &dyn Resolve) -> Result<Value, String> {
    Ok(match v {
        Value::Str(s) if s.contains("${") => {
            let parts = parse(s).map_err(|(_, m)| m)?;
            eval_parts(&parts, env)?
        }
        Value::List(l) => Value::List(l.iter().map(|i| eval(i, env)).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let mut out = std::collections::BTreeMap::new();
            for (k, i) in m {
                let key = match eval(&Value::Str(k.clone()), env)? {
                    Value::Str(key) => key,
                    // A key not known until apply: so is the whole table.
                    Value::Unknown => return Ok(Value::Unknown),
                    v @ (Value::Int(_) | Value::Float(_) | Value::Bool(_)) => to_text(&v),
                    other => {
                        return Err(format!(
                            "the table key `{k}` is a {}, not text",
                            other.type_name()
                        ));
                    }
                };
                if out.insert(key.clone(), eval(i, env)?).is_some() {
                    return Err(format!("the table key `{k}` repeats the key {key:?}"));
                }
            }
            Value::Map(out)
        }
        other => other.clone(),
    })
}

pub fn eval_parts(parts: &[Part], env: &dyn Resolve) -> Result<Value, String> {
    if let [Part::Expr(e, _)] = parts {
        return eval_expr(e, env);
    }
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Lit(l) => out.push_str(l),
            Part::Expr(e, _) => match eval_expr(e, env)? {
                Value::Unknown => return Ok(Value::Unknown),
                Value::Null => {}
                v @ (Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_)) => {
                    out.push_str(&to_text(&v))
                }
                other => {
                    return Err(format!(
                        "cannot insert a {} into a string (`{e}`)",
                        other.type_name()
                    ));
                }
            },
        }
    }
    Ok(Value::Str(out))
}

fn to_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn eval_expr(e: &Expr, env: &dyn Resolve) -> Result<Value, String> {
    Ok(match e {
        Expr::Lit(v) => v.clone(),
        Expr::List(items) => Value::List(
            items
                .iter()
                .map(|i| eval_expr(i, env))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Map(items) => Value::Map(
            items
                .iter()
                .map(|(k, i)| Ok((k.clone(), eval_expr(i, env)?)))
                .collect::<Result<_, String>>()?,
        ),
        Expr::Path(steps) => {
            let (r, rest) = match bind(steps)? {
                Bound::Ref(r, rest) => (r, rest),
                Bound::Resource {
                    modules,
                    kind,
                    name,
                    index,
                    attr,
                    rest,
                } => match literal_address(&modules, kind, name, index) {
                    Some(address) => (
                        Ref::Attr {
                            address,
                            attr: attr.to_owned(),
                        },
                        rest,
                    ),
                    None => return Err(format!("`{e}` cannot be evaluated here")),
                },
                _ => return Err(format!("`{e}` cannot be used here")),
            };
            let mut v = env.resolve(&r)?;
            for s in rest {
                v = match s {
                    Step::Name(n) => get(v, &Value::Str(n.clone()), e)?,
                    Step::Index(i) => get(v, &eval_expr(i, env)?, e)?,
                    Step::Splat => return Err(format!("`[*]` is not allowed here (`{e}`)")),
                };
            }
            v
        }
        Expr::Index(a, i) => get(eval_expr(a, env)?, &eval_expr(i, env)?, e)?,
        Expr::Not(a) => match eval_expr(a, env)? {
            Value::Bool(b) => Value::Bool(!b),
            Value::Unknown => Value::Unknown,
            other => {
                return Err(format!(
                    "`!` needs a bool, found {} in `{e}`",
                    other.type_name()
                ));
            }
        },
        Expr::Neg(a) => match eval_expr(a, env)? {
            Value::Int(i) => Value::Int(-i),
            Value::Float(x) => Value::Float(-x),
            Value::Unknown => Value::Unknown,
            other => {
                return Err(format!(
                    "`-` needs a number, found {} in `{e}`",
                    other.type_name()
                ));
            }
        },
        Expr::Bin(op, a, b) => binary(*op, a, b, env, e)?,
        Expr::Cond(c, a, b) => match eval_expr(c, env)? {
            Value::Bool(true) => eval_expr(a, env)?,
            Value::Bool(false) => eval_expr(b, env)?,
            Value::Unknown => Value::Unknown,
            other => {
                return Err(format!(
                    "a condition must be a bool, found {} in `{e}`",
                    other.type_name()
                ));
            }
        },
        Expr::Call(name, args) => {
            let args: Vec<Value> = args
                .iter()
                .map(|a| eval_expr(a, env))
                .collect::<Result<_, _>>()?;
            call(name, args).map_err(|m| format!("{name}(): {m}"))?
        }
    })
}

fn get(v: Value, key: &Value, e: &Expr) -> Result<Value, String> {
    match (&v, key) {
        (Value::Unknown, _) | (_, Value::Unknown) => Ok(Value::Unknown),
        (Value::List(items), Value::Int(i)) => usize::try_from(*i)
            .ok()
            .and_then(|i| items.get(i).cloned())
            .ok_or_else(|| {
                format!(
                    "index [{i}] is out of range: the list has {} element(s) (`{e}`)",
                    items.len()
                )
            }),
        (Value::Map(m), Value::Str(k)) => m.get(k).cloned().ok_or_else(|| {
            let hint = crate::schema::did_you_mean(k, m.keys().map(String::as_str));
            format!("no key \"{k}\" in the map (`{e}`){hint}")
        }),
        (Value::Null, _) => Ok(Value::Null),
        (v, k) => Err(format!(
            "a {} cannot be indexed by a {} (`{e}`)",
            v.type_name(),
            k.type_name()
        )),
    }
}

fn binary(op: Op, a: &Expr, b: &Expr, env: &dyn Resolve, e: &Expr) -> Result<Value, String> {
    let l = eval_expr(a, env)?;
    // `&&` and `||` decide from their left side when they can.
    match (op, &l) {
        (Op::And, Value::Bool(false)) => return Ok(Value::Bool(false)),
        (Op::Or, Value::Bool(true)) => return Ok(Value::Bool(true)),
        _ => {}
    }
    let r = eval_expr(b, env)?;
    if l.has_unknown() || r.has_unknown() {
        return Ok(Value::Unknown);
    }
    let num = |v: &Value| match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    };
    Ok(match op {
        Op::Eq => Value::Bool(loose_eq(&l, &r)),
        Op::Ne => Value::Bool(!loose_eq(&l, &r)),
        Op::And | Op::Or => match (&l, &r) {
            (Value::Bool(_), Value::Bool(y)) => Value::Bool(*y),
            _ => return Err(format!("`{}` needs bools (`{e}`)", op.as_str())),
        },
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem => match (&l, &r) {
            (Value::Int(x), Value::Int(y)) => Value::Int(match op {
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::Mul => x * y,
                Op::Div | Op::Rem if *y == 0 => return Err(format!("division by zero (`{e}`)")),
                Op::Div => x / y,
                _ => x % y,
            }),
            _ => {
                let (Some(x), Some(y)) = (num(&l), num(&r)) else {
                    return Err(format!("`{}` needs numbers (`{e}`)", op.as_str()));
                };
                Value::Float(match op {
                    Op::Add => x + y,
                    Op::Sub => x - y,
                    Op::Mul => x * y,
                    Op::Div => x / y,
                    _ => x % y,
                })
            }
        },
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let (Some(x), Some(y)) = (num(&l), num(&r)) else {
                return Err(format!("`{}` compares numbers (`{e}`)", op.as_str()));
            };
            Value::Bool(match op {
                Op::Lt => x < y,
                Op::Le => x <= y,
                Op::Gt => x > y,
                _ => x >= y,
            })
        }
    })
}

/// Equality where `1 == 1.0` and a number equals its text (variables from
/// the command line arrive as text).
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => *x as f64 == *y,
        (Value::Str(s), n @ (Value::Int(_) | Value::Float(_) | Value::Bool(_)))
        | (n @ (Value::Int(_) | Value::Float(_) | Value::Bool(_)), Value::Str(s)) => {
            *s == n.to_string()
        }
        _ => a == b,
    }
}

/// The functions, documented in the README's "Expressions" section.
pub const FUNCTIONS: &[&str] = &[
    "cidrsubnet",
    "coalesce",
    "concat",
    "contains",
    "element",
    "format",
    "index",
    "join",
    "keys",
    "length",
    "lookup",
    "lower",
    "merge",
    "split",
    "upper",
    "values",
];

/// How many arguments each function takes; checked when the desired state
/// is loaded as well as when a call is evaluated.
fn arity(name: &str) -> Option<std::ops::RangeInclusive<usize>> {
    Some(match name {
        "length" | "keys" | "values" | "upper" | "lower" => 1..=1,
        "join" | "split" | "index" | "contains" | "element" => 2..=2,
        "lookup" => 2..=3,
        "cidrsubnet" => 3..=3,
        "format" | "concat" | "merge" | "coalesce" => 1..=usize::MAX,
        _ => return None,
    })
}

/// An unknown function or a wrong number of arguments.
pub fn check_arity(name: &str, n: usize) -> Result<(), String> {
    let Some(range) = arity(name) else {
        let hint = crate::schema::did_you_mean(name, FUNCTIONS.iter().copied());
        return Err(format!(
            "unknown function `{name}`{hint}; functions: {}",
            FUNCTIONS.join(", ")
        ));
    };
    if range.contains(&n) {
        return Ok(());
    }
    let wanted = match (*range.start(), *range.end()) {
        (a, b) if a == b => a.to_string(),
        (a, usize::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    };
    Err(format!("`{name}` takes {wanted} argument(s), got {n}"))
}

fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    check_arity(name, args.len())?;
    if args.iter().any(Value::has_unknown) && name != "length" && name != "coalesce" {
        return Ok(Value::Unknown);
    }
    let s = |v: &Value| -> Result<String, String> {
        match v {
            Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => Ok(to_text(v)),
            other => Err(format!("expected a string, found {}", other.type_name())),
        }
    };
    let list = |v: &Value| -> Result<Vec<Value>, String> {
        match v {
            Value::List(l) => Ok(l.clone()),
            other => Err(format!("expected a list, found {}", other.type_name())),
        }
    };
    let map = |v: &Value| -> Result<BTreeMap<String, Value>, String> {
        match v {
            Value::Map(m) => Ok(m.clone()),
            other => Err(format!("expected a map, found {}", other.type_name())),
        }
    };
    Ok(match name {
        "length" => match &args[0] {
            Value::List(l) => Value::Int(l.len() as i64),
            Value::Map(m) => Value::Int(m.len() as i64),
            Value::Str(t) => Value::Int(t.chars().count() as i64),
            Value::Unknown => Value::Unknown,
            other => {
                return Err(format!(
                    "expected a list, map or string, found {}",
                    other.type_name()
                ));
            }
        },
        "join" => {
            let sep = s(&args[0])?;
            let items: Vec<String> = list(&args[1])?.iter().map(s).collect::<Result<_, _>>()?;
            Value::Str(items.join(&sep))
        }
        "split" => {
            let sep = s(&args[0])?;
            Value::List(s(&args[1])?.split(sep.as_str()).map(Value::str).collect())
        }
        "format" => {
            let fmt = s(&args[0])?;
            let mut values = args[1..].iter();
            let mut out = String::new();
            let mut chars = fmt.chars();
            while let Some(c) = chars.next() {
                if c != '%' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('%') => out.push('%'),
                    Some('s' | 'd' | 'v') => {
                        let v = values.next().ok_or("more verbs than values")?;
                        out.push_str(&s(v)?);
                    }
                    other => {
                        return Err(format!(
                            "unknown verb `%{}`: use %s, %d or %%",
                            other.unwrap_or(' ')
                        ));
                    }
                }
            }
            if values.next().is_some() {
                return Err("more values than verbs".into());
            }
            Value::Str(out)
        }
        "lookup" => {
            let m = map(&args[0])?;
            let k = s(&args[1])?;
            match (m.get(&k), args.get(2)) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) => {
                    let hint = crate::schema::did_you_mean(&k, m.keys().map(String::as_str));
                    return Err(format!("no key \"{k}\" in the map and no default{hint}"));
                }
            }
        }
        "index" => {
            let l = list(&args[0])?;
            let at = l.iter().position(|v| loose_eq(v, &args[1]));
            Value::Int(at.ok_or_else(|| format!("{} is not in the list", args[1]))? as i64)
        }
        "contains" => Value::Bool(list(&args[0])?.iter().any(|v| loose_eq(v, &args[1]))),
        "keys" => Value::List(map(&args[0])?.into_keys().map(Value::Str).collect()),
        "values" => Value::List(map(&args[0])?.into_values().collect()),
        "concat" => Value::List(
            args.iter()
                .map(list)
                .collect::<Result<Vec<_>, _>>()?
                .concat(),
        ),
        "merge" => Value::Map(
            args.iter()
                .map(map)
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect(),
        ),
        "element" => {
            let l = list(&args[0])?;
            let i = args[1].as_int().ok_or("the index must be a number")?;
            if l.is_empty() {
                return Err("the list is empty".into());
            }
            l[i.rem_euclid(l.len() as i64) as usize].clone()
        }
        "coalesce" => args
            .into_iter()
            .find(|v| !v.is_null() && *v != Value::str(""))
            .unwrap_or(Value::Null),
        "upper" => Value::Str(s(&args[0])?.to_uppercase()),
        "lower" => Value::Str(s(&args[0])?.to_lowercase()),
        "cidrsubnet" => {
            let net: ipnet::Ipv4Net = s(&args[0])?
                .parse()
                .map_err(|_| format!("`{}` is not an IPv4 CIDR", to_text(&args[0])))?;
            let (bits, num) = (
                args[1].as_int().ok_or("newbits must be a number")?,
                args[2].as_int().ok_or("netnum must be a number")?,
            );
            let len = i64::from(net.prefix_len()) + bits;
            if !(0..=32).contains(&len) || bits < 0 {
                return Err(format!("cannot add {bits} bits to /{}", net.prefix_len()));
            }
            let subnets: Vec<ipnet::Ipv4Net> =
                net.subnets(len as u8).map_err(|e| e.to_string())?.collect();
            let sub = usize::try_from(num)
                .ok()
                .and_then(|n| subnets.get(n))
                .ok_or_else(|| format!("netnum {num} does not fit in {bits} bits"))?;
            Value::Str(sub.to_string())
        }
        _ => unreachable!("check_arity knows every function"),
    })
}

pub fn display_ref(r: &Ref) -> String {
    match r {
        Ref::Var(n) => format!("${{var.{n}}}"),
        Ref::Stack(f) => format!("${{stack.{f}}}"),
        Ref::Attr { address, attr } => format!("${{{address}.{attr}}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Env;
    impl Resolve for Env {
        fn resolve(&self, r: &Ref) -> Result<Value, String> {
            Ok(match r {
                Ref::Stack(_) => Value::str("us-east-1"),
                Ref::Var(n) if n == "zones" => Value::List(vec![Value::str("a"), Value::str("b")]),
                Ref::Var(n) if n == "amis" => Value::Map(
                    [("us-east-1".to_owned(), Value::str("ami-1"))]
                        .into_iter()
                        .collect(),
                ),
                Ref::Var(n) if n == "empty" => Value::str(""),
                Ref::Var(_) => Value::Int(3),
                Ref::Attr { .. } => Value::Unknown,
            })
        }
    }

    fn ev(s: &str) -> Result<Value, String> {
        eval(&Value::str(s), &Env)
    }

    #[test]
    fn parses_references_and_literals() {
        let parts = parse("${stack.region}a").unwrap();
        assert!(matches!(&parts[0], Part::Expr(Expr::Path(_), 0)));
        assert_eq!(parts[1], Part::Lit("a".into()));
        assert_eq!(
            refs(&Value::str("x-${vpc.main.id}")),
            vec![Ref::Attr {
                address: "vpc.main".into(),
                attr: "id".into()
            }]
        );
        assert_eq!(
            refs(&Value::str(
                "${subnet.a[\"x\"].id} ${module.m.vpc.main[0].id}"
            )),
            vec![
                Ref::Attr {
                    address: "subnet.a[\"x\"]".into(),
                    attr: "id".into()
                },
                Ref::Attr {
                    address: "module.m.vpc.main[0]".into(),
                    attr: "id".into()
                }
            ]
        );
    }

    #[test]
    fn an_index_picks_one_element_of_a_list() {
        assert_eq!(ev("${var.zones[0]}").unwrap(), Value::str("a"));
        assert_eq!(ev("z-${var.zones[1]}").unwrap(), Value::str("z-b"));
        let err = ev("${var.zones[3]}").unwrap_err();
        assert!(err.contains("out of range"), "{err}");
    }

    #[test]
    fn rejects_malformed_expressions_with_their_offset() {
        assert_eq!(parse("ab${vpc.main").unwrap_err().0, 2);
        assert!(ev("${vpc}").unwrap_err().contains("invalid reference"));
        assert!(ev("${stack.zone}").unwrap_err().contains("stack.region"));
        let (at, m) = parse("${var.a == }").unwrap_err();
        assert_eq!(at, 11, "{m}");
        assert!(parse("${1 +* 2}").is_err());
        assert!(ev("${nope(1)}").unwrap_err().contains("unknown function"));
        assert_eq!(
            check_arity("join", 1).unwrap_err(),
            "`join` takes 2 argument(s), got 1"
        );
        assert!(check_arity("lookup", 3).is_ok());
        assert!(check_arity("concat", 0).unwrap_err().contains("at least 1"));
        for f in FUNCTIONS {
            assert!(arity(f).is_some(), "{f} has no arity");
        }
    }

    #[test]
    fn a_lone_expression_keeps_its_type_and_interpolation_makes_strings() {
        assert_eq!(
            ev("${var.zones}").unwrap(),
            Value::List(vec![Value::str("a"), Value::str("b")])
        );
        assert_eq!(ev("${stack.region}b").unwrap(), Value::str("us-east-1b"));
        assert_eq!(ev("n=${var.n}").unwrap(), Value::str("n=3"));
        assert_eq!(ev("${vpc.a.id}/x").unwrap(), Value::Unknown);
        assert_eq!(ev("$${literal}").unwrap(), Value::str("${literal}"));
    }

    #[test]
    fn operators_conditions_and_functions() {
        assert_eq!(ev("${var.empty != \"\"}").unwrap(), Value::Bool(false));
        assert_eq!(
            ev("${!(var.n > 2) || length(var.zones) == 2}").unwrap(),
            Value::Bool(true)
        );
        assert_eq!(ev("${var.n * 2 + 1}").unwrap(), Value::Int(7));
        assert_eq!(
            ev("${var.n > 2 ? \"big\" : \"small\"}").unwrap(),
            Value::str("big")
        );
        assert_eq!(ev("${join(\",\", var.zones)}").unwrap(), Value::str("a,b"));
        assert_eq!(
            ev("${format(\"%s-%d\", \"x\", 4)}").unwrap(),
            Value::str("x-4")
        );
        assert_eq!(
            ev("${lookup(var.amis, stack.region)}").unwrap(),
            Value::str("ami-1")
        );
        assert_eq!(
            ev("${var.amis[\"us-east-1\"]}").unwrap(),
            Value::str("ami-1")
        );
        assert_eq!(
            ev("${cidrsubnet(\"10.0.0.0/16\", 8, 2)}").unwrap(),
            Value::str("10.0.2.0/24")
        );
        assert_eq!(
            ev("${contains(var.zones, \"b\")}").unwrap(),
            Value::Bool(true)
        );
        // Unknown stays unknown, except where the left side decides.
        assert_eq!(ev("${vpc.a.id == \"x\"}").unwrap(), Value::Unknown);
        assert_eq!(
            ev("${false && vpc.a.id == \"x\"}").unwrap(),
            Value::Bool(false)
        );
        assert!(
            ev("${lookup(var.amis, \"eu-west-9\")}")
                .unwrap_err()
                .contains("no key")
        );
    }

    #[test]
    fn printing_parses_back_to_the_same_expression() {
        for s in [
            "a-${var.x}-${subnet.p[\"a\"].id}",
            "${var.n > 2 ? [1, 2] : {\"k\" = \"v\"}}",
            "${!var.b && (var.c || var.d)}",
            "${join(\",\", subnet.p[*].id)}",
            "$${not} ${format(\"%s\", each.value.cidr)}",
        ] {
            let parts = parse(s).unwrap();
            let printed = print(&parts);
            let again = parse(&printed).unwrap();
            let strip = |ps: Vec<Part>| -> Vec<String> {
                ps.into_iter()
                    .map(|p| match p {
                        Part::Lit(l) => l,
                        Part::Expr(e, _) => e.to_string(),
                    })
                    .collect()
            };
            assert_eq!(strip(parts), strip(again), "{s} -> {printed}");
        }
    }
}
