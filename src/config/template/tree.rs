//! A value as written with its `${...}` strings parsed once, at load: the
//! form attributes, module arguments and outputs keep through expansion,
//! the reference check and the plan. Text again only where a plan is saved
//! or shown ([`Template::to_value`]).

use std::collections::BTreeMap;

use super::bind::expr_refs;
use super::eval::{Resolve, eval_parts, to_text};
use super::parser::parse;
use super::syntax::{Expr, Part, Ref, print};
use crate::value::{Attrs, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// Holds no expression anywhere: the value as it evaluates.
    Lit(Value),
    /// A string with `${...}` (or `$${`) in it.
    Text(Vec<Part>),
    List(Vec<Template>),
    /// A table whose keys or values hold expressions; a key is `Lit` text
    /// or `Text`.
    Map(Vec<(Template, Template)>),
}

/// Attribute name → template.
pub type Templates = BTreeMap<String, Template>;

/// A parse error: the byte offset in the string where it was found, and why.
pub type ParseError = (usize, String);

fn has_template(v: &Value) -> bool {
    match v {
        Value::Str(s) => s.contains("${"),
        Value::List(l) => l.iter().any(has_template),
        Value::Map(m) => m.iter().any(|(k, i)| k.contains("${") || has_template(i)),
        _ => false,
    }
}

impl Template {
    /// Parses every string of a value tree, table keys included. The first
    /// error is returned with its offset in its string.
    pub fn parse(v: &Value) -> Result<Template, ParseError> {
        if !has_template(v) {
            return Ok(Template::Lit(v.clone()));
        }
        Ok(match v {
            Value::Str(s) => Template::Text(parse(s)?),
            Value::List(l) => {
                Template::List(l.iter().map(Template::parse).collect::<Result<_, _>>()?)
            }
            Value::Map(m) => Template::Map(
                m.iter()
                    .map(|(k, i)| {
                        let key = Template::parse(&Value::Str(k.clone()))?;
                        Ok((key, Template::parse(i)?))
                    })
                    .collect::<Result<_, ParseError>>()?,
            ),
            other => Template::Lit(other.clone()),
        })
    }

    /// Back to text that parses to the same tree (`$${` stays escaped).
    pub fn to_value(&self) -> Value {
        match self {
            Template::Lit(v) => v.clone(),
            Template::Text(parts) => Value::Str(print(parts)),
            Template::List(items) => Value::List(items.iter().map(Template::to_value).collect()),
            Template::Map(items) => Value::Map(
                items
                    .iter()
                    .map(|(k, i)| (key_text(k), i.to_value()))
                    .collect(),
            ),
        }
    }

    /// Every expression, table keys' included, in order.
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.walk(&mut |e| out.push(e));
        out
    }

    fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        match self {
            Template::Lit(_) => {}
            Template::Text(parts) => parts.iter().for_each(|p| {
                if let Part::Expr(e, _) = p {
                    f(e);
                }
            }),
            Template::List(items) => items.iter().for_each(|i| i.walk(f)),
            Template::Map(items) => items.iter().for_each(|(k, i)| {
                k.walk(f);
                i.walk(f);
            }),
        }
    }

    /// Every absolute reference of an expanded template.
    pub fn refs(&self) -> Vec<Ref> {
        let mut out = Vec::new();
        self.walk(&mut |e| expr_refs(e, &mut out));
        out
    }

    /// The same tree with every expression replaced by `f`'s; an error
    /// carries the offset of the `${` it came from.
    pub fn try_map(
        &self,
        f: &mut impl FnMut(&Expr) -> Result<Expr, String>,
    ) -> Result<Template, ParseError> {
        Ok(match self {
            Template::Lit(v) => Template::Lit(v.clone()),
            Template::Text(parts) => Template::Text(
                parts
                    .iter()
                    .map(|p| match p {
                        Part::Lit(l) => Ok(Part::Lit(l.clone())),
                        Part::Expr(e, at) => Ok(Part::Expr(f(e).map_err(|m| (*at, m))?, *at)),
                    })
                    .collect::<Result<_, ParseError>>()?,
            ),
            Template::List(items) => Template::List(
                items
                    .iter()
                    .map(|i| i.try_map(f))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Map(items) => Template::Map(
                items
                    .iter()
                    .map(|(k, i)| Ok((k.try_map(f)?, i.try_map(f)?)))
                    .collect::<Result<_, ParseError>>()?,
            ),
        })
    }

    /// The value. A string that is exactly one `${...}` takes the value with
    /// its type (a list stays a list); otherwise parts are joined into a
    /// string, unknown if any part is. A table key must come out as text.
    pub fn eval(&self, env: &dyn Resolve) -> Result<Value, String> {
        Ok(match self {
            Template::Lit(v) => v.clone(),
            Template::Text(parts) => eval_parts(parts, env)?,
            Template::List(items) => Value::List(
                items
                    .iter()
                    .map(|i| i.eval(env))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Map(items) => {
                let mut out = BTreeMap::new();
                for (k, i) in items {
                    let key = match k.eval(env)? {
                        Value::Str(key) => key,
                        // A key not known until apply: so is the whole table.
                        Value::Unknown => return Ok(Value::Unknown),
                        v @ (Value::Int(_) | Value::Float(_) | Value::Bool(_)) => to_text(&v),
                        other => {
                            return Err(format!(
                                "the table key `{}` is a {}, not text",
                                key_text(k),
                                other.type_name()
                            ));
                        }
                    };
                    if out.insert(key.clone(), i.eval(env)?).is_some() {
                        return Err(format!(
                            "the table key `{}` repeats the key {key:?}",
                            key_text(k)
                        ));
                    }
                }
                Value::Map(out)
            }
        })
    }
}

/// A key as written.
fn key_text(k: &Template) -> String {
    k.to_value().as_str().unwrap_or_default().to_owned()
}

/// Parses every attribute of a plan's text form.
pub fn parse_attrs(attrs: &Attrs) -> Result<Templates, String> {
    attrs
        .iter()
        .map(|(k, v)| {
            Template::parse(v)
                .map(|t| (k.clone(), t))
                .map_err(|(_, m)| format!("`{k}`: {m}"))
        })
        .collect()
}

/// Every attribute back to text, as a plan keeps it.
pub fn print_attrs(templates: &Templates) -> Attrs {
    templates
        .iter()
        .map(|(k, t)| (k.clone(), t.to_value()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::template::StackField;

    struct Env;
    impl Resolve for Env {
        fn resolve(&self, r: &Ref) -> Result<Value, String> {
            match r {
                Ref::Stack(StackField::Name) => Ok(Value::str("web")),
                Ref::Stack(StackField::Region) => Ok(Value::str("us-east-1")),
                Ref::Var(n) if n == "list" => Ok(Value::List(vec![])),
                Ref::Lookup { name, attr } => Ok(Value::str(format!("{name}/{attr}"))),
                _ => Ok(Value::Unknown),
            }
        }
    }

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs)
    }

    #[test]
    fn a_value_without_expressions_stays_one_literal() {
        let v = map(&[("a", Value::List(vec![Value::str("x"), Value::Int(1)]))]);
        assert_eq!(Template::parse(&v).unwrap(), Template::Lit(v.clone()));
    }

    #[test]
    fn table_keys_are_parsed_and_evaluated() {
        let v = map(&[
            ("${stack.region}-${stack.name}-taskrole", Value::str("x")),
            ("plain", Value::str("${lookups.zones.names}")),
        ]);
        let t = Template::parse(&v).unwrap();
        assert_eq!(
            t.eval(&Env).unwrap(),
            map(&[
                ("us-east-1-web-taskrole", Value::str("x")),
                ("plain", Value::str("zones/names")),
            ])
        );
        assert_eq!(t.to_value(), v, "printing gives back the text");
    }

    #[test]
    fn a_key_that_is_not_text_or_repeats_is_an_error() {
        let t = Template::parse(&map(&[("${var.list}", Value::Int(1))])).unwrap();
        let err = t.eval(&Env).unwrap_err();
        assert_eq!(err, "the table key `${var.list}` is a list, not text");
        let t = Template::parse(&map(&[
            ("${stack.name}", Value::Int(1)),
            ("web", Value::Int(2)),
        ]))
        .unwrap();
        let err = t.eval(&Env).unwrap_err();
        assert!(err.contains("repeats the key \"web\""), "{err}");
    }

    #[test]
    fn a_syntax_error_in_a_key_or_a_nested_value_has_its_offset() {
        let (at, _) = Template::parse(&map(&[("ab${x", Value::Null)])).unwrap_err();
        assert_eq!(at, 2);
        let v = Value::List(vec![Value::str("ok"), Value::str("${1 +}")]);
        assert_eq!(Template::parse(&v).unwrap_err().0, 5);
    }

    #[test]
    fn mapping_expressions_keeps_literals_and_locates_errors_at_their_dollar() {
        let t = Template::parse(&Value::str("a-${var.x}-${var.y}")).unwrap();
        let err = t
            .try_map(&mut |e| match e.to_string().as_str() {
                "var.y" => Err("no y".into()),
                _ => Ok(Expr::Lit(Value::str("X"))),
            })
            .unwrap_err();
        assert_eq!(err, (11, "no y".to_owned()));
        let t = t.try_map(&mut |_| Ok(Expr::Lit(Value::str("X")))).unwrap();
        assert_eq!(t.eval(&Env).unwrap(), Value::str("a-X-X"));
        assert_eq!(t.to_value(), Value::str("a-${\"X\"}-${\"X\"}"));
    }

    #[test]
    fn an_escaped_dollar_survives_printing() {
        let t = Template::parse(&Value::str("$${literal} ${stack.name}")).unwrap();
        assert_eq!(t.eval(&Env).unwrap(), Value::str("${literal} web"));
        let again = Template::parse(&t.to_value()).unwrap();
        assert_eq!(again.eval(&Env).unwrap(), Value::str("${literal} web"));
    }
}
