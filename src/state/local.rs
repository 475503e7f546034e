//! The local state file: atomic writes (temp file, fsync, rename), the
//! previous version kept as `<file>.backup`, and an OS lock (flock) on
//! `<file>.lock` that dies with its process and names its holder.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::{FORMAT_VERSION, State};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the state {path} is locked by another reconcile: {holder}")]
    Locked { path: PathBuf, holder: String },
    #[error("cannot read the state {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("cannot write the state {path}: {reason}")]
    Unwritable { path: PathBuf, reason: String },
}

/// An open, locked state file. The lock is held until this is dropped.
#[derive(Debug)]
pub struct LocalStore {
    path: PathBuf,
    _lock: File,
}

impl LocalStore {
    /// Opens the store and takes its lock at once, or fails naming the holder
    /// (pid, host, since when, command).
    pub fn open(path: &Path) -> Result<LocalStore, StateError> {
        let unwritable = |e: std::io::Error| StateError::Unwritable {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(unwritable)?;
        }
        let lock_path = sibling(path, "lock");
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(unwritable)?;
        // SAFETY: flock on a valid, owned file descriptor.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let mut holder = String::new();
            let _ = lock.read_to_string(&mut holder);
            let holder = if holder.trim().is_empty() {
                "unknown holder".to_owned()
            } else {
                holder.trim().to_owned()
            };
            return Err(StateError::Locked {
                path: path.to_owned(),
                holder,
            });
        }
        let me = format!(
            "pid {} on host {} since {} ({})",
            std::process::id(),
            gethostname::gethostname().to_string_lossy(),
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
            redacted_command(std::env::args()),
        );
        lock.set_len(0)
            .and_then(|_| lock.rewind())
            .and_then(|_| lock.write_all(me.as_bytes()))
            .map_err(unwritable)?;
        Ok(LocalStore {
            path: path.to_owned(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored state, or `None` when there is no state file yet. A file
    /// that exists but cannot be parsed is an error, never an empty state.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        read(&self.path)
    }

    /// Writes the state atomically with its serial advanced by one; the
    /// previous file becomes `<file>.backup`.
    pub fn save(&self, state: &mut State) -> Result<(), StateError> {
        let unwritable = |e: std::io::Error| StateError::Unwritable {
            path: self.path.clone(),
            reason: e.to_string(),
        };
        state.serial += 1;
        let text = serde_json::to_string_pretty(state).map_err(|e| StateError::Unwritable {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let tmp = sibling(&self.path, "tmp");
        {
            let mut f = File::create(&tmp).map_err(unwritable)?;
            f.write_all(text.as_bytes())
                .and_then(|_| f.write_all(b"\n"))
                .map_err(unwritable)?;
            f.sync_all().map_err(unwritable)?;
        }
        if self.path.exists() {
            // A copy, not a rename: the state file exists at every instant.
            fs::copy(&self.path, sibling(&self.path, "backup")).map_err(unwritable)?;
        }
        fs::rename(&tmp, &self.path).map_err(unwritable)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// The command line for the lock's holder note, without variable values: a
/// `--var db_password=…` must not land in a file.
fn redacted_command(args: impl IntoIterator<Item = String>) -> String {
    let mut out = Vec::new();
    let mut value_next = false;
    for a in args {
        let shown = if value_next {
            redact_var(&a)
        } else if let Some(v) = a.strip_prefix("--var=") {
            format!("--var={}", redact_var(v))
        } else {
            a.clone()
        };
        value_next = a == "--var";
        out.push(shown);
    }
    out.join(" ")
}

fn redact_var(name_value: &str) -> String {
    match name_value.split_once('=') {
        Some((name, _)) => format!("{name}=***"),
        None => "***".to_owned(),
    }
}

/// Reads a state file without taking its lock (for read-only commands).
/// `None` when there is none yet; unparseable is an error naming the file.
pub fn read(path: &Path) -> Result<Option<State>, StateError> {
    let unreadable = |reason: String| StateError::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(e.to_string())),
    };
    let state: State = serde_json::from_str(&text).map_err(|e| {
        unreadable(format!(
            "{e} (the previous version, if any, is in {})",
            sibling(path, "backup").display()
        ))
    })?;
    if state.version > FORMAT_VERSION {
        return Err(unreadable(format!(
            "format version {} is newer than this reconcile understands ({FORMAT_VERSION})",
            state.version
        )));
    }
    Ok(Some(state))
}

/// `<file>.<suffix>` beside the state file.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ResourceState, Status};

    fn sample() -> State {
        let mut s = State::new("t");
        s.resources.insert(
            "vpc.main".into(),
            ResourceState {
                kind: "vpc".into(),
                id: "vpc-1".into(),
                attributes: Default::default(),
                dependencies: vec![],
                status: Status::Created,
                deletion_policy: None,
                fingerprints: Default::default(),
            },
        );
        s
    }

    #[test]
    fn save_is_atomic_bumps_the_serial_and_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/t.json");
        let store = LocalStore::open(&path).unwrap();
        assert!(store.load().unwrap().is_none());
        let mut s = sample();
        store.save(&mut s).unwrap();
        assert_eq!(s.serial, 1);
        s.resources.clear();
        store.save(&mut s).unwrap();
        let now = store.load().unwrap().unwrap();
        assert_eq!(now.serial, 2);
        assert!(now.resources.is_empty());
        let backup: State =
            serde_json::from_str(&fs::read_to_string(sibling(&path, "backup")).unwrap()).unwrap();
        assert_eq!(backup.serial, 1);
        assert_eq!(backup.resources.len(), 1);
        assert!(!sibling(&path, "tmp").exists());
    }

    #[test]
    fn a_second_open_fails_at_once_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let first = LocalStore::open(&path).unwrap();
        let err = LocalStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("locked"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        assert!(LocalStore::open(&path).is_ok());
    }

    #[test]
    fn a_corrupt_state_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        fs::write(&path, "{ not json").unwrap();
        let store = LocalStore::open(&path).unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "{ not json");
    }

    #[test]
    fn the_lock_note_never_holds_variable_values() {
        let args = [
            "reconcile",
            "apply",
            "--var",
            "db_password=hunter2",
            "--var=x=secret2",
        ];
        let note = redacted_command(args.map(str::to_owned));
        assert_eq!(note, "reconcile apply --var db_password=*** --var=x=***");
    }
}
