//! `efs_mount_target`: where a file system is reachable inside one subnet.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_efs::types::{LifeCycleState, MountTargetDescription};

use super::{creation_progress, deletion_progress};
use crate::aws::ApiError;
use crate::kinds::support::{Waiter, found, pages, read_each, str_attr, wait_visible};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Field, ID, Schema, Type};
use crate::value::{Attrs, Value};

pub struct EfsMountTarget;

static SCHEMA: Schema = Schema {
    kind: "efs_mount_target",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An EFS mount target: the file system's NFS endpoint in one subnet.",
    fields: &[
        Field::new("file_system_id", Type::String)
            .example("\"${efs_file_system.example.id}\"")
            .required()
            .force_new()
            .doc("The file system it exposes."),
        Field::new("subnet_id", Type::String)
            .required()
            .force_new()
            .doc("The subnet it lives in (one mount target per availability zone)."),
        Field::new("security_groups", Type::Set(&Type::String))
            .example("[\"${security_group.example.id}\"]")
            .required()
            .doc("The security groups of its network interface (at most 5)."),
        ID,
        Field::new("ip_address", Type::String)
            .computed()
            .doc("Its address inside the subnet."),
        Field::new("availability_zone_name", Type::String)
            .computed()
            .doc("The availability zone of its subnet."),
    ],
};

impl EfsMountTarget {
    /// One mount target by id; None when it is gone.
    async fn describe_one(
        &self,
        cx: Ctx<'_>,
        id: &str,
    ) -> ApiResult<Option<MountTargetDescription>> {
        let r = cx
            .aws
            .efs
            .describe_mount_targets()
            .mount_target_id(id)
            .send()
            .await
            .map_err(ApiError::from);
        Ok(found(r)?.and_then(|o| {
            o.mount_targets()
                .iter()
                .find(|m| m.mount_target_id() == id)
                .cloned()
        }))
    }

    /// Every mount target of a file system, all pages.
    async fn of_file_system(
        &self,
        cx: Ctx<'_>,
        fs: &str,
    ) -> ApiResult<Vec<MountTargetDescription>> {
        let r = pages!(cx.aws.efs.describe_mount_targets().file_system_id(fs));
        Ok(found(r)?.unwrap_or_default())
    }

    async fn state(&self, cx: Ctx<'_>, id: &str) -> ApiResult<Option<LifeCycleState>> {
        Ok(self
            .describe_one(cx, id)
            .await?
            .map(|m| m.life_cycle_state().clone()))
    }
}

/// The mount target with its security groups (DescribeMountTargets does not
/// give them); `None` when it went away meanwhile.
async fn read_security_groups(
    cx: Ctx<'_>,
    mt: &MountTargetDescription,
) -> ApiResult<Option<(String, Attrs)>> {
    let id = mt.mount_target_id();
    let r = cx
        .aws
        .efs
        .describe_mount_target_security_groups()
        .mount_target_id(id)
        .send()
        .await
        .map_err(ApiError::from);
    Ok(found(r)?.map(|o| (id.to_owned(), attrs(mt, o.security_groups()))))
}

fn attrs(mt: &MountTargetDescription, security_groups: &[String]) -> Attrs {
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(mt.mount_target_id()));
    a.insert("file_system_id".into(), Value::str(mt.file_system_id()));
    a.insert("subnet_id".into(), Value::str(mt.subnet_id()));
    a.insert(
        "security_groups".into(),
        Value::from(security_groups.to_vec()),
    );
    a.insert("ip_address".into(), mt.ip_address().into());
    a.insert(
        "availability_zone_name".into(),
        mt.availability_zone_name().into(),
    );
    a
}

/// A mount target being deleted or deleted is gone for reconcile.
fn exists(state: &LifeCycleState) -> bool {
    !matches!(state, LifeCycleState::Deleting | LifeCycleState::Deleted)
}

#[async_trait]
impl Kind for EfsMountTarget {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// DescribeMountTargets takes one mount target id or one file system id:
    /// the first id of a batch names its file system, whose listing then
    /// answers for every sibling in the batch. Security groups take one call
    /// per mount target (no batched form), run together.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let mut left: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let mut live = Vec::new();
        while let Some(first) = left.pop_first() {
            let Some(mt) = self.describe_one(cx, first).await? else {
                continue;
            };
            let siblings = self.of_file_system(cx, mt.file_system_id()).await?;
            live.extend(
                siblings
                    .into_iter()
                    .filter(|m| left.remove(m.mount_target_id())),
            );
            live.push(mt);
        }
        live.retain(|m| exists(m.life_cycle_state()));
        let reads: Vec<_> = live.iter().map(|m| read_security_groups(cx, m)).collect();
        read_each(reads).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, desired, .. } = op;
        let groups = desired
            .get("security_groups")
            .map(Value::str_list)
            .unwrap_or_default();
        let out = cx
            .aws
            .efs
            .create_mount_target()
            .set_file_system_id(str_attr(desired, "file_system_id"))
            .set_subnet_id(str_attr(desired, "subnet_id"))
            .set_security_groups(Some(groups))
            .send()
            .await?;
        let id = out.mount_target_id().to_owned();
        crate::kinds::created(&id);
        let what = format!("EFS mount target {id} to become available");
        wait_visible(cx.timeouts(self).create, &what, || async {
            Ok(creation_progress(self.state(cx, &id).await?.as_ref()))
        })
        .await?;
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        // Everything else forces a new mount target.
        if changed.has("security_groups") {
            let groups = desired
                .get("security_groups")
                .map(Value::str_list)
                .unwrap_or_default();
            cx.aws
                .efs
                .modify_mount_target_security_groups()
                .mount_target_id(id)
                .set_security_groups(Some(groups))
                .send()
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let r = cx
            .aws
            .efs
            .delete_mount_target()
            .mount_target_id(id)
            .send()
            .await
            .map_err(ApiError::from);
        if found(r)?.is_none() {
            return Ok(());
        }
        // The file system cannot be deleted while this one still exists.
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("EFS mount target {id} to be deleted"), || async {
                Ok(deletion_progress(self.state(cx, id).await?.as_ref()))
            })
            .await
    }

    // No `find_by_address`: mount targets carry no tags, and the address
    // alone does not say which file system and subnet to look in.

    /// The file system's mount target in the desired subnet: there is at
    /// most one per file system and zone, so it is the one the create made.
    async fn find_created(&self, op: Create<'_>) -> ApiResult<Option<String>> {
        let Create { cx, desired, .. } = op;
        let (Some(fs), Some(subnet)) = (
            str_attr(desired, "file_system_id"),
            str_attr(desired, "subnet_id"),
        ) else {
            return Ok(None);
        };
        Ok(self
            .of_file_system(cx, &fs)
            .await?
            .into_iter()
            .find(|m| m.subnet_id() == subnet && exists(m.life_cycle_state()))
            .map(|m| m.mount_target_id().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_described_mount_target_reads_every_field() {
        let mt = MountTargetDescription::builder()
            .mount_target_id("fsmt-0abc")
            .file_system_id("fs-0abc")
            .subnet_id("subnet-0abc")
            .life_cycle_state(LifeCycleState::Available)
            .ip_address("10.0.1.5")
            .availability_zone_name("us-east-1a")
            .build()
            .unwrap();
        let a = attrs(&mt, &["sg-1".to_owned()]);
        assert_eq!(a["id"], Value::str("fsmt-0abc"));
        assert_eq!(a["security_groups"], Value::from(vec!["sg-1".to_owned()]));
        assert_eq!(a["ip_address"], Value::str("10.0.1.5"));
        for f in SCHEMA.field_names() {
            assert!(a.contains_key(f), "read leaves out {f}");
        }
    }

    #[test]
    fn a_deleting_mount_target_is_gone() {
        assert!(exists(&LifeCycleState::Available));
        assert!(exists(&LifeCycleState::Creating));
        assert!(!exists(&LifeCycleState::Deleting));
        assert!(!exists(&LifeCycleState::Deleted));
    }
}
