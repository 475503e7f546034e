//! Monitoring and scheduling kinds through the CLI against the emulator:
//! SNS topics and subscriptions, CloudWatch alarms, CloudWatch Logs metric
//! filters and EventBridge Scheduler schedules are created, read back with
//! no diff, changed in place (or replaced where AWS cannot change them),
//! and destroyed. What the emulator skips (an email subscription pending
//! confirmation, DescribeAlarms' 100 names per call) is played by scripted
//! answers shaped like AWS's.

use crate::support;

use aws_config::retry::RetryConfig;
use reconcile::kinds::{self, Ctx, Delete};
use support::scripted::{Answer, Scripted, ok};
use support::{Emulator, Workspace, reconcile, sdk_config};

const SNS: &str = r#"
[stack]
name = "mon"
region = "us-east-1"

[variables.mail]
type = "string"
default = "ops@example.com"

[variables.display]
type = "string"
default = "Ops"

[variables.team]
type = "string"
default = "ops"

[sns_topic.alerts]
display_name = "${var.display}"
tags = { team = "${var.team}" }

[sns_topic.events]
fifo = true
content_based_deduplication = true

[sns_topic_subscription.queue]
topic_arn = "${sns_topic.alerts.arn}"
protocol = "sqs"
endpoint = "arn:aws:sqs:us-east-1:123456789012:ops"

[sns_topic_subscription.mail]
topic_arn = "${sns_topic.alerts.arn}"
protocol = "email"
endpoint = "${var.mail}"
"#;

async fn subscriptions(sns: &aws_sdk_sns::Client, topic: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
        .unwrap()
        .subscriptions()
        .iter()
        .map(|s| {
            (
                s.subscription_arn().unwrap_or_default().to_owned(),
                s.protocol().unwrap_or_default().to_owned(),
                s.endpoint().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn topic_attribute(sns: &aws_sdk_sns::Client, arn: &str, name: &str) -> String {
    sns.get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(name).cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn sns_topics_and_subscriptions_are_applied_changed_and_destroyed() {
    let emu = Emulator::start();
    let sns = aws_sdk_sns::Client::new(&sdk_config(&emu).await);
    let ws = Workspace::new();
    ws.write("desired/main.toml", SNS);

    let run = reconcile(&emu, &ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 4 added, 0 changed, 0 destroyed."),
        "{run}"
    );
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let alerts = ws.id("sns_topic.alerts");
    let events = ws.id("sns_topic.events");
    assert_eq!(alerts, "arn:aws:sns:us-east-1:123456789012:mon-alerts");
    assert_eq!(events, "arn:aws:sns:us-east-1:123456789012:mon-events.fifo");
    assert_eq!(topic_attribute(&sns, &alerts, "DisplayName").await, "Ops");
    assert_eq!(topic_attribute(&sns, &events, "FifoTopic").await, "true");
    assert_eq!(
        topic_attribute(&sns, &events, "ContentBasedDeduplication").await,
        "true"
    );
    let tags = sns
        .list_tags_for_resource()
        .resource_arn(&alerts)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert!(tags.contains(&("team", "ops")), "{tags:?}");
    assert!(
        tags.contains(&("reconcile:address", "sns_topic.alerts")),
        "{tags:?}"
    );
    // A subscription's id is its ARN.
    let subs = subscriptions(&sns, &alerts).await;
    let mail = ws.id("sns_topic_subscription.mail");
    assert!(
        subs.contains(&(mail.clone(), "email".into(), "ops@example.com".into())),
        "{subs:?}"
    );
    assert!(
        subs.contains(&(
            ws.id("sns_topic_subscription.queue"),
            "sqs".into(),
            "arn:aws:sqs:us-east-1:123456789012:ops".into()
        )),
        "{subs:?}"
    );
    // The emulator confirms at once; AWS keeps an email one pending (see
    // the scripted test below).
    assert_eq!(
        ws.state()["resources"]["sns_topic_subscription.mail"]["attributes"]["pending_confirmation"],
        false
    );

    // Changed by hand: the plan sees it, the apply puts it back.
    sns.set_topic_attributes()
        .topic_arn(&alerts)
        .attribute_name("DisplayName")
        .attribute_value("by hand")
        .send()
        .await
        .unwrap();
    let plan = reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]);
    plan.expect_code(2);
    assert!(plan.stdout.contains("display_name"), "{plan}");

    // A new name and tag are changed in place; a new endpoint is a new
    // subscription.
    let vars = [
        "--var",
        "display=Ops team",
        "--var",
        "team=sre",
        "--var",
        "mail=oncall@example.com",
    ];
    let mut args = vec!["apply", "--auto-approve"];
    args.extend(vars);
    let run = reconcile(&emu, &ws, &args);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 1 added, 1 changed, 1 destroyed."),
        "{run}"
    );
    let mut args = vec!["plan", "--detailed-exitcode"];
    args.extend(vars);
    reconcile(&emu, &ws, &args).expect_code(0);
    assert_eq!(
        topic_attribute(&sns, &alerts, "DisplayName").await,
        "Ops team"
    );
    let tags = sns
        .list_tags_for_resource()
        .resource_arn(&alerts)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "team" && t.value() == "sre"),
        "{tags:?}"
    );
    let subs = subscriptions(&sns, &alerts).await;
    assert_eq!(subs.len(), 2, "{subs:?}");
    assert!(!subs.iter().any(|s| s.0 == mail), "the old one is gone");
    assert!(
        subs.iter()
            .any(|s| s.1 == "email" && s.2 == "oncall@example.com"),
        "{subs:?}"
    );

    let mut args = vec!["destroy", "--auto-approve"];
    args.extend(vars);
    reconcile(&emu, &ws, &args).expect_success();
    let topics = sns.list_topics().send().await.unwrap();
    assert!(topics.topics().is_empty(), "{topics:?}");
    let subs = sns.list_subscriptions().send().await.unwrap();
    assert!(subs.subscriptions().is_empty(), "{subs:?}");
}

const ALARMS: &str = r#"
[stack]
name = "mon"
region = "us-east-1"

[variables.threshold]
type = "number"
default = 0.5

[variables.statistic]
type = "string"
default = "Sum"

[variables.pattern]
type = "string"
default = "{ $.errors[0] = \"*\" }"

[log_group.app]

[logs_metric_filter.errors]
log_group_name = "${log_group.app.name}"
pattern = "${var.pattern}"
metric_transformation = { name = "Errors", namespace = "Mon", value = "1", default_value = 0 }

[sns_topic.alerts]

[cloudwatch_metric_alarm.errors]
namespace = "Mon"
metric_name = "Errors"
statistic = "${var.statistic}"
period = 300
evaluation_periods = 2
datapoints_to_alarm = 1
threshold = 1
comparison_operator = "GreaterThanOrEqualToThreshold"
alarm_actions = ["${sns_topic.alerts.arn}"]
tags = { team = "ops" }

[cloudwatch_metric_alarm.latency]
name = "web p99 latency"
alarm_description = "p99 over the threshold for 3 minutes"
namespace = "AWS/ApplicationELB"
metric_name = "TargetResponseTime"
dimensions = { LoadBalancer = "app/web/0123456789abcdef" }
extended_statistic = "p99"
period = 60
evaluation_periods = 3
threshold = "${var.threshold}"
comparison_operator = "GreaterThanThreshold"
treat_missing_data = "notBreaching"
"#;

async fn alarms(cw: &aws_sdk_cloudwatch::Client) -> Vec<aws_sdk_cloudwatch::types::MetricAlarm> {
    cw.describe_alarms()
        .send()
        .await
        .unwrap()
        .metric_alarms()
        .to_vec()
}

#[tokio::test]
async fn alarms_and_metric_filters_are_applied_changed_and_destroyed() {
    let emu = Emulator::start();
    let conf = sdk_config(&emu).await;
    let cw = aws_sdk_cloudwatch::Client::new(&conf);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
    let ws = Workspace::new();
    ws.write("desired/main.toml", ALARMS);

    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);

    let live = alarms(&cw).await;
    assert_eq!(live.len(), 2, "{live:?}");
    let errors = live
        .iter()
        .find(|a| a.alarm_name() == Some("mon-errors"))
        .expect("the errors alarm, named after the stack");
    assert_eq!(ws.id("cloudwatch_metric_alarm.errors"), "mon-errors");
    assert_eq!(
        errors
            .statistic()
            .map(aws_sdk_cloudwatch::types::Statistic::as_str),
        Some("Sum")
    );
    assert_eq!(errors.datapoints_to_alarm(), Some(1));
    assert_eq!(errors.alarm_actions(), [ws.id("sns_topic.alerts")]);
    let latency = live
        .iter()
        .find(|a| a.alarm_name() == Some("web p99 latency"))
        .unwrap();
    assert_eq!(latency.extended_statistic(), Some("p99"));
    assert_eq!(latency.threshold(), Some(0.5));
    assert_eq!(latency.treat_missing_data(), Some("notBreaching"));
    assert_eq!(
        latency.dimensions()[0].value(),
        Some("app/web/0123456789abcdef")
    );
    let tags = cw
        .list_tags_for_resource()
        .resource_arn(errors.alarm_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("reconcile:address")
                && t.value() == Some("cloudwatch_metric_alarm.errors")),
        "{tags:?}"
    );
    let group = ws.id("log_group.app");
    let filters = logs
        .describe_metric_filters()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let f = &filters.metric_filters()[0];
    assert_eq!(f.filter_name(), Some("mon-errors"));
    assert_eq!(f.filter_pattern(), Some("{ $.errors[0] = \"*\" }"));
    assert_eq!(f.metric_transformations()[0].default_value(), Some(0.0));
    assert_eq!(
        ws.id("logs_metric_filter.errors"),
        format!("{group}:mon-errors")
    );

    // In place: a fractional threshold, another statistic, a new pattern.
    let vars = [
        "--var",
        "threshold=0.75",
        "--var",
        "statistic=Maximum",
        "--var",
        "pattern=ERROR",
    ];
    let mut args = vec!["apply", "--auto-approve"];
    args.extend(vars);
    let run = reconcile(&emu, &ws, &args);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 0 added, 3 changed, 0 destroyed."),
        "{run}"
    );
    let mut args = vec!["plan", "--detailed-exitcode"];
    args.extend(vars);
    reconcile(&emu, &ws, &args).expect_code(0);
    let live = alarms(&cw).await;
    let by_name = |n: &str| live.iter().find(|a| a.alarm_name() == Some(n)).unwrap();
    assert_eq!(by_name("web p99 latency").threshold(), Some(0.75));
    // Unset fields keep their value through the put that replaces the alarm.
    assert_eq!(
        by_name("web p99 latency").alarm_description(),
        Some("p99 over the threshold for 3 minutes")
    );
    assert_eq!(
        by_name("mon-errors")
            .statistic()
            .map(aws_sdk_cloudwatch::types::Statistic::as_str),
        Some("Maximum")
    );
    let filters = logs
        .describe_metric_filters()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    // The emulator keeps a copy per put where AWS replaces; the last is
    // the one in force.
    assert_eq!(
        filters
            .metric_filters()
            .last()
            .and_then(aws_sdk_cloudwatchlogs::types::MetricFilter::filter_pattern),
        Some("ERROR")
    );

    let mut args = vec!["destroy", "--auto-approve"];
    args.extend(vars);
    reconcile(&emu, &ws, &args).expect_success();
    assert!(alarms(&cw).await.is_empty());
    let groups = logs.describe_log_groups().send().await.unwrap();
    assert!(groups.log_groups().is_empty(), "{groups:?}");
    let filters = logs.describe_metric_filters().send().await.unwrap();
    assert!(filters.metric_filters().is_empty(), "{filters:?}");
}

#[test]
fn alarm_settings_aws_refuses_are_named_before_any_call() {
    let ws = Workspace::new();
    let bad = ALARMS.replace(
        "comparison_operator = \"GreaterThanThreshold\"",
        "comparison_operator = \"GreaterThan\"",
    );
    ws.write("desired/main.toml", &bad);
    let run = support::reconcile_in(None, &ws, &["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("main.toml:") && run.stderr.contains("\"GreaterThan\" is not allowed"),
        "{run}"
    );
    let bad = ALARMS.replace("threshold = 1\n", "threshold = \"one\"\n");
    ws.write("desired/main.toml", &bad);
    let run = support::reconcile_in(None, &ws, &["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("expected number, found string"),
        "{run}"
    );
}

const SCHEDULE: &str = r#"
[stack]
name = "mon"
region = "us-east-1"

[variables.rate]
type = "string"
default = "rate(10 minutes)"

[variables.state]
type = "string"
default = "ENABLED"

[ecs_cluster.runner]

[iam_role.scheduler]
assume_role_services = ["scheduler.amazonaws.com"]

[ecs_task_definition.job]
family = "mon-job"
cpu = "256"
memory = "512"
network_mode = "awsvpc"
requires_compatibilities = ["FARGATE"]
container_definitions = [{ name = "job", image = "busybox:1.36", memory = 512, command = ["true"] }]

[scheduler_schedule.job]
schedule_expression = "${var.rate}"
state = "${var.state}"

[scheduler_schedule.job.target]
arn = "${ecs_cluster.runner.arn}"
role_arn = "${iam_role.scheduler.arn}"

[scheduler_schedule.job.target.ecs_parameters]
task_definition_arn = "${ecs_task_definition.job.arn}"
launch_type = "FARGATE"
network_configuration = { subnets = ["subnet-0123456789abcdef0"], assign_public_ip = true }
"#;

#[tokio::test]
async fn a_schedule_running_an_ecs_task_is_applied_changed_and_destroyed() {
    let emu = Emulator::start();
    let scheduler = aws_sdk_scheduler::Client::new(&sdk_config(&emu).await);
    let ws = Workspace::new();
    ws.write("desired/main.toml", SCHEDULE);

    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    reconcile(&emu, &ws, &["plan", "--detailed-exitcode"]).expect_code(0);
    assert_eq!(ws.id("scheduler_schedule.job"), "default/mon-job");
    let s = scheduler
        .get_schedule()
        .name("mon-job")
        .send()
        .await
        .unwrap();
    assert_eq!(s.schedule_expression(), Some("rate(10 minutes)"));
    let target = s.target().unwrap();
    assert_eq!(target.arn(), ws.id("ecs_cluster.runner"));
    let role = ws.state()["resources"]["iam_role.scheduler"]["attributes"]["arn"].clone();
    assert_eq!(target.role_arn(), role);
    let ecs = target.ecs_parameters().unwrap();
    assert_eq!(ecs.task_definition_arn(), ws.id("ecs_task_definition.job"));
    assert_eq!(ecs.task_count(), Some(1));

    let vars = ["--var", "rate=rate(5 minutes)", "--var", "state=DISABLED"];
    let mut args = vec!["apply", "--auto-approve"];
    args.extend(vars);
    let run = reconcile(&emu, &ws, &args);
    run.expect_success();
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 0 added, 1 changed, 0 destroyed."),
        "{run}"
    );
    let mut args = vec!["plan", "--detailed-exitcode"];
    args.extend(vars);
    reconcile(&emu, &ws, &args).expect_code(0);
    let s = scheduler
        .get_schedule()
        .name("mon-job")
        .send()
        .await
        .unwrap();
    assert_eq!(s.schedule_expression(), Some("rate(5 minutes)"));
    assert_eq!(
        s.state()
            .map(aws_sdk_scheduler::types::ScheduleState::as_str),
        Some("DISABLED")
    );
    // UpdateSchedule replaces the whole schedule: the target is still there.
    assert_eq!(
        s.target()
            .and_then(aws_sdk_scheduler::types::Target::ecs_parameters)
            .map(|e| e.task_definition_arn().to_owned()),
        Some(ws.id("ecs_task_definition.job"))
    );

    let mut args = vec!["destroy", "--auto-approve"];
    args.extend(vars);
    reconcile(&emu, &ws, &args).expect_success();
    let gone = scheduler.get_schedule().name("mon-job").send().await;
    assert!(gone.is_err(), "{gone:?}");
}

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
const SUBSCRIPTION: &str =
    "arn:aws:sns:us-east-1:123456789012:alerts:6f1b0c2e-7d4a-4b1e-9d53-1a2b3c4d5e6f";

fn sns_error(code: &str, message: &str) -> Answer {
    Answer {
        status: 400,
        body: format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        ),
    }
}

/// AWS lists a subscription that awaits its confirmation without its ARN
/// and refuses to delete it: it reads as pending, and its delete is done
/// (AWS drops it after three days unconfirmed).
#[tokio::test]
async fn an_email_subscription_pending_confirmation_reads_as_pending_and_deletes_cleanly() {
    let listed = format!(
        "<ListSubscriptionsByTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ListSubscriptionsByTopicResult><Subscriptions><member><TopicArn>{TOPIC}</TopicArn><Protocol>email</Protocol><SubscriptionArn>PendingConfirmation</SubscriptionArn><Owner>123456789012</Owner><Endpoint>ops@example.com</Endpoint></member></Subscriptions></ListSubscriptionsByTopicResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListSubscriptionsByTopicResponse>"
    );
    let attributes = format!(
        "<GetSubscriptionAttributesResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><GetSubscriptionAttributesResult><Attributes><entry><key>TopicArn</key><value>{TOPIC}</value></entry><entry><key>Protocol</key><value>email</value></entry><entry><key>Endpoint</key><value>ops@example.com</value></entry><entry><key>PendingConfirmation</key><value>true</value></entry><entry><key>SubscriptionArn</key><value>{SUBSCRIPTION}</value></entry></Attributes></GetSubscriptionAttributesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetSubscriptionAttributesResponse>"
    );
    let s = Scripted::start(vec![
        ("ListSubscriptionsByTopic", vec![ok(listed)]),
        ("GetSubscriptionAttributes", vec![ok(attributes)]),
        (
            "Unsubscribe",
            vec![sns_error(
                "InvalidParameter",
                "Invalid parameter: Cannot unsubscribe a subscription that is pending confirmation",
            )],
        ),
    ]);
    let aws = support::scripted::clients(&s, RetryConfig::standard().with_max_attempts(1)).await;
    let cx = Ctx { aws: &aws, stack: "mon" };
    let kind = kinds::lookup("sns_topic_subscription").unwrap();
    let read = kind
        .read_many(cx, &[SUBSCRIPTION.to_owned()])
        .await
        .unwrap();
    let a = &read[SUBSCRIPTION];
    assert_eq!(
        a["pending_confirmation"],
        reconcile::value::Value::Bool(true)
    );
    assert_eq!(
        a["endpoint"],
        reconcile::value::Value::str("ops@example.com")
    );
    assert_eq!(
        s.calls(),
        ["ListSubscriptionsByTopic", "GetSubscriptionAttributes"]
    );
    kind.delete(Delete { cx, id: SUBSCRIPTION, live: a })
        .await
        .unwrap();
    assert_eq!(s.count("Unsubscribe"), 1);

    // Any other refusal is an error.
    let s = Scripted::start(vec![(
        "Unsubscribe",
        vec![sns_error("AuthorizationError", "not allowed")],
    )]);
    let aws = support::scripted::clients(&s, RetryConfig::standard().with_max_attempts(1)).await;
    let cx = Ctx { aws: &aws, stack: "mon" };
    let err = kind
        .delete(Delete { cx, id: SUBSCRIPTION, live: a })
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("AuthorizationError"));
}

/// DescribeAlarms takes at most 100 names: 150 alarms are read in two calls.
#[tokio::test]
async fn alarms_are_read_one_hundred_names_per_call() {
    let empty = "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><DescribeAlarmsResult><MetricAlarms/><CompositeAlarms/></DescribeAlarmsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAlarmsResponse>";
    let s = Scripted::start(vec![("DescribeAlarms", vec![ok(empty)])]);
    let aws = support::scripted::clients(&s, RetryConfig::standard().with_max_attempts(1)).await;
    let cx = Ctx { aws: &aws, stack: "mon" };
    let names: Vec<String> = (0..150).map(|i| format!("alarm-{i}")).collect();
    let kind = kinds::lookup("cloudwatch_metric_alarm").unwrap();
    let read = kind.read_many(cx, &names).await.unwrap();
    assert!(read.is_empty(), "none exists: {read:?}");
    assert_eq!(s.calls(), ["DescribeAlarms", "DescribeAlarms"]);
}
