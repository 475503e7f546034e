//! `--stats`: API calls per service and operation, counted by an SDK
//! interceptor on every client, and the wall time of each phase.
//!
//! Each *attempt* is counted (a retried call counts twice): that is what
//! AWS sees and bills against rate limits. Process-wide, so that the state
//! backend's S3 client counts too.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

#[derive(Default)]
struct Counters {
    /// (service, operation) → attempts.
    calls: BTreeMap<(String, String), u64>,
    /// Executor operation (see `operation_key`) → attempts made by it.
    by_operation: BTreeMap<String, u64>,
    phases: Vec<(&'static str, Duration)>,
    /// Kind → wall time of its batched read during the refresh.
    reads: BTreeMap<String, Duration>,
    critical_path: Option<CriticalPath>,
    limits: Vec<Limit>,
}

static COUNTERS: LazyLock<Mutex<Counters>> = LazyLock::new(Mutex::default);

fn counters() -> std::sync::MutexGuard<'static, Counters> {
    // A panic elsewhere cannot make counts unusable.
    COUNTERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

tokio::task_local! {
    /// The executor operation the current task runs, so that its calls can
    /// be attributed to it (for the critical path).
    static OPERATION: String;
}

/// Runs `f` with its API calls attributed to the operation `key`.
pub async fn attribute<F: std::future::Future>(key: String, f: F) -> F::Output {
    OPERATION.scope(key, f).await
}

/// Attempts made so far by one executor operation.
pub fn calls_of(key: &str) -> u64 {
    counters().by_operation.get(key).copied().unwrap_or(0)
}

/// Adds calls to an operation as if its task had made them.
#[cfg(test)]
pub fn add_calls(key: &str, n: u64) {
    *counters().by_operation.entry(key.to_owned()).or_default() += n;
}

/// Counts every attempt of every call of the client it is registered on.
#[derive(Debug, Clone, Copy)]
pub struct CountCalls;

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "reconcile::CountCalls"
    }

    // Called once per attempt, right before the request goes out.
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg.load::<Metadata>().map_or_else(
            || ("unknown".to_owned(), "unknown".to_owned()),
            |m| (m.service().to_ascii_lowercase(), m.name().to_owned()),
        );
        let op = OPERATION.try_with(Clone::clone).ok();
        let mut c = counters();
        *c.calls.entry((service, operation)).or_default() += 1;
        if let Some(op) = op {
            *c.by_operation.entry(op).or_default() += 1;
        }
        Ok(())
    }
}

/// Times a phase (`refresh`, `plan`, `apply`) of the command.
pub struct Phase {
    name: &'static str,
    start: Instant,
}

impl Phase {
    pub fn start(name: &'static str) -> Phase {
        Phase { name, start: Instant::now() }
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        counters().phases.push((self.name, self.start.elapsed()));
    }
}

/// The heaviest dependency chain of an apply, weighted by API calls: with
/// a fixed latency per call, no schedule can finish faster than
/// `calls × latency`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CriticalPath {
    /// Operations on the chain, first to last.
    pub operations: Vec<String>,
    pub calls: u64,
}

/// The wall time of one kind's read in a refresh.
pub fn record_read(kind: &str, took: Duration) {
    counters().reads.insert(kind.to_owned(), took);
}

pub fn record_critical_path(path: CriticalPath) {
    counters().critical_path = Some(path);
}

/// One adaptive limit of the executor (operations in flight of a service,
/// as one call class's throttling allows) as an apply ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limit {
    pub service: String,
    /// `read` or `mutating`.
    pub class: &'static str,
    pub limit: usize,
    /// The highest it reached.
    pub peak: usize,
}

pub fn record_limits(limits: Vec<Limit>) {
    counters().limits = limits;
}

/// Per service and call class: attempts AWS answered with a throttling
/// error, and the executor's limit if an apply ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Throttling {
    pub service: String,
    pub class: &'static str,
    pub calls: u64,
    pub throttled: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_limit: Option<usize>,
}

fn throttling(limits: &[Limit]) -> Vec<Throttling> {
    let mut rows: BTreeMap<(String, &'static str), Throttling> = BTreeMap::new();
    for ((service, class), c) in super::throttle::counts().0 {
        let row = Throttling {
            service: service.to_owned(),
            class: class.name(),
            calls: c.answered + c.throttled,
            throttled: c.throttled,
            limit: None,
            peak_limit: None,
        };
        rows.insert((row.service.clone(), row.class), row);
    }
    for l in limits {
        let row = rows
            .entry((l.service.clone(), l.class))
            .or_insert_with(|| Throttling {
                service: l.service.clone(),
                class: l.class,
                calls: 0,
                throttled: 0,
                limit: None,
                peak_limit: None,
            });
        row.limit = Some(l.limit);
        row.peak_limit = Some(l.peak);
    }
    rows.into_values().collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub service: String,
    pub operation: String,
    pub count: u64,
}

/// Everything counted so far.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Attempts, retries included.
    pub api_calls: u64,
    pub calls: Vec<Call>,
    /// Phase → wall time in milliseconds (a phase run twice adds up).
    pub phases_ms: BTreeMap<&'static str, u64>,
    /// Kind → wall time of its batched read in the refresh (milliseconds).
    pub reads_ms: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical_path: Option<CriticalPath>,
    /// Per service and call class, every call counted: throttling answers
    /// and the executor's adaptive limit.
    pub throttling: Vec<Throttling>,
}

pub fn snapshot() -> Snapshot {
    let c = counters();
    let calls: Vec<Call> = c
        .calls
        .iter()
        .map(|((service, operation), count)| Call {
            service: service.clone(),
            operation: operation.clone(),
            count: *count,
        })
        .collect();
    let ms = |d: &Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let mut phases_ms = BTreeMap::new();
    for (name, d) in &c.phases {
        *phases_ms.entry(*name).or_default() += ms(d);
    }
    let reads_ms = c.reads.iter().map(|(k, d)| (k.clone(), ms(d))).collect();
    Snapshot {
        api_calls: calls.iter().map(|c| c.count).sum(),
        calls,
        phases_ms,
        reads_ms,
        critical_path: c.critical_path.clone(),
        throttling: throttling(&c.limits),
    }
}

impl Snapshot {
    /// The table `--stats` prints to stderr.
    pub fn table(&self) -> String {
        let width = self
            .calls
            .iter()
            .map(|c| c.service.len() + c.operation.len() + 1)
            .max()
            .unwrap_or(0)
            .max("total".len());
        let mut out = String::from("API calls (every attempt, retries included):\n");
        for c in &self.calls {
            let name = format!("{} {}", c.service, c.operation);
            out.push_str(&format!("  {name:<width$}  {:>6}\n", c.count));
        }
        out.push_str(&format!("  {:<width$}  {:>6}\n", "total", self.api_calls));
        let phases: Vec<String> = self
            .phases_ms
            .iter()
            .map(|(name, ms)| format!("{name} {ms} ms"))
            .collect();
        if !phases.is_empty() {
            out.push_str(&format!("Wall time: {}\n", phases.join(", ")));
        }
        if let Some((kind, ms)) = self.reads_ms.iter().max_by_key(|(_, ms)| **ms) {
            out.push_str(&format!("Slowest read: {kind} {ms} ms\n"));
        }
        if let Some(cp) = &self.critical_path {
            out.push_str(&format!(
                "Critical path: {} operations, {} API calls\n",
                cp.operations.len(),
                cp.calls
            ));
        }
        // Only what paced the run: a service throttled, or an apply's limits.
        let paced: Vec<&Throttling> = self
            .throttling
            .iter()
            .filter(|t| t.throttled > 0 || t.limit.is_some())
            .collect();
        if !paced.is_empty() {
            out.push_str(
                "Throttling and operations in flight (adaptive limit, its peak):
",
            );
            for t in paced {
                let name = format!("{} {}", t.service, t.class);
                let limit = t.limit.map_or_else(String::new, |l| {
                    format!(", limit {l} (peak {})", t.peak_limit.unwrap_or(l))
                });
                out.push_str(&format!(
                    "  {name:<width$}  {:>6} throttled of {} calls{limit}\n",
                    t.throttled, t.calls
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_each_operation_and_the_total() {
        let s = Snapshot {
            api_calls: 3,
            calls: vec![
                Call { service: "ec2".into(), operation: "DescribeVpcs".into(), count: 2 },
                Call {
                    service: "iam".into(),
                    operation: "GetAccountAuthorizationDetails".into(),
                    count: 1,
                },
            ],
            phases_ms: BTreeMap::from([("plan", 3), ("refresh", 120)]),
            reads_ms: BTreeMap::from([("vpc".into(), 80), ("iam_role".into(), 110)]),
            critical_path: None,
            throttling: vec![
                Throttling {
                    service: "ec2".into(),
                    class: "mutating",
                    calls: 120,
                    throttled: 7,
                    limit: Some(6),
                    peak_limit: Some(24),
                },
                Throttling {
                    service: "iam".into(),
                    class: "read",
                    calls: 1,
                    throttled: 0,
                    limit: None,
                    peak_limit: None,
                },
            ],
        };
        let t = s.table();
        assert!(
            t.contains("  ec2 mutating                             7 throttled of 120 calls, limit 6 (peak 24)\n"),
            "{t}"
        );
        assert!(!t.contains("iam read"), "{t}");
        assert!(
            t.contains("  ec2 DescribeVpcs                         2\n"),
            "{t}"
        );
        assert!(
            t.contains("  total                                    3\n"),
            "{t}"
        );
        assert!(t.contains("Wall time: plan 3 ms, refresh 120 ms"), "{t}");
        assert!(t.contains("Slowest read: iam_role 110 ms"), "{t}");
    }
}
