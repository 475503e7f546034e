//! The parts of an `ecs_task_definition` beyond its core: task volumes
//! (host, bind mount, Docker, EFS), placement constraints, runtime platform,
//! proxy (Elastic Inference accelerators are retired: not offered), and the container settings that go with them (mount points,
//! dependencies, ulimits, Linux parameters, …). Their schemas and both
//! conversions, so that what AWS reports reads back as what was written.
//!
//! Canonical form: lists whose order carries no meaning are sets; what AWS
//! fills in when it is left unset (a read-only flag of false, an EFS root of
//! "/", a Docker volume scope of "task", empty lists) is the schema's
//! default, so unset and AWS's default compare equal.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::builders::ContainerDefinitionBuilder;
use aws_sdk_ecs::types::{
    ContainerCondition, ContainerDefinition, ContainerDependency, CpuArchitecture, Device,
    DeviceCgroupPermission, DockerVolumeConfiguration, EfsAuthorizationConfig,
    EfsAuthorizationConfigIam, EfsTransitEncryption, EfsVolumeConfiguration, EnvironmentFile,
    EnvironmentFileType, EphemeralStorage, FirelensConfiguration, FirelensConfigurationType,
    HostEntry, HostVolumeProperties, IpcMode, KernelCapabilities, KeyValuePair, LinuxParameters,
    MountPoint, OsFamily, PidMode, ProxyConfiguration, ProxyConfigurationType,
    RepositoryCredentials, ResourceRequirement, ResourceType, RuntimePlatform, Scope,
    SystemControl, TaskDefinition, TaskDefinitionPlacementConstraint,
    TaskDefinitionPlacementConstraintType, Tmpfs, Ulimit, UlimitName, Volume, VolumeFrom,
};

use crate::aws::ApiError;
use crate::kinds::ApiResult;
use crate::kinds::support::{int_field, str_field, table};
use crate::schema::{Default, Field, Type};
use crate::value::Value;

// ---- task level -----------------------------------------------------------

const EFS_AUTHORIZATION: &[Field] = &[
    Field::new("access_point_id", Type::String)
        .doc("The EFS access point (its `id`), e.g. \"${efs_access_point.data.id}\"."),
    Field::new("iam", Type::String)
        .default(Default::Str("DISABLED"))
        .one_of(&["ENABLED", "DISABLED"])
        .doc("Whether the task role is used to mount (\"ENABLED\" needs transit encryption)."),
];

const EFS_VOLUME: &[Field] = &[
    Field::new("file_system_id", Type::String)
        .required()
        .doc("The EFS file system, e.g. \"${efs_file_system.data.id}\"."),
    Field::new("root_directory", Type::String)
        .default(Default::Str("/"))
        .doc("The directory of the file system mounted as the volume's root (\"/\" with an access point)."),
    Field::new("transit_encryption", Type::String)
        .default(Default::Str("DISABLED"))
        .one_of(&["ENABLED", "DISABLED"])
        .doc("Whether traffic to the file system is encrypted (required with an access point or IAM)."),
    Field::new("transit_encryption_port", Type::Range(1, 65535))
        .doc("The port of the encrypted connection; unset, the EFS mount helper picks one."),
    Field::new("authorization_config", Type::Object(EFS_AUTHORIZATION))
        .doc("Access point and IAM authorization."),
];

const DOCKER_VOLUME: &[Field] = &[
    Field::new("scope", Type::String)
        .default(Default::Str("task"))
        .one_of(&["task", "shared"])
        .doc("\"task\": made and removed with the task; \"shared\": kept after it."),
    Field::new("autoprovision", Type::Bool)
        .doc("With scope \"shared\": create the volume when it does not exist."),
    Field::new("driver", Type::String).doc("The Docker volume driver, e.g. \"local\"."),
    Field::new("driver_opts", Type::Map(&Type::String))
        .default(Default::EmptyMap)
        .doc("Options passed to the driver."),
    Field::new("labels", Type::Map(&Type::String))
        .default(Default::EmptyMap)
        .doc("Labels of the Docker volume."),
];

pub const VOLUME: &[Field] = &[
    Field::new("name", Type::String)
        .required()
        .doc("The volume name, which containers' `mount_points.source_volume` refer to."),
    Field::new("host_path", Type::String).doc(
        "A host volume: the path on the container instance (EC2). Leave unset, with no \
         other configuration, for a bind mount that lives as long as the task (Fargate too).",
    ),
    Field::new("efs_volume_configuration", Type::Object(EFS_VOLUME))
        .doc("An EFS file system mounted as the volume."),
    Field::new("docker_volume_configuration", Type::Object(DOCKER_VOLUME))
        .doc("A Docker volume (EC2 only)."),
];

pub const TASK_PLACEMENT_CONSTRAINT: &[Field] = &[
    Field::new("type", Type::String)
        .default(Default::Str("memberOf"))
        .one_of(&["memberOf"])
        .doc("Only \"memberOf\"."),
    Field::new("expression", Type::String)
        .required()
        .doc("A cluster query language expression, e.g. \"attribute:ecs.instance-type =~ t3.*\"."),
];

pub const RUNTIME_PLATFORM: &[Field] = &[
    Field::new("operating_system_family", Type::String)
        .doc("e.g. \"LINUX\" or \"WINDOWS_SERVER_2022_CORE\"."),
    Field::new("cpu_architecture", Type::String)
        .one_of(&["X86_64", "ARM64"])
        .doc("\"X86_64\" or \"ARM64\"."),
];

pub const PROXY_CONFIGURATION: &[Field] = &[
    Field::new("type", Type::String)
        .default(Default::Str("APPMESH"))
        .one_of(&["APPMESH"])
        .doc("Only \"APPMESH\"."),
    Field::new("container_name", Type::String)
        .required()
        .doc("The container that is the proxy."),
    Field::new("properties", Type::Map(&Type::String))
        .default(Default::EmptyMap)
        .doc("The proxy's settings, e.g. IgnoredUID, ProxyIngressPort, AppPorts."),
];

// ---- container level ------------------------------------------------------

pub const MOUNT_POINT: &[Field] = &[
    Field::new("source_volume", Type::String)
        .required()
        .doc("The task volume mounted (its `name`)."),
    Field::new("container_path", Type::String)
        .required()
        .doc("Where it is mounted in the container."),
    Field::new("read_only", Type::Bool)
        .default(Default::Bool(false))
        .doc("Whether the container may only read it."),
];

pub const VOLUME_FROM: &[Field] = &[
    Field::new("source_container", Type::String)
        .required()
        .doc("The container of the same task whose volumes are mounted."),
    Field::new("read_only", Type::Bool)
        .default(Default::Bool(false))
        .doc("Whether the container may only read them."),
];

pub const DEPENDENCY: &[Field] = &[
    Field::new("container_name", Type::String)
        .required()
        .doc("The container of the same task this one waits for."),
    Field::new("condition", Type::String)
        .required()
        .one_of(&["START", "COMPLETE", "SUCCESS", "HEALTHY"])
        .doc("What it waits for: \"START\", \"COMPLETE\", \"SUCCESS\" or \"HEALTHY\"."),
];

pub const ULIMIT: &[Field] = &[
    Field::new("name", Type::String)
        .required()
        .doc("The limit, e.g. \"nofile\"."),
    Field::new("soft_limit", Type::Int).required(),
    Field::new("hard_limit", Type::Int).required(),
];

const CAPABILITIES: &[Field] = &[
    Field::new("add", Type::Set(&Type::String))
        .default(Default::EmptyList)
        .doc("Kernel capabilities added, e.g. [\"SYS_PTRACE\"] (Fargate: only SYS_PTRACE)."),
    Field::new("drop", Type::Set(&Type::String))
        .default(Default::EmptyList)
        .doc("Kernel capabilities dropped, e.g. [\"NET_RAW\"]."),
];

const DEVICE: &[Field] = &[
    Field::new("host_path", Type::String).required(),
    Field::new("container_path", Type::String),
    Field::new("permissions", Type::Set(&Type::String))
        .default(Default::EmptyList)
        .one_of(&["read", "write", "mknod"]),
];

const TMPFS: &[Field] = &[
    Field::new("container_path", Type::String).required(),
    Field::new("size", Type::Int).required().doc("Size in MiB."),
    Field::new("mount_options", Type::Set(&Type::String)).default(Default::EmptyList),
];

pub const LINUX_PARAMETERS: &[Field] = &[
    Field::new("capabilities", Type::Object(CAPABILITIES)),
    Field::new("devices", Type::Set(&Type::Object(DEVICE)))
        .default(Default::EmptyList)
        .doc("Host devices exposed to the container (EC2 only)."),
    Field::new("init_process_enabled", Type::Bool)
        .doc("Run an init process that forwards signals and reaps processes."),
    Field::new("shared_memory_size", Type::Int).doc("/dev/shm size in MiB (EC2 only)."),
    Field::new("tmpfs", Type::Set(&Type::Object(TMPFS)))
        .default(Default::EmptyList)
        .doc("tmpfs mounts (EC2 only)."),
    Field::new("max_swap", Type::Int).doc("Swap in MiB the container may use (EC2 only)."),
    Field::new("swappiness", Type::Range(0, 100)).doc("0 to 100 (EC2 only)."),
];

pub const HOST_ENTRY: &[Field] = &[
    Field::new("hostname", Type::String).required(),
    Field::new("ip_address", Type::String).required(),
];

pub const SYSTEM_CONTROL: &[Field] = &[
    Field::new("namespace", Type::String)
        .required()
        .doc("The kernel parameter, e.g. \"net.core.somaxconn\"."),
    Field::new("value", Type::String).required(),
];

pub const FIRELENS: &[Field] = &[
    Field::new("type", Type::String)
        .required()
        .one_of(&["fluentd", "fluentbit"])
        .doc("\"fluentd\" or \"fluentbit\"."),
    Field::new("options", Type::Map(&Type::String))
        .default(Default::EmptyMap)
        .doc("e.g. enable-ecs-log-metadata, config-file-type, config-file-value."),
];

pub const REPOSITORY_CREDENTIALS: &[Field] = &[Field::new("credentials_parameter", Type::String)
    .required()
    .doc("The Secrets Manager secret (ARN) holding the private registry's credentials.")];

pub const RESOURCE_REQUIREMENT: &[Field] = &[
    Field::new("type", Type::String)
        .required()
        .one_of(&["GPU", "InferenceAccelerator"])
        .doc("\"GPU\" or \"InferenceAccelerator\"."),
    Field::new("value", Type::String)
        .required()
        .doc("How many GPUs, or the accelerator's `device_name`."),
];

pub const ENVIRONMENT_FILE: &[Field] = &[
    Field::new("value", Type::String)
        .required()
        .doc("The S3 object (ARN) of a .env file."),
    Field::new("type", Type::String)
        .default(Default::Str("s3"))
        .one_of(&["s3"]),
];

/// The container fields of this module, as `CONTAINER` lists them (so
/// that the generic engine validates and diffs them). Those AWS reports
/// empty (or false) when unset have no default: `canonical_container`
/// drops such values, so that a plan does not list a score of empty
/// settings for each container.
pub const CONTAINER_FIELDS: [Field; 25] = [
    Field::new("mount_points", Type::Set(&Type::Object(MOUNT_POINT)))
        .doc("Task volumes mounted in the container."),
    Field::new("volumes_from", Type::Set(&Type::Object(VOLUME_FROM)))
        .doc("Other containers of the task whose volumes are mounted."),
    Field::new("depends_on", Type::Set(&Type::Object(DEPENDENCY)))
        .doc("Containers of the task that must reach a condition before this one starts."),
    Field::new("ulimits", Type::Set(&Type::Object(ULIMIT))).doc(
        "Resource limits, e.g. [{ name = \"nofile\", soft_limit = 65536, hard_limit = 65536 }].",
    ),
    Field::new("linux_parameters", Type::Object(LINUX_PARAMETERS))
        .doc("Linux-specific settings: capabilities, devices, init process, tmpfs, swap."),
    Field::new("extra_hosts", Type::Set(&Type::Object(HOST_ENTRY)))
        .doc("Lines added to /etc/hosts (not in awsvpc mode)."),
    Field::new("docker_labels", Type::Map(&Type::String)).doc("Docker labels of the container."),
    Field::new("system_controls", Type::Set(&Type::Object(SYSTEM_CONTROL)))
        .doc("Namespaced kernel parameters (sysctls)."),
    Field::new("firelens_configuration", Type::Object(FIRELENS))
        .doc("Makes this container the task's FireLens log router."),
    Field::new(
        "repository_credentials",
        Type::Object(REPOSITORY_CREDENTIALS),
    )
    .doc("Credentials of a private registry the image comes from."),
    Field::new(
        "resource_requirements",
        Type::Set(&Type::Object(RESOURCE_REQUIREMENT)),
    )
    .doc("GPUs or inference accelerators reserved for the container."),
    Field::new(
        "environment_files",
        Type::Set(&Type::Object(ENVIRONMENT_FILE)),
    )
    .doc("S3 objects holding environment variables."),
    Field::new("start_timeout", Type::Int)
        .doc("Seconds to wait for `depends_on` conditions before giving up on this container."),
    Field::new("stop_timeout", Type::Int)
        .doc("Seconds between SIGTERM and SIGKILL when the container stops."),
    Field::new("user", Type::String).doc("The user (and group) the command runs as."),
    Field::new("privileged", Type::Bool).doc("Root on the host (EC2 only)."),
    Field::new("readonly_root_filesystem", Type::Bool)
        .doc("Whether the root file system is read-only."),
    Field::new("interactive", Type::Bool).doc("Keep stdin open (docker run -i)."),
    Field::new("pseudo_terminal", Type::Bool).doc("Allocate a TTY (docker run -t)."),
    Field::new("disable_networking", Type::Bool)
        .doc("Turn networking off inside the container (EC2 only)."),
    Field::new("hostname", Type::String).doc("The container's hostname (not in awsvpc mode)."),
    Field::new("dns_servers", Type::List(&Type::String)).doc("DNS servers, in order (EC2 only)."),
    Field::new("dns_search_domains", Type::List(&Type::String))
        .doc("DNS search domains, in order (EC2 only)."),
    Field::new("docker_security_options", Type::Set(&Type::String))
        .doc("SELinux and AppArmor labels (EC2 only), e.g. [\"no-new-privileges\"]."),
    Field::new("links", Type::Set(&Type::String))
        .doc("Links to other containers, `name:alias` (bridge mode only)."),
];

// ---- reading: AWS → values ------------------------------------------------

fn strings(l: &[String]) -> Value {
    Value::from(l.to_vec())
}

fn string_map(m: Option<&HashMap<String, String>>) -> Value {
    let m: BTreeMap<String, String> = m
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Value::from(m)
}

fn efs_value(e: &EfsVolumeConfiguration) -> Value {
    table([
        ("file_system_id", Value::str(e.file_system_id())),
        ("root_directory", e.root_directory().into()),
        (
            "transit_encryption",
            e.transit_encryption()
                .map(EfsTransitEncryption::as_str)
                .into(),
        ),
        (
            "transit_encryption_port",
            e.transit_encryption_port().into(),
        ),
        (
            "authorization_config",
            e.authorization_config()
                .map(|a| {
                    table([
                        ("access_point_id", a.access_point_id().into()),
                        ("iam", a.iam().map(EfsAuthorizationConfigIam::as_str).into()),
                    ])
                })
                .unwrap_or_default(),
        ),
    ])
}

fn volume_value(v: &Volume) -> Value {
    table([
        ("name", v.name().into()),
        ("host_path", v.host().and_then(|h| h.source_path()).into()),
        (
            "efs_volume_configuration",
            v.efs_volume_configuration()
                .map(efs_value)
                .unwrap_or_default(),
        ),
        (
            "docker_volume_configuration",
            v.docker_volume_configuration()
                .map(|d| {
                    table([
                        ("scope", d.scope().map(Scope::as_str).into()),
                        ("autoprovision", d.autoprovision().into()),
                        ("driver", d.driver().into()),
                        ("driver_opts", string_map(d.driver_opts())),
                        ("labels", string_map(d.labels())),
                    ])
                })
                .unwrap_or_default(),
        ),
    ])
}

/// The task-level fields of this module as AWS reports them.
pub fn task_values(td: &TaskDefinition) -> Vec<(&'static str, Value)> {
    vec![
        (
            "volumes",
            Value::List(td.volumes().iter().map(volume_value).collect()),
        ),
        (
            "placement_constraints",
            Value::List(
                td.placement_constraints()
                    .iter()
                    .map(|p| {
                        table([
                            (
                                "type",
                                p.r#type()
                                    .map(TaskDefinitionPlacementConstraintType::as_str)
                                    .into(),
                            ),
                            ("expression", p.expression().into()),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "ephemeral_storage",
            td.ephemeral_storage()
                .map(EphemeralStorage::size_in_gib)
                .into(),
        ),
        (
            "runtime_platform",
            td.runtime_platform()
                .map(|r| {
                    table([
                        (
                            "operating_system_family",
                            r.operating_system_family().map(OsFamily::as_str).into(),
                        ),
                        (
                            "cpu_architecture",
                            r.cpu_architecture().map(CpuArchitecture::as_str).into(),
                        ),
                    ])
                })
                .unwrap_or_default(),
        ),
        (
            "proxy_configuration",
            td.proxy_configuration()
                .map(|p| {
                    let properties: BTreeMap<String, String> = p
                        .properties()
                        .iter()
                        .filter_map(|kv| Some((kv.name()?.to_owned(), kv.value()?.to_owned())))
                        .collect();
                    table([
                        (
                            "type",
                            p.r#type().map(ProxyConfigurationType::as_str).into(),
                        ),
                        ("container_name", Value::str(p.container_name())),
                        ("properties", Value::from(properties)),
                    ])
                })
                .unwrap_or_default(),
        ),
        ("pid_mode", td.pid_mode().map(PidMode::as_str).into()),
        ("ipc_mode", td.ipc_mode().map(IpcMode::as_str).into()),
    ]
}

fn linux_value(l: &LinuxParameters) -> Value {
    table([
        (
            "capabilities",
            l.capabilities()
                .map(|c| table([("add", strings(c.add())), ("drop", strings(c.drop()))]))
                .unwrap_or_default(),
        ),
        (
            "devices",
            Value::List(
                l.devices()
                    .iter()
                    .map(|d| {
                        table([
                            ("host_path", Value::str(d.host_path())),
                            ("container_path", d.container_path().into()),
                            (
                                "permissions",
                                Value::List(
                                    d.permissions()
                                        .iter()
                                        .map(|p| Value::str(p.as_str()))
                                        .collect(),
                                ),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("init_process_enabled", l.init_process_enabled().into()),
        ("shared_memory_size", l.shared_memory_size().into()),
        (
            "tmpfs",
            Value::List(
                l.tmpfs()
                    .iter()
                    .map(|t| {
                        table([
                            ("container_path", Value::str(t.container_path())),
                            ("size", Value::from(t.size())),
                            ("mount_options", strings(t.mount_options())),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("max_swap", l.max_swap().into()),
        ("swappiness", l.swappiness().into()),
    ])
}

/// The container fields of this module as AWS reports them.
pub fn container_values(c: &ContainerDefinition) -> Vec<(&'static str, Value)> {
    let list = Value::List;
    let pairs =
        |name: &'static str, value: &'static str, items: Vec<(Option<&str>, Option<&str>)>| {
            Value::List(
                items
                    .into_iter()
                    .map(|(a, b)| table([(name, a.into()), (value, b.into())]))
                    .collect(),
            )
        };
    vec![
        (
            "mount_points",
            list(
                c.mount_points()
                    .iter()
                    .map(|m| {
                        table([
                            ("source_volume", m.source_volume().into()),
                            ("container_path", m.container_path().into()),
                            ("read_only", Value::Bool(m.read_only().unwrap_or(false))),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "volumes_from",
            list(
                c.volumes_from()
                    .iter()
                    .map(|v| {
                        table([
                            ("source_container", v.source_container().into()),
                            ("read_only", Value::Bool(v.read_only().unwrap_or(false))),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "depends_on",
            pairs(
                "container_name",
                "condition",
                c.depends_on()
                    .iter()
                    .map(|d| (Some(d.container_name()), Some(d.condition().as_str())))
                    .collect(),
            ),
        ),
        (
            "ulimits",
            list(
                c.ulimits()
                    .iter()
                    .map(|u| {
                        table([
                            ("name", Value::str(u.name().as_str())),
                            ("soft_limit", Value::from(u.soft_limit())),
                            ("hard_limit", Value::from(u.hard_limit())),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "linux_parameters",
            c.linux_parameters().map(linux_value).unwrap_or_default(),
        ),
        (
            "extra_hosts",
            pairs(
                "hostname",
                "ip_address",
                c.extra_hosts()
                    .iter()
                    .map(|h| (Some(h.hostname()), Some(h.ip_address())))
                    .collect(),
            ),
        ),
        ("docker_labels", string_map(c.docker_labels())),
        (
            "system_controls",
            pairs(
                "namespace",
                "value",
                c.system_controls()
                    .iter()
                    .map(|s| (s.namespace(), s.value()))
                    .collect(),
            ),
        ),
        (
            "firelens_configuration",
            c.firelens_configuration()
                .map(|f| {
                    table([
                        ("type", Value::str(f.r#type().as_str())),
                        ("options", string_map(f.options())),
                    ])
                })
                .unwrap_or_default(),
        ),
        (
            "repository_credentials",
            c.repository_credentials()
                .map(|r| {
                    table([(
                        "credentials_parameter",
                        Value::str(r.credentials_parameter()),
                    )])
                })
                .unwrap_or_default(),
        ),
        (
            "resource_requirements",
            pairs(
                "type",
                "value",
                c.resource_requirements()
                    .iter()
                    .map(|r| (Some(r.r#type().as_str()), Some(r.value())))
                    .collect(),
            ),
        ),
        (
            "environment_files",
            pairs(
                "value",
                "type",
                c.environment_files()
                    .iter()
                    .map(|e| (Some(e.value()), Some(e.r#type().as_str())))
                    .collect(),
            ),
        ),
        ("start_timeout", c.start_timeout().into()),
        ("stop_timeout", c.stop_timeout().into()),
        ("user", c.user().into()),
        ("privileged", Value::Bool(c.privileged().unwrap_or(false))),
        (
            "readonly_root_filesystem",
            Value::Bool(c.readonly_root_filesystem().unwrap_or(false)),
        ),
        ("interactive", Value::Bool(c.interactive().unwrap_or(false))),
        (
            "pseudo_terminal",
            Value::Bool(c.pseudo_terminal().unwrap_or(false)),
        ),
        (
            "disable_networking",
            Value::Bool(c.disable_networking().unwrap_or(false)),
        ),
        ("hostname", c.hostname().into()),
        ("dns_servers", strings(c.dns_servers())),
        ("dns_search_domains", strings(c.dns_search_domains())),
        (
            "docker_security_options",
            strings(c.docker_security_options()),
        ),
        ("links", strings(c.links())),
    ]
}

// ---- writing: values → AWS ------------------------------------------------

fn build_err(e: aws_smithy_types::error::operation::BuildError) -> ApiError {
    ApiError::msg(e.to_string())
}

/// A field of a table, unless unset.
fn get<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_map()
        .and_then(|m| m.get(name))
        .filter(|v| !v.is_null())
}

fn bool_field(v: &Value, name: &str) -> Option<bool> {
    get(v, name).and_then(Value::as_bool)
}

/// The items of a list field (none when unset).
fn items<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    get(v, name).map(Value::as_list).unwrap_or_default()
}

/// A list of strings, `None` when empty (AWS reports an empty list the
/// same as none).
fn string_list(v: &Value, name: &str) -> Option<Vec<String>> {
    Some(get(v, name)?.str_list()).filter(|l| !l.is_empty())
}

fn hash_map(v: &Value, name: &str) -> Option<HashMap<String, String>> {
    let m: HashMap<String, String> = get(v, name)?.str_map().into_iter().collect();
    (!m.is_empty()).then_some(m)
}

/// `Some(list)` unless empty.
fn nonempty<T>(l: Vec<T>) -> Option<Vec<T>> {
    (!l.is_empty()).then_some(l)
}

fn efs_configuration(e: &Value) -> ApiResult<EfsVolumeConfiguration> {
    let auth = get(e, "authorization_config").map(|a| {
        EfsAuthorizationConfig::builder()
            .set_access_point_id(str_field(Some(a), "access_point_id"))
            .set_iam(str_field(Some(a), "iam").map(|s| EfsAuthorizationConfigIam::from(s.as_str())))
            .build()
    });
    EfsVolumeConfiguration::builder()
        .set_file_system_id(str_field(Some(e), "file_system_id"))
        .set_root_directory(str_field(Some(e), "root_directory"))
        .set_transit_encryption(
            str_field(Some(e), "transit_encryption")
                .map(|s| EfsTransitEncryption::from(s.as_str())),
        )
        .set_transit_encryption_port(int_field(Some(e), "transit_encryption_port")?)
        .set_authorization_config(auth)
        .build()
        .map_err(build_err)
}

fn volume(v: &Value) -> ApiResult<Volume> {
    let docker = get(v, "docker_volume_configuration").map(|d| {
        DockerVolumeConfiguration::builder()
            .set_scope(str_field(Some(d), "scope").map(|s| Scope::from(s.as_str())))
            .set_autoprovision(bool_field(d, "autoprovision"))
            .set_driver(str_field(Some(d), "driver"))
            .set_driver_opts(hash_map(d, "driver_opts"))
            .set_labels(hash_map(d, "labels"))
            .build()
    });
    let host = str_field(Some(v), "host_path")
        .map(|p| HostVolumeProperties::builder().source_path(p).build());
    Ok(Volume::builder()
        .set_name(str_field(Some(v), "name"))
        .set_host(host)
        .set_efs_volume_configuration(
            get(v, "efs_volume_configuration")
                .map(efs_configuration)
                .transpose()?,
        )
        .set_docker_volume_configuration(docker)
        .build())
}

/// The task-level fields of this module on a RegisterTaskDefinition call.
pub fn register_parts(
    call: RegisterTaskDefinitionFluentBuilder,
    desired: &crate::value::Attrs,
) -> ApiResult<RegisterTaskDefinitionFluentBuilder> {
    let task = Value::Map(desired.clone());
    let volumes = items(&task, "volumes")
        .iter()
        .map(volume)
        .collect::<ApiResult<Vec<_>>>()?;
    let constraints = items(&task, "placement_constraints")
        .iter()
        .map(|p| {
            TaskDefinitionPlacementConstraint::builder()
                .r#type(TaskDefinitionPlacementConstraintType::from(
                    str_field(Some(p), "type").as_deref().unwrap_or("memberOf"),
                ))
                .set_expression(str_field(Some(p), "expression"))
                .build()
        })
        .collect();
    let runtime = get(&task, "runtime_platform").map(|r| {
        RuntimePlatform::builder()
            .set_operating_system_family(
                str_field(Some(r), "operating_system_family").map(|s| OsFamily::from(s.as_str())),
            )
            .set_cpu_architecture(
                str_field(Some(r), "cpu_architecture").map(|s| CpuArchitecture::from(s.as_str())),
            )
            .build()
    });
    let proxy = get(&task, "proxy_configuration")
        .map(|p| {
            let properties = get(p, "properties")
                .map(Value::str_map)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
                .collect();
            ProxyConfiguration::builder()
                .set_type(
                    str_field(Some(p), "type").map(|t| ProxyConfigurationType::from(t.as_str())),
                )
                .set_container_name(str_field(Some(p), "container_name"))
                .set_properties(Some(properties))
                .build()
                .map_err(build_err)
        })
        .transpose()?;
    let storage = int_field(Some(&task), "ephemeral_storage")?
        .map(|gib| EphemeralStorage::builder().size_in_gib(gib).build());
    Ok(call
        .set_volumes(nonempty(volumes))
        .set_placement_constraints(nonempty(constraints))
        .set_runtime_platform(runtime)
        .set_proxy_configuration(proxy)
        .set_ephemeral_storage(storage)
        .set_pid_mode(str_field(Some(&task), "pid_mode").map(|m| PidMode::from(m.as_str())))
        .set_ipc_mode(str_field(Some(&task), "ipc_mode").map(|m| IpcMode::from(m.as_str()))))
}

fn linux_parameters(l: &Value) -> ApiResult<LinuxParameters> {
    let capabilities = get(l, "capabilities").map(|c| {
        KernelCapabilities::builder()
            .set_add(string_list(c, "add"))
            .set_drop(string_list(c, "drop"))
            .build()
    });
    let devices = items(l, "devices")
        .iter()
        .map(|d| {
            let permissions = string_list(d, "permissions").map(|p| {
                p.iter()
                    .map(|p| DeviceCgroupPermission::from(p.as_str()))
                    .collect()
            });
            Device::builder()
                .set_host_path(str_field(Some(d), "host_path"))
                .set_container_path(str_field(Some(d), "container_path"))
                .set_permissions(permissions)
                .build()
                .map_err(build_err)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let tmpfs = items(l, "tmpfs")
        .iter()
        .map(|t| {
            Tmpfs::builder()
                .set_container_path(str_field(Some(t), "container_path"))
                .set_size(int_field(Some(t), "size")?)
                .set_mount_options(string_list(t, "mount_options"))
                .build()
                .map_err(build_err)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(LinuxParameters::builder()
        .set_capabilities(capabilities)
        .set_devices(nonempty(devices))
        .set_init_process_enabled(bool_field(l, "init_process_enabled"))
        .set_shared_memory_size(int_field(Some(l), "shared_memory_size")?)
        .set_tmpfs(nonempty(tmpfs))
        .set_max_swap(int_field(Some(l), "max_swap")?)
        .set_swappiness(int_field(Some(l), "swappiness")?)
        .build())
}

/// The container fields of this module on a container definition.
pub fn container_parts(
    b: ContainerDefinitionBuilder,
    c: &Value,
) -> ApiResult<ContainerDefinitionBuilder> {
    let s = |name: &str| str_field(Some(c), name);
    let mount_points = items(c, "mount_points")
        .iter()
        .map(|m| {
            MountPoint::builder()
                .set_source_volume(str_field(Some(m), "source_volume"))
                .set_container_path(str_field(Some(m), "container_path"))
                .set_read_only(bool_field(m, "read_only"))
                .build()
        })
        .collect();
    let volumes_from = items(c, "volumes_from")
        .iter()
        .map(|v| {
            VolumeFrom::builder()
                .set_source_container(str_field(Some(v), "source_container"))
                .set_read_only(bool_field(v, "read_only"))
                .build()
        })
        .collect();
    let depends_on = items(c, "depends_on")
        .iter()
        .map(|d| {
            ContainerDependency::builder()
                .set_container_name(str_field(Some(d), "container_name"))
                .set_condition(
                    str_field(Some(d), "condition").map(|s| ContainerCondition::from(s.as_str())),
                )
                .build()
                .map_err(build_err)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let ulimits = items(c, "ulimits")
        .iter()
        .map(|u| {
            Ulimit::builder()
                .set_name(str_field(Some(u), "name").map(|s| UlimitName::from(s.as_str())))
                .set_soft_limit(int_field(Some(u), "soft_limit")?)
                .set_hard_limit(int_field(Some(u), "hard_limit")?)
                .build()
                .map_err(build_err)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let extra_hosts = items(c, "extra_hosts")
        .iter()
        .map(|h| {
            HostEntry::builder()
                .set_hostname(str_field(Some(h), "hostname"))
                .set_ip_address(str_field(Some(h), "ip_address"))
                .build()
                .map_err(build_err)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let system_controls = items(c, "system_controls")
        .iter()
        .map(|s| {
            SystemControl::builder()
                .set_namespace(str_field(Some(s), "namespace"))
                .set_value(str_field(Some(s), "value"))
                .build()
        })
        .collect();
    let firelens = get(c, "firelens_configuration")
        .map(|f| {
            FirelensConfiguration::builder()
                .set_type(
                    str_field(Some(f), "type").map(|t| FirelensConfigurationType::from(t.as_str())),
                )
                .set_options(hash_map(f, "options"))
                .build()
                .map_err(build_err)
        })
        .transpose()?;
    let credentials = get(c, "repository_credentials")
        .map(|r| {
            RepositoryCredentials::builder()
                .set_credentials_parameter(str_field(Some(r), "credentials_parameter"))
                .build()
                .map_err(build_err)
        })
        .transpose()?;
    let requirements = items(c, "resource_requirements")
        .iter()
        .map(|r| {
            ResourceRequirement::builder()
                .set_type(str_field(Some(r), "type").map(|t| ResourceType::from(t.as_str())))
                .set_value(str_field(Some(r), "value"))
                .build()
                .map_err(build_err)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let environment_files = items(c, "environment_files")
        .iter()
        .map(|e| {
            EnvironmentFile::builder()
                .set_value(str_field(Some(e), "value"))
                // Nested defaults are the schema's: filled here where AWS needs them.
                .r#type(EnvironmentFileType::from(
                    str_field(Some(e), "type").as_deref().unwrap_or("s3"),
                ))
                .build()
                .map_err(build_err)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(b.set_mount_points(nonempty(mount_points))
        .set_volumes_from(nonempty(volumes_from))
        .set_depends_on(nonempty(depends_on))
        .set_ulimits(nonempty(ulimits))
        .set_linux_parameters(
            get(c, "linux_parameters")
                .map(linux_parameters)
                .transpose()?,
        )
        .set_extra_hosts(nonempty(extra_hosts))
        .set_docker_labels(hash_map(c, "docker_labels"))
        .set_system_controls(nonempty(system_controls))
        .set_firelens_configuration(firelens)
        .set_repository_credentials(credentials)
        .set_resource_requirements(nonempty(requirements))
        .set_environment_files(nonempty(environment_files))
        .set_start_timeout(int_field(Some(c), "start_timeout")?)
        .set_stop_timeout(int_field(Some(c), "stop_timeout")?)
        .set_user(s("user"))
        // Flags are sent only when set: AWS reports an unsent one as absent,
        // which reads as false, the default.
        .set_privileged(bool_field(c, "privileged").filter(|b| *b))
        .set_readonly_root_filesystem(bool_field(c, "readonly_root_filesystem").filter(|b| *b))
        .set_interactive(bool_field(c, "interactive").filter(|b| *b))
        .set_pseudo_terminal(bool_field(c, "pseudo_terminal").filter(|b| *b))
        .set_disable_networking(bool_field(c, "disable_networking").filter(|b| *b))
        .set_hostname(s("hostname"))
        .set_dns_servers(string_list(c, "dns_servers"))
        .set_dns_search_domains(string_list(c, "dns_search_domains"))
        .set_docker_security_options(string_list(c, "docker_security_options"))
        .set_links(string_list(c, "links")))
}

/// The fields of `CONTAINER_FIELDS` whose empty (or false) value means unset.
const EMPTY_IS_UNSET: [&str; 18] = [
    "mount_points",
    "volumes_from",
    "depends_on",
    "ulimits",
    "extra_hosts",
    "docker_labels",
    "system_controls",
    "resource_requirements",
    "environment_files",
    "privileged",
    "readonly_root_filesystem",
    "interactive",
    "pseudo_terminal",
    "disable_networking",
    "dns_servers",
    "dns_search_domains",
    "docker_security_options",
    "links",
];

/// Drops what AWS reports for a container setting never made (an empty
/// list or table, a false flag), and what means nothing in the Linux
/// parameters: capabilities with nothing added or dropped.
pub fn canonical_parts(m: &mut BTreeMap<String, Value>) {
    m.retain(|k, v| {
        !EMPTY_IS_UNSET.contains(&k.as_str())
            || !matches!(v, Value::Bool(false) | Value::Null)
                && !matches!(v, Value::List(l) if l.is_empty())
                && !matches!(v, Value::Map(t) if t.is_empty())
    });
    canonical_linux(m);
}

/// Capabilities with nothing added or dropped mean none were set.
fn canonical_linux(m: &mut BTreeMap<String, Value>) {
    let Some(Value::Map(l)) = m.get_mut("linux_parameters") else {
        return;
    };
    let empty = |v: Option<&Value>| v.is_none_or(|v| v.as_list().is_empty());
    if let Some(Value::Map(c)) = l.get("capabilities")
        && empty(c.get("add"))
        && empty(c.get("drop"))
    {
        l.remove("capabilities");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Attrs;

    fn task(text: &str) -> Attrs {
        let t: toml::Table = toml::from_str(text).unwrap();
        let j = serde_json::to_value(t).unwrap();
        match Value::from_json(&j) {
            Value::Map(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn task_volumes_and_settings_read_back_as_they_were_written() {
        let written = task(
            r#"
            volumes = [
              { name = "host", host_path = "/var/data" },
              { name = "bind" },
              { name = "docker", docker_volume_configuration = { scope = "shared", autoprovision = true, driver = "local", driver_opts = { type = "tmpfs" }, labels = { a = "b" } } },
              { name = "efs", efs_volume_configuration = { file_system_id = "fs-1", transit_encryption = "ENABLED", transit_encryption_port = 2999, authorization_config = { access_point_id = "fsap-1", iam = "ENABLED" } } },
            ]
            placement_constraints = [{ expression = "attribute:ecs.os-type == linux" }]
            runtime_platform = { operating_system_family = "LINUX", cpu_architecture = "ARM64" }
            proxy_configuration = { container_name = "envoy", properties = { AppPorts = "80" } }
            pid_mode = "task"
            ipc_mode = "none"
            ephemeral_storage = 30
            "#,
        );
        let given = Value::Map(written.clone());
        let volumes = items(&given, "volumes")
            .iter()
            .map(volume)
            .collect::<ApiResult<Vec<_>>>()
            .unwrap();
        let td = TaskDefinition::builder()
            .set_volumes(Some(volumes))
            .placement_constraints(
                TaskDefinitionPlacementConstraint::builder()
                    .r#type(TaskDefinitionPlacementConstraintType::MemberOf)
                    .expression("attribute:ecs.os-type == linux")
                    .build(),
            )
            .runtime_platform(
                RuntimePlatform::builder()
                    .operating_system_family(OsFamily::Linux)
                    .cpu_architecture(CpuArchitecture::Arm64)
                    .build(),
            )
            .proxy_configuration(
                ProxyConfiguration::builder()
                    .r#type(ProxyConfigurationType::Appmesh)
                    .container_name("envoy")
                    .properties(KeyValuePair::builder().name("AppPorts").value("80").build())
                    .build()
                    .unwrap(),
            )
            .pid_mode(PidMode::Task)
            .ipc_mode(IpcMode::None)
            .ephemeral_storage(EphemeralStorage::builder().size_in_gib(30).build())
            .build();
        let read: Attrs = task_values(&td)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let schema = crate::kinds::lookup("ecs_task_definition")
            .unwrap()
            .schema();
        for (name, want) in &written {
            let f = schema.field(name).unwrap();
            assert_eq!(f.ty.normalize(&read[name]), f.ty.normalize(want), "{name}");
        }
        // AWS's defaults (EFS root "/", IAM and transit encryption off,
        // Docker scope "task") equal what was left unset.
        let bare = Value::Map(
            task(r#"v = { name = "efs", efs_volume_configuration = { file_system_id = "fs-1" } }"#)
                ["v"]
                .as_map()
                .unwrap()
                .clone(),
        );
        let aws = Volume::builder()
            .name("efs")
            .efs_volume_configuration(
                EfsVolumeConfiguration::builder()
                    .file_system_id("fs-1")
                    .root_directory("/")
                    .transit_encryption(EfsTransitEncryption::Disabled)
                    .build()
                    .unwrap(),
            )
            .build();
        let ty = Type::Object(VOLUME);
        assert_eq!(ty.normalize(&volume_value(&aws)), ty.normalize(&bare));
    }
}
