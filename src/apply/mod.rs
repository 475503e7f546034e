//! The executor: runs a plan in dependency order with at most N operations
//! in flight, records every finished operation in the state at once, and
//! lets a failure stop only what depends on it.
//!
//! `schedule` decides what may start, `task` runs one operation against AWS,
//! `record` writes what it did into the state; `Executor::run` ties them
//! together and is the one place the state is saved.

pub mod hints;
mod record;
mod schedule;
pub mod shutdown;
mod task;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;

use crate::aws::{Clients, stats};
use crate::config::Config;
use crate::kinds;
use crate::plan::Plan;
use crate::state::fingerprint::Fingerprinter;
use crate::state::{State, StateError, Store};
use crate::ui::{Event, Ui};
use record::{record_pending, record_refresh};
use schedule::{Scheduler, Step, operation_key};
use task::{ApplyEnv, Finished, Inputs, Op, Task};

/// One failed operation.
#[derive(Debug, Clone)]
pub struct Failure {
    pub address: String,
    pub operation: &'static str,
    pub message: String,
    /// An ECS deployment that failed, rolled back or timed out.
    pub deployment: bool,
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

/// How often operations still running are reported.
const STILL_RUNNING: Duration = Duration::from_secs(10);

pub struct Executor<'a> {
    pub clients: Arc<Clients>,
    pub config: &'a Config,
    pub store: &'a dyn Store,
    pub fingerprints: &'a Fingerprinter,
    pub ui: Ui,
    pub parallelism: usize,
    /// `apply --no-wait`: operations do not wait for deployments.
    pub no_wait: bool,
}

/// Where creates report the ids AWS answered: (address, id).
type CreatedIds = (
    UnboundedSender<(String, String)>,
    UnboundedReceiver<(String, String)>,
);

impl Executor<'_> {
    /// Runs the plan. The state is saved after the refresh, before creates
    /// start (pending), when a create answers its id, and after operations
    /// finish, before anything that depends on them starts; the report
    /// lists what failed.
    pub async fn run(&self, plan: &Plan, state: &mut State) -> Result<Report, ApplyError> {
        let mut sched = Scheduler::new(plan, self.parallelism).map_err(ApplyError::Plan)?;
        record_refresh(plan, state);
        self.save(state).await?;
        let mut report = Report::default();
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + STILL_RUNNING, STILL_RUNNING);
        let _graceful = crate::apply::shutdown::graceful();
        let stop = crate::apply::shutdown::wait();
        tokio::pin!(stop);
        let (created_tx, mut created_rx): CreatedIds = tokio::sync::mpsc::unbounded_channel();
        loop {
            if !report.interrupted {
                self.start_ready(
                    plan,
                    &mut sched,
                    state,
                    &mut report,
                    &mut tasks,
                    &created_tx,
                )
                .await?;
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                Some(first) = tasks.join_next() => {
                    // What else has finished meanwhile is recorded with it,
                    // in one state write, before any dependent starts.
                    let mut batch = vec![first];
                    while let Some(more) = tasks.try_join_next() {
                        batch.push(more);
                    }
                    let batch = batch.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| {
                        ApplyError::Plan(format!("an operation panicked: {e}"))
                    })?;
                    self.finished(batch, &mut sched, state, &mut report).await?;
                }
                Some(first) = created_rx.recv() => {
                    self.record_created(first, &mut created_rx, state).await?;
                }
                _ = ticker.tick() => self.still_running(&sched),
                () = &mut stop, if !report.interrupted => {
                    report.interrupted = true;
                    self.ui.event(Event::Interrupted);
                }
            }
        }
        stats::record_critical_path(sched.critical_path());
        stats::record_limits(sched.limits());
        self.finish_run(plan, state, &report).await?;
        Ok(report)
    }

    /// Starts every operation that may start now. They are recorded first,
    /// then the state is written once for all of them: at scale, one write
    /// per operation would bound the apply.
    async fn start_ready(
        &self,
        plan: &Plan,
        sched: &mut Scheduler<'_>,
        state: &mut State,
        report: &mut Report,
        tasks: &mut JoinSet<Finished>,
        created_tx: &UnboundedSender<(String, String)>,
    ) -> Result<(), ApplyError> {
        let mut starting = Vec::new();
        while let Some(n) = sched.next() {
            let (change, step) = sched.op(n);
            let inputs =
                Inputs { config: self.config, fingerprints: self.fingerprints, plan, state };
            match Task::prepare(&inputs, change, step) {
                Ok(mut task) => {
                    if matches!(task.op, Op::Create { .. }) {
                        // The id AWS answers is recorded at once, whatever
                        // happens next.
                        task.created =
                            kinds::CreatedId::new(change.address.clone(), created_tx.clone());
                        record_pending(change, state);
                    }
                    starting.push((n, task));
                }
                Err(message) => {
                    self.fail(report, change, step, message);
                    let skipped = sched.finished(n, false);
                    self.skipped(&change.address, skipped, report);
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
            let (change, step) = sched.op(n);
            self.ui.event(Event::Started {
                address: &change.address,
                action: change.action,
                deleting: step == Step::Delete,
            });
            let clients = self.clients.clone();
            let stack = self.config.stack.clone();
            let op = operation_key(&change.address, step);
            let (ui, address) = (self.ui.clone(), change.address.clone());
            let run = kinds::RunOptions {
                progress: Some(Arc::new(move |message: &str| {
                    ui.event(Event::Progress { address: &address, message });
                })),
                no_wait: self.no_wait,
                replaced: step == Step::Delete
                    && (change.deposed || change.action == crate::plan::Action::Replace),
            };
            tasks.spawn(stats::attribute(op, async move {
                let op = kinds::with_timeouts(task.timeouts, task.run(clients, stack, n));
                kinds::with_run(run, op).await
            }));
        }
        Ok(())
    }

    /// Records finished operations, saves the state once, then lets their
    /// dependents go on (or skips them).
    async fn finished(
        &self,
        batch: Vec<Finished>,
        sched: &mut Scheduler<'_>,
        state: &mut State,
        report: &mut Report,
    ) -> Result<(), ApplyError> {
        let mut ended = Vec::new();
        for f in batch {
            let node = f.node;
            let (change, step) = sched.op(node);
            ended.push((node, self.record(change, step, f, state, report)));
        }
        self.save(state).await?;
        for (node, ok) in ended {
            let skipped = sched.finished(node, ok);
            self.skipped(&sched.op(node).0.address, skipped, report);
        }
        Ok(())
    }

    fn skipped(&self, because: &str, skipped: Vec<&str>, report: &mut Report) {
        for address in skipped {
            if !report.skipped.iter().any(|s| s == address) {
                self.ui.event(Event::Skipped { address, because });
                report.skipped.push(address.to_owned());
            }
        }
    }

    /// Ids that creates received, recorded in `pending` and saved at once:
    /// a wait that fails or a process killed after it loses none.
    async fn record_created(
        &self,
        first: (String, String),
        rx: &mut UnboundedReceiver<(String, String)>,
        state: &mut State,
    ) -> Result<(), ApplyError> {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
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
        Ok(())
    }

    fn still_running(&self, sched: &Scheduler<'_>) {
        for (n, elapsed) in sched.running_for(STILL_RUNNING) {
            let (change, step) = sched.op(n);
            self.ui.event(Event::Still {
                address: &change.address,
                action: change.action,
                deleting: step == Step::Delete,
                elapsed,
            });
        }
    }

    /// Outputs after a complete apply; none after a complete destroy.
    async fn finish_run(
        &self,
        plan: &Plan,
        state: &mut State,
        report: &Report,
    ) -> Result<(), ApplyError> {
        let complete = report.failures.is_empty() && !report.interrupted && plan.targets.is_empty();
        if complete && !plan.destroy {
            self.record_outputs(plan, state).await?;
        }
        if complete && plan.destroy {
            state.outputs.clear();
            self.save(state).await?;
        }
        Ok(())
    }

    /// Writes the state, sensitive values fingerprinted.
    async fn save(&self, state: &mut State) -> Result<(), StateError> {
        crate::state::mask(state, self.config, self.fingerprints);
        self.store.save(state).await
    }

    async fn record_outputs(&self, plan: &Plan, state: &mut State) -> Result<(), ApplyError> {
        let mut outputs = std::collections::BTreeMap::new();
        for (name, template) in &plan.outputs {
            let env = ApplyEnv { config: self.config, state, lookups: &plan.lookups };
            let v = crate::config::template::eval(template, &env)
                .map_err(|m| ApplyError::Plan(format!("output `{name}`: {m}")))?;
            outputs.insert(name.clone(), v);
        }
        state.outputs = outputs;
        self.save(state).await?;
        Ok(())
    }
}
