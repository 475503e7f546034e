//! The state in S3 (`[backend] type = "s3"`): a lock object `<key>.lock`
//! created with `If-None-Match: *` (exactly one writer wins), state writes
//! with `If-Match` on the ETag last read (two writers can never overwrite
//! each other). Versioning on the bucket keeps every serial.

use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use super::{LockInfo, State, StateError, Store};
use crate::aws::ApiError;
use crate::config::Backend;

/// Locks taken by this process and not released yet: main releases them
/// whatever way the command ended.
static HELD: Mutex<Vec<(Client, String, String, String)>> = Mutex::new(Vec::new());

pub struct S3Store {
    client: Client,
    bucket: String,
    key: String,
    lock: LockInfo,
    /// The ETag of the version last read or written; `None` when there is
    /// no state object yet.
    etag: Mutex<Option<String>>,
}

fn lock_key(key: &str) -> String {
    format!("{key}.lock")
}

fn location(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

fn is_precondition_failed(e: &ApiError) -> bool {
    e.code.as_deref() == Some("PreconditionFailed")
}

impl S3Store {
    /// Takes the lock (a conditional create of the lock object) or fails
    /// naming the holder.
    pub async fn open(client: Client, backend: &Backend) -> Result<S3Store, StateError> {
        let lock = LockInfo::mine();
        let at = location(&backend.bucket, &backend.key);
        let body = serde_json::to_vec(&lock).unwrap_or_default();
        let put = client
            .put_object()
            .bucket(&backend.bucket)
            .key(lock_key(&backend.key))
            .if_none_match("*")
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(ApiError::from);
        match put {
            Ok(_) => {}
            Err(e) if is_precondition_failed(&e) => {
                let holder = read_object(&client, &backend.bucket, &lock_key(&backend.key))
                    .await
                    .ok()
                    .flatten()
                    .map(|(text, _)| text)
                    .unwrap_or_default();
                return Err(LockInfo::locked_error(at, &holder));
            }
            Err(e) => {
                return Err(StateError::Unwritable {
                    location: at,
                    reason: format!("taking the lock: {e}"),
                });
            }
        }
        if let Ok(mut held) = HELD.lock() {
            held.push((
                client.clone(),
                backend.bucket.clone(),
                lock_key(&backend.key),
                lock.id.clone(),
            ));
        }
        Ok(S3Store {
            client,
            bucket: backend.bucket.clone(),
            key: backend.key.clone(),
            lock,
            etag: Mutex::new(None),
        })
    }

    fn remember(&self, etag: Option<String>) {
        if let Ok(mut e) = self.etag.lock() {
            *e = etag;
        }
    }
}

/// An object's text and ETag; `None` when it does not exist.
async fn read_object(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(String, Option<String>)>, ApiError> {
    let out = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) => {
            let e = ApiError::from(e);
            return if e.is_not_found() || e.code.as_deref() == Some("NoSuchKey") {
                Ok(None)
            } else {
                Err(e)
            };
        }
    };
    let etag = out.e_tag().map(str::to_owned);
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| ApiError::msg(format!("reading s3://{bucket}/{key}: {e}")))?
        .into_bytes();
    Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), etag)))
}

/// Deletes a lock object if it still holds `lock_id`.
async fn delete_lock(
    client: &Client,
    bucket: &str,
    key: &str,
    lock_id: &str,
) -> Result<Option<LockInfo>, String> {
    let Some((text, _)) = read_object(client, bucket, key)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err("it is not locked".into());
    };
    let holder = LockInfo::parse(&text).map_err(|h| format!("unreadable lock: {h}"))?;
    if holder.id != lock_id {
        return Err(format!(
            "lock id {lock_id} does not match the current lock ({holder})"
        ));
    }
    client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| ApiError::from(e).to_string())?;
    Ok(Some(holder))
}

/// Releases every lock this process still holds (called once the command
/// ended, however it ended).
pub async fn release_held() {
    let held = HELD.lock().map(|mut h| std::mem::take(&mut *h));
    for (client, bucket, key, id) in held.unwrap_or_default() {
        let _ = delete_lock(&client, &bucket, &key, &id).await;
    }
}

/// Breaks the lock of an S3 state: deletes the lock object if it names
/// `lock_id`.
pub async fn force_unlock(
    client: &Client,
    backend: &Backend,
    lock_id: &str,
) -> Result<LockInfo, StateError> {
    match delete_lock(client, &backend.bucket, &lock_key(&backend.key), lock_id).await {
        Ok(Some(holder)) => Ok(holder),
        Ok(None) => Err(StateError::Unlock {
            location: location(&backend.bucket, &backend.key),
            reason: "it is not locked".into(),
        }),
        Err(reason) => {
            Err(StateError::Unlock { location: location(&backend.bucket, &backend.key), reason })
        }
    }
}

/// Reads an S3 state without taking its lock (for read-only commands).
pub async fn read(client: &Client, backend: &Backend) -> Result<Option<State>, StateError> {
    let at = location(&backend.bucket, &backend.key);
    match read_object(client, &backend.bucket, &backend.key).await {
        Ok(None) => Ok(None),
        Ok(Some((text, _))) => super::parse(&at, &text, "").map(Some),
        Err(e) => Err(StateError::Unreadable { location: at, reason: e.to_string() }),
    }
}

#[async_trait]
impl Store for S3Store {
    fn location(&self) -> String {
        location(&self.bucket, &self.key)
    }

    async fn load(&self) -> Result<Option<State>, StateError> {
        let at = self.location();
        match read_object(&self.client, &self.bucket, &self.key).await {
            Ok(None) => {
                self.remember(None);
                Ok(None)
            }
            Ok(Some((text, etag))) => {
                let state = super::parse(&at, &text, "")?;
                self.remember(etag);
                Ok(Some(state))
            }
            Err(e) => Err(StateError::Unreadable { location: at, reason: e.to_string() }),
        }
    }

    async fn save(&self, state: &mut State) -> Result<(), StateError> {
        let at = self.location();
        state.serial += 1;
        let text = serde_json::to_string_pretty(state)
            .map_err(|e| StateError::Unwritable { location: at.clone(), reason: e.to_string() })?;
        let etag = self.etag.lock().ok().and_then(|e| e.clone());
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .body(ByteStream::from(text.into_bytes()));
        // Only over the version read; the first write only if none exists.
        let put = match &etag {
            Some(e) => put.if_match(e),
            None => put.if_none_match("*"),
        };
        match put.send().await.map_err(ApiError::from) {
            Ok(out) => {
                self.remember(out.e_tag().map(str::to_owned));
                Ok(())
            }
            Err(e) => {
                state.serial -= 1;
                Err(StateError::Unwritable {
                    location: at,
                    reason: if is_precondition_failed(&e) {
                        "someone else wrote it since it was read (its ETag changed); nothing was overwritten".into()
                    } else {
                        e.to_string()
                    },
                })
            }
        }
    }

    async fn unlock(&self) -> Result<(), StateError> {
        let key = lock_key(&self.key);
        if let Ok(mut held) = HELD.lock() {
            held.retain(|(_, _, _, id)| *id != self.lock.id);
        }
        delete_lock(&self.client, &self.bucket, &key, &self.lock.id)
            .await
            .map(|_| ())
            .map_err(|reason| StateError::Unlock { location: self.location(), reason })
    }
}
