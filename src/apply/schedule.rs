//! The order of an apply's operations: which may start now, within
//! `--parallelism` and the per-service caps, and what a failure stops.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use petgraph::Direction::{Incoming, Outgoing};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::aws::stats;
use crate::plan::{Action, Change, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Delete,
    /// Create, update, or the create half of a replacement.
    Apply,
}

/// Services whose API rate limits are low enough to cap the operations in
/// flight below `--parallelism` (each operation makes several calls and a
/// waiter polls). Other services share only the executor's cap.
const SERVICE_CAPS: &[(&str, usize)] = &[("ec2", 6), ("elasticloadbalancing", 3)];

/// Operations in flight per capped service.
#[derive(Debug, Default)]
struct InFlight(BTreeMap<&'static str, usize>);

impl InFlight {
    fn cap(service: &str) -> Option<usize> {
        SERVICE_CAPS
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, cap)| *cap)
    }

    fn has_room(&self, service: &'static str) -> bool {
        Self::cap(service).is_none_or(|cap| self.0.get(service).copied().unwrap_or(0) < cap)
    }

    fn start(&mut self, service: &'static str) {
        *self.0.entry(service).or_default() += 1;
    }

    fn finish(&mut self, service: &'static str) {
        if let Some(n) = self.0.get_mut(service) {
            *n = n.saturating_sub(1);
        }
    }
}

/// What may run now: operations whose dependencies are done, in address
/// order, and those running.
pub(super) struct Scheduler<'p> {
    plan: &'p Plan,
    work: Work,
    /// Unfinished dependencies of each operation not started.
    waiting: BTreeMap<NodeIndex, usize>,
    ready: BTreeSet<(String, NodeIndex)>,
    running: BTreeMap<NodeIndex, Instant>,
    services: InFlight,
    parallelism: usize,
}

impl<'p> Scheduler<'p> {
    pub(super) fn new(plan: &'p Plan, parallelism: usize) -> Result<Scheduler<'p>, String> {
        let work = Work::build(plan)?;
        let dag = &work.dag;
        let waiting: BTreeMap<NodeIndex, usize> = dag
            .node_indices()
            .map(|n| (n, dag.neighbors_directed(n, Incoming).count()))
            .collect();
        let mut s = Scheduler {
            plan,
            waiting,
            ready: BTreeSet::new(),
            running: BTreeMap::new(),
            services: InFlight::default(),
            parallelism: parallelism.max(1),
            work,
        };
        let roots: Vec<NodeIndex> = s
            .waiting
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(n, _)| *n)
            .collect();
        for n in roots {
            s.make_ready(n);
        }
        Ok(s)
    }

    /// The change and step of an operation.
    pub(super) fn op(&self, n: NodeIndex) -> (&'p Change, Step) {
        let (i, step) = self.work.dag[n];
        (&self.plan.changes[i], step)
    }

    fn service(&self, n: NodeIndex) -> &'static str {
        crate::kinds::lookup(&self.op(n).0.kind).map_or("", |k| k.schema().service)
    }

    fn make_ready(&mut self, n: NodeIndex) {
        self.ready.insert((self.op(n).0.address.clone(), n));
    }

    /// The first ready operation whose service has room, counted as running
    /// from now on; `None` when nothing more may start.
    pub(super) fn next(&mut self) -> Option<NodeIndex> {
        if self.running.len() >= self.parallelism {
            return None;
        }
        let next = self
            .ready
            .iter()
            .find(|(_, n)| self.services.has_room(self.service(*n)))
            .cloned()?;
        self.ready.remove(&next);
        self.running.insert(next.1, Instant::now());
        self.services.start(self.service(next.1));
        Some(next.1)
    }

    /// Records that `n` ended. When it succeeded, what waited only for it
    /// becomes ready; when it failed (or could not start), everything that
    /// waits for it, transitively, is skipped: their addresses are returned.
    pub(super) fn finished(&mut self, n: NodeIndex, ok: bool) -> Vec<&'p str> {
        if self.running.remove(&n).is_some() {
            self.services.finish(self.service(n));
        }
        if !ok {
            return self.skip_dependents(n);
        }
        let next: Vec<NodeIndex> = self.work.dag.neighbors_directed(n, Outgoing).collect();
        for m in next {
            if let Some(d) = self.waiting.get_mut(&m) {
                *d -= 1;
                if *d == 0 {
                    self.make_ready(m);
                }
            }
        }
        Vec::new()
    }

    fn skip_dependents(&mut self, n: NodeIndex) -> Vec<&'p str> {
        let mut skipped = Vec::new();
        let mut stack = vec![n];
        let mut seen = BTreeSet::new();
        while let Some(x) = stack.pop() {
            for m in self.work.dag.neighbors_directed(x, Outgoing) {
                if seen.insert(m) {
                    self.waiting.remove(&m);
                    skipped.push(self.op(m).0.address.as_str());
                    stack.push(m);
                }
            }
        }
        skipped
    }

    /// Operations running for at least `at_least`, with how long.
    pub(super) fn running_for(&self, at_least: Duration) -> Vec<(NodeIndex, Duration)> {
        self.running
            .iter()
            .map(|(n, since)| (*n, since.elapsed()))
            .filter(|(_, e)| *e >= at_least)
            .collect()
    }

    pub(super) fn critical_path(&self) -> stats::CriticalPath {
        self.work.critical_path(self.plan)
    }
}

/// The operations of a plan and the order between them.
pub(super) struct Work {
    pub(super) dag: DiGraph<(usize, Step), ()>,
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
    pub(super) fn critical_path(&self, plan: &Plan) -> stats::CriticalPath {
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
pub(super) fn operation_key(address: &str, step: Step) -> String {
    match step {
        Step::Delete => format!("{address} (delete)"),
        Step::Apply => address.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(address: &str, deps: &[&str]) -> Change {
        Change {
            id: None,
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            ..crate::plan::testing::change(address, Action::Create)
        }
    }

    #[test]
    fn ec2_and_load_balancing_kinds_count_against_their_service_caps() {
        let cap = |kind: &str| InFlight::cap(crate::kinds::lookup(kind).unwrap().schema().service);
        assert_eq!(cap("launch_template"), Some(6));
        assert_eq!(cap("listener_rule"), Some(3));
        assert_eq!(cap("iam_role"), None);
        let mut flight = InFlight::default();
        for _ in 0..3 {
            assert!(flight.has_room("elasticloadbalancing"));
            flight.start("elasticloadbalancing");
        }
        assert!(!flight.has_room("elasticloadbalancing"));
        assert!(flight.has_room("iam"));
        flight.finish("elasticloadbalancing");
        assert!(flight.has_room("elasticloadbalancing"));
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
