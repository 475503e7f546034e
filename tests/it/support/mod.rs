//! Shared helpers for the integration tests (`crate::support` in tests/it/):
//! a moto emulator per test, a scratch workspace, a way to run the binary
//! against both, and SDK clients that talk to the emulator directly.
#![allow(dead_code)]

pub mod proxy;
pub mod scripted;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;

/// How long the emulator gets to answer `/moto-api/` after it is launched.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one run of the binary may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_mins(3);
/// The runningCount every ECS service of the emulator reports, whatever
/// its desiredCount (`MOTO_ECS_SERVICE_RUNNING`). Its first deployment is
/// COMPLETED only when this is at least the desired count: at 1, a service
/// created with 2 tasks would never be steady, and every apply waits for
/// deployments by default.
pub const ECS_RUNNING: &str = "10";
/// Seconds after which moto issues a certificate requested with DNS
/// validation (`MOTO_ACM_VALIDATION_WAIT`, 60 by default).
pub const ACM_VALIDATION_WAIT: &str = "2";
/// Where `reconcile_in(None, ..)` points the binary: the discard port on
/// loopback, so that nothing can reach real AWS.
const UNREACHABLE_ENDPOINT: &str = "http://127.0.0.1:9";

/// A moto server on a free loopback port, killed when dropped. Its log is
/// kept under `target/tmp/moto-logs/` when the test panics.
pub struct Emulator {
    pub endpoint: String,
    child: Child,
    port: u16,
    log_path: PathBuf,
}

impl Emulator {
    /// Launches `.venv/bin/moto_server` (installed by `scripts/emulator.sh
    /// install`) and waits until it answers.
    pub fn start() -> Emulator {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: run scripts/emulator.sh install",
            bin.display()
        );
        let log_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-logs");
        fs::create_dir_all(&log_dir)
            .unwrap_or_else(|e| panic!("creating {}: {e}", log_dir.display()));

        // Another process may take the port between our probe and moto's bind:
        // then moto exits at once and we try another port.
        let mut last_failure = String::new();
        for _attempt in 0..3 {
            static STARTED: AtomicUsize = AtomicUsize::new(0);
            let port = free_port();
            let log_path = log_dir.join(format!(
                "moto-{}-{}-{port}.log",
                std::process::id(),
                STARTED.fetch_add(1, Ordering::Relaxed)
            ));
            let log = File::create(&log_path)
                .unwrap_or_else(|e| panic!("creating {}: {e}", log_path.display()));
            let log_err = log.try_clone().expect("cloning the log file handle");
            let child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .env("MOTO_ECS_SERVICE_RUNNING", ECS_RUNNING)
                // ACM issues a DNS-validated certificate after this many
                // seconds (60 by default): short, yet waited for.
                .env("MOTO_ACM_VALIDATION_WAIT", ACM_VALIDATION_WAIT)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .spawn()
                .unwrap_or_else(|e| panic!("launching {}: {e}", bin.display()));
            let mut emulator =
                Emulator { endpoint: format!("http://127.0.0.1:{port}"), child, port, log_path };
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if let Ok((200, _)) = http(port, "GET", "/moto-api/", Duration::from_secs(2)) {
                    return emulator;
                }
                if let Ok(Some(status)) = emulator.child.try_wait() {
                    last_failure = format!(
                        "moto_server exited during startup ({status}); its log:\n{}",
                        emulator.log_tail()
                    );
                    break;
                }
                // Dropping it kills it and, as we are panicking, keeps the log.
                assert!(
                    Instant::now() <= deadline,
                    "moto_server did not answer {}/moto-api/ within {START_TIMEOUT:?}; its log:\n{}",
                    emulator.endpoint,
                    emulator.log_tail()
                );
                thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("could not start moto_server: {last_failure}");
    }

    /// Wipes all of the emulator's state (`POST /moto-api/reset`).
    pub fn reset(&self) {
        match http(
            self.port,
            "POST",
            "/moto-api/reset",
            Duration::from_secs(30),
        ) {
            Ok((200, _)) => {}
            Ok((status, body)) => panic!("POST /moto-api/reset answered {status}: {body}"),
            Err(e) => panic!("POST /moto-api/reset failed: {e}"),
        }
    }

    /// Everything the emulator holds, as moto dumps it (`/moto-api/data.json`).
    pub fn data(&self) -> serde_json::Value {
        match http(
            self.port,
            "GET",
            "/moto-api/data.json",
            Duration::from_secs(30),
        ) {
            Ok((200, body)) => serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("/moto-api/data.json is not JSON ({e}): {body}")),
            Ok((status, body)) => panic!("GET /moto-api/data.json answered {status}: {body}"),
            Err(e) => panic!("GET /moto-api/data.json failed: {e}"),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("moto_server log kept at {}", self.log_path.display());
        } else {
            let _ = fs::remove_file(&self.log_path);
        }
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; moto binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port on 127.0.0.1")
}

/// One HTTP/1.0 request to 127.0.0.1:port; returns the status and the body.
fn http(port: u16, method: &str, path: &str, timeout: Duration) -> io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// A scratch directory: desired state under `desired/`, the state file at
/// `state/test.json`. Both folders exist from the start.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("reconcile-test-")
            .tempdir()
            .expect("creating a temporary directory");
        let ws = Workspace { dir };
        fs::create_dir_all(ws.desired_path()).expect("creating desired/");
        fs::create_dir_all(ws.dir.path().join("state")).expect("creating state/");
        ws
    }

    /// Writes `contents` to `rel_path` (relative to the workspace, e.g.
    /// `desired/network.toml`), creating folders as needed.
    pub fn write(&self, rel_path: &str, contents: &str) {
        let path = self.dir.path().join(rel_path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Reads a file of the workspace (relative path), panicking if missing.
    pub fn read(&self, rel_path: &str) -> String {
        let path = self.dir.path().join(rel_path);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies the example `desired/<name>/` of the repository, modules
    /// included, into the workspace's `desired/`.
    pub fn copy_example(&self, name: &str) {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("desired")
            .join(name);
        copy_dir(&from, &self.desired_path());
    }

    /// The state file as JSON.
    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.read("state/test.json")).expect("the state is JSON")
    }

    /// The AWS id the state records for `address`.
    pub fn id(&self, address: &str) -> String {
        self.state()["resources"][address]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{address} is not in the state"))
            .to_owned()
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join("state/test.json")
    }

    pub fn desired_path(&self) -> PathBuf {
        self.dir.path().join("desired")
    }
}

/// Copies the directory `from` into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let path = entry.expect("a directory entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap_or_else(|e| panic!("copying {}: {e}", path.display()));
        }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

/// What one run of the binary did. Its `Display` and `Debug` show the exit
/// code and both streams, for assertion messages.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics, showing the whole run, unless it exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "expected exit code {code}\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_success(&self) -> &Run {
        self.expect_code(0)
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "exit code: {}", self.code)?;
        writeln!(f, "--- stdout ---")?;
        writeln!(f, "{}", self.stdout.trim_end())?;
        writeln!(f, "--- stderr ---")?;
        write!(f, "{}", self.stderr.trim_end())
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Runs `reconcile ARGS --desired <ws>/desired --state <ws>/state/test.json
/// --no-color` against the emulator.
pub fn reconcile(emu: &Emulator, ws: &Workspace, args: &[&str]) -> Run {
    reconcile_env(Some(emu), ws, args, &[])
}

/// Like `reconcile`, but without an emulator the endpoint is an unreachable
/// loopback port (for commands such as `validate` that need no AWS).
pub fn reconcile_in(emu: Option<&Emulator>, ws: &Workspace, args: &[&str]) -> Run {
    reconcile_env(emu, ws, args, &[])
}

/// Like `reconcile_in`, with extra environment variables (set last, so they
/// can override the defaults, e.g. `AWS_ENDPOINT_URL` to point at a proxy).
pub fn reconcile_env(
    emu: Option<&Emulator>,
    ws: &Workspace,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    run_with_timeout(command(emu, ws, args, env), args)
}

/// The command `reconcile_env` runs, for tests that start and stop it
/// themselves (stdout and stderr piped).
pub fn command(
    emu: Option<&Emulator>,
    ws: &Workspace,
    args: &[&str],
    env: &[(&str, &str)],
) -> Command {
    let mut cmd = command_without_state(emu, ws, args);
    cmd.arg("--state")
        .arg(ws.state_path())
        .envs(env.iter().copied());
    cmd
}

/// The binary under test: `RECONCILE_TEST_BIN` when set, else the one
/// cargo built for this test. Worktrees that share one target directory
/// share artifact names too (cargo hashes a path package relative to its
/// workspace), so each build overwrites the other's binary: copy the
/// worktree's own build elsewhere right after building and point this at
/// the copy.
pub fn binary() -> std::ffi::OsString {
    std::env::var_os("RECONCILE_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_reconcile").into())
}

/// Like `command`, without `--state`: the state lives where the desired
/// state's `[backend]` says.
pub fn command_without_state(emu: Option<&Emulator>, ws: &Workspace, args: &[&str]) -> Command {
    let mut cmd = command_bare(emu, ws, args);
    cmd.arg("--desired").arg(ws.desired_path());
    cmd
}

/// The binary with `args` and `--no-color` only, run in the workspace
/// against the emulator (for `watch --stacks`, which takes no `--desired`).
pub fn command_bare(emu: Option<&Emulator>, ws: &Workspace, args: &[&str]) -> Command {
    let endpoint = emu.map_or(UNREACHABLE_ENDPOINT, |e| e.endpoint.as_str());
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .arg("--no-color")
        .current_dir(ws.path())
        // Keep the developer's own AWS settings out of the tests.
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", ws.path().join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            ws.path().join("no-aws-credentials"),
        )
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs a prepared command to its end (bounded), like `reconcile`.
pub fn run_command(cmd: Command, args: &[&str]) -> Run {
    run_with_timeout(cmd, args)
}

/// Waits for a started child (bounded) and collects its output.
pub fn wait_child(child: Child, args: &[&str]) -> Run {
    finish_child(child, args)
}

fn run_with_timeout(mut cmd: Command, args: &[&str]) -> Run {
    finish_child(cmd.spawn().expect("launching the reconcile binary"), args)
}

fn finish_child(mut child: Child, args: &[&str]) -> Run {
    let stdout = read_in_background(child.stdout.take().expect("piped stdout"));
    let stderr = read_in_background(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        match child.try_wait().expect("waiting for reconcile") {
            Some(status) => break Some(status),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => thread::sleep(Duration::from_millis(10)),
        }
    };
    let run = Run {
        code: status.map_or(-1, |s| {
            s.code()
                .unwrap_or_else(|| 128 + s.signal().unwrap_or_default())
        }),
        stdout: stdout.join().expect("reading stdout"),
        stderr: stderr.join().expect("reading stderr"),
    };
    assert!(
        status.is_some(),
        "reconcile {args:?} did not finish within {RUN_TIMEOUT:?} and was killed\n{run}"
    );
    run
}

fn read_in_background(mut stream: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        String::from_utf8_lossy(&raw).into_owned()
    })
}

/// The SDK configuration the tests use to look at the emulator directly.
pub async fn sdk_config(emu: &Emulator) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&emu.endpoint)
        .region("us-east-1")
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

/// An EC2 client that talks to the emulator.
pub async fn ec2(emu: &Emulator) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&sdk_config(emu).await)
}

/// The `reconcile:address` tags of the live objects of the services other
/// than EC2 and ELB: auto-scaling groups, IAM roles, RDS instances, S3
/// buckets, EFS file systems, CloudFront distributions, log groups.
async fn other_services_tagged(conf: &aws_config::SdkConfig) -> Vec<String> {
    const KEY: &str = "reconcile:address";
    let mut found = Vec::new();
    let asg = aws_sdk_autoscaling::Client::new(conf);
    for g in asg
        .describe_auto_scaling_groups()
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()
    {
        found.extend(
            g.tags()
                .iter()
                .filter(|t| t.key() == Some(KEY))
                .filter_map(|t| t.value().map(str::to_owned)),
        );
    }
    let iam = aws_sdk_iam::Client::new(conf);
    for role in iam.list_roles().send().await.unwrap().roles() {
        let tags = iam
            .list_role_tags()
            .role_name(role.role_name())
            .send()
            .await
            .unwrap();
        found.extend(
            tags.tags()
                .iter()
                .filter(|t| t.key() == KEY)
                .map(|t| t.value().to_owned()),
        );
    }
    let rds = aws_sdk_rds::Client::new(conf);
    for db in rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
    {
        found.extend(
            db.tag_list()
                .iter()
                .filter(|t| t.key() == Some(KEY))
                .filter_map(|t| t.value().map(str::to_owned)),
        );
    }
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    );
    for b in s3.list_buckets().send().await.unwrap().buckets() {
        let Some(name) = b.name() else { continue };
        // A bucket without tags answers NoSuchTagSet.
        if let Ok(t) = s3.get_bucket_tagging().bucket(name).send().await {
            found.extend(
                t.tag_set()
                    .iter()
                    .filter(|t| t.key() == KEY)
                    .map(|t| t.value().to_owned()),
            );
        }
    }
    let efs = aws_sdk_efs::Client::new(conf);
    for fs in efs
        .describe_file_systems()
        .send()
        .await
        .unwrap()
        .file_systems()
    {
        found.extend(
            fs.tags()
                .iter()
                .filter(|t| t.key() == KEY)
                .map(|t| t.value().to_owned()),
        );
    }
    let cloudfront = aws_sdk_cloudfront::Client::new(conf);
    let list = cloudfront.list_distributions().send().await.unwrap();
    for d in list
        .distribution_list()
        .map(aws_sdk_cloudfront::types::DistributionList::items)
        .unwrap_or_default()
    {
        let tags = cloudfront
            .list_tags_for_resource()
            .resource(d.arn())
            .send()
            .await
            .unwrap();
        found.extend(
            tags.tags()
                .map(aws_sdk_cloudfront::types::Tags::items)
                .unwrap_or_default()
                .iter()
                .filter(|t| t.key() == KEY)
                .filter_map(|t| t.value().map(str::to_owned)),
        );
    }
    let logs = aws_sdk_cloudwatchlogs::Client::new(conf);
    for g in logs
        .describe_log_groups()
        .send()
        .await
        .unwrap()
        .log_groups()
    {
        let Some(arn) = g.arn() else { continue };
        // Tags are keyed by the ARN without its trailing `:*`.
        let arn = arn.trim_end_matches(":*");
        if let Ok(t) = logs.list_tags_for_resource().resource_arn(arn).send().await {
            found.extend(
                t.tags()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| *k == KEY)
                    .map(|(_, v)| v.clone()),
            );
        }
    }
    found
}

/// Per `reconcile:address` tag value, how many live objects carry it:
/// EC2 resources (launch templates included), target groups and load
/// balancers, and the objects of `other_services_tagged`; and per
/// task-definition family, how many revisions are active.
pub async fn tagged_copies(emu: &Emulator) -> BTreeMap<String, usize> {
    let conf = sdk_config(emu).await;
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    // Each kind's own describe (moto keeps the tags of deleted resources in
    // DescribeTags): the tag value of every live object.
    let tagged = || {
        aws_sdk_ec2::types::Filter::builder()
            .name("tag-key")
            .values("reconcile:address")
            .build()
    };
    let address = |tags: &[aws_sdk_ec2::types::Tag]| {
        tags.iter()
            .find(|t| t.key() == Some("reconcile:address"))
            .and_then(|t| t.value())
            .unwrap_or_default()
            .to_owned()
    };
    let mut found: Vec<String> = Vec::new();
    let r = ec2.describe_vpcs().filters(tagged()).send().await.unwrap();
    found.extend(r.vpcs().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_subnets()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.subnets().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_security_groups()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.security_groups().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_internet_gateways()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.internet_gateways().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_route_tables()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.route_tables().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_addresses()
        .filters(tagged())
        .send()
        .await
        .unwrap();
    found.extend(r.addresses().iter().map(|x| address(x.tags())));
    let r = ec2
        .describe_nat_gateways()
        .filter(tagged())
        .send()
        .await
        .unwrap();
    found.extend(
        r.nat_gateways()
            .iter()
            .filter(|n| n.state() != Some(&aws_sdk_ec2::types::NatGatewayState::Deleted))
            .map(|x| address(x.tags())),
    );
    found.extend(
        ec2.describe_launch_templates()
            .filters(tagged())
            .send()
            .await
            .unwrap()
            .launch_templates()
            .iter()
            .map(|x| address(x.tags())),
    );
    found.extend(other_services_tagged(&conf).await);
    for a in found {
        *count.entry(a).or_default() += 1;
    }
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let mut arns: Vec<String> = elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
        .iter()
        .filter_map(|t| t.target_group_arn().map(str::to_owned))
        .collect();
    arns.extend(
        elb.describe_load_balancers()
            .send()
            .await
            .unwrap()
            .load_balancers()
            .iter()
            .filter_map(|l| l.load_balancer_arn().map(str::to_owned)),
    );
    for chunk in arns.chunks(20) {
        let tags = elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        for d in tags.tag_descriptions() {
            for t in d.tags() {
                if t.key() == Some("reconcile:address") {
                    *count
                        .entry(t.value().unwrap_or_default().to_owned())
                        .or_default() += 1;
                }
            }
        }
    }
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let defs = ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    for arn in defs.task_definition_arns() {
        let family = arn.rsplit('/').next().unwrap_or(arn);
        let family = family.split(':').next().unwrap_or(family);
        *count
            .entry(format!("task-definition family {family}"))
            .or_default() += 1;
    }
    count
}

/// The one JSON line a `watch --once` prints.
pub fn watch_cycle(run: &Run) -> serde_json::Value {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line per cycle\n{run}");
    serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"))
}
