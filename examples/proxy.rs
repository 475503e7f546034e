//! The tests' fault proxy (tests/it/support/proxy.rs) as a program, for
//! scripts/bench.sh: adds a fixed latency to every request and counts
//! requests per service and operation; in bucket mode, meters mutating
//! calls as AWS does.
//!
//!   cargo run --release --example proxy -- http://127.0.0.1:5000 50 \
//!       [--bucket ec2=50/20 ...] [--visibility-ms 1000]
//!
//! Forwards to the upstream (the emulator) with that many milliseconds
//! added per request; `--bucket SERVICE=BURST/REFILL_PER_S` gives a
//! service's mutating calls a token bucket (an empty one answers the
//! service's throttling error), `--visibility-ms` keeps new EC2 ids from
//! describes that long. Prints `PROXY_URL=…` and `CONTROL_URL=…`, then runs
//! until killed. Any request to the control URL answers the counts since
//! the last one as JSON (`{"total": N, "requests": [{service, operation,
//! count}], "throttled": {service: N}, "not_visible": N}`) and starts
//! counting afresh.

#[allow(dead_code)]
#[path = "../tests/it/support/proxy.rs"]
mod proxy;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use proxy::{Bucket, Faults, Proxy};

const USAGE: &str = "usage: proxy UPSTREAM_URL LATENCY_MS [--bucket SERVICE=BURST/REFILL_PER_S]... [--visibility-ms MS]";

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(upstream), Some(latency)) = (args.next(), args.next()) else {
        eprintln!("{USAGE}");
        std::process::exit(1);
    };
    let latency: u64 = latency.parse().map_err(std::io::Error::other)?;
    let mut faults = Faults { latency: Duration::from_millis(latency), ..Faults::none() };
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--bucket" => faults
                .buckets
                .push(Bucket::parse(&value).map_err(std::io::Error::other)?),
            "--visibility-ms" => {
                let ms: u64 = value.parse().map_err(std::io::Error::other)?;
                faults.visibility_delay = Duration::from_millis(ms);
            }
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(1);
            }
        }
    }
    let proxy = Proxy::start(&upstream, faults);
    let control = TcpListener::bind("127.0.0.1:0")?;
    println!("PROXY_URL={}", proxy.endpoint);
    println!("CONTROL_URL=http://{}", control.local_addr()?);
    std::io::stdout().flush()?;
    for conn in control.incoming() {
        let mut conn = conn?;
        // The request itself does not matter: read its head and answer.
        let mut reader = BufReader::new(conn.try_clone()?);
        let mut line = String::new();
        while reader.read_line(&mut line)? > 2 {
            line.clear();
        }
        let stats = proxy.stats();
        proxy.reset_stats();
        let requests: Vec<serde_json::Value> = stats
            .requests
            .iter()
            .map(|((service, operation), count)| {
                serde_json::json!({ "service": service, "operation": operation, "count": count })
            })
            .collect();
        let body = serde_json::json!({
            "total": stats.total(),
            "requests": requests,
            "throttled": stats.throttled,
            "not_visible": stats.not_visible,
        })
        .to_string();
        write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
    }
    Ok(())
}
