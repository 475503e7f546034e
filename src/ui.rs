//! The one writer of human output: plans, progress, outputs, errors.
//! Progress goes to stdout line by line, so it reads the same on a terminal,
//! in a pipe and in a cron mail.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use crate::plan::render::{self, SENSITIVE, Style};
use crate::plan::{Action, Plan};
use crate::value::Value;

#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub style: Style,
    /// Human output on stderr, leaving stdout to machine output (`watch`).
    pub to_stderr: bool,
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
    Interrupted,
}

fn verb(action: Action, deleting: bool) -> (&'static str, &'static str) {
    match (action, deleting) {
        (_, true) => ("Destroying", "Destruction"),
        (Action::Update, _) => ("Modifying", "Modifications"),
        _ => ("Creating", "Creation"),
    }
}

impl Ui {
    pub fn new(color: bool) -> Ui {
        Ui {
            style: Style { color },
            to_stderr: false,
        }
    }

    fn out(&self, s: &str) {
        if self.to_stderr {
            let _ = std::io::stderr().lock().write_all(s.as_bytes());
            return;
        }
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(s.as_bytes());
        let _ = o.flush();
    }

    pub fn line(&self, s: &str) {
        self.out(&format!("{s}\n"));
    }

    pub fn plan(&self, plan: &Plan) {
        self.out(&render::text(plan, self.style));
    }

    pub fn event(&self, e: Event) {
        let st = self.style;
        let line = match e {
            Event::Started {
                address,
                action,
                deleting,
            } => {
                format!("{}: {}...", st.bold(address), verb(action, deleting).0)
            }
            Event::Still {
                address,
                deleting,
                elapsed,
            } => {
                let v = if deleting { "destroying" } else { "creating" };
                format!(
                    "{}: Still {v}... [{}s elapsed]",
                    st.bold(address),
                    elapsed.as_secs()
                )
            }
            Event::Done {
                address,
                action,
                deleting,
                elapsed,
                id,
            } => {
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
        let _ = writeln!(e, "{} {message}", self.style.bold("Note:"));
    }

    pub fn error(&self, message: &str) {
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "{} {message}", self.style.red("Error:"));
    }
}
