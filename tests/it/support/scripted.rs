//! A scripted stand-in for AWS: answers each operation with the next of its
//! scripted responses (the last one repeats), so that the real SDK clients
//! see the pending states the emulator skips. Records the operations called.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// reconcile's clients (`Clients::from_config`, interceptors included)
/// talking to `s` with test credentials and the given retries.
pub async fn clients(
    s: &Scripted,
    retry: aws_config::retry::RetryConfig,
) -> reconcile::aws::Clients {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&s.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "scripted",
        ))
        .retry_config(retry)
        .load()
        .await;
    reconcile::aws::Clients::from_config(&config)
}

/// One HTTP answer: status and body (XML for the query protocols).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

pub fn ok(body: impl Into<String>) -> Answer {
    Answer { status: 200, body: body.into() }
}

type Script = BTreeMap<String, VecDeque<Answer>>;

pub struct Scripted {
    pub endpoint: String,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    /// Serves `script` (operation → answers in turn) on a free loopback
    /// port until the process ends.
    pub fn start(script: Vec<(&str, Vec<Answer>)>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        let script: Arc<Mutex<Script>> = Arc::new(Mutex::new(
            script
                .into_iter()
                .map(|(op, answers)| (op.to_owned(), answers.into()))
                .collect(),
        ));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&calls);
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (script, calls) = (Arc::clone(&script), Arc::clone(&recorded));
                thread::spawn(move || serve(conn, &script, &calls));
            }
        });
        Scripted { endpoint, calls }
    }

    /// The operations called so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    /// How many times `operation` was called.
    pub fn count(&self, operation: &str) -> usize {
        self.calls().iter().filter(|c| *c == operation).count()
    }
}

/// Query-protocol requests only (EC2, RDS, Auto Scaling…): the operation is
/// the body's `Action`.
fn serve(conn: TcpStream, script: &Mutex<Script>, calls: &Mutex<Vec<String>>) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut conn = conn;
    loop {
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body);
        let operation = body
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .unwrap_or("unknown")
            .to_owned();
        calls.lock().expect("calls").push(operation.clone());
        let answer = {
            let mut script = script.lock().expect("script");
            match script.get_mut(&operation) {
                Some(q) if q.len() > 1 => q.pop_front(),
                Some(q) => q.front().cloned(),
                None => None,
            }
        }
        .unwrap_or_else(|| Answer {
            status: 400,
            body: format!(
                "<Response><Errors><Error><Code>NotScripted</Code><Message>{operation} is not scripted</Message></Error></Errors><RequestID>1</RequestID></Response>"
            ),
        });
        let head = format!(
            "HTTP/1.1 {} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
            answer.status,
            answer.body.len()
        );
        if conn.write_all(head.as_bytes()).is_err()
            || conn.write_all(answer.body.as_bytes()).is_err()
        {
            return;
        }
    }
}
