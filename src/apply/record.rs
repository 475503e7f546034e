//! Recording what operations did in the state: the refresh's findings
//! before any change, a create's pending trace before its call, and each
//! finished operation's result.

use std::collections::BTreeMap;

use super::schedule::Step;
use super::task::{Finished, Left, Outcome};
use super::{Executor, Failure, Report};
use crate::config::DeletionPolicy;
use crate::kinds;
use crate::plan::{Action, Change, Plan};
use crate::state::{Pending, ResourceState, State, Status};
use crate::ui::Event;
use crate::value::Attrs;

/// The refresh's findings, recorded before any change: live attributes of
/// what exists, and nothing of what is gone.
pub(super) fn record_refresh(plan: &Plan, state: &mut State) {
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

/// A create about to start, recorded (and saved by the caller) before the
/// call: a process killed during the create leaves a trace to adopt.
pub(super) fn record_pending(change: &Change, state: &mut State) {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    state.pending.insert(
        change.address.clone(),
        Pending { kind: change.kind.clone(), since, id: None },
    );
}

/// The deletion policy to remember in the state: only one that differs from
/// the kind's default.
fn recorded_policy(change: &Change) -> Option<DeletionPolicy> {
    let default =
        kinds::lookup(&change.kind).map(super::super::kinds::Kind::default_deletion_policy);
    (Some(change.deletion_policy) != default).then_some(change.deletion_policy)
}

fn resource(change: &Change, id: String, attributes: Attrs, status: Status) -> ResourceState {
    ResourceState {
        kind: change.kind.clone(),
        id,
        attributes,
        dependencies: change.deps.clone(),
        status,
        deletion_policy: recorded_policy(change),
        fingerprints: BTreeMap::new(),
        region: change.region.clone(),
    }
}

/// A create, update or replacement that succeeded, into the state; the old
/// object of a create-before-destroy replacement is kept aside (deposed)
/// until its delete.
fn record_applied(change: &Change, rs: ResourceState, state: &mut State, report: &mut Report) {
    let address = &change.address;
    state.pending.remove(address);
    if change.create_before_destroy
        && change.action == Action::Replace
        && let Some(old) = state.resources.remove(address)
    {
        state.deposed.insert(address.clone(), old);
    }
    state.resources.insert(address.clone(), rs);
    match change.action {
        Action::Update => report.changed += 1,
        Action::Replace => {
            report.added += 1;
            report.destroyed += 1;
        }
        _ => report.added += 1,
    }
}

impl Executor<'_> {
    /// Records a finished operation in the state (the caller saves it).
    /// Returns whether dependents may go on.
    pub(super) fn record(
        &self,
        change: &Change,
        step: Step,
        f: Finished,
        state: &mut State,
        report: &mut Report,
    ) -> bool {
        let address = &change.address;
        match f.outcome {
            Outcome::Applied { id, attrs, fingerprints } => {
                let mut rs = resource(change, id, attrs, Status::Created);
                rs.fingerprints = fingerprints;
                record_applied(change, rs, state, report);
            }
            Outcome::Deleted => {
                state.pending.remove(address);
                if change.deposed || change.create_before_destroy {
                    state.deposed.remove(address);
                    report.destroyed += usize::from(change.deposed);
                } else {
                    state.resources.remove(address);
                    report.destroyed += usize::from(
                        change.action == Action::Delete
                            && change.deletion_policy != DeletionPolicy::Retain,
                    );
                }
            }
            Outcome::Failed { error, hint, left } => {
                match left {
                    Left::Kept(id, attrs, status) => {
                        state.pending.remove(address);
                        state
                            .resources
                            .insert(address.clone(), resource(change, id, attrs, status));
                    }
                    // A half-made update needs nothing here: the next
                    // refresh reads what AWS really has and plans the rest.
                    Left::Nothing => {
                        state.pending.remove(address);
                    }
                    // Whether it exists is unknown: the create stays
                    // pending, for the next run to look up.
                    Left::Unknown(id) => {
                        if let Some(p) = state.pending.get_mut(address) {
                            p.id = id.or(p.id.take());
                        }
                    }
                }
                let deployment =
                    error.code.as_deref() == Some(crate::aws::error::DEPLOYMENT_FAILED);
                let message = match hint {
                    Some(hint) => format!("{error}\n  Hint: {hint}"),
                    None => error.to_string(),
                };
                self.fail(report, change, step, message);
                if let Some(f) = report.failures.last_mut() {
                    f.deployment = deployment;
                }
                return false;
            }
        }
        let deleting = step == Step::Delete;
        let id = state.resources.get(address).map(|r| r.id.as_str());
        self.ui.event(Event::Done {
            address,
            action: change.action,
            deleting,
            elapsed: f.elapsed,
            id: if deleting { change.id.as_deref() } else { id },
        });
        true
    }

    pub(super) fn fail(&self, report: &mut Report, change: &Change, step: Step, message: String) {
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
            deployment: false,
        });
    }
}
