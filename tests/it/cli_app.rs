//! The application-layer examples end to end: the Fargate stack of seed 004
//! and the path-routed services of seed 001, against the emulator.

use crate::support;

use support::{Emulator, Workspace, reconcile, sdk_config};

fn example(dir: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/desired/{dir}/main.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn nothing_left(emu: &Emulator) {
    let conf = sdk_config(emu).await;
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let clusters = ecs.list_clusters().send().await.unwrap();
    let active = ecs
        .describe_clusters()
        .set_clusters(Some(clusters.cluster_arns().to_vec()))
        .send()
        .await
        .unwrap();
    assert!(
        active
            .clusters()
            .iter()
            .all(|c| c.status() != Some("ACTIVE")),
        "{active:?}"
    );
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    assert!(
        elb.describe_load_balancers()
            .send()
            .await
            .unwrap()
            .load_balancers()
            .is_empty()
    );
    assert!(
        elb.describe_target_groups()
            .send()
            .await
            .unwrap()
            .target_groups()
            .is_empty()
    );
    let iam = aws_sdk_iam::Client::new(&conf);
    let roles = iam.list_roles().send().await.unwrap();
    assert!(
        roles
            .roles()
            .iter()
            .all(|r| !r.role_name().starts_with("fargate-")
                && !r.role_name().starts_with("refarch-"))
    );
}

#[tokio::test]
async fn the_fargate_stack_is_created_planned_clean_updated_and_destroyed() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", &example("fargate"));
    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 14 added, 0 changed, 0 destroyed."),
        "{run}"
    );
    assert!(run.stdout.contains("app_url = \""), "{run}");
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let run = reconcile(&emu, &ws, &["output", "app_url"]);
    run.expect_success();
    assert!(run.stdout.trim().ends_with(".elb.amazonaws.com"), "{run}");
    assert_eq!(run.stdout.lines().count(), 1);

    // A new image: a new task-definition revision, the service moved to it
    // in place, the old revision deregistered after.
    let service = ws.id("ecs_service.flask");
    let old_revision = ws.id("ecs_task_definition.flask");
    let run = reconcile(&emu, &ws, &["plan", "--var", "image_tag=v2"]);
    assert!(
        run.stdout.contains(
            "# ecs_task_definition.flask must be replaced (the new one is created first)"
        ),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("# ecs_service.flask will be updated in place"),
        "{run}"
    );
    reconcile(
        &emu,
        &ws,
        &["apply", "--auto-approve", "--var", "image_tag=v2"],
    )
    .expect_success();
    assert_eq!(ws.id("ecs_service.flask"), service);
    let new_revision = ws.id("ecs_task_definition.flask");
    assert!(new_revision.ends_with(":2"), "{new_revision}");
    let ecs = aws_sdk_ecs::Client::new(&sdk_config(&emu).await);
    let svc = ecs
        .describe_services()
        .cluster(ws.id("ecs_cluster.app"))
        .services(&service)
        .send()
        .await
        .unwrap();
    // The emulator answers family:revision where AWS answers the ARN.
    let in_use = svc.services()[0].task_definition().unwrap_or_default();
    assert!(
        in_use.ends_with("frontend-task-definition-family:2"),
        "{in_use}"
    );
    let old = ecs
        .describe_task_definition()
        .task_definition(&old_revision)
        .send()
        .await
        .unwrap();
    // The previous revision stays registered for `reconcile rollback`
    // (keep_revisions, default 5), no longer in the state.
    assert_eq!(
        old.task_definition()
            .unwrap()
            .status()
            .map(aws_sdk_ecs::types::TaskDefinitionStatus::as_str),
        Some("ACTIVE")
    );
    assert!(
        ws.state()["deposed"]
            .get("ecs_task_definition.flask")
            .is_none()
    );
    reconcile(
        &emu,
        &ws,
        &["plan", "--detailed-exitcode", "--var", "image_tag=v2"],
    )
    .expect_code(0);

    // A target group's port forces a replacement while the listener and the
    // service use it: created first, repointed, then deleted.
    let tg = ws.id("target_group.flask");
    ws.write(
        "desired/main.toml",
        &example("fargate").replace(
            "[target_group.flask]\nport = 80",
            "[target_group.flask]\nport = 8080",
        ),
    );
    let run = reconcile(
        &emu,
        &ws,
        &["apply", "--auto-approve", "--var", "image_tag=v2"],
    );
    run.expect_success();
    assert_ne!(ws.id("target_group.flask"), tg);
    reconcile(
        &emu,
        &ws,
        &["plan", "--detailed-exitcode", "--var", "image_tag=v2"],
    )
    .expect_code(0);

    let run = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Destroy complete! Resources: 14 destroyed."),
        "{run}"
    );
    assert!(ws.state()["resources"].as_object().unwrap().is_empty());
    nothing_left(&emu).await;
}

const INLINE: &str = r#"
[iam_role.exec.inline_policies.logs]
Version = "2012-10-17"
Statement = [{ Effect = "Allow", Action = ["logs:CreateLogStream", "logs:PutLogEvents"], Resource = "*" }]
"#;

#[tokio::test]
async fn drift_of_an_inline_policy_and_a_scaled_service_is_corrected_unless_ignored() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write(
        "desired/main.toml",
        &format!("{}{INLINE}", example("fargate")),
    );
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let conf = sdk_config(&emu).await;
    let iam = aws_sdk_iam::Client::new(&conf);
    iam.put_role_policy()
        .role_name(ws.id("iam_role.exec"))
        .policy_name("logs")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let ecs = aws_sdk_ecs::Client::new(&conf);
    ecs.update_service()
        .cluster(ws.id("ecs_cluster.app"))
        .service(ws.id("ecs_service.flask"))
        .desired_count(3)
        .send()
        .await
        .unwrap();

    let run = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    run.expect_code(2);
    assert!(
        run.stdout
            .contains("# iam_role.exec will be updated in place"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("# ecs_service.flask will be updated in place"),
        "{run}"
    );
    assert!(run.stdout.contains("desired_count"), "{run}");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    let policy = iam
        .get_role_policy()
        .role_name(ws.id("iam_role.exec"))
        .policy_name("logs")
        .send()
        .await
        .unwrap();
    assert!(
        policy.policy_document().contains("PutLogEvents"),
        "{policy:?}"
    );

    // Scaled by autoscaling: ignore_changes keeps reconcile out of it.
    let ignoring = format!("{}{INLINE}", example("fargate")).replace(
        "depends_on = [\"listener.flask\"]",
        "depends_on = [\"listener.flask\"]\nlifecycle = { ignore_changes = [\"desired_count\"] }",
    );
    ws.write("desired/main.toml", &ignoring);
    ecs.update_service()
        .cluster(ws.id("ecs_cluster.app"))
        .service(ws.id("ecs_service.flask"))
        .desired_count(4)
        .send()
        .await
        .unwrap();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
}
