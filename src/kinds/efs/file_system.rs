//! `efs_file_system`: an elastic NFS file system.

use std::collections::BTreeMap;

use super::{creation_progress, deletion_progress};
use crate::aws::ApiError;
use crate::kinds::support::{
    Waiter, bool_attr, client_token, create_tags, found, is_ours, pages, read_each, str_attr,
    sync_tags_with, tags_value, wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};
use async_trait::async_trait;
use aws_sdk_efs::types::{
    FileSystemDescription, LifeCycleState, LifecyclePolicy, PerformanceMode, Tag, ThroughputMode,
    TransitionToIaRules,
};

pub struct EfsFileSystem;

static LIFECYCLE: &[Field] = &[Field::new("transition_to_ia", Type::String)
    .doc("When files move to Infrequent Access: \"AFTER_30_DAYS\", \"AFTER_7_DAYS\", …")];

static SCHEMA: Schema = Schema {
    kind: "efs_file_system",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An EFS file system (mounted through its mount targets).",
    fields: &[
        Field::new("encrypted", Type::Bool)
            .default(Default::Bool(false))
            .force_new()
            .doc("Whether data at rest is encrypted."),
        Field::new("kms_key_id", Type::String)
            .force_new()
            .doc("The KMS key (id or ARN) that encrypts it; needs `encrypted = true`."),
        Field::new("performance_mode", Type::String)
            .default(Default::Str("generalPurpose"))
            .force_new()
            .doc("\"generalPurpose\" or \"maxIO\"."),
        Field::new("throughput_mode", Type::String)
            .default(Default::Str("bursting"))
            .doc("\"bursting\", \"elastic\" or \"provisioned\"."),
        Field::new("lifecycle_policy", Type::Object(LIFECYCLE))
            .unset_is_null()
            .doc("When files move to a cheaper storage class; unset for never."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the file system."),
        Field::new("dns_name", Type::String)
            .computed()
            .doc("The name clients mount: `<id>.efs.<region>.amazonaws.com`."),
    ],
};

impl EfsFileSystem {
    /// Every file system of the account, all pages (DescribeFileSystems
    /// takes one id at most, so a batch is one listing).
    async fn list(&self, cx: Ctx<'_>) -> ApiResult<Vec<FileSystemDescription>> {
        pages!(cx.aws.efs.describe_file_systems())
    }

    /// The life-cycle state of one file system; None when it is gone.
    async fn state(&self, cx: Ctx<'_>, id: &str) -> ApiResult<Option<LifeCycleState>> {
        let r = cx
            .aws
            .efs
            .describe_file_systems()
            .file_system_id(id)
            .send()
            .await
            .map_err(ApiError::from);
        Ok(found(r)?.and_then(|o| {
            o.file_systems()
                .iter()
                .find(|f| f.file_system_id() == id)
                .map(|f| f.life_cycle_state().clone())
        }))
    }
}

/// The lifecycle policy of one file system, `None` when it went away.
async fn read_lifecycle(
    cx: Ctx<'_>,
    fs: &FileSystemDescription,
) -> ApiResult<Option<(String, Attrs)>> {
    let id = fs.file_system_id();
    let r = cx
        .aws
        .efs
        .describe_lifecycle_configuration()
        .file_system_id(id)
        .send()
        .await
        .map_err(ApiError::from);
    let Some(out) = found(r)? else {
        return Ok(None);
    };
    let region = cx.aws.efs.config().region().map(ToString::to_string);
    Ok(Some((
        id.to_owned(),
        attrs(
            fs,
            out.lifecycle_policies(),
            region.as_deref().unwrap_or_default(),
        ),
    )))
}

fn attrs(fs: &FileSystemDescription, policies: &[LifecyclePolicy], region: &str) -> Attrs {
    let id = fs.file_system_id();
    let to_ia = policies.iter().find_map(|p| p.transition_to_ia());
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(id));
    a.insert(
        "encrypted".into(),
        Value::Bool(fs.encrypted().unwrap_or(false)),
    );
    a.insert("kms_key_id".into(), fs.kms_key_id().into());
    a.insert(
        "performance_mode".into(),
        Value::str(fs.performance_mode().as_str()),
    );
    a.insert(
        "throughput_mode".into(),
        fs.throughput_mode().map(ThroughputMode::as_str).into(),
    );
    a.insert(
        "lifecycle_policy".into(),
        to_ia.map_or(Value::Null, |t| {
            Value::Map(BTreeMap::from([(
                "transition_to_ia".to_owned(),
                Value::str(t.as_str()),
            )]))
        }),
    );
    a.insert("tags".into(), tags_value(fs.tags()));
    a.insert("arn".into(), fs.file_system_arn().into());
    a.insert(
        "dns_name".into(),
        Value::str(format!("{id}.efs.{region}.amazonaws.com")),
    );
    a
}

/// The desired `lifecycle_policy.transition_to_ia`, if any.
fn transition_to_ia(desired: &Attrs) -> Option<String> {
    desired
        .get("lifecycle_policy")
        .and_then(Value::as_map)
        .and_then(|m| m.get("transition_to_ia"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The creation token: the same for a retried create of the same resource,
/// so EFS answers FileSystemAlreadyExists instead of making a second one.
/// It covers the force-new inputs, so a replacement gets its own.
fn creation_token(stack: &str, address: &str, desired: &Attrs) -> String {
    let encrypted = bool_attr(desired, "encrypted").unwrap_or(false).to_string();
    let inputs =
        ["kms_key_id", "performance_mode"].map(|f| str_attr(desired, f).unwrap_or_default());
    client_token(
        [stack, address, encrypted.as_str()]
            .into_iter()
            .chain(inputs.iter().map(String::as_str)),
    )
}

#[async_trait]
impl Kind for EfsFileSystem {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let wanted: Vec<_> = self
            .list(cx)
            .await?
            .into_iter()
            .filter(|f| ids.iter().any(|id| id == f.file_system_id()))
            .filter(|f| *f.life_cycle_state() != LifeCycleState::Deleted)
            .collect();
        // Collected first: a lazy map here trips the async-trait lifetimes.
        let reads: Vec<_> = wanted.iter().map(|f| read_lifecycle(cx, f)).collect();
        read_each(reads).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let token = creation_token(cx.stack, address, desired);
        let perf = str_attr(desired, "performance_mode").unwrap_or_else(|| "generalPurpose".into());
        let throughput = str_attr(desired, "throughput_mode").unwrap_or_else(|| "bursting".into());
        let r = cx
            .aws
            .efs
            .create_file_system()
            .creation_token(&token)
            .performance_mode(PerformanceMode::from(perf.as_str()))
            .throughput_mode(ThroughputMode::from(throughput.as_str()))
            .encrypted(bool_attr(desired, "encrypted").unwrap_or(false))
            .set_kms_key_id(str_attr(desired, "kms_key_id"))
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await
            .map_err(ApiError::from);
        let id = match r {
            Ok(out) => out.file_system_id().to_owned(),
            // A retry of a create whose answer was lost: adopt the first one.
            Err(e) if e.code.as_deref() == Some("FileSystemAlreadyExists") => {
                self.find_by_address(cx, address).await?.ok_or(e)?
            }
            Err(e) => return Err(e),
        };
        crate::kinds::created(&id);
        let what = format!("EFS file system {id} to become available");
        wait_visible(cx.timeouts(self).create, &what, || async {
            Ok(creation_progress(self.state(cx, &id).await?.as_ref()))
        })
        .await?;
        if let Some(rule) = transition_to_ia(desired) {
            put_lifecycle(cx, &id, Some(rule)).await?;
        }
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        let efs = &cx.aws.efs;
        if changed.has("throughput_mode")
            && let Some(mode) = str_attr(desired, "throughput_mode")
        {
            efs.update_file_system()
                .file_system_id(id)
                .throughput_mode(ThroughputMode::from(mode.as_str()))
                .send()
                .await?;
            Waiter::new(cx.timeouts(self).update)
                .until(&format!("EFS file system {id} to be updated"), || async {
                    Ok(creation_progress(self.state(cx, id).await?.as_ref()))
                })
                .await?;
        }
        if changed.has("lifecycle_policy") {
            put_lifecycle(cx, id, transition_to_ia(desired)).await?;
        }
        if changed.has("tags") {
            sync_tags_with!(
                live,
                desired,
                |set: Tag| efs.tag_resource().resource_id(id).set_tags(Some(set)),
                |unset| efs
                    .untag_resource()
                    .resource_id(id)
                    .set_tag_keys(Some(unset)),
            )?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let r = cx
            .aws
            .efs
            .delete_file_system()
            .file_system_id(id)
            .send()
            .await
            .map_err(ApiError::from);
        if found(r)?.is_none() {
            return Ok(());
        }
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("EFS file system {id} to be deleted"), || async {
                Ok(deletion_progress(self.state(cx, id).await?.as_ref()))
            })
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        // The token depends on force-new inputs the address alone does not
        // give, so look for the tags instead (a file system carries them).
        Ok(self
            .list(cx)
            .await?
            .into_iter()
            .filter(|f| {
                !matches!(
                    f.life_cycle_state(),
                    LifeCycleState::Deleting | LifeCycleState::Deleted
                )
            })
            .find(|f| is_ours(cx, address, f.tags()))
            .map(|f| f.file_system_id().to_owned()))
    }
}

/// Sets the lifecycle policy (`None`: files never move).
async fn put_lifecycle(cx: Ctx<'_>, id: &str, rule: Option<String>) -> ApiResult<()> {
    let policies = rule
        .map(|r| {
            LifecyclePolicy::builder()
                .transition_to_ia(TransitionToIaRules::from(r.as_str()))
                .build()
        })
        .into_iter()
        .collect();
    cx.aws
        .efs
        .put_lifecycle_configuration()
        .file_system_id(id)
        .set_lifecycle_policies(Some(policies))
        .send()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described() -> FileSystemDescription {
        FileSystemDescription::builder()
            .owner_id("123456789012")
            .creation_token("t")
            .file_system_id("fs-0abc")
            .file_system_arn("arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0abc")
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .life_cycle_state(LifeCycleState::Available)
            .number_of_mount_targets(0)
            .performance_mode(PerformanceMode::GeneralPurpose)
            .encrypted(true)
            .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/k")
            .throughput_mode(ThroughputMode::Bursting)
            .tags(Tag::builder().key("team").value("web").build().unwrap())
            .tags(
                Tag::builder()
                    .key("reconcile:stack")
                    .value("s")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn a_described_file_system_reads_every_field() {
        let policies = [LifecyclePolicy::builder()
            .transition_to_ia(TransitionToIaRules::After30Days)
            .build()];
        let a = attrs(&described(), &policies, "us-east-1");
        assert_eq!(a["encrypted"], Value::Bool(true));
        assert_eq!(a["performance_mode"], Value::str("generalPurpose"));
        assert_eq!(a["throughput_mode"], Value::str("bursting"));
        assert_eq!(
            transition_to_ia(&a).as_deref(),
            Some("AFTER_30_DAYS"),
            "{a:?}"
        );
        assert_eq!(
            a["dns_name"],
            Value::str("fs-0abc.efs.us-east-1.amazonaws.com")
        );
        assert_eq!(a["tags"].str_map().len(), 1, "reconcile tags are hidden");
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
        let none = attrs(&described(), &[], "us-east-1");
        assert_eq!(none["lifecycle_policy"], Value::Null);
    }

    #[test]
    fn the_creation_token_is_stable_and_specific_to_the_resource() {
        let desired = Attrs::from([
            ("encrypted".to_owned(), Value::Bool(true)),
            ("performance_mode".to_owned(), Value::str("generalPurpose")),
        ]);
        let token = creation_token("prod", "efs_file_system.data", &desired);
        assert_eq!(
            token,
            creation_token("prod", "efs_file_system.data", &desired)
        );
        assert!(token.len() <= 64 && token.is_ascii());
        assert_ne!(token, creation_token("prod", "efs_file_system.b", &desired));
        assert_ne!(
            token,
            creation_token("dev", "efs_file_system.data", &desired)
        );
        let mut keyed = desired.clone();
        keyed.insert("kms_key_id".into(), Value::str("k"));
        assert_ne!(
            token,
            creation_token("prod", "efs_file_system.data", &keyed)
        );
        let mut tagged = desired.clone();
        tagged.insert("throughput_mode".into(), Value::str("elastic"));
        assert_eq!(
            token,
            creation_token("prod", "efs_file_system.data", &tagged)
        );
    }
}
