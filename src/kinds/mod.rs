//! The registry of resource kinds and the shape each one has.
//!
//! A kind is a schema (data) plus five operations against AWS. Everything
//! else — validation, diffing, rendering, ordering, state — is generic.

pub mod acm;
pub mod appautoscaling;
pub mod autoscaling;
pub mod cloudfront;
pub mod cloudwatch;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod efs;
pub mod elb;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod names;
pub mod rds;
pub mod route53;
pub mod s3;
pub mod scheduler;
pub mod secretsmanager;
pub mod servicediscovery;
pub mod sns;
pub mod ssm;
pub mod support;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use crate::aws::{ApiError, Clients};
use crate::lifecycle::DeletionPolicy;
pub use crate::schema::Timeouts;
use crate::schema::{Rule, Schema};
use crate::value::{Attrs, Value};

pub use support::{
    Changes, READ_CONCURRENCY, Tagging, bool_attr, read_each, str_attr, tag_changes, update,
    user_tags,
};

/// What every operation of a kind gets: the clients and the stack it works for.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub aws: &'a Clients,
    pub stack: &'a str,
}

tokio::task_local! {
    /// The time limits of the operation this task runs, when its resource
    /// sets `timeouts` (a task-local rather than a field of `Ctx`, which
    /// every kind's tests build literally).
    static TIMEOUTS: Timeouts;
}

tokio::task_local! {
    /// Where the create this task runs reports the id AWS answered.
    static CREATED: CreatedId;
}

tokio::task_local! {
    /// How the operation this task runs reports progress, and whether it
    /// may wait for deployments (`apply --no-wait`).
    static RUN: RunOptions;
}

/// Where an operation reports its progress (see `RunOptions`).
pub type ProgressFn = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// What the executor tells every operation of a run.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Called with a line that says where a long operation stands (an ECS
    /// deployment), each time it changes.
    pub progress: Option<ProgressFn>,
    /// `apply --no-wait`: do not wait for deployments to finish.
    pub no_wait: bool,
    /// This delete is of an object a replacement made obsolete (a
    /// task-definition revision after its successor), not of the resource.
    pub replaced: bool,
}

/// Runs one operation with the run's options.
pub async fn with_run<F: std::future::Future>(r: RunOptions, op: F) -> F::Output {
    RUN.scope(r, op).await
}

/// Reports where the operation of this task stands (nothing outside a run).
pub fn progress(line: &str) {
    let _ = RUN.try_with(|r| {
        if let Some(p) = &r.progress {
            p(line);
        }
    });
}

/// Whether the delete this task runs is of a replaced object (see
/// `RunOptions::replaced`).
pub fn deleting_replaced() -> bool {
    RUN.try_with(|r| r.replaced).unwrap_or(false)
}

/// Whether this run was asked not to wait for deployments.
pub fn no_wait() -> bool {
    RUN.try_with(|r| r.no_wait).unwrap_or(false)
}

/// The id a create answered, reported by the kind (`created`) before it
/// waits, tags or configures: from that moment the resource exists, and the
/// executor records it at once, whatever happens next.
#[derive(Clone, Default)]
pub struct CreatedId {
    id: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// The address, and who to tell at once (so that the state is written
    /// before the wait).
    notify: Option<(String, tokio::sync::mpsc::UnboundedSender<(String, String)>)>,
}

impl CreatedId {
    pub fn new(
        address: String,
        notify: tokio::sync::mpsc::UnboundedSender<(String, String)>,
    ) -> CreatedId {
        CreatedId { id: Default::default(), notify: Some((address, notify)) }
    }

    /// Runs a create that reports its id here.
    pub async fn scope<F: std::future::Future>(&self, create: F) -> F::Output {
        CREATED.scope(self.clone(), create).await
    }

    /// Records the id (once; a kind and the executor may both report it).
    pub fn record(&self, id: &str) {
        let Ok(mut slot) = self.id.lock() else { return };
        if slot.as_deref() == Some(id) {
            return;
        }
        *slot = Some(id.to_owned());
        if let Some((address, n)) = &self.notify {
            let _ = n.send((address.clone(), id.to_owned()));
        }
    }

    /// The id reported, if the create got that far.
    pub fn get(&self) -> Option<String> {
        self.id.lock().ok().and_then(|id| id.clone())
    }
}

/// Reports the id a create just received. Every kind calls it as soon as
/// the create call answers, before anything else can fail.
pub fn created(id: &str) {
    let _ = CREATED.try_with(|c| c.record(id));
}

/// Runs one operation with the resource's own time limits.
pub async fn with_timeouts<F: std::future::Future>(t: Timeouts, op: F) -> F::Output {
    TIMEOUTS.scope(t, op).await
}

/// Tags every resource reconcile creates carries, so it can be found again.
pub const STACK_TAG: &str = "reconcile:stack";
pub const ADDRESS_TAG: &str = "reconcile:address";

/// Lists (space-separated) the fields of a resource that cost one read
/// each — AWS has no batched form for them — and that the desired state
/// sets. A kind reads only those: an unset field is not compared anyway,
/// and one newly set reads as absent, differs, and is applied (which
/// rewrites the tag). The tag comes with the batched describe, for free.
pub const MANAGES_TAG: &str = "reconcile:manages";

/// Which of `fields` `attrs` sets, in the order of `fields`.
pub fn managed(fields: &[&'static str], attrs: &Attrs) -> Vec<&'static str> {
    fields
        .iter()
        .copied()
        .filter(|f| attrs.get(*f).is_some_and(|v| !v.is_null()))
        .collect()
}

/// The `reconcile:manages` tag value for `desired`.
pub fn manages_value(fields: &[&'static str], desired: &Attrs) -> String {
    managed(fields, desired).join(" ")
}

/// The fields a resource's tags say the desired state manages.
pub fn manages_of<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeSet<String> {
    tags.into_iter()
        .find(|(k, _)| *k == MANAGES_TAG)
        .map(|(_, v)| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

impl Ctx<'_> {
    /// The time limits of this operation's waiters.
    pub fn timeouts(&self, kind: &dyn Kind) -> Timeouts {
        TIMEOUTS.try_with(|t| *t).unwrap_or(kind.schema().timeouts)
    }

    /// The user's tags plus the `reconcile:*` tags, as key/value pairs.
    pub fn tags_for(&self, address: &str, desired: &Attrs) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = desired
            .get("tags")
            .map(Value::str_map)
            .unwrap_or_default()
            .into_iter()
            .collect();
        tags.push((STACK_TAG.to_owned(), self.stack.to_owned()));
        tags.push((ADDRESS_TAG.to_owned(), address.to_owned()));
        tags
    }
}

/// The part of an address that names the resource in AWS: module names,
/// the resource's name and instance keys, without kinds, joined by `-`,
/// with only letters, digits, `-` and `_`: `module.web.subnet.pub["a"]` →
/// `web-pub-a`.
pub fn resource_name(address: &str) -> String {
    // Split on dots outside `[...]` (keys may hold dots).
    let mut segs = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in address.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                segs.push(&address[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    segs.push(&address[start..]);
    // `module <name>` or `<kind> <name>` pairs: keep only the names.
    let words: Vec<&str> = segs.chunks(2).map(|pair| pair[pair.len() - 1]).collect();
    let mut out = String::new();
    for c in words.join("-").chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.trim_end_matches('-').to_owned()
}

/// The name AWS gets when the user gives none: `<stack>-<resource name>`.
pub fn default_name(stack: &str, address: &str) -> String {
    format!("{stack}-{}", resource_name(address))
}

/// What AWS answers a kind's calls with.
pub type ApiResult<T> = Result<T, ApiError>;

/// Live attributes by id.
pub type LiveMap = BTreeMap<String, Attrs>;

/// A create: of the resource at `address`, as `desired` says. Also what
/// `find_created` looks for.
#[derive(Clone, Copy)]
pub struct Create<'a> {
    pub cx: Ctx<'a>,
    pub address: &'a str,
    /// Fully resolved and defaulted.
    pub desired: &'a Attrs,
}

/// An in-place update of resource `id` from `live` to `desired`.
#[derive(Clone, Copy)]
pub struct Update<'a> {
    pub cx: Ctx<'a>,
    pub address: &'a str,
    pub id: &'a str,
    pub live: &'a Attrs,
    pub desired: &'a Attrs,
    /// The fields to change: the one change check (`Changes::between`) of
    /// `live` against `desired`, made by the executor once `desired` is
    /// fully resolved. A kind never re-derives it.
    pub changed: &'a Changes,
}

/// A delete of resource `id`, last seen as `live`.
#[derive(Clone, Copy)]
pub struct Delete<'a> {
    pub cx: Ctx<'a>,
    pub id: &'a str,
    pub live: &'a Attrs,
}

/// A resource kind: its schema (data: fields, service, time limits) and
/// its operations against AWS. Each operation takes one request value, so
/// that every kind's signatures are the trait's and new inputs reach every
/// kind without touching each.
#[async_trait]
pub trait Kind: Send + Sync {
    fn schema(&self) -> &'static Schema;

    /// When a replacement must create the new resource before deleting the
    /// old one (so that dependents can be repointed first): task definition
    /// revisions, target groups behind a listener. `lifecycle.
    /// create_before_destroy` asks the same of any resource. The kind must
    /// then let two exist at once (e.g. generate unique names).
    fn create_before_destroy(&self) -> bool {
        false
    }

    /// Computed attributes an in-place update changes (a launch template's
    /// `latest_version`): planned as unknown, so that what references them
    /// is planned for an update too and sees the new value at apply time.
    fn changed_by_update(&self) -> &'static [&'static str] {
        &[]
    }

    /// The DescribeNetworkInterfaces filter that finds the network
    /// interfaces holding this resource (`"subnet-id"`), so that a delete
    /// refused as in use can name what uses it.
    fn network_interface_filter(&self) -> Option<&'static str> {
        None
    }

    /// The tag API that changes this kind's user tags in place, and the
    /// handle it takes. The engine calls it when `tags` changed, and
    /// `update` then never sees `tags`. None: `update` changes tags itself
    /// (S3, KMS, EFS, Auto Scaling: tags that go with other settings).
    fn tagging(&self) -> Option<Tagging> {
        None
    }

    /// Rules between the resource's own fields that `validate` enforces
    /// (see `schema::Rule`).
    fn rules(&self) -> &'static [Rule] {
        &[]
    }

    /// Brings attributes into the canonical form both sides of a diff are
    /// compared in (called on desired and live attributes alike), where the
    /// schema's generic normalization is not enough: e.g. one security-group
    /// rule per source, because AWS groups rules by port.
    fn canonicalize(&self, _attrs: &mut Attrs) {}

    /// Live attributes of many resources in as few calls as the API allows.
    /// A resource that no longer exists is absent from the answer; no ids,
    /// no calls.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap>;

    /// Creates the resource with its tags, waits until it is usable and
    /// returns its id. As soon as AWS answers the create with an id, before
    /// waiting or anything else that can fail, the kind reports it with
    /// `kinds::created`.
    async fn create(&self, op: Create<'_>) -> ApiResult<String>;

    /// Changes in place only the fields in `op.changed`.
    async fn update(&self, op: Update<'_>) -> ApiResult<()>;

    /// Deletes and waits until gone. Not found counts as success.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()>;

    /// What a delete does when `lifecycle.deletion_policy` is not set:
    /// databases keep a final snapshot.
    fn default_deletion_policy(&self) -> DeletionPolicy {
        DeletionPolicy::Delete
    }

    /// Whether `deletion_policy = "snapshot"` is possible for this kind.
    fn can_snapshot(&self) -> bool {
        false
    }

    /// Deletes keeping a final snapshot (`deletion_policy = "snapshot"`);
    /// only called when `can_snapshot` is true.
    async fn delete_with_snapshot(&self, op: Delete<'_>) -> ApiResult<()> {
        self.delete(op).await
    }

    /// Finds the resource by its `reconcile:*` tags, so that a create whose
    /// answer was lost is adopted instead of duplicated. A kind that carries
    /// no tags finds nothing here (see `find_created`).
    async fn find_by_address(&self, _cx: Ctx<'_>, _address: &str) -> ApiResult<Option<String>> {
        Ok(None)
    }

    /// Finds what a failed create may have made. By its tags, unless the
    /// kind carries none and its inputs say where it would be.
    async fn find_created(&self, op: Create<'_>) -> ApiResult<Option<String>> {
        self.find_by_address(op.cx, op.address).await
    }
}

/// Every kind reconcile knows, in one list.
pub static KINDS: &[&dyn Kind] = &[
    &ec2::vpc::Vpc,
    &ec2::subnet::Subnet,
    &ec2::internet_gateway::InternetGateway,
    &ec2::eip::Eip,
    &ec2::nat_gateway::NatGateway,
    &ec2::route_table::RouteTable,
    &ec2::vpc_endpoint::VpcEndpointKind,
    &ec2::security_group::SecurityGroup,
    &ec2::security_group_rule::INGRESS,
    &ec2::security_group_rule::EGRESS,
    &ec2::launch_template::LaunchTemplateKind,
    &autoscaling::group::AutoScalingGroupKind,
    &autoscaling::policy::AutoScalingPolicy,
    &ecs::capacity_provider::EcsCapacityProvider,
    &ecs::cluster::EcsCluster,
    &ecs::task_definition::EcsTaskDefinition,
    &ecs::service::EcsService,
    &servicediscovery::namespace::ServiceDiscoveryNamespace,
    &servicediscovery::service::ServiceDiscoveryService,
    &elb::load_balancer::LoadBalancer,
    &elb::target_group::TargetGroup,
    &elb::listener::Listener,
    &elb::listener_rule::ListenerRule,
    &iam::role::IamRole,
    &iam::instance_profile::IamInstanceProfile,
    &ecr::repository::EcrRepository,
    &efs::file_system::EfsFileSystem,
    &efs::mount_target::EfsMountTarget,
    &logs::log_group::LogGroup,
    &logs::metric_filter::LogsMetricFilter,
    &cloudfront::distribution::CloudFrontDistribution,
    &rds::db_subnet_group::RdsSubnetGroup,
    &rds::db_instance::DbInstanceKind,
    &s3::bucket::S3Bucket,
    &kms::key::KmsKey,
    &kms::alias::KmsAlias,
    &appautoscaling::target::AppAutoScalingTarget,
    &appautoscaling::policy::AppAutoScalingPolicy,
    &sns::topic::SnsTopic,
    &sns::subscription::SnsTopicSubscription,
    &cloudwatch::metric_alarm::CloudWatchMetricAlarm,
    &scheduler::schedule::SchedulerSchedule,
    &secretsmanager::secret::SecretsManagerSecret,
    &ssm::parameter::SsmParameter,
    &route53::zone::Route53Zone,
    &route53::record::Route53Record,
    &acm::certificate::AcmCertificate,
];

pub fn lookup(kind: &str) -> Option<&'static dyn Kind> {
    KINDS.iter().copied().find(|k| k.schema().kind == kind)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|k| k.schema().kind)
}

/// `default_name` as RDS identifiers and S3 buckets want it: lowercase
/// letters, digits and hyphens, starting with a letter, at most `max`
/// characters.
pub fn lowercase_name(cx: Ctx<'_>, address: &str, max: usize) -> String {
    let raw = default_name(cx.stack, address).to_ascii_lowercase();
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert(0, 'r');
    }
    // No double hyphens and no trailing one.
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let mut name: String = name.chars().take(max).collect();
    while name.ends_with('-') {
        name.pop();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn an_operation_waits_with_its_resources_timeouts_else_the_kinds() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let clients = Clients::from_config(&config);
        let cx = Ctx { aws: &clients, stack: "t" };
        let nat = lookup("nat_gateway").unwrap();
        assert_eq!(cx.timeouts(nat).delete, Duration::from_mins(30));
        let own = Timeouts::minutes(45, 10, 90);
        let inside = with_timeouts(own, async { cx.timeouts(nat) }).await;
        assert_eq!(inside.create, Duration::from_mins(45));
        assert_eq!(inside.delete, Duration::from_mins(90));
        // Only inside that operation.
        assert_eq!(cx.timeouts(nat).create, Duration::from_mins(10));
    }

    #[test]
    fn resource_names_drop_kinds_and_keep_modules_and_keys() {
        assert_eq!(resource_name("vpc.main"), "main");
        assert_eq!(
            resource_name("subnet.pub[\"us-east-1a\"]"),
            "pub-us-east-1a"
        );
        assert_eq!(resource_name("module.web.security_group.db[1]"), "web-db-1");
        assert_eq!(
            resource_name("module.svc[\"a.b\"].module.x.iam_role.task_exec"),
            "svc-a-b-x-task_exec"
        );
        assert_eq!(default_name("s", "log_group.app"), "s-app");
    }
}
