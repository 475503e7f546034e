//! `desired/drift-corrector`: reconcile running itself as a Fargate task
//! that EventBridge Scheduler starts every 10 minutes, with an alarm on
//! failed runs to an SNS topic. Against the emulator: it applies, plans
//! clean, its schedule starts the task definition with the scheduler's
//! role (read back from the emulator), and a destroy leaves nothing.

use crate::support;

use support::{Emulator, Workspace, reconcile, sdk_config, tagged_copies};

#[tokio::test]
async fn the_drift_corrector_applies_plans_clean_schedules_its_task_and_destroys() {
    let emu = Emulator::start();
    let conf = sdk_config(&emu).await;
    let ws = Workspace::new();
    ws.copy_example("drift-corrector");

    let apply = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    apply.expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    let state = ws.state();
    let resources = state["resources"].as_object().unwrap();
    eprintln!("drift-corrector: {} resources", resources.len());
    let attr = |address: &str, name: &str| {
        state["resources"][address]["attributes"][name]
            .as_str()
            .unwrap_or_else(|| panic!("{address}.{name} is not in the state"))
            .to_owned()
    };

    // The schedule: every 10 minutes, on the runner cluster, the
    // corrector's task definition, with the scheduler's role.
    let scheduler = aws_sdk_scheduler::Client::new(&conf);
    let schedule = scheduler
        .get_schedule()
        .name("drift-corrector-every_10_minutes")
        .send()
        .await
        .unwrap();
    assert_eq!(schedule.schedule_expression(), Some("rate(10 minutes)"));
    assert_eq!(
        schedule
            .state()
            .map(aws_sdk_scheduler::types::ScheduleState::as_str),
        Some("ENABLED")
    );
    let target = schedule.target().expect("a target");
    assert_eq!(target.arn(), attr("ecs_cluster.runner", "arn"));
    assert_eq!(target.role_arn(), attr("iam_role.scheduler", "arn"));
    let ecs = target.ecs_parameters().expect("ECS parameters");
    assert_eq!(
        ecs.task_definition_arn(),
        attr("ecs_task_definition.corrector", "arn")
    );
    assert_eq!(
        ecs.launch_type()
            .map(aws_sdk_scheduler::types::LaunchType::as_str),
        Some("FARGATE")
    );
    let vpc = ecs
        .network_configuration()
        .and_then(aws_sdk_scheduler::types::NetworkConfiguration::awsvpc_configuration)
        .expect("an awsvpc network");
    assert_eq!(vpc.subnets(), [ws.id("subnet.runner")]);
    assert_eq!(vpc.security_groups(), [ws.id("security_group.runner")]);

    // The task: reconcile's image from the stack's repository, running the
    // watch on the baked-in network stack, as the task role, logging to
    // the runs' group.
    let ecs_client = aws_sdk_ecs::Client::new(&conf);
    let def = ecs_client
        .describe_task_definition()
        .task_definition(attr("ecs_task_definition.corrector", "arn"))
        .send()
        .await
        .unwrap();
    let def = def.task_definition().unwrap();
    assert_eq!(
        def.task_role_arn(),
        Some(attr("iam_role.task", "arn").as_str())
    );
    assert_eq!(
        def.execution_role_arn(),
        Some(attr("iam_role.execution", "arn").as_str())
    );
    let container = &def.container_definitions()[0];
    assert_eq!(
        container.command(),
        [
            "watch",
            "--once",
            "--correct",
            "--desired",
            "/fleet/stacks/network"
        ]
    );
    assert_eq!(
        container.image(),
        Some(format!("{}:1", attr("ecr_repository.reconcile", "repository_url")).as_str())
    );
    let log_options = container
        .log_configuration()
        .and_then(aws_sdk_ecs::types::LogConfiguration::options)
        .expect("awslogs options");
    assert_eq!(
        log_options.get("awslogs-group"),
        Some(&ws.id("log_group.runs"))
    );

    // The scheduler's role may run the task and pass exactly its two roles.
    let iam = aws_sdk_iam::Client::new(&conf);
    let policy = iam
        .get_role_policy()
        .role_name(ws.id("iam_role.scheduler"))
        .policy_name("run-drift-corrector")
        .send()
        .await
        .unwrap();
    let doc = policy.policy_document();
    // IAM answers it URL-encoded (the emulator: plain JSON).
    let doc: serde_json::Value =
        serde_json::from_str(&reconcile::kinds::support::policy::url_decode(doc)).unwrap();
    let pass = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == serde_json::json!(["iam:PassRole"]))
        .expect("a PassRole statement");
    let mut passed: Vec<String> = pass["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    passed.sort();
    let mut roles = vec![
        attr("iam_role.task", "arn"),
        attr("iam_role.execution", "arn"),
    ];
    roles.sort();
    assert_eq!(passed, roles);

    // A failed run (its JSON line has errors) is a metric the alarm
    // watches, and the alarm notifies the topic.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
    let filters = logs
        .describe_metric_filters()
        .log_group_name(ws.id("log_group.runs"))
        .send()
        .await
        .unwrap();
    let filter = &filters.metric_filters()[0];
    assert_eq!(filter.filter_pattern(), Some("{ $.errors[0] = \"*\" }"));
    let metric = &filter.metric_transformations()[0];
    let cw = aws_sdk_cloudwatch::Client::new(&conf);
    let alarms = cw
        .describe_alarms()
        .alarm_names(ws.id("cloudwatch_metric_alarm.failed_run"))
        .send()
        .await
        .unwrap();
    let alarm = &alarms.metric_alarms()[0];
    assert_eq!(alarm.metric_name(), Some(metric.metric_name()));
    assert_eq!(alarm.namespace(), Some(metric.metric_namespace()));
    assert_eq!(alarm.alarm_actions(), [ws.id("sns_topic.alerts")]);
    let sns = aws_sdk_sns::Client::new(&conf);
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(ws.id("sns_topic.alerts"))
        .send()
        .await
        .unwrap();
    assert_eq!(subs.subscriptions().len(), 1, "{subs:?}");
    assert_eq!(subs.subscriptions()[0].protocol(), Some("email"));

    let destroy = reconcile(&emu, &ws, &["destroy", "--auto-approve"]);
    destroy.expect_success();
    assert!(ws.state()["resources"].as_object().unwrap().is_empty());
    let left = tagged_copies(&emu).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    // The kinds `tagged_copies` does not look at.
    let gone = scheduler
        .get_schedule()
        .name("drift-corrector-every_10_minutes")
        .send()
        .await;
    assert!(gone.is_err(), "{gone:?}");
    let alarms = cw.describe_alarms().send().await.unwrap();
    assert!(alarms.metric_alarms().is_empty(), "{alarms:?}");
    let topics = sns.list_topics().send().await.unwrap();
    assert!(topics.topics().is_empty(), "{topics:?}");
    let subs = sns.list_subscriptions().send().await.unwrap();
    assert!(subs.subscriptions().is_empty(), "{subs:?}");
    let filters = logs.describe_metric_filters().send().await.unwrap();
    assert!(filters.metric_filters().is_empty(), "{filters:?}");
    let repos = aws_sdk_ecr::Client::new(&conf)
        .describe_repositories()
        .send()
        .await
        .unwrap();
    assert!(repos.repositories().is_empty(), "{repos:?}");
    // A deleted cluster stays listed, INACTIVE.
    let clusters = ecs_client.list_clusters().send().await.unwrap();
    let described = ecs_client
        .describe_clusters()
        .set_clusters(Some(clusters.cluster_arns().to_vec()))
        .send()
        .await
        .unwrap();
    assert!(
        described
            .clusters()
            .iter()
            .all(|c| c.status() == Some("INACTIVE")),
        "{described:?}"
    );
}
