//! The local state file: atomic writes (temp file, fsync, rename), the
//! previous version kept as `<file>.backup`, and an OS lock (flock) on
//! `<file>.lock` that dies with its process and names its holder.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{LockInfo, State, StateError, Store};

/// An open, locked state file. The lock is held until this is dropped.
#[derive(Debug)]
pub struct LocalStore {
    path: PathBuf,
    _lock: File,
}

fn location(path: &Path) -> String {
    path.display().to_string()
}

/// Takes the OS lock of an open file without waiting.
fn try_flock(f: &File) -> bool {
    // SAFETY: flock on a valid, owned file descriptor.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

impl LocalStore {
    /// Opens the store and takes its lock at once, or fails naming the holder
    /// (pid, host, since when, command, lock id).
    pub fn open(path: &Path) -> Result<LocalStore, StateError> {
        let unwritable = |e: std::io::Error| StateError::Unwritable {
            location: location(path),
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
        if !try_flock(&lock) {
            let mut holder = String::new();
            let _ = lock.read_to_string(&mut holder);
            return Err(LockInfo::locked_error(location(path), &holder));
        }
        let me = serde_json::to_string(&LockInfo::mine()).unwrap_or_default();
        lock.set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| lock.write_all(me.as_bytes()))
            .map_err(unwritable)?;
        Ok(LocalStore { path: path.to_owned(), _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the state atomically with its serial advanced by one; the
    /// previous file becomes `<file>.backup`.
    pub fn save_now(&self, state: &mut State) -> Result<(), StateError> {
        let unwritable = |e: std::io::Error| StateError::Unwritable {
            location: location(&self.path),
            reason: e.to_string(),
        };
        state.serial += 1;
        let text = serde_json::to_string_pretty(state).map_err(|e| StateError::Unwritable {
            location: location(&self.path),
            reason: e.to_string(),
        })?;
        let tmp = sibling(&self.path, "tmp");
        {
            let mut f = File::create(&tmp).map_err(unwritable)?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.write_all(b"\n"))
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

#[async_trait]
impl Store for LocalStore {
    fn location(&self) -> String {
        location(&self.path)
    }

    async fn load(&self) -> Result<Option<State>, StateError> {
        read(&self.path)
    }

    async fn save(&self, state: &mut State) -> Result<(), StateError> {
        self.save_now(state)
    }

    /// The flock goes with the file handle when the store is dropped.
    async fn unlock(&self) -> Result<(), StateError> {
        Ok(())
    }
}

/// Breaks the lock of a local state whose holder is stuck: removes the lock
/// file if it names `lock_id`, so that the next run locks a new one.
pub fn force_unlock(path: &Path, lock_id: &str) -> Result<LockInfo, StateError> {
    let fail = |reason: String| StateError::Unlock { location: location(path), reason };
    let lock_path = sibling(path, "lock");
    let text = match fs::read_to_string(&lock_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail("it is not locked".into()));
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    let holder = LockInfo::parse(&text).map_err(|h| fail(format!("unreadable lock: {h}")))?;
    if holder.id != lock_id {
        return Err(fail(format!(
            "lock id {lock_id} does not match the current lock ({holder})"
        )));
    }
    if let Ok(f) = File::open(&lock_path)
        && try_flock(&f)
    {
        return Err(fail(format!(
            "it is not locked (the last holder was {holder})"
        )));
    }
    fs::remove_file(&lock_path).map_err(|e| fail(e.to_string()))?;
    Ok(holder)
}

/// Reads a state file without taking its lock (for read-only commands).
/// `None` when there is none yet; unparseable is an error naming the file.
pub fn read(path: &Path) -> Result<Option<State>, StateError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StateError::Unreadable { location: location(path), reason: e.to_string() });
        }
    };
    let hint = format!(
        " (the previous version, if any, is in {})",
        sibling(path, "backup").display()
    );
    super::parse(&location(path), &text, &hint).map(Some)
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
                region: None,
            },
        );
        s
    }

    #[test]
    fn save_is_atomic_bumps_the_serial_and_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/t.json");
        let store = LocalStore::open(&path).unwrap();
        assert!(read(&path).unwrap().is_none());
        let mut s = sample();
        store.save_now(&mut s).unwrap();
        assert_eq!(s.serial, 1);
        s.resources.clear();
        store.save_now(&mut s).unwrap();
        let now = read(&path).unwrap().unwrap();
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
    fn force_unlock_breaks_a_held_lock_only_with_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let _stuck = LocalStore::open(&path).unwrap();
        let Err(StateError::Locked { lock_id, .. }) = LocalStore::open(&path) else {
            panic!("expected a lock error");
        };
        let err = force_unlock(&path, "wrong").unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
        let holder = force_unlock(&path, &lock_id).unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert!(LocalStore::open(&path).is_ok());
    }

    #[test]
    fn a_corrupt_state_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        fs::write(&path, "{ not json").unwrap();
        let _store = LocalStore::open(&path).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "{ not json");
    }
}
