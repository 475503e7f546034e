//! Secrets and DNS kinds through the CLI against the emulator: Secrets
//! Manager secrets and SSM parameters (values write-only, never in clear
//! in the output or the state), Route 53 zones and records, the zone
//! lookup, and ACM certificates validated by DNS records they write.

use crate::support;

use support::{Emulator, Workspace, reconcile, sdk_config};

const SECRET: &str = "Wr1teOnlySecretValue";
const SECRET_2: &str = "An0therSecretValue42";

const SECRETS: &str = r#"
[stack]
name = "sec"
region = "us-east-1"

[variables.api_key]
type = "string"
sensitive = true

[variables.note]
type = "string"
default = "api key"

[variables.level]
type = "string"
default = "info"

[secretsmanager_secret.api]
description = "${var.note}"
secret_string = "${var.api_key}"
recovery_window_in_days = 0
tags = { team = "web" }

[ssm_parameter.level]
name = "/sec/log-level"
type = "String"
value = "${var.level}"

[ssm_parameter.token]
name = "/sec/token"
type = "SecureString"
secure_value = "${var.api_key}"
description = "${var.note}"
"#;

fn var(name: &str, value: &str) -> String {
    format!("{name}={value}")
}

/// `reconcile <args> --var api_key=<key> [--var more…]`.
fn run(emu: &Emulator, ws: &Workspace, args: &[&str], vars: &[String]) -> support::Run {
    let mut all: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    for v in vars {
        all.push("--var".into());
        all.push(v.clone());
    }
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    reconcile(emu, ws, &all)
}

#[tokio::test]
async fn secrets_and_parameters_are_applied_changed_and_destroyed_never_in_clear() {
    let emu = Emulator::start();
    let conf = sdk_config(&emu).await;
    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let ws = Workspace::new();
    ws.write("desired/main.toml", SECRETS);
    let key = [var("api_key", SECRET)];

    let apply = run(&emu, &ws, &["apply", "--auto-approve"], &key);
    apply.expect_success();
    let clean = run(&emu, &ws, &["plan", "--detailed-exitcode"], &key);
    clean.expect_code(0);

    // AWS holds the values; nothing reconcile wrote or printed does.
    let arn = ws.id("secretsmanager_secret.api");
    let value = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    assert_eq!(value.secret_string(), Some(SECRET));
    let got = ssm
        .get_parameter()
        .name("/sec/token")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let p = got.parameter().unwrap();
    assert_eq!(
        p.r#type(),
        Some(&aws_sdk_ssm::types::ParameterType::SecureString)
    );
    let level = ssm
        .get_parameter()
        .name("/sec/log-level")
        .send()
        .await
        .unwrap();
    assert_eq!(level.parameter().unwrap().value(), Some("info"));
    for r in [&apply, &clean] {
        assert!(
            !r.stdout.contains(SECRET) && !r.stderr.contains(SECRET),
            "{r}"
        );
    }
    let state = ws.read("state/test.json");
    assert!(
        !state.contains(SECRET),
        "the state holds the value in clear"
    );
    let fingerprint = &ws.state()["resources"]["secretsmanager_secret.api"]["fingerprints"];
    assert!(
        fingerprint["secret_string"]
            .as_str()
            .is_some_and(|f| f.starts_with("hmac-sha256:")),
        "{fingerprint}"
    );

    // A new value is an update of the secret and of the SecureString,
    // masked; a plain value and a description change in place.
    let changed = [
        var("api_key", SECRET_2),
        var("note", "rotated key"),
        var("level", "debug"),
    ];
    let plan = run(&emu, &ws, &["plan", "--json"], &changed);
    plan.expect_success();
    assert!(!plan.stdout.contains(SECRET_2), "{plan}");
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let action = |address: &str| {
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .map(|c| c["action"].clone())
    };
    for address in [
        "secretsmanager_secret.api",
        "ssm_parameter.token",
        "ssm_parameter.level",
    ] {
        assert_eq!(action(address), Some("update".into()), "{address}: {plan}");
    }
    let text = run(&emu, &ws, &["plan"], &changed);
    assert!(
        !text.stdout.contains(SECRET_2) && text.stdout.contains("secret_string"),
        "{text}"
    );
    run(&emu, &ws, &["apply", "--auto-approve"], &changed).expect_success();
    run(&emu, &ws, &["plan", "--detailed-exitcode"], &changed).expect_code(0);
    let value = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    assert_eq!(value.secret_string(), Some(SECRET_2));
    let described = sm.describe_secret().secret_id(&arn).send().await.unwrap();
    assert_eq!(described.description(), Some("rotated key"));
    let level = ssm
        .get_parameter()
        .name("/sec/log-level")
        .send()
        .await
        .unwrap();
    assert_eq!(level.parameter().unwrap().value(), Some("debug"));
    assert!(!ws.read("state/test.json").contains(SECRET_2));

    // A value changed out of band is not seen (write-only), but a plain
    // parameter's is drift, set back by the next apply.
    ssm.put_parameter()
        .name("/sec/log-level")
        .value("trace")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    run(&emu, &ws, &["plan", "--detailed-exitcode"], &changed).expect_code(2);
    run(&emu, &ws, &["apply", "--auto-approve"], &changed).expect_success();
    let level = ssm
        .get_parameter()
        .name("/sec/log-level")
        .send()
        .await
        .unwrap();
    assert_eq!(level.parameter().unwrap().value(), Some("debug"));

    run(&emu, &ws, &["destroy", "--auto-approve"], &changed).expect_success();
    assert!(
        sm.describe_secret().secret_id(&arn).send().await.is_err(),
        "the secret is left"
    );
    let left = ssm
        .get_parameters()
        .names("/sec/log-level")
        .names("/sec/token")
        .send()
        .await
        .unwrap();
    assert!(left.parameters().is_empty(), "{left:?}");
}

const DNS: &str = r#"
[stack]
name = "dns"
region = "us-east-1"

[variables.ttl]
type = "number"
default = 300

[variables.comment]
type = "string"
default = "the app's domain"

[route53_zone.main]
name = "shop.example.com"
comment = "${var.comment}"
tags = { team = "web" }

[route53_record.mail]
zone_id = "${route53_zone.main.zone_id}"
name = "shop.example.com"
type = "MX"
ttl = "${var.ttl}"
records = ["10 mail.shop.example.com"]

[route53_record.cdn]
zone_id = "${route53_zone.main.zone_id}"
name = "cdn.shop.example.com"
type = "A"
alias = { name = "d111111abcdef8.cloudfront.net", zone_id = "Z2FDTNDATAQYW2" }

[acm_certificate.web]
domain_name = "shop.example.com"
subject_alternative_names = ["*.shop.example.com"]
validation_zone_id = "${route53_zone.main.zone_id}"
"#;

const LOOKUP: &str = r#"
[stack]
name = "app"
region = "us-east-1"

[lookups.zone]
type = "route53_zone"
name = "shop.example.com."

[route53_record.www]
zone_id = "${lookups.zone.zone_id}"
name = "www.shop.example.com"
type = "CNAME"
ttl = 60
records = ["shop.example.com"]

[outputs]
zone_id = "${lookups.zone.zone_id}"
"#;

/// The record sets of a zone as (name, type, values).
async fn records(r53: &aws_sdk_route53::Client, zone: &str) -> Vec<(String, String, Vec<String>)> {
    r53.list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap()
        .resource_record_sets()
        .iter()
        .map(|s| {
            (
                s.name().to_owned(),
                s.r#type().as_str().to_owned(),
                s.resource_records()
                    .iter()
                    .map(|r| r.value().to_owned())
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_zone_its_records_and_a_certificate_validated_by_dns_are_applied_changed_and_destroyed() {
    let emu = Emulator::start();
    let conf = sdk_config(&emu).await;
    let r53 = aws_sdk_route53::Client::new(&conf);
    let acm = aws_sdk_acm::Client::new(&conf);
    let ws = Workspace::new();
    ws.write("desired/main.toml", DNS);

    let started = std::time::Instant::now();
    let apply = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    apply.expect_success();
    eprintln!("dns apply (certificate issued): {:?}", started.elapsed());
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let zone = ws.id("route53_zone.main");
    let cert = ws.id("acm_certificate.web");
    // The certificate is issued, its one validation record (the name and
    // its wildcard share it) in the zone.
    let d = acm
        .describe_certificate()
        .certificate_arn(&cert)
        .send()
        .await
        .unwrap();
    let d = d.certificate().unwrap();
    assert_eq!(
        d.status(),
        Some(&aws_sdk_acm::types::CertificateStatus::Issued)
    );
    let validation = d.domain_validation_options()[0].resource_record().unwrap();
    let sets = records(&r53, &zone).await;
    assert!(
        sets.iter().any(|(n, t, v)| *n == validation.name()
            && t == "CNAME"
            && v == &[validation.value().to_owned()]),
        "{sets:?}"
    );
    assert!(
        sets.iter().any(|(n, t, v)| n == "shop.example.com."
            && t == "MX"
            && v == &["10 mail.shop.example.com"]),
        "{sets:?}"
    );
    assert_eq!(
        ws.id("route53_record.cdn"),
        format!("{zone}_cdn.shop.example.com_A")
    );

    // Another stack finds the zone by name and adds a record to it.
    let other = Workspace::new();
    other.write("desired/main.toml", LOOKUP);
    reconcile(&emu, &other, &["apply", "--auto-approve"]).expect_success();
    assert_eq!(
        other.state()["outputs"]["zone_id"],
        zone.as_str(),
        "{}",
        other.read("state/test.json")
    );
    assert!(
        records(&r53, &zone)
            .await
            .iter()
            .any(|(n, _, _)| n == "www.shop.example.com.")
    );
    reconcile(&emu, &other, &["destroy", "--auto-approve"]).expect_success();

    // In place: a TTL, a comment, tags.
    let changed = ["--var", "ttl=60", "--var", "comment=moved"];
    let apply = reconcile(
        &emu,
        &ws,
        &[&["apply", "--auto-approve"][..], &changed].concat(),
    );
    apply.expect_success();
    assert!(
        apply.stdout.contains("0 added, 2 changed, 0 destroyed"),
        "{apply}"
    );
    reconcile(
        &emu,
        &ws,
        &[&["plan", "--detailed-exitcode"][..], &changed].concat(),
    )
    .expect_code(0);
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    let mx = sets
        .resource_record_sets()
        .iter()
        .find(|s| s.r#type().as_str() == "MX")
        .unwrap();
    assert_eq!(mx.ttl(), Some(60));
    let z = r53.get_hosted_zone().id(&zone).send().await.unwrap();
    assert_eq!(
        z.hosted_zone().unwrap().config().unwrap().comment(),
        Some("moved")
    );

    // A record deleted out of band comes back.
    let mx = mx.clone();
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Delete)
                        .resource_record_set(mx)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    reconcile(
        &emu,
        &ws,
        &[&["plan", "--detailed-exitcode"][..], &changed].concat(),
    )
    .expect_code(2);
    reconcile(
        &emu,
        &ws,
        &[&["apply", "--auto-approve"][..], &changed].concat(),
    )
    .expect_success();
    assert!(records(&r53, &zone).await.iter().any(|(_, t, _)| t == "MX"));

    // Destroy: records, the certificate and its validation record, then
    // the zone (which Route 53 deletes only once empty).
    reconcile(
        &emu,
        &ws,
        &[&["destroy", "--auto-approve"][..], &changed].concat(),
    )
    .expect_success();
    assert!(
        r53.get_hosted_zone().id(&zone).send().await.is_err(),
        "the zone is left"
    );
    assert!(
        acm.describe_certificate()
            .certificate_arn(&cert)
            .send()
            .await
            .is_err()
    );
    assert!(ws.state()["resources"].as_object().unwrap().is_empty());
}

const CDN_CERTIFICATE: &str = r#"
[stack]
name = "edge"
region = "eu-west-1"

[route53_zone.main]
name = "edge.example.com"

[acm_certificate.cdn]
region = "us-east-1"
domain_name = "cdn.edge.example.com"
validation_zone_id = "${route53_zone.main.zone_id}"

[acm_certificate.alb]
domain_name = "app.edge.example.com"
"#;

/// The certificate ARNs ACM lists in `region`.
async fn certificates_in(emu: &Emulator, region: &str) -> Vec<String> {
    let conf = sdk_config(emu)
        .await
        .into_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    aws_sdk_acm::Client::new(&conf)
        .list_certificates()
        .send()
        .await
        .unwrap()
        .certificate_summary_list()
        .iter()
        .filter_map(|c| c.certificate_arn().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_resource_with_its_own_region_lives_is_read_and_is_deleted_there() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", CDN_CERTIFICATE);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let cdn = ws.id("acm_certificate.cdn");
    let alb = ws.id("acm_certificate.alb");
    assert!(cdn.starts_with("arn:aws:acm:us-east-1:"), "{cdn}");
    assert!(alb.starts_with("arn:aws:acm:eu-west-1:"), "{alb}");
    assert_eq!(
        certificates_in(&emu, "us-east-1").await,
        std::slice::from_ref(&cdn)
    );
    assert_eq!(
        certificates_in(&emu, "eu-west-1").await,
        std::slice::from_ref(&alb)
    );
    let state = ws.state();
    assert_eq!(
        state["resources"]["acm_certificate.cdn"]["region"],
        "us-east-1"
    );
    assert!(
        state["resources"]["acm_certificate.alb"]
            .get("region")
            .is_none()
    );

    // Removed from the desired state, it is still deleted in its region.
    let without = CDN_CERTIFICATE.replace(
        "[acm_certificate.cdn]\nregion = \"us-east-1\"\ndomain_name = \"cdn.edge.example.com\"\nvalidation_zone_id = \"${route53_zone.main.zone_id}\"\n",
        "",
    );
    assert_ne!(without, CDN_CERTIFICATE);
    ws.write("desired/main.toml", &without);
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    assert!(certificates_in(&emu, "us-east-1").await.is_empty());

    // Moving a resource to another region replaces it there.
    let moved = without.replace(
        "[acm_certificate.alb]\n",
        "[acm_certificate.alb]\nregion = \"us-east-1\"\n",
    );
    ws.write("desired/main.toml", &moved);
    let plan = reconcile(&emu, &ws, &["plan", "--json"]);
    plan.expect_success();
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let change = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "acm_certificate.alb")
        .unwrap()
        .clone();
    assert_eq!(change["action"], "replace", "{change}");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    assert!(certificates_in(&emu, "eu-west-1").await.is_empty());
    assert_eq!(certificates_in(&emu, "us-east-1").await.len(), 1);
    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
    assert!(certificates_in(&emu, "us-east-1").await.is_empty());

    // A region that is not one is refused where it is written.
    ws.write(
        "desired/main.toml",
        &moved.replace("region = \"us-east-1\"", "region = \"the moon\""),
    );
    let r = reconcile(&emu, &ws, &["validate"]);
    r.expect_code(1);
    assert!(
        r.stderr.contains("main.toml:") && r.stderr.contains("`region` must be an AWS region"),
        "{r}"
    );
}
