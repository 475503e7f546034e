//! Fields that another resource of the desired state owns after create.
//!
//! A scalable target scales its ECS service's `desired_count`; an ECS
//! capacity provider with managed scaling sizes its Auto Scaling group's
//! `desired_capacity`. Correcting those fields back to the desired state
//! fights the owner (every drift correction would undo a scale-out). The
//! owner → owned link is read from the desired state itself — the owner's
//! field that references the owned resource — so no configuration is
//! needed, and the rules live here, in one table, not in the kinds.
//!
//! The rule for an owned field: the written value creates the resource;
//! afterwards the live value is kept (never planned back, never corrected)
//! while it lies within the owner's minimum and maximum, and a live value
//! outside them is planned back into range (clamped).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Action, AttrDiff, Change};
use crate::config::template::{self, Ref, Resolve, Template};
use crate::config::{Config, Loc};
use crate::value::{Attrs, Value};

/// Where the bounds of an owned field are read.
#[derive(Debug, Clone, Copy)]
pub enum Bounds {
    /// The owner's fields (a scalable target's `min_capacity`/`max_capacity`).
    Owner(&'static str, &'static str),
    /// The owned resource's own fields (a group's `min_size`/`max_size`).
    Owned(&'static str, &'static str),
}

/// What a value written for an owned field still means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The value the resource is created with (an ECS service needs a
    /// count to start): the warning says so, or that it is out of bounds.
    Initial,
    /// The owner sets it from the start: writing it is a conflict to warn
    /// about (ECS asks to leave a managed group's desired capacity unset).
    Conflict,
}

/// One pairing: a resource of `owner_kind` whose `link` field references a
/// resource of `owned_kind` owns that resource's `field`.
#[derive(Debug)]
pub struct Rule {
    pub owner_kind: &'static str,
    pub link: &'static str,
    pub owned_kind: &'static str,
    pub field: &'static str,
    /// Whether this owner, as written, claims the field at all.
    pub claims: fn(&Attrs) -> bool,
    pub bounds: Bounds,
    pub written: Written,
    /// Why, for messages: "scales the service".
    pub why: &'static str,
}

/// A string field as written equals `expected`, or is unset (its default).
fn unset_or(attrs: &Attrs, field: &str, expected: &str) -> bool {
    match attrs.get(field) {
        None => true,
        Some(v) => v.as_str() == Some(expected),
    }
}

/// A scalable target of an ECS service's task count.
fn scales_ecs_service_count(a: &Attrs) -> bool {
    unset_or(a, "service_namespace", "ecs")
        && unset_or(a, "scalable_dimension", "ecs:service:DesiredCount")
}

/// A capacity provider whose managed scaling is set and not disabled.
fn manages_group_scaling(a: &Attrs) -> bool {
    match a.get("managed_scaling").and_then(Value::as_map) {
        Some(m) => m
            .get("status")
            .and_then(Value::as_str)
            .is_none_or(|s| !s.eq_ignore_ascii_case("DISABLED")),
        None => false,
    }
}

/// Every pairing the engine knows. Application Auto Scaling policies act
/// through their scalable target (AWS refuses a policy without one), so the
/// target is the owner; there is no Auto Scaling policy kind yet.
pub static RULES: &[Rule] = &[
    Rule {
        owner_kind: "appautoscaling_target",
        link: "resource_id",
        owned_kind: "ecs_service",
        field: "desired_count",
        claims: scales_ecs_service_count,
        bounds: Bounds::Owner("min_capacity", "max_capacity"),
        written: Written::Initial,
        why: "Application Auto Scaling scales the service",
    },
    Rule {
        owner_kind: "ecs_capacity_provider",
        link: "auto_scaling_group_arn",
        owned_kind: "autoscaling_group",
        field: "desired_capacity",
        claims: manages_group_scaling,
        bounds: Bounds::Owned("min_size", "max_size"),
        written: Written::Conflict,
        why: "ECS managed scaling sizes the group",
    },
];

/// One owned field of one resource of the desired state.
#[derive(Debug, Clone)]
pub struct Claim {
    pub owner: String,
    pub rule: &'static Rule,
}

/// Every claim of the desired state, by owned address (one per field: the
/// first owner by address wins).
pub fn claims(config: &Config) -> BTreeMap<String, Vec<Claim>> {
    let mut out: BTreeMap<String, Vec<Claim>> = BTreeMap::new();
    for (owner, r) in &config.resources {
        for rule in RULES
            .iter()
            .filter(|rule| rule.owner_kind == r.kind.schema().kind)
        {
            if !(rule.claims)(&template::print_attrs(&r.attrs)) {
                continue;
            }
            let Some(link) = r.attrs.get(rule.link) else {
                continue;
            };
            for reference in link.refs() {
                let Ref::Attr { address, .. } = reference else {
                    continue;
                };
                let owned_kind = config.resources.get(&address).map(|o| o.kind.schema().kind);
                if owned_kind != Some(rule.owned_kind) {
                    continue;
                }
                let list = out.entry(address).or_default();
                if !list.iter().any(|c| c.rule.field == rule.field) {
                    list.push(Claim { owner: owner.clone(), rule });
                }
            }
        }
    }
    out
}

/// What the plan says about one owned field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owned {
    pub field: String,
    pub owner: String,
    /// Why the owner changes it.
    pub why: String,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// The value the desired state gives (used to create the resource).
    pub written: Option<Value>,
    /// The live value, when the resource exists.
    pub live: Option<Value>,
    /// What the plan keeps: the live value brought into min..max; `None`
    /// when the resource is (re)created with the written value.
    pub planned: Option<Value>,
}

impl Owned {
    /// `desired_count owned by appautoscaling_target.web (2..4)`.
    pub fn describe(&self) -> String {
        let range = match (self.min, self.max) {
            (Some(a), Some(b)) => format!(", range {a}..{b}"),
            (Some(a), None) => format!(", at least {a}"),
            (None, Some(b)) => format!(", at most {b}"),
            (None, None) => String::new(),
        };
        format!("{} owned by {}{range}", self.field, self.owner)
    }

    /// Whether the live value differs from the written one and is kept.
    pub fn keeps_a_difference(&self) -> bool {
        match (&self.written, &self.planned) {
            (Some(w), Some(p)) => w != p && self.live.as_ref() == Some(p),
            _ => false,
        }
    }
}

fn clamp(v: i64, min: Option<i64>, max: Option<i64>) -> i64 {
    let v = min.map_or(v, |m| v.max(m));
    max.map_or(v, |m| v.min(m))
}

/// Applies the ownership rules to a plan's changes (their `after` filled):
/// an owned field's difference is dropped while the live value is within
/// bounds, and planned back into bounds otherwise; the change's action and
/// config follow. Returns what each address has owned.
pub fn apply(config: &Config, changes: &mut [Change]) -> BTreeMap<String, Vec<Owned>> {
    let claims = claims(config);
    let mut out: BTreeMap<String, Vec<Owned>> = BTreeMap::new();
    if claims.is_empty() {
        return out;
    }
    let index: BTreeMap<String, usize> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.action != Action::Delete || !c.deposed)
        .map(|(i, c)| (c.address.clone(), i))
        .collect();
    for (address, list) in &claims {
        let Some(&i) = index.get(address) else {
            continue;
        };
        for claim in list {
            let int_of = |at: &str, field: &str| {
                index
                    .get(at)
                    .and_then(|&j| changes[j].after.as_ref())
                    .and_then(|a| a.get(field))
                    .and_then(Value::as_int)
            };
            let (min, max) = match claim.rule.bounds {
                Bounds::Owner(a, b) => (int_of(&claim.owner, a), int_of(&claim.owner, b)),
                Bounds::Owned(a, b) => (int_of(address, a), int_of(address, b)),
            };
            let Some(resource) = config.resources.get(address) else {
                continue;
            };
            let owned = own(&mut changes[i], claim, min, max, resource);
            out.entry(address.clone()).or_default().push(owned);
        }
    }
    out
}

fn own(
    change: &mut Change,
    claim: &Claim,
    min: Option<i64>,
    max: Option<i64>,
    resource: &crate::config::Resource,
) -> Owned {
    let field = claim.rule.field;
    let schema_field = resource.kind.schema().field(field);
    let has_default = schema_field.is_some_and(|f| f.default.is_some());
    let written = (resource.attrs.contains_key(field) || has_default)
        .then(|| {
            change
                .diffs
                .iter()
                .find(|d| d.name == field)
                .map(|d| d.after.clone())
                .or_else(|| change.after.as_ref().and_then(|a| a.get(field).cloned()))
        })
        .flatten();
    let live = change
        .before
        .as_ref()
        .and_then(|b| b.get(field))
        .filter(|v| !v.is_null())
        .cloned();
    let mut owned = Owned {
        field: field.to_owned(),
        owner: claim.owner.clone(),
        why: claim.rule.why.to_owned(),
        min,
        max,
        written,
        live: live.clone(),
        planned: None,
    };
    let ignored = resource.lifecycle.ignore_changes.iter().any(|f| f == field);
    if matches!(change.action, Action::Create | Action::Replace) && !ignored {
        created_within_bounds(change, &mut owned);
        return owned;
    }
    let live_int = live.as_ref().and_then(Value::as_int);
    let (Action::Update | Action::NoOp, false, Some(live_int)) = (change.action, ignored, live_int)
    else {
        return owned;
    };
    let kept = clamp(live_int, min, max);
    change.diffs.retain(|d| d.name != field);
    if kept != live_int {
        change.diffs.push(AttrDiff {
            name: field.to_owned(),
            before: Value::Int(live_int),
            after: Value::Int(kept),
            forces_replacement: false,
            sensitive: false,
        });
        change.diffs.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if let Some(after) = change.after.as_mut() {
        after.insert(field.to_owned(), Value::Int(kept));
    }
    owned.planned = Some(Value::Int(kept));
    if change.diffs.is_empty() {
        nothing_left(change, resource);
        return owned;
    }
    change.action = Action::Update;
    let mut raw = change
        .config
        .take()
        .unwrap_or_else(|| template::print_attrs(&resource.attrs));
    // Written into what apply evaluates, so the update sends the kept value
    // (or none at all when it equals the live one).
    if kept != live_int || raw.contains_key(field) {
        raw.insert(field.to_owned(), Value::Int(kept));
    }
    change.config = Some(raw);
    owned
}

/// An update whose only difference was an owned field: nothing to do, and
/// what the update would have changed stays as it is.
fn nothing_left(change: &mut Change, resource: &crate::config::Resource) {
    if change.action == Action::Update
        && let (Some(after), Some(before)) = (change.after.as_mut(), change.before.as_ref())
    {
        for f in resource.kind.changed_by_update() {
            match before.get(*f) {
                Some(v) => after.insert((*f).to_owned(), v.clone()),
                None => after.remove(*f),
            };
        }
    }
    change.action = Action::NoOp;
    change.config = None;
}

/// A create or replacement: made with the written value, brought into the
/// owner's bounds.
fn created_within_bounds(change: &mut Change, owned: &mut Owned) {
    let Some(w) = owned.written.as_ref().and_then(Value::as_int) else {
        return;
    };
    let c = clamp(w, owned.min, owned.max);
    if c == w {
        return;
    }
    let field = owned.field.as_str();
    for d in change.diffs.iter_mut().filter(|d| d.name == field) {
        d.after = Value::Int(c);
    }
    if let Some(after) = change.after.as_mut() {
        after.insert(field.to_owned(), Value::Int(c));
    }
    if let Some(raw) = change.config.as_mut() {
        raw.insert(field.to_owned(), Value::Int(c));
    }
    owned.planned = Some(Value::Int(c));
}

/// A warning about the desired state: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub loc: Loc,
    pub message: String,
}

/// Resolves only variables and the stack: enough for values written as
/// literals or from variables; anything else is skipped.
struct Static<'a>(&'a Config);

impl Resolve for Static<'_> {
    fn resolve(&self, r: &Ref) -> Result<Value, String> {
        match r {
            Ref::Var(n) => self
                .0
                .var_values
                .get(n)
                .cloned()
                .ok_or_else(|| "unknown".to_owned()),
            Ref::Stack(f) => Ok(self.0.stack_value(*f)),
            Ref::Attr { .. } | Ref::Lookup { .. } => Err("not known before plan".into()),
        }
    }
}

/// `validate`'s warnings: a field set in the desired state that another
/// resource owns (a conflict), or an initial value outside the owner's
/// bounds. One located line each, sorted.
pub fn warnings(config: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    let eval_int = |v: Option<&Template>| {
        v.and_then(|v| v.eval(&Static(config)).ok())
            .and_then(|v| v.as_int())
    };
    for (address, list) in claims(config) {
        let Some(r) = config.resources.get(&address) else {
            continue;
        };
        for claim in list {
            let field = claim.rule.field;
            let Some(raw) = r.attrs.get(field) else {
                continue;
            };
            let loc = r
                .attr_locs
                .get(field)
                .cloned()
                .unwrap_or_else(|| r.loc.clone());
            match claim.rule.written {
                Written::Conflict => out.push(Warning {
                    loc,
                    message: format!(
                        "{address}: `{field}` is owned by {} ({}): the value only applies when the resource is created, and the live value is kept afterwards; leave it unset",
                        claim.owner, claim.rule.why
                    ),
                }),
                Written::Initial => {
                    let (min_f, max_f, at) = match claim.rule.bounds {
                        Bounds::Owner(a, b) => (a, b, claim.owner.as_str()),
                        Bounds::Owned(a, b) => (a, b, address.as_str()),
                    };
                    let bounds_of = config.resources.get(at);
                    let min = eval_int(bounds_of.and_then(|o| o.attrs.get(min_f)));
                    let max = eval_int(bounds_of.and_then(|o| o.attrs.get(max_f)));
                    let Some(v) = eval_int(Some(raw)) else {
                        continue;
                    };
                    if clamp(v, min, max) == v {
                        out.push(Warning {
                            loc,
                            message: format!(
                                "{address}: `{field}` is owned by {} ({}): {v} is used when the resource is created; afterwards the live value is kept within {min_f}..{max_f}",
                                claim.owner, claim.rule.why
                            ),
                        });
                    } else {
                        out.push(Warning {
                            loc,
                            message: format!(
                                "{address}: `{field}` = {v} is outside {min_f}..{max_f} ({}..{}) of {}, which owns it ({}): it will be brought into range",
                                min.map_or("?".into(), |m| m.to_string()),
                                max.map_or("?".into(), |m| m.to_string()),
                                claim.owner,
                                claim.rule.why
                            ),
                        });
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| {
        (a.loc.file.as_path(), a.loc.line, a.loc.col).cmp(&(
            b.loc.file.as_path(),
            b.loc.line,
            b.loc.col,
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        crate::plan::testing::config(toml)
    }

    const STACK: &str = r#"
[stack]
name = "t"
region = "us-east-1"

[ecs_cluster.app]

[ecs_service.web]
cluster = "${ecs_cluster.app.arn}"
task_definition = "web:1"
desired_count = 2

[appautoscaling_target.web]
resource_id = "service/${ecs_cluster.app.name}/${ecs_service.web.name}"
min_capacity = 2
max_capacity = 4

[autoscaling_group.hosts]
min_size = 1
max_size = 3
desired_capacity = 2
subnet_ids = ["subnet-1"]
launch_template = { id = "lt-1" }

[ecs_capacity_provider.hosts]
auto_scaling_group_arn = "${autoscaling_group.hosts.arn}"
managed_scaling = { target_capacity = 100 }
"#;

    fn change(address: &str, action: Action, live: i64, written: i64) -> Change {
        let before = Attrs::from([("desired_count".to_owned(), Value::Int(live))]);
        let mut diffs = Vec::new();
        if live != written {
            diffs.push(AttrDiff {
                name: "desired_count".into(),
                before: Value::Int(live),
                after: Value::Int(written),
                forces_replacement: false,
                sensitive: false,
            });
        }
        Change {
            id: Some("arn:svc".into()),
            before: Some(before),
            after: Some(Attrs::from([(
                "desired_count".to_owned(),
                Value::Int(written),
            )])),
            config: (action != Action::NoOp).then(Attrs::new),
            diffs,
            ..crate::plan::testing::change(address, action)
        }
    }

    fn target(min: i64, max: i64) -> Change {
        let mut c = change("appautoscaling_target.web", Action::NoOp, 0, 0);
        c.after = Some(Attrs::from([
            ("min_capacity".to_owned(), Value::Int(min)),
            ("max_capacity".to_owned(), Value::Int(max)),
        ]));
        c
    }

    #[test]
    fn owners_are_found_through_the_references_of_the_desired_state() {
        let claims = claims(&config(STACK));
        let found: Vec<(&str, &str, &str)> = claims
            .iter()
            .flat_map(|(a, l)| {
                l.iter()
                    .map(move |c| (a.as_str(), c.rule.field, c.owner.as_str()))
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "autoscaling_group.hosts",
                    "desired_capacity",
                    "ecs_capacity_provider.hosts"
                ),
                (
                    "ecs_service.web",
                    "desired_count",
                    "appautoscaling_target.web"
                ),
            ]
        );
        // Managed scaling disabled, or another dimension: no owner.
        let off = STACK
            .replace("{ target_capacity = 100 }", "{ status = \"DISABLED\" }")
            .replace(
                "max_capacity = 4",
                "max_capacity = 4\nscalable_dimension = \"custom-resource:ResourceType:Property\"",
            );
        assert!(claims_of(&off).is_empty());
    }

    fn claims_of(toml: &str) -> BTreeMap<String, Vec<Claim>> {
        claims(&config(toml))
    }

    #[test]
    fn a_live_count_within_the_range_is_kept_and_one_outside_is_clamped() {
        let cfg = config(STACK);
        let mut changes = vec![
            target(2, 4),
            change("ecs_service.web", Action::Update, 3, 2),
        ];
        let owned = apply(&cfg, &mut changes);
        assert_eq!(changes[1].action, Action::NoOp);
        assert!(changes[1].diffs.is_empty());
        assert!(changes[1].config.is_none());
        let o = &owned["ecs_service.web"][0];
        assert!(o.keeps_a_difference(), "{o:?}");
        assert_eq!(
            o.describe(),
            "desired_count owned by appautoscaling_target.web, range 2..4"
        );

        let mut changes = vec![
            target(2, 4),
            change("ecs_service.web", Action::Update, 9, 2),
        ];
        apply(&cfg, &mut changes);
        assert_eq!(changes[1].action, Action::Update);
        assert_eq!(changes[1].diffs[0].after, Value::Int(4));
        // What apply evaluates sends the clamped value.
        let raw = changes[1].config.as_ref().unwrap();
        assert_eq!(raw["desired_count"], Value::Int(4));

        // Equal to the written value but outside the range: clamped too.
        let mut changes = vec![target(2, 4), change("ecs_service.web", Action::NoOp, 1, 1)];
        apply(&cfg, &mut changes);
        assert_eq!(changes[1].action, Action::Update);
        assert_eq!(changes[1].diffs[0].after, Value::Int(2));
        assert!(changes[1].config.is_some());
    }

    #[test]
    fn ignore_changes_still_wins() {
        let toml = STACK.replace(
            "desired_count = 2",
            "desired_count = 2\nlifecycle = { ignore_changes = [\"desired_count\"] }",
        );
        let cfg = config(&toml);
        let mut c = change("ecs_service.web", Action::NoOp, 9, 9);
        c.config = None;
        let mut changes = vec![target(2, 4), c];
        apply(&cfg, &mut changes);
        assert_eq!(changes[1].action, Action::NoOp);
    }

    #[test]
    fn validate_warns_at_a_conflicting_field_and_an_initial_value_out_of_range() {
        let toml = STACK.replace("desired_count = 2", "desired_count = 7");
        let w = warnings(&config(&toml));
        let lines: Vec<String> = w
            .iter()
            .map(|w| format!("{}:{} {}", w.loc.line, w.loc.col, w.message))
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("11:17 ecs_service.web: `desired_count` = 7 is outside"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("21:20 autoscaling_group.hosts: `desired_capacity` is owned by ecs_capacity_provider.hosts"),
            "{lines:?}"
        );
        // Within range: said to be the initial count only.
        let fine = STACK.replace("desired_capacity = 2\n", "");
        let w = warnings(&config(&fine));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].message.ends_with(
                "2 is used when the resource is created; afterwards the live value is kept within min_capacity..max_capacity"
            ),
            "{w:?}"
        );
    }
}
