//! The expression tree: what the parser builds, expansion rewrites, the
//! reference check reads and the evaluator runs; and its printer, which
//! writes text that parses back to the same tree (plans keep expressions as
//! text).

use std::fmt::{self, Write};

use crate::value::Value;

/// What a reference names once bound to an absolute address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ref {
    Var(String),
    Stack(StackField),
    /// `lookups.<name>.<attribute>`: read-only data read at plan time.
    Lookup {
        name: String,
        attr: String,
    },
    /// `<address>.<attribute>` of a resource; the address may be indexed
    /// (`subnet.a["x"]`) or in a module (`module.m.vpc.main`).
    Attr {
        address: String,
        attr: String,
    },
}

/// What `stack.<field>` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StackField {
    Name,
    Region,
}

impl StackField {
    pub fn parse(s: &str) -> Option<StackField> {
        match s {
            "name" => Some(StackField::Name),
            "region" => Some(StackField::Region),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StackField::Name => "name",
            StackField::Region => "region",
        }
    }
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
    pub(super) fn as_str(self) -> &'static str {
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

/// The address of one instance: `kind.name`, `kind.name[0]`,
/// `kind.name["key"]`.
pub fn instance_address(base: &str, key: Option<&Value>) -> String {
    match key {
        None => base.to_owned(),
        Some(k) => format!("{base}[{}]", print_lit(k)),
    }
}

// ---- printing: an expression back to text that parses to the same thing.

pub(super) fn print_lit(v: &Value) -> String {
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

pub(super) fn print_path(steps: &[Step]) -> String {
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

impl fmt::Display for Ref {
    /// The reference as written, without `${}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Var(n) => write!(f, "var.{n}"),
            Ref::Stack(s) => write!(f, "stack.{}", s.as_str()),
            Ref::Lookup { name, attr } => write!(f, "lookups.{name}.{attr}"),
            Ref::Attr { address, attr } => write!(f, "{address}.{attr}"),
        }
    }
}

/// A reference as it is written in a template: `${var.x}`.
pub fn display_ref(r: &Ref) -> String {
    format!("${{{r}}}")
}
