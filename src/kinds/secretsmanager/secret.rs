//! `secretsmanager_secret`: a Secrets Manager secret and its current value.
//! The value (`secret_string`) is write-only and sensitive: it is sent,
//! never read back, never shown, and the state keeps only a keyed
//! fingerprint (as a database's master password). Its id is its ARN.
//!
//! The value lives in the secret's resource rather than in a separate
//! version resource (Terraform's `aws_secretsmanager_secret_version`): a
//! secret here has one current value, set at create and replaced by
//! PutSecretValue, and one resource keeps one place for it.

use async_trait::async_trait;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};

use crate::aws::ApiError;
use crate::kinds::support::{
    AddressTags, TagApi, create_tags, find_by_address, found, read_each, str_attr, sync_tags_with,
    tag_pairs, tags_value,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct SecretsManagerSecret;

static SCHEMA: Schema = Schema {
    kind: "secretsmanager_secret",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A Secrets Manager secret and its current value (a database password, an API key), for containers' `secrets`: the task's execution role needs secretsmanager:GetSecretValue on its ARN (and kms:Decrypt on a customer-managed `kms_key_id`).",
    fields: &[
        Field::stack_name("name", crate::kinds::names::SECRET)
            .doc("The secret's name; by default `<stack>-<resource name>`."),
        Field::new("description", Type::String)
            .default(Default::Str(""))
            .doc("What the secret is for."),
        Field::new("kms_key_id", Type::String)
            .unset_is_null()
            .doc("The KMS key (id, ARN or alias) encrypting the value; AWS's `aws/secretsmanager` key when unset."),
        Field::new("secret_string", Type::String)
            .example("\"${var.db_password}\"")
            .sensitive()
            .write_only()
            .doc(
                "The secret's value (text, often JSON): never shown, never read back, never \
                 stored (a keyed fingerprint is); a change puts a new current version.",
            ),
        Field::new("recovery_window_in_days", Type::Range(0, 30))
            .default(Default::Int(30))
            .write_only()
            .doc(
                "Days (7 to 30) a destroyed secret can still be restored, during which its name \
                 stays taken; 0 deletes it at once.",
            ),
        TAGS,
        Field::new("id", Type::String)
            .computed()
            .doc("The secret's ARN (what `reconcile import` takes)."),
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the secret (also its id): what a container's `secrets` takes, with `:<json key>::` appended for one key of a JSON value."),
    ],
};

/// The live attributes of a described secret; `None` once it is scheduled
/// for deletion (gone, for every purpose but a restore).
fn secret_attrs(d: &DescribeSecretOutput) -> Option<Attrs> {
    if d.deleted_date().is_some() {
        return None;
    }
    let arn = d.arn()?;
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("name".into(), d.name().into());
    a.insert(
        "description".into(),
        Value::str(d.description().unwrap_or_default()),
    );
    a.insert("kms_key_id".into(), d.kms_key_id().into());
    a.insert("tags".into(), tags_value(d.tags()));
    Some(a)
}

async fn describe(cx: Ctx<'_>, arn: &str) -> ApiResult<Option<DescribeSecretOutput>> {
    let r = cx
        .aws
        .secretsmanager
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .map_err(ApiError::from);
    found(r)
}

/// The days a delete waits before the secret is gone: the recorded
/// setting, 0 meaning at once.
fn recovery_window(live: &Attrs) -> i64 {
    live.get("recovery_window_in_days")
        .and_then(Value::as_int)
        .unwrap_or(30)
}

/// Secrets Manager's tag API, on the secret's ARN.
struct SecretTags;

#[async_trait]
impl TagApi for SecretTags {
    async fn sync(&self, cx: Ctx<'_>, id: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let sm = &cx.aws.secretsmanager;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| sm.tag_resource().secret_id(id).set_tags(Some(set)),
            |unset| sm.untag_resource().secret_id(id).set_tag_keys(Some(unset)),
        )
    }
}

#[async_trait]
impl Kind for SecretsManagerSecret {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&SecretTags))
    }

    /// Secrets Manager has no batched describe (BatchGetSecretValue answers
    /// the values, which reconcile never reads): one DescribeSecret per
    /// secret, a few at a time; it carries the tags.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let reads: Vec<_> = ids
            .iter()
            .map(|arn| async move {
                let d = describe(cx, arn).await?;
                Ok(d.as_ref().and_then(secret_attrs).map(|a| (arn.clone(), a)))
            })
            .collect();
        read_each(reads).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name")
            .unwrap_or_else(|| crate::kinds::default_name(cx.stack, address));
        let out = cx
            .aws
            .secretsmanager
            .create_secret()
            .name(&name)
            .set_description(str_attr(desired, "description").filter(|d| !d.is_empty()))
            .set_kms_key_id(str_attr(desired, "kms_key_id"))
            .set_secret_string(str_attr(desired, "secret_string"))
            .set_tags(Some(create_tags::<Tag>(cx, address, desired)?))
            .send()
            .await?;
        let arn = out
            .arn()
            .ok_or_else(|| ApiError::msg(format!("{address}: CreateSecret answered no ARN")))?
            .to_owned();
        crate::kinds::created(&arn);
        Ok(arn)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        let sm = &cx.aws.secretsmanager;
        if changed.any(&["description", "kms_key_id"]) {
            sm.update_secret()
                .secret_id(id)
                .set_description(str_attr(desired, "description"))
                .set_kms_key_id(
                    str_attr(desired, "kms_key_id").filter(|_| changed.has("kms_key_id")),
                )
                .send()
                .await?;
        }
        // The executor hands the value only when its fingerprint changed.
        if changed.sets("secret_string") {
            sm.put_secret_value()
                .secret_id(id)
                .set_secret_string(str_attr(desired, "secret_string"))
                .send()
                .await?;
        }
        Ok(())
    }

    /// Schedules the deletion (or deletes at once with a window of 0). A
    /// secret gone or already scheduled counts as deleted.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, live } = op;
        let days = recovery_window(live);
        let call = cx.aws.secretsmanager.delete_secret().secret_id(id);
        let call = if days == 0 {
            call.force_delete_without_recovery(true)
        } else {
            call.recovery_window_in_days(days)
        };
        match call.send().await.map_err(ApiError::from) {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            // "marked for deletion": a retried destroy.
            Err(e) if e.code.as_deref() == Some("InvalidRequestException") => {
                match describe(cx, id).await?.as_ref().and_then(secret_attrs) {
                    None => Ok(()),
                    Some(_) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// ListSecrets filtered by the address tag's value, checked for both
    /// tags; secrets scheduled for deletion are not listed.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t: AddressTags<'_>| async move {
            let filter = Filter::builder()
                .key(FilterNameStringType::TagValue)
                .values(t.address)
                .build();
            let mut out = Vec::new();
            let mut token = None;
            loop {
                let page = cx
                    .aws
                    .secretsmanager
                    .list_secrets()
                    .filters(filter.clone())
                    .set_next_token(token)
                    .send()
                    .await?;
                out.extend(
                    page.secret_list()
                        .iter()
                        .filter(|s| t.matches(tag_pairs(s.tags())))
                        .filter_map(|s| s.arn().map(str::to_owned)),
                );
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            Ok::<_, ApiError>(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_described_secret_reads_back_without_its_value_and_not_once_deleted() {
        let d = DescribeSecretOutput::builder()
            .arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:s-db-AbCdEf")
            .name("s-db")
            .tags(Tag::builder().key("team").value("web").build())
            .tags(Tag::builder().key("reconcile:stack").value("s").build())
            .build();
        let a = secret_attrs(&d).unwrap();
        assert_eq!(a["name"], Value::str("s-db"));
        assert_eq!(a["description"], Value::str(""));
        assert_eq!(a["kms_key_id"], Value::Null);
        assert_eq!(a["tags"].str_map().len(), 1);
        assert!(!a.contains_key("secret_string"));
        let deleted = DescribeSecretOutput::builder()
            .arn("arn:x")
            .deleted_date(aws_smithy_types::DateTime::from_secs(0))
            .build();
        assert!(secret_attrs(&deleted).is_none());
    }

    #[test]
    fn the_recovery_window_is_the_recorded_one_else_thirty_days() {
        let a = Attrs::from([("recovery_window_in_days".to_owned(), Value::Int(0))]);
        assert_eq!(recovery_window(&a), 0);
        assert_eq!(recovery_window(&Attrs::new()), 30);
    }
}
