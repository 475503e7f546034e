//! Waiters through the real SDK: the emulator skips pending states, so a
//! scripted stand-in answers with them (pending, pending, available; a
//! failed state; deleting, deleted) and the kinds' create and delete must
//! wait through them — parsing AWS's own XML, not hand-built SDK values.

use crate::support;

use aws_config::retry::RetryConfig;
use reconcile::aws::Clients;
use reconcile::kinds::{self, Create, Ctx, Delete};
use reconcile::value::{Attrs, Value};
use support::scripted::{Answer, Scripted, ok};

async fn clients(s: &Scripted) -> Clients {
    support::scripted::clients(s, RetryConfig::standard().with_max_attempts(1)).await
}

const EC2_NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

fn create_nat() -> Answer {
    ok(format!(
        "<CreateNatGatewayResponse xmlns=\"{EC2_NS}\"><requestId>r</requestId><natGateway><natGatewayId>nat-0123</natGatewayId><subnetId>subnet-1</subnetId><state>pending</state></natGateway></CreateNatGatewayResponse>"
    ))
}

/// DescribeNatGateways answering the gateway in `state` (`None`: no
/// gateway), with AWS's failure message when there is one.
fn nat(state: Option<&str>, failure: Option<&str>) -> Answer {
    let item = state.map_or(String::new(), |s| {
        let failure = failure.map_or(String::new(), |f| {
            format!("<failureCode>Gateway.NotAttached</failureCode><failureMessage>{f}</failureMessage>")
        });
        format!(
            "<item><natGatewayId>nat-0123</natGatewayId><subnetId>subnet-1</subnetId><vpcId>vpc-1</vpcId><state>{s}</state>{failure}<tagSet/></item>"
        )
    });
    ok(format!(
        "<DescribeNatGatewaysResponse xmlns=\"{EC2_NS}\"><requestId>r</requestId><natGatewaySet>{item}</natGatewaySet></DescribeNatGatewaysResponse>"
    ))
}

fn gateway() -> Attrs {
    Attrs::from([
        ("subnet_id".to_owned(), Value::str("subnet-1")),
        ("allocation_id".to_owned(), Value::str("eipalloc-1")),
        ("connectivity_type".to_owned(), Value::str("public")),
    ])
}

#[tokio::test]
async fn a_nat_gateway_create_waits_through_pending_until_available() {
    let s = Scripted::start(vec![
        ("CreateNatGateway", vec![create_nat()]),
        (
            "DescribeNatGateways",
            vec![
                nat(Some("pending"), None),
                nat(Some("pending"), None),
                nat(Some("available"), None),
            ],
        ),
    ]);
    let aws = clients(&s).await;
    let cx = Ctx { aws: &aws, stack: "test" };
    let kind = kinds::lookup("nat_gateway").expect("the kind");
    let id = kind
        .create(Create { cx, address: "nat_gateway.x", desired: &gateway() })
        .await
        .expect("available after two pending answers");
    assert_eq!(id, "nat-0123");
    assert_eq!(s.count("CreateNatGateway"), 1, "{:?}", s.calls());
    assert_eq!(s.count("DescribeNatGateways"), 3, "{:?}", s.calls());
}

#[tokio::test]
async fn a_failed_nat_gateway_stops_the_wait_with_aws_reason() {
    let s = Scripted::start(vec![
        ("CreateNatGateway", vec![create_nat()]),
        (
            "DescribeNatGateways",
            vec![
                nat(Some("pending"), None),
                nat(
                    Some("failed"),
                    Some("Network vpc-1 has no Internet gateway attached"),
                ),
            ],
        ),
    ]);
    let aws = clients(&s).await;
    let cx = Ctx { aws: &aws, stack: "test" };
    let kind = kinds::lookup("nat_gateway").expect("the kind");
    let err = kind
        .create(Create { cx, address: "nat_gateway.x", desired: &gateway() })
        .await
        .expect_err("a failed gateway is an error");
    assert!(
        err.to_string()
            .contains("Network vpc-1 has no Internet gateway attached"),
        "{err}"
    );
    // It stopped at the failed answer instead of polling on.
    assert_eq!(s.count("DescribeNatGateways"), 2, "{:?}", s.calls());
}

#[tokio::test]
async fn a_nat_gateway_delete_waits_until_it_is_deleted() {
    let s = Scripted::start(vec![
        (
            "DeleteNatGateway",
            vec![ok(format!(
                "<DeleteNatGatewayResponse xmlns=\"{EC2_NS}\"><requestId>r</requestId><natGatewayId>nat-0123</natGatewayId></DeleteNatGatewayResponse>"
            ))],
        ),
        (
            "DescribeNatGateways",
            vec![
                nat(Some("available"), None),
                nat(Some("deleting"), None),
                nat(Some("deleting"), None),
                nat(Some("deleted"), None),
            ],
        ),
    ]);
    let aws = clients(&s).await;
    let cx = Ctx { aws: &aws, stack: "test" };
    let kind = kinds::lookup("nat_gateway").expect("the kind");
    kind.delete(Delete { cx, id: "nat-0123", live: &Attrs::new() })
        .await
        .expect("deleted after two deleting answers");
    assert_eq!(
        s.calls(),
        [
            "DescribeNatGateways",
            "DeleteNatGateway",
            "DescribeNatGateways",
            "DescribeNatGateways",
            "DescribeNatGateways",
        ]
    );
}

const RDS_NS: &str = "http://rds.amazonaws.com/doc/2014-10-31/";

/// DescribeDBInstances answering instance `db1` in `status`.
fn db(status: &str) -> Answer {
    ok(format!(
        "<DescribeDBInstancesResponse xmlns=\"{RDS_NS}\"><DescribeDBInstancesResult><DBInstances><DBInstance><DBInstanceIdentifier>db1</DBInstanceIdentifier><DBInstanceStatus>{status}</DBInstanceStatus><Engine>postgres</Engine><DBInstanceClass>db.t3.micro</DBInstanceClass></DBInstance></DBInstances></DescribeDBInstancesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeDBInstancesResponse>"
    ))
}

#[tokio::test]
async fn a_db_instance_create_waits_through_creating_and_backing_up() {
    let s = Scripted::start(vec![
        (
            "CreateDBInstance",
            vec![ok(format!(
                "<CreateDBInstanceResponse xmlns=\"{RDS_NS}\"><CreateDBInstanceResult><DBInstance><DBInstanceIdentifier>db1</DBInstanceIdentifier><DBInstanceStatus>creating</DBInstanceStatus></DBInstance></CreateDBInstanceResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateDBInstanceResponse>"
            ))],
        ),
        (
            "DescribeDBInstances",
            vec![
                db("creating"),
                db("backing-up"),
                db("configuring-enhanced-monitoring"),
                db("available"),
            ],
        ),
    ]);
    let aws = clients(&s).await;
    let cx = Ctx { aws: &aws, stack: "test" };
    let desired = Attrs::from([
        ("identifier".to_owned(), Value::str("db1")),
        ("engine".to_owned(), Value::str("postgres")),
        ("instance_class".to_owned(), Value::str("db.t3.micro")),
        ("master_username".to_owned(), Value::str("app")),
        (
            "master_password".to_owned(),
            Value::str("Sup3rS3cretPassw0rd"),
        ),
    ]);
    let kind = kinds::lookup("db_instance").expect("the kind");
    let id = kind
        .create(Create { cx, address: "db_instance.x", desired: &desired })
        .await
        .expect("available after three pending answers");
    assert_eq!(id, "db1");
    assert_eq!(s.count("DescribeDBInstances"), 4, "{:?}", s.calls());
}
