//! The network kinds (subnet, internet gateway, Elastic IP, NAT gateway)
//! against the emulator, through the library API: each is created, read back
//! as written, changed in place, found by its address and deleted, twice.

use crate::support;

use std::collections::BTreeMap;

use reconcile::aws::Clients;
use reconcile::kinds::{self, Changes, Create, Ctx, Delete, Kind, Update};
use reconcile::value::{Attrs, Value};
use support::Emulator;

const STACK: &str = "t";

async fn clients(emu: &Emulator) -> Clients {
    Clients::from_config(&support::sdk_config(emu).await)
}

fn kind(name: &str) -> &'static dyn Kind {
    kinds::lookup(name).unwrap_or_else(|| panic!("kind {name} is not registered"))
}

/// Desired attributes of `kind_name` with the schema's defaults filled in.
fn desired(kind_name: &str, fields: &[(&str, Value)]) -> Attrs {
    let given: Attrs = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    kind(kind_name).schema().with_defaults(&given)
}

fn tags(pairs: &[(&str, &str)]) -> Value {
    Value::from(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    )
}

async fn read(cx: Ctx<'_>, kind_name: &str, id: &str) -> Option<Attrs> {
    let mut found = kind(kind_name)
        .read_many(cx, &[id.to_owned()])
        .await
        .unwrap_or_else(|e| panic!("reading {kind_name} {id}: {e}"));
    found.remove(id)
}

#[track_caller]
fn assert_reads_as(live: &Attrs, desired: &Attrs) {
    for (name, want) in desired {
        assert_eq!(
            live.get(name),
            Some(want),
            "{name} reads back differently\nlive: {live:?}\ndesired: {desired:?}"
        );
    }
}

async fn create(cx: Ctx<'_>, address: &str, desired: &Attrs) -> String {
    let kind_name = address.split('.').next().unwrap_or_default();
    kind(kind_name)
        .create(Create { cx, address, desired })
        .await
        .unwrap_or_else(|e| panic!("creating {address}: {e}"))
}

async fn vpc(cx: Ctx<'_>, name: &str, cidr: &str) -> String {
    let d = desired("vpc", &[("cidr_block", Value::str(cidr))]);
    create(cx, &format!("vpc.{name}"), &d).await
}

/// The life every kind goes through: create, read back as written, change
/// in place, find by address, delete, delete again. Returns what was read
/// after the change, for the caller's own checks.
async fn lifecycle(cx: Ctx<'_>, address: &str, first: &Attrs, changed: &Attrs) -> Attrs {
    let kind_name = address.split('.').next().unwrap_or_default();
    let k = kind(kind_name);

    let id = create(cx, address, first).await;
    let live = read(cx, kind_name, &id)
        .await
        .unwrap_or_else(|| panic!("{address} ({id}) is not readable after create"));
    assert_reads_as(&live, first);
    assert_eq!(live.get("id"), Some(&Value::str(&id)));

    reconcile::kinds::update(
        k,
        Update {
            cx,
            address,
            id: &id,
            live: &live,
            desired: changed,
            changed: &Changes::between(k, &live, changed),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("updating {address}: {e}"));
    let after = read(cx, kind_name, &id)
        .await
        .unwrap_or_else(|| panic!("{address} ({id}) is not readable after update"));
    assert_reads_as(&after, changed);

    let found = k
        .find_by_address(cx, address)
        .await
        .unwrap_or_else(|e| panic!("finding {address}: {e}"));
    assert_eq!(found.as_deref(), Some(id.as_str()), "{address} by its tags");
    let elsewhere = Ctx { aws: cx.aws, stack: "another-stack" };
    let stranger = k.find_by_address(elsewhere, address).await.unwrap();
    assert_eq!(stranger, None, "{address} of another stack is not ours");

    k.delete(Delete { cx, id: &id, live: &after })
        .await
        .unwrap_or_else(|e| panic!("deleting {address}: {e}"));
    assert_eq!(
        read(cx, kind_name, &id).await,
        None,
        "{address} after delete"
    );
    k.delete(Delete { cx, id: &id, live: &after })
        .await
        .unwrap_or_else(|e| panic!("deleting {address} a second time: {e}"));
    assert_eq!(k.find_by_address(cx, address).await.unwrap(), None);
    after
}

#[tokio::test]
async fn a_subnet_is_created_read_updated_found_and_deleted() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let vpc_id = vpc(cx, "main", "10.0.0.0/16").await;

    let first = desired(
        "subnet",
        &[
            ("vpc_id", Value::str(&vpc_id)),
            ("cidr_block", Value::str("10.0.1.0/24")),
            ("availability_zone", Value::str("us-east-1a")),
            ("tags", tags(&[("Name", "public-a")])),
        ],
    );
    let mut changed = first.clone();
    changed.insert("map_public_ip_on_launch".into(), Value::Bool(true));
    changed.insert(
        "tags".into(),
        tags(&[("Name", "public-a"), ("Tier", "public")]),
    );

    let after = lifecycle(cx, "subnet.public_a", &first, &changed).await;
    let arn = after["arn"].as_str().unwrap_or_default();
    assert!(arn.starts_with("arn:aws:ec2:us-east-1:"), "{arn}");
    assert!(
        after["availability_zone_id"].as_str().is_some(),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_subnet_without_a_zone_gets_one_and_carries_the_reconcile_tags() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let vpc_id = vpc(cx, "main", "10.1.0.0/16").await;

    let d = desired(
        "subnet",
        &[
            ("vpc_id", Value::str(&vpc_id)),
            ("cidr_block", Value::str("10.1.2.0/24")),
            ("map_public_ip_on_launch", Value::Bool(true)),
        ],
    );
    let id = create(cx, "subnet.private", &d).await;
    let live = read(cx, "subnet", &id).await.expect("the subnet exists");
    assert_reads_as(&live, &d);
    let zone = live["availability_zone"].as_str().unwrap_or_default();
    assert!(zone.starts_with("us-east-1"), "{zone}");

    let raw = support::ec2(&emu)
        .await
        .describe_subnets()
        .subnet_ids(&id)
        .send()
        .await
        .unwrap();
    let tags: BTreeMap<&str, &str> = raw.subnets()[0]
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    assert_eq!(tags.get("reconcile:stack"), Some(&STACK));
    assert_eq!(tags.get("reconcile:address"), Some(&"subnet.private"));
}

#[tokio::test]
async fn an_internet_gateway_moves_between_vpcs_in_place() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let a = vpc(cx, "a", "10.0.0.0/16").await;
    let b = vpc(cx, "b", "10.1.0.0/16").await;

    let first = desired(
        "internet_gateway",
        &[
            ("vpc_id", Value::str(&a)),
            ("tags", tags(&[("Name", "gw")])),
        ],
    );
    let mut changed = first.clone();
    changed.insert("vpc_id".into(), Value::str(&b));
    changed.insert("tags".into(), tags(&[("Name", "gw-b")]));
    // The delete at the end of the life detaches it from `b` first.
    lifecycle(cx, "internet_gateway.main", &first, &changed).await;

    // Detached entirely, then attached again.
    let igw = kind("internet_gateway");
    let id = create(cx, "internet_gateway.other", &first).await;
    let live = read(cx, "internet_gateway", &id).await.unwrap();
    let mut detached = first.clone();
    detached.insert("vpc_id".into(), Value::Null);
    reconcile::kinds::update(
        igw,
        Update {
            cx,
            address: "internet_gateway.other",
            id: &id,
            live: &live,
            desired: &detached,
            changed: &Changes::between(igw, &live, &detached),
        },
    )
    .await
    .unwrap();
    let live = read(cx, "internet_gateway", &id).await.unwrap();
    assert_eq!(live["vpc_id"], Value::Null);
    reconcile::kinds::update(
        igw,
        Update {
            cx,
            address: "internet_gateway.other",
            id: &id,
            live: &live,
            desired: &changed,
            changed: &Changes::between(igw, &live, &changed),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        read(cx, "internet_gateway", &id).await.unwrap()["vpc_id"],
        Value::str(&b)
    );
}

#[tokio::test]
async fn an_eip_is_allocated_retagged_and_released() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };

    let first = desired("eip", &[("tags", tags(&[("Name", "nat-a")]))]);
    let mut changed = first.clone();
    changed.insert("tags".into(), tags(&[("Role", "nat")]));
    let after = lifecycle(cx, "eip.nat_a", &first, &changed).await;
    assert_eq!(after["domain"], Value::str("vpc"));
    let ip = after["public_ip"].as_str().unwrap_or_default();
    assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "{ip:?}");
}

#[tokio::test]
async fn a_nat_gateway_is_created_available_and_deleted() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let vpc_id = vpc(cx, "main", "10.0.0.0/16").await;
    let subnet = desired(
        "subnet",
        &[
            ("vpc_id", Value::str(&vpc_id)),
            ("cidr_block", Value::str("10.0.1.0/24")),
        ],
    );
    let subnet_id = create(cx, "subnet.public_a", &subnet).await;
    let eip_id = create(cx, "eip.nat_a", &desired("eip", &[])).await;
    let eip = read(cx, "eip", &eip_id).await.unwrap();

    let first = desired(
        "nat_gateway",
        &[
            ("subnet_id", Value::str(&subnet_id)),
            ("allocation_id", Value::str(&eip_id)),
            ("tags", tags(&[("Name", "nat-a")])),
        ],
    );
    assert_eq!(first["connectivity_type"], Value::str("public"));
    let mut changed = first.clone();
    changed.insert("tags".into(), tags(&[("Name", "nat-a"), ("Env", "test")]));
    let after = lifecycle(cx, "nat_gateway.a", &first, &changed).await;
    assert_eq!(after["public_ip"], eip["public_ip"]);
    let private = after["private_ip"].as_str().unwrap_or_default();
    assert!(private.parse::<std::net::Ipv4Addr>().is_ok(), "{private:?}");

    // AWS answers NatGatewayNotFound here, the emulator HTTP 500: both are
    // "already gone".
    kind("nat_gateway")
        .delete(Delete { cx, id: "nat-0123456789abcdef0", live: &Attrs::new() })
        .await
        .expect("deleting a NAT gateway AWS never heard of");
}

#[tokio::test]
async fn a_private_nat_gateway_needs_no_elastic_ip() {
    let emu = Emulator::start();
    let aws = clients(&emu).await;
    let cx = Ctx { aws: &aws, stack: STACK };
    let vpc_id = vpc(cx, "main", "10.0.0.0/16").await;
    let subnet = desired(
        "subnet",
        &[
            ("vpc_id", Value::str(&vpc_id)),
            ("cidr_block", Value::str("10.0.3.0/24")),
        ],
    );
    let subnet_id = create(cx, "subnet.private", &subnet).await;
    let d = desired(
        "nat_gateway",
        &[
            ("subnet_id", Value::str(&subnet_id)),
            ("connectivity_type", Value::str("private")),
        ],
    );
    let id = create(cx, "nat_gateway.private", &d).await;
    let live = read(cx, "nat_gateway", &id).await.unwrap();
    assert_reads_as(&live, &d);
    assert_eq!(live["public_ip"], Value::Null);
    assert_eq!(live["allocation_id"], Value::Null);
}
