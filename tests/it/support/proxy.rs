//! A fault-injecting HTTP proxy between reconcile and the emulator: adds
//! latency, answers a seeded fraction of requests with a 500, a 503, a
//! throttling error in the service's own protocol, or a reset connection,
//! and counts requests per service and operation. Faults happen before the
//! request reaches the emulator, except the `*AfterForwarding` ones: the
//! emulator does the work and its answer is lost (replaced by a 500 or a
//! reset), so that a create succeeded without reconcile knowing.
//!
//! Bucket mode meters what AWS meters: per service, the mutating calls
//! draw from a token bucket (a burst, refilled at a rate), and a call that
//! finds it empty is answered with the service's own throttling error
//! without reaching the emulator. With a visibility delay, an EC2 id that
//! a create just answered is unknown to `Describe*` calls naming it for
//! that long (NotFound), as AWS's eventual consistency has it.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    InternalError,
    Unavailable,
    Throttle,
    Reset,
    /// Forwarded and done, then answered with a 500.
    InternalErrorAfterForwarding,
    /// Forwarded and done, then the connection is reset.
    ResetAfterForwarding,
}

impl Fault {
    fn after_forwarding(self) -> bool {
        matches!(
            self,
            Fault::InternalErrorAfterForwarding | Fault::ResetAfterForwarding
        )
    }
}

/// Faults the requests of one operation ranked `skip` to `skip + count - 1`
/// (from 0, in the order they reach the proxy).
#[derive(Debug, Clone)]
pub struct Rule {
    /// `"<service> <operation>"` as the stats name it (the service as
    /// SigV4 scopes it), e.g. `"elasticfilesystem GET
    /// /2015-02-01/mount-targets"` or `"ec2 CreateVpc"`.
    pub operation: String,
    pub skip: u64,
    pub count: u64,
    pub fault: Fault,
}

#[derive(Debug, Clone)]
pub struct Faults {
    /// Fraction of requests that fail, 0.0 to 1.0.
    pub fraction: f64,
    /// The faults to pick from, in turn.
    pub kinds: Vec<Fault>,
    pub seed: u64,
    /// Added to every request.
    pub latency: Duration,
    /// Chosen requests that fail whatever the fraction.
    pub rules: Vec<Rule>,
    /// Token buckets of mutating calls, per service.
    pub buckets: Vec<Bucket>,
    /// How long a new EC2 id stays unknown to describes.
    pub visibility_delay: Duration,
}

/// The token bucket of one service's mutating calls (AWS's EC2: a burst of
/// 50, 5 more per second, per account and region).
#[derive(Debug, Clone)]
pub struct Bucket {
    /// As SigV4 scopes it (`"ec2"`, `"iam"`, `"logs"`).
    pub service: String,
    pub burst: f64,
    pub refill_per_s: f64,
}

impl Bucket {
    /// `SERVICE=BURST/REFILL_PER_S`, e.g. `ec2=50/20`.
    pub fn parse(s: &str) -> Result<Bucket, String> {
        let bad = || format!("{s:?}: expected SERVICE=BURST/REFILL_PER_S, e.g. ec2=50/20");
        let (service, rest) = s.split_once('=').ok_or_else(bad)?;
        let (burst, refill) = rest.split_once('/').ok_or_else(bad)?;
        let burst: f64 = burst.parse().map_err(|_| bad())?;
        let refill_per_s: f64 = refill.parse().map_err(|_| bad())?;
        if service.is_empty() || burst < 1.0 || refill_per_s <= 0.0 {
            return Err(bad());
        }
        Ok(Bucket { service: service.to_owned(), burst, refill_per_s })
    }
}

/// What bucket mode keeps between requests.
#[derive(Debug, Default)]
struct Meter {
    /// Service → (tokens, when last refilled).
    tokens: HashMap<String, (f64, Instant)>,
    /// EC2 id → when describes may see it.
    visible_at: HashMap<String, Instant>,
}

impl Meter {
    /// Takes a token of `service`'s bucket; false when it is empty.
    fn take(&mut self, bucket: &Bucket, now: Instant) -> bool {
        let (tokens, at) = self
            .tokens
            .entry(bucket.service.clone())
            .or_insert((bucket.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * bucket.refill_per_s)
            .min(bucket.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Calls AWS meters as mutating: not a read by its verb (query and JSON
/// protocols) or its method (REST).
pub fn is_mutating(operation: &str) -> bool {
    if let Some((method, _)) = operation.split_once(' ') {
        return !matches!(method, "GET" | "HEAD");
    }
    !["Describe", "Get", "List", "Head", "Lookup", "Search"]
        .iter()
        .any(|p| operation.starts_with(p))
}

/// `vpc-0a1b2c`, `sg-1234`: an EC2 resource id.
fn is_ec2_id(v: &str) -> bool {
    v.split_once('-').is_some_and(|(prefix, hex)| {
        !prefix.is_empty()
            && prefix.bytes().all(|b| b.is_ascii_lowercase())
            && !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The id a create answered: the first `<…Id>` element holding an EC2 id
/// (`<vpc><vpcId>vpc-…`, `<groupId>sg-…`).
fn created_id(body: &str) -> Option<&str> {
    let mut rest = body;
    while let Some(at) = rest.find("Id>") {
        let after = &rest[at + 3..];
        let value = after.split('<').next().unwrap_or("");
        let is_open = rest[..at]
            .rfind('<')
            .is_some_and(|o| !rest[o..at].starts_with("</"));
        if is_open && is_ec2_id(value) {
            return Some(value);
        }
        rest = after;
    }
    None
}

/// The ids a describe names (`VpcId.1=vpc-…`, `GroupId.2=sg-…`), with the
/// parameter's stem (`Vpc`, `Group`).
fn named_ids(body: &str) -> Vec<(&str, &str)> {
    body.split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            let stem = k.split('.').next()?.strip_suffix("Id")?;
            (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_alphabetic()) && is_ec2_id(v))
                .then_some((stem, v))
        })
        .collect()
}

/// EC2's not-found code for an id parameter's stem.
fn not_found_code(stem: &str) -> String {
    match stem {
        "Group" => "InvalidGroup.NotFound".to_owned(),
        _ => format!("Invalid{stem}ID.NotFound"),
    }
}

impl Faults {
    pub fn none() -> Faults {
        Faults {
            fraction: 0.0,
            kinds: Vec::new(),
            seed: 0,
            latency: Duration::ZERO,
            rules: Vec::new(),
            buckets: Vec::new(),
            visibility_delay: Duration::ZERO,
        }
    }

    /// Only the faults `rules` name.
    pub fn rules(rules: Vec<Rule>) -> Faults {
        Faults { rules, ..Faults::none() }
    }

    pub fn all(fraction: f64, seed: u64) -> Faults {
        Faults {
            fraction,
            kinds: vec![
                Fault::InternalError,
                Fault::Unavailable,
                Fault::Throttle,
                Fault::Reset,
            ],
            seed,
            latency: Duration::ZERO,
            rules: Vec::new(),
            buckets: Vec::new(),
            visibility_delay: Duration::ZERO,
        }
    }
}

impl Faults {
    /// Only faults whose request reached the emulator: the outcome is lost.
    pub fn after_forwarding(fraction: f64, seed: u64) -> Faults {
        Faults {
            kinds: vec![
                Fault::InternalErrorAfterForwarding,
                Fault::ResetAfterForwarding,
            ],
            ..Faults::all(fraction, seed)
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// (service, operation) → requests seen.
    pub requests: BTreeMap<(String, String), u64>,
    pub faults: BTreeMap<Fault, u64>,
    /// Service → mutating calls refused by its bucket.
    pub throttled: BTreeMap<String, u64>,
    /// Describes answered NotFound for an id not yet visible.
    pub not_visible: u64,
}

impl Stats {
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    pub fn faulted(&self) -> u64 {
        self.faults.values().sum()
    }
}

/// Replaces answers with scripted ones shaped like AWS's, for what the
/// emulator cannot do (deployments that roll out, fail or roll back, tasks
/// that stop): given the operation (as `identify` names it), the request
/// body and the emulator's answer body, the body of a 200 JSON answer to
/// send instead, or `None` to pass the emulator's answer on.
pub type Rewrite = Arc<dyn Fn(&str, &str, &str) -> Option<String> + Send + Sync>;

pub struct Proxy {
    pub endpoint: String,
    stats: Arc<Mutex<Stats>>,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`
    /// (`http://127.0.0.1:<port>`).
    pub fn start(upstream: &str, faults: Faults) -> Proxy {
        Proxy::start_with(upstream, faults, None)
    }

    /// `start`, with the emulator's answers passed through `rewrite`.
    pub fn rewriting(upstream: &str, rewrite: Rewrite) -> Proxy {
        Proxy::start_with(upstream, Faults::none(), Some(rewrite))
    }

    fn start_with(upstream: &str, faults: Faults, rewrite: Option<Rewrite>) -> Proxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("an upstream address such as 127.0.0.1:5000");
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let stats = Arc::new(Mutex::new(Stats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicU64::new(0));
        let faults = Arc::new(faults);
        let meter = Arc::new(Mutex::new(Meter::default()));
        {
            let (stats, stop) = (stats.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (stats, counter, faults) = (stats.clone(), counter.clone(), faults.clone());
                    let (rewrite, meter) = (rewrite.clone(), meter.clone());
                    thread::spawn(move || {
                        let shared = Shared {
                            faults: &faults,
                            counter: &counter,
                            stats: &stats,
                            meter: &meter,
                        };
                        let _ = serve(conn, upstream, &shared, rewrite.as_ref());
                    });
                }
            });
        }
        Proxy { endpoint: format!("http://{addr}"), stats, stop, addr }
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().expect("proxy stats").clone()
    }

    pub fn reset_stats(&self) {
        *self.stats.lock().expect("proxy stats") = Stats::default();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A request or response as bytes: head (up to the blank line) and body.
struct Message {
    head: String,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.head.clone().into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// Reads one HTTP/1.1 message; `None` at a clean end of the connection.
fn read_message(
    r: &mut BufReader<TcpStream>,
    response_to_head: bool,
) -> io::Result<Option<Message>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated head",
                ))
            };
        }
        head.push_str(&line);
        if line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut m = Message { head, body: Vec::new() };
    let status = m
        .head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    let bodiless = response_to_head || matches!(status, Some(204 | 304 | 100..=199));
    if bodiless && m.head.starts_with("HTTP/") {
        return Ok(Some(m));
    }
    if let Some(n) = m
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        m.body = vec![0; n];
        r.read_exact(&mut m.body)?;
    } else if m
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        // Kept chunked as received: re-sent verbatim.
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            m.body.extend_from_slice(size.as_bytes());
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            m.body.extend_from_slice(&chunk);
            if n == 0 {
                break;
            }
        }
    } else if m.head.starts_with("HTTP/") {
        r.read_to_end(&mut m.body)?;
    }
    Ok(Some(m))
}

/// What every connection's thread shares.
struct Shared<'a> {
    faults: &'a Faults,
    counter: &'a AtomicU64,
    stats: &'a Mutex<Stats>,
    meter: &'a Mutex<Meter>,
}

/// Bucket mode's answer to a request, if it does not reach the emulator: a
/// throttling error when its service's bucket is empty, NotFound when a
/// describe names an EC2 id not yet visible.
fn metered(shared: &Shared<'_>, service: &str, operation: &str, req: &Message) -> Option<Vec<u8>> {
    let now = Instant::now();
    let mut meter = shared.meter.lock().expect("proxy meter");
    let bucket = shared.faults.buckets.iter().find(|b| b.service == service);
    if let Some(bucket) = bucket.filter(|_| is_mutating(operation))
        && !meter.take(bucket, now)
    {
        let mut stats = shared.stats.lock().expect("proxy stats");
        *stats.throttled.entry(service.to_owned()).or_default() += 1;
        return Some(error_response(Fault::Throttle, service, req));
    }
    if service != "ec2" || !operation.starts_with("Describe") || meter.visible_at.is_empty() {
        return None;
    }
    let body = String::from_utf8_lossy(&req.body);
    let (stem, id) = named_ids(&body)
        .into_iter()
        .find(|(_, id)| meter.visible_at.get(*id).is_some_and(|at| now < *at))?;
    shared.stats.lock().expect("proxy stats").not_visible += 1;
    Some(http(
        400,
        "text/xml",
        &format!(
            "<Response><Errors><Error><Code>{}</Code><Message>The ID '{id}' does not exist</Message></Error></Errors><RequestID>proxy</RequestID></Response>",
            not_found_code(stem)
        ),
        "",
    ))
}

/// Notes the id an EC2 create answered, unknown to describes for a while.
fn created(shared: &Shared<'_>, service: &str, operation: &str, resp: &Message) {
    let delay = shared.faults.visibility_delay;
    if delay.is_zero() || service != "ec2" || !operation.starts_with("Create") {
        return;
    }
    if resp.head.split_whitespace().nth(1) != Some("200") {
        return;
    }
    if let Some(id) = created_id(&String::from_utf8_lossy(&resp.body)) {
        let mut meter = shared.meter.lock().expect("proxy meter");
        meter
            .visible_at
            .insert(id.to_owned(), Instant::now() + delay);
    }
}

fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    shared: &Shared<'_>,
    rewrite: Option<&Rewrite>,
) -> io::Result<()> {
    let Shared { faults, counter, stats, .. } = *shared;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    while let Some(req) = read_message(&mut reader, false)? {
        let (service, operation) = identify(&req);
        counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("{service} {operation}");
        // The rank of this request among its operation's.
        let rank = {
            let mut s = stats.lock().expect("proxy stats");
            let n = s
                .requests
                .entry((service.clone(), operation.clone()))
                .or_default();
            *n += 1;
            *n - 1
        };
        if !faults.latency.is_zero() {
            thread::sleep(faults.latency);
        }
        if let Some(answer) = metered(shared, &service, &operation, &req) {
            client.write_all(&answer)?;
            continue;
        }
        let roll = splitmix(faults.seed ^ splitmix(hash(&name)) ^ rank);
        let ruled = faults
            .rules
            .iter()
            .find(|r| r.operation == name && (r.skip..r.skip + r.count).contains(&rank))
            .map(|r| r.fault);
        let fault = ruled.or_else(|| {
            (!faults.kinds.is_empty() && (roll % 1_000_000) as f64 / 1e6 < faults.fraction)
                .then(|| faults.kinds[(roll >> 32) as usize % faults.kinds.len()])
        });
        if let Some(fault) = fault {
            *stats
                .lock()
                .expect("proxy stats")
                .faults
                .entry(fault)
                .or_default() += 1;
        }
        if let Some(fault) = fault.filter(|f| !f.after_forwarding()) {
            if fault == Fault::Reset {
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
            client.write_all(&error_response(fault, &service, &req))?;
            continue;
        }
        let mut up = TcpStream::connect(upstream)?;
        up.write_all(&close_after(&req).bytes())?;
        let mut up_reader = BufReader::new(up.try_clone()?);
        let is_head = req.head.starts_with("HEAD ");
        let Some(resp) = read_message(&mut up_reader, is_head)? else {
            return Ok(());
        };
        // The emulator has done the work; its answer is lost.
        match fault {
            Some(Fault::ResetAfterForwarding) => {
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
            Some(f @ Fault::InternalErrorAfterForwarding) => {
                client.write_all(&error_response(f, &service, &req))?;
            }
            _ => {
                created(shared, &service, &operation, &resp);
                let scripted = rewrite.and_then(|r| {
                    r(
                        &operation,
                        &String::from_utf8_lossy(&req.body),
                        &String::from_utf8_lossy(&resp.body),
                    )
                });
                match scripted {
                    Some(body) => {
                        client.write_all(&http(200, "application/x-amz-json-1.1", &body, ""))?;
                    }
                    None => client.write_all(&resp.bytes())?,
                }
            }
        }
    }
    Ok(())
}

/// The request with `Connection: close`: one upstream connection each.
fn close_after(req: &Message) -> Message {
    let mut head: Vec<&str> = req
        .head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    head.push("Connection: close");
    Message { head: format!("{}\r\n\r\n", head.join("\r\n")), body: req.body.clone() }
}

/// FNV-1a: a stable hash of an operation's name (std's is randomised).
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The service (from the SigV4 credential scope) and the operation (from
/// `X-Amz-Target`, the query `Action`, or the method and first path part).
fn identify(req: &Message) -> (String, String) {
    let service = req
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unknown")
        .to_owned();
    if let Some(t) = req.header("x-amz-target") {
        return (service, t.rsplit('.').next().unwrap_or(t).to_owned());
    }
    let body = String::from_utf8_lossy(&req.body);
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return (service, action.to_owned());
    }
    let mut parts = req.head.split_whitespace();
    let method = parts.next().unwrap_or("?");
    let path = parts.next().unwrap_or("/");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    if service == "s3" {
        // Path style: /<bucket>[/<key>]?<sub-resource>.
        let sub = query.split(['&', '=']).next().unwrap_or("");
        return (service, format!("{method} ?{sub}"));
    }
    // REST APIs: the path with ids left out, e.g.
    // `GET /2015-02-01/mount-targets/*/security-groups`.
    let path: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .map(|seg| if is_id(seg) { "*" } else { seg })
        .collect();
    (service, format!("{method} /{}", path.join("/")))
}

/// A path segment that names one resource (`fsmt-0841bebd`, `fs-12ab`,
/// `E2QWRUHAPOMQZL`), not an API version date or a collection.
fn is_id(seg: &str) -> bool {
    let date = seg.len() == 10 && seg.bytes().filter(|b| *b == b'-').count() == 2;
    !date && seg.bytes().any(|b| b.is_ascii_digit()) || seg.contains('%')
}

/// An error answer as the service's protocol spells it.
fn error_response(fault: Fault, service: &str, req: &Message) -> Vec<u8> {
    let (status, code, message) = match fault {
        Fault::InternalError | Fault::InternalErrorAfterForwarding => {
            (500, "InternalError", "We encountered an internal error.")
        }
        Fault::Unavailable => (503, "ServiceUnavailable", "Service is unavailable."),
        Fault::Throttle => (400, "Throttling", "Rate exceeded"),
        Fault::Reset | Fault::ResetAfterForwarding => unreachable!("a reset has no answer"),
    };
    // REST-JSON services answer JSON even to a GET without a body.
    const REST_JSON: &[&str] = &["elasticfilesystem"];
    let json = req.header("x-amz-target").is_some()
        || REST_JSON.contains(&service)
        || req
            .header("content-type")
            .is_some_and(|c| c.contains("json"));
    let (content_type, body, extra) = if json {
        let code = if fault == Fault::Throttle {
            "ThrottlingException"
        } else {
            code
        };
        (
            "application/x-amz-json-1.1",
            format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
            format!("x-amzn-ErrorType: {code}\r\n"),
        )
    } else if service == "ec2" {
        // EC2 refuses with a 503, the query protocols with a 400.
        let (status, code) = if fault == Fault::Throttle {
            (503, "RequestLimitExceeded")
        } else {
            (status, code)
        };
        return http(
            status,
            "text/xml",
            &format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
            ),
            "",
        );
    } else if service == "s3" {
        let (status, code) = if fault == Fault::Throttle {
            (503, "SlowDown")
        } else {
            (status, code)
        };
        return http(
            status,
            "application/xml",
            &format!("<Error><Code>{code}</Code><Message>{message}</Message></Error>"),
            "",
        );
    } else {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
            ),
            String::new(),
        )
    };
    http(status, content_type, &body, &extra)
}

fn http(status: u16, content_type: &str, body: &str, extra: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}
