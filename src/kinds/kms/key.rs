//! `kms_key`: a symmetric KMS key. Deleting schedules the deletion (AWS
//! keeps the key pending for the deletion window).

use crate::kinds::read_each;
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_kms::types::{KeyMetadata, KeyState, Tag};

use crate::aws::ApiError;
use crate::kinds::support::{found, tag_changes};
use crate::kinds::{ADDRESS_TAG, Changes, Ctx, Kind, STACK_TAG, bool_attr, str_attr, user_tags};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct KmsKey;

static SCHEMA: Schema = Schema {
    kind: "kms_key",
    description: "A symmetric KMS encryption key.",
    fields: &[
        Field::new("description", Type::String)
            .default(Default::Str(""))
            .doc("What the key is for."),
        Field::new("enable_key_rotation", Type::Bool)
            .default(Default::Bool(false))
            .doc("Rotate the key material every year."),
        Field::new("deletion_window_in_days", Type::Int)
            .default(Default::Int(30))
            .write_only()
            .doc("Days (7 to 30) the key stays pending deletion after a destroy."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The key ARN."),
        Field::new("key_id", Type::String)
            .computed()
            .doc("The key id."),
    ],
};

fn kms_tag(k: impl Into<String>, v: impl Into<String>) -> Result<Tag, ApiError> {
    Tag::builder()
        .tag_key(k)
        .tag_value(v)
        .build()
        .map_err(|e| ApiError::msg(format!("building a KMS tag: {e}")))
}

/// A key pending deletion (or deleted) is gone for reconcile.
fn usable(m: &KeyMetadata) -> bool {
    !matches!(
        m.key_state(),
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    )
}

async fn tags_of(cx: Ctx<'_>, id: &str) -> Result<Vec<Tag>, ApiError> {
    Ok(cx
        .aws
        .kms
        .list_resource_tags()
        .key_id(id)
        .send()
        .await?
        .tags
        .unwrap_or_default())
}

/// DescribeKey, GetKeyRotationStatus and ListResourceTags of one key; None
/// when it is gone or pending deletion.
async fn read_key(cx: Ctx<'_>, id: &str) -> Result<Option<Attrs>, ApiError> {
    let Some(out) = found(
        cx.aws
            .kms
            .describe_key()
            .key_id(id)
            .send()
            .await
            .map_err(ApiError::from),
    )?
    else {
        return Ok(None);
    };
    let Some(m) = out.key_metadata.filter(usable) else {
        return Ok(None);
    };
    let rotation = cx
        .aws
        .kms
        .get_key_rotation_status()
        .key_id(id)
        .send()
        .await?
        .key_rotation_enabled;
    let tags = tags_of(cx, id).await?;
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(m.key_id()));
    a.insert("key_id".into(), Value::str(m.key_id()));
    a.insert("arn".into(), m.arn().into());
    a.insert(
        "description".into(),
        Value::str(m.description().unwrap_or_default()),
    );
    a.insert("enable_key_rotation".into(), Value::Bool(rotation));
    a.insert(
        "tags".into(),
        user_tags(tags.iter().map(|t| (t.tag_key(), t.tag_value()))),
    );
    Ok(Some(a))
}

async fn set_rotation(cx: Ctx<'_>, id: &str, on: bool) -> Result<(), ApiError> {
    if on {
        cx.aws.kms.enable_key_rotation().key_id(id).send().await?;
    } else {
        cx.aws.kms.disable_key_rotation().key_id(id).send().await?;
    }
    Ok(())
}

#[async_trait]
impl Kind for KmsKey {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn service(&self) -> &'static str {
        super::SERVICE
    }

    async fn read_many(
        &self,
        cx: Ctx<'_>,
        ids: &[String],
    ) -> Result<BTreeMap<String, Attrs>, ApiError> {
        let reads: Vec<_> = ids
            .iter()
            .map(|id| async move { Ok(read_key(cx, id).await?.map(|a| (id.clone(), a))) })
            .collect();
        read_each(reads).await
    }

    async fn create(
        &self,
        cx: Ctx<'_>,
        address: &str,
        desired: &Attrs,
    ) -> Result<String, ApiError> {
        let tags = cx
            .tags_for(address, desired)
            .into_iter()
            .map(|(k, v)| kms_tag(k, v))
            .collect::<Result<Vec<_>, _>>()?;
        let out = cx
            .aws
            .kms
            .create_key()
            .set_description(str_attr(desired, "description"))
            .set_tags(Some(tags))
            .send()
            .await?;
        let id = out
            .key_metadata()
            .map(|m| m.key_id().to_owned())
            .ok_or_else(|| ApiError::msg("CreateKey returned no key id"))?;
        crate::kinds::created(&id);
        if bool_attr(desired, "enable_key_rotation") == Some(true) {
            set_rotation(cx, &id, true).await?;
        }
        Ok(id)
    }

    async fn update(
        &self,
        cx: Ctx<'_>,
        _address: &str,
        id: &str,
        live: &Attrs,
        desired: &Attrs,
        changed: &Changes,
    ) -> Result<(), ApiError> {
        if changed.has("description") {
            cx.aws
                .kms
                .update_key_description()
                .key_id(id)
                .description(str_attr(desired, "description").unwrap_or_default())
                .send()
                .await?;
        }
        if changed.has("enable_key_rotation") {
            set_rotation(
                cx,
                id,
                bool_attr(desired, "enable_key_rotation") == Some(true),
            )
            .await?;
        }
        if changed.has("tags") {
            let (set, unset) = tag_changes(live, desired);
            if !set.is_empty() {
                let tags = set
                    .into_iter()
                    .map(|(k, v)| kms_tag(k, v))
                    .collect::<Result<Vec<_>, _>>()?;
                cx.aws
                    .kms
                    .tag_resource()
                    .key_id(id)
                    .set_tags(Some(tags))
                    .send()
                    .await?;
            }
            if !unset.is_empty() {
                cx.aws
                    .kms
                    .untag_resource()
                    .key_id(id)
                    .set_tag_keys(Some(unset))
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, cx: Ctx<'_>, id: &str, live: &Attrs) -> Result<(), ApiError> {
        let days = live
            .get("deletion_window_in_days")
            .and_then(Value::as_int)
            .and_then(|d| i32::try_from(d).ok());
        let r = cx
            .aws
            .kms
            .schedule_key_deletion()
            .key_id(id)
            .set_pending_window_in_days(days)
            .send()
            .await
            .map_err(ApiError::from);
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            // Already pending deletion: a retried destroy.
            Err(e) if e.code.as_deref() == Some("KMSInvalidStateException") => {
                match read_key(cx, id).await? {
                    None => Ok(()),
                    Some(_) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn find_by_address(
        &self,
        cx: Ctx<'_>,
        address: &str,
    ) -> Result<Option<String>, ApiError> {
        let keys = cx
            .aws
            .kms
            .list_keys()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await?;
        for k in keys {
            let Some(id) = k.key_id() else { continue };
            let Some(tags) = found(tags_of(cx, id).await)? else {
                continue;
            };
            let has = |key: &str, v: &str| {
                tags.iter()
                    .any(|t| t.tag_key() == key && t.tag_value() == v)
            };
            if has(STACK_TAG, cx.stack)
                && has(ADDRESS_TAG, address)
                && read_key(cx, id).await?.is_some()
            {
                return Ok(Some(id.to_owned()));
            }
        }
        Ok(None)
    }
}
