//! SIGINT and SIGTERM: inside a graceful section (the executor, the watch
//! loop) they ask the work to stop after the operations in flight; anywhere
//! else, and at the second signal, the process exits at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static GRACEFUL: AtomicUsize = AtomicUsize::new(0);
static NOTIFY: Notify = Notify::const_new();

/// Exit code of a process stopped by a signal before it could finish.
pub const INTERRUPTED: i32 = 130;

/// Starts listening for SIGINT and SIGTERM (once, from main).
pub fn install() {
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if GRACEFUL.load(Ordering::SeqCst) == 0 || REQUESTED.swap(true, Ordering::SeqCst) {
                // An S3 lock would outlive the process: release it first,
                // briefly.
                let release = crate::state::s3::release_held();
                let _ = tokio::time::timeout(Duration::from_secs(5), release).await;
                std::process::exit(INTERRUPTED);
            }
            NOTIFY.notify_waiters();
        }
    });
}

/// While the guard lives, a signal stops work gracefully instead of exiting.
pub struct Graceful(());

pub fn graceful() -> Graceful {
    GRACEFUL.fetch_add(1, Ordering::SeqCst);
    Graceful(())
}

impl Drop for Graceful {
    fn drop(&mut self) {
        GRACEFUL.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Completes when a stop is asked for (at once if it already was).
pub async fn wait() {
    loop {
        let notified = NOTIFY.notified();
        if requested() {
            return;
        }
        notified.await;
    }
}
