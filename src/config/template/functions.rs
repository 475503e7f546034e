//! The function library, documented in the README's "Expressions" section:
//! one table gives each function's name, arity and implementation, so the
//! load-time arity check, the evaluator and the list in error messages
//! cannot disagree.

use std::collections::BTreeMap;

use super::eval::{loose_eq, to_text};
use crate::value::Value;

/// One function of the expression language.
pub struct Function {
    pub name: &'static str,
    pub min_args: usize,
    /// `None`: any number from `min_args` on.
    pub max_args: Option<usize>,
    /// Called with unknown arguments too; otherwise such a call is unknown.
    pub sees_unknown: bool,
    pub call: fn(Vec<Value>) -> Result<Value, String>,
}

const fn f(
    name: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    call: fn(Vec<Value>) -> Result<Value, String>,
) -> Function {
    Function { name, min_args, max_args, sees_unknown: false, call }
}

/// Every function, by name.
pub const FUNCTIONS: &[Function] = &[
    f("cidrsubnet", 3, Some(3), cidrsubnet),
    Function { sees_unknown: true, ..f("coalesce", 1, None, coalesce) },
    f("concat", 1, None, concat),
    f("contains", 2, Some(2), contains),
    f("element", 2, Some(2), element),
    f("format", 1, None, format),
    f("index", 2, Some(2), index),
    f("join", 2, Some(2), join),
    f("keys", 1, Some(1), keys),
    Function { sees_unknown: true, ..f("length", 1, Some(1), length) },
    f("lookup", 2, Some(3), lookup),
    f("lower", 1, Some(1), lower),
    f("merge", 1, None, merge),
    f("split", 2, Some(2), split),
    f("upper", 1, Some(1), upper),
    f("values", 1, Some(1), values),
];

/// The function called `name` if it takes `n` arguments; the error names
/// the functions or the arity.
pub fn check_arity(name: &str, n: usize) -> Result<&'static Function, String> {
    let Some(func) = FUNCTIONS.iter().find(|f| f.name == name) else {
        let names = FUNCTIONS.iter().map(|f| f.name);
        let hint = crate::schema::did_you_mean(name, names.clone());
        return Err(format!(
            "unknown function `{name}`{hint}; functions: {}",
            names.collect::<Vec<_>>().join(", ")
        ));
    };
    if n >= func.min_args && func.max_args.is_none_or(|m| n <= m) {
        return Ok(func);
    }
    let wanted = match (func.min_args, func.max_args) {
        (a, Some(b)) if a == b => a.to_string(),
        (a, None) => format!("at least {a}"),
        (a, Some(b)) => format!("{a} to {b}"),
    };
    Err(format!("`{name}` takes {wanted} argument(s), got {n}"))
}

/// Calls a function; a call with an unknown argument is unknown unless the
/// function decides with unknowns.
pub fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    let func = check_arity(name, args.len())?;
    if !func.sees_unknown && args.iter().any(Value::has_unknown) {
        return Ok(Value::Unknown);
    }
    (func.call)(args)
}

fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => Ok(to_text(v)),
        other => Err(format!("expected a string, found {}", other.type_name())),
    }
}

fn list(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::List(l) => Ok(l.clone()),
        other => Err(format!("expected a list, found {}", other.type_name())),
    }
}

fn map(v: &Value) -> Result<BTreeMap<String, Value>, String> {
    match v {
        Value::Map(m) => Ok(m.clone()),
        other => Err(format!("expected a map, found {}", other.type_name())),
    }
}

fn length(args: Vec<Value>) -> Result<Value, String> {
    Ok(match &args[0] {
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
    })
}

fn join(args: Vec<Value>) -> Result<Value, String> {
    let sep = text(&args[0])?;
    let items: Vec<String> = list(&args[1])?.iter().map(text).collect::<Result<_, _>>()?;
    Ok(Value::Str(items.join(&sep)))
}

fn split(args: Vec<Value>) -> Result<Value, String> {
    let sep = text(&args[0])?;
    Ok(Value::List(
        text(&args[1])?
            .split(sep.as_str())
            .map(Value::str)
            .collect(),
    ))
}

/// `%s`, `%d` and `%v` insert the next value; `%%` is a percent sign.
fn format(args: Vec<Value>) -> Result<Value, String> {
    let fmt = text(&args[0])?;
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
                out.push_str(&text(v)?);
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
    Ok(Value::Str(out))
}

fn lookup(args: Vec<Value>) -> Result<Value, String> {
    let m = map(&args[0])?;
    let k = text(&args[1])?;
    match (m.get(&k), args.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => {
            let hint = crate::schema::did_you_mean(&k, m.keys().map(String::as_str));
            Err(format!("no key \"{k}\" in the map and no default{hint}"))
        }
    }
}

fn index(args: Vec<Value>) -> Result<Value, String> {
    let l = list(&args[0])?;
    let at = l.iter().position(|v| loose_eq(v, &args[1]));
    Ok(Value::Int(
        at.ok_or_else(|| format!("{} is not in the list", args[1]))? as i64,
    ))
}

fn contains(args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::Bool(
        list(&args[0])?.iter().any(|v| loose_eq(v, &args[1])),
    ))
}

fn keys(args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::List(
        map(&args[0])?.into_keys().map(Value::Str).collect(),
    ))
}

fn values(args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::List(map(&args[0])?.into_values().collect()))
}

fn concat(args: Vec<Value>) -> Result<Value, String> {
    let lists = args.iter().map(list).collect::<Result<Vec<_>, _>>()?;
    Ok(Value::List(lists.concat()))
}

fn merge(args: Vec<Value>) -> Result<Value, String> {
    let maps = args.iter().map(map).collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Map(maps.into_iter().flatten().collect()))
}

/// The element at an index that wraps around the list's length.
fn element(args: Vec<Value>) -> Result<Value, String> {
    let l = list(&args[0])?;
    let i = args[1].as_int().ok_or("the index must be a number")?;
    if l.is_empty() {
        return Err("the list is empty".into());
    }
    Ok(l[i.rem_euclid(l.len() as i64) as usize].clone())
}

/// The first argument that is neither null nor empty text.
fn coalesce(args: Vec<Value>) -> Result<Value, String> {
    Ok(args
        .into_iter()
        .find(|v| !v.is_null() && *v != Value::str(""))
        .unwrap_or(Value::Null))
}

fn upper(args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::Str(text(&args[0])?.to_uppercase()))
}

fn lower(args: Vec<Value>) -> Result<Value, String> {
    Ok(Value::Str(text(&args[0])?.to_lowercase()))
}

/// `cidrsubnet(prefix, newbits, netnum)` as Terraform's, IPv4 only.
fn cidrsubnet(args: Vec<Value>) -> Result<Value, String> {
    let net: ipnet::Ipv4Net = text(&args[0])?
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
    let subnets: Vec<ipnet::Ipv4Net> = net.subnets(len as u8).map_err(|e| e.to_string())?.collect();
    let sub = usize::try_from(num)
        .ok()
        .and_then(|n| subnets.get(n))
        .ok_or_else(|| format!("netnum {num} does not fit in {bits} bits"))?;
    Ok(Value::Str(sub.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_names_each_function_once() {
        let names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn arity_comes_from_the_table() {
        assert_eq!(
            check_arity("join", 1).err().unwrap(),
            "`join` takes 2 argument(s), got 1"
        );
        assert_eq!(
            check_arity("lookup", 4).err().unwrap(),
            "`lookup` takes 2 to 3 argument(s), got 4"
        );
        assert!(check_arity("lookup", 3).is_ok());
        assert!(
            check_arity("concat", 0)
                .err()
                .unwrap()
                .contains("at least 1")
        );
        let err = check_arity("lenght", 1).err().unwrap();
        assert!(err.contains("did you mean `length`"), "{err}");
        assert!(err.contains("functions: cidrsubnet, coalesce,"), "{err}");
    }

    #[test]
    fn unknown_arguments_make_a_call_unknown_unless_the_function_decides() {
        let unknown = vec![Value::List(vec![Value::Unknown])];
        assert_eq!(call("keys", vec![Value::Unknown]).unwrap(), Value::Unknown);
        assert_eq!(call("length", unknown).unwrap(), Value::Int(1));
        assert_eq!(
            call(
                "coalesce",
                vec![Value::Null, Value::str("x"), Value::Unknown]
            )
            .unwrap(),
            Value::str("x")
        );
    }
}
