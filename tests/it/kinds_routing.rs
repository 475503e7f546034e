//! The `route_table` and `security_group` kinds against the emulator,
//! called through the library API (not the CLI).

use crate::support;

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use reconcile::aws::Clients;
use reconcile::kinds::{Changes, Create, Ctx, Delete, Kind, Update, lookup};
use reconcile::value::{Attrs, Value};
use support::Emulator;

/// One emulator, the library's clients and a plain SDK client beside them.
struct Env {
    _emu: Emulator,
    clients: Clients,
    ec2: aws_sdk_ec2::Client,
}

impl Env {
    async fn start() -> Env {
        let emu = Emulator::start();
        let config = support::sdk_config(&emu).await;
        Env {
            clients: Clients::from_config(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            _emu: emu,
        }
    }

    fn cx(&self) -> Ctx<'_> {
        Ctx { aws: &self.clients, stack: "t" }
    }

    /// A VPC made by the `vpc` kind.
    async fn vpc(&self) -> String {
        let vpc = kind("vpc");
        let desired = desired(vpc, [("cidr_block", s("10.0.0.0/16"))]);
        vpc.create(Create { cx: self.cx(), address: "vpc.main", desired: &desired })
            .await
            .expect("creating the vpc")
    }

    /// An internet gateway attached to `vpc`, made with the SDK directly.
    async fn internet_gateway(&self, vpc: &str) -> String {
        let igw = self.ec2.create_internet_gateway().send().await.unwrap();
        let id = igw
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap()
            .to_owned();
        self.ec2
            .attach_internet_gateway()
            .internet_gateway_id(&id)
            .vpc_id(vpc)
            .send()
            .await
            .unwrap();
        id
    }

    async fn subnet(&self, vpc: &str, cidr: &str) -> String {
        let out = self
            .ec2
            .create_subnet()
            .vpc_id(vpc)
            .cidr_block(cidr)
            .send()
            .await
            .unwrap();
        out.subnet().and_then(|s| s.subnet_id()).unwrap().to_owned()
    }

    /// A NAT gateway in `subnet`, made with the SDK directly.
    async fn nat_gateway(&self, subnet: &str) -> String {
        let eip = self.ec2.allocate_address().send().await.unwrap();
        let out = self
            .ec2
            .create_nat_gateway()
            .subnet_id(subnet)
            .set_allocation_id(eip.allocation_id().map(str::to_owned))
            .send()
            .await
            .unwrap();
        out.nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .unwrap()
            .to_owned()
    }

    /// The one live resource `id` of `kind`, as read_many returns it.
    async fn read(&self, kind: &dyn Kind, id: &str) -> Attrs {
        let mut live = kind
            .read_many(self.cx(), &[id.to_owned()])
            .await
            .expect("read_many");
        assert_eq!(live.len(), 1, "expected exactly {id}, read {live:?}");
        live.remove(id).unwrap()
    }

    /// Subnet ids explicitly associated with any table, as AWS lists them.
    async fn associated_subnets(&self, table: &str) -> Vec<String> {
        let out = self
            .ec2
            .describe_route_tables()
            .route_table_ids(table)
            .send()
            .await
            .unwrap();
        let mut ids: Vec<String> = out
            .route_tables()
            .iter()
            .flat_map(aws_sdk_ec2::types::RouteTable::associations)
            .filter_map(|a| a.subnet_id().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    }
}

fn kind(name: &str) -> &'static dyn Kind {
    lookup(name).unwrap_or_else(|| panic!("kind {name} is registered"))
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn list<const N: usize>(items: [Value; N]) -> Value {
    Value::List(items.to_vec())
}

fn table<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Desired attributes with the schema's defaults filled in, as the engine
/// hands them to `create` and `update`.
fn desired<const N: usize>(kind: &dyn Kind, pairs: [(&str, Value); N]) -> Attrs {
    let attrs: Attrs = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    kind.schema().with_defaults(&attrs)
}

/// The attributes as the diff engine compares them: canonicalized by the
/// kind, each input field in its schema's normal form.
fn comparable(kind: &dyn Kind, attrs: &Attrs) -> BTreeMap<String, Value> {
    let mut attrs = attrs.clone();
    kind.canonicalize(&mut attrs);
    kind.schema()
        .inputs()
        .filter_map(|f| Some((f.name.to_owned(), f.ty.normalize(attrs.get(f.name)?))))
        .collect()
}

/// Panics unless every field of `desired` reads back equal.
#[track_caller]
fn assert_reads_as(kind: &dyn Kind, live: &Attrs, desired: &Attrs) {
    let live = comparable(kind, live);
    for (field, want) in comparable(kind, desired) {
        assert_eq!(live.get(&field), Some(&want), "field {field}");
    }
}

fn route(cidr: &str, target: &str, id: &str) -> Value {
    table([("cidr_block", s(cidr)), (target, s(id))])
}

fn rule<const N: usize>(protocol: &str, port: i64, sources: [(&str, Value); N]) -> Value {
    let mut m = BTreeMap::from([
        ("protocol".to_owned(), s(protocol)),
        ("from_port".to_owned(), Value::Int(port)),
        ("to_port".to_owned(), Value::Int(port)),
    ]);
    m.extend(sources.into_iter().map(|(k, v)| (k.to_owned(), v)));
    Value::Map(m)
}

#[tokio::test]
async fn a_route_table_reads_back_exactly_its_routes_and_subnets() {
    let env = Env::start().await;
    let vpc = env.vpc().await;
    let igw = env.internet_gateway(&vpc).await;
    let subnet = env.subnet(&vpc, "10.0.1.0/24").await;
    let rt = kind("route_table");
    let want = desired(
        rt,
        [
            ("vpc_id", s(&vpc)),
            ("routes", list([route("0.0.0.0/0", "gateway_id", &igw)])),
            ("subnet_ids", list([s(&subnet)])),
            ("tags", table([("Name", s("public"))])),
        ],
    );

    let id = rt
        .create(Create { cx: env.cx(), address: "route_table.public", desired: &want })
        .await
        .unwrap();

    let live = env.read(rt, &id).await;
    assert_reads_as(rt, &live, &want);
    assert_eq!(
        live["routes"].as_list().len(),
        1,
        "the local route is not read: {}",
        live["routes"]
    );
    assert_eq!(live["tags"], table([("Name", s("public"))]));
    let found = rt.find_by_address(env.cx(), "route_table.public").await;
    assert_eq!(found.unwrap(), Some(id));
}

#[tokio::test]
async fn updating_a_route_table_changes_routes_and_associations_in_place() {
    let env = Env::start().await;
    let vpc = env.vpc().await;
    let igw = env.internet_gateway(&vpc).await;
    let (a, b) = (
        env.subnet(&vpc, "10.0.1.0/24").await,
        env.subnet(&vpc, "10.0.2.0/24").await,
    );
    let nat = env.nat_gateway(&a).await;
    let rt = kind("route_table");
    let before = desired(
        rt,
        [
            ("vpc_id", s(&vpc)),
            (
                "routes",
                list([
                    route("0.0.0.0/0", "gateway_id", &igw),
                    route("172.16.0.0/12", "gateway_id", &igw),
                ]),
            ),
            ("subnet_ids", list([s(&a)])),
        ],
    );
    let id = rt
        .create(Create { cx: env.cx(), address: "route_table.private", desired: &before })
        .await
        .unwrap();
    let after = desired(
        rt,
        [
            ("vpc_id", s(&vpc)),
            (
                "routes",
                list([
                    // Same destination, another target: replaced in place.
                    route("0.0.0.0/0", "nat_gateway_id", &nat),
                    // 172.16.0.0/12 removed, 192.168.0.0/16 added.
                    route("192.168.0.0/16", "gateway_id", &igw),
                ]),
            ),
            ("subnet_ids", list([s(&b)])),
        ],
    );

    let live = env.read(rt, &id).await;
    reconcile::kinds::update(
        rt,
        Update {
            cx: env.cx(),
            address: "route_table.private",
            id: &id,
            live: &live,
            desired: &after,
            changed: &Changes::between(rt, &live, &after),
        },
    )
    .await
    .unwrap();

    assert_reads_as(rt, &env.read(rt, &id).await, &after);
    assert_eq!(env.associated_subnets(&id).await, vec![b]);
}

#[tokio::test]
async fn deleting_a_route_table_frees_its_subnets_and_a_second_delete_succeeds() {
    let env = Env::start().await;
    let vpc = env.vpc().await;
    let subnet = env.subnet(&vpc, "10.0.1.0/24").await;
    let rt = kind("route_table");
    let want = desired(
        rt,
        [("vpc_id", s(&vpc)), ("subnet_ids", list([s(&subnet)]))],
    );
    let id = rt
        .create(Create { cx: env.cx(), address: "route_table.public", desired: &want })
        .await
        .unwrap();
    let live = env.read(rt, &id).await;

    rt.delete(Delete { cx: env.cx(), id: &id, live: &live })
        .await
        .unwrap();

    let left = rt
        .read_many(env.cx(), std::slice::from_ref(&id))
        .await
        .unwrap();
    assert!(left.is_empty(), "read after delete: {left:?}");
    let still = env
        .ec2
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("association.subnet-id")
                .values(&subnet)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        still
            .route_tables()
            .iter()
            .all(|t| t.route_table_id() != Some(&id)),
        "the subnet is still associated"
    );
    rt.delete(Delete { cx: env.cx(), id: &id, live: &live })
        .await
        .expect("deleting a deleted route table succeeds");
}

#[tokio::test]
async fn a_security_group_reads_back_its_rules_and_has_no_default_egress() {
    let env = Env::start().await;
    let vpc = env.vpc().await;
    let sg = kind("security_group");
    let app = sg
        .create(Create {
            cx: env.cx(),
            address: "security_group.app",
            desired: &desired(sg, [("vpc_id", s(&vpc))]),
        })
        .await
        .unwrap();
    let want = desired(
        sg,
        [
            ("vpc_id", s(&vpc)),
            (
                "ingress",
                list([
                    rule(
                        "tcp",
                        443,
                        [("cidr_blocks", list([s("10.0.0.0/8"), s("192.168.0.0/16")]))],
                    ),
                    rule(
                        "tcp",
                        5432,
                        [
                            ("source_security_group_ids", list([s(&app)])),
                            ("description", s("from the app")),
                        ],
                    ),
                ]),
            ),
            ("tags", table([("Name", s("web"))])),
        ],
    );

    let id = sg
        .create(Create { cx: env.cx(), address: "security_group.web", desired: &want })
        .await
        .unwrap();

    let live = env.read(sg, &id).await;
    assert_reads_as(sg, &live, &want);
    assert_eq!(
        live["egress"],
        Value::List(Vec::new()),
        "default egress removed"
    );
    assert_eq!(
        live["name"],
        s("t-web"),
        "the name defaults to <stack>-<name>"
    );
    assert_eq!(live["description"], s("Managed by reconcile"));
    assert_eq!(live["ingress"].as_list().len(), 3, "one rule per source");
    let found = sg.find_by_address(env.cx(), "security_group.web").await;
    assert_eq!(found.unwrap(), Some(id));
}

#[tokio::test]
async fn a_security_group_keeps_the_allow_all_egress_rule_when_it_is_desired() {
    let env = Env::start().await;
    let vpc = env.vpc().await;
    let sg = kind("security_group");
    let all = rule("-1", 0, [("cidr_blocks", list([s("0.0.0.0/0")]))]);
    let want = desired(
        sg,
        [
            ("name", s("open-egress")),
            ("vpc_id", s(&vpc)),
            ("egress", list([all])),
        ],
    );

    let id = sg
        .create(Create { cx: env.cx(), address: "security_group.out", desired: &want })
        .await
        .unwrap();

    let live = env.read(sg, &id).await;
    assert_reads_as(sg, &live, &want);
    assert_eq!(live["name"], s("open-egress"));
}

#[tokio::test]
async fn changing_security_group_rules_keeps_the_same_group() {
    let env = Env::start().await;
    let vpc = env.vpc().await;
    let sg = kind("security_group");
    let ssh = |description: &str| {
        rule(
            "tcp",
            22,
            [
                ("cidr_blocks", list([s("10.0.0.0/8")])),
                ("description", s(description)),
            ],
        )
    };
    let before = desired(
        sg,
        [
            ("vpc_id", s(&vpc)),
            (
                "ingress",
                list([
                    ssh("admins"),
                    rule("tcp", 80, [("cidr_blocks", list([s("0.0.0.0/0")]))]),
                ]),
            ),
        ],
    );
    let id = sg
        .create(Create { cx: env.cx(), address: "security_group.web", desired: &before })
        .await
        .unwrap();
    let after = desired(
        sg,
        [
            ("vpc_id", s(&vpc)),
            (
                "ingress",
                list([
                    // Only the description changes: updated in place.
                    ssh("operators"),
                    rule(
                        "tcp",
                        443,
                        [
                            ("cidr_blocks", list([s("0.0.0.0/0")])),
                            ("description", s("https")),
                        ],
                    ),
                ]),
            ),
            (
                "egress",
                list([rule("udp", 53, [("cidr_blocks", list([s("10.0.0.2/32")]))])]),
            ),
            ("tags", table([("Team", s("web"))])),
        ],
    );

    let live = env.read(sg, &id).await;
    reconcile::kinds::update(
        sg,
        Update {
            cx: env.cx(),
            address: "security_group.web",
            id: &id,
            live: &live,
            desired: &after,
            changed: &Changes::between(sg, &live, &after),
        },
    )
    .await
    .unwrap();

    let live = env.read(sg, &id).await;
    assert_eq!(live["id"], s(&id));
    // Exactly the desired rules: port 80 revoked, 443 and DNS authorized.
    assert_reads_as(sg, &live, &after);
}

#[tokio::test]
async fn a_rule_authorized_out_of_band_is_read_and_the_next_update_revokes_it() {
    let env = Env::start().await;
    let vpc = env.vpc().await;
    let sg = kind("security_group");
    let want = desired(
        sg,
        [
            ("vpc_id", s(&vpc)),
            (
                "ingress",
                list([rule("tcp", 443, [("cidr_blocks", list([s("0.0.0.0/0")]))])]),
            ),
        ],
    );
    let id = sg
        .create(Create { cx: env.cx(), address: "security_group.web", desired: &want })
        .await
        .unwrap();
    env.ec2
        .authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("203.0.113.0/24").build())
                .build(),
        )
        .send()
        .await
        .unwrap();

    let live = env.read(sg, &id).await;
    let drifted = comparable(sg, &live)["ingress"].clone();
    let extra = rule("tcp", 22, [("cidr_blocks", list([s("203.0.113.0/24")]))]);
    let expected = comparable(
        sg,
        &desired(
            sg,
            [(
                "ingress",
                list([extra, want["ingress"].as_list()[0].clone()]),
            )],
        ),
    )["ingress"]
        .clone();
    assert_eq!(drifted, expected);

    reconcile::kinds::update(
        sg,
        Update {
            cx: env.cx(),
            address: "security_group.web",
            id: &id,
            live: &live,
            desired: &want,
            changed: &Changes::between(sg, &live, &want),
        },
    )
    .await
    .unwrap();
    assert_reads_as(sg, &env.read(sg, &id).await, &want);
}

#[tokio::test]
async fn deleting_a_security_group_twice_succeeds_and_it_reads_as_gone() {
    let env = Env::start().await;
    let vpc = env.vpc().await;
    let sg = kind("security_group");
    let id = sg
        .create(Create {
            cx: env.cx(),
            address: "security_group.web",
            desired: &desired(sg, [("vpc_id", s(&vpc))]),
        })
        .await
        .unwrap();
    let live = env.read(sg, &id).await;

    sg.delete(Delete { cx: env.cx(), id: &id, live: &live })
        .await
        .unwrap();

    let left = sg
        .read_many(env.cx(), std::slice::from_ref(&id))
        .await
        .unwrap();
    assert!(left.is_empty(), "read after delete: {left:?}");
    sg.delete(Delete { cx: env.cx(), id: &id, live: &live })
        .await
        .expect("deleting a deleted security group succeeds");
    let found = sg.find_by_address(env.cx(), "security_group.web").await;
    assert_eq!(found.unwrap(), None);
}
