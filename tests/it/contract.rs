//! The contract every registered kind keeps, against the emulator, through
//! the library API: created from a minimal valid spec, it reads back equal
//! (no change to apply), is found by its address's tags in its stack and
//! not in another, is deleted, and a second delete succeeds.
//!
//! Table-driven: a kind joins by adding a row to `ROWS`. A row names the
//! rows it needs (a subnet needs `vpc.main`); those are made once, in a
//! stack of their own, and the spec refers to them through `World`.

use std::collections::BTreeMap;

use reconcile::aws::Clients;
use reconcile::kinds::{self, Changes, Create, Ctx, Delete, Kind};
use reconcile::value::{Attrs, Value};

use crate::support::{self, Emulator};

/// The stack of the kinds under test; prerequisites live in `PRE`.
const STACK: &str = "contract";
const PRE: &str = "contract-pre";
const OTHER: &str = "contract-other";

/// Which of two copies of a row a spec is for: the prerequisite or the one
/// under test. Specs use `n()` where AWS wants two copies to differ (CIDR
/// ranges, listener ports); names differ by stack already.
#[derive(Clone, Copy)]
enum Instance {
    Pre,
    Tested,
}

impl Instance {
    fn n(self) -> i64 {
        match self {
            Instance::Pre => 0,
            Instance::Tested => 1,
        }
    }
}

/// How a lost create of the kind is recovered.
#[derive(Clone, Copy, PartialEq)]
enum Found {
    /// By its `reconcile:*` tags (`find_by_address`).
    ByTags,
    /// The create is idempotent (a put): nothing to adopt, never found.
    Never,
}

struct Row {
    address: &'static str,
    /// Rows whose prerequisite copy the spec refers to.
    needs: &'static [&'static str],
    spec: fn(&World, Instance) -> Vec<(&'static str, Value)>,
    found: Found,
}

/// The prerequisites made so far: address → (id, live attributes).
#[derive(Default)]
struct World(BTreeMap<&'static str, (String, Attrs)>);

impl World {
    fn id(&self, address: &str) -> Value {
        Value::str(&self.get(address).0)
    }

    fn attr(&self, address: &str, name: &str) -> Value {
        let (_, attrs) = self.get(address);
        attrs
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("{address} has no attribute {name}: {attrs:?}"))
    }

    fn str_attr(&self, address: &str, name: &str) -> String {
        self.attr(address, name)
            .as_str()
            .unwrap_or_else(|| panic!("{address}.{name} is no string"))
            .to_owned()
    }

    fn get(&self, address: &str) -> &(String, Attrs) {
        self.0
            .get(address)
            .unwrap_or_else(|| panic!("{address} is not among the row's needs"))
    }
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

fn table(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn forward(w: &World) -> Value {
    table(&[
        ("type", s("forward")),
        ("target_group_arn", w.id("target_group.main")),
    ])
}

const ROWS: &[Row] = &[
    Row {
        address: "vpc.main",
        needs: &[],
        spec: |_, c| vec![("cidr_block", s(&format!("10.{}.0.0/16", c.n())))],
        found: Found::ByTags,
    },
    Row {
        address: "subnet.a",
        needs: &["vpc.main"],
        spec: |w, c| {
            vec![
                ("vpc_id", w.id("vpc.main")),
                ("cidr_block", s(&format!("10.0.{}.0/24", 1 + 10 * c.n()))),
                ("availability_zone", s("us-east-1a")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "subnet.b",
        needs: &["vpc.main"],
        spec: |w, c| {
            vec![
                ("vpc_id", w.id("vpc.main")),
                ("cidr_block", s(&format!("10.0.{}.0/24", 2 + 10 * c.n()))),
                ("availability_zone", s("us-east-1b")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "internet_gateway.main",
        needs: &[],
        spec: |_, _| vec![],
        found: Found::ByTags,
    },
    Row {
        address: "eip.main",
        needs: &[],
        spec: |_, _| vec![],
        found: Found::ByTags,
    },
    Row {
        address: "nat_gateway.main",
        needs: &["subnet.a", "eip.main"],
        spec: |w, _| {
            vec![
                ("subnet_id", w.id("subnet.a")),
                ("allocation_id", w.id("eip.main")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "route_table.main",
        needs: &["vpc.main"],
        spec: |w, _| vec![("vpc_id", w.id("vpc.main"))],
        found: Found::ByTags,
    },
    Row {
        address: "security_group.main",
        needs: &["vpc.main"],
        spec: |w, _| vec![("vpc_id", w.id("vpc.main"))],
        found: Found::ByTags,
    },
    Row {
        address: "security_group_ingress_rule.main",
        needs: &["security_group.main"],
        spec: |w, c| {
            vec![
                ("security_group_id", w.id("security_group.main")),
                ("from_port", Value::Int(443)),
                ("to_port", Value::Int(443)),
                ("cidr_ipv4", s(&format!("10.{}.0.0/16", 100 + c.n()))),
                ("description", s("https")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "security_group_egress_rule.main",
        needs: &["security_group.main"],
        // To the group's own members: a rule that names its own group.
        spec: |w, c| {
            vec![
                ("security_group_id", w.id("security_group.main")),
                ("from_port", Value::Int(5432 + c.n())),
                ("to_port", Value::Int(5432 + c.n())),
                ("referenced_security_group_id", w.id("security_group.main")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "vpc_endpoint.main",
        needs: &["vpc.main", "route_table.main"],
        spec: |w, _| {
            vec![
                ("vpc_id", w.id("vpc.main")),
                ("service_name", s("com.amazonaws.us-east-1.s3")),
                ("route_table_ids", list(vec![w.id("route_table.main")])),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "launch_template.main",
        needs: &[],
        spec: |_, _| {
            vec![
                ("image_id", s("ami-12c6146b")),
                ("instance_type", s("t3.micro")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "autoscaling_group.main",
        needs: &["subnet.a", "launch_template.main"],
        spec: |w, _| {
            vec![
                ("min_size", Value::Int(0)),
                ("max_size", Value::Int(1)),
                ("subnet_ids", list(vec![w.id("subnet.a")])),
                (
                    "launch_template",
                    table(&[
                        ("id", w.id("launch_template.main")),
                        ("version", s("$Latest")),
                    ]),
                ),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "ecs_capacity_provider.main",
        needs: &["autoscaling_group.main"],
        spec: |w, _| {
            vec![(
                "auto_scaling_group_arn",
                w.attr("autoscaling_group.main", "arn"),
            )]
        },
        found: Found::ByTags,
    },
    Row {
        address: "ecs_cluster.main",
        needs: &[],
        spec: |_, _| vec![],
        found: Found::ByTags,
    },
    Row {
        address: "ecs_task_definition.main",
        needs: &[],
        spec: |_, c| {
            vec![
                ("family", s(&format!("contract-{}", c.n()))),
                (
                    "container_definitions",
                    list(vec![table(&[
                        ("name", s("app")),
                        ("image", s("nginx:1.27")),
                        ("memory", Value::Int(128)),
                    ])]),
                ),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "ecs_service.main",
        needs: &["ecs_cluster.main", "ecs_task_definition.main"],
        spec: |w, _| {
            vec![
                ("cluster", w.attr("ecs_cluster.main", "arn")),
                ("task_definition", w.attr("ecs_task_definition.main", "arn")),
                ("desired_count", Value::Int(1)),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "vpc.dns",
        needs: &[],
        spec: |_, c| vec![("cidr_block", s(&format!("10.{}.0.0/16", 100 + c.n())))],
        found: Found::ByTags,
    },
    Row {
        // The emulator takes one namespace per VPC: the copy under test
        // goes in a VPC of its own.
        address: "service_discovery_namespace.main",
        needs: &["vpc.main", "vpc.dns"],
        spec: |w, c| {
            let vpc = match c {
                Instance::Pre => w.id("vpc.main"),
                Instance::Tested => w.id("vpc.dns"),
            };
            vec![
                ("name", s(&format!("contract{}.local", c.n()))),
                ("vpc", vpc),
                ("description", s("contract")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "service_discovery_service.main",
        needs: &["service_discovery_namespace.main"],
        spec: |w, c| {
            vec![
                ("name", s(&format!("worker{}", c.n()))),
                ("namespace_id", w.id("service_discovery_namespace.main")),
                (
                    "dns_records",
                    list(vec![table(&[("type", s("A")), ("ttl", Value::Int(10))])]),
                ),
                ("health_check_custom", Value::Bool(true)),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "autoscaling_policy.main",
        needs: &["autoscaling_group.main"],
        spec: |w, c| {
            vec![
                ("name", s(&format!("out-{}", c.n()))),
                (
                    "autoscaling_group_name",
                    w.attr("autoscaling_group.main", "name"),
                ),
                ("policy_type", s("StepScaling")),
                ("adjustment_type", s("ChangeInCapacity")),
                (
                    "step_adjustments",
                    list(vec![table(&[
                        ("metric_interval_lower_bound", Value::Int(0)),
                        ("scaling_adjustment", Value::Int(1)),
                    ])]),
                ),
            ]
        },
        // Policies carry no tags; a repeated put updates the same one.
        found: Found::Never,
    },
    Row {
        address: "load_balancer.main",
        needs: &["subnet.a", "subnet.b", "security_group.main"],
        spec: |w, _| {
            vec![
                ("subnet_ids", list(vec![w.id("subnet.a"), w.id("subnet.b")])),
                (
                    "security_group_ids",
                    list(vec![w.id("security_group.main")]),
                ),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "target_group.main",
        needs: &["vpc.main"],
        spec: |w, _| vec![("port", Value::Int(80)), ("vpc_id", w.id("vpc.main"))],
        found: Found::ByTags,
    },
    Row {
        address: "listener.main",
        needs: &["load_balancer.main", "target_group.main"],
        spec: |w, c| {
            vec![
                ("load_balancer_arn", w.id("load_balancer.main")),
                ("port", Value::Int(80 + 8000 * c.n())),
                ("default_action", forward(w)),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "listener_rule.main",
        needs: &["listener.main", "target_group.main"],
        spec: |w, c| {
            vec![
                ("listener_arn", w.id("listener.main")),
                ("priority", Value::Int(10 + c.n())),
                (
                    "conditions",
                    table(&[("path_patterns", list(vec![s("/contract/*")]))]),
                ),
                ("action", forward(w)),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "appautoscaling_target.main",
        needs: &["ecs_cluster.main", "ecs_service.main"],
        spec: |w, _| {
            vec![
                ("resource_id", s(&service_resource_id(w))),
                ("min_capacity", Value::Int(1)),
                ("max_capacity", Value::Int(2)),
            ]
        },
        found: Found::Never,
    },
    Row {
        address: "appautoscaling_policy.main",
        needs: &["appautoscaling_target.main"],
        spec: |w, c| {
            vec![
                ("name", s(&format!("cpu-{}", c.n()))),
                (
                    "resource_id",
                    w.attr("appautoscaling_target.main", "resource_id"),
                ),
                (
                    "predefined_metric_type",
                    s("ECSServiceAverageCPUUtilization"),
                ),
                ("target_value", Value::Int(60)),
            ]
        },
        found: Found::Never,
    },
    // iam, ecr, efs, kms, logs, rds, s3
    Row {
        address: "iam_role.main",
        needs: &[],
        spec: |_, _| {
            vec![(
                "assume_role_services",
                list(vec![s("ecs-tasks.amazonaws.com")]),
            )]
        },
        found: Found::ByTags,
    },
    Row {
        address: "iam_instance_profile.main",
        needs: &[],
        spec: |_, _| vec![],
        found: Found::ByTags,
    },
    Row {
        address: "ecr_repository.main",
        needs: &[],
        spec: |_, _| vec![],
        found: Found::ByTags,
    },
    Row {
        address: "efs_file_system.main",
        needs: &[],
        spec: |_, _| vec![],
        found: Found::ByTags,
    },
    Row {
        address: "efs_mount_target.main",
        needs: &["efs_file_system.main", "subnet.a", "security_group.main"],
        spec: |w, _| {
            vec![
                ("file_system_id", w.id("efs_file_system.main")),
                ("subnet_id", w.id("subnet.a")),
                ("security_groups", list(vec![w.id("security_group.main")])),
            ]
        },
        found: Found::Never,
    },
    Row {
        address: "kms_key.main",
        needs: &[],
        spec: |_, _| vec![],
        found: Found::ByTags,
    },
    Row {
        address: "kms_alias.main",
        needs: &["kms_key.main"],
        spec: |w, c| {
            vec![
                ("name", s(&format!("alias/contract-{}", c.n()))),
                ("target_key_id", w.id("kms_key.main")),
            ]
        },
        found: Found::Never,
    },
    Row {
        address: "log_group.main",
        needs: &[],
        spec: |_, _| vec![],
        found: Found::ByTags,
    },
    Row {
        address: "db_subnet_group.main",
        needs: &["subnet.a", "subnet.b"],
        spec: |w, _| vec![("subnet_ids", list(vec![w.id("subnet.a"), w.id("subnet.b")]))],
        found: Found::ByTags,
    },
    Row {
        address: "s3_bucket.main",
        needs: &[],
        spec: |_, _| vec![],
        found: Found::ByTags,
    },
    // sns, cloudwatch, logs metric filters, scheduler
    Row {
        address: "sns_topic.main",
        needs: &[],
        spec: |_, _| vec![("display_name", s("contract"))],
        found: Found::ByTags,
    },
    Row {
        address: "sns_topic_subscription.main",
        needs: &["sns_topic.main"],
        spec: |w, c| {
            vec![
                ("topic_arn", w.id("sns_topic.main")),
                ("protocol", s("sqs")),
                (
                    "endpoint",
                    s(&format!(
                        "arn:aws:sqs:us-east-1:123456789012:contract-{}",
                        c.n()
                    )),
                ),
            ]
        },
        // Subscriptions carry no tags; a repeated Subscribe answers the same.
        found: Found::Never,
    },
    Row {
        address: "cloudwatch_metric_alarm.main",
        needs: &[],
        spec: |_, _| {
            vec![
                ("namespace", s("AWS/ECS")),
                ("metric_name", s("CPUUtilization")),
                ("statistic", s("Average")),
                ("period", Value::Int(60)),
                ("evaluation_periods", Value::Int(1)),
                ("threshold", Value::Float(80.5)),
                ("comparison_operator", s("GreaterThanThreshold")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "logs_metric_filter.main",
        needs: &["log_group.main"],
        spec: |w, _| {
            vec![
                ("log_group_name", w.attr("log_group.main", "name")),
                ("pattern", s("ERROR")),
                (
                    "metric_transformation",
                    table(&[
                        ("name", s("Errors")),
                        ("namespace", s("Contract")),
                        ("value", s("1")),
                    ]),
                ),
            ]
        },
        // A put: nothing to adopt.
        found: Found::Never,
    },
    Row {
        address: "scheduler_schedule.main",
        needs: &[
            "ecs_cluster.main",
            "ecs_task_definition.main",
            "iam_role.main",
        ],
        spec: |w, _| {
            vec![
                ("schedule_expression", s("rate(10 minutes)")),
                (
                    "target",
                    table(&[
                        ("arn", w.attr("ecs_cluster.main", "arn")),
                        ("role_arn", w.attr("iam_role.main", "arn")),
                        (
                            "ecs_parameters",
                            table(&[(
                                "task_definition_arn",
                                w.attr("ecs_task_definition.main", "arn"),
                            )]),
                        ),
                    ]),
                ),
            ]
        },
        // Schedules carry no tags (find_created knows them by their role).
        found: Found::Never,
    },
    Row {
        address: "cloudfront_distribution.main",
        needs: &["s3_bucket.main"],
        spec: |w, _| {
            let bucket = w.attr("s3_bucket.main", "bucket_regional_domain_name");
            vec![
                (
                    "origins",
                    list(vec![table(&[
                        ("id", s("bucket")),
                        ("domain_name", bucket),
                        ("s3_origin", table(&[])),
                    ])]),
                ),
                (
                    "default_cache_behavior",
                    table(&[
                        ("target_origin_id", s("bucket")),
                        ("viewer_protocol_policy", s("redirect-to-https")),
                    ]),
                ),
            ]
        },
        found: Found::ByTags,
    },
    // secrets, parameters, DNS, certificates
    Row {
        address: "secretsmanager_secret.main",
        needs: &[],
        spec: |_, _| {
            vec![
                ("description", s("contract")),
                ("secret_string", s("contract-value-1")),
                // The name is free again at once for the next run.
                ("recovery_window_in_days", Value::Int(0)),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "ssm_parameter.main",
        needs: &[],
        spec: |_, c| {
            vec![
                ("name", s(&format!("/contract/param-{}", c.n()))),
                ("type", s("String")),
                ("value", s("contract")),
            ]
        },
        // A parameter is found by its given name (`find_created`), not
        // by tags.
        found: Found::Never,
    },
    Row {
        address: "route53_zone.main",
        needs: &[],
        spec: |_, c| {
            vec![
                ("name", s(&format!("contract-{}.example.com", c.n()))),
                ("comment", s("contract")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "route53_record.main",
        needs: &["route53_zone.main"],
        spec: |w, c| {
            let zone = w.str_attr("route53_zone.main", "name");
            vec![
                ("zone_id", w.id("route53_zone.main")),
                ("name", s(&format!("www{}.{zone}", c.n()))),
                ("type", s("A")),
                ("ttl", Value::Int(60)),
                ("records", list(vec![s("192.0.2.10")])),
            ]
        },
        // Records carry no tags (`find_created` knows them by name and type).
        found: Found::Never,
    },
    Row {
        address: "acm_certificate.main",
        needs: &["route53_zone.main"],
        spec: |w, c| {
            let zone = w.str_attr("route53_zone.main", "name");
            vec![
                ("domain_name", s(&format!("app{}.{zone}", c.n()))),
                ("validation_zone_id", w.id("route53_zone.main")),
            ]
        },
        found: Found::ByTags,
    },
    Row {
        address: "db_instance.main",
        needs: &["db_subnet_group.main"],
        spec: |w, _| {
            vec![
                ("engine", s("postgres")),
                ("instance_class", s("db.t3.micro")),
                ("allocated_storage", Value::Int(20)),
                ("master_username", s("app")),
                ("master_password", s("contract-password-1")),
                ("db_subnet_group_name", w.id("db_subnet_group.main")),
            ]
        },
        found: Found::ByTags,
    },
];

/// `service/<cluster>/<service>` of the prerequisite ECS service.
fn service_resource_id(w: &World) -> String {
    format!(
        "service/{}/{}",
        w.str_attr("ecs_cluster.main", "name"),
        w.str_attr("ecs_service.main", "name")
    )
}

fn kind_of(address: &str) -> &'static dyn Kind {
    let name = address.split('.').next().unwrap_or_default();
    kinds::lookup(name).unwrap_or_else(|| panic!("kind {name} is not registered"))
}

fn row(address: &str) -> &'static Row {
    ROWS.iter()
        .find(|r| r.address == address)
        .unwrap_or_else(|| panic!("no contract row for {address}"))
}

/// Desired attributes as the planner hands them to a create: defaults
/// filled in, in the kind's canonical form.
fn desired(row: &Row, w: &World, copy: Instance) -> Attrs {
    let k = kind_of(row.address);
    let given: Attrs = (row.spec)(w, copy)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let mut d = k.schema().with_defaults(&given);
    k.canonicalize(&mut d);
    d
}

async fn read(cx: Ctx<'_>, address: &str, id: &str) -> Option<Attrs> {
    kind_of(address)
        .read_many(cx, &[id.to_owned()])
        .await
        .unwrap_or_else(|e| panic!("{address}: reading {id}: {e}"))
        .remove(id)
}

/// Makes the prerequisite copy of `address` (and what it needs) once.
async fn ensure(aws: &Clients, w: &mut World, address: &'static str) {
    if w.0.contains_key(address) {
        return;
    }
    let r = row(address);
    for need in r.needs {
        Box::pin(ensure(aws, w, need)).await;
    }
    let cx = Ctx { aws, stack: PRE };
    let d = desired(r, w, Instance::Pre);
    let id = kind_of(address)
        .create(Create { cx, address, desired: &d })
        .await
        .unwrap_or_else(|e| panic!("{address}: creating the prerequisite: {e}"));
    let live = read(cx, address, &id)
        .await
        .unwrap_or_else(|| panic!("{address}: prerequisite {id} is not readable"));
    w.0.insert(address, (id, live));
}

/// The contract of one row.
async fn keeps_the_contract(aws: &Clients, w: &mut World, r: &'static Row) {
    let address = r.address;
    for need in r.needs {
        ensure(aws, w, need).await;
    }
    let k = kind_of(address);
    let cx = Ctx { aws, stack: STACK };
    let d = desired(r, w, Instance::Tested);
    let id = k
        .create(Create { cx, address, desired: &d })
        .await
        .unwrap_or_else(|e| panic!("{address}: creating: {e}"));

    let live = read(cx, address, &id)
        .await
        .unwrap_or_else(|| panic!("{address}: {id} is not readable after create"));
    let changes = Changes::between(k, &live, &d);
    // A write-only field (KMS's deletion window) is never read back: the
    // state, not AWS, remembers it.
    let write_only = |f: &str| k.schema().field(f).is_some_and(|f| f.write_only);
    let to_apply: Vec<&str> = changes
        .fields()
        .filter(|f| changes.sets(f) && !write_only(f))
        .collect();
    assert!(
        to_apply.is_empty(),
        "{address}: reads back with {to_apply:?} to change\nlive: {live:?}\ndesired: {d:?}"
    );

    let other = Ctx { aws, stack: OTHER };
    let found = k.find_by_address(cx, address).await;
    let stranger = k.find_by_address(other, address).await;
    let found = found.unwrap_or_else(|e| panic!("{address}: finding: {e}"));
    match r.found {
        Found::ByTags => assert_eq!(found.as_deref(), Some(id.as_str()), "{address} by tags"),
        Found::Never => assert_eq!(found, None, "{address}: nothing to adopt"),
    }
    let stranger = stranger.unwrap_or_else(|e| panic!("{address}: finding elsewhere: {e}"));
    assert_eq!(
        stranger, None,
        "{address} of stack {STACK} found in {OTHER}"
    );

    k.delete(Delete { cx, id: &id, live: &live })
        .await
        .unwrap_or_else(|e| panic!("{address}: deleting: {e}"));
    assert_eq!(
        read(cx, address, &id).await,
        None,
        "{address}: after delete"
    );
    k.delete(Delete { cx, id: &id, live: &live })
        .await
        .unwrap_or_else(|e| panic!("{address}: deleting a second time: {e}"));
}

#[tokio::test]
async fn every_kind_with_a_row_keeps_the_contract() {
    let emu = Emulator::start();
    let aws = Clients::from_config(&support::sdk_config(&emu).await);
    let mut world = World::default();
    for r in ROWS {
        keeps_the_contract(&aws, &mut world, r).await;
    }
}

#[test]
fn every_registered_kind_has_a_row() {
    let missing: Vec<&str> = kinds::names()
        .filter(|k| !ROWS.iter().any(|r| r.address.split('.').next() == Some(*k)))
        .collect();
    assert!(
        missing.is_empty(),
        "kinds without a contract row: {missing:?}"
    );
}

#[test]
fn every_row_is_a_registered_kind_and_needs_only_rows() {
    for r in ROWS {
        kind_of(r.address);
        for need in r.needs {
            row(need);
        }
    }
    let mut addresses: Vec<_> = ROWS.iter().map(|r| r.address).collect();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), ROWS.len(), "one row per address");
}
