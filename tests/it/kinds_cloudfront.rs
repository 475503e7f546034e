//! `cloudfront_distribution` through the CLI against the emulator: an S3
//! bucket behind a distribution is applied, plans clean, takes a changed
//! comment and price class in place, and is destroyed without a trace.

use crate::support;

use support::{Emulator, Workspace, reconcile};

const STACK: &str = "cdn";

fn desired(comment: &str, price_class: &str) -> String {
    format!(
        r#"
[stack]
name = "{STACK}"
region = "us-east-1"

ORIGIN_RESOURCE

[cloudfront_distribution.site]
origins = [{{ id = "assets", domain_name = "ORIGIN_DOMAIN", s3_origin = {{}} }}]
default_cache_behavior = {{ target_origin_id = "assets", viewer_protocol_policy = "redirect-to-https" }}
default_root_object = "index.html"
comment = "{comment}"
price_class = "{price_class}"
tags = {{ Team = "web" }}
"#
    )
    .replace("ORIGIN_RESOURCE", ORIGIN_RESOURCE)
    .replace("ORIGIN_DOMAIN", ORIGIN_DOMAIN)
}

const ORIGIN_RESOURCE: &str = r#"
[s3_bucket.site]
bucket_prefix = "cdn-site-"
"#;
const ORIGIN_DOMAIN: &str = "${s3_bucket.site.bucket_regional_domain_name}";

/// Every distribution the emulator holds: (id, comment, price class, enabled).
async fn distributions(emu: &Emulator) -> Vec<(String, String, String, bool)> {
    let cf = aws_sdk_cloudfront::Client::new(&support::sdk_config(emu).await);
    let list = cf.list_distributions().send().await.unwrap();
    let mut out = Vec::new();
    for s in list
        .distribution_list()
        .map(aws_sdk_cloudfront::types::DistributionList::items)
        .unwrap_or_default()
    {
        let got = cf.get_distribution().id(s.id()).send().await.unwrap();
        let c = got
            .distribution()
            .and_then(|d| d.distribution_config())
            .unwrap();
        out.push((
            s.id().to_owned(),
            c.comment().to_owned(),
            c.price_class()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            c.enabled(),
        ));
    }
    out
}

#[tokio::test]
async fn a_bucket_behind_a_distribution_applies_plans_clean_updates_and_destroys() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/cdn.toml", &desired("first", "PriceClass_All"));

    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{run}"
    );
    let live = distributions(&emu).await;
    assert_eq!(live.len(), 1, "{live:?}");
    let (id, comment, price_class, enabled) = &live[0];
    assert_eq!(
        (comment.as_str(), price_class.as_str(), *enabled),
        ("first", "PriceClass_All", true)
    );
    let st = ws.state();
    let dist = &st["resources"]["cloudfront_distribution.site"];
    assert_eq!(dist["id"], serde_json::json!(id), "{dist}");
    let attrs = dist.to_string();
    assert!(
        attrs.contains(".cloudfront.net"),
        "domain_name exported: {attrs}"
    );
    assert!(attrs.contains("Deployed"), "status exported: {attrs}");

    // Read back equal to what was asked: nothing to do.
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    ws.write("desired/cdn.toml", &desired("second", "PriceClass_100"));
    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{run}"
    );
    assert!(
        run.stdout.contains("PriceClass_100") && run.stdout.contains("second"),
        "{run}"
    );
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout.contains("0 added, 1 changed, 0 destroyed"),
        "{run}"
    );
    let live = distributions(&emu).await;
    assert_eq!(live.len(), 1, "updated in place, not replaced: {live:?}");
    assert_eq!(&live[0].0, id);
    assert_eq!(
        (live[0].1.as_str(), live[0].2.as_str()),
        ("second", "PriceClass_100")
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let run = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Destroy complete! Resources: 2 destroyed."),
        "{run}"
    );
    let live = distributions(&emu).await;
    assert!(live.is_empty(), "{live:?}");
}
