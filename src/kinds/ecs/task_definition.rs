//! `ecs_task_definition`: one immutable revision of a task definition.
//!
//! A revision cannot change: every input but the tags forces a new one, and
//! the new revision is registered before the old one is deregistered
//! (`create_before_destroy`), so that services move to it first.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    ApplicationProtocol, Compatibility, ContainerDefinition, HealthCheck, KeyValuePair,
    LogConfiguration, LogDriver, NetworkMode, PortMapping, Secret, SortOrder, Tag, TaskDefinition,
    TaskDefinitionField, TaskDefinitionStatus, TransportProtocol,
};
use futures::StreamExt;

use super::READ_CONCURRENCY;
use super::task_parts::{
    self, CONTAINER_FIELDS, PROXY_CONFIGURATION, RUNTIME_PLATFORM, TASK_PLACEMENT_CONSTRAINT,
    VOLUME,
};
use crate::aws::ApiError;
use crate::kinds::support::{
    Poll, Waiter, create_tags, find_by_address, int_field, pages, present, str_attr, str_field,
    table, tag_pairs, tags_value, wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::PORT;
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct EcsTaskDefinition;

const PORT_MAPPING: &[Field] = &[
    Field::new("container_port", PORT)
        .required()
        .doc("The port the container listens on."),
    Field::new("host_port", PORT)
        .doc("The port on the host; in awsvpc and host network modes it equals container_port."),
    Field::new("protocol", Type::String)
        .default(Default::Str("tcp"))
        .one_of(&["tcp", "udp"])
        .doc("\"tcp\" or \"udp\"."),
    Field::new("name", Type::String)
        .doc("A name for the mapping, which Service Connect refers to."),
    Field::new("app_protocol", Type::String)
        .one_of(&["http", "http2", "grpc"])
        .doc("The application protocol, for Service Connect metrics."),
];

const LOG_CONFIGURATION: &[Field] = &[
    Field::new("log_driver", Type::String)
        .required()
        .doc("The log driver, e.g. \"awslogs\"."),
    Field::new("options", Type::Map(&Type::String))
        .default(Default::EmptyMap)
        .doc("Options of the driver, e.g. awslogs-group, awslogs-region."),
];

const HEALTH_CHECK: &[Field] = &[
    Field::new("command", Type::List(&Type::String))
        .required()
        .doc("The command, e.g. [\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"]."),
    Field::new("interval", Type::Range(5, 300))
        .default(Default::Int(30))
        .doc("Seconds between checks."),
    Field::new("timeout", Type::Range(2, 60))
        .default(Default::Int(5))
        .doc("Seconds a check may take."),
    Field::new("retries", Type::Range(1, 10))
        .default(Default::Int(3))
        .doc("Failed checks before the container is unhealthy."),
    Field::new("start_period", Type::Range(0, 300))
        .default(Default::Int(0))
        .doc("Seconds of grace after the container starts."),
];

const CONTAINER: &[Field] = &[
    Field::new("name", Type::String)
        .example("\"web\"")
        .required()
        .doc("The container name."),
    Field::new("image", Type::String)
        .example("\"nginx:1.27\"")
        .required()
        .doc("The image, e.g. \"nginx:1.27\" or an ECR repository URL with a tag."),
    Field::new("cpu", Type::Int)
        .default(Default::Int(0))
        .doc("CPU units reserved for the container."),
    Field::new("memory", Type::Int).doc("Hard memory limit in MiB."),
    Field::new("memory_reservation", Type::Int).doc("Soft memory limit in MiB."),
    Field::new("essential", Type::Bool)
        .default(Default::Bool(true))
        .doc("Whether the task stops when this container stops."),
    Field::new("port_mappings", Type::List(&Type::Object(PORT_MAPPING)))
        .default(Default::EmptyList)
        .doc("Ports the container exposes."),
    Field::new("environment", Type::Map(&Type::String))
        .default(Default::EmptyMap)
        .doc("Environment variables."),
    Field::new("secrets", Type::Map(&Type::String))
        .default(Default::EmptyMap)
        .doc(
            "Environment variables taken from Secrets Manager or SSM Parameter Store: name = the \
             secret's or parameter's ARN (a secret's with `:<json key>::` appended for one key of \
             a JSON value). The task holds only the ARN; ECS reads the value at start with the \
             execution role, which needs secretsmanager:GetSecretValue or ssm:GetParameters on \
             it (and kms:Decrypt on a customer-managed key).",
        ),
    Field::new("log_configuration", Type::Object(LOG_CONFIGURATION))
        .doc("Where the container's output goes."),
    Field::new("health_check", Type::Object(HEALTH_CHECK)).doc("The container health check."),
    Field::new("command", Type::List(&Type::String)).doc("The command, replacing the image's."),
    Field::new("entry_point", Type::List(&Type::String))
        .doc("The entry point, replacing the image's."),
    Field::new("working_directory", Type::String).doc("The working directory of the command."),
    CONTAINER_FIELDS[0],
    CONTAINER_FIELDS[1],
    CONTAINER_FIELDS[2],
    CONTAINER_FIELDS[3],
    CONTAINER_FIELDS[4],
    CONTAINER_FIELDS[5],
    CONTAINER_FIELDS[6],
    CONTAINER_FIELDS[7],
    CONTAINER_FIELDS[8],
    CONTAINER_FIELDS[9],
    CONTAINER_FIELDS[10],
    CONTAINER_FIELDS[11],
    CONTAINER_FIELDS[12],
    CONTAINER_FIELDS[13],
    CONTAINER_FIELDS[14],
    CONTAINER_FIELDS[15],
    CONTAINER_FIELDS[16],
    CONTAINER_FIELDS[17],
    CONTAINER_FIELDS[18],
    CONTAINER_FIELDS[19],
    CONTAINER_FIELDS[20],
    CONTAINER_FIELDS[21],
    CONTAINER_FIELDS[22],
    CONTAINER_FIELDS[23],
    CONTAINER_FIELDS[24],
];

const CONTAINERS: Type = Type::List(&Type::Object(CONTAINER));

static SCHEMA: Schema = Schema {
    kind: "ecs_task_definition",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A revision of an ECS task definition: the containers of a task. Immutable: \
                  a change registers a new revision; the last `keep_revisions` stay registered.",
    fields: &[
        Field::new("family", Type::String)
            .naming(crate::kinds::names::ECS)
            .required()
            .force_new()
            .doc("The family the revision belongs to."),
        Field::new("keep_revisions", Type::Range(1, 1_000_000))
            .default(Default::Int(5))
            .client_only()
            .doc(
                "How many revisions of this task definition stay registered (this one \
                  included) for `reconcile rollback`; older ones are deregistered when a new \
                  one is registered, all of them on destroy. Not sent to AWS and never a \
                  difference.",
            ),
        Field::new("cpu", Type::String)
            .unset_is_null()
            .force_new()
            .doc("Task CPU units, e.g. \"256\" (or \"0.25 vCPU\"); required on Fargate."),
        Field::new("memory", Type::String)
            .unset_is_null()
            .force_new()
            .doc("Task memory in MiB, e.g. \"512\" (or \"0.5 GB\"); required on Fargate."),
        Field::new("network_mode", Type::String)
            .force_new()
            .one_of(&["awsvpc", "bridge", "host", "none"])
            .doc("\"awsvpc\", \"bridge\", \"host\" or \"none\"; Fargate needs awsvpc."),
        Field::new("requires_compatibilities", Type::Set(&Type::String))
            .default(Default::EmptyList)
            .one_of(&["EC2", "FARGATE", "EXTERNAL"])
            .force_new()
            .doc("Launch types the revision must be valid for, e.g. [\"FARGATE\"]."),
        Field::new("execution_role_arn", Type::Arn)
            .unset_is_null()
            .force_new()
            .doc("The role ECS uses to pull images and write logs."),
        Field::new("task_role_arn", Type::Arn)
            .unset_is_null()
            .force_new()
            .doc("The role the containers' code runs as."),
        Field::new("container_definitions", CONTAINERS)
            .required()
            .force_new()
            .doc("The containers of the task."),
        Field::new("volumes", Type::Set(&Type::Object(VOLUME)))
            .default(Default::EmptyList)
            .force_new()
            .doc("Volumes the containers can mount: host paths, bind mounts, Docker volumes, EFS."),
        Field::new(
            "placement_constraints",
            Type::Set(&Type::Object(TASK_PLACEMENT_CONSTRAINT)),
        )
        .default(Default::EmptyList)
        .force_new()
        .max_items(10)
        .doc("Where tasks of this revision may be placed (EC2)."),
        Field::new("ephemeral_storage", Type::Range(21, 200))
            .unset_is_null()
            .force_new()
            .doc("Ephemeral storage of a Fargate task in GiB (21 to 200; 20 when unset)."),
        Field::new("runtime_platform", Type::Object(RUNTIME_PLATFORM))
            .unset_is_null()
            .force_new()
            .doc("Operating system and CPU architecture (Fargate: e.g. ARM64)."),
        Field::new("proxy_configuration", Type::Object(PROXY_CONFIGURATION))
            .unset_is_null()
            .force_new()
            .doc("An App Mesh proxy."),
        Field::new("pid_mode", Type::String)
            .unset_is_null()
            .force_new()
            .one_of(&["host", "task"])
            .doc("The process namespace: \"task\" (shared by the task's containers) or \"host\"."),
        Field::new("ipc_mode", Type::String)
            .unset_is_null()
            .force_new()
            .one_of(&["host", "task", "none"])
            .doc("The IPC namespace: \"host\", \"task\" or \"none\" (EC2 only)."),
        // Tags are the one thing of a revision that changes in place.
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the revision (also its id)."),
        Field::new("revision", Type::Int)
            .computed()
            .doc("The revision number within the family."),
    ],
};

/// A described revision with its tags.
struct Described {
    def: TaskDefinition,
    tags: Vec<Tag>,
}

impl EcsTaskDefinition {
    /// One revision by ARN; `None` when it is gone (unknown or deregistered).
    /// DescribeTaskDefinition takes one revision per call.
    async fn describe(&self, cx: Ctx<'_>, id: &str) -> ApiResult<Option<Described>> {
        let out = cx
            .aws
            .ecs
            .describe_task_definition()
            .task_definition(id)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(ApiError::from);
        let out = match out {
            Err(e) if is_unknown_revision(&e) => return Ok(None),
            other => other?,
        };
        let tags = out.tags().to_vec();
        Ok(out
            .task_definition
            .filter(|d| d.status() == Some(&TaskDefinitionStatus::Active))
            .map(|def| Described { def, tags }))
    }

    /// Many revisions at once, `READ_CONCURRENCY` calls in flight. (The
    /// futures are built before they are streamed: a closure inside the
    /// stream trips the compiler's higher-ranked lifetime check under
    /// `async_trait`.)
    async fn describe_all(
        &self,
        cx: Ctx<'_>,
        ids: &[String],
    ) -> ApiResult<Vec<(String, Described)>> {
        let calls: Vec<_> = ids
            .iter()
            .map(|id| async move { (id, self.describe(cx, id).await) })
            .collect();
        let answers: Vec<_> = futures::stream::iter(calls)
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await;
        let mut out = Vec::new();
        for (id, answer) in answers {
            if let Some(d) = answer? {
                out.push((id.clone(), d));
            }
        }
        Ok(out)
    }
}

/// What AWS answers for an ARN it does not know (ClientException, "Unable to
/// describe task definition.").
fn is_unknown_revision(e: &ApiError) -> bool {
    e.is_not_found()
        || e.code.as_deref() == Some("ClientException")
            && e.message
                .to_ascii_lowercase()
                .contains("unable to describe")
}

fn td_attrs(d: &Described) -> Attrs {
    let td = &d.def;
    let arn = td.task_definition_arn().unwrap_or_default();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("revision".into(), Value::from(td.revision()));
    a.insert("family".into(), td.family().into());
    a.insert("cpu".into(), td.cpu().into());
    a.insert("memory".into(), td.memory().into());
    a.insert(
        "network_mode".into(),
        td.network_mode().map(NetworkMode::as_str).into(),
    );
    a.insert(
        "requires_compatibilities".into(),
        Value::List(
            td.requires_compatibilities()
                .iter()
                .map(|c| Value::str(c.as_str()))
                .collect(),
        ),
    );
    a.insert("execution_role_arn".into(), td.execution_role_arn().into());
    a.insert("task_role_arn".into(), td.task_role_arn().into());
    a.insert(
        "container_definitions".into(),
        Value::List(
            td.container_definitions()
                .iter()
                .map(container_value)
                .collect(),
        ),
    );
    for (name, value) in task_parts::task_values(td) {
        a.insert(name.into(), value);
    }
    a.insert("tags".into(), tags_value(&d.tags));
    a
}

/// One container as AWS reports it, in the schema's terms. Lists AWS
/// reports empty for "unset" (command, entry point) stay unset.
fn container_value(c: &ContainerDefinition) -> Value {
    let strings = |l: &[String]| {
        if l.is_empty() {
            Value::Null
        } else {
            Value::from(l.to_vec())
        }
    };
    let ports = c
        .port_mappings()
        .iter()
        .map(|p| {
            table([
                ("container_port", p.container_port().into()),
                ("host_port", p.host_port().into()),
                (
                    "protocol",
                    p.protocol().map(|p| p.as_str().to_ascii_lowercase()).into(),
                ),
                ("name", p.name().into()),
                (
                    "app_protocol",
                    p.app_protocol().map(ApplicationProtocol::as_str).into(),
                ),
            ])
        })
        .collect();
    let environment: BTreeMap<String, String> = c
        .environment()
        .iter()
        .filter_map(|kv| {
            Some((
                kv.name()?.to_owned(),
                kv.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let secrets: BTreeMap<String, String> = c
        .secrets()
        .iter()
        .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
        .collect();
    let log = c.log_configuration().map(|l| {
        let options: BTreeMap<String, String> = l
            .options()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        table([
            ("log_driver", Value::str(l.log_driver().as_str())),
            ("options", Value::from(options)),
        ])
    });
    let health = c.health_check().map(|h| {
        table([
            ("command", Value::from(h.command().to_vec())),
            ("interval", h.interval().into()),
            ("timeout", h.timeout().into()),
            ("retries", h.retries().into()),
            ("start_period", h.start_period().into()),
        ])
    });
    table(
        [
            ("name", c.name().into()),
            ("image", c.image().into()),
            ("cpu", Value::from(c.cpu())),
            ("memory", c.memory().into()),
            ("memory_reservation", c.memory_reservation().into()),
            ("essential", Value::Bool(c.essential().unwrap_or(true))),
            ("port_mappings", Value::List(ports)),
            ("environment", Value::from(environment)),
            ("secrets", Value::from(secrets)),
            ("log_configuration", log.unwrap_or_default()),
            ("health_check", health.unwrap_or_default()),
            ("command", strings(c.command())),
            ("entry_point", strings(c.entry_point())),
            ("working_directory", c.working_directory().into()),
        ]
        .into_iter()
        .chain(task_parts::container_values(c)),
    )
}

/// A container's log configuration as the API takes it.
fn log_configuration(l: &Value) -> ApiResult<LogConfiguration> {
    let options: HashMap<String, String> = l
        .as_map()
        .and_then(|m| m.get("options"))
        .map(Value::str_map)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let driver = str_field(Some(l), "log_driver").unwrap_or_default();
    LogConfiguration::builder()
        .log_driver(LogDriver::from(driver.as_str()))
        .set_options((!options.is_empty()).then_some(options))
        .build()
        .map_err(|e| ApiError::msg(e.to_string()))
}

/// A container's health check as the API takes it.
fn health_check(h: &Value) -> ApiResult<HealthCheck> {
    HealthCheck::builder()
        .set_command(
            h.as_map()
                .and_then(|m| m.get("command"))
                .map(Value::str_list),
        )
        .set_interval(int_field(Some(h), "interval")?)
        .set_timeout(int_field(Some(h), "timeout")?)
        .set_retries(int_field(Some(h), "retries")?)
        .set_start_period(int_field(Some(h), "start_period")?)
        .build()
        .map_err(|e| ApiError::msg(e.to_string()))
}

/// One container of the desired state as the API takes it.
fn container_definition(v: &Value) -> ApiResult<ContainerDefinition> {
    let m = Some(v);
    let get = |name: &str| v.as_map().and_then(|m| m.get(name));
    let err = |e: aws_smithy_types::error::operation::BuildError| ApiError::msg(e.to_string());
    let mut ports = Vec::new();
    for p in get("port_mappings").map(Value::as_list).unwrap_or_default() {
        ports.push(
            PortMapping::builder()
                .set_container_port(int_field(Some(p), "container_port")?)
                .set_host_port(int_field(Some(p), "host_port")?)
                .set_protocol(
                    str_field(Some(p), "protocol").map(|s| TransportProtocol::from(s.as_str())),
                )
                .set_name(str_field(Some(p), "name"))
                .set_app_protocol(
                    str_field(Some(p), "app_protocol")
                        .map(|s| ApplicationProtocol::from(s.as_str())),
                )
                .build(),
        );
    }
    let environment = get("environment")
        .map(Value::str_map)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
        .collect();
    let secrets = get("secrets")
        .map(Value::str_map)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| Secret::builder().name(k).value_from(v).build().map_err(err))
        .collect::<Result<Vec<_>, _>>()?;
    let log = get("log_configuration").filter(|l| !l.is_null());
    let health = get("health_check").filter(|h| !h.is_null());
    let strings = |name: &str| get(name).filter(|l| !l.is_null()).map(Value::str_list);
    let builder = ContainerDefinition::builder()
        .set_name(str_field(m, "name"))
        .set_image(str_field(m, "image"))
        .set_cpu(int_field(m, "cpu")?)
        .set_memory(int_field(m, "memory")?)
        .set_memory_reservation(int_field(m, "memory_reservation")?)
        .set_essential(get("essential").and_then(Value::as_bool))
        .set_port_mappings(Some(ports))
        .set_environment(Some(environment))
        .set_secrets(Some(secrets))
        .set_log_configuration(log.map(log_configuration).transpose()?)
        .set_health_check(health.map(health_check).transpose()?)
        .set_command(strings("command"))
        .set_entry_point(strings("entry_point"))
        .set_working_directory(str_field(m, "working_directory"));
    Ok(task_parts::container_parts(builder, v)?.build())
}

/// `"0.25 vCPU"` → `"256"`, `"1 GB"` → `"1024"`: the units AWS converts
/// such values to when it registers the revision. Anything else is left
/// as written.
fn canonical_units(s: &str, suffixes: &[&str]) -> String {
    let lower = s.trim().to_ascii_lowercase();
    for suffix in suffixes {
        if let Some(n) = lower.strip_suffix(suffix)
            && let Ok(x) = n.trim().parse::<f64>()
        {
            let units = x * 1024.0;
            if units.fract() == 0.0 && units >= 0.0 {
                return format!("{}", units as u64);
            }
        }
    }
    s.trim().to_owned()
}

/// Whether a port mapping's host port is the container port: AWS fills it
/// in for awsvpc and host network modes (Fargate is always awsvpc).
fn host_port_is_container_port(attrs: &Attrs) -> bool {
    match attrs.get("network_mode").and_then(Value::as_str) {
        Some(mode) => mode == "awsvpc" || mode == "host",
        None => attrs
            .get("requires_compatibilities")
            .map(Value::str_list)
            .unwrap_or_default()
            .iter()
            .any(|c| c == "FARGATE"),
    }
}

/// A container in canonical form: defaults filled, host ports as AWS fills
/// them, a host port of 0 (dynamic) unset, empty command lists unset.
fn canonical_container(c: &Value, same_host_port: bool) -> Value {
    let Value::Map(mut m) = Type::Object(CONTAINER).normalize(c) else {
        return c.clone();
    };
    if let Some(Value::List(ports)) = m.get_mut("port_mappings") {
        for p in ports.iter_mut() {
            let Value::Map(pm) = p else { continue };
            if pm.get("host_port") == Some(&Value::Int(0)) {
                pm.remove("host_port");
            }
            if same_host_port
                && !pm.contains_key("host_port")
                && let Some(port @ Value::Int(_)) = pm.get("container_port").cloned()
            {
                pm.insert("host_port".into(), port);
            }
            if let Some(Value::Str(proto)) = pm.get_mut("protocol") {
                *proto = proto.to_ascii_lowercase();
            }
        }
    }
    for name in ["command", "entry_point"] {
        if m.get(name)
            .is_some_and(|v| matches!(v, Value::List(l) if l.is_empty()))
        {
            m.remove(name);
        }
    }
    task_parts::canonical_parts(&mut m);
    Value::Map(m)
}

#[async_trait]
impl Kind for EcsTaskDefinition {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::EcsTags))
    }

    fn create_before_destroy(&self) -> bool {
        true
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(Value::Str(cpu)) = attrs.get_mut("cpu") {
            *cpu = canonical_units(cpu, &["vcpu"]);
        }
        if let Some(Value::Str(memory)) = attrs.get_mut("memory") {
            *memory = canonical_units(memory, &["gb"]);
        }
        let same_host_port = host_port_is_container_port(attrs);
        if let Some(Value::List(containers)) = attrs.get_mut("container_definitions") {
            for c in containers.iter_mut() {
                *c = canonical_container(c, same_host_port);
            }
        }
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        Ok(self
            .describe_all(cx, ids)
            .await?
            .iter()
            .map(|(id, d)| (id.clone(), td_attrs(d)))
            .collect())
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let containers = desired
            .get("container_definitions")
            .map(Value::as_list)
            .unwrap_or_default()
            .iter()
            .map(container_definition)
            .collect::<Result<Vec<_>, _>>()?;
        let compatibilities = desired
            .get("requires_compatibilities")
            .map(Value::str_list)
            .unwrap_or_default()
            .iter()
            .map(|c| Compatibility::from(c.as_str()))
            .collect();
        let call = cx
            .aws
            .ecs
            .register_task_definition()
            .set_family(str_attr(desired, "family"))
            .set_cpu(str_attr(desired, "cpu"))
            .set_memory(str_attr(desired, "memory"))
            .set_network_mode(
                str_attr(desired, "network_mode").map(|m| NetworkMode::from(m.as_str())),
            )
            .set_requires_compatibilities(Some(compatibilities))
            .set_execution_role_arn(str_attr(desired, "execution_role_arn"))
            .set_task_role_arn(str_attr(desired, "task_role_arn"))
            .set_container_definitions(Some(containers))
            .set_tags(Some(create_tags(cx, address, desired)?));
        let out = task_parts::register_parts(call, desired)?.send().await?;
        let arn = out
            .task_definition()
            .and_then(TaskDefinition::task_definition_arn)
            .ok_or_else(|| ApiError::msg("RegisterTaskDefinition returned no ARN"))?
            .to_owned();
        crate::kinds::created(&arn);
        let what = format!("task definition {arn} to become active");
        wait_visible(cx.timeouts(self).create, &what, || async {
            Ok(present(self.describe(cx, &arn).await?.map(drop)))
        })
        .await?;
        let keep = desired
            .get("keep_revisions")
            .and_then(Value::as_int)
            .unwrap_or(5)
            .max(1);
        // Best effort: the revision exists; an old one left registered is
        // deregistered by the next create or the destroy.
        if let Err(e) = self.prune(cx, address, &arn, keep as usize).await {
            tracing::warn!("deregistering old revisions of {arn}: {e}");
        }
        Ok(arn)
    }

    async fn update(&self, _op: Update<'_>) -> ApiResult<()> {
        // Everything else forces a new revision.
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // A revision its successor replaced stays registered, for
        // `reconcile rollback`; `prune` deregisters it in time.
        if crate::kinds::deleting_replaced() {
            return Ok(());
        }
        // The resource goes: with it, the revisions kept before this one.
        let address = self.describe(cx, id).await?.and_then(|d| {
            tag_pairs(&d.tags)
                .find(|(k, _)| *k == crate::kinds::ADDRESS_TAG)
                .map(|(_, v)| v.to_owned())
        });
        if let Some(address) = address {
            for arn in self.ours_in_family(cx, id, &address).await? {
                if arn != id {
                    self.deregister(cx, &arn).await?;
                }
            }
        }
        self.deregister(cx, id).await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        self.find_ours(cx, address).await
    }
}

impl EcsTaskDefinition {
    /// Deregisters one revision and waits until it is inactive; unknown
    /// counts as done.
    async fn deregister(&self, cx: Ctx<'_>, id: &str) -> ApiResult<()> {
        let r = cx
            .aws
            .ecs
            .deregister_task_definition()
            .task_definition(id)
            .send()
            .await
            .map_err(ApiError::from);
        match r {
            Err(e) if is_unknown_revision(&e) => return Ok(()),
            other => drop(other?),
        }
        Waiter::new(cx.timeouts(self).delete)
            .until(
                &format!("task definition {id} to become inactive"),
                || async {
                    Ok(match self.describe(cx, id).await? {
                        None => Poll::Ready(()),
                        Some(_) => Poll::Pending("ACTIVE".into()),
                    })
                },
            )
            .await
    }

    /// The newest revision carrying `address`'s tags.
    async fn find_ours(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        // ECS has no tag filter and the family is not known here: describe
        // every active revision with its tags and keep the newest of ours
        // (during a replacement the old revision carries the same tags).
        find_by_address(cx, address, |t| async move {
            let list = cx.aws.ecs.list_task_definitions();
            let list = list.status(TaskDefinitionStatus::Active);
            let arns = pages!(list.sort(SortOrder::Desc))?;
            let ours = self
                .describe_all(cx, &arns)
                .await?
                .into_iter()
                .filter(|(_, d)| t.matches(tag_pairs(&d.tags)))
                .max_by_key(|(_, d)| {
                    (
                        d.def.registered_at().map(aws_smithy_types::DateTime::secs),
                        d.def.revision(),
                    )
                });
            Ok(ours.map(|(arn, _)| arn))
        })
        .await
    }

    /// The active revisions of `revision`'s family that carry `address`'s
    /// tags (of this stack), newest first.
    async fn ours_in_family(
        &self,
        cx: Ctx<'_>,
        revision: &str,
        address: &str,
    ) -> ApiResult<Vec<String>> {
        let family = family_of(revision);
        let list = cx.aws.ecs.list_task_definitions().family_prefix(family);
        let list = list.status(TaskDefinitionStatus::Active);
        let arns: Vec<String> = pages!(list.sort(SortOrder::Desc))?
            .into_iter()
            .filter(|a| family_of(a) == family)
            .collect();
        let mut ours: Vec<(i32, String)> = self
            .describe_all(cx, &arns)
            .await?
            .into_iter()
            .filter(|(_, d)| {
                let tags: Vec<(&str, &str)> = tag_pairs(&d.tags).collect();
                tags.contains(&(crate::kinds::ADDRESS_TAG, address))
                    && tags.contains(&(crate::kinds::STACK_TAG, cx.stack))
            })
            .map(|(arn, d)| (d.def.revision(), arn))
            .collect();
        ours.sort_by_key(|o| std::cmp::Reverse(o.0));
        Ok(ours.into_iter().map(|(_, arn)| arn).collect())
    }

    /// Deregisters the revisions of `address` beyond the newest `keep`.
    async fn prune(
        &self,
        cx: Ctx<'_>,
        address: &str,
        revision: &str,
        keep: usize,
    ) -> ApiResult<()> {
        for arn in self
            .ours_in_family(cx, revision, address)
            .await?
            .iter()
            .skip(keep)
        {
            self.deregister(cx, arn).await?;
        }
        Ok(())
    }
}

/// `arn:aws:ecs:…:task-definition/web:3` (or `web:3`) → `web`.
fn family_of(revision: &str) -> &str {
    let short = revision
        .split_once(":task-definition/")
        .map_or(revision, |(_, rest)| rest);
    short.split(':').next().unwrap_or(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs)
    }

    fn list(items: &[&str]) -> Value {
        Value::strs(items)
    }

    fn canon(mut a: Attrs) -> Attrs {
        a = SCHEMA.with_defaults(&a);
        EcsTaskDefinition.canonicalize(&mut a);
        for f in SCHEMA.fields {
            if let Some(v) = a.get_mut(f.name) {
                *v = f.ty.normalize(v);
            }
        }
        a
    }

    fn web(network_mode: Option<&str>, port: Value) -> Attrs {
        let mut a = Attrs::from([
            ("family".to_owned(), Value::str("web")),
            (
                "container_definitions".to_owned(),
                Value::List(vec![m(&[
                    ("name", Value::str("app")),
                    ("image", Value::str("nginx:1.27")),
                    ("memory", Value::Int(256)),
                    ("port_mappings", Value::List(vec![port])),
                ])]),
            ),
        ]);
        if let Some(mode) = network_mode {
            a.insert("network_mode".into(), Value::str(mode));
        }
        a
    }

    fn first_port(a: &Attrs) -> BTreeMap<String, Value> {
        a["container_definitions"].as_list()[0].as_map().unwrap()["port_mappings"].as_list()[0]
            .as_map()
            .cloned()
            .unwrap()
    }

    #[test]
    fn an_unset_host_port_in_awsvpc_equals_the_container_port() {
        let user = canon(web(
            Some("awsvpc"),
            m(&[("container_port", Value::Int(80))]),
        ));
        let aws = canon(web(
            Some("awsvpc"),
            m(&[
                ("container_port", Value::Int(80)),
                ("host_port", Value::Int(80)),
                ("protocol", Value::str("tcp")),
            ]),
        ));
        assert_eq!(user, aws);
        assert_eq!(first_port(&user)["host_port"], Value::Int(80));
    }

    #[test]
    fn fargate_without_a_network_mode_counts_as_awsvpc() {
        let mut a = web(None, m(&[("container_port", Value::Int(8080))]));
        a.insert("requires_compatibilities".into(), list(&["FARGATE"]));
        assert_eq!(first_port(&canon(a))["host_port"], Value::Int(8080));
    }

    #[test]
    fn a_dynamic_host_port_in_bridge_mode_stays_unset() {
        let user = canon(web(
            Some("bridge"),
            m(&[("container_port", Value::Int(80))]),
        ));
        let aws = canon(web(
            Some("bridge"),
            m(&[
                ("container_port", Value::Int(80)),
                ("host_port", Value::Int(0)),
                ("protocol", Value::str("TCP")),
            ]),
        ));
        assert_eq!(user, aws);
        assert!(!first_port(&user).contains_key("host_port"));
    }

    #[test]
    fn vcpu_and_gb_values_become_the_units_aws_reports() {
        assert_eq!(canonical_units("0.25 vCPU", &["vcpu"]), "256");
        assert_eq!(canonical_units("1 vcpu", &["vcpu"]), "1024");
        assert_eq!(canonical_units("2GB", &["gb"]), "2048");
        assert_eq!(canonical_units("512", &["gb"]), "512");
        assert_eq!(canonical_units("lots", &["gb"]), "lots");
    }

    #[test]
    fn a_container_reads_back_as_it_was_written() {
        let written = m(&[
            ("name", Value::str("app")),
            ("image", Value::str("nginx")),
            ("cpu", Value::Int(128)),
            ("memory", Value::Int(512)),
            ("memory_reservation", Value::Int(256)),
            ("essential", Value::Bool(false)),
            (
                "port_mappings",
                Value::List(vec![m(&[
                    ("container_port", Value::Int(80)),
                    ("host_port", Value::Int(8080)),
                    ("protocol", Value::str("udp")),
                ])]),
            ),
            (
                "environment",
                m(&[("B", Value::str("2")), ("A", Value::str("1"))]),
            ),
            (
                "secrets",
                m(&[("DB", Value::str("arn:aws:ssm:us-east-1:1:parameter/db"))]),
            ),
            (
                "log_configuration",
                m(&[
                    ("log_driver", Value::str("awslogs")),
                    ("options", m(&[("awslogs-group", Value::str("/ecs/web"))])),
                ]),
            ),
            (
                "health_check",
                m(&[
                    ("command", list(&["CMD-SHELL", "true"])),
                    ("interval", Value::Int(10)),
                    ("timeout", Value::Int(2)),
                    ("retries", Value::Int(5)),
                    ("start_period", Value::Int(15)),
                ]),
            ),
            ("command", list(&["serve"])),
            ("entry_point", list(&["/bin/app"])),
            ("working_directory", Value::str("/srv")),
        ]);
        let sent = container_definition(&written).unwrap();
        let environment: Vec<_> = sent
            .environment()
            .iter()
            .filter_map(|kv| kv.name())
            .collect();
        assert_eq!(environment, ["A", "B"]);
        // Read back, the fields left unset are AWS's empty defaults.
        assert_eq!(
            canonical_container(&container_value(&sent), false),
            canonical_container(&written, false)
        );
    }

    #[test]
    fn empty_lists_aws_reports_read_as_unset_and_defaults_as_defaults() {
        let aws = ContainerDefinition::builder()
            .name("app")
            .image("nginx")
            .cpu(0)
            .essential(true)
            .set_command(Some(Vec::new()))
            .build();
        let read = container_value(&aws);
        let map = read.as_map().unwrap();
        assert!(!map.contains_key("command"));
        let user = m(&[("name", Value::str("app")), ("image", Value::str("nginx"))]);
        assert_eq!(
            canonical_container(&read, false),
            canonical_container(&user, false)
        );
    }

    #[test]
    fn unknown_images_survive_canonicalization() {
        let c = m(&[("name", Value::str("app")), ("image", Value::Unknown)]);
        let out = canonical_container(&c, true);
        assert_eq!(out.as_map().unwrap()["image"], Value::Unknown);
        let mut a = Attrs::from([("container_definitions".to_owned(), Value::Unknown)]);
        EcsTaskDefinition.canonicalize(&mut a);
        assert_eq!(a["container_definitions"], Value::Unknown);
    }

    #[test]
    fn every_input_but_tags_and_keep_revisions_forces_a_new_revision() {
        for f in SCHEMA.inputs() {
            let in_place = matches!(f.name, "tags" | "keep_revisions");
            assert_eq!(f.force_new, !in_place, "{}", f.name);
        }
        // How many revisions to keep is reconcile's business only.
        assert!(SCHEMA.field("keep_revisions").unwrap().client_only);
        assert!(EcsTaskDefinition.create_before_destroy());
    }

    #[test]
    fn only_unknown_arns_count_as_gone() {
        let client = |msg: &str| ApiError {
            code: Some("ClientException".into()),
            message: msg.into(),
            class: crate::aws::ErrorClass::Other,
        };
        assert!(is_unknown_revision(&client(
            "Unable to describe task definition."
        )));
        assert!(!is_unknown_revision(&client(
            "Container.image should not be null"
        )));
    }

    /// A TOML value of the desired state (test input only).
    fn toml_value(text: &str) -> Value {
        let t: toml::Table = toml::from_str(text).unwrap();
        let j = serde_json::to_value(t).unwrap();
        Value::from_json(&j["c"])
    }

    #[test]
    fn a_container_with_every_field_reads_back_as_it_was_written() {
        let written = toml_value(
            r#"
            [c]
            name = "app"
            image = "nginx"
            mount_points = [{ source_volume = "data", container_path = "/data", read_only = true }, { source_volume = "tmp", container_path = "/tmp" }]
            volumes_from = [{ source_container = "logs" }]
            depends_on = [{ container_name = "logs", condition = "HEALTHY" }]
            ulimits = [{ name = "nofile", soft_limit = 1024, hard_limit = 4096 }]
            linux_parameters = { capabilities = { add = ["SYS_PTRACE"] }, devices = [{ host_path = "/dev/fuse", permissions = ["read"] }], init_process_enabled = true, shared_memory_size = 64, tmpfs = [{ container_path = "/run", size = 32, mount_options = ["rw"] }], max_swap = 128, swappiness = 5 }
            extra_hosts = [{ hostname = "db", ip_address = "10.0.0.5" }]
            docker_labels = { team = "ops" }
            system_controls = [{ namespace = "net.core.somaxconn", value = "1024" }]
            firelens_configuration = { type = "fluentbit", options = { a = "b" } }
            repository_credentials = { credentials_parameter = "arn:aws:secretsmanager:us-east-1:1:secret:r" }
            resource_requirements = [{ type = "GPU", value = "1" }]
            environment_files = [{ value = "arn:aws:s3:::b/app.env" }]
            start_timeout = 60
            stop_timeout = 30
            user = "1000"
            privileged = true
            readonly_root_filesystem = true
            interactive = true
            pseudo_terminal = true
            disable_networking = true
            hostname = "app"
            dns_servers = ["10.0.0.3", "10.0.0.2"]
            dns_search_domains = ["internal"]
            docker_security_options = ["no-new-privileges"]
            links = ["logs:logs"]
            port_mappings = [{ container_port = 80, name = "http", app_protocol = "http" }]
            "#,
        );
        let sent = container_definition(&written).unwrap();
        let read = container_value(&sent);
        assert_eq!(
            canonical_container(&read, false),
            canonical_container(&written, false)
        );
        // Every field of the schema is read back.
        let read = read.as_map().unwrap();
        for f in CONTAINER {
            assert!(
                read.contains_key(f.name)
                    || matches!(
                        f.name,
                        "log_configuration"
                            | "health_check"
                            | "memory"
                            | "memory_reservation"
                            | "command"
                            | "entry_point"
                            | "working_directory"
                            | "linux_parameters"
                            | "firelens_configuration"
                            | "repository_credentials"
                    ),
                "{} is not read back",
                f.name
            );
        }
        // Order carries no meaning where AWS may reorder; it does for DNS servers.
        let mut reordered = written.as_map().unwrap().clone();
        if let Some(Value::List(m)) = reordered.get_mut("mount_points") {
            m.reverse();
        }
        assert_eq!(
            canonical_container(&Value::Map(reordered.clone()), false),
            canonical_container(&written, false)
        );
        if let Some(Value::List(d)) = reordered.get_mut("dns_servers") {
            d.reverse();
        }
        assert_ne!(
            canonical_container(&Value::Map(reordered), false),
            canonical_container(&written, false)
        );
    }

    #[test]
    fn what_aws_adds_for_unset_fields_is_no_difference() {
        // AWS (and the emulator) answer empty lists, false flags and
        // capabilities with nothing in them for what was never set.
        let aws = ContainerDefinition::builder()
            .name("app")
            .image("nginx")
            .cpu(0)
            .essential(true)
            .set_mount_points(Some(Vec::new()))
            .set_volumes_from(Some(Vec::new()))
            .set_system_controls(Some(Vec::new()))
            .privileged(false)
            .linux_parameters(
                aws_sdk_ecs::types::LinuxParameters::builder()
                    .init_process_enabled(true)
                    .capabilities(aws_sdk_ecs::types::KernelCapabilities::builder().build())
                    .build(),
            )
            .build();
        let user = toml_value(
            r#"
            [c]
            name = "app"
            image = "nginx"
            linux_parameters = { init_process_enabled = true }
            "#,
        );
        assert_eq!(
            canonical_container(&container_value(&aws), false),
            canonical_container(&user, false)
        );
    }
}
