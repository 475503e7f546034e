//! The ECS kinds (cluster, task definition, service) against the emulator,
//! through the library API: each reads back equal to what it was made from
//! (no perpetual difference), changes in place where AWS allows it, is found
//! by its address and deleted, twice.

use crate::support;

use std::collections::BTreeMap;

use reconcile::aws::Clients;
use reconcile::kinds::{self, Changes, Create, Ctx, Delete, Kind, Update};
use reconcile::value::{Attrs, Value};
use support::Emulator;

const STACK: &str = "t";

/// One emulator, the library's clients and a plain ECS client beside them.
struct Env {
    _emu: Emulator,
    clients: Clients,
    ecs: aws_sdk_ecs::Client,
}

impl Env {
    async fn start() -> Env {
        let emu = Emulator::start();
        let config = support::sdk_config(&emu).await;
        Env {
            clients: Clients::from_config(&config),
            ecs: aws_sdk_ecs::Client::new(&config),
            _emu: emu,
        }
    }

    fn cx(&self) -> Ctx<'_> {
        Ctx { aws: &self.clients, stack: STACK }
    }

    async fn create(&self, address: &str, desired: &Attrs) -> String {
        kind_of(address)
            .create(Create { cx: self.cx(), address, desired })
            .await
            .unwrap_or_else(|e| panic!("creating {address}: {e}"))
    }

    async fn read(&self, kind_name: &str, id: &str) -> Option<Attrs> {
        let mut found = kind(kind_name)
            .read_many(self.cx(), &[id.to_owned()])
            .await
            .unwrap_or_else(|e| panic!("reading {kind_name} {id}: {e}"));
        found.remove(id)
    }

    async fn delete_twice(&self, kind_name: &str, id: &str) {
        let k = kind(kind_name);
        k.delete(Delete { cx: self.cx(), id, live: &Attrs::new() })
            .await
            .unwrap_or_else(|e| panic!("deleting {kind_name} {id}: {e}"));
        assert_eq!(self.read(kind_name, id).await, None, "{id} after delete");
        k.delete(Delete { cx: self.cx(), id, live: &Attrs::new() })
            .await
            .unwrap_or_else(|e| panic!("deleting {kind_name} {id} a second time: {e}"));
    }

    /// A subnet and a security group of a new VPC, made by the network kinds.
    async fn network(&self) -> (String, String) {
        let vpc = self
            .create(
                "vpc.main",
                &desired("vpc", &[("cidr_block", s("10.0.0.0/16"))]),
            )
            .await;
        let subnet = self
            .create(
                "subnet.a",
                &desired(
                    "subnet",
                    &[("vpc_id", s(&vpc)), ("cidr_block", s("10.0.1.0/24"))],
                ),
            )
            .await;
        let sg = self
            .create(
                "security_group.app",
                &desired("security_group", &[("vpc_id", s(&vpc))]),
            )
            .await;
        (subnet, sg)
    }
}

fn kind(name: &str) -> &'static dyn Kind {
    kinds::lookup(name).unwrap_or_else(|| panic!("kind {name} is not registered"))
}

fn kind_of(address: &str) -> &'static dyn Kind {
    kind(address.split('.').next().unwrap_or_default())
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| s(i)).collect())
}

fn table(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn tags(pairs: &[(&str, &str)]) -> Value {
    Value::from(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// Desired attributes of `kind_name` with the schema's defaults filled in.
fn desired(kind_name: &str, fields: &[(&str, Value)]) -> Attrs {
    let given: Attrs = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    kind(kind_name).schema().with_defaults(&given)
}

/// The fields the planner would show as changed: both sides canonicalized,
/// then every input the desired side sets compared in its normal form.
fn differences(kind_name: &str, live: &Attrs, desired: &Attrs) -> Vec<String> {
    let k = kind(kind_name);
    let (mut live, mut desired) = (live.clone(), desired.clone());
    k.canonicalize(&mut live);
    k.canonicalize(&mut desired);
    k.schema()
        .inputs()
        // Client-only fields (`wait_for_steady_state`) are never compared.
        .filter(|f| !f.client_only)
        .filter_map(|f| {
            let d = desired.get(f.name).filter(|v| !v.is_null())?;
            let (d, l) = (
                f.ty.normalize(d),
                live.get(f.name)
                    .map(|v| f.ty.normalize(v))
                    .unwrap_or_default(),
            );
            (d != l).then(|| format!("{}: live {l} but desired {d}", f.name))
        })
        .collect()
}

#[track_caller]
fn assert_no_difference(kind_name: &str, live: &Attrs, desired: &Attrs) {
    let diffs = differences(kind_name, live, desired);
    assert!(
        diffs.is_empty(),
        "{kind_name} reads back differently:\n  {}",
        diffs.join("\n  ")
    );
}

fn container(image: &str) -> Value {
    table(&[
        ("name", s("app")),
        ("image", s(image)),
        (
            "port_mappings",
            Value::List(vec![table(&[("container_port", Value::Int(80))])]),
        ),
        (
            "environment",
            table(&[("MODE", s("prod")), ("PORT", s("80"))]),
        ),
        (
            "log_configuration",
            table(&[
                ("log_driver", s("awslogs")),
                (
                    "options",
                    table(&[
                        ("awslogs-group", s("/ecs/web")),
                        ("awslogs-region", s("us-east-1")),
                        ("awslogs-stream-prefix", s("web")),
                    ]),
                ),
            ]),
        ),
    ])
}

/// A Fargate revision of family `web` with one container.
fn fargate_task(image: &str) -> Attrs {
    desired(
        "ecs_task_definition",
        &[
            ("family", s("web")),
            ("cpu", s("256")),
            ("memory", s("512")),
            ("network_mode", s("awsvpc")),
            ("requires_compatibilities", list(&["FARGATE"])),
            (
                "execution_role_arn",
                s("arn:aws:iam::123456789012:role/web-execution"),
            ),
            ("container_definitions", Value::List(vec![container(image)])),
            ("tags", tags(&[("App", "web")])),
        ],
    )
}

#[tokio::test]
async fn a_cluster_is_created_read_back_changed_in_place_found_and_deleted() {
    let env = Env::start().await;
    let cx = env.cx();
    let first = desired("ecs_cluster", &[("tags", tags(&[("Env", "test")]))]);
    let id = env.create("ecs_cluster.main", &first).await;
    assert!(id.starts_with("arn:aws:ecs:us-east-1:"), "{id}");

    let live = env
        .read("ecs_cluster", &id)
        .await
        .expect("the cluster exists");
    assert_no_difference("ecs_cluster", &live, &first);
    assert_eq!(live["name"], s("t-main"), "named after stack and resource");
    assert_eq!(live["arn"], s(&id));

    let mut changed = first.clone();
    changed.insert("container_insights".into(), Value::Bool(true));
    changed.insert(
        "capacity_providers".into(),
        list(&["FARGATE_SPOT", "FARGATE"]),
    );
    changed.insert(
        "default_capacity_provider_strategy".into(),
        Value::List(vec![table(&[
            ("capacity_provider", s("FARGATE")),
            ("weight", Value::Int(1)),
            ("base", Value::Int(1)),
        ])]),
    );
    changed.insert("tags".into(), tags(&[("Env", "prod"), ("Team", "web")]));
    assert_eq!(differences("ecs_cluster", &live, &changed).len(), 4);
    let k = kind("ecs_cluster");
    reconcile::kinds::update(
        k,
        Update {
            cx,
            address: "ecs_cluster.main",
            id: &id,
            live: &live,
            desired: &changed,
            changed: &Changes::between(k, &live, &changed),
        },
    )
    .await
    .expect("updating the cluster in place");
    let after = env.read("ecs_cluster", &id).await.expect("still there");
    assert_no_difference("ecs_cluster", &after, &changed);

    let k = kind("ecs_cluster");
    let found = k.find_by_address(cx, "ecs_cluster.main").await.unwrap();
    assert_eq!(found.as_deref(), Some(id.as_str()));
    let elsewhere = Ctx { aws: cx.aws, stack: "another-stack" };
    let stranger = k.find_by_address(elsewhere, "ecs_cluster.main").await;
    assert_eq!(
        stranger.unwrap(),
        None,
        "a cluster of another stack is not ours"
    );

    env.delete_twice("ecs_cluster", &id).await;
    assert_eq!(
        k.find_by_address(cx, "ecs_cluster.main").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_task_definition_reads_back_equal_to_every_input_it_was_registered_with() {
    let env = Env::start().await;
    let cx = env.cx();
    let rich = table(&[
        ("name", s("api")),
        ("image", s("example/api:1.0")),
        ("cpu", Value::Int(128)),
        ("memory", Value::Int(512)),
        ("memory_reservation", Value::Int(256)),
        (
            "port_mappings",
            Value::List(vec![
                table(&[("container_port", Value::Int(8080))]),
                table(&[
                    ("container_port", Value::Int(9000)),
                    ("host_port", Value::Int(9000)),
                    ("protocol", s("udp")),
                ]),
            ]),
        ),
        ("environment", table(&[("LOG_LEVEL", s("info"))])),
        (
            "secrets",
            table(&[(
                "DB_PASSWORD",
                s("arn:aws:ssm:us-east-1:123456789012:parameter/db"),
            )]),
        ),
        (
            "health_check",
            table(&[
                (
                    "command",
                    list(&["CMD-SHELL", "curl -f localhost:8080/health"]),
                ),
                ("interval", Value::Int(10)),
            ]),
        ),
        ("command", list(&["serve", "--port", "8080"])),
        ("entry_point", list(&["/app"])),
        ("working_directory", s("/srv")),
    ]);
    let sidecar = table(&[
        ("name", s("sidecar")),
        ("image", s("busybox")),
        ("memory", Value::Int(64)),
        ("essential", Value::Bool(false)),
    ]);
    let first = desired(
        "ecs_task_definition",
        &[
            ("family", s("api")),
            ("network_mode", s("bridge")),
            ("requires_compatibilities", list(&["EC2"])),
            (
                "task_role_arn",
                s("arn:aws:iam::123456789012:role/api-task"),
            ),
            ("container_definitions", Value::List(vec![rich, sidecar])),
        ],
    );
    let id = env.create("ecs_task_definition.api", &first).await;
    assert!(id.ends_with(":task-definition/api:1"), "{id}");
    let live = env
        .read("ecs_task_definition", &id)
        .await
        .expect("the revision exists");
    assert_no_difference("ecs_task_definition", &live, &first);
    assert_eq!(live["revision"], Value::Int(1));
    assert_eq!(live["arn"], s(&id));

    // Tags change in place; everything else would register a new revision.
    let k = kind("ecs_task_definition");
    let mut retagged = first.clone();
    retagged.insert("tags".into(), tags(&[("Owner", "api-team")]));
    reconcile::kinds::update(
        k,
        Update {
            cx,
            address: "ecs_task_definition.api",
            id: &id,
            live: &live,
            desired: &retagged,
            changed: &Changes::between(k, &live, &retagged),
        },
    )
    .await
    .expect("retagging the revision");
    let after = env.read("ecs_task_definition", &id).await.unwrap();
    assert_eq!(after["tags"], tags(&[("Owner", "api-team")]));

    // The replacement is registered first; while both exist, the address
    // finds the newer one.
    let mut next = retagged.clone();
    next.insert("memory".into(), s("1 GB"));
    let second = env.create("ecs_task_definition.api", &next).await;
    assert!(second.ends_with(":task-definition/api:2"), "{second}");
    let live2 = env.read("ecs_task_definition", &second).await.unwrap();
    // AWS reports "1 GB" as "1024"; the emulator keeps the text. Either
    // way it is no difference.
    assert_no_difference("ecs_task_definition", &live2, &next);
    let found = k
        .find_by_address(cx, "ecs_task_definition.api")
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(second.as_str()));

    env.delete_twice("ecs_task_definition", &id).await;
    env.delete_twice("ecs_task_definition", &second).await;
    assert_eq!(
        k.find_by_address(cx, "ecs_task_definition.api")
            .await
            .unwrap(),
        None
    );
    let never = "arn:aws:ecs:us-east-1:123456789012:task-definition/nothing:9";
    assert_eq!(env.read("ecs_task_definition", never).await, None);
}

#[tokio::test]
async fn a_fargate_service_moves_to_a_new_revision_and_goes_with_everything_under_it() {
    let env = Env::start().await;
    let cx = env.cx();
    let (subnet, sg) = env.network().await;
    let cluster = env
        .create("ecs_cluster.main", &desired("ecs_cluster", &[]))
        .await;
    let v1_attrs = fargate_task("nginx:1.26");
    let v1 = env.create("ecs_task_definition.web", &v1_attrs).await;
    let v1_live = env.read("ecs_task_definition", &v1).await.unwrap();
    assert_no_difference("ecs_task_definition", &v1_live, &v1_attrs);
    let port = &v1_live["container_definitions"].as_list()[0]
        .as_map()
        .unwrap()["port_mappings"];
    assert_eq!(
        port.as_list()[0].as_map().unwrap().get("host_port"),
        None,
        "the emulator leaves hostPort unset where AWS fills it in"
    );

    let service_attrs = desired(
        "ecs_service",
        &[
            ("cluster", s(&cluster)),
            ("task_definition", s(&v1)),
            ("launch_type", s("FARGATE")),
            (
                "network_configuration",
                table(&[
                    ("subnets", list(&[&subnet])),
                    ("security_groups", list(&[&sg])),
                ]),
            ),
            (
                "deployment_circuit_breaker",
                table(&[
                    ("enable", Value::Bool(true)),
                    ("rollback", Value::Bool(true)),
                ]),
            ),
            ("deployment_minimum_healthy_percent", Value::Int(50)),
            ("enable_execute_command", Value::Bool(true)),
            ("wait_for_steady_state", Value::Bool(true)),
            ("tags", tags(&[("App", "web")])),
        ],
    );
    let service = env.create("ecs_service.web", &service_attrs).await;
    assert!(service.ends_with(":service/t-main/t-web"), "{service}");
    let live = env
        .read("ecs_service", &service)
        .await
        .expect("the service exists");
    assert_no_difference("ecs_service", &live, &service_attrs);
    assert_eq!(live["desired_count"], Value::Int(1));
    assert_eq!(live["name"], s("t-web"));

    // A new revision (another image) is registered, then the service moves
    // to it and scales out, waiting for the deployment.
    let v2_attrs = fargate_task("nginx:1.27");
    let v2 = env.create("ecs_task_definition.web", &v2_attrs).await;
    assert!(v2.ends_with(":task-definition/web:2"), "{v2}");
    let mut moved = service_attrs.clone();
    moved.insert("task_definition".into(), s(&v2));
    moved.insert("desired_count".into(), Value::Int(2));
    let diffs = differences("ecs_service", &live, &moved);
    let changed: Vec<&str> = diffs.iter().filter_map(|d| d.split(':').next()).collect();
    assert_eq!(changed, ["task_definition", "desired_count"], "{diffs:?}");
    let k = kind("ecs_service");
    reconcile::kinds::update(
        k,
        Update {
            cx,
            address: "ecs_service.web",
            id: &service,
            live: &live,
            desired: &moved,
            changed: &Changes::between(k, &live, &moved),
        },
    )
    .await
    .expect("moving the service to the new revision");
    let live = env.read("ecs_service", &service).await.unwrap();
    // AWS reports the revision's ARN; the emulator echoes what was sent.
    let now = live["task_definition"].as_str().unwrap_or_default();
    assert!(now == v2 || now == "web:2", "{now}");
    assert_no_difference("ecs_service", &live, &moved);

    // Scaled out of band: the difference shows, and only that one.
    env.ecs
        .update_service()
        .cluster(&cluster)
        .service(&service)
        .desired_count(5)
        .send()
        .await
        .expect("scaling with the SDK");
    let drifted = env.read("ecs_service", &service).await.unwrap();
    let diffs = differences("ecs_service", &drifted, &moved);
    assert_eq!(
        diffs,
        ["desired_count: live 5 but desired 2"],
        "the out-of-band change is the one difference"
    );

    let found = kind("ecs_service")
        .find_by_address(cx, "ecs_service.web")
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(service.as_str()));

    // Deleted in reverse order: the service is scaled to 0 first (the
    // emulator, like AWS, refuses to delete a service that wants tasks).
    env.delete_twice("ecs_service", &service).await;
    env.delete_twice("ecs_task_definition", &v1).await;
    env.delete_twice("ecs_task_definition", &v2).await;
    env.delete_twice("ecs_cluster", &cluster).await;
    for (k, id) in [
        ("ecs_service", &service),
        ("ecs_task_definition", &v1),
        ("ecs_task_definition", &v2),
        ("ecs_cluster", &cluster),
    ] {
        let found = kind(k)
            .read_many(cx, std::slice::from_ref(id))
            .await
            .unwrap();
        assert!(found.is_empty(), "{k} {id} is gone: {found:?}");
    }
    assert_eq!(
        kind("ecs_service")
            .find_by_address(cx, "ecs_service.web")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn services_of_two_clusters_are_read_in_one_call_and_the_gone_ones_are_absent() {
    let env = Env::start().await;
    let cx = env.cx();
    let (subnet, sg) = env.network().await;
    let task = env
        .create("ecs_task_definition.web", &fargate_task("nginx"))
        .await;
    let mut services = Vec::new();
    for c in ["a", "b"] {
        let cluster = env
            .create(&format!("ecs_cluster.{c}"), &desired("ecs_cluster", &[]))
            .await;
        let d = desired(
            "ecs_service",
            &[
                ("cluster", s(&cluster)),
                ("task_definition", s(&task)),
                ("launch_type", s("FARGATE")),
                (
                    "network_configuration",
                    table(&[
                        ("subnets", list(&[&subnet])),
                        ("security_groups", list(&[&sg])),
                        ("assign_public_ip", Value::Bool(true)),
                    ]),
                ),
            ],
        );
        let id = env.create(&format!("ecs_service.{c}"), &d).await;
        assert!(id.contains(&format!(":service/t-{c}/t-{c}")), "{id}");
        services.push((id, d));
    }
    let gone = "arn:aws:ecs:us-east-1:123456789012:service/t-a/never-made".to_owned();
    let no_cluster = "arn:aws:ecs:us-east-1:123456789012:service/nowhere/web".to_owned();
    let mut ids: Vec<String> = services.iter().map(|(id, _)| id.clone()).collect();
    ids.extend([gone, no_cluster]);
    let found = kind("ecs_service").read_many(cx, &ids).await.unwrap();
    assert_eq!(found.len(), 2, "{:?}", found.keys());
    for (id, d) in &services {
        assert_no_difference("ecs_service", &found[id], d);
    }
}
