//! One operation against AWS, run on its own task: what it needs, resolved
//! when its dependencies are done, and what it hands back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::graph::NodeIndex;

use super::schedule::Step;
use crate::aws::wait::{Poll, Waiter};
use crate::aws::{ApiError, Clients, ErrorClass};
use crate::config::template::{Ref, Resolve};
use crate::config::{Config, DeletionPolicy};
use crate::kinds::{self, Ctx, Kind};
use crate::plan::diff::desired_attrs;
use crate::plan::{Action, Change, Plan};
use crate::state::fingerprint::Fingerprinter;
use crate::state::{ResourceState, State, Status};
use crate::value::{Attrs, Value};

/// Tries of a create whose failures left nothing behind in AWS (each
/// failure retried by the SDK first, within `--max-attempts`).
const CREATE_TRIES: u32 = 3;

/// How long after an unknown outcome the resource is looked up: listings
/// (EC2's in particular) show a new resource a moment after it is made.
const SETTLE: Duration = Duration::from_secs(2);

/// Resolves references at apply time from the state, which holds every
/// finished dependency.
pub(super) struct ApplyEnv<'a> {
    pub(super) config: &'a Config,
    pub(super) state: &'a State,
    pub(super) lookups: &'a BTreeMap<String, Attrs>,
}

impl Resolve for ApplyEnv<'_> {
    fn resolve(&self, r: &Ref) -> Result<Value, String> {
        match r {
            Ref::Var(n) => self.config.var_value(n),
            Ref::Stack(f) => Ok(self.config.stack_value(*f)),
            Ref::Lookup { name, attr } => Ok(self
                .lookups
                .get(&crate::plan::lookups::address(name))
                .and_then(|a| a.get(attr))
                .cloned()
                .unwrap_or_default()),
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

/// What an operation ended with. Each variant holds only what can go
/// together.
pub(super) enum Outcome {
    /// Created, updated or replaced: its id and live attributes, and the
    /// fingerprints of the write-only values sent.
    Applied {
        id: String,
        attrs: Attrs,
        fingerprints: BTreeMap<String, String>,
    },
    Deleted,
    Failed {
        error: ApiError,
        /// A common cause of the failure, when one is known.
        hint: Option<String>,
        left: Left,
    },
}

/// What a failed operation left in AWS.
pub(super) enum Left {
    /// Nothing (or nothing known to exist).
    Nothing,
    /// This resource, to be recorded with this status: neither lost nor
    /// duplicated.
    Kept(String, Attrs, Status),
    /// Unknown: a create stays pending for the next run to look up, with
    /// the id it answered if it got that far.
    Unknown(Option<String>),
}

/// A finished task, as the scheduler gets it back.
pub(super) struct Finished {
    pub(super) node: NodeIndex,
    pub(super) elapsed: Duration,
    pub(super) outcome: Outcome,
}

/// What a successful operation leaves: the id and live attributes, or
/// nothing (deleted).
type Created = Option<(String, Attrs)>;

pub(super) enum Op {
    Create { desired: Attrs },
    Update { id: String, desired: Attrs },
    Delete { id: String, policy: DeletionPolicy },
}

/// One operation against AWS, run on its own task.
pub(super) struct Task {
    kind: &'static dyn Kind,
    address: String,
    pub(super) op: Op,
    live: Attrs,
    /// Of the write-only values sent, recorded once the operation succeeds.
    fingerprints: BTreeMap<String, String>,
    pub(super) timeouts: kinds::Timeouts,
    /// The resource's region when not the stack's.
    region: Option<String>,
    /// Where a create reports the id AWS answered.
    pub(super) created: kinds::CreatedId,
}

/// What `Task::prepare` reads besides the change.
pub(super) struct Inputs<'a> {
    pub(super) config: &'a Config,
    pub(super) fingerprints: &'a Fingerprinter,
    pub(super) plan: &'a Plan,
    pub(super) state: &'a State,
}

/// The fingerprints of the write-only values `desired` sends. One unchanged
/// since the last apply is given to the kind as live too, so that an update
/// does not send it again.
fn write_only_sent(
    kind: &dyn Kind,
    desired: &Attrs,
    recorded: Option<&ResourceState>,
    fingerprinter: &Fingerprinter,
    live: &mut Attrs,
) -> BTreeMap<String, String> {
    let mut fingerprints = BTreeMap::new();
    for f in kind.schema().inputs().filter(|f| f.write_only) {
        let Some(v) = desired.get(f.name) else {
            continue;
        };
        let fp = fingerprinter.record(f, &f.ty.normalize(v));
        if recorded.and_then(|r| r.fingerprints.get(f.name)) == Some(&fp) {
            live.insert(f.name.to_owned(), v.clone());
        }
        fingerprints.insert(f.name.to_owned(), fp);
    }
    fingerprints
}

impl Task {
    /// Everything a task needs, resolved now that its dependencies are done.
    pub(super) fn prepare(
        inputs: &Inputs<'_>,
        change: &Change,
        step: Step,
    ) -> Result<Task, String> {
        let Inputs { config, fingerprints: fingerprinter, plan, state } = *inputs;
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
        // A delete goes where the object is: a replacement that moves the
        // resource to another region deletes the old one in its own.
        let region = match (step, recorded) {
            (Step::Delete, Some(r)) if !change.deposed => r.region.clone(),
            _ => change.region.clone(),
        };
        let op = match (step, change.action) {
            (Step::Delete, _) => Op::Delete {
                id: change.id.clone().unwrap_or_default(),
                policy: change.deletion_policy,
            },
            (Step::Apply, action) => {
                let env = ApplyEnv { config, state, lookups: &plan.lookups };
                let raw = change.config.clone().unwrap_or_default();
                let desired =
                    desired_attrs(&change.address, kind, &raw, &env).map_err(|e| e.join("; "))?;
                if let Some((name, _)) = desired.iter().find(|(_, v)| v.has_unknown()) {
                    return Err(format!("`{name}` is still unknown at apply time"));
                }
                fingerprints = write_only_sent(kind, &desired, recorded, fingerprinter, &mut live);
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
            timeouts: config
                .resources
                .get(&change.address)
                .map_or(kind.schema().timeouts, |r| {
                    r.lifecycle.timeouts.over(kind.schema().timeouts)
                }),
            region,
            created: kinds::CreatedId::default(),
        })
    }

    pub(super) async fn run(
        self,
        clients: Arc<Clients>,
        stack: String,
        node: NodeIndex,
    ) -> Finished {
        let started = Instant::now();
        let regional = self.region.as_deref().map(|r| clients.in_region(r));
        let cx = Ctx { aws: regional.as_ref().unwrap_or(&clients), stack: &stack };
        let (result, left) = match &self.op {
            Op::Delete { id, policy } => (
                self.delete(cx, id, *policy).await.map(|()| None),
                Left::Nothing,
            ),
            Op::Update { id, desired } => {
                // The fields that change, checked here where `desired` is
                // fully resolved (a value unknown at plan time is known now).
                let changed = kinds::Changes::between(self.kind, &self.live, desired);
                let op = kinds::Update {
                    cx,
                    address: &self.address,
                    id,
                    live: &self.live,
                    desired,
                    changed: &changed,
                };
                match kinds::update(self.kind, op).await {
                    Ok(()) => (
                        self.read_back(cx, id).await.map(|a| Some((id.clone(), a))),
                        Left::Nothing,
                    ),
                    // A deployment that failed or rolled back changed the
                    // resource anyway: the state records it as it is live.
                    Err(e) if e.code.as_deref() == Some(crate::aws::error::DEPLOYMENT_FAILED) => {
                        let left = match self.read_back(cx, id).await {
                            Ok(a) => Left::Kept(id.clone(), a, Status::Created),
                            Err(_) => Left::Nothing,
                        };
                        (Err(e), left)
                    }
                    Err(e) => (Err(e), Left::Nothing),
                }
            }
            Op::Create { desired } => self.create(cx, desired).await,
        };
        let elapsed = started.elapsed();
        let outcome = match result {
            Ok(Some((id, attrs))) => {
                Outcome::Applied { id, attrs, fingerprints: self.fingerprints.clone() }
            }
            Ok(None) => Outcome::Deleted,
            Err(error) => {
                let left = match left {
                    Left::Nothing if error.outcome_unknown() => Left::Unknown(self.created.get()),
                    Left::Unknown(_) => Left::Unknown(self.created.get()),
                    left => left,
                };
                let hint = self.hint(&clients, &stack, &error, &left).await;
                Outcome::Failed { error, hint, left }
            }
        };
        Finished { node, elapsed, outcome }
    }

    async fn delete(&self, cx: Ctx<'_>, id: &str, policy: DeletionPolicy) -> Result<(), ApiError> {
        let op = kinds::Delete { cx, id, live: &self.live };
        let deleted = match policy {
            // Retained: forgotten by the state, left running in AWS.
            DeletionPolicy::Retain => Ok(()),
            DeletionPolicy::Snapshot => self.kind.delete_with_snapshot(op).await,
            DeletionPolicy::Delete => self.kind.delete(op).await,
        };
        match deleted {
            Err(e) => self.gone_anyway(cx, id, e).await,
            ok => ok,
        }
    }

    /// A common cause of a failure, for the report.
    async fn hint(
        &self,
        clients: &Clients,
        stack: &str,
        error: &ApiError,
        left: &Left,
    ) -> Option<String> {
        let create = matches!(self.op, Op::Create { .. });
        if create && error.class == ErrorClass::AlreadyExists && matches!(left, Left::Nothing) {
            return Some(format!(
                "it is not {} of stack `{stack}` (nothing there carries this address's reconcile tags or, for a kind without tags, its parent). To manage it here: `reconcile import {} <id>`; otherwise rename or remove what stands in the way",
                self.address, self.address
            ));
        }
        let (id, attrs) = match &self.op {
            Op::Create { desired } => (None, desired),
            Op::Update { id, desired } => (Some(id.as_str()), desired),
            Op::Delete { id, .. } => (Some(id.as_str()), &self.live),
        };
        let failed =
            crate::apply::hints::Failed { kind: self.kind.schema().kind, id, attrs, error };
        crate::apply::hints::explain(clients, &failed).await
    }

    /// Creates the resource. A failure never loses what AWS made: when the
    /// create answered an id, the resource is continued from it; otherwise
    /// it is looked up where the create would have made it (an answer
    /// lost, or a conflict with what an earlier attempt made) and adopted,
    /// or the create is tried again when nothing was made.
    async fn create(&self, cx: Ctx<'_>, desired: &Attrs) -> (Result<Created, ApiError>, Left) {
        let op = kinds::Create { cx, address: &self.address, desired };
        let mut tries = 1;
        loop {
            let e = match self.created.scope(self.kind.create(op)).await {
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
            match self.kind.find_created(op).await {
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
                    return (Err(e), Left::Unknown(None));
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
            return (Err(e), Left::Unknown(None));
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
        // The emulator answers a repeat of a delete that an attempt whose
        // answer was lost already did with the page of an operation it lacks.
        if !e.outcome_unknown() && e.class != ErrorClass::NotImplemented {
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
        let op = kinds::Update { cx, address: &self.address, id, live, desired, changed: &changed };
        kinds::update(self.kind, op).await?;
        self.read_back(cx, id).await
    }

    /// The attributes of what was just created or changed. EC2 and IAM are
    /// eventually consistent: a new id may be invisible for a few seconds,
    /// so absence is retried for a bounded time.
    async fn read_back(&self, cx: Ctx<'_>, id: &str) -> Result<Attrs, ApiError> {
        let ids = [id.to_owned()];
        let waiter = Waiter {
            timeout: self.timeouts.create.min(Duration::from_mins(1)),
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
