//! The planner: a pure function of the desired state, the state and the
//! live attributes. No AWS call happens here.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, AttrDiff, Change, Plan};
use crate::config::template::{self, Ref, Resolve, Templates};
use crate::config::{Config, DeletionPolicy, Lifecycle, Resource};
use crate::kinds::{self, Kind};
use crate::schema::Unset;
use crate::state::fingerprint::{self, Fingerprinter};
use crate::state::{ResourceState, State, Status};
use crate::value::{Attrs, Value};

/// Live attributes per address of the state; `None` when the resource is
/// gone from AWS.
pub type Live = BTreeMap<String, Option<Attrs>>;

/// Values known while planning: variables, the stack, and the planned
/// attributes of resources already planned (in dependency order).
pub struct PlanEnv<'a> {
    pub config: &'a Config,
    pub planned: &'a BTreeMap<String, Attrs>,
}

impl Resolve for PlanEnv<'_> {
    fn resolve(&self, r: &Ref) -> Result<Value, String> {
        match r {
            Ref::Var(n) => self.config.var_value(n),
            Ref::Stack(f) => Ok(self.config.stack_value(*f)),
            Ref::Lookup { name, attr } => Ok(self
                .planned
                .get(&crate::plan::lookups::address(name))
                .and_then(|a| a.get(attr))
                .cloned()
                .unwrap_or(Value::Null)),
            Ref::Attr { address, attr } => Ok(self
                .planned
                .get(address)
                .and_then(|a| a.get(attr))
                .cloned()
                .unwrap_or(Value::Null)),
        }
    }
}

/// `desired_of` for attributes in a plan's text form.
pub fn desired_attrs(
    address: &str,
    kind: &dyn Kind,
    raw_attrs: &Attrs,
    env: &dyn Resolve,
) -> Result<Attrs, Vec<String>> {
    let templates =
        template::parse_attrs(raw_attrs).map_err(|m| vec![format!("{address}: {m}")])?;
    desired_of(address, kind, &templates, env)
}

/// Evaluates a resource's attributes, type-checks the result and fills
/// defaults. Errors name the address and the attribute.
pub fn desired_of(
    address: &str,
    kind: &dyn Kind,
    templates: &Templates,
    env: &dyn Resolve,
) -> Result<Attrs, Vec<String>> {
    let schema = kind.schema();
    let mut out = Attrs::new();
    let mut errors = Vec::new();
    for (name, raw) in templates {
        match raw.eval(env) {
            // `null` (e.g. from `c ? x : null`) leaves the field unset.
            Ok(v) if v.is_null() => {}
            Ok(v) => {
                let v = without_nulls(v);
                let field = schema.field(name);
                let invalid = field.map(|f| f.problems(&v)).unwrap_or_default();
                let v = match field {
                    Some(f) => f.ty.convert(v),
                    None => v,
                };
                if !invalid.is_empty() {
                    errors.extend(
                        invalid
                            .iter()
                            .map(|i| format!("{address}: {}", i.describe(name))),
                    );
                } else if !v.is_null() {
                    out.insert(name.clone(), v);
                }
            }
            Err(m) => errors.push(format!("{address}: `{name}`: {m}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = schema.with_defaults(&out);
    kind.canonicalize(&mut out);
    Ok(out)
}

/// A value with its null map entries dropped: an optional setting given as
/// an expression that came out `null` is not set.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::List(l) => Value::List(l.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Plans every resource of the desired state and of the state. The live
/// attributes are moved into the plan (its `before`), not copied.
pub fn plan(
    config: &Config,
    state: &State,
    mut live: Live,
    lookups: &BTreeMap<String, Attrs>,
    fingerprints: &Fingerprinter,
) -> Result<Plan, Vec<String>> {
    let graph = &config.graph;
    // Lookups resolve like resource attributes.
    let mut planned: BTreeMap<String, Attrs> = lookups.clone();
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for address in graph.topo_order() {
        let r = &config.resources[&address];
        let env = PlanEnv { config, planned: &planned };
        let desired = match desired_of(&r.address, r.kind, &r.attrs, &env) {
            Ok(d) => d,
            Err(e) => {
                errors.extend(e);
                // Dependents see unknowns rather than cascading errors.
                let unknown = r
                    .kind
                    .schema()
                    .fields
                    .iter()
                    .map(|f| (f.name.to_owned(), Value::Unknown));
                planned.insert(address.clone(), unknown.collect());
                continue;
            }
        };
        let live_attrs = live.remove(&r.address).flatten();
        let mut change = plan_one(r, &desired, state, live_attrs, fingerprints);
        // Lent to the resolver while planning, given back below: one copy
        // of each resource's attributes less at scale.
        planned.insert(address.clone(), change.after.take().unwrap_or_default());
        changes.push(change);
    }
    for c in &mut changes {
        c.after = planned.remove(&c.address);
    }
    // Fields another resource owns: kept as they are live, within bounds.
    let owned = super::ownership::apply(config, &mut changes);
    let mut forget = Vec::new();
    changes.extend(deposed_deletes(state, &live));
    for (address, rs) in &state.resources {
        if config.resources.contains_key(address) {
            continue;
        }
        match live.remove(address) {
            Some(Some(attrs)) => changes.push(delete_change(address, rs, attrs, None)),
            _ => forget.push(address.clone()),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Plan {
        stack: config.stack.clone(),
        region: config.region.clone(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        destroy: false,
        changes,
        forget,
        outputs: config
            .outputs
            .iter()
            .map(|(k, t)| (k.clone(), t.to_value()))
            .collect(),
        lookups: lookups.clone(),
        targets: Vec::new(),
        owned,
    })
}

/// Plans the deletion of everything in the state.
pub fn plan_destroy(config: &Config, state: &State, live: &Live) -> Plan {
    let mut changes: Vec<Change> = deposed_deletes(state, live).collect();
    let mut forget = Vec::new();
    for (address, rs) in &state.resources {
        let lifecycle = config.resources.get(address).map(|r| &r.lifecycle);
        match live.get(address) {
            Some(Some(attrs)) => changes.push(delete_change(address, rs, attrs.clone(), lifecycle)),
            _ => forget.push(address.clone()),
        }
    }
    Plan {
        stack: config.stack.clone(),
        region: config.region.clone(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        destroy: true,
        changes,
        forget,
        outputs: BTreeMap::new(),
        lookups: BTreeMap::new(),
        targets: Vec::new(),
        owned: BTreeMap::new(),
    }
}

/// Old objects an interrupted create-before-destroy left behind: deleted
/// first thing. Their live attributes are read under `<address> (deposed)`.
fn deposed_deletes<'a>(state: &'a State, live: &'a Live) -> impl Iterator<Item = Change> + 'a {
    state.deposed.iter().filter_map(|(address, rs)| {
        let key = deposed_key(address);
        let attrs = live.get(&key).cloned().flatten()?;
        let mut c = delete_change(address, rs, attrs, None);
        c.deposed = true;
        c.reason = Some("old object of a create-before-destroy replacement".into());
        Some(c)
    })
}

/// The key under which a deposed object's live attributes are refreshed.
pub fn deposed_key(address: &str) -> String {
    format!("{address} (deposed)")
}

/// The policy of a delete: the desired state's, else the one recorded when
/// last applied, else the kind's default.
fn deletion_policy(
    kind: &str,
    lifecycle: Option<&Lifecycle>,
    recorded: Option<DeletionPolicy>,
) -> DeletionPolicy {
    lifecycle
        .and_then(|l| l.deletion_policy)
        .or(recorded)
        .or_else(|| kinds::lookup(kind).map(super::super::kinds::Kind::default_deletion_policy))
        .unwrap_or_default()
}

fn delete_change(
    address: &str,
    rs: &crate::state::ResourceState,
    live: Attrs,
    lifecycle: Option<&Lifecycle>,
) -> Change {
    Change {
        deletion_policy: deletion_policy(&rs.kind, lifecycle, rs.deletion_policy),
        address: address.to_owned(),
        kind: rs.kind.clone(),
        action: Action::Delete,
        id: Some(rs.id.clone()),
        before: Some(live),
        after: None,
        config: None,
        diffs: Vec::new(),
        deps: Vec::new(),
        state_deps: rs.dependencies.clone(),
        sensitive: sensitive_fields(&rs.kind, &rs.masked_fields()),
        reason: None,
        create_before_destroy: false,
        deposed: false,
        region: rs.region.clone(),
    }
}

fn sensitive_fields(kind: &str, from_vars: &BTreeSet<String>) -> Vec<String> {
    let mut out: BTreeSet<String> = from_vars.clone();
    if let Some(k) = kinds::lookup(kind) {
        out.extend(
            k.schema()
                .fields
                .iter()
                .filter(|f| f.sensitive)
                .map(|f| f.name.to_owned()),
        );
    }
    out.into_iter().collect()
}

fn plan_one(
    r: &Resource,
    desired: &Attrs,
    state: &State,
    live_attrs: Option<Attrs>,
    fingerprints: &Fingerprinter,
) -> Change {
    let schema = r.kind.schema();
    let existing = state.resources.get(&r.address);
    let mut change = new_change(r, existing);
    let (Some(existing), Some(mut live_attrs)) = (existing, live_attrs) else {
        if existing.is_some() {
            change.reason = Some("deleted outside reconcile".into());
        }
        let after = fresh(r, desired, &state.stack);
        change.diffs = all_diffs(schema, &Attrs::new(), &after, fingerprints);
        change.after = Some(after);
        mark_sensitive(&mut change);
        return change;
    };
    r.kind.canonicalize(&mut live_attrs);
    change.id = Some(existing.id.clone());
    let mut diffs = input_diffs(r, desired, existing, &live_attrs, fingerprints);
    // Nothing moves a resource between regions: a new one is made there.
    if r.region != existing.region {
        let region = |r: &Option<String>| r.as_deref().map_or(Value::Null, Value::str);
        diffs.push(AttrDiff {
            name: "region".into(),
            before: region(&existing.region),
            after: region(&r.region),
            forces_replacement: true,
            sensitive: false,
        });
    }
    let tainted = existing.status == Status::Tainted;
    change.action = if tainted || diffs.iter().any(|d| d.forces_replacement) {
        Action::Replace
    } else if diffs.is_empty() {
        Action::NoOp
    } else {
        Action::Update
    };
    if tainted {
        change.reason = Some("tainted by a failed apply".into());
    }
    if change.action == Action::NoOp {
        // Nothing to apply, so nothing to evaluate again at apply time.
        change.config = None;
    }
    change.after = Some(if change.action == Action::Replace {
        let after = fresh(r, desired, &state.stack);
        diffs.extend(replacement_diffs(schema, desired, &live_attrs, &after));
        after
    } else {
        let mut after = live_attrs.clone();
        after.extend(desired.iter().map(|(k, v)| (k.clone(), v.clone())));
        if change.action == Action::Update {
            for f in r.kind.changed_by_update() {
                after.insert((*f).to_owned(), Value::Unknown);
            }
        }
        after
    });
    diffs.sort_by(|a, b| a.name.cmp(&b.name));
    change.diffs = diffs;
    change.before = Some(live_attrs);
    mark_sensitive(&mut change);
    change
}

/// The change of `r` before it is diffed: a create of its configuration.
fn new_change(r: &Resource, existing: Option<&ResourceState>) -> Change {
    let schema = r.kind.schema();
    Change {
        address: r.address.clone(),
        kind: schema.kind.to_owned(),
        action: Action::Create,
        id: None,
        before: None,
        after: None,
        config: Some(template::print_attrs(&r.attrs)),
        diffs: Vec::new(),
        deps: r.deps.iter().cloned().collect(),
        state_deps: existing.map(|e| e.dependencies.clone()).unwrap_or_default(),
        sensitive: sensitive_fields(schema.kind, &r.sensitive_attrs),
        reason: None,
        create_before_destroy: r.lifecycle.create_before_destroy || r.kind.create_before_destroy(),
        deposed: false,
        deletion_policy: deletion_policy(
            schema.kind,
            Some(&r.lifecycle),
            existing.and_then(|e| e.deletion_policy),
        ),
        region: r.region.clone(),
    }
}

/// The planned attributes of something (re)created: its inputs, and for
/// each field left unset what it becomes (`Unset`): unknown until apply
/// where AWS or the kind fills it in (a default zone), absent where nothing
/// does, the generated name where the kind names it.
fn fresh(r: &Resource, desired: &Attrs, stack: &str) -> Attrs {
    let mut after = desired.clone();
    for f in r.kind.schema().fields {
        let unset = match f.when_unset {
            Unset::Null if !f.computed => Value::Null,
            Unset::Filled | Unset::Null => Value::Unknown,
            Unset::StackName => Value::Str(kinds::default_name(stack, &r.address)),
        };
        after.entry(f.name.to_owned()).or_insert(unset);
    }
    after
}

/// The inputs whose desired value differs from the live one. Write-only
/// values compare by the fingerprint of what the last apply sent.
fn input_diffs(
    r: &Resource,
    desired: &Attrs,
    existing: &ResourceState,
    live_attrs: &Attrs,
    fingerprints: &Fingerprinter,
) -> Vec<AttrDiff> {
    let mut diffs = Vec::new();
    for f in r.kind.schema().inputs() {
        if f.client_only || r.lifecycle.ignore_changes.iter().any(|i| i == f.name) {
            continue;
        }
        let Some(d) = desired.get(f.name).filter(|d| !d.is_null()) else {
            continue; // optional and unset: not managed
        };
        let dn = f.ty.normalize(d);
        let (before, after) = if f.write_only {
            // AWS never returns it: compare with what the last apply sent.
            let recorded = existing.fingerprints.get(f.name);
            let fp = (!d.has_unknown()).then(|| fingerprints.record(f, &dn));
            if fp.is_some() && recorded == fp.as_ref() {
                continue;
            }
            let before = recorded.map(|r| fingerprint::shown(f, r));
            let after = fp.map_or(Value::Unknown, |r| fingerprint::shown(f, &r));
            (before.unwrap_or_default(), after)
        } else {
            let ln = live_attrs.get(f.name).map(|v| f.ty.normalize(v));
            let ln = ln.unwrap_or_default();
            if !d.has_unknown() && dn == ln {
                continue;
            }
            (ln, dn)
        };
        diffs.push(AttrDiff {
            name: f.name.to_owned(),
            before,
            after,
            forces_replacement: f.force_new,
            sensitive: false,
        });
    }
    diffs
}

/// What a replacement shows beyond the inputs that differ: what the old
/// resource has and the new one will not, and computed attributes that
/// will change.
fn replacement_diffs(
    schema: &crate::schema::Schema,
    desired: &Attrs,
    live_attrs: &Attrs,
    after: &Attrs,
) -> Vec<AttrDiff> {
    let set = |v: &Value| match v {
        Value::Null => false,
        Value::List(l) => !l.is_empty(),
        Value::Map(m) => !m.is_empty(),
        _ => true,
    };
    let dropped = schema
        .inputs()
        .filter(|f| f.when_unset == Unset::Null && desired.get(f.name).is_none())
        .filter_map(|f| {
            let before = f.ty.normalize(live_attrs.get(f.name)?);
            set(&before).then_some((f.name, before, Value::Null))
        });
    let recomputed = schema
        .fields
        .iter()
        .filter(|f| f.computed && after.get(f.name) == Some(&Value::Unknown))
        .filter_map(|f| Some((f.name, live_attrs.get(f.name)?.clone(), Value::Unknown)));
    dropped
        .chain(recomputed)
        .map(|(name, before, after)| AttrDiff {
            name: name.to_owned(),
            before,
            after,
            forces_replacement: false,
            sensitive: false,
        })
        .collect()
}

/// Every attribute of a create, as diffs from nothing. Write-only values
/// appear as their fingerprint: a plan never carries them in clear.
fn all_diffs(
    schema: &crate::schema::Schema,
    before: &Attrs,
    after: &Attrs,
    fingerprints: &Fingerprinter,
) -> Vec<AttrDiff> {
    after
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| AttrDiff {
            name: k.clone(),
            before: before.get(k).cloned().unwrap_or_default(),
            after: match schema.field(k) {
                Some(f) if f.write_only && !v.has_unknown() => {
                    fingerprint::shown(f, &fingerprints.record(f, &f.ty.normalize(v)))
                }
                Some(f) => f.ty.normalize(v),
                None => v.clone(),
            },
            forces_replacement: false,
            sensitive: false,
        })
        .collect()
}

fn mark_sensitive(change: &mut Change) {
    for d in &mut change.diffs {
        d.sensitive = change.sensitive.contains(&d.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ResourceState;
    use std::path::Path;

    /// The planner without lookups.
    fn plan(c: &Config, s: &State, l: &Live) -> Result<Plan, Vec<String>> {
        super::plan(
            c,
            s,
            l.clone(),
            &BTreeMap::new(),
            &Fingerprinter::with_key("test"),
        )
    }

    fn config(toml: &str) -> Config {
        crate::plan::testing::config(toml)
    }

    const STACK: &str = r#"
[stack]
name = "t"
region = "us-east-1"

[vpc.main]
cidr_block = "10.0.0.0/16"
tags = { Name = "main" }
"#;

    fn live_vpc(cidr: &str, name: &str) -> Attrs {
        let mut a = Attrs::new();
        a.insert("id".into(), Value::str("vpc-1"));
        a.insert("cidr_block".into(), Value::str(cidr));
        a.insert("enable_dns_support".into(), Value::Bool(true));
        a.insert("enable_dns_hostnames".into(), Value::Bool(false));
        let tags = BTreeMap::from([("Name".to_owned(), name.to_owned())]);
        a.insert("tags".into(), Value::from(tags));
        a
    }

    fn state_with(address: &str, attrs: &Attrs) -> State {
        let mut s = State::new("t");
        s.resources.insert(
            address.into(),
            ResourceState {
                kind: "vpc".into(),
                id: "vpc-1".into(),
                attributes: attrs.clone(),
                dependencies: vec![],
                status: Status::Created,
                deletion_policy: None,
                fingerprints: BTreeMap::new(),
                region: None,
            },
        );
        s
    }

    fn one(plan: &Plan, address: &str) -> Change {
        plan.changes
            .iter()
            .find(|c| c.address == address)
            .cloned()
            .unwrap()
    }

    const ECS: &str = r#"
[stack]
name = "t"
region = "us-east-1"

[ecs_cluster.main]

[ecs_task_definition.app]
family = "app"
container_definitions = [{ name = "web", image = "nginx" }]

[ecs_service.app]
cluster = "${ecs_cluster.main.arn}"
task_definition = "${ecs_task_definition.app.arn}"
launch_type = "EC2"
"#;

    #[test]
    fn a_create_knows_generated_names_and_leaves_out_what_nothing_fills_in() {
        let p = plan(&config(ECS), &State::new("t"), &Live::new()).unwrap();
        let cluster = one(&p, "ecs_cluster.main").after.unwrap();
        assert_eq!(cluster["name"], Value::str("t-main"));
        assert_eq!(cluster["arn"], Value::Unknown);
        let td = one(&p, "ecs_task_definition.app");
        assert_eq!(td.after.unwrap()["task_role_arn"], Value::Null);
        assert!(td.diffs.iter().all(|d| d.name != "task_role_arn"));
        // Still unknown where AWS fills it in.
        let service = one(&p, "ecs_service.app").after.unwrap();
        assert_eq!(service["health_check_grace_period"], Value::Unknown);
        let plain = crate::plan::render::Style { color: false };
        insta::assert_snapshot!(crate::plan::render::text(&p, plain));
    }

    #[test]
    fn a_replacement_shows_what_the_new_resource_will_not_have() {
        let network = Value::Map(BTreeMap::from([(
            "subnets".to_owned(),
            Value::from(vec!["subnet-1".to_owned()]),
        )]));
        let live = Attrs::from([
            ("id".to_owned(), Value::str("arn:svc")),
            ("name".to_owned(), Value::str("t-app")),
            ("cluster".to_owned(), Value::str("arn:cluster")),
            ("task_definition".to_owned(), Value::str("arn:td:1")),
            ("launch_type".to_owned(), Value::str("FARGATE")),
            ("network_configuration".to_owned(), network),
        ]);
        let mut state = State::new("t");
        state.resources.insert(
            "ecs_service.app".into(),
            ResourceState {
                kind: "ecs_service".into(),
                id: "arn:svc".into(),
                attributes: live.clone(),
                dependencies: vec![],
                status: Status::Created,
                deletion_policy: None,
                fingerprints: BTreeMap::new(),
                region: None,
            },
        );
        let p = plan(
            &config(ECS),
            &state,
            &Live::from([("ecs_service.app".into(), Some(live))]),
        )
        .unwrap();
        let c = one(&p, "ecs_service.app");
        assert_eq!(c.action, Action::Replace);
        let gone = c.diffs.iter().find(|d| d.name == "network_configuration");
        let gone = gone.expect("network_configuration is shown going away");
        assert_eq!(gone.after, Value::Null);
        assert!(matches!(gone.before, Value::Map(_)));
        let only = Plan { changes: vec![c], ..p };
        let plain = crate::plan::render::Style { color: false };
        insta::assert_snapshot!(crate::plan::render::text(&only, plain));
    }

    #[test]
    fn a_resource_missing_from_the_state_is_created_with_unknown_id() {
        let p = plan(&config(STACK), &State::new("t"), &Live::new()).unwrap();
        let c = one(&p, "vpc.main");
        assert_eq!(c.action, Action::Create);
        assert_eq!(c.after.unwrap()["id"], Value::Unknown);
        assert_eq!(p.summary().add, 1);
    }

    const SERVICE: &str = r#"
[stack]
name = "t"
region = "us-east-1"

[ecs_service.web]
cluster = "shop"
task_definition = "web:1"
wait_for_steady_state = false
"#;

    #[test]
    fn a_client_only_field_plans_as_written_and_never_as_a_difference() {
        let p = plan(&config(SERVICE), &State::new("t"), &Live::new()).unwrap();
        let after = one(&p, "ecs_service.web").after.unwrap();
        assert_eq!(after["wait_for_steady_state"], Value::Bool(false));

        // AWS knows nothing of it: a live service never carries it.
        let live = Attrs::from([
            (
                "id".to_owned(),
                Value::str("arn:aws:ecs:us-east-1:1:service/shop/web"),
            ),
            ("cluster".to_owned(), Value::str("shop")),
            ("task_definition".to_owned(), Value::str("web:1")),
        ]);
        let mut state = state_with("ecs_service.web", &live);
        if let Some(r) = state.resources.get_mut("ecs_service.web") {
            r.kind = "ecs_service".into();
            r.id = "arn:aws:ecs:us-east-1:1:service/shop/web".into();
        }
        let p = plan(
            &config(SERVICE),
            &state,
            &Live::from([("ecs_service.web".into(), Some(live))]),
        )
        .unwrap();
        let c = one(&p, "ecs_service.web");
        assert!(
            c.diffs.iter().all(|d| d.name != "wait_for_steady_state"),
            "{:?}",
            c.diffs
        );
        assert_eq!(
            c.after.unwrap()["wait_for_steady_state"],
            Value::Bool(false)
        );
    }

    #[test]
    fn matching_live_attributes_plan_nothing() {
        let live = live_vpc("10.0.0.0/16", "main");
        let p = plan(
            &config(STACK),
            &state_with("vpc.main", &live),
            &Live::from([("vpc.main".into(), Some(live))]),
        )
        .unwrap();
        assert_eq!(one(&p, "vpc.main").action, Action::NoOp);
        assert!(!p.has_changes());
    }

    #[test]
    fn a_changed_tag_is_an_update_in_place() {
        let live = live_vpc("10.0.0.0/16", "old");
        let p = plan(
            &config(STACK),
            &state_with("vpc.main", &live),
            &Live::from([("vpc.main".into(), Some(live))]),
        )
        .unwrap();
        let c = one(&p, "vpc.main");
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.diffs.len(), 1);
        assert_eq!(c.diffs[0].name, "tags");
        assert!(!c.diffs[0].forces_replacement);
    }

    #[test]
    fn a_changed_force_new_field_is_a_replacement_that_says_why() {
        let live = live_vpc("10.1.0.0/16", "main");
        let p = plan(
            &config(STACK),
            &state_with("vpc.main", &live),
            &Live::from([("vpc.main".into(), Some(live))]),
        )
        .unwrap();
        let c = one(&p, "vpc.main");
        assert_eq!(c.action, Action::Replace);
        let cidr = c.diffs.iter().find(|d| d.name == "cidr_block").unwrap();
        assert!(cidr.forces_replacement);
        assert_eq!(p.summary().add, 1);
        assert_eq!(p.summary().destroy, 1);
    }

    #[test]
    fn a_resource_deleted_out_of_band_is_created_again() {
        let live = live_vpc("10.0.0.0/16", "main");
        let p = plan(
            &config(STACK),
            &state_with("vpc.main", &live),
            &Live::from([("vpc.main".into(), None)]),
        )
        .unwrap();
        let c = one(&p, "vpc.main");
        assert_eq!(c.action, Action::Create);
        assert_eq!(c.reason.as_deref(), Some("deleted outside reconcile"));
    }

    #[test]
    fn a_resource_only_in_the_state_is_deleted_or_forgotten_if_gone() {
        let live = live_vpc("10.0.0.0/16", "main");
        let cfg = config("[stack]\nname = \"t\"\nregion = \"us-east-1\"\n");
        let p = plan(
            &cfg,
            &state_with("vpc.old", &live),
            &Live::from([("vpc.old".into(), Some(live.clone()))]),
        )
        .unwrap();
        assert_eq!(one(&p, "vpc.old").action, Action::Delete);
        let p = plan(
            &cfg,
            &state_with("vpc.old", &live),
            &Live::from([("vpc.old".into(), None)]),
        )
        .unwrap();
        assert!(p.changes.is_empty());
        assert_eq!(p.forget, vec!["vpc.old".to_owned()]);
    }

    #[test]
    fn ignore_changes_hides_drift_in_those_fields() {
        let toml = STACK.replace(
            "tags = { Name = \"main\" }",
            "tags = { Name = \"main\" }\nlifecycle = { ignore_changes = [\"tags\"] }",
        );
        let live = live_vpc("10.0.0.0/16", "drifted");
        let p = plan(
            &config(&toml),
            &state_with("vpc.main", &live),
            &Live::from([("vpc.main".into(), Some(live))]),
        )
        .unwrap();
        assert_eq!(one(&p, "vpc.main").action, Action::NoOp);
    }

    const DB: &str = r#"
[stack]
name = "t"
region = "us-east-1"

[variables.db_password]
sensitive = true

[db_instance.main]
identifier = "db1"
engine = "postgres"
instance_class = "db.t3.micro"
allocated_storage = 20
master_username = "app"
master_password = "${var.db_password}"
"#;

    fn db_config(password: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("main.toml");
        std::fs::write(&p, DB).unwrap();
        let vars = BTreeMap::from([("db_password".to_owned(), password.to_owned())]);
        crate::config::load(Path::new(&p), &vars, &BTreeMap::new()).unwrap()
    }

    /// What AWS returns of the instance: never the password.
    fn live_db() -> Attrs {
        let mut a = Attrs::new();
        for (k, v) in [
            ("id", Value::str("db1")),
            ("identifier", Value::str("db1")),
            ("engine", Value::str("postgres")),
            ("instance_class", Value::str("db.t3.micro")),
            ("allocated_storage", Value::Int(20)),
            ("master_username", Value::str("app")),
            ("multi_az", Value::Bool(false)),
            ("deletion_protection", Value::Bool(false)),
            ("publicly_accessible", Value::Bool(false)),
            ("tags", Value::Map(BTreeMap::new())),
        ] {
            a.insert(k.into(), v);
        }
        a
    }

    /// A state as an apply with `password` leaves it.
    fn db_state(fp: &Fingerprinter, password: &str) -> State {
        let kind = kinds::lookup("db_instance").unwrap();
        let mut fingerprints = BTreeMap::new();
        for f in kind.schema().inputs().filter(|f| f.write_only) {
            let v = match f.name {
                "master_password" => Value::str(password),
                _ => Value::Bool(false),
            };
            fingerprints.insert(f.name.to_owned(), fp.record(f, &v));
        }
        let mut s = State::new("t");
        s.resources.insert(
            "db_instance.main".into(),
            ResourceState {
                kind: "db_instance".into(),
                id: "db1".into(),
                attributes: live_db(),
                dependencies: vec![],
                status: Status::Created,
                deletion_policy: None,
                fingerprints,
                region: None,
            },
        );
        s
    }

    fn db_plan(fp: &Fingerprinter, state: &State, password: &str) -> Plan {
        let live = Live::from([("db_instance.main".into(), Some(live_db()))]);
        super::plan(&db_config(password), state, live, &BTreeMap::new(), fp).unwrap()
    }

    #[test]
    fn an_unchanged_write_only_password_plans_nothing() {
        let fp = Fingerprinter::with_key("k");
        let p = db_plan(&fp, &db_state(&fp, "Secret-Pass-1"), "Secret-Pass-1");
        assert_eq!(one(&p, "db_instance.main").action, Action::NoOp);
    }

    #[test]
    fn a_changed_write_only_password_plans_a_masked_update() {
        let fp = Fingerprinter::with_key("k");
        let p = db_plan(&fp, &db_state(&fp, "Secret-Pass-1"), "Secret-Pass-2");
        let c = one(&p, "db_instance.main");
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.diffs.len(), 1, "{:?}", c.diffs);
        assert_eq!(c.diffs[0].name, "master_password");
        assert!(c.diffs[0].sensitive);
        assert!(!c.diffs[0].forces_replacement);
        let text = crate::plan::render::text(&p, crate::plan::render::Style { color: false });
        let json = crate::plan::render::json(&p).to_string();
        for out in [&text, &json] {
            assert!(!out.contains("Secret-Pass"), "{out}");
        }
        assert!(text.contains("(sensitive value)"), "{text}");
        // Another key (another host without the shared key) sees a change.
        let other = Fingerprinter::with_key("other");
        let p = db_plan(&other, &db_state(&fp, "Secret-Pass-1"), "Secret-Pass-1");
        assert_eq!(one(&p, "db_instance.main").action, Action::Update);
    }

    #[test]
    fn the_state_and_the_create_plan_hold_no_clear_password() {
        let fp = Fingerprinter::with_key("k");
        let state = db_state(&fp, "Secret-Pass-1");
        let saved = serde_json::to_string(&state).unwrap();
        assert!(!saved.contains("Secret-Pass"), "{saved}");
        assert!(saved.contains("hmac-sha256:"), "{saved}");
        let p = db_plan(&fp, &State::new("t"), "Secret-Pass-1");
        let c = one(&p, "db_instance.main");
        assert_eq!(c.action, Action::Create);
        let diffs = serde_json::to_string(&c.diffs).unwrap();
        assert!(!diffs.contains("Secret-Pass"), "{diffs}");
        let json = crate::plan::render::json(&p).to_string();
        assert!(!json.contains("Secret-Pass"), "{json}");
    }
}
