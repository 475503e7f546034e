//! Keyed fingerprints of write-only values (a database password): what the
//! state records instead of the value, so that a changed value still plans
//! an update while the clear text is never written anywhere.
//!
//! HMAC-SHA256 with a secret key rather than a plain hash: a plain hash of a
//! short password is open to a dictionary attack by anyone who can read the
//! state. The key comes from `RECONCILE_FINGERPRINT_KEY`, otherwise from
//! `<state dir>/.reconcile-key` (created once, mode 0600). Hosts that share a
//! state must share the key, or every write-only value shows as changed.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hmac::{KeyInit, Mac};

use crate::schema::Field;
use crate::value::Value;

pub const KEY_ENV: &str = "RECONCILE_FINGERPRINT_KEY";
pub const KEY_FILE: &str = ".reconcile-key";
const PREFIX: &str = "hmac-sha256:";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

#[derive(Clone)]
pub struct Fingerprinter {
    key: Vec<u8>,
}

impl std::fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprinter(<key>)")
    }
}

impl Fingerprinter {
    pub fn with_key(key: impl Into<Vec<u8>>) -> Fingerprinter {
        Fingerprinter { key: key.into() }
    }

    /// The key for the state at `state_path`: the environment's, else the
    /// key file beside the state, created when missing.
    pub fn for_state(state_path: &Path) -> Result<Fingerprinter, String> {
        if let Some(k) = std::env::var_os(KEY_ENV).filter(|k| !k.is_empty()) {
            return Ok(Fingerprinter::with_key(k.into_encoded_bytes()));
        }
        let path = key_path(state_path);
        match fs::read(&path) {
            Ok(k) if !k.is_empty() => return Ok(Fingerprinter::with_key(k)),
            Ok(_) => return Err(format!("the fingerprint key {} is empty", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        }
        let mut raw = [0u8; 32];
        getrandom::getrandom(&mut raw).map_err(|e| format!("no random source: {e}"))?;
        let key = hex::encode(raw);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        // create_new: two processes racing both end up with the winner's key.
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match created {
            Ok(mut f) => {
                f.write_all(key.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
                Ok(Fingerprinter::with_key(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let k = fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
                Ok(Fingerprinter::with_key(k))
            }
            Err(e) => Err(format!("creating {}: {e}", path.display())),
        }
    }

    /// `hmac-sha256:<hex>` of the value's canonical JSON text.
    pub fn of(&self, v: &Value) -> String {
        // Any key length is valid for HMAC.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(v.to_json().to_string().as_bytes());
        format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
    }
}

impl Fingerprinter {
    /// What the state records of a write-only value: its keyed fingerprint
    /// when sensitive, else the value itself (JSON text), which plans show.
    pub fn record(&self, f: &Field, v: &Value) -> String {
        if f.sensitive {
            self.of(v)
        } else {
            v.to_json().to_string()
        }
    }
}

/// How a plan shows a recorded write-only value.
pub fn shown(f: &Field, record: &str) -> Value {
    if f.sensitive {
        return Value::str(record);
    }
    serde_json::from_str(record).map_or_else(|_| Value::str(record), |j| Value::from_json(&j))
}

/// `<state dir>/.reconcile-key`.
pub fn key_path(state_path: &Path) -> PathBuf {
    state_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(KEY_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn fingerprints_depend_on_key_and_value_and_hide_the_value() {
        let a = Fingerprinter::with_key("k1");
        let fp = a.of(&Value::str("hunter2hunter2"));
        assert!(fp.starts_with("hmac-sha256:"), "{fp}");
        assert!(!fp.contains("hunter2"));
        assert_eq!(fp, a.of(&Value::str("hunter2hunter2")));
        assert_ne!(fp, a.of(&Value::str("hunter3hunter3")));
        assert_ne!(
            fp,
            Fingerprinter::with_key("k2").of(&Value::str("hunter2hunter2"))
        );
    }

    #[test]
    fn the_key_file_is_created_once_private_and_reused() {
        // Only when the environment does not set a key (CI may).
        if std::env::var_os(KEY_ENV).is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/t.json");
        let first = Fingerprinter::for_state(&state).unwrap();
        let path = key_path(&state);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = Fingerprinter::for_state(&state).unwrap();
        assert_eq!(first.of(&Value::Int(1)), again.of(&Value::Int(1)));
    }
}
