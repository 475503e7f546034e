//! Names to references: a path such as `module.m.subnet.a["x"].id` or
//! `lookups.zones.names` classified, and every absolute reference of a tree.

use super::syntax::{Expr, Ref, StackField, Step, instance_address, print_path};
use crate::value::Value;

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

/// Which names are resource kinds, for `module.m.<x>...`: as written in a
/// module's caller, `x` is an output of the module unless it names a kind.
pub type IsKind<'k> = &'k dyn Fn(&str) -> bool;

/// After expansion every `module.` path is a resource's: the outputs were
/// replaced by their expressions.
pub const EXPANDED: IsKind<'static> = &|_| true;

/// Classifies a path by its first names.
pub fn bind<'a>(steps: &'a [Step], is_kind: IsKind) -> Result<Bound<'a>, String> {
    let bad = || format!("invalid reference `{}`: {SHAPES}", print_path(steps));
    let root = name(steps.first()).ok_or_else(bad)?;
    let second = name(steps.get(1));
    match root {
        "var" => Ok(Bound::Ref(
            Ref::Var(second.ok_or_else(bad)?.to_owned()),
            &steps[2..],
        )),
        "stack" => match second {
            Some(f) => match StackField::parse(f) {
                Some(f) => Ok(Bound::Ref(Ref::Stack(f), &steps[2..])),
                None => Err(format!(
                    "unknown stack attribute `{f}`: use `stack.name` or `stack.region`"
                )),
            },
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
                Ref::Lookup { name: n.to_owned(), attr: attr.to_owned() },
                &steps[3..],
            ))
        }
        "module" => {
            let mut modules = Vec::new();
            let mut i = 0;
            while name(steps.get(i)) == Some("module") {
                let m = name(steps.get(i + 1)).ok_or_else(bad)?;
                if let Some(s @ (Step::Index(_) | Step::Splat)) = steps.get(i + 2) {
                    modules.push((m, Some(s)));
                    i += 3;
                } else {
                    modules.push((m, None));
                    i += 2;
                }
            }
            let rest = &steps[i..];
            if let Some(kind) = name(rest.first())
                && is_kind(kind)
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
            Ok(Bound::ModuleOutput { modules, output, rest: &rest[1..] })
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
    Some(Bound::Resource { modules, kind, name: n, index, attr, rest: &steps[at + 1..] })
}

// ---- references.

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

/// Every absolute reference of an expanded expression.
pub(super) fn expr_refs(e: &Expr, out: &mut Vec<Ref>) {
    walk_paths(e, &mut |steps| match bind(steps, EXPANDED) {
        Ok(Bound::Ref(r, _)) => out.push(r),
        Ok(Bound::Resource { modules, kind, name, index, attr, .. }) => {
            if let Some(address) = literal_address(&modules, kind, name, index) {
                out.push(Ref::Attr { address, attr: attr.to_owned() });
            }
        }
        _ => {}
    });
}

/// The address of a resource path whose indices are all literals.
pub(super) fn literal_address(
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
