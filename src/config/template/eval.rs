//! Evaluation of a tree against known values; `Value::Unknown` stands for
//! what is known only once AWS answers.

use super::bind::{Bound, EXPANDED, bind, literal_address};
use super::functions;
use super::syntax::{Expr, Op, Part, Ref, Step};
use super::tree::Template;
use crate::value::Value;

/// Gives the value of a reference; `Value::Unknown` when not known yet.
pub trait Resolve {
    fn resolve(&self, r: &Ref) -> Result<Value, String>;
}

/// Evaluates a value tree in text form (a plan keeps its expressions as
/// text): parsed, then evaluated as [`Template::eval`] says.
pub fn eval(v: &Value, env: &dyn Resolve) -> Result<Value, String> {
    Template::parse(v).map_err(|(_, m)| m)?.eval(env)
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
                    out.push_str(&to_text(&v));
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

pub(super) fn to_text(v: &Value) -> String {
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
        Expr::Path(steps) => eval_path(steps, env, e)?,
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
            functions::call(name, args).map_err(|m| format!("{name}(): {m}"))?
        }
    })
}

/// An expanded path: its reference's value, then its accessors.
fn eval_path(steps: &[Step], env: &dyn Resolve, e: &Expr) -> Result<Value, String> {
    let (r, rest) = match bind(steps, EXPANDED)? {
        Bound::Ref(r, rest) => (r, rest),
        Bound::Resource { modules, kind, name, index, attr, rest } => {
            match literal_address(&modules, kind, name, index) {
                Some(address) => (Ref::Attr { address, attr: attr.to_owned() }, rest),
                None => return Err(format!("`{e}` cannot be evaluated here")),
            }
        }
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
    Ok(v)
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
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem => {
            if let (Value::Int(x), Value::Int(y)) = (&l, &r) {
                Value::Int(match op {
                    Op::Add => x + y,
                    Op::Sub => x - y,
                    Op::Mul => x * y,
                    Op::Div | Op::Rem if *y == 0 => {
                        return Err(format!("division by zero (`{e}`)"));
                    }
                    Op::Div => x / y,
                    _ => x % y,
                })
            } else {
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
        }
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
pub(super) fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => *x as f64 == *y,
        (Value::Str(s), n @ (Value::Int(_) | Value::Float(_) | Value::Bool(_)))
        | (n @ (Value::Int(_) | Value::Float(_) | Value::Bool(_)), Value::Str(s)) => {
            *s == n.to_string()
        }
        _ => a == b,
    }
}
