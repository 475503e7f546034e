//! Deployments that tell the truth: `apply` waits for every ECS deployment
//! it starts, shows its progress, and fails with exit code 3 and the reason
//! (stopped tasks, exit codes, the failing container's last log lines)
//! when the circuit breaker rolls it back or it times out.
//!
//! The emulator runs no containers and reports every deployment completed
//! at once: a proxy in front of it (`support::proxy`) rewrites its
//! DescribeServices, ListTasks and DescribeTasks answers, after the
//! UpdateService of the deploy, into the answers AWS gives for a rollout,
//! a circuit-breaker rollback, or a deployment that never ends. Log events
//! are written into the emulator's CloudWatch Logs.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support;
use crate::support::proxy::{Proxy, Rewrite};
use crate::support::{Emulator, Run, Workspace, reconcile, reconcile_env, sdk_config};

const ACCOUNT: &str = "123456789012";
const TASK_ID: &str = "0f1e2d3c4b5a";

/// A cluster, a log group, a task definition whose `app` container logs
/// with awslogs (prefix `web`) and runs `var.image`, and a service of it.
fn stack(extra_service_fields: &str) -> String {
    format!(
        r#"
[stack]
name = "deploy"
region = "us-east-1"

[variables.image]
type = "string"
default = "app:v1"

[ecs_cluster.app]

[log_group.app]
name = "/ecs/deploy"

[ecs_task_definition.app]
family = "deploy-app"
container_definitions = [{{ name = "app", image = "${{var.image}}", memory = 256, essential = true, log_configuration = {{ log_driver = "awslogs", options = {{ awslogs-group = "${{log_group.app.name}}", awslogs-region = "us-east-1", awslogs-stream-prefix = "web" }} }} }}]

[ecs_service.app]
cluster = "${{ecs_cluster.app.arn}}"
task_definition = "${{ecs_task_definition.app.arn}}"
launch_type = "EC2"
desired_count = 1
deployment_circuit_breaker = {{ enable = true, rollback = true }}
{extra_service_fields}
"#
    )
}

fn td_arn(revision: &str) -> String {
    format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{revision}")
}

fn deployment(id: &str, status: &str, td: &str, state: &str, running: i64, failed: i64) -> Value {
    json!({
        "id": id,
        "status": status,
        "taskDefinition": td_arn(td),
        "desiredCount": 1,
        "runningCount": running,
        "pendingCount": 1 - running,
        "failedTasks": failed,
        "rolloutState": state,
        "rolloutStateReason": format!("ECS deployment {id} {}.", state.to_lowercase()),
        "createdAt": 1_765_000_000.0,
        "updatedAt": 1_765_000_000.0,
        "launchType": "EC2",
    })
}

fn event(message: &str) -> Value {
    json!([{ "id": "e1", "createdAt": 1_765_000_100.0, "message": message }])
}

/// One stage of a deploy as DescribeServices shows it: the deployments,
/// the revision the service runs, the latest event.
struct Stage {
    deployments: Vec<Value>,
    task_definition: Option<&'static str>,
    event: &'static str,
}

/// A proxy that, once the deploy's UpdateService went through, answers
/// DescribeServices with `stages` in turn (the last one repeats), and
/// ListTasks / DescribeTasks with `stopped` (a stopped task of revision
/// `deploy-app:2`) when given.
fn deploy_proxy(
    emu: &Emulator,
    stages: Vec<Stage>,
    stopped: Option<Value>,
) -> (Proxy, Arc<AtomicUsize>) {
    let updated = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let stages = Arc::new(Mutex::new(stages));
    let counted = Arc::clone(&polls);
    let rewrite: Rewrite = Arc::new(move |op: &str, _req: &str, resp: &str| {
        match op {
            "UpdateService" => {
                updated.store(true, Ordering::SeqCst);
                None
            }
            "DescribeServices" if updated.load(Ordering::SeqCst) => {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                let stages = stages.lock().unwrap();
                let stage = &stages[n.min(stages.len() - 1)];
                let mut v: Value = serde_json::from_str(resp).ok()?;
                let s = v["services"].get_mut(0)?;
                s["deployments"] = Value::Array(stage.deployments.clone());
                s["events"] = event(stage.event);
                if let Some(td) = stage.task_definition {
                    s["taskDefinition"] = json!(td_arn(td));
                }
                Some(v.to_string())
            }
            "ListTasks" if updated.load(Ordering::SeqCst) => stopped.as_ref().map(|_| {
                json!({ "taskArns": [format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task/deploy-app/{TASK_ID}")] })
                    .to_string()
            }),
            "DescribeTasks" if updated.load(Ordering::SeqCst) => stopped
                .as_ref()
                .map(|t| json!({ "tasks": [t], "failures": [] }).to_string()),
            _ => None,
        }
    });
    (Proxy::rewriting(&emu.endpoint, rewrite), polls)
}

fn apply_through(emu: &Emulator, ws: &Workspace, proxy: &Proxy, args: &[&str]) -> Run {
    let mut all = vec!["apply", "--auto-approve"];
    all.extend_from_slice(args);
    reconcile_env(
        Some(emu),
        ws,
        &all,
        &[("AWS_ENDPOINT_URL", &proxy.endpoint)],
    )
}

/// The deployment lines the apply printed for the service.
fn progress_lines(run: &Run) -> Vec<&str> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("ecs_service.app: deployment:"))
        .collect()
}

/// Applies v1 straight against the emulator (completed at once there).
fn first_deploy(emu: &Emulator, ws: &Workspace) {
    let run = reconcile(emu, ws, &["apply", "--auto-approve"]);
    run.expect_success();
    assert!(
        !progress_lines(&run).is_empty(),
        "the first deploy shows its progress\n{run}"
    );
}

#[tokio::test]
async fn a_deployment_the_circuit_breaker_rolls_back_fails_the_apply_and_says_why() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", &stack(""));
    first_deploy(&emu, &ws);

    // What the failing container wrote before it stopped.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config(&emu).await);
    let stream = format!("web/app/{TASK_ID}");
    logs.create_log_stream()
        .log_group_name("/ecs/deploy")
        .log_stream_name(&stream)
        .send()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut put = logs
        .put_log_events()
        .log_group_name("/ecs/deploy")
        .log_stream_name(&stream);
    for i in 1..=25 {
        put = put.log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now - 25_000 + i * 1000)
                .message(format!("boot step {i:02}"))
                .build()
                .unwrap(),
        );
    }
    put.send().await.unwrap();

    let stopped = json!({
        "taskArn": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task/deploy-app/{TASK_ID}"),
        "taskDefinitionArn": td_arn("deploy-app:2"),
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "stoppedAt": 1_765_000_050.0,
        "containers": [{ "name": "app", "lastStatus": "STOPPED", "exitCode": 137, "reason": "OutOfMemoryError: Container killed due to memory usage" }],
    });
    let stages = vec![
        Stage {
            deployments: vec![
                deployment("ecs-svc/2", "PRIMARY", "deploy-app:2", "IN_PROGRESS", 0, 1),
                deployment("ecs-svc/1", "ACTIVE", "deploy-app:1", "COMPLETED", 1, 0),
            ],
            task_definition: None,
            event: "(service deploy-app) has started 1 tasks: (task 0f1e2d3c4b5a).",
        },
        Stage {
            deployments: vec![
                deployment("ecs-svc/2", "PRIMARY", "deploy-app:2", "FAILED", 0, 3),
                deployment("ecs-svc/1", "ACTIVE", "deploy-app:1", "COMPLETED", 1, 0),
            ],
            task_definition: None,
            event: "(service deploy-app) (deployment ecs-svc/2) deployment failed: tasks failed to start.",
        },
        Stage {
            deployments: vec![deployment(
                "ecs-svc/3",
                "PRIMARY",
                "deploy-app:1",
                "COMPLETED",
                1,
                0,
            )],
            task_definition: Some("deploy-app:1"),
            event: "(service deploy-app) rolling back to deployment ecs-svc/1.",
        },
    ];
    let (proxy, _) = deploy_proxy(&emu, stages, Some(stopped));
    let run = apply_through(&emu, &ws, &proxy, &["--var", "image=app:v2"]);

    run.expect_code(3);
    let all = format!("{}\n{}", run.stdout, run.stderr);
    for want in [
        "the deployment of deploy-app:2 to ECS service",
        "failed",
        "Essential container in task exited",
        "essential container app exit code 137 (OutOfMemoryError",
        "last 20 log lines of container app (/ecs/deploy web/app/0f1e2d3c4b5a)",
        "boot step 06",
        "boot step 25",
    ] {
        assert!(all.contains(want), "missing {want:?}\n{run}");
    }
    assert!(
        !all.contains("boot step 05"),
        "only the last 20 lines\n{run}"
    );
    assert!(
        progress_lines(&run)
            .iter()
            .any(|l| l.contains("IN_PROGRESS")),
        "the rollout was shown\n{run}"
    );
    // The service as it is live: rolled back to the first revision.
    let service = &ws.state()["resources"]["ecs_service.app"];
    let td = service["attributes"]["task_definition"].as_str().unwrap();
    assert!(td.ends_with("deploy-app:1"), "{service}");
}

#[tokio::test]
async fn a_deployment_that_rolls_out_shows_its_progress_and_succeeds() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", &stack(""));
    first_deploy(&emu, &ws);
    let stages = vec![
        Stage {
            deployments: vec![
                deployment("ecs-svc/2", "PRIMARY", "deploy-app:2", "IN_PROGRESS", 0, 0),
                deployment("ecs-svc/1", "ACTIVE", "deploy-app:1", "COMPLETED", 1, 0),
            ],
            task_definition: None,
            event: "(service deploy-app) has started 1 tasks.",
        },
        Stage {
            deployments: vec![
                deployment("ecs-svc/2", "PRIMARY", "deploy-app:2", "IN_PROGRESS", 1, 0),
                deployment("ecs-svc/1", "ACTIVE", "deploy-app:1", "COMPLETED", 1, 0),
            ],
            task_definition: None,
            event: "(service deploy-app) has stopped 1 running tasks.",
        },
        Stage {
            deployments: vec![deployment(
                "ecs-svc/2",
                "PRIMARY",
                "deploy-app:2",
                "COMPLETED",
                1,
                0,
            )],
            task_definition: None,
            event: "(service deploy-app) has reached a steady state.",
        },
    ];
    let (proxy, polls) = deploy_proxy(&emu, stages, None);
    let run = apply_through(&emu, &ws, &proxy, &["--var", "image=app:v2"]);
    run.expect_success();
    let lines = progress_lines(&run);
    assert!(lines.len() >= 3, "one line per change\n{run}");
    assert!(
        lines[0].contains("new deploy-app:2 IN_PROGRESS running 0/1 pending 1"),
        "{run}"
    );
    assert!(
        lines[0].contains("old deploy-app:1 COMPLETED running 1/1"),
        "{run}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("has reached a steady state")),
        "{run}"
    );
    assert!(polls.load(Ordering::SeqCst) >= 3, "waited for the rollout");
}

/// A deployment that never finishes.
fn stuck() -> Vec<Stage> {
    vec![Stage {
        deployments: vec![
            deployment("ecs-svc/2", "PRIMARY", "deploy-app:2", "IN_PROGRESS", 0, 0),
            deployment("ecs-svc/1", "ACTIVE", "deploy-app:1", "COMPLETED", 1, 0),
        ],
        task_definition: None,
        event: "(service deploy-app) was unable to place a task.",
    }]
}

#[tokio::test]
async fn no_wait_and_wait_for_steady_state_false_return_without_waiting_and_a_stuck_one_times_out()
{
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", &stack(""));
    first_deploy(&emu, &ws);
    let (proxy, _) = deploy_proxy(&emu, stuck(), None);

    let run = apply_through(&emu, &ws, &proxy, &["--var", "image=app:v2", "--no-wait"]);
    run.expect_success();
    assert!(
        progress_lines(&run).is_empty(),
        "--no-wait does not wait\n{run}"
    );

    ws.write("desired/main.toml", &stack("wait_for_steady_state = false"));
    let run = apply_through(&emu, &ws, &proxy, &["--var", "image=app:v3"]);
    run.expect_success();
    assert!(
        progress_lines(&run).is_empty(),
        "= false does not wait\n{run}"
    );

    // Waiting, the stuck deployment times out: a deployment failure.
    ws.write(
        "desired/main.toml",
        &stack("timeouts = { update = \"3s\" }"),
    );
    let run = apply_through(&emu, &ws, &proxy, &["--var", "image=app:v4"]);
    run.expect_code(3);
    assert!(run.stderr.contains("not steady after 3s"), "{run}");
    assert!(run.stdout.contains("was unable to place a task"), "{run}");
}

#[tokio::test]
async fn status_json_of_the_fargate_example_lists_the_service_with_its_counts() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.copy_example("fargate");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();

    let run = reconcile(&emu, &ws, &["status", "--json"]);
    run.expect_success();
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"));
    let services = report["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "{report}");
    let svc = &services[0];
    assert_eq!(svc["address"], "ecs_service.flask", "{report}");

    // The counts ECS reports.
    let arn = ws.id("ecs_service.flask");
    let cluster = arn.split('/').nth(1).unwrap();
    let ecs = aws_sdk_ecs::Client::new(&sdk_config(&emu).await);
    let live = ecs
        .describe_services()
        .cluster(cluster)
        .services(&arn)
        .send()
        .await
        .unwrap();
    let live = &live.services()[0];
    assert_eq!(svc["desired"], json!(live.desired_count()), "{svc}");
    assert_eq!(svc["running"], json!(live.running_count()), "{svc}");
    assert_eq!(svc["status"], "ACTIVE");
    let deployments = svc["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 1, "{svc}");
    assert_eq!(deployments[0]["rollout_state"], "COMPLETED", "{svc}");
    assert!(deployments[0]["age_seconds"].is_u64(), "{svc}");
    let groups = report["target_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{report}");
    assert_eq!(groups[0]["address"], "target_group.flask");
    assert!(groups[0]["healthy"].is_u64() && groups[0]["unhealthy"].is_u64());

    // For people, and one address at a time.
    let run = reconcile(&emu, &ws, &["status", "ecs_service.flask"]);
    run.expect_success();
    assert!(run.stdout.starts_with("ecs_service.flask ("), "{run}");
    assert!(run.stdout.contains(" desired, "), "{run}");
    assert!(!run.stdout.contains("target_group.flask"), "{run}");
    let run = reconcile(&emu, &ws, &["status", "vpc.app"]);
    run.expect_code(1);
    assert!(run.stderr.contains("`vpc.app` is a vpc"), "{run}");
}

/// Writes `events` (seconds before now, message) into one stream.
async fn write_stream(logs: &aws_sdk_cloudwatchlogs::Client, stream: &str, events: &[(i64, &str)]) {
    logs.create_log_stream()
        .log_group_name("/ecs/deploy")
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut put = logs
        .put_log_events()
        .log_group_name("/ecs/deploy")
        .log_stream_name(stream);
    for (ago, message) in events {
        put = put.log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now - ago * 1000)
                .message(*message)
                .build()
                .unwrap(),
        );
    }
    put.send().await.unwrap();
}

#[tokio::test]
async fn logs_since_prints_the_events_written_in_time_order_prefixed_by_container_and_task() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", &stack(""));
    first_deploy(&emu, &ws);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config(&emu).await);
    write_stream(
        &logs,
        "web/app/task1",
        &[(7200, "too old"), (50, "t1 first"), (30, "t1 second")],
    )
    .await;
    write_stream(
        &logs,
        "web/app/task2",
        &[(40, "t2 first"), (20, "t2 second")],
    )
    .await;
    // Another container's stream in the same group is not this service's.
    write_stream(&logs, "other/worker/task9", &[(35, "not ours")]).await;

    for address in ["ecs_service.app", "ecs_task_definition.app"] {
        let run = reconcile(&emu, &ws, &["logs", address, "--since", "10m"]);
        run.expect_success();
        let lines: Vec<&str> = run.stdout.lines().collect();
        let tails: Vec<&str> = lines
            .iter()
            .map(|l| l.split_once(' ').map_or(*l, |(_, rest)| rest))
            .collect();
        assert_eq!(
            tails,
            [
                "[app task1] t1 first",
                "[app task2] t2 first",
                "[app task1] t1 second",
                "[app task2] t2 second"
            ],
            "{run}"
        );
        assert!(
            lines[0].starts_with("20") && lines[0].contains('T'),
            "a time first\n{run}"
        );
    }
    let run = reconcile(&emu, &ws, &["logs", "ecs_cluster.app"]);
    run.expect_code(1);
    assert!(run.stderr.contains("is a ecs_cluster"), "{run}");
}

/// A proxy that records RunTask's request and answers DescribeTasks with
/// the task stopped and its container exited with `exit_code` (the
/// emulator runs nothing: its tasks never stop).
fn run_proxy(emu: &Emulator, exit_code: i64) -> (Proxy, Arc<Mutex<String>>) {
    let request = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&request);
    let rewrite: Rewrite = Arc::new(move |op: &str, req: &str, resp: &str| match op {
        "RunTask" => {
            *seen.lock().unwrap() = req.to_owned();
            None
        }
        "DescribeTasks" => {
            let mut v: Value = serde_json::from_str(resp).ok()?;
            let t = v["tasks"].get_mut(0)?;
            t["lastStatus"] = json!("STOPPED");
            t["stoppedReason"] = json!("Essential container in task exited");
            t["containers"] = json!([{ "name": "flask-container", "lastStatus": "STOPPED", "exitCode": exit_code }]);
            Some(v.to_string())
        }
        _ => None,
    });
    (Proxy::rewriting(&emu.endpoint, rewrite), request)
}

#[tokio::test]
async fn run_echo_hi_exits_with_the_tasks_exit_code_on_the_services_network() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.copy_example("fargate");
    reconcile(&emu, &ws, &["apply", "--auto-approve"]).expect_success();
    // The command goes last, after the flags the helpers add.
    let run_echo = |proxy: &Proxy, address: &str| {
        let args = ["run", address];
        let mut cmd = support::command(
            Some(&emu),
            &ws,
            &args,
            &[("AWS_ENDPOINT_URL", &proxy.endpoint)],
        );
        cmd.args(["--", "echo", "hi"]);
        support::run_command(cmd, &args)
    };

    let (proxy, request) = run_proxy(&emu, 0);
    let run = run_echo(&proxy, "ecs_task_definition.flask");
    run.expect_success();
    assert!(
        run.stdout.contains("container flask-container exit code 0"),
        "{run}"
    );
    let sent: Value = serde_json::from_str(&request.lock().unwrap()).unwrap();
    assert_eq!(
        sent["overrides"]["containerOverrides"][0],
        json!({ "name": "flask-container", "command": ["echo", "hi"] }),
        "{sent}"
    );
    // The service's cluster, launch type and network.
    assert_eq!(sent["launchType"], "FARGATE", "{sent}");
    assert_eq!(
        sent["cluster"],
        json!(ws.state()["resources"]["ecs_service.flask"]["attributes"]["cluster"]),
        "{sent}"
    );
    assert_eq!(
        sent["networkConfiguration"]["awsvpcConfiguration"]["subnets"],
        json!([ws.id("subnet.app")]),
        "{sent}"
    );

    let (proxy, _) = run_proxy(&emu, 3);
    let run = run_echo(&proxy, "ecs_task_definition.flask");
    run.expect_code(3);
    assert!(run.stdout.contains("exit code 3"), "{run}");

    // Not a task definition: said, exit 1.
    let run = run_echo(&proxy, "vpc.app");
    run.expect_code(1);
    assert!(
        run.stderr.contains("run takes an ecs_task_definition"),
        "{run}"
    );
}

#[tokio::test]
async fn rollback_after_two_deploys_returns_the_service_to_the_first_image_and_keeps_only_keep_revisions()
 {
    let emu = Emulator::start();
    let ws = Workspace::new();
    let persisted = stack("")
        .replace("default = \"app:v1\"", "persist = true")
        .replace(
            "family = \"deploy-app\"",
            "family = \"deploy-app\"\nkeep_revisions = 2",
        );
    ws.write("desired/main.toml", &persisted);
    for image in ["image=app:v1", "image=app:v2"] {
        reconcile(&emu, &ws, &["apply", "--auto-approve", "--var", image]).expect_success();
    }
    let run = reconcile(&emu, &ws, &["rollback", "--auto-approve"]);
    run.expect_success();
    assert!(
        run.stdout.contains("Rolling back image: app:v2 -> app:v1"),
        "{run}"
    );
    assert!(
        progress_lines(&run)
            .iter()
            .any(|l| l.contains("deployment:")),
        "waited\n{run}"
    );

    // The service runs the first image again, on a new revision.
    let ecs = aws_sdk_ecs::Client::new(&sdk_config(&emu).await);
    let arn = ws.id("ecs_service.app");
    let cluster = arn.split('/').nth(1).unwrap();
    let live = ecs
        .describe_services()
        .cluster(cluster)
        .services(&arn)
        .send()
        .await
        .unwrap();
    let td = live.services()[0].task_definition().unwrap().to_owned();
    let def = ecs
        .describe_task_definition()
        .task_definition(&td)
        .send()
        .await
        .unwrap();
    let image = def.task_definition().unwrap().container_definitions()[0]
        .image()
        .unwrap();
    assert_eq!(image, "app:v1", "{td}");
    // keep_revisions = 2: the first revision is deregistered, the second
    // (the one rolled back from) kept.
    let active = ecs
        .list_task_definitions()
        .family_prefix("deploy-app")
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    let mut revisions: Vec<&str> = active
        .task_definition_arns()
        .iter()
        .map(|a| a.rsplit('/').next().unwrap())
        .collect();
    revisions.sort_unstable();
    assert_eq!(revisions, ["deploy-app:2", "deploy-app:3"], "{run}");
    let image = &ws.state()["variables"]["image"];
    assert_eq!(image["value"], "app:v1", "{image}");
    assert_eq!(image["previous"], "app:v2", "{image}");

    // Destroy deregisters every kept revision.
    reconcile(&emu, &ws, &["destroy", "--auto-approve"]).expect_success();
    let active = ecs
        .list_task_definitions()
        .family_prefix("deploy-app")
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    assert!(active.task_definition_arns().is_empty(), "{active:?}");
}

#[tokio::test]
async fn a_rollback_only_describe_service_deployments_reports_fails_the_apply() {
    let emu = Emulator::start();
    let ws = Workspace::new();
    ws.write("desired/main.toml", &stack(""));
    first_deploy(&emu, &ws);
    // A new count, no new revision: the service ends steady on the same
    // revision, and only the service deployment says it was rolled back.
    let updated = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(AtomicUsize::new(0));
    let (seen, counted) = (Arc::clone(&updated), Arc::clone(&asked));
    const DEPLOYMENT: &str =
        "arn:aws:ecs:us-east-1:123456789012:service-deployment/deploy-app/deploy-app/d1";
    let rewrite: Rewrite = Arc::new(move |op: &str, _req: &str, resp: &str| match op {
        "UpdateService" => {
            seen.store(true, Ordering::SeqCst);
            None
        }
        "DescribeServices" if seen.load(Ordering::SeqCst) => {
            let mut v: Value = serde_json::from_str(resp).ok()?;
            let s = v["services"].get_mut(0)?;
            s["currentServiceDeployment"] = json!(DEPLOYMENT);
            s["deployments"] = json!([deployment(
                "ecs-svc/4",
                "PRIMARY",
                "deploy-app:1",
                "COMPLETED",
                1,
                0
            )]);
            s["taskDefinition"] = json!(td_arn("deploy-app:1"));
            Some(v.to_string())
        }
        "DescribeServiceDeployments" => {
            counted.fetch_add(1, Ordering::SeqCst);
            Some(
                json!({
                    "serviceDeployments": [{
                        "serviceDeploymentArn": DEPLOYMENT,
                        "status": "ROLLBACK_SUCCESSFUL",
                        "statusReason": "Service deployment rolled back because the circuit breaker threshold was exceeded.",
                    }],
                    "failures": [],
                })
                .to_string(),
            )
        }
        _ => None,
    });
    let proxy = Proxy::rewriting(&emu.endpoint, rewrite);
    ws.write(
        "desired/main.toml",
        &stack("").replace("desired_count = 1", "desired_count = 2"),
    );
    let run = apply_through(&emu, &ws, &proxy, &[]);
    run.expect_code(3);
    assert!(run.stderr.contains("the service deployment is ROLLBACK_SUCCESSFUL: Service deployment rolled back because the circuit breaker threshold was exceeded."), "{run}");
    assert!(asked.load(Ordering::SeqCst) >= 1);
}
