//! `${...}` expressions inside strings. The tree and its printer are in
//! [`syntax`], text to tree in [`parser`], names to references in [`bind`],
//! evaluation in [`eval`] and the function library, one table, in
//! [`functions`].
//!
//! The language is small on purpose: literals, lists and maps, references
//! (`var.x`, `stack.region`, `kind.name.attr`, `kind.name["key"].attr`,
//! `kind.name[*].attr`, `lookups.n.attr`, `module.m.output`, `each.key`,
//! `each.value`, `count.index`), indexing, `!`, `-`, arithmetic, comparisons,
//! `&&`, `||`, `c ? a : b`, and the functions of [`functions::FUNCTIONS`].

mod bind;
mod eval;
pub mod functions;
mod parser;
mod syntax;
mod tree;

pub use bind::{Bound, EXPANDED, IsKind, bind, walk_paths};
pub use eval::{Resolve, eval, eval_expr, eval_parts};
pub use functions::check_arity;
pub use parser::parse;
pub use syntax::{Expr, Op, Part, Ref, StackField, Step, display_ref, instance_address, print};
pub use tree::{ParseError, Template, Templates, parse_attrs, print_attrs};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

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
                Ref::Attr { .. } | Ref::Lookup { .. } => Value::Unknown,
            })
        }
    }

    fn refs(s: &str) -> Vec<Ref> {
        Template::parse(&Value::str(s)).unwrap().refs()
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
            refs("x-${vpc.main.id}"),
            vec![Ref::Attr { address: "vpc.main".into(), attr: "id".into() }]
        );
        assert_eq!(
            refs("${subnet.a[\"x\"].id} ${module.m.vpc.main[0].id}"),
            vec![
                Ref::Attr { address: "subnet.a[\"x\"]".into(), attr: "id".into() },
                Ref::Attr { address: "module.m.vpc.main[0]".into(), attr: "id".into() }
            ]
        );
    }

    #[test]
    fn lookups_and_stack_fields_bind_to_their_own_references() {
        assert_eq!(
            refs("${lookups.zones.names[0]}-${stack.name}"),
            vec![
                Ref::Lookup { name: "zones".into(), attr: "names".into() },
                Ref::Stack(StackField::Name)
            ]
        );
        assert_eq!(Ref::Stack(StackField::Region).to_string(), "stack.region");
    }

    #[test]
    fn a_module_path_is_a_resource_only_where_the_caller_says_so() {
        let Ok(parts) = parse("${module.m.vpc.main.id}") else {
            panic!("parses")
        };
        let Part::Expr(Expr::Path(steps), _) = &parts[0] else {
            panic!("a path")
        };
        assert!(matches!(
            bind(steps, &|k| k == "vpc"),
            Ok(Bound::Resource { kind: "vpc", .. })
        ));
        assert!(matches!(
            bind(steps, &|_| false),
            Ok(Bound::ModuleOutput { output: "vpc", .. })
        ));
        assert!(matches!(bind(steps, EXPANDED), Ok(Bound::Resource { .. })));
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
        assert!(
            ev("${join(\",\")}")
                .unwrap_err()
                .contains("`join` takes 2 argument(s), got 1")
        );
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
