//! `ecs_service`: keeps a number of copies of a task definition running in
//! a cluster, optionally behind load balancer target groups.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    LaunchType, LoadBalancer, NetworkConfiguration, PlacementConstraint, PlacementConstraintType,
    PlacementStrategy, PlacementStrategyType, PropagateTags, Service, ServiceField,
    ServiceRegistry,
};

use super::cluster::cluster_name;
use super::deployment;
use super::{READ_CONCURRENCY, STRATEGY, strategy_items, strategy_value};
use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, Poll, Waiter, bool_attr, create_tags, find_by_address, found, int_field, pages,
    str_attr, str_field, table, tag_pairs, tags_value, to_i32,
};
use crate::kinds::{
    ApiResult, Changes, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update, default_name,
};
use crate::schema::PORT;
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct EcsService;

/// DescribeServices takes at most 10 services, all of one cluster.
const DESCRIBE_CHUNK: usize = 10;

/// How a read describes many services of one cluster.
const BATCH: Batch = Batch::of(DESCRIBE_CHUNK).concurrent(READ_CONCURRENCY);

/// How long a just-created IAM role may be unusable for ECS (see `create`).
const IAM_PROPAGATION: std::time::Duration = std::time::Duration::from_mins(2);

const NETWORK: &[Field] = &[
    Field::new("subnets", Type::Set(&Type::String))
        .required()
        .doc("The subnets the tasks' network interfaces go in."),
    Field::new("security_groups", Type::Set(&Type::String))
        .default(Default::EmptyList)
        .doc("The security groups of the tasks' network interfaces."),
    Field::new("assign_public_ip", Type::Bool)
        .default(Default::Bool(false))
        .doc("Whether the tasks get public IP addresses (Fargate only)."),
];

const LOAD_BALANCER: &[Field] = &[
    Field::new("target_group_arn", Type::Arn)
        .required()
        .doc("The target group the tasks are registered in."),
    Field::new("container_name", Type::String)
        .required()
        .doc("The container that receives the traffic."),
    Field::new("container_port", PORT)
        .required()
        .doc("The port of that container."),
];

const CIRCUIT_BREAKER: &[Field] = &[
    Field::new("enable", Type::Bool)
        .required()
        .doc("Whether a deployment that cannot reach steady state fails."),
    Field::new("rollback", Type::Bool)
        .required()
        .doc("Whether a failed deployment rolls back to the last completed one."),
];

const PLACEMENT_STRATEGY: &[Field] = &[
    Field::new("type", Type::String)
        .required()
        .one_of(&["random", "spread", "binpack"])
        .doc("\"spread\" (evenly over `field`), \"binpack\" (fewest instances by `field`) or \"random\"."),
    Field::new("field", Type::String).doc(
        "spread: \"instanceId\", \"host\" or an attribute such as \
         \"attribute:ecs.availability-zone\"; binpack: \"cpu\" or \"memory\".",
    ),
];

const PLACEMENT_CONSTRAINT: &[Field] = &[
    Field::new("type", Type::String)
        .required()
        .one_of(&["distinctInstance", "memberOf"])
        .doc("\"distinctInstance\" (one task per instance) or \"memberOf\" (instances matching `expression`)."),
    Field::new("expression", Type::String)
        .doc("For memberOf: a cluster query, e.g. \"attribute:ecs.instance-type =~ t3.*\"."),
];

const SERVICE_REGISTRY: &[Field] = &[
    Field::new("registry_arn", Type::Arn)
        .example("\"${service_discovery_service.example.arn}\"")
        .required()
        .doc("The Cloud Map service the tasks are registered in, e.g. `${service_discovery_service.worker.arn}`."),
    Field::new("port", PORT).doc("The port of SRV records (awsvpc network mode)."),
    Field::new("container_name", Type::String)
        .doc("With SRV records in bridge or host mode: the container whose port is registered."),
    Field::new("container_port", PORT).doc("That container's port."),
];

static SCHEMA: Schema = Schema {
    kind: "ecs_service",
    service: super::SERVICE,
    // Deployments and draining take minutes.
    timeouts: Timeouts::minutes(20, 20, 20),
    description: "An ECS service: keeps copies of a task definition running in a cluster.",
    fields: &[
        Field::stack_name("name", crate::kinds::names::ECS)
            .doc("The service name; by default `<stack>-<resource name>`. Exported too."),
        Field::new("cluster", Type::String)
            .example("\"${ecs_cluster.example.arn}\"")
            .required()
            .force_new()
            .doc("The cluster, by ARN or name."),
        Field::new("task_definition", Type::String)
            .example("\"${ecs_task_definition.example.arn}\"").required().doc(
            "The revision to run: its ARN or `family:revision` (a bare family would \
                  always differ from the revision AWS reports).",
        ),
        Field::new("desired_count", Type::Int)
            .default(Default::Int(1))
            .doc("How many tasks to keep running. When an `appautoscaling_target` scales the service, the count it is created with: afterwards the live count is kept within the target's range."),
        Field::new("launch_type", Type::String)
            .force_new()
            .one_of(&["EC2", "FARGATE", "EXTERNAL"])
            .doc("\"FARGATE\" or \"EC2\"; leave unset to use a capacity provider strategy."),
        Field::new(
            "capacity_provider_strategy",
            Type::List(&Type::Object(STRATEGY)),
        )
        // No default: a service given neither this nor a launch type gets
        // the cluster's default strategy, and AWS reports that strategy as
        // the service's. An empty default would differ from it on every
        // plan and force a new deployment on every apply.
        .doc("Where tasks run, instead of a launch type; unset, the cluster's default applies."),
        Field::new("network_configuration", Type::Object(NETWORK))
            .unset_is_null()
            .doc("Subnets and security groups of the tasks (awsvpc network mode)."),
        Field::new("load_balancers", Type::Set(&Type::Object(LOAD_BALANCER)))
            .default(Default::EmptyList)
            .doc("Target groups the tasks are registered in."),
        Field::new("health_check_grace_period", Type::Int)
            .doc("Seconds load balancer health checks are ignored after a task starts."),
        Field::new("deployment_minimum_healthy_percent", Type::Int)
            .default(Default::Int(100))
            .doc("Lower limit of running tasks during a deployment, in percent of desired_count."),
        Field::new("deployment_maximum_percent", Type::Int)
            .default(Default::Int(200))
            .doc("Upper limit of tasks during a deployment, in percent of desired_count."),
        Field::new("deployment_circuit_breaker", Type::Object(CIRCUIT_BREAKER))
            .doc("Whether failing deployments stop, and roll back."),
        Field::new("wait_for_steady_state", Type::Bool)
            .default(Default::Bool(true))
            .client_only()
            .doc(
                "Whether create and update wait until the deployment is done and every task \
                  runs the new revision, showing its progress; a deployment that fails, rolls \
                  back or times out fails the apply (exit code 3) with its stopped tasks, \
                  unhealthy targets and last log lines. `false` (or `apply --no-wait`) returns \
                  once ECS took the change. Not sent to AWS and never a difference.",
            ),
        Field::new("enable_execute_command", Type::Bool)
            .default(Default::Bool(false))
            .doc("Whether `aws ecs execute-command` may open shells in the tasks."),
        Field::new("placement_strategy", Type::List(&Type::Object(PLACEMENT_STRATEGY)))
            .default(Default::EmptyList)
            .max_items(5)
            .doc("How tasks are spread over container instances (EC2), in order of priority."),
        Field::new("placement_constraints", Type::Set(&Type::Object(PLACEMENT_CONSTRAINT)))
            .default(Default::EmptyList)
            .max_items(10)
            .doc("Which container instances may run the tasks (EC2)."),
        Field::new("service_registries", Type::Set(&Type::Object(SERVICE_REGISTRY)))
            .default(Default::EmptyList)
            .max_items(1)
            .doc("The Cloud Map service (`service_discovery_service`) the tasks register in, so that others find them by DNS."),
        Field::new("propagate_tags", Type::String)
            .default(Default::Str("NONE"))
            .one_of(&["NONE", "SERVICE", "TASK_DEFINITION"])
            .doc("Whose tags the tasks get: \"SERVICE\", \"TASK_DEFINITION\" or \"NONE\"."),
        Field::new("enable_ecs_managed_tags", Type::Bool)
            .default(Default::Bool(false))
            .doc("Whether ECS tags the tasks with the cluster and service names."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the service (also its id)."),
    ],
};

impl EcsService {
    /// Services of one cluster (at most `DESCRIBE_CHUNK`, by ARN or name)
    /// with their tags, keyed by the id asked for. Services that are
    /// DRAINING or INACTIVE (deleted), or whose cluster is gone, are absent.
    async fn describe(
        &self,
        cx: Ctx<'_>,
        cluster: &str,
        ids: &[String],
    ) -> ApiResult<Vec<(String, Attrs)>> {
        let out = cx
            .aws
            .ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(ids.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(ApiError::from);
        let out = match out {
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            other => other?,
        };
        Ok(out
            .services()
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
            .flat_map(|s| {
                let arn = s.service_arn().unwrap_or_default();
                let name = s.service_name().unwrap_or_default();
                ids.iter()
                    .filter(move |id| id.as_str() == arn || id.as_str() == name)
                    .map(move |id| (id.clone(), service_attrs(s)))
            })
            .collect())
    }

    /// One service as DescribeServices reports it, whatever its status.
    async fn describe_raw(
        &self,
        cx: Ctx<'_>,
        cluster: &str,
        id: &str,
    ) -> ApiResult<Option<Service>> {
        deployment::describe(cx, cluster, id).await
    }

    /// Waits until the deployment of `desired`'s revision is done (see
    /// `deployment::wait`: progress, and a failure that says why).
    async fn wait_steady(
        &self,
        cx: Ctx<'_>,
        cluster: &str,
        id: &str,
        desired: &Attrs,
        timeout: std::time::Duration,
    ) -> ApiResult<()> {
        let revision = str_attr(desired, "task_definition").unwrap_or_default();
        deployment::wait(cx, cluster, id, &revision, timeout).await
    }

    /// Every change to `desired` in one UpdateService call. Returns whether
    /// UpdateService was called (a deployment may have started).
    async fn apply_changes(
        &self,
        cx: Ctx<'_>,
        id: &str,
        desired: &Attrs,
        changed: &Changes,
    ) -> ApiResult<bool> {
        let c = |f: &str| changed.sets(f);
        let mut call = cx
            .aws
            .ecs
            .update_service()
            .cluster(cluster_of(id, desired))
            .service(id);
        let mut any = false;
        if c("task_definition") {
            call = call.set_task_definition(str_attr(desired, "task_definition"));
            any = true;
        }
        if c("desired_count") {
            call = call.set_desired_count(to_i32(
                desired.get("desired_count").unwrap_or(&Value::Null),
                "desired_count",
            )?);
            any = true;
        }
        if c("capacity_provider_strategy") {
            // A new strategy only applies to new tasks: start a deployment.
            call = call
                .set_capacity_provider_strategy(Some(strategy_items(
                    desired.get("capacity_provider_strategy"),
                )?))
                .force_new_deployment(true);
            any = true;
        }
        if c("network_configuration") {
            call = call.set_network_configuration(network_configuration(
                desired.get("network_configuration"),
            )?);
            any = true;
        }
        if c("load_balancers") {
            call = call.set_load_balancers(Some(load_balancers(desired.get("load_balancers"))?));
            any = true;
        }
        if c("health_check_grace_period") {
            call = call.set_health_check_grace_period_seconds(to_i32(
                desired
                    .get("health_check_grace_period")
                    .unwrap_or(&Value::Null),
                "health_check_grace_period",
            )?);
            any = true;
        }
        if c("deployment_minimum_healthy_percent")
            || c("deployment_maximum_percent")
            || c("deployment_circuit_breaker")
        {
            call = call.deployment_configuration(deployment_configuration(desired)?);
            any = true;
        }
        if c("enable_execute_command") {
            call = call.set_enable_execute_command(bool_attr(desired, "enable_execute_command"));
            any = true;
        }
        // An empty list clears what is set: sent as it is.
        if c("placement_strategy") {
            call = call.set_placement_strategy(Some(placement_strategy(desired)));
            any = true;
        }
        if c("placement_constraints") {
            call = call.set_placement_constraints(Some(placement_constraints(desired)));
            any = true;
        }
        if c("service_registries") {
            call = call.set_service_registries(Some(service_registries(desired)?));
            any = true;
        }
        if c("propagate_tags") {
            call = call.set_propagate_tags(propagate_tags(desired));
            any = true;
        }
        if c("enable_ecs_managed_tags") {
            call = call.set_enable_ecs_managed_tags(bool_attr(desired, "enable_ecs_managed_tags"));
            any = true;
        }
        if any {
            call.send().await?;
        }
        Ok(any)
    }
}

/// The cluster of a service: from its ARN
/// (`arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`), else
/// from its attributes. Services of the old ARN format
/// (`service/<service>`) created without a cluster are in `default`.
pub fn cluster_of(id: &str, attrs: &Attrs) -> String {
    let from_arn = id
        .split_once(":service/")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(cluster, _)| cluster.to_owned());
    from_arn
        .or_else(|| str_attr(attrs, "cluster").map(|c| cluster_name(&c).to_owned()))
        .unwrap_or_else(|| "default".to_owned())
}

/// `arn:aws:ecs:…:task-definition/web:3` → `web:3`; anything else as is.
fn short_task_definition(s: &str) -> &str {
    deployment::short_revision(s)
}

/// The awsvpc network configuration of a described service.
fn network_value(s: &Service) -> Value {
    s.network_configuration()
        .and_then(NetworkConfiguration::awsvpc_configuration)
        .map(|v| {
            table([
                ("subnets", Value::from(v.subnets().to_vec())),
                ("security_groups", Value::from(v.security_groups().to_vec())),
                (
                    "assign_public_ip",
                    Value::Bool(v.assign_public_ip() == Some(&AssignPublicIp::Enabled)),
                ),
            ])
        })
        .unwrap_or_default()
}

/// The target groups of a described service.
fn load_balancers_value(s: &Service) -> Value {
    Value::List(
        s.load_balancers()
            .iter()
            .filter(|lb| lb.target_group_arn().is_some())
            .map(|lb| {
                table([
                    ("target_group_arn", lb.target_group_arn().into()),
                    ("container_name", lb.container_name().into()),
                    ("container_port", lb.container_port().into()),
                ])
            })
            .collect(),
    )
}

fn service_attrs(s: &Service) -> Attrs {
    let arn = s.service_arn().unwrap_or_default();
    let deployment = s.deployment_configuration();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("name".into(), s.service_name().into());
    a.insert("cluster".into(), s.cluster_arn().into());
    a.insert("task_definition".into(), s.task_definition().into());
    a.insert("desired_count".into(), Value::from(s.desired_count()));
    a.insert(
        "launch_type".into(),
        s.launch_type().map(LaunchType::as_str).into(),
    );
    a.insert(
        "capacity_provider_strategy".into(),
        strategy_value(s.capacity_provider_strategy()),
    );
    a.insert("network_configuration".into(), network_value(s));
    a.insert("load_balancers".into(), load_balancers_value(s));
    a.insert(
        "health_check_grace_period".into(),
        s.health_check_grace_period_seconds().into(),
    );
    a.insert(
        "deployment_minimum_healthy_percent".into(),
        deployment
            .and_then(DeploymentConfiguration::minimum_healthy_percent)
            .into(),
    );
    a.insert(
        "deployment_maximum_percent".into(),
        deployment
            .and_then(DeploymentConfiguration::maximum_percent)
            .into(),
    );
    a.insert(
        "deployment_circuit_breaker".into(),
        deployment
            .and_then(DeploymentConfiguration::deployment_circuit_breaker)
            .map(|cb| {
                table([
                    ("enable", Value::Bool(cb.enable())),
                    ("rollback", Value::Bool(cb.rollback())),
                ])
            })
            .unwrap_or_default(),
    );
    a.insert(
        "enable_execute_command".into(),
        Value::Bool(s.enable_execute_command()),
    );
    a.insert(
        "placement_strategy".into(),
        Value::List(
            s.placement_strategy()
                .iter()
                .map(|p| {
                    table([
                        ("type", p.r#type().map(PlacementStrategyType::as_str).into()),
                        ("field", p.field().into()),
                    ])
                })
                .collect(),
        ),
    );
    a.insert(
        "placement_constraints".into(),
        Value::List(
            s.placement_constraints()
                .iter()
                .map(|p| {
                    table([
                        (
                            "type",
                            p.r#type().map(PlacementConstraintType::as_str).into(),
                        ),
                        ("expression", p.expression().into()),
                    ])
                })
                .collect(),
        ),
    );
    a.insert(
        "service_registries".into(),
        Value::List(
            s.service_registries()
                .iter()
                .map(|r| {
                    table([
                        ("registry_arn", r.registry_arn().into()),
                        ("port", r.port().into()),
                        ("container_name", r.container_name().into()),
                        ("container_port", r.container_port().into()),
                    ])
                })
                .collect(),
        ),
    );
    a.insert(
        "propagate_tags".into(),
        Value::str(s.propagate_tags().map_or("NONE", PropagateTags::as_str)),
    );
    a.insert(
        "enable_ecs_managed_tags".into(),
        Value::Bool(s.enable_ecs_managed_tags()),
    );
    a.insert("tags".into(), tags_value(s.tags()));
    a
}

/// The awsvpc configuration of `network_configuration` as the API takes it.
pub fn network_configuration(v: Option<&Value>) -> ApiResult<Option<NetworkConfiguration>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let get = |name: &str| v.as_map().and_then(|m| m.get(name));
    let public = get("assign_public_ip")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(
            get("subnets").map(Value::str_list).unwrap_or_default(),
        ))
        .set_security_groups(Some(
            get("security_groups")
                .map(Value::str_list)
                .unwrap_or_default(),
        ))
        .assign_public_ip(if public {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| ApiError::msg(e.to_string()))?;
    Ok(Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(vpc)
            .build(),
    ))
}

fn load_balancers(v: Option<&Value>) -> ApiResult<Vec<LoadBalancer>> {
    v.map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|lb| {
            Ok(LoadBalancer::builder()
                .set_target_group_arn(str_field(Some(lb), "target_group_arn"))
                .set_container_name(str_field(Some(lb), "container_name"))
                .set_container_port(int_field(Some(lb), "container_port")?)
                .build())
        })
        .collect()
}

fn placement_strategy(desired: &Attrs) -> Vec<PlacementStrategy> {
    desired
        .get("placement_strategy")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            PlacementStrategy::builder()
                .set_type(
                    str_field(Some(p), "type").map(|t| PlacementStrategyType::from(t.as_str())),
                )
                .set_field(str_field(Some(p), "field"))
                .build()
        })
        .collect()
}

fn placement_constraints(desired: &Attrs) -> Vec<PlacementConstraint> {
    desired
        .get("placement_constraints")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            PlacementConstraint::builder()
                .set_type(
                    str_field(Some(p), "type").map(|t| PlacementConstraintType::from(t.as_str())),
                )
                .set_expression(str_field(Some(p), "expression"))
                .build()
        })
        .collect()
}

fn service_registries(desired: &Attrs) -> ApiResult<Vec<ServiceRegistry>> {
    desired
        .get("service_registries")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            Ok(ServiceRegistry::builder()
                .set_registry_arn(str_field(Some(r), "registry_arn"))
                .set_port(int_field(Some(r), "port")?)
                .set_container_name(str_field(Some(r), "container_name"))
                .set_container_port(int_field(Some(r), "container_port")?)
                .build())
        })
        .collect()
}

fn propagate_tags(desired: &Attrs) -> Option<PropagateTags> {
    str_attr(desired, "propagate_tags").map(|p| PropagateTags::from(p.as_str()))
}

/// `Some(list)` unless empty: a create sends nothing rather than nothing set.
fn nonempty<T>(l: Vec<T>) -> Option<Vec<T>> {
    (!l.is_empty()).then_some(l)
}

fn deployment_configuration(desired: &Attrs) -> ApiResult<DeploymentConfiguration> {
    let int = |name: &str| to_i32(desired.get(name).unwrap_or(&Value::Null), name);
    let breaker = desired
        .get("deployment_circuit_breaker")
        .filter(|v| !v.is_null())
        .map(|cb| {
            let flag = |name: &str| {
                cb.as_map()
                    .and_then(|m| m.get(name))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            };
            DeploymentCircuitBreaker::builder()
                .enable(flag("enable"))
                .rollback(flag("rollback"))
                .build()
        });
    Ok(DeploymentConfiguration::builder()
        .set_minimum_healthy_percent(int("deployment_minimum_healthy_percent")?)
        .set_maximum_percent(int("deployment_maximum_percent")?)
        .set_deployment_circuit_breaker(breaker)
        .build())
}

/// Whether `desired` asks create and update to wait (the default), and
/// this run allows it (`apply --no-wait`).
fn wants_steady(desired: &Attrs) -> bool {
    desired.get("wait_for_steady_state") != Some(&Value::Bool(false)) && !crate::kinds::no_wait()
}

/// What one CreateService attempt means for the retry around it.
fn create_outcome(r: ApiResult<String>) -> ApiResult<Poll<String>> {
    match r {
        Ok(arn) => Ok(Poll::Ready(arn)),
        // IAM is eventually consistent: a role created seconds ago (the ECS
        // service-linked role on first use, a service role for a load
        // balancer) is refused for a while with this message.
        Err(e)
            if e.code.as_deref() == Some("InvalidParameterException")
                && ["role", "assume"]
                    .iter()
                    .any(|w| e.message.to_ascii_lowercase().contains(w)) =>
        {
            Ok(Poll::Pending(e.to_string()))
        }
        Err(e) => Err(e),
    }
}

/// What an UpdateService or DeleteService during a delete means: the
/// service may be gone already, or already deleting.
fn already_going(r: ApiResult<()>) -> ApiResult<()> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) if e.code.as_deref() == Some("ServiceNotActiveException") => Ok(()),
        other => other,
    }
}

#[async_trait]
impl Kind for EcsService {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::EcsTags))
    }

    /// Clusters and revisions compare by name (`web:3`), whether written as
    /// ARNs or not.
    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(Value::Str(c)) = attrs.get_mut("cluster") {
            *c = cluster_name(c).to_owned();
        }
        if let Some(Value::Str(td)) = attrs.get_mut("task_definition") {
            *td = short_task_definition(td).to_owned();
        }
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in ids {
            by_cluster
                .entry(cluster_of(id, &Attrs::new()))
                .or_default()
                .push(id.clone());
        }
        let reads = by_cluster.iter().map(|(cluster, ids)| {
            BATCH.read::<BTreeMap<_, _>, _, _, _>(ids, move |chunk| {
                self.describe(cx, cluster, chunk)
            })
        });
        let mut out = BTreeMap::new();
        for found in futures::future::try_join_all(reads).await? {
            out.extend(found);
        }
        Ok(out)
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let mut desired = desired.clone();
        self.canonicalize(&mut desired);
        let desired = &desired;
        let name = str_attr(desired, "name").unwrap_or_else(|| default_name(cx.stack, address));
        let cluster = str_attr(desired, "cluster").unwrap_or_default();
        let strategy = strategy_items(desired.get("capacity_provider_strategy"))?;
        let call = cx
            .aws
            .ecs
            .create_service()
            .cluster(&cluster)
            .service_name(&name)
            .set_task_definition(str_attr(desired, "task_definition"))
            .set_desired_count(to_i32(
                desired.get("desired_count").unwrap_or(&Value::Null),
                "desired_count",
            )?)
            .set_launch_type(str_attr(desired, "launch_type").map(|l| LaunchType::from(l.as_str())))
            .set_capacity_provider_strategy((!strategy.is_empty()).then_some(strategy))
            .set_network_configuration(network_configuration(desired.get("network_configuration"))?)
            .set_load_balancers(Some(load_balancers(desired.get("load_balancers"))?))
            .set_health_check_grace_period_seconds(to_i32(
                desired
                    .get("health_check_grace_period")
                    .unwrap_or(&Value::Null),
                "health_check_grace_period",
            )?)
            .deployment_configuration(deployment_configuration(desired)?)
            .set_enable_execute_command(bool_attr(desired, "enable_execute_command"))
            .set_placement_strategy(nonempty(placement_strategy(desired)))
            .set_placement_constraints(nonempty(placement_constraints(desired)))
            .set_service_registries(nonempty(service_registries(desired)?))
            .set_propagate_tags(propagate_tags(desired))
            .set_enable_ecs_managed_tags(bool_attr(desired, "enable_ecs_managed_tags"))
            .set_tags(Some(create_tags(cx, address, desired)?));
        let arn = Waiter::new(IAM_PROPAGATION)
            .until(&format!("ECS service {name} to be created"), || {
                let call = call.clone();
                async move {
                    let r = call.send().await.map_err(ApiError::from).and_then(|o| {
                        o.service()
                            .and_then(Service::service_arn)
                            .map(str::to_owned)
                            .ok_or_else(|| ApiError::msg("CreateService returned no ARN"))
                    });
                    create_outcome(r)
                }
            })
            .await?;
        crate::kinds::created(&arn);
        let cluster = cluster_of(&arn, desired);
        let ids = [arn.clone()];
        let created = Waiter::new(cx.timeouts(self).create)
            .until(&format!("ECS service {arn} to become active"), || async {
                let mut found = self.describe(cx, &cluster, &ids).await?;
                Ok(match found.pop() {
                    Some((_, attrs)) => Poll::Ready(attrs),
                    None => Poll::Pending("not yet active".into()),
                })
            })
            .await?;
        // What CreateService did not take as asked (the emulator ignores the
        // deployment configuration, the grace period and execute-command)
        // is set now; against AWS nothing differs and no call is made.
        let changed = Changes::between(self, &created, desired);
        self.apply_changes(cx, &arn, desired, &changed).await?;
        if wants_steady(desired) {
            self.wait_steady(cx, &cluster, &arn, desired, cx.timeouts(self).create)
                .await?;
        }
        Ok(arn)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        let mut desired = desired.clone();
        self.canonicalize(&mut desired);
        let deployed = self.apply_changes(cx, id, &desired, changed).await?;
        if deployed && wants_steady(&desired) {
            let cluster = cluster_of(id, &desired);
            self.wait_steady(cx, &cluster, id, &desired, cx.timeouts(self).update)
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, live } = op;
        let cluster = cluster_of(id, live);
        // AWS refuses to delete a service that still wants tasks.
        already_going(
            cx.aws
                .ecs
                .update_service()
                .cluster(&cluster)
                .service(id)
                .desired_count(0)
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from),
        )?;
        already_going(
            cx.aws
                .ecs
                .delete_service()
                .cluster(&cluster)
                .service(id)
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from),
        )?;
        // DRAINING until its tasks have stopped, then INACTIVE.
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("ECS service {id} to become inactive"), || async {
                Ok(match self.describe_raw(cx, &cluster, id).await? {
                    None => Poll::Ready(()),
                    Some(s) if s.status() == Some("INACTIVE") => Poll::Ready(()),
                    Some(s) => Poll::Pending(s.status().unwrap_or("unknown").to_owned()),
                })
            })
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        // ECS has no tag filter: every active service of every cluster,
        // described with its tags.
        find_by_address(cx, address, |t| async move {
            let mut ours = Vec::new();
            for cluster in pages!(cx.aws.ecs.list_clusters())? {
                // Deleted since it was listed.
                let Some(arns) = found(pages!(cx.aws.ecs.list_services().cluster(&cluster)))?
                else {
                    continue;
                };
                let services: Vec<Service> = BATCH
                    .read(&arns, |chunk| {
                        let call = cx.aws.ecs.describe_services().cluster(&cluster);
                        let call = call.set_services(Some(chunk.to_vec()));
                        async move {
                            let out = call.include(ServiceField::Tags).send().await?;
                            Ok(out.services.unwrap_or_default())
                        }
                    })
                    .await?;
                ours.extend(
                    services
                        .into_iter()
                        .filter(|s| s.status() == Some("ACTIVE") && t.matches(tag_pairs(s.tags())))
                        .filter_map(|s| s.service_arn),
                );
            }
            Ok(ours)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::Tag;

    const ARN: &str = "arn:aws:ecs:us-east-1:123:service/shop/web";

    fn err(code: &str, message: &str) -> ApiError {
        ApiError {
            code: Some(code.into()),
            message: message.into(),
            class: crate::aws::error::classify_code(code),
        }
    }

    fn canon(mut a: Attrs) -> Attrs {
        EcsService.canonicalize(&mut a);
        for f in SCHEMA.fields {
            if let Some(v) = a.get_mut(f.name) {
                *v = f.ty.normalize(v);
            }
        }
        a
    }

    fn aws_service() -> Service {
        Service::builder()
            .service_arn(ARN)
            .service_name("web")
            .cluster_arn("arn:aws:ecs:us-east-1:123:cluster/shop")
            .status("ACTIVE")
            .task_definition("arn:aws:ecs:us-east-1:123:task-definition/web:3")
            .desired_count(2)
            .running_count(2)
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                network_configuration(Some(&table([
                    (
                        "subnets",
                        Value::from(vec!["subnet-b".into(), "subnet-a".into()]),
                    ),
                    ("security_groups", Value::from(vec!["sg-1".into()])),
                ])))
                .unwrap()
                .unwrap(),
            )
            .load_balancers(
                LoadBalancer::builder()
                    .target_group_arn("arn:tg")
                    .container_name("app")
                    .container_port(80)
                    .build(),
            )
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .minimum_healthy_percent(100)
                    .maximum_percent(200)
                    .deployment_circuit_breaker(
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(true)
                            .build(),
                    )
                    .build(),
            )
            .tags(Tag::builder().key("reconcile:stack").value("shop").build())
            .build()
    }

    #[test]
    fn a_described_service_reads_as_the_inputs_that_made_it() {
        let user = SCHEMA.with_defaults(&Attrs::from([
            ("cluster".to_owned(), Value::str("shop")),
            ("task_definition".to_owned(), Value::str("web:3")),
            ("desired_count".to_owned(), Value::Int(2)),
            ("launch_type".to_owned(), Value::str("FARGATE")),
            (
                "network_configuration".to_owned(),
                table([
                    (
                        "subnets",
                        Value::from(vec!["subnet-a".into(), "subnet-b".into()]),
                    ),
                    ("security_groups", Value::from(vec!["sg-1".into()])),
                ]),
            ),
            (
                "load_balancers".to_owned(),
                Value::List(vec![table([
                    ("target_group_arn", Value::str("arn:tg")),
                    ("container_name", Value::str("app")),
                    ("container_port", Value::Int(80)),
                ])]),
            ),
            (
                "deployment_circuit_breaker".to_owned(),
                table([
                    ("enable", Value::Bool(true)),
                    ("rollback", Value::Bool(true)),
                ]),
            ),
            ("wait_for_steady_state".to_owned(), Value::Bool(true)),
        ]));
        let live = canon(service_attrs(&aws_service()));
        let desired = canon(user);
        for (name, want) in &desired {
            if SCHEMA.field(name).is_some_and(|f| !f.client_only) {
                assert_eq!(live.get(name), Some(want), "{name}");
            }
        }
        // Client-only: not read from AWS, and never a change.
        assert!(SCHEMA.field("wait_for_steady_state").unwrap().client_only);
        assert!(!live.contains_key("wait_for_steady_state"));
        assert!(wants_steady(&desired));
        assert!(!Changes::between(&EcsService, &live, &desired).has("wait_for_steady_state"));
    }

    #[test]
    fn clusters_and_revisions_compare_by_name_whether_arns_or_not() {
        let a = canon(Attrs::from([
            (
                "cluster".to_owned(),
                Value::str("arn:aws:ecs:us-east-1:1:cluster/shop"),
            ),
            (
                "task_definition".to_owned(),
                Value::str("arn:aws:ecs:us-east-1:1:task-definition/web:7"),
            ),
        ]));
        assert_eq!(a["cluster"], Value::str("shop"));
        assert_eq!(a["task_definition"], Value::str("web:7"));
        let again = canon(a.clone());
        assert_eq!(again, a, "canonicalize is idempotent");
        let mut pending = Attrs::from([("task_definition".to_owned(), Value::Unknown)]);
        EcsService.canonicalize(&mut pending);
        assert_eq!(pending["task_definition"], Value::Unknown);
    }

    #[test]
    fn the_cluster_of_a_service_comes_from_its_arn() {
        assert_eq!(cluster_of(ARN, &Attrs::new()), "shop");
        let old = "arn:aws:ecs:us-east-1:123:service/web";
        assert_eq!(cluster_of(old, &Attrs::new()), "default");
        let attrs = Attrs::from([(
            "cluster".to_owned(),
            Value::str("arn:aws:ecs:us-east-1:1:cluster/other"),
        )]);
        assert_eq!(cluster_of(old, &attrs), "other");
    }

    #[test]
    fn create_retries_only_while_iam_roles_propagate() {
        let role = err(
            "InvalidParameterException",
            "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
        );
        assert!(matches!(create_outcome(Err(role)), Ok(Poll::Pending(_))));
        let other = err("InvalidParameterException", "subnets can not be empty.");
        assert!(create_outcome(Err(other)).is_err());
        assert_eq!(
            create_outcome(Ok("arn".into())).unwrap(),
            Poll::Ready("arn".to_owned())
        );
    }

    #[test]
    fn deleting_a_service_that_is_gone_or_going_succeeds() {
        assert!(already_going(Err(err("ServiceNotFoundException", "m"))).is_ok());
        assert!(already_going(Err(err("ClusterNotFoundException", "m"))).is_ok());
        assert!(already_going(Err(err("ServiceNotActiveException", "m"))).is_ok());
        assert!(already_going(Err(err("AccessDeniedException", "m"))).is_err());
    }

    #[test]
    fn a_strategy_inherited_from_the_cluster_is_no_difference_when_unset() {
        let desired =
            SCHEMA.with_defaults(&Attrs::from([("cluster".to_owned(), Value::str("shop"))]));
        assert!(!desired.contains_key("capacity_provider_strategy"));
        let inherited = Service::builder()
            .capacity_provider_strategy(
                aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE_SPOT")
                    .weight(1)
                    .build()
                    .unwrap(),
            )
            .build();
        let live = service_attrs(&inherited);
        assert!(!Changes::between(&EcsService, &live, &desired).sets("capacity_provider_strategy"));
    }

    #[test]
    fn only_the_identity_and_launch_type_force_replacement() {
        for f in SCHEMA.inputs() {
            let replaces = matches!(f.name, "name" | "cluster" | "launch_type");
            assert_eq!(f.force_new, replaces, "{}", f.name);
        }
    }

    #[test]
    fn the_deployment_configuration_carries_every_setting() {
        let desired = SCHEMA.with_defaults(&Attrs::from([(
            "deployment_circuit_breaker".to_owned(),
            table([
                ("enable", Value::Bool(true)),
                ("rollback", Value::Bool(false)),
            ]),
        )]));
        let dc = deployment_configuration(&desired).unwrap();
        assert_eq!(dc.minimum_healthy_percent(), Some(100));
        assert_eq!(dc.maximum_percent(), Some(200));
        let cb = dc.deployment_circuit_breaker().unwrap();
        assert!(cb.enable() && !cb.rollback());
    }
}
