//! The order of an apply's operations: which may start now, within
//! `--parallelism` and the per-service caps, and what a failure stops.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use petgraph::Direction::{Incoming, Outgoing};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::aws::stats;
use crate::aws::throttle::{self, CallClass};
use crate::plan::{Action, Change, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Delete,
    /// Create, update, or the create half of a replacement.
    Apply,
}

/// The operations in flight per service, adapted to AWS's rate limits:
/// additive increase while calls are answered, multiplicative decrease on
/// a throttling answer (TCP's congestion control, as AWS's own SDKs pace
/// themselves), per service and call class, since AWS meters a service's
/// reads and mutating calls with separate token buckets. An operation makes
/// calls of both classes, so its service's room is the smaller of the two
/// limits. `--parallelism` is the ceiling of every limit and of the whole.
#[derive(Debug, Clone)]
pub(crate) struct Aimd {
    limit: f64,
    ceiling: f64,
    /// Below it the limit grows by one per answered call (slow start);
    /// above, by one per `limit` answered calls. Set at each decrease.
    threshold: f64,
    peak: f64,
    last_cut: Option<Instant>,
    /// Throttling answers within this time after a decrease are taken as
    /// answers to calls sent before it: one decrease per episode.
    hold: Duration,
}

impl Aimd {
    /// Where every limit starts: a few operations, then slow start finds
    /// the level quickly (one more per answered call).
    pub(crate) const START: f64 = 8.0;
    /// The factor of a decrease.
    pub(crate) const DECREASE: f64 = 0.5;
    pub(crate) const HOLD: Duration = Duration::from_secs(1);

    pub(crate) fn new(ceiling: usize, hold: Duration) -> Aimd {
        let ceiling = ceiling.max(1) as f64;
        let limit = Self::START.min(ceiling);
        Aimd { limit, ceiling, threshold: ceiling, peak: limit, last_cut: None, hold }
    }

    /// Calls answered without throttling.
    pub(crate) fn answered(&mut self, calls: u64) {
        for _ in 0..calls {
            let step = if self.limit < self.threshold {
                1.0
            } else {
                1.0 / self.limit
            };
            self.limit = (self.limit + step).min(self.ceiling);
        }
        self.peak = self.peak.max(self.limit);
    }

    /// A throttling answer seen at `now`.
    pub(crate) fn throttled(&mut self, now: Instant) {
        if self
            .last_cut
            .is_some_and(|at| now.saturating_duration_since(at) < self.hold)
        {
            return;
        }
        self.limit = (self.limit * Self::DECREASE).max(1.0);
        self.threshold = self.limit;
        self.last_cut = Some(now);
    }

    /// Operations that may be in flight now.
    pub(crate) fn limit(&self) -> usize {
        self.limit.floor() as usize
    }

    pub(crate) fn peak(&self) -> usize {
        self.peak.floor() as usize
    }
}

/// Operations in flight per service, and the adaptive limits.
#[derive(Debug)]
struct InFlight {
    running: BTreeMap<&'static str, usize>,
    limits: BTreeMap<(&'static str, CallClass), Aimd>,
    ceiling: usize,
    /// The throttling feedback already taken into the limits.
    seen: throttle::Feedback,
}

impl InFlight {
    fn new(ceiling: usize) -> InFlight {
        InFlight {
            running: BTreeMap::new(),
            limits: BTreeMap::new(),
            ceiling,
            seen: throttle::counts(),
        }
    }

    /// Takes in what the clients counted since the last look. A class is
    /// cut when its calls were throttled; otherwise it grows by every call
    /// of its service that was answered, of either class: a service that
    /// answers is not pushing back, and a class with few calls of its own
    /// (the reads of a kind that waits for nothing) must not stay low.
    fn absorb(&mut self, now: Instant) {
        let counts = throttle::counts();
        let new = counts.since(&self.seen);
        self.seen = counts;
        let mut answered: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut throttled = BTreeSet::new();
        for ((service, class), c) in new.0 {
            *answered.entry(service).or_default() += c.answered;
            if c.throttled > 0 {
                throttled.insert((service, class));
            }
        }
        for (service, n) in answered {
            for class in [CallClass::Read, CallClass::Mutating] {
                let limit = self
                    .limits
                    .entry((service, class))
                    .or_insert_with(|| Aimd::new(self.ceiling, Aimd::HOLD));
                if throttled.contains(&(service, class)) {
                    limit.throttled(now);
                } else {
                    limit.answered(n);
                }
            }
        }
    }

    fn limit(&mut self, service: &'static str) -> usize {
        [CallClass::Read, CallClass::Mutating]
            .iter()
            .map(|class| {
                self.limits
                    .entry((service, *class))
                    .or_insert_with(|| Aimd::new(self.ceiling, Aimd::HOLD))
                    .limit()
            })
            .min()
            .unwrap_or(1)
    }

    fn has_room(&mut self, service: &'static str) -> bool {
        self.running.get(service).copied().unwrap_or(0) < self.limit(service)
    }

    fn start(&mut self, service: &'static str) {
        *self.running.entry(service).or_default() += 1;
    }

    fn finish(&mut self, service: &'static str) {
        if let Some(n) = self.running.get_mut(service) {
            *n = n.saturating_sub(1);
        }
    }

    /// Each limit's last and highest value, for `--stats`.
    fn report(&self) -> Vec<stats::Limit> {
        self.limits
            .iter()
            .map(|((service, class), l)| stats::Limit {
                service: (*service).to_owned(),
                class: class.name(),
                limit: l.limit(),
                peak: l.peak(),
            })
            .collect()
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
            services: InFlight::new(parallelism.max(1)),
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
        self.services.absorb(Instant::now());
        let mut next = None;
        for (address, n) in &self.ready {
            let service = crate::kinds::lookup(&self.plan.changes[self.work.dag[*n].0].kind)
                .map_or("", |k| k.schema().service);
            if self.services.has_room(service) {
                next = Some((address.clone(), *n));
                break;
            }
        }
        let next = next?;
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

    /// The adaptive limits as they ended, for `--stats`.
    pub(super) fn limits(&mut self) -> Vec<stats::Limit> {
        self.services.absorb(Instant::now());
        self.services.report()
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
    fn a_limit_grows_while_calls_are_answered_up_to_the_ceiling() {
        let mut l = Aimd::new(50, Aimd::HOLD);
        assert_eq!(l.limit(), 8);
        // Slow start: one more per answered call.
        l.answered(10);
        assert_eq!(l.limit(), 18);
        l.answered(1000);
        assert_eq!((l.limit(), l.peak()), (50, 50));
        // A ceiling below the start is the start.
        assert_eq!(Aimd::new(3, Aimd::HOLD).limit(), 3);
    }

    #[test]
    fn a_throttling_answer_halves_the_limit_once_per_episode() {
        let t0 = Instant::now();
        let mut l = Aimd::new(50, Duration::from_secs(1));
        l.answered(100);
        l.throttled(t0);
        assert_eq!(l.limit(), 25);
        // Answers to calls sent before the decrease do not cut again.
        l.throttled(t0 + Duration::from_millis(500));
        assert_eq!(l.limit(), 25);
        l.throttled(t0 + Duration::from_millis(1500));
        assert_eq!(l.limit(), 12);
        // Never below one operation.
        for i in 2..10 {
            l.throttled(t0 + Duration::from_secs(i));
        }
        assert_eq!(l.limit(), 1);
        assert_eq!(l.peak(), 50);
    }

    #[test]
    fn after_a_decrease_the_limit_grows_by_one_per_window_of_calls() {
        let t0 = Instant::now();
        let mut l = Aimd::new(50, Aimd::HOLD);
        l.answered(12);
        assert_eq!(l.limit(), 20);
        l.throttled(t0);
        assert_eq!(l.limit(), 10);
        // Congestion avoidance: about one more per `limit` answered calls.
        l.answered(10);
        assert_eq!(l.limit(), 10);
        l.answered(1);
        assert_eq!(l.limit(), 11);
        l.answered(11);
        assert_eq!(l.limit(), 12);
    }

    #[test]
    fn a_service_has_room_while_below_its_smaller_class_limit() {
        let mut flight = InFlight::new(10);
        for _ in 0..8 {
            assert!(flight.has_room("elasticloadbalancing"));
            flight.start("elasticloadbalancing");
        }
        assert!(!flight.has_room("elasticloadbalancing"));
        assert!(flight.has_room("iam"));
        flight.finish("elasticloadbalancing");
        assert!(flight.has_room("elasticloadbalancing"));
        // A throttled read class holds the service's operations back even
        // when its mutating calls pass.
        let t0 = Instant::now();
        flight
            .limits
            .get_mut(&("elasticloadbalancing", CallClass::Read))
            .unwrap()
            .throttled(t0);
        assert_eq!(flight.limit("elasticloadbalancing"), 4);
        assert!(!flight.has_room("elasticloadbalancing"));
        let report = flight.report();
        let read = report
            .iter()
            .find(|l| l.service == "elasticloadbalancing" && l.class == "read")
            .unwrap();
        assert_eq!((read.limit, read.peak), (4, 8));
    }

    #[test]
    fn the_clients_feedback_moves_the_limits() {
        // A service name of its own: the feedback is process-wide.
        let mut flight = InFlight::new(40);
        assert_eq!(flight.limit("sched-test"), 8);
        // Answered calls of either class grow both classes.
        throttle::record("sched-test", CallClass::Mutating, false);
        throttle::record("sched-test", CallClass::Mutating, false);
        flight.absorb(Instant::now());
        assert_eq!(flight.limit("sched-test"), 10);
        for _ in 0..4 {
            throttle::record("sched-test", CallClass::Read, false);
        }
        flight.absorb(Instant::now());
        assert_eq!(flight.limit("sched-test"), 14);
        // A throttled mutating call cuts that class only; it binds.
        throttle::record("sched-test", CallClass::Mutating, true);
        throttle::record("sched-test", CallClass::Read, false);
        flight.absorb(Instant::now());
        assert_eq!(flight.limit("sched-test"), 7);
        let read = flight.limits[&("sched-test", CallClass::Read)].limit();
        assert_eq!(read, 15);
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
