//! The load-balancing kinds (load balancer, target group, listener, listener
//! rule) against the emulator, through the library API: created, read back
//! as written, changed in place, found by their address and deleted, twice.

use crate::support;

use std::collections::BTreeMap;

use reconcile::aws::Clients;
use reconcile::kinds::{self, Create, Ctx, Delete, Kind, Update};
use reconcile::value::{Attrs, Value};
use support::Emulator;

const STACK: &str = "t";

async fn clients(emu: &Emulator) -> Clients {
    Clients::from_config(&support::sdk_config(emu).await)
}

fn kind(name: &str) -> &'static dyn Kind {
    kinds::lookup(name).unwrap_or_else(|| panic!("kind {name} is not registered"))
}

fn kind_of(address: &str) -> &str {
    address.split('.').next().unwrap_or_default()
}

/// Desired attributes of `kind_name` with the schema's defaults filled in.
fn desired(kind_name: &str, fields: &[(&str, Value)]) -> Attrs {
    let given: Attrs = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    kind(kind_name).schema().with_defaults(&given)
}

fn table(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::str(*s)).collect())
}

fn tags(pairs: &[(&str, &str)]) -> Value {
    Value::from(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn forward(target_group_arn: &str) -> Value {
    table(&[
        ("type", Value::str("forward")),
        ("target_group_arn", Value::str(target_group_arn)),
    ])
}

async fn read(cx: Ctx<'_>, kind_name: &str, id: &str) -> Option<Attrs> {
    let mut found = kind(kind_name)
        .read_many(cx, &[id.to_owned()])
        .await
        .unwrap_or_else(|e| panic!("reading {kind_name} {id}: {e}"));
    found.remove(id)
}

/// Attributes as the planner compares them: canonical, then normalized.
fn compared(kind_name: &str, attrs: &Attrs) -> Attrs {
    let k = kind(kind_name);
    let mut a = attrs.clone();
    k.canonicalize(&mut a);
    a.into_iter()
        .map(|(name, v)| {
            let v = match k.schema().field(&name) {
                Some(f) => f.ty.normalize(&v),
                None => v,
            };
            (name, v)
        })
        .collect()
}

/// Every field the user set reads back equal, as the planner compares them:
/// no perpetual diff.
#[track_caller]
fn assert_reads_as(kind_name: &str, live: &Attrs, desired: &Attrs) {
    let live = compared(kind_name, live);
    let desired = compared(kind_name, desired);
    for (name, want) in desired.iter().filter(|(_, v)| !v.is_null()) {
        assert_eq!(
            live.get(name),
            Some(want),
            "{kind_name}: {name} reads back differently\nlive: {live:?}\ndesired: {desired:?}"
        );
    }
}

async fn create(cx: Ctx<'_>, address: &str, desired: &Attrs) -> String {
    kind(kind_of(address))
        .create(Create { cx, address, desired })
        .await
        .unwrap_or_else(|e| panic!("creating {address}: {e}"))
}

/// Creates and checks that it reads back as written.
async fn created(cx: Ctx<'_>, address: &str, desired: &Attrs) -> (String, Attrs) {
    let id = create(cx, address, desired).await;
    let live = read(cx, kind_of(address), &id)
        .await
        .unwrap_or_else(|| panic!("{address} ({id}) is not readable after create"));
    assert_reads_as(kind_of(address), &live, desired);
    assert_eq!(live.get("id"), Some(&Value::str(&id)));
    assert_eq!(live.get("arn"), Some(&Value::str(&id)));
    (id, live)
}

async fn update(cx: Ctx<'_>, address: &str, id: &str, live: &Attrs, changed: &Attrs) -> Attrs {
    let kind_name = kind_of(address);
    let k = kind(kind_name);
    reconcile::kinds::update(
        k,
        Update {
            cx,
            address,
            id,
            live,
            desired: changed,
            changed: &kinds::Changes::between(k, live, changed),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("updating {address}: {e}"));
    let after = read(cx, kind_name, id)
        .await
        .unwrap_or_else(|| panic!("{address} ({id}) is not readable after update"));
    assert_reads_as(kind_name, &after, changed);
    after
}

async fn assert_found(cx: Ctx<'_>, address: &str, id: &str) {
    let k = kind(kind_of(address));
    let found = k
        .find_by_address(cx, address)
        .await
        .unwrap_or_else(|e| panic!("finding {address}: {e}"));
    assert_eq!(found.as_deref(), Some(id), "{address} by its tags");
    let elsewhere = Ctx { aws: cx.aws, stack: "another-stack" };
    let stranger = k.find_by_address(elsewhere, address).await.unwrap();
    assert_eq!(stranger, None, "{address} of another stack is not ours");
}

/// Deletes, checks it reads as gone, deletes again.
async fn delete_twice(cx: Ctx<'_>, address: &str, id: &str, live: &Attrs) {
    let kind_name = kind_of(address);
    let k = kind(kind_name);
    k.delete(Delete { cx, id, live })
        .await
        .unwrap_or_else(|e| panic!("deleting {address}: {e}"));
    let left = k
        .read_many(cx, &[id.to_owned()])
        .await
        .unwrap_or_else(|e| panic!("reading {address} after delete: {e}"));
    assert!(left.is_empty(), "{address} after delete: {left:?}");
    k.delete(Delete { cx, id, live })
        .await
        .unwrap_or_else(|e| panic!("deleting {address} a second time: {e}"));
    assert_eq!(k.find_by_address(cx, address).await.unwrap(), None);
}

/// A VPC, two public subnets in two zones and a security group.
struct Network {
    vpc: String,
    subnets: [String; 2],
    security_group: String,
}

async fn network(cx: Ctx<'_>) -> Network {
    let vpc = create(
        cx,
        "vpc.main",
        &desired("vpc", &[("cidr_block", Value::str("10.0.0.0/16"))]),
    )
    .await;
    let subnet = |cidr: &str, zone: &str| {
        desired(
            "subnet",
            &[
                ("vpc_id", Value::str(&vpc)),
                ("cidr_block", Value::str(cidr)),
                ("availability_zone", Value::str(zone)),
            ],
        )
    };
    let a = create(cx, "subnet.a", &subnet("10.0.1.0/24", "us-east-1a")).await;
    let b = create(cx, "subnet.b", &subnet("10.0.2.0/24", "us-east-1b")).await;
    let security_group = create(
        cx,
        "security_group.lb",
        &desired("security_group", &[("vpc_id", Value::str(&vpc))]),
    )
    .await;
    Network { vpc, subnets: [a, b], security_group }
}

#[tokio::test]
async fn an_alb_with_a_target_group_listener_and_path_rule_is_created_changed_found_and_deleted() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let net = network(cx).await;

    let lb_first = desired(
        "load_balancer",
        &[
            ("subnet_ids", list(&[&net.subnets[1], &net.subnets[0]])),
            ("security_group_ids", list(&[&net.security_group])),
            ("tags", tags(&[("Name", "web")])),
        ],
    );
    let (lb, lb_live) = created(cx, "load_balancer.web", &lb_first).await;
    assert_eq!(lb_live["name"], Value::str("t-web"));
    assert_eq!(lb_live["vpc_id"], Value::str(&net.vpc));
    assert!(
        lb_live["dns_name"]
            .as_str()
            .is_some_and(|d| d.contains("t-web")),
        "{lb_live:?}"
    );
    assert!(lb_live["zone_id"].as_str().is_some(), "{lb_live:?}");

    let tg_first = desired(
        "target_group",
        &[
            ("port", Value::Int(8080)),
            ("vpc_id", Value::str(&net.vpc)),
            ("health_check", table(&[("path", Value::str("/health"))])),
        ],
    );
    let (tg, tg_live) = created(cx, "target_group.app", &tg_first).await;
    let tg_name = tg_live["name"].as_str().unwrap_or_default().to_owned();
    assert!(
        tg_name.starts_with("t-") && tg_name.len() <= 32,
        "{tg_name}"
    );

    let listener_first = desired(
        "listener",
        &[
            ("load_balancer_arn", Value::str(&lb)),
            ("port", Value::Int(80)),
            ("default_action", forward(&tg)),
        ],
    );
    let (listener, listener_live) = created(cx, "listener.http", &listener_first).await;

    let rule_first = desired(
        "listener_rule",
        &[
            ("listener_arn", Value::str(&listener)),
            ("priority", Value::Int(10)),
            ("conditions", table(&[("path_patterns", list(&["/api/*"]))])),
            ("action", forward(&tg)),
        ],
    );
    let (rule, rule_live) = created(cx, "listener_rule.api", &rule_first).await;
    assert_eq!(rule_live["listener_arn"], Value::str(&listener));

    // Changed in place.
    let mut lb_changed = lb_first.clone();
    lb_changed.insert("idle_timeout".into(), Value::Int(120));
    lb_changed.insert("tags".into(), tags(&[("Name", "web"), ("Tier", "edge")]));
    let lb_after = update(cx, "load_balancer.web", &lb, &lb_live, &lb_changed).await;
    assert_eq!(lb_after["idle_timeout"], Value::Int(120));

    let mut tg_changed = tg_first.clone();
    tg_changed.insert(
        "health_check".into(),
        table(&[("path", Value::str("/ready")), ("interval", Value::Int(15))]),
    );
    tg_changed.insert("deregistration_delay".into(), Value::Int(30));
    let tg_after = update(cx, "target_group.app", &tg, &tg_live, &tg_changed).await;
    assert_eq!(tg_after["name"], Value::str(&tg_name), "changed in place");

    let mut listener_changed = listener_first.clone();
    listener_changed.insert("port".into(), Value::Int(8080));
    let listener_after = update(
        cx,
        "listener.http",
        &listener,
        &listener_live,
        &listener_changed,
    )
    .await;
    assert_eq!(listener_after["port"], Value::Int(8080));

    let mut rule_changed = rule_first.clone();
    rule_changed.insert("priority".into(), Value::Int(20));
    rule_changed.insert(
        "conditions".into(),
        table(&[("path_patterns", list(&["/v2/*", "/api/*"]))]),
    );
    rule_changed.insert("tags".into(), tags(&[("Route", "api")]));
    let rule_after = update(cx, "listener_rule.api", &rule, &rule_live, &rule_changed).await;

    assert_found(cx, "load_balancer.web", &lb).await;
    assert_found(cx, "target_group.app", &tg).await;
    assert_found(cx, "listener.http", &listener).await;
    assert_found(cx, "listener_rule.api", &rule).await;

    // Deleted in reverse order of dependency.
    delete_twice(cx, "listener_rule.api", &rule, &rule_after).await;
    delete_twice(cx, "listener.http", &listener, &listener_after).await;
    delete_twice(cx, "target_group.app", &tg, &tg_after).await;
    delete_twice(cx, "load_balancer.web", &lb, &lb_after).await;
}

#[tokio::test]
async fn an_nlb_with_a_tcp_target_group_of_ip_targets_reads_back_as_written() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let net = network(cx).await;

    // As in the seed: an internet-facing NLB in one subnet, no security
    // groups, a TCP listener forwarding to a TCP group of IP targets.
    let nlb = desired(
        "load_balancer",
        &[
            ("type", Value::str("network")),
            ("subnet_ids", list(&[&net.subnets[0]])),
        ],
    );
    let (lb, _) = created(cx, "load_balancer.flask", &nlb).await;

    let group = desired(
        "target_group",
        &[
            ("port", Value::Int(80)),
            ("protocol", Value::str("TCP")),
            ("target_type", Value::str("ip")),
            ("vpc_id", Value::str(&net.vpc)),
        ],
    );
    let (tg, tg_live) = created(cx, "target_group.flask", &group).await;
    // What AWS chose for the check reads as the defaults of a TCP check.
    let mut with_check = group.clone();
    with_check.insert("health_check".into(), table(&[]));
    assert_reads_as("target_group", &tg_live, &with_check);

    // A health check partly given gets the TCP defaults, not the HTTP ones.
    let mut checked = group.clone();
    checked.insert("name".into(), Value::str("flask-checked"));
    checked.insert(
        "health_check".into(),
        table(&[
            ("interval", Value::Int(30)),
            ("healthy_threshold", Value::Int(3)),
        ]),
    );
    let (checked_tg, checked_live) = created(cx, "target_group.checked", &checked).await;
    assert_eq!(checked_live["name"], Value::str("flask-checked"));

    let listener = desired(
        "listener",
        &[
            ("load_balancer_arn", Value::str(&lb)),
            ("port", Value::Int(80)),
            ("protocol", Value::str("TCP")),
            ("default_action", forward(&tg)),
        ],
    );
    let (listener_arn, listener_live) = created(cx, "listener.flask", &listener).await;

    // Repointing the listener is a change in place, and the group it left
    // can then be deleted.
    let mut repointed = listener.clone();
    repointed.insert("default_action".into(), forward(&checked_tg));
    update(
        cx,
        "listener.flask",
        &listener_arn,
        &listener_live,
        &repointed,
    )
    .await;
    delete_twice(cx, "target_group.flask", &tg, &tg_live).await;
}

#[tokio::test]
async fn redirect_and_fixed_response_actions_read_back_as_written() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let net = network(cx).await;
    let lb_desired = desired(
        "load_balancer",
        &[("subnet_ids", list(&[&net.subnets[0], &net.subnets[1]]))],
    );
    let (lb, _) = created(cx, "load_balancer.web", &lb_desired).await;

    let redirect = desired(
        "listener",
        &[
            ("load_balancer_arn", Value::str(&lb)),
            ("port", Value::Int(80)),
            (
                "default_action",
                table(&[
                    ("type", Value::str("redirect")),
                    (
                        "redirect",
                        table(&[
                            ("protocol", Value::str("HTTPS")),
                            ("port", Value::str("443")),
                            ("status_code", Value::str("HTTP_301")),
                        ]),
                    ),
                ]),
            ),
        ],
    );
    let (listener, live) = created(cx, "listener.http", &redirect).await;

    let fixed = table(&[
        ("type", Value::str("fixed-response")),
        (
            "fixed_response",
            table(&[
                ("status_code", Value::str("404")),
                ("content_type", Value::str("text/plain")),
                ("message_body", Value::str("nothing here")),
            ]),
        ),
    ]);
    let mut changed = redirect.clone();
    changed.insert("default_action".into(), fixed.clone());
    update(cx, "listener.http", &listener, &live, &changed).await;

    let rule = desired(
        "listener_rule",
        &[
            ("listener_arn", Value::str(&listener)),
            ("priority", Value::Int(1)),
            (
                "conditions",
                table(&[("host_headers", list(&["old.example.com"]))]),
            ),
            ("action", fixed),
        ],
    );
    created(cx, "listener_rule.old_host", &rule).await;
}

#[tokio::test]
async fn read_many_of_an_existing_and_a_deleted_arn_returns_just_the_existing_one() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let net = network(cx).await;

    let lb_desired = desired(
        "load_balancer",
        &[("subnet_ids", list(&[&net.subnets[0], &net.subnets[1]]))],
    );
    let lb = create(cx, "load_balancer.kept", &lb_desired).await;
    let gone_lb = create(cx, "load_balancer.gone", &lb_desired).await;

    let tg_desired = desired(
        "target_group",
        &[("port", Value::Int(80)), ("vpc_id", Value::str(&net.vpc))],
    );
    let tg = create(cx, "target_group.kept", &tg_desired).await;
    let gone_tg = create(cx, "target_group.gone", &tg_desired).await;

    let listener_on = |port: i64| {
        desired(
            "listener",
            &[
                ("load_balancer_arn", Value::str(&lb)),
                ("port", Value::Int(port)),
                ("default_action", forward(&tg)),
            ],
        )
    };
    let listener = create(cx, "listener.kept", &listener_on(80)).await;
    let gone_listener = create(cx, "listener.gone", &listener_on(81)).await;

    let rule_at = |priority: i64| {
        desired(
            "listener_rule",
            &[
                ("listener_arn", Value::str(&listener)),
                ("priority", Value::Int(priority)),
                ("conditions", table(&[("path_patterns", list(&["/x"]))])),
                ("action", forward(&tg)),
            ],
        )
    };
    let rule = create(cx, "listener_rule.kept", &rule_at(1)).await;
    let gone_rule = create(cx, "listener_rule.gone", &rule_at(2)).await;

    let none = Attrs::new();
    for (kind_name, kept, gone) in [
        ("listener_rule", &rule, &gone_rule),
        ("listener", &listener, &gone_listener),
        ("target_group", &tg, &gone_tg),
        ("load_balancer", &lb, &gone_lb),
    ] {
        let k = kind(kind_name);
        k.delete(Delete { cx, id: gone, live: &none })
            .await
            .unwrap_or_else(|e| panic!("deleting {kind_name} {gone}: {e}"));
        // Either order: AWS fails the whole describe on an unknown ARN.
        for ids in [[kept.clone(), gone.clone()], [gone.clone(), kept.clone()]] {
            let found = k
                .read_many(cx, &ids)
                .await
                .unwrap_or_else(|e| panic!("reading {kind_name} {ids:?}: {e}"));
            assert_eq!(
                found.keys().collect::<Vec<_>>(),
                vec![kept],
                "{kind_name} {ids:?}"
            );
        }
        let nothing = k.read_many(cx, &[]).await.unwrap();
        assert!(nothing.is_empty(), "{kind_name}: no ids, nothing read");
    }
}

#[tokio::test]
async fn a_replacement_target_group_gets_its_own_name_beside_the_old_one() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let net = network(cx).await;
    let k = kind("target_group");
    assert!(k.create_before_destroy());
    let d = desired(
        "target_group",
        &[("port", Value::Int(80)), ("vpc_id", Value::str(&net.vpc))],
    );
    let old = create(cx, "target_group.app", &d).await;
    let new = create(cx, "target_group.app", &d).await;
    let both = k.read_many(cx, &[old.clone(), new.clone()]).await.unwrap();
    assert_eq!(both.len(), 2);
    assert_ne!(both[&old]["name"], both[&new]["name"]);
    assert_reads_as("target_group", &both[&new], &d);
}
