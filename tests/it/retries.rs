//! The SDK's retries through the real clients (`Clients::from_config`)
//! against a scripted stand-in for AWS: a failed read is retried, a
//! throttled create is retried, a create whose answer may have been lost
//! is sent once and reported with an unknown outcome.

use crate::support;

use aws_config::retry::RetryConfig;
use reconcile::aws::{ApiError, Clients, ErrorClass};
use support::scripted::{Answer, Scripted, ok};

async fn clients(s: &Scripted) -> Clients {
    // Standard backoff, but short: the test is about which attempts are
    // made, not when.
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(10));
    support::scripted::clients(s, retry).await
}

const EC2_NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

fn ec2_error(status: u16, code: &str) -> Answer {
    Answer {
        status,
        body: format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>scripted</Message></Error></Errors><RequestID>1</RequestID></Response>"
        ),
    }
}

fn vpc_created() -> Answer {
    ok(format!(
        "<CreateVpcResponse xmlns=\"{EC2_NS}\"><requestId>r</requestId><vpc><vpcId>vpc-1</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><state>pending</state></vpc></CreateVpcResponse>"
    ))
}

async fn create_vpc(aws: &Clients) -> Result<String, ApiError> {
    let out = aws
        .ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await?;
    Ok(out
        .vpc()
        .and_then(|v| v.vpc_id())
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test]
async fn a_create_whose_answer_may_be_lost_is_sent_once() {
    let s = Scripted::start(vec![(
        "CreateVpc",
        vec![ec2_error(500, "InternalError"), vpc_created()],
    )]);
    let aws = clients(&s).await;
    let err = create_vpc(&aws)
        .await
        .expect_err("the first answer is a 500");
    assert_eq!(err.class, ErrorClass::Transient, "{err}");
    assert!(err.outcome_unknown());
    assert_eq!(err.code.as_deref(), Some("InternalError"), "{err}");
    assert_eq!(s.count("CreateVpc"), 1, "{:?}", s.calls());
}

#[tokio::test]
async fn a_throttled_create_is_retried() {
    let s = Scripted::start(vec![(
        "CreateVpc",
        vec![ec2_error(503, "RequestLimitExceeded"), vpc_created()],
    )]);
    let aws = clients(&s).await;
    assert_eq!(create_vpc(&aws).await.expect("the retry succeeds"), "vpc-1");
    assert_eq!(s.count("CreateVpc"), 2, "{:?}", s.calls());
}

#[tokio::test]
async fn a_failed_read_and_a_tokened_create_are_retried() {
    let s = Scripted::start(vec![
        (
            "DescribeVpcs",
            vec![
                ec2_error(500, "InternalError"),
                ok(format!(
                    "<DescribeVpcsResponse xmlns=\"{EC2_NS}\"><requestId>r</requestId><vpcSet/></DescribeVpcsResponse>"
                )),
            ],
        ),
        (
            "CreateNatGateway",
            vec![
                ec2_error(500, "InternalError"),
                ok(format!(
                    "<CreateNatGatewayResponse xmlns=\"{EC2_NS}\"><requestId>r</requestId><natGateway><natGatewayId>nat-1</natGatewayId><state>pending</state></natGateway></CreateNatGatewayResponse>"
                )),
            ],
        ),
    ]);
    let aws = clients(&s).await;
    aws.ec2.describe_vpcs().send().await.expect("retried");
    assert_eq!(s.count("DescribeVpcs"), 2, "{:?}", s.calls());
    // The client token makes a repeat return the first gateway.
    let nat = aws
        .ec2
        .create_nat_gateway()
        .subnet_id("subnet-1")
        .client_token("token")
        .send()
        .await
        .expect("retried");
    assert_eq!(
        nat.nat_gateway().and_then(|n| n.nat_gateway_id()),
        Some("nat-1")
    );
    assert_eq!(s.count("CreateNatGateway"), 2, "{:?}", s.calls());
}

#[tokio::test]
async fn an_operation_the_endpoint_lacks_is_said_plainly_and_sent_once() {
    // What moto's server answers an operation it does not implement.
    let page = Answer {
        status: 500,
        body: "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n".into(),
    };
    let s = Scripted::start(vec![("StartInstanceRefresh", vec![page])]);
    let aws = clients(&s).await;
    let err: ApiError = aws
        .autoscaling
        .start_instance_refresh()
        .auto_scaling_group_name("nodes")
        .send()
        .await
        .expect_err("not implemented")
        .into();
    assert_eq!(err.class, ErrorClass::NotImplemented, "{err}");
    assert!(!err.outcome_unknown());
    assert!(
        err.to_string().starts_with(
            "NotImplemented: StartInstanceRefresh is not implemented by the endpoint (HTTP 500"
        ),
        "{err}"
    );
    assert_eq!(s.count("StartInstanceRefresh"), 1, "{:?}", s.calls());

    // AWS's own 501 too; an XML 500 of AWS stays transient and retried.
    let s = Scripted::start(vec![
        (
            "DescribeVpcs",
            vec![Answer { status: 501, body: String::new() }],
        ),
        ("DescribeSubnets", vec![ec2_error(500, "InternalError")]),
    ]);
    let aws = clients(&s).await;
    let err: ApiError = aws.ec2.describe_vpcs().send().await.unwrap_err().into();
    assert_eq!(err.class, ErrorClass::NotImplemented, "{err}");
    assert!(err.message.contains("(HTTP 501)"), "{err}");
    assert_eq!(s.count("DescribeVpcs"), 1, "{:?}", s.calls());
    let err: ApiError = aws.ec2.describe_subnets().send().await.unwrap_err().into();
    assert_eq!(err.class, ErrorClass::Transient, "{err}");
    assert_eq!(s.count("DescribeSubnets"), 3, "{:?}", s.calls());
}
