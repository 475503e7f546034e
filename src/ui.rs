//! The one writer of human output: plans, progress, outputs, errors.
//! Progress goes to stdout line by line, so it reads the same on a terminal,
//! in a pipe and in a cron mail; on a terminal a live line below them names
//! what is in flight.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::plan::render::{self, SENSITIVE, Style};
use crate::plan::{Action, Plan};
use crate::value::Value;

#[derive(Debug, Clone)]
pub struct Ui {
    pub style: Style,
    /// Human output on stderr, leaving stdout to machine output (`watch`).
    pub to_stderr: bool,
    /// Put before every human line, e.g. `[web-prod] `, when several
    /// stacks write at once (`watch --stacks`).
    pub prefix: Option<String>,
    /// The live summary of operations in flight, on a terminal only.
    live: Option<Arc<Live>>,
}

struct Live {
    bar: ProgressBar,
    /// Address → (present participle, started).
    in_flight: Mutex<BTreeMap<String, (&'static str, Instant)>>,
    /// Address → the latest progress of an operation in flight (an ECS
    /// deployment), redrawn in place.
    detail: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live")
    }
}

impl Live {
    fn new() -> Live {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Live {
            bar,
            in_flight: Mutex::new(BTreeMap::new()),
            detail: Mutex::new(BTreeMap::new()),
        }
    }

    fn update(&self, e: &Event) {
        let Ok(mut detail) = self.detail.lock() else {
            return;
        };
        match e {
            Event::Progress { address, message } => {
                detail.insert((*address).to_owned(), (*message).to_owned());
            }
            Event::Done { address, .. } | Event::Failed { address, .. } => {
                detail.remove(*address);
            }
            _ => {}
        }
        let Ok(mut m) = self.in_flight.lock() else {
            return;
        };
        match e {
            Event::Started { address, action, deleting } => {
                let v = verb(*action, *deleting).2;
                m.insert((*address).to_owned(), (v, Instant::now()));
                if m.len() == 1 {
                    self.bar.enable_steady_tick(Duration::from_millis(120));
                }
            }
            Event::Done { address, .. } | Event::Failed { address, .. } => {
                m.remove(*address);
            }
            _ => {}
        }
        if m.is_empty() {
            self.bar.disable_steady_tick();
            self.bar.set_message("");
            return;
        }
        let names: Vec<String> = m
            .iter()
            .take(4)
            .map(|(a, (v, since))| format!("{a} ({v} {}s)", since.elapsed().as_secs()))
            .collect();
        let more = m.len().saturating_sub(4);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let details: String = detail
            .iter()
            .map(|(a, d)| format!("\n  {a}: {d}"))
            .collect();
        self.bar.set_message(format!(
            "{} in flight: {}{more}{details}",
            m.len(),
            names.join(", ")
        ));
    }
}

/// What the executor reports as it goes.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    Started {
        address: &'a str,
        action: Action,
        deleting: bool,
    },
    Still {
        address: &'a str,
        action: Action,
        deleting: bool,
        elapsed: Duration,
    },
    Done {
        address: &'a str,
        action: Action,
        deleting: bool,
        elapsed: Duration,
        id: Option<&'a str>,
    },
    Failed {
        address: &'a str,
        error: &'a str,
    },
    Skipped {
        address: &'a str,
        because: &'a str,
    },
    /// Where a long operation stands (an ECS deployment), when it changes.
    Progress {
        address: &'a str,
        message: &'a str,
    },
    Interrupted,
}

/// (starting, finished, still) words of an operation.
fn verb(action: Action, deleting: bool) -> (&'static str, &'static str, &'static str) {
    match (action, deleting) {
        (_, true) => ("Destroying", "Destruction", "destroying"),
        (Action::Update, _) => ("Modifying", "Modifications", "modifying"),
        _ => ("Creating", "Creation", "creating"),
    }
}

impl Ui {
    /// `live`: draw the in-flight summary (stdout is a terminal and
    /// colours are wanted).
    pub fn new(color: bool, live: bool) -> Ui {
        Ui {
            style: Style { color },
            live: live.then(|| Arc::new(Live::new())),
            to_stderr: false,
            prefix: None,
        }
    }

    /// `s` with the prefix before each of its lines.
    fn prefixed<'s>(&self, s: &'s str) -> std::borrow::Cow<'s, str> {
        match &self.prefix {
            None => s.into(),
            Some(p) => s
                .split_inclusive('\n')
                .map(|line| match line {
                    "\n" => format!("{}\n", p.trim_end()),
                    _ => format!("{p}{line}"),
                })
                .collect::<String>()
                .into(),
        }
    }

    /// One machine-readable line on stdout (`watch`'s cycle reports),
    /// written whole: lines of stacks watched at once never interleave.
    pub fn record(&self, line: &serde_json::Value) {
        write_stdout(&format!("{line}\n"));
    }

    fn out(&self, s: &str) {
        let s = &*self.prefixed(s);
        if self.to_stderr {
            let _ = std::io::stderr().lock().write_all(s.as_bytes());
            return;
        }
        if let Some(live) = &self.live
            && !live.bar.is_finished()
        {
            // Printed above the live line, which is redrawn below.
            live.bar.suspend(|| write_stdout(s));
            return;
        }
        write_stdout(s);
    }

    /// Removes the live line once apply or destroy is over.
    pub fn finish_progress(&self) {
        if let Some(live) = &self.live {
            live.bar.finish_and_clear();
        }
    }

    pub fn line(&self, s: &str) {
        self.out(&format!("{s}\n"));
    }

    pub fn plan(&self, plan: &Plan) {
        self.out(&render::text(plan, self.style));
    }

    /// The plan as Markdown for a pull-request comment (never coloured).
    pub fn plan_markdown(&self, plan: &Plan) {
        self.out(&crate::plan::markdown::markdown(
            plan,
            crate::plan::markdown::COMMENT_LIMIT,
        ));
    }

    pub fn event(&self, e: Event) {
        let st = self.style;
        // The live line is drawn on stdout, which `watch` keeps for its
        // JSON lines.
        if let Some(live) = self.live.as_ref().filter(|_| !self.to_stderr) {
            live.update(&e);
            // Redrawn in place on a terminal; a line per change otherwise.
            if matches!(e, Event::Progress { .. }) {
                return;
            }
        }
        let line = match e {
            Event::Started { address, action, deleting } => {
                format!("{}: {}...", st.bold(address), verb(action, deleting).0)
            }
            Event::Still { address, action, deleting, elapsed } => {
                let v = verb(action, deleting).2;
                format!(
                    "{}: Still {v}... [{}s elapsed]",
                    st.bold(address),
                    elapsed.as_secs()
                )
            }
            Event::Done { address, action, deleting, elapsed, id } => {
                let id = id.map(|i| format!(" [id={i}]")).unwrap_or_default();
                format!(
                    "{}: {} complete after {}s{id}",
                    st.bold(address),
                    verb(action, deleting).1,
                    elapsed.as_secs()
                )
            }
            Event::Failed { address, error } => {
                format!("{}: {} {error}", st.bold(address), st.red("Error:"))
            }
            Event::Skipped { address, because } => {
                format!("{}: skipped, because {because} failed", st.bold(address))
            }
            Event::Progress { address, message } => format!("{}: {message}", st.bold(address)),
            Event::Interrupted => {
                "Interrupt received: waiting for operations in flight, then saving the state."
                    .into()
            }
        };
        self.line(&line);
    }

    pub fn outputs(&self, outputs: &BTreeMap<String, Value>, sensitive: &[String]) {
        if outputs.is_empty() {
            return;
        }
        self.line("\nOutputs:\n");
        for (k, v) in outputs {
            let shown = if sensitive.contains(k) {
                SENSITIVE.to_owned()
            } else {
                v.to_string()
            };
            self.line(&format!("{k} = {shown}"));
        }
    }

    /// A note that is not the command's result (stderr, so that `--json`
    /// output stays pure).
    pub fn note(&self, message: &str) {
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "{}",
            self.prefixed(&format!("{} {message}\n", self.style.bold("Note:")))
        );
    }

    /// A warning about the desired state (stderr, one line).
    pub fn warning(&self, message: &str) {
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "{}",
            self.prefixed(&format!("{} {message}\n", self.style.yellow("Warning:")))
        );
    }

    pub fn error(&self, message: &str) {
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "{}",
            self.prefixed(&format!("{} {message}\n", self.style.red("Error:")))
        );
    }
}

/// A command's whole result on stdout (JSON, a graph, a page), written as
/// it is; a reader that stops early (`| head`) is no error.
pub fn document(bytes: &[u8]) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    match o.write_all(bytes).and_then(|()| o.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(()),
    }
}

/// A question before reading the answer: on stdout (an approval, where
/// Terraform asks it) or stderr (a password, when stdout is the result).
pub fn prompt(question: &str, on_stderr: bool) -> std::io::Result<()> {
    if on_stderr {
        let mut e = std::io::stderr().lock();
        e.write_all(question.as_bytes()).and_then(|()| e.flush())
    } else {
        let mut o = std::io::stdout().lock();
        o.write_all(question.as_bytes()).and_then(|()| o.flush())
    }
}

/// Diagnostics beside the result (`--stats`' table), on stderr.
pub fn diagnostics(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn write_stdout(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.flush();
}
