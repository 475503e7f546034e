//! The executor: runs a plan in dependency order with at most N operations
//! in flight, records every finished operation in the state at once, and
//! lets a failure stop only what depends on it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::graph::{DiGraph, NodeIndex};
use tokio::task::JoinSet;

use crate::aws::wait::{Poll, Waiter};
use crate::aws::{ApiError, Clients, ErrorClass, stats};
use crate::config::template::{Ref, Resolve};
use crate::config::{Config, DeletionPolicy};
use crate::kinds::{self, Ctx, Kind};
use crate::plan::diff::desired_attrs;
use crate::plan::{Action, Change, Plan};
use crate::state::fingerprint::Fingerprinter;
use crate::state::{Pending, ResourceState, State, StateError, Status, Store};
use crate::ui::{Event, Ui};
use crate::value::{Attrs, Value};

/// One failed operation.
#[derive(Debug, Clone)]
pub struct Failure {
    pub address: String,
    pub operation: &'static str,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    pub failures: Vec<Failure>,
    pub skipped: Vec<String>,
    pub interrupted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Plan(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Delete,
    /// Create, update, or the create half of a replacement.
    Apply,
}

/// Tries of a create whose failures left nothing behind in AWS (each
/// failure retried by the SDK first, within `--max-attempts`).
const CREATE_TRIES: u32 = 3;

/// How long after an unknown outcome the resource is looked up: listings
/// (EC2's in particular) show a new resource a moment after it is made.
const SETTLE: Duration = Duration::from_secs(2);

/// Services whose API rate limits are low enough to cap the operations in
/// flight below `--parallelism` (each operation makes several calls and a
/// waiter polls): (service, cap), by `Kind::service`. Other kinds share
/// only the executor's cap.
const SERVICE_CAPS: &[(&str, usize)] = &[("ec2", 6), ("elasticloadbalancing", 3)];

/// The capped service a kind's operations count against, if any.
fn service(kind: &str) -> Option<&'static str> {
    let service = kinds::lookup(kind)?.service();
    SERVICE_CAPS
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(s, _)| *s)
}

/// Operations in flight per capped service.
#[derive(Debug, Default)]
struct InFlight(BTreeMap<&'static str, usize>);

impl InFlight {
    fn has_room(&self, service: Option<&'static str>) -> bool {
        let Some(service) = service else {
            return true;
        };
        let cap = SERVICE_CAPS
            .iter()
            .find(|(s, _)| *s == service)
            .map_or(usize::MAX, |(_, cap)| *cap);
        self.0.get(service).copied().unwrap_or(0) < cap
    }

    fn start(&mut self, service: Option<&'static str>) {
        if let Some(s) = service {
            *self.0.entry(s).or_default() += 1;
        }
    }

    fn finish(&mut self, service: Option<&'static str>) {
        if let Some(n) = service.and_then(|s| self.0.get_mut(s)) {
            *n = n.saturating_sub(1);
        }
    }
}

/// The operations of a plan and the order between them.
struct Work {
    dag: DiGraph<(usize, Step), ()>,
}

impl Work {
    /// Nodes and edges: an apply waits for the applies of what it
    /// references; a delete waits for the deletes of what depended on it and
    /// for the updates that stop using it; a replacement deletes first.
    fn build(plan: &Plan) -> Result<Work, String> {
        let mut dag = DiGraph::new();
        let mut applies: BTreeMap<&str, NodeIndex> = BTreeMap::new();
        let mut deletes: BTreeMap<&str, NodeIndex> = BTreeMap::new();
        for (i, c) in plan.changes.iter().enumerate() {
            if c.deposed {
                // Nothing depends on an old object any more: delete it freely.
                dag.add_node((i, Step::Delete));
                continue;
            }
            if matches!(c.action, Action::Delete | Action::Replace) {
                deletes.insert(&c.address, dag.add_node((i, Step::Delete)));
            }
            if matches!(c.action, Action::Create | Action::Update | Action::Replace) {
                applies.insert(&c.address, dag.add_node((i, Step::Apply)));
            }
        }
        let cbd = |address: &str| {
            plan.changes
                .iter()
                .any(|x| x.address == address && x.create_before_destroy && !x.deposed)
        };
        for c in plan.changes.iter().filter(|c| !c.deposed) {
            if let Some(&a) = applies.get(c.address.as_str()) {
                for d in &c.deps {
                    if let Some(&b) = applies.get(d.as_str()) {
                        dag.add_edge(b, a, ());
                    }
                    // Create before destroy: the old object goes once
                    // everything that used it points at the new one.
                    if let Some(&old) = deletes.get(d.as_str())
                        && cbd(d)
                    {
                        dag.add_edge(a, old, ());
                    }
                }
                if let Some(&del) = deletes.get(c.address.as_str()) {
                    if c.create_before_destroy {
                        dag.add_edge(a, del, ());
                    } else {
                        dag.add_edge(del, a, ());
                    }
                }
            }
            for d in &c.state_deps {
                let Some(&target) = deletes.get(d.as_str()) else {
                    continue;
                };
                if let Some(&del) = deletes.get(c.address.as_str()) {
                    dag.add_edge(del, target, ());
                }
                let target_is_orphan = plan
                    .changes
                    .iter()
                    .any(|x| x.address == *d && x.action == Action::Delete);
                if c.action == Action::Update && target_is_orphan {
                    dag.add_edge(applies[c.address.as_str()], target, ());
                }
            }
        }
        if petgraph::algo::is_cyclic_directed(&dag) {
            return Err("the plan's operations form a cycle (the state's dependencies disagree with the desired state's); apply the change in two steps".into());
        }
        Ok(Work { dag })
    }
}

impl Work {
    /// The chain of operations with the most API calls (as counted while
    /// they ran), for `--stats`.
    fn critical_path(&self, plan: &Plan) -> stats::CriticalPath {
        let key = |n: NodeIndex| {
            let (i, step) = self.dag[n];
            operation_key(&plan.changes[i].address, step)
        };
        // Heaviest chain ending at each node, in topological order.
        let order = petgraph::algo::toposort(&self.dag, None).unwrap_or_default();
        let mut best: BTreeMap<NodeIndex, (u64, Option<NodeIndex>)> = BTreeMap::new();
        for &n in &order {
            let (prev_calls, prev) = self
                .dag
                .neighbors_directed(n, petgraph::Direction::Incoming)
                .map(|p| (best[&p].0, Some(p)))
                .max()
                .unwrap_or((0, None));
            best.insert(n, (prev_calls + stats::calls_of(&key(n)), prev));
        }
        let Some((&last, &(calls, _))) = best.iter().max_by_key(|(_, (c, _))| *c) else {
            return stats::CriticalPath::default();
        };
        let mut operations = vec![key(last)];
        let mut at = last;
        while let Some(p) = best[&at].1 {
            operations.push(key(p));
            at = p;
        }
        operations.reverse();
        stats::CriticalPath { operations, calls }
    }
}

/// How `--stats` names an operation of the executor.
fn operation_key(address: &str, step: Step) -> String {
    match step {
        Step::Delete => format!("{address} (delete)"),
        Step::Apply => address.to_owned(),
    }
}

/// Resolves references at apply time from the state, which holds every
/// finished dependency.
struct ApplyEnv<'a> {
    config: &'a Config,
    state: &'a State,
    lookups: &'a BTreeMap<String, Attrs>,
}

impl Resolve for ApplyEnv<'_> {
    fn resolve(&self, r: &Ref) -> Result<Value, String> {
        match r {
            Ref::Var(n) => self
                .config
                .var_values
                .get(n)
                .cloned()
                .ok_or_else(|| format!("variable `{n}` has no value")),
            Ref::Stack(f) if f == "name" => Ok(Value::str(&self.config.stack)),
            Ref::Stack(_) => Ok(Value::str(&self.config.region)),
            Ref::Attr { address, attr } if self.lookups.contains_key(address) => {
                Ok(self.lookups[address].get(attr).cloned().unwrap_or_default())
            }
            Ref::Attr { address, attr } => {
                let rs = self.state.resources.get(address).ok_or_else(|| {
                    format!("`{address}` does not exist (did its operation fail?)")
                })?;
                Ok(if attr == "id" {
                    Value::str(&rs.id)
                } else {
                    rs.attributes.get(attr).cloned().unwrap_or_default()
                })
            }
        }
    }
}

/// What a finished task hands back to the scheduler.
struct Outcome {
    node: NodeIndex,
    result: Result<Option<(String, Attrs)>, ApiError>,
    fingerprints: BTreeMap<String, String>,
    /// A create failed, but the resource exists (its id was answered, or it
    /// was found): recorded with this status, so that it is neither lost
    /// nor duplicated.
    adopted: Option<(String, Attrs, Status)>,
    /// The id a create answered, if it got that far: a create left
    /// unresolved keeps it in `pending`, for the next run to read.
    created: Option<String>,
    /// A create failed and looking it up by its tags failed too: whether it
    /// exists is unknown, so it stays pending for the next run.
    unresolved: bool,
    /// A common cause of the failure, when one is known.
    hint: Option<String>,
    elapsed: Duration,
}

pub struct Executor<'a> {
    pub clients: Arc<Clients>,
    pub config: &'a Config,
    pub store: &'a dyn Store,
    pub fingerprints: &'a Fingerprinter,
    pub ui: Ui,
    pub parallelism: usize,
}

impl Executor<'_> {
    /// Runs the plan. The state is saved after the refresh, before creates
    /// start (pending) and after operations finish, before anything that
    /// depends on them starts; the report lists what failed.
    pub async fn run(&self, plan: &Plan, state: &mut State) -> Result<Report, ApplyError> {
        let work = Work::build(plan).map_err(ApplyError::Plan)?;
        record_refresh(plan, state);
        self.save(state).await?;

        let dag = &work.dag;
        let mut waiting: BTreeMap<NodeIndex, usize> = dag
            .node_indices()
            .map(|n| {
                (
                    n,
                    dag.neighbors_directed(n, petgraph::Direction::Incoming)
                        .count(),
                )
            })
            .collect();
        let mut ready: BTreeSet<(String, NodeIndex)> = BTreeSet::new();
        let key = |n: NodeIndex| (plan.changes[dag[n].0].address.clone(), n);
        for (n, d) in &waiting {
            if *d == 0 {
                ready.insert(key(*n));
            }
        }
        let mut report = Report::default();
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        let mut running: BTreeMap<NodeIndex, Instant> = BTreeMap::new();
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(10),
            Duration::from_secs(10),
        );
        let _graceful = crate::shutdown::graceful();
        let stop = crate::shutdown::wait();
        tokio::pin!(stop);
        let parallelism = self.parallelism.max(1);
        let mut services = InFlight::default();
        // Ids that creates received, recorded in `pending` and saved at
        // once: a wait that fails or a process killed after it loses none.
        let (created_tx, mut created_rx) = tokio::sync::mpsc::unbounded_channel();
        let service_of = |n: NodeIndex| service(&plan.changes[dag[n].0].kind);

        loop {
            // Every operation that can start now is recorded first, then
            // the state is written once for all of them: at scale, one
            // write per operation would bound the apply.
            let mut starting = Vec::new();
            while !report.interrupted && running.len() < parallelism {
                // The first ready operation whose service has room.
                let Some(next) = ready
                    .iter()
                    .find(|(_, n)| services.has_room(service_of(*n)))
                    .cloned()
                else {
                    break;
                };
                ready.remove(&next);
                let n = next.1;
                let (i, step) = dag[n];
                let change = &plan.changes[i];
                match self.prepare(plan, change, step, state) {
                    Ok(mut task) => {
                        if matches!(task.op, Op::Create { .. }) {
                            task.created =
                                kinds::CreatedId::new(change.address.clone(), created_tx.clone());
                            // Saved before the call: a process killed
                            // during the create leaves a trace to adopt.
                            state.pending.insert(
                                change.address.clone(),
                                Pending {
                                    kind: change.kind.clone(),
                                    since: std::time::SystemTime::now()
                                        .duration_since(std::time::UNIX_EPOCH)
                                        .map_or(0, |d| d.as_secs()),
                                    id: None,
                                },
                            );
                        }
                        running.insert(n, Instant::now());
                        // Counted now, so that this round respects the caps.
                        services.start(service_of(n));
                        starting.push((n, task));
                    }
                    Err(message) => {
                        self.fail(&mut report, change, step, message);
                        self.skip_dependents(dag, n, plan, &mut waiting, &mut report);
                    }
                }
            }
            if starting
                .iter()
                .any(|(_, t)| matches!(t.op, Op::Create { .. }))
            {
                self.save(state).await?;
            }
            for (n, task) in starting {
                let (i, step) = dag[n];
                let change = &plan.changes[i];
                self.ui.event(Event::Started {
                    address: &change.address,
                    action: change.action,
                    deleting: step == Step::Delete,
                });
                let clients = self.clients.clone();
                let stack = self.config.stack.clone();
                let op = operation_key(&change.address, step);
                tasks.spawn(stats::attribute(op, async move {
                    kinds::with_timeouts(task.timeouts, task.run(clients, stack, n)).await
                }));
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                joined = tasks.join_next() => {
                    let Some(joined) = joined else { continue };
                    // What else has finished meanwhile is recorded with it,
                    // in one state write, before any dependent starts.
                    let mut batch = vec![joined];
                    while let Some(more) = tasks.try_join_next() {
                        batch.push(more);
                    }
                    let mut finished = Vec::new();
                    for joined in batch {
                        let outcome = match joined {
                            Ok(o) => o,
                            Err(e) => return Err(ApplyError::Plan(format!("an operation panicked: {e}"))),
                        };
                        let node = outcome.node;
                        running.remove(&node);
                        services.finish(service_of(node));
                        let (i, step) = dag[node];
                        let change = &plan.changes[i];
                        finished.push((node, self.finish(change, step, outcome, state, &mut report)));
                    }
                    self.save(state).await?;
                    for (node, ok) in finished {
                        if ok {
                            for m in dag.neighbors_directed(node, petgraph::Direction::Outgoing) {
                                if let Some(d) = waiting.get_mut(&m) {
                                    *d -= 1;
                                    if *d == 0 {
                                        ready.insert(key(m));
                                    }
                                }
                            }
                        } else {
                            self.skip_dependents(dag, node, plan, &mut waiting, &mut report);
                        }
                    }
                }
                Some(first) = created_rx.recv() => {
                    let mut batch = vec![first];
                    while let Ok(more) = created_rx.try_recv() {
                        batch.push(more);
                    }
                    let mut recorded = false;
                    for (address, id) in batch {
                        if let Some(p) = state.pending.get_mut(&address) {
                            p.id = Some(id);
                            recorded = true;
                        }
                    }
                    if recorded {
                        self.save(state).await?;
                    }
                }
                _ = ticker.tick() => {
                    for (n, since) in &running {
                        let (i, step) = dag[*n];
                        if since.elapsed() >= Duration::from_secs(10) {
                            self.ui.event(Event::Still {
                                address: &plan.changes[i].address,
                                action: plan.changes[i].action,
                                deleting: step == Step::Delete,
                                elapsed: since.elapsed(),
                            });
                        }
                    }
                }
                _ = &mut stop, if !report.interrupted => {
                    report.interrupted = true;
                    self.ui.event(Event::Interrupted);
                }
            }
        }
        stats::record_critical_path(work.critical_path(plan));
        if report.failures.is_empty()
            && !report.interrupted
            && !plan.destroy
            && plan.targets.is_empty()
        {
            self.record_outputs(plan, state).await?;
        }
        if plan.destroy
            && plan.targets.is_empty()
            && report.failures.is_empty()
            && !report.interrupted
        {
            state.outputs.clear();
            self.save(state).await?;
        }
        Ok(report)
    }

    /// Writes the state, sensitive values fingerprinted.
    async fn save(&self, state: &mut State) -> Result<(), StateError> {
        crate::state::mask(state, self.config, self.fingerprints);
        self.store.save(state).await
    }

    /// Everything a task needs, resolved now that its dependencies are done.
    fn prepare(
        &self,
        plan: &Plan,
        change: &Change,
        step: Step,
        state: &State,
    ) -> Result<Task, String> {
        let kind =
            kinds::lookup(&change.kind).ok_or_else(|| format!("unknown kind `{}`", change.kind))?;
        let mut live = change.before.clone().unwrap_or_default();
        let recorded = state.resources.get(&change.address);
        // AWS cannot tell a write-only setting (force_destroy): the value
        // last applied stands for the live one, for deletes too.
        for f in kind
            .schema()
            .inputs()
            .filter(|f| f.write_only && !f.sensitive)
        {
            if let Some(r) = recorded.and_then(|r| r.fingerprints.get(f.name)) {
                live.insert(f.name.to_owned(), crate::state::fingerprint::shown(f, r));
            }
        }
        let mut fingerprints = BTreeMap::new();
        let id = state
            .resources
            .get(&change.address)
            .map(|r| r.id.clone())
            .or_else(|| change.id.clone());
        let op = match (step, change.action) {
            (Step::Delete, _) => Op::Delete {
                id: change.id.clone().unwrap_or_default(),
                policy: change.deletion_policy,
            },
            (Step::Apply, action) => {
                let env = ApplyEnv {
                    config: self.config,
                    state,
                    lookups: &plan.lookups,
                };
                let raw = change.config.clone().unwrap_or_default();
                let desired =
                    desired_attrs(&change.address, kind, &raw, &env).map_err(|e| e.join("; "))?;
                if let Some((name, _)) = desired.iter().find(|(_, v)| v.has_unknown()) {
                    return Err(format!("`{name}` is still unknown at apply time"));
                }
                for f in kind.schema().inputs().filter(|f| f.write_only) {
                    let Some(v) = desired.get(f.name) else {
                        continue;
                    };
                    let fp = self.fingerprints.record(f, &f.ty.normalize(v));
                    // Unchanged since the last apply: the kind sees it as
                    // live too, so that an update does not send it again.
                    if recorded.and_then(|r| r.fingerprints.get(f.name)) == Some(&fp) {
                        live.insert(f.name.to_owned(), v.clone());
                    }
                    fingerprints.insert(f.name.to_owned(), fp);
                }
                match (action, id) {
                    (Action::Update, Some(id)) => Op::Update { id, desired },
                    _ => Op::Create { desired },
                }
            }
        };
        Ok(Task {
            kind,
            address: change.address.clone(),
            op,
            live,
            fingerprints,
            timeouts: self
                .config
                .resources
                .get(&change.address)
                .map_or(kind.timeouts(), |r| {
                    kind.timeouts().with(&r.lifecycle.timeouts)
                }),
            created: kinds::CreatedId::default(),
        })
    }

    /// Records a finished task in the state (the caller saves it). Returns whether
    /// dependents may go on.
    fn finish(
        &self,
        change: &Change,
        step: Step,
        o: Outcome,
        state: &mut State,
        report: &mut Report,
    ) -> bool {
        let deleting = step == Step::Delete;
        // A create whose outcome is still unknown (a timeout, a reset
        // connection) stays pending, for the next run to look up.
        let unknown = matches!(&o.result, Err(e) if e.outcome_unknown());
        if o.adopted.is_some() || !(unknown || o.unresolved) {
            state.pending.remove(&change.address);
        } else if let Some(p) = state.pending.get_mut(&change.address) {
            p.id = o.created.clone().or(p.id.take());
        }
        match o.result {
            Ok(result) => {
                match result {
                    None if change.deposed || change.create_before_destroy => {
                        state.deposed.remove(&change.address);
                        if change.deposed {
                            report.destroyed += 1;
                        }
                    }
                    None => {
                        state.resources.remove(&change.address);
                        if change.action == Action::Delete
                            && change.deletion_policy != DeletionPolicy::Retain
                        {
                            report.destroyed += 1;
                        }
                    }
                    Some((id, attributes)) => {
                        if change.create_before_destroy
                            && change.action == Action::Replace
                            && let Some(old) = state.resources.remove(&change.address)
                        {
                            state.deposed.insert(change.address.clone(), old);
                        }
                        state.resources.insert(
                            change.address.clone(),
                            ResourceState {
                                kind: change.kind.clone(),
                                id,
                                attributes,
                                dependencies: change.deps.clone(),
                                status: Status::Created,
                                deletion_policy: recorded_policy(change),
                                fingerprints: o.fingerprints.clone(),
                            },
                        );
                        match change.action {
                            Action::Update => report.changed += 1,
                            Action::Replace => {
                                report.added += 1;
                                report.destroyed += 1;
                            }
                            _ => report.added += 1,
                        }
                    }
                }
                let id = state.resources.get(&change.address).map(|r| r.id.as_str());
                self.ui.event(Event::Done {
                    address: &change.address,
                    action: change.action,
                    deleting,
                    elapsed: o.elapsed,
                    id: if deleting { change.id.as_deref() } else { id },
                });
                true
            }
            Err(e) => {
                if let Some((id, attributes, status)) = o.adopted {
                    state.resources.insert(
                        change.address.clone(),
                        ResourceState {
                            kind: change.kind.clone(),
                            id,
                            attributes,
                            dependencies: change.deps.clone(),
                            status,
                            deletion_policy: recorded_policy(change),
                            fingerprints: BTreeMap::new(),
                        },
                    );
                }
                // A half-made update needs nothing here: the next refresh
                // reads what AWS really has and plans the rest.
                let message = match o.hint {
                    Some(hint) => format!("{e}\n  Hint: {hint}"),
                    None => e.to_string(),
                };
                self.fail(report, change, step, message);
                false
            }
        }
    }

    fn fail(&self, report: &mut Report, change: &Change, step: Step, message: String) {
        let operation = match (step, change.action) {
            (Step::Delete, _) => "destroying",
            (_, Action::Update) => "updating",
            _ => "creating",
        };
        self.ui.event(Event::Failed {
            address: &change.address,
            error: &format!("{operation}: {message}"),
        });
        report.failures.push(Failure {
            address: change.address.clone(),
            operation,
            message,
        });
    }

    /// Marks everything that (transitively) waits for `n` as skipped.
    fn skip_dependents(
        &self,
        dag: &DiGraph<(usize, Step), ()>,
        n: NodeIndex,
        plan: &Plan,
        waiting: &mut BTreeMap<NodeIndex, usize>,
        report: &mut Report,
    ) {
        let failed = plan.changes[dag[n].0].address.clone();
        let mut stack = vec![n];
        let mut seen = BTreeSet::new();
        while let Some(x) = stack.pop() {
            for m in dag.neighbors_directed(x, petgraph::Direction::Outgoing) {
                if seen.insert(m) {
                    waiting.remove(&m);
                    let address = &plan.changes[dag[m].0].address;
                    if !report.skipped.contains(address) {
                        self.ui.event(Event::Skipped {
                            address,
                            because: &failed,
                        });
                        report.skipped.push(address.clone());
                    }
                    stack.push(m);
                }
            }
        }
    }

    async fn record_outputs(&self, plan: &Plan, state: &mut State) -> Result<(), ApplyError> {
        let mut outputs = BTreeMap::new();
        for (name, template) in &plan.outputs {
            let env = ApplyEnv {
                config: self.config,
                state,
                lookups: &plan.lookups,
            };
            let v = crate::config::template::eval(template, &env)
                .map_err(|m| ApplyError::Plan(format!("output `{name}`: {m}")))?;
            outputs.insert(name.clone(), v);
        }
        state.outputs = outputs;
        self.save(state).await?;
        Ok(())
    }
}

/// The refresh's findings, recorded before any change: live attributes of
/// what exists, and nothing of what is gone.
fn record_refresh(plan: &Plan, state: &mut State) {
    for address in &plan.forget {
        state.resources.remove(address);
    }
    for c in &plan.changes {
        match (&c.before, c.action) {
            (None, _) => {
                state.resources.remove(&c.address);
            }
            (Some(live), Action::NoOp | Action::Update | Action::Delete | Action::Replace) => {
                if let Some(rs) = state.resources.get_mut(&c.address) {
                    rs.set_live(live);
                }
            }
            _ => {}
        }
    }
}

/// What a successful operation leaves: the id and live attributes, or
/// nothing (deleted).
type Created = Option<(String, Attrs)>;

/// What a failed create left in AWS.
enum Left {
    /// Nothing (or nothing known to exist).
    Nothing,
    /// This resource, to be recorded with this status.
    Kept(String, Attrs, Status),
    /// Unknown: the create stays pending for the next run.
    Unknown,
}

enum Op {
    Create { desired: Attrs },
    Update { id: String, desired: Attrs },
    Delete { id: String, policy: DeletionPolicy },
}

/// The deletion policy to remember in the state: only one that differs from
/// the kind's default.
fn recorded_policy(change: &Change) -> Option<DeletionPolicy> {
    let default = kinds::lookup(&change.kind).map(|k| k.default_deletion_policy());
    (Some(change.deletion_policy) != default).then_some(change.deletion_policy)
}

/// One operation against AWS, run on its own task.
struct Task {
    kind: &'static dyn Kind,
    address: String,
    op: Op,
    live: Attrs,
    /// Of the write-only values sent, recorded once the operation succeeds.
    fingerprints: BTreeMap<String, String>,
    timeouts: kinds::Timeouts,
    /// Where a create reports the id AWS answered.
    created: kinds::CreatedId,
}

impl Task {
    async fn run(self, clients: Arc<Clients>, stack: String, node: NodeIndex) -> Outcome {
        let started = Instant::now();
        let cx = Ctx {
            aws: &clients,
            stack: &stack,
        };
        let mut adopted = None;
        let mut unresolved = false;
        let result = match &self.op {
            Op::Delete { id, policy } => {
                let deleted = match policy {
                    // Retained: forgotten by the state, left running in AWS.
                    DeletionPolicy::Retain => Ok(()),
                    DeletionPolicy::Snapshot => {
                        self.kind.delete_with_snapshot(cx, id, &self.live).await
                    }
                    DeletionPolicy::Delete => self.kind.delete(cx, id, &self.live).await,
                };
                match deleted {
                    Err(e) => self.gone_anyway(cx, id, e).await,
                    ok => ok,
                }
                .map(|()| None)
            }
            Op::Update { id, desired } => match self
                .kind
                .update(
                    cx,
                    &self.address,
                    id,
                    &self.live,
                    desired,
                    &self.changes(desired),
                )
                .await
            {
                Ok(()) => self.read_back(cx, id).await.map(|a| Some((id.clone(), a))),
                Err(e) => Err(e),
            },
            Op::Create { desired } => {
                let (result, left) = self.create(cx, desired).await;
                match left {
                    Left::Nothing => {}
                    Left::Kept(id, live, status) => adopted = Some((id, live, status)),
                    Left::Unknown => unresolved = true,
                }
                result
            }
        };
        let elapsed = started.elapsed();
        let hint = match &result {
            Err(error) => {
                let (id, attrs) = match &self.op {
                    Op::Create { desired } => (None, desired),
                    Op::Update { id, desired } => (Some(id.as_str()), desired),
                    Op::Delete { id, .. } => (Some(id.as_str()), &self.live),
                };
                let failed = crate::hints::Failed {
                    kind: self.kind.schema().kind,
                    id,
                    attrs,
                    error,
                };
                crate::hints::explain(&clients, &failed).await
            }
            Ok(_) => None,
        };
        let not_ours = matches!(&result, Err(e) if e.class == ErrorClass::AlreadyExists)
            && matches!(self.op, Op::Create { .. })
            && adopted.is_none()
            && !unresolved;
        let hint = if not_ours {
            Some(format!(
                "it is not {} of stack `{stack}` (nothing there carries this address's reconcile tags or, for a kind without tags, its parent). To manage it here: `reconcile import {} <id>`; otherwise rename or remove what stands in the way",
                self.address, self.address
            ))
        } else {
            hint
        };
        Outcome {
            node,
            fingerprints: self.fingerprints,
            created: self.created.get(),
            result,
            adopted,
            unresolved,
            hint,
            elapsed,
        }
    }

    /// Creates the resource. A failure never loses what AWS made: when the
    /// create answered an id, the resource is continued from it; otherwise
    /// it is looked up where the create would have made it (an answer
    /// lost, or a conflict with what an earlier attempt made) and adopted,
    /// or the create is tried again when nothing was made.
    async fn create(&self, cx: Ctx<'_>, desired: &Attrs) -> (Result<Created, ApiError>, Left) {
        let mut tries = 1;
        loop {
            let e = match self
                .created
                .scope(self.kind.create(cx, &self.address, desired))
                .await
            {
                Ok(id) => {
                    self.created.record(&id);
                    match self.read_back(cx, &id).await {
                        Ok(a) => return (Ok(Some((id, a))), Left::Nothing),
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            };
            if let Some(id) = self.created.get() {
                return self.continue_created(cx, id, desired, e).await;
            }
            // AWS lists a new resource a moment after making it.
            if e.class == ErrorClass::Transient {
                tokio::time::sleep(SETTLE).await;
            }
            match self.kind.find_created(cx, &self.address, desired).await {
                // Found: continued like a create that answered its id.
                Ok(Some(id)) => {
                    self.created.record(&id);
                    return self.continue_created(cx, id, desired, e).await;
                }
                // Certainly not made: the create is tried again.
                Ok(None) if e.outcome_unknown() && tries < CREATE_TRIES => tries += 1,
                Ok(None) => return (Err(e), Left::Nothing),
                Err(lookup) => {
                    let e = ApiError {
                        message: format!(
                            "{}; looking for what it made failed too: {lookup}",
                            e.message
                        ),
                        ..e
                    };
                    return (Err(e), Left::Unknown);
                }
            }
        }
    }

    /// A create answered `id` (or what it made was found), then something
    /// failed (a wait, a read, tags, a setting, a lost answer). The resource
    /// exists: what the create left undone is finished with an update, or
    /// it is kept in the state — tainted, to be replaced, when it failed
    /// for good; as it is when it may still get there.
    async fn continue_created(
        &self,
        cx: Ctx<'_>,
        id: String,
        desired: &Attrs,
        e: ApiError,
    ) -> (Result<Created, ApiError>, Left) {
        // Not readable now: the id stays pending for the next run to read.
        let Ok(live) = self.read_back(cx, &id).await else {
            return (Err(e), Left::Unknown);
        };
        if matches!(e.class, ErrorClass::Failed | ErrorClass::Timeout) {
            let status = if e.class == ErrorClass::Failed {
                Status::Tainted
            } else {
                Status::Created
            };
            return (Err(e), Left::Kept(id, live, status));
        }
        match self.finish_adopted(cx, &id, &live, desired).await {
            Ok(attrs) => (Ok(Some((id, attrs))), Left::Nothing),
            Err(_) if e.outcome_unknown() => (Err(e), Left::Kept(id, live, Status::Created)),
            Err(_) => (Err(e), Left::Kept(id, live, Status::Tainted)),
        }
    }

    /// A delete failed with an unknown outcome (its answer lost, then a
    /// retry refused because the first one did the work): done if the
    /// resource is gone now.
    async fn gone_anyway(&self, cx: Ctx<'_>, id: &str, e: ApiError) -> Result<(), ApiError> {
        if !e.outcome_unknown() {
            return Err(e);
        }
        tokio::time::sleep(SETTLE).await;
        match self.kind.read_many(cx, &[id.to_owned()]).await {
            Ok(live) if !live.contains_key(id) => Ok(()),
            _ => Err(e),
        }
    }

    /// Brings a resource adopted after a failed create to `desired`, and
    /// reads it back.
    async fn finish_adopted(
        &self,
        cx: Ctx<'_>,
        id: &str,
        live: &Attrs,
        desired: &Attrs,
    ) -> Result<Attrs, ApiError> {
        let changed = kinds::Changes::between(self.kind, live, desired);
        self.kind
            .update(cx, &self.address, id, live, desired, &changed)
            .await?;
        self.read_back(cx, id).await
    }

    /// The fields an update changes: checked here, where `desired` is
    /// fully resolved (a value unknown at plan time is known only now).
    fn changes(&self, desired: &Attrs) -> kinds::Changes {
        kinds::Changes::between(self.kind, &self.live, desired)
    }

    /// The attributes of what was just created or changed. EC2 and IAM are
    /// eventually consistent: a new id may be invisible for a few seconds,
    /// so absence is retried for a bounded time.
    async fn read_back(&self, cx: Ctx<'_>, id: &str) -> Result<Attrs, ApiError> {
        let ids = [id.to_owned()];
        let waiter = Waiter {
            timeout: self.timeouts.create.min(Duration::from_secs(60)),
            ..Waiter::new(Duration::ZERO)
        };
        waiter
            .until(&format!("{id} to become readable"), || async {
                match self.kind.read_many(cx, &ids).await {
                    Ok(mut found) => Ok(match found.remove(id) {
                        Some(a) => Poll::Ready(a),
                        None => Poll::Pending("not yet visible".into()),
                    }),
                    Err(e) if e.class == ErrorClass::NotFound => {
                        Ok(Poll::Pending("not yet visible".into()))
                    }
                    Err(e) => Err(e),
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_and_load_balancing_kinds_count_against_their_service_caps() {
        assert_eq!(service("launch_template"), Some("ec2"));
        assert_eq!(service("listener_rule"), Some("elasticloadbalancing"));
        assert_eq!(service("iam_role"), None);
        assert_eq!(service("no_such_kind"), None);
    }

    fn change(address: &str, deps: &[&str]) -> Change {
        Change {
            id: None,
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            ..crate::plan::testing::change(address, Action::Create)
        }
    }

    #[test]
    fn the_critical_path_is_the_chain_with_the_most_calls() {
        // Addresses of their own: the counters are process-wide.
        let plan = crate::plan::testing::plan(vec![
            change("vpc.cp_test", &[]),
            change("subnet.cp_test", &["vpc.cp_test"]),
            change("route_table.cp_test", &["subnet.cp_test"]),
            change("log_group.cp_test", &[]),
        ]);
        let work = Work::build(&plan).unwrap();
        for (address, calls) in [
            ("vpc.cp_test", 3),
            ("subnet.cp_test", 2),
            ("route_table.cp_test", 1),
            ("log_group.cp_test", 5),
        ] {
            stats::add_calls(address, calls);
        }
        let cp = work.critical_path(&plan);
        assert_eq!(
            cp.operations,
            ["vpc.cp_test", "subnet.cp_test", "route_table.cp_test"]
        );
        assert_eq!(cp.calls, 6);
        // One heavy operation outweighs a long chain of light ones.
        stats::add_calls("log_group.cp_test", 5);
        let cp = work.critical_path(&plan);
        assert_eq!((cp.operations.len(), cp.calls), (1, 10));
    }
}
