//! `kms_key`: a symmetric KMS key. Deleting schedules the deletion (AWS
//! keeps the key pending for the deletion window).

use async_trait::async_trait;
use aws_sdk_kms::types::{KeyMetadata, KeyState, Tag};

use crate::aws::ApiError;
use crate::kinds::support::tagging::{self, TagMap};
use crate::kinds::support::{
    SdkTag, bool_attr, create_tags, find_by_address, found, read_each, str_attr, sync_tags_with,
    user_tags,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct KmsKey;

static SCHEMA: Schema = Schema {
    kind: "kms_key",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
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

impl SdkTag for Tag {
    fn tag_key(&self) -> Option<&str> {
        Some(Tag::tag_key(self))
    }
    fn tag_value(&self) -> Option<&str> {
        Some(Tag::tag_value(self))
    }
    fn from_pair(key: String, value: String) -> ApiResult<Self> {
        Tag::builder()
            .tag_key(key)
            .tag_value(value)
            .build()
            .map_err(|e| ApiError::msg(format!("building a KMS tag: {e}")))
    }
}

/// A key pending deletion (or deleted) is gone for reconcile.
fn usable(m: &KeyMetadata) -> bool {
    !matches!(
        m.key_state(),
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    )
}

/// The key id of a key ARN (`arn:…:key/<id>`).
fn key_id_of(arn: &str) -> Option<&str> {
    arn.split_once(":key/").map(|(_, id)| id)
}

/// The user-visible tags of a key.
fn tags_value(tags: Option<&TagMap>) -> Value {
    user_tags(
        tags.into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

async fn read_key(cx: Ctx<'_>, id: &str) -> ApiResult<Option<Attrs>> {
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
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(m.key_id()));
    a.insert("key_id".into(), Value::str(m.key_id()));
    a.insert("arn".into(), m.arn().into());
    a.insert(
        "description".into(),
        Value::str(m.description().unwrap_or_default()),
    );
    a.insert("enable_key_rotation".into(), Value::Bool(rotation));
    Ok(Some(a))
}

async fn set_rotation(cx: Ctx<'_>, id: &str, on: bool) -> ApiResult<()> {
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

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let reads: Vec<_> = ids
            .iter()
            .map(|id| async move { Ok(read_key(cx, id).await?.map(|a| (id.clone(), a))) })
            .collect();
        let mut keys = read_each(reads).await?;
        // KMS lists tags one key per call; the tagging API takes 100 keys.
        let arns: Vec<String> = keys.values().filter_map(|a| str_attr(a, "arn")).collect();
        let tags = tagging::tags_of(cx, &arns).await?;
        for a in keys.values_mut() {
            let of = str_attr(a, "arn").and_then(|arn| tags.get(&arn));
            a.insert("tags".into(), tags_value(of));
        }
        Ok(keys)
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let tags: Vec<Tag> = create_tags(cx, address, desired)?;
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

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
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
            let kms = &cx.aws.kms;
            sync_tags_with!(
                live,
                desired,
                |set: Tag| kms.tag_resource().key_id(id).set_tags(Some(set)),
                |unset| kms.untag_resource().key_id(id).set_tag_keys(Some(unset)),
            )?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, live } = op;
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

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        // One GetResources filtered by the address's tags; a key pending
        // deletion is not found.
        let tagged = find_by_address(cx, address, |t| async move {
            tagging::arns_tagged(cx, "kms", t).await
        })
        .await?;
        let Some(id) = tagged.as_deref().and_then(key_id_of) else {
            return Ok(None);
        };
        Ok(read_key(cx, id).await?.map(|_| id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_named_by_its_arn() {
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(key_id_of(arn), Some("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert_eq!(key_id_of("arn:aws:kms:us-east-1:1:alias/x"), None);
    }
}
