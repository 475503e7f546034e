//! AWS's rate limits, played by the proxy's bucket mode: mutating calls
//! draw from a token bucket per service and an empty bucket answers the
//! service's own throttling error; a new EC2 id is unknown to describes for
//! a while. An apply under those buckets completes, the executor's limits
//! adapt, and `--stats` counts the same throttling answers the proxy gave.

use crate::support;

use std::path::Path;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use support::proxy::{Bucket, Faults, Proxy};
use support::{Emulator, Workspace, reconcile_env};

fn bucket(service: &str, burst: f64, refill_per_s: f64) -> Bucket {
    Bucket { service: service.into(), burst, refill_per_s }
}

/// SDK configuration through the proxy, no retries: each answer is seen.
async fn through(proxy: &Proxy) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&proxy.endpoint)
        .region("us-east-1")
        .retry_config(RetryConfig::disabled())
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

/// (HTTP status, error code, `x-amzn-ErrorType`) of a failed call.
fn refused<E: ProvideErrorMetadata>(
    r: Result<
        impl std::fmt::Debug,
        aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    >,
) -> (u16, String, Option<String>) {
    let err = r.expect_err("the bucket is empty");
    let raw = err.raw_response().expect("an HTTP answer");
    let status = raw.status().as_u16();
    let header = raw.headers().get("x-amzn-ErrorType").map(str::to_owned);
    let code = err.code().unwrap_or_default().to_owned();
    (status, code, header)
}

#[test]
fn the_bucket_proxy_throttles_each_protocol_in_its_own_shape_and_hides_new_ec2_ids() {
    let emu = Emulator::start();
    let proxy = Proxy::start(
        &emu.endpoint,
        Faults {
            // Refills too slow to matter within the test.
            buckets: vec![
                bucket("ec2", 3.0, 0.001),
                bucket("iam", 2.0, 0.001),
                bucket("logs", 2.0, 0.001),
            ],
            visibility_delay: Duration::from_secs(1),
            ..Faults::none()
        },
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let conf = through(&proxy).await;
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        let vpc = |cidr: &'static str| ec2.create_vpc().cidr_block(cidr).send();

        // A new VPC: NotFound to a describe naming it, for a second.
        let id = vpc("10.0.0.0/16")
            .await
            .unwrap()
            .vpc()
            .unwrap()
            .vpc_id()
            .unwrap()
            .to_owned();
        let (status, code, _) = refused(ec2.describe_vpcs().vpc_ids(&id).send().await);
        assert_eq!((status, code.as_str()), (400, "InvalidVpcID.NotFound"));
        // Reads are not metered: the bucket still holds two tokens.
        ec2.describe_vpcs().send().await.unwrap();
        vpc("10.1.0.0/16").await.unwrap();
        vpc("10.2.0.0/16").await.unwrap();
        let (status, code, _) = refused(vpc("10.3.0.0/16").await);
        assert_eq!((status, code.as_str()), (503, "RequestLimitExceeded"));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let seen = ec2.describe_vpcs().vpc_ids(&id).send().await.unwrap();
        assert_eq!(seen.vpcs().len(), 1);

        // IAM (query protocol): `Throttling`, HTTP 400.
        let iam = aws_sdk_iam::Client::new(&conf);
        let trust = r#"{"Version":"2012-10-17","Statement":[]}"#;
        for name in ["a", "b"] {
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .send()
                .await
                .unwrap();
        }
        let (status, code, _) = refused(
            iam.create_role()
                .role_name("c")
                .assume_role_policy_document(trust)
                .send()
                .await,
        );
        assert_eq!((status, code.as_str()), (400, "Throttling"));

        // CloudWatch Logs (JSON protocol): `ThrottlingException`, HTTP 400,
        // named in the x-amzn-ErrorType header too.
        let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
        for name in ["a", "b"] {
            logs.create_log_group()
                .log_group_name(name)
                .send()
                .await
                .unwrap();
        }
        let (status, code, header) =
            refused(logs.create_log_group().log_group_name("c").send().await);
        assert_eq!((status, code.as_str()), (400, "ThrottlingException"));
        assert_eq!(header.as_deref(), Some("ThrottlingException"));
        logs.describe_log_groups().send().await.unwrap();
    });
    let stats = proxy.stats();
    assert_eq!(stats.throttled.get("ec2"), Some(&1));
    assert_eq!(stats.throttled.get("iam"), Some(&1));
    assert_eq!(stats.throttled.get("logs"), Some(&1));
    assert_eq!(stats.not_visible, 1);
    // What the bucket refused never reached the emulator.
    let cidrs = vpc_cidrs(&emu);
    assert!(
        !cidrs.iter().any(|c| c == "10.3.0.0/16"),
        "the throttled create was done: {cidrs:?}"
    );
    assert!(cidrs.iter().any(|c| c == "10.2.0.0/16"), "{cidrs:?}");
}

/// The CIDR blocks of the emulator's VPCs made by `stack` (any, when `None`).
fn vpc_cidrs_of(emu: &Emulator, stack: Option<&str>) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut call = support::ec2(emu).await.describe_vpcs();
        if let Some(stack) = stack {
            call = call.filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:reconcile:stack")
                    .values(stack)
                    .build(),
            );
        }
        call.send()
            .await
            .unwrap()
            .vpcs()
            .iter()
            .filter_map(|v| v.cidr_block().map(str::to_owned))
            .collect()
    })
}

fn vpc_cidrs(emu: &Emulator) -> Vec<String> {
    vpc_cidrs_of(emu, None)
}

#[test]
fn a_bucket_is_parsed_from_its_flag() {
    let b = Bucket::parse("ec2=50/20").unwrap();
    assert_eq!(
        (b.service.as_str(), b.burst, b.refill_per_s),
        ("ec2", 50.0, 20.0)
    );
    for bad in ["ec2", "ec2=50", "ec2=x/1", "=5/1", "ec2=0/1", "ec2=5/0"] {
        assert!(Bucket::parse(bad).is_err(), "{bad}");
    }
}

/// (throttled, limit) of one `--stats` row, e.g.
/// `  ec2 mutating   7 throttled of 120 calls, limit 6 (peak 24)`.
fn stats_row(stderr: &str, name: &str) -> Option<(u64, Option<u64>)> {
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(name) && l.contains("throttled of"))?;
    let rest = line.trim_start().strip_prefix(name)?.trim_start();
    let throttled = rest.split_whitespace().next()?.parse().ok()?;
    let limit = rest
        .split(", limit ")
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .and_then(|l| l.parse().ok());
    Some((throttled, limit))
}

#[test]
fn an_apply_under_token_buckets_completes_and_stats_show_the_throttling_and_the_limits() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    support::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/stack"),
        &ws.desired_path(),
    );
    // AWS's EC2 mutating bucket (50, 5 per second) scaled down to a stack of
    // 30 resources; IAM and Logs meter too.
    let proxy = Proxy::start(
        &emu.endpoint,
        Faults {
            buckets: vec![
                bucket("ec2", 8.0, 8.0),
                bucket("iam", 3.0, 4.0),
                bucket("logs", 2.0, 4.0),
            ],
            visibility_delay: Duration::from_secs(1),
            ..Faults::none()
        },
    );
    let env = [("AWS_ENDPOINT_URL", proxy.endpoint.as_str())];
    let args = |cmd: &'static str| {
        [
            cmd,
            "--auto-approve",
            "--stats",
            "--parallelism",
            "30",
            "--var",
            "units=3",
        ]
    };

    let run = reconcile_env(Some(&emu), &ws, &args("apply"), &env);
    run.expect_success();
    let stats = proxy.stats();
    let ec2_throttled = stats.throttled.get("ec2").copied().unwrap_or(0);
    assert!(ec2_throttled > 0, "the buckets never ran dry: {run}");
    assert!(stats.not_visible > 0, "no describe met a new id: {run}");
    // reconcile saw every throttling answer the proxy gave, and adapted.
    let (seen, limit) = stats_row(&run.stderr, "ec2 mutating").expect("an ec2 mutating row");
    assert_eq!(seen, ec2_throttled, "{run}");
    let limit = limit.expect("the executor's limit");
    assert!((1..30).contains(&limit), "limit {limit}: {run}");
    let resources = ws.state()["resources"].as_object().unwrap().len();
    assert_eq!(resources, 30, "{run}");
    assert!(!run.stdout.contains("failed"), "{run}");
    assert_eq!(vpc_cidrs_of(&emu, Some("bench")).len(), 3, "{run}");

    // The same stack again: no change, nothing metered.
    let plan = reconcile_env(
        Some(&emu),
        &ws,
        &["plan", "--detailed-exitcode", "--var", "units=3"],
        &env,
    );
    plan.expect_code(0);

    proxy.reset_stats();
    let run = reconcile_env(Some(&emu), &ws, &args("destroy"), &env);
    run.expect_success();
    assert!(
        proxy.stats().throttled.get("ec2").copied().unwrap_or(0) > 0,
        "{run}"
    );
    assert_eq!(
        ws.state()["resources"]
            .as_object()
            .map_or(0, serde_json::Map::len),
        0,
        "{run}"
    );
    assert_eq!(
        vpc_cidrs_of(&emu, Some("bench")),
        Vec::<String>::new(),
        "{run}"
    );
}
