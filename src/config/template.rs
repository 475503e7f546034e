//! `${...}` references inside strings: parsing, the addresses they name, and
//! evaluation against known values.

use crate::value::Value;

/// What a `${...}` names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ref {
    Var(String),
    /// `stack.name` or `stack.region`.
    Stack(String),
    /// `<kind>.<name>.<attribute>`
    Attr {
        address: String,
        attr: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Lit(String),
    /// A reference, an optional list index (`${lookups.zones.names[0]}`),
    /// and its byte offset.
    Ref(Ref, Option<usize>, usize),
}

/// Splits a string into literal parts and references. `$${` is a literal
/// `${`. The `usize` of a reference is its byte offset, for error columns.
pub fn parse(s: &str) -> Result<Vec<Part>, (usize, String)> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    let mut offset = 0;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            lit.push_str(&rest[..i - 1]);
            lit.push_str("${");
            rest = &rest[i + 2..];
            offset += i + 2;
            continue;
        }
        lit.push_str(&rest[..i]);
        let Some(end) = rest[i..].find('}') else {
            return Err((
                offset + i,
                "unterminated `${`: expected a closing `}`".into(),
            ));
        };
        let inner = rest[i + 2..i + end].trim();
        let (r, index) = parse_ref(inner).map_err(|m| (offset + i, m))?;
        if !lit.is_empty() {
            parts.push(Part::Lit(std::mem::take(&mut lit)));
        }
        parts.push(Part::Ref(r, index, offset + i));
        rest = &rest[i + end + 1..];
        offset += i + end + 1;
    }
    lit.push_str(rest);
    if !lit.is_empty() || parts.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}

fn parse_ref(inner: &str) -> Result<(Ref, Option<usize>), String> {
    let (inner, index) = match inner.strip_suffix(']').and_then(|s| s.rsplit_once('[')) {
        Some((head, i)) => {
            let i = i.trim().parse::<usize>().map_err(|_| {
                format!("invalid index `[{i}]` in `${{{inner}}}`: expected a number such as [0]")
            })?;
            (head, Some(i))
        }
        None => (inner, None),
    };
    let segs: Vec<&str> = inner.split('.').collect();
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !segs.iter().all(|s| ident(s)) {
        return Err(format!(
            "invalid reference `${{{inner}}}`: expected `${{kind.name.attribute}}`, `${{var.name}}` or `${{stack.region}}`"
        ));
    }
    let r = match segs.as_slice() {
        ["var", name] => Ok(Ref::Var((*name).to_owned())),
        ["stack", field @ ("name" | "region")] => Ok(Ref::Stack((*field).to_owned())),
        ["stack", other] => Err(format!(
            "unknown stack attribute `{other}`: use `stack.name` or `stack.region`"
        )),
        [kind, name, attr] if *kind != "var" && *kind != "stack" => Ok(Ref::Attr {
            address: format!("{kind}.{name}"),
            attr: (*attr).to_owned(),
        }),
        _ => Err(format!(
            "invalid reference `${{{inner}}}`: expected `${{kind.name.attribute}}`, `${{var.name}}` or `${{stack.region}}`"
        )),
    }?;
    Ok((r, index))
}

/// The value of a reference, indexed when it says `[i]`.
fn resolve(env: &dyn Resolve, r: &Ref, index: Option<usize>) -> Result<Value, String> {
    let v = env.resolve(r)?;
    let Some(i) = index else { return Ok(v) };
    match v {
        Value::Unknown => Ok(Value::Unknown),
        Value::List(items) => items.get(i).cloned().ok_or_else(|| {
            format!(
                "index [{i}] is out of range: {} has {} element(s)",
                display_ref(r),
                items.len()
            )
        }),
        other => Err(format!(
            "{} is a {}, not a list: it cannot be indexed",
            display_ref(r),
            other.type_name()
        )),
    }
}

/// Every reference in a value tree.
pub fn refs(v: &Value) -> Vec<Ref> {
    let mut out = Vec::new();
    walk_strings(v, &mut |s| {
        if let Ok(parts) = parse(s) {
            out.extend(parts.into_iter().filter_map(|p| match p {
                Part::Ref(r, _, _) => Some(r),
                Part::Lit(_) => None,
            }));
        }
    });
    out
}

fn walk_strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::Str(s) => f(s),
        Value::List(l) => l.iter().for_each(|i| walk_strings(i, f)),
        Value::Map(m) => m.values().for_each(|i| walk_strings(i, f)),
        _ => {}
    }
}

/// Gives the value of a reference; `Value::Unknown` when not known yet.
pub trait Resolve {
    fn resolve(&self, r: &Ref) -> Result<Value, String>;
}

/// Evaluates every template in a value tree. A string that is exactly one
/// reference takes the referenced value with its type (a list stays a
/// list); otherwise parts are joined into a string, unknown if any part is.
pub fn eval(v: &Value, env: &dyn Resolve) -> Result<Value, String> {
    Ok(match v {
        Value::Str(s) if s.contains("${") => {
            let parts = parse(s).map_err(|(_, m)| m)?;
            if let [Part::Ref(r, index, _)] = parts.as_slice() {
                return resolve(env, r, *index);
            }
            let mut out = String::new();
            for p in parts {
                match p {
                    Part::Lit(l) => out.push_str(&l),
                    Part::Ref(r, index, _) => match resolve(env, &r, index)? {
                        Value::Unknown => return Ok(Value::Unknown),
                        Value::Str(s) => out.push_str(&s),
                        Value::Int(i) => out.push_str(&i.to_string()),
                        Value::Float(x) => out.push_str(&x.to_string()),
                        Value::Bool(b) => out.push_str(&b.to_string()),
                        other => {
                            return Err(format!(
                                "cannot insert a {} into a string ({})",
                                other.type_name(),
                                display_ref(&r)
                            ));
                        }
                    },
                }
            }
            Value::Str(out)
        }
        Value::Str(s) => Value::Str(s.replace("$${", "${")),
        Value::List(l) => Value::List(l.iter().map(|i| eval(i, env)).collect::<Result<_, _>>()?),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, i)| Ok((k.clone(), eval(i, env)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
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
                Ref::Var(n) if n == "zones" => Value::List(vec![Value::str("a")]),
                Ref::Var(_) => Value::Int(3),
                Ref::Attr { .. } => Value::Unknown,
            })
        }
    }

    #[test]
    fn parses_references_and_literals() {
        let parts = parse("${stack.region}a").unwrap();
        assert_eq!(parts[0], Part::Ref(Ref::Stack("region".into()), None, 0));
        assert_eq!(parts[1], Part::Lit("a".into()));
        let parts = parse("x-${vpc.main.id}").unwrap();
        assert_eq!(
            parts[1],
            Part::Ref(
                Ref::Attr {
                    address: "vpc.main".into(),
                    attr: "id".into()
                },
                None,
                2
            )
        );
    }

    #[test]
    fn an_index_picks_one_element_of_a_list() {
        assert_eq!(
            eval(&Value::str("${var.zones[0]}"), &Env).unwrap(),
            Value::str("a")
        );
        assert_eq!(
            eval(&Value::str("z-${var.zones[0]}"), &Env).unwrap(),
            Value::str("z-a")
        );
        let err = eval(&Value::str("${var.zones[3]}"), &Env).unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        assert!(
            parse("${var.zones[x]}")
                .unwrap_err()
                .1
                .contains("invalid index")
        );
    }

    #[test]
    fn rejects_malformed_references_with_their_offset() {
        assert_eq!(parse("ab${vpc.main").unwrap_err().0, 2);
        assert!(parse("${vpc}").unwrap_err().1.contains("invalid reference"));
        assert!(
            parse("${stack.zone}")
                .unwrap_err()
                .1
                .contains("stack.region")
        );
    }

    #[test]
    fn a_lone_reference_keeps_its_type_and_interpolation_makes_strings() {
        assert_eq!(
            eval(&Value::str("${var.zones}"), &Env).unwrap(),
            Value::List(vec![Value::str("a")])
        );
        assert_eq!(
            eval(&Value::str("${stack.region}b"), &Env).unwrap(),
            Value::str("us-east-1b")
        );
        assert_eq!(
            eval(&Value::str("n=${var.n}"), &Env).unwrap(),
            Value::str("n=3")
        );
        assert_eq!(
            eval(&Value::str("${vpc.a.id}/x"), &Env).unwrap(),
            Value::Unknown
        );
        assert_eq!(
            eval(&Value::str("$${literal}"), &Env).unwrap(),
            Value::str("${literal}")
        );
    }
}
