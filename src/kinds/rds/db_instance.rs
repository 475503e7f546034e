//! `db_instance`: an RDS database instance. Its master password is
//! write-only (AWS never returns it): the state keeps only a keyed
//! fingerprint. Deleting keeps a final snapshot unless the deletion policy
//! says otherwise.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_rds::types::{DbInstance, Filter};

use super::default_name;
use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, Poll, Waiter, bool_attr, create_tags, found, is_ours, pages, str_attr, tags_value,
    wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::lifecycle::DeletionPolicy;
use crate::schema::PORT;
use crate::schema::{Default, Field, ID, Rule, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct DbInstanceKind;

static SCHEMA: Schema = Schema {
    kind: "db_instance",
    service: super::SERVICE,
    // RDS creates, modifies (storage, class, Multi-AZ) and deletes take
    // tens of minutes.
    timeouts: Timeouts::minutes(40, 80, 60),
    description: "An RDS database instance.",
    fields: &[
        Field::new("identifier", Type::String)
            .naming(crate::kinds::names::DB_INSTANCE)
            .force_new()
            .doc("The instance identifier; by default `<stack>-<resource name>`."),
        Field::new("engine", Type::String)
            .example("\"postgres\"")
            .required()
            .force_new()
            .doc("The engine: postgres, mysql, mariadb, …"),
        Field::new("engine_version", Type::String)
            .doc("The engine version as AWS reports it (e.g. \"16.3\"); AWS's default when unset."),
        Field::new("instance_class", Type::String)
            .example("\"db.t3.micro\"")
            .required()
            .doc("The instance class, e.g. db.t3.micro."),
        Field::new("allocated_storage", Type::Range(5, 65536))
            .example("20")
            .required()
            .doc("Storage in GiB."),
        Field::new("storage_type", Type::String)
            .one_of(&["gp2", "gp3", "io1", "io2", "standard"])
            .doc("gp2, gp3, io1, io2 or standard."),
        Field::new("multi_az", Type::Bool)
            .default(Default::Bool(false))
            .doc("A standby in another zone."),
        Field::new("db_name", Type::String)
            .unset_is_null()
            .force_new()
            .doc("The database created with the instance."),
        Field::new("master_username", Type::String)
            .example("\"app\"")
            .required()
            .force_new()
            .doc("The master user's name."),
        Field::new("master_password", Type::String)
            .example("\"${var.db_password}\"")
            .required()
            .sensitive()
            .write_only()
            .doc("The master user's password: never shown, never stored (a keyed fingerprint is)."),
        Field::new("db_subnet_group_name", Type::String)
            .force_new()
            .doc("The DB subnet group (its VPC) the instance lives in."),
        Field::new("vpc_security_group_ids", Type::Set(&Type::String))
            .doc("Security groups of the instance."),
        Field::new("backup_retention_period", Type::Range(0, 35))
            .doc("Days automated backups are kept (0 disables them)."),
        Field::new("deletion_protection", Type::Bool)
            .default(Default::Bool(false))
            .doc("While true, AWS refuses to delete the instance."),
        Field::new("apply_immediately", Type::Bool)
            .default(Default::Bool(false))
            .write_only()
            .doc("Apply modifications now rather than in the next maintenance window."),
        Field::new("publicly_accessible", Type::Bool)
            .default(Default::Bool(false))
            .doc("A public DNS name resolving to a public address."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the instance."),
        Field::new("address", Type::String)
            .computed()
            .doc("The DNS name of the endpoint."),
        Field::new("port", PORT)
            .computed()
            .doc("The port of the endpoint."),
        Field::new("endpoint", Type::String)
            .computed()
            .doc("`address:port`."),
    ],
};

/// DescribeDBInstances takes at most 100 values in one filter.
const FILTER_CHUNK: usize = 100;

/// States from which an instance does not become available by waiting.
const FAILED: &[&str] = &[
    "failed",
    "incompatible-parameters",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-restore",
    "inaccessible-encryption-credentials",
    "restore-error",
    "storage-full",
    "stopped",
];

fn instance_attrs(d: &DbInstance) -> Attrs {
    let id = d.db_instance_identifier().unwrap_or_default();
    let endpoint = d.endpoint();
    let address = endpoint.and_then(|e| e.address());
    let port = endpoint.and_then(aws_sdk_rds::types::Endpoint::port);
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(id));
    a.insert("identifier".into(), Value::str(id));
    a.insert("engine".into(), d.engine().into());
    a.insert("engine_version".into(), d.engine_version().into());
    a.insert("instance_class".into(), d.db_instance_class().into());
    a.insert(
        "allocated_storage".into(),
        d.allocated_storage().map(i64::from).into(),
    );
    a.insert("storage_type".into(), d.storage_type().into());
    a.insert("multi_az".into(), d.multi_az().unwrap_or(false).into());
    a.insert("db_name".into(), d.db_name().into());
    a.insert("master_username".into(), d.master_username().into());
    a.insert(
        "db_subnet_group_name".into(),
        d.db_subnet_group()
            .and_then(|g| g.db_subnet_group_name())
            .into(),
    );
    a.insert(
        "vpc_security_group_ids".into(),
        Value::List(
            d.vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id())
                .map(Value::str)
                .collect(),
        ),
    );
    a.insert(
        "backup_retention_period".into(),
        d.backup_retention_period().map(i64::from).into(),
    );
    a.insert(
        "deletion_protection".into(),
        d.deletion_protection().unwrap_or(false).into(),
    );
    a.insert(
        "publicly_accessible".into(),
        d.publicly_accessible().unwrap_or(false).into(),
    );
    a.insert("arn".into(), d.db_instance_arn().into());
    a.insert("address".into(), address.into());
    a.insert("port".into(), port.map(i64::from).into());
    a.insert(
        "endpoint".into(),
        match (address, port) {
            (Some(h), Some(p)) => Value::str(format!("{h}:{p}")),
            _ => Value::Null,
        },
    );
    a.insert("tags".into(), tags_value(d.tag_list()));
    a
}

/// What one look at an instance means for a wait until it is available.
fn availability(d: Option<&DbInstance>) -> Poll<()> {
    match d.and_then(|d| d.db_instance_status()) {
        None => Poll::Pending("not yet visible".into()),
        Some("available") => Poll::Ready(()),
        Some(s) if FAILED.contains(&s) => Poll::Failed(s.to_owned()),
        Some(s) => Poll::Pending(s.to_owned()),
    }
}

/// What one look means for a wait until the instance is gone.
fn deletion(d: Option<&DbInstance>) -> Poll<()> {
    match d {
        None => Poll::Ready(()),
        Some(d) => Poll::Pending(d.db_instance_status().unwrap_or("deleting").to_owned()),
    }
}

/// `<identifier>-final-<UTC yyyymmddHHMMSS>`.
pub fn final_snapshot_id(identifier: &str, now: SystemTime) -> String {
    let stamp: String = humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("{identifier}-final-{stamp}")
}

fn i32_attr(a: &Attrs, name: &str) -> Option<i32> {
    a.get(name)
        .and_then(Value::as_int)
        .and_then(|i| i32::try_from(i).ok())
}

impl DbInstanceKind {
    async fn describe(&self, cx: Ctx<'_>, filter: Option<Filter>) -> ApiResult<Vec<DbInstance>> {
        pages!(
            cx.aws
                .rds
                .describe_db_instances()
                .set_filters(filter.map(|f| vec![f]))
        )
    }

    /// The instance named `id`, if it exists.
    async fn one(&self, cx: Ctx<'_>, id: &str) -> ApiResult<Option<DbInstance>> {
        let r = self.describe(cx, Some(id_filter(&[id.to_owned()]))).await;
        Ok(found(r)?.and_then(|all| {
            all.into_iter()
                .find(|d| d.db_instance_identifier() == Some(id))
        }))
    }

    async fn wait_available(
        &self,
        cx: Ctx<'_>,
        id: &str,
        timeout: std::time::Duration,
    ) -> ApiResult<()> {
        let what = format!("DB instance {id} to become available");
        wait_visible(timeout, &what, || async {
            Ok(availability(self.one(cx, id).await?.as_ref()))
        })
        .await
    }

    async fn delete_keeping(
        &self,
        cx: Ctx<'_>,
        id: &str,
        snapshot: Option<String>,
    ) -> ApiResult<()> {
        let r = cx
            .aws
            .rds
            .delete_db_instance()
            .db_instance_identifier(id)
            .skip_final_snapshot(snapshot.is_none())
            .set_final_db_snapshot_identifier(snapshot)
            .send()
            .await
            .map_err(ApiError::from);
        match r {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            // Already on its way out (a retried delete).
            Err(e)
                if e.code.as_deref() == Some("InvalidDBInstanceState")
                    && self
                        .one(cx, id)
                        .await?
                        .is_some_and(|d| d.db_instance_status() == Some("deleting")) => {}
            Err(e) => return Err(e),
        }
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("DB instance {id} to be deleted"), || async {
                Ok(deletion(self.one(cx, id).await?.as_ref()))
            })
            .await
    }
}

fn id_filter(ids: &[String]) -> Filter {
    Filter::builder()
        .name("db-instance-id")
        .set_values(Some(ids.to_vec()))
        .build()
}

#[async_trait]
impl Kind for DbInstanceKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_arn(&super::RdsTags))
    }

    /// AWS's smallest storage per type (General Purpose SSD 20 GiB,
    /// Provisioned IOPS 100 GiB; magnetic 5).
    fn rules(&self) -> &'static [Rule] {
        &[
            Rule::AtLeast {
                field: "storage_type",
                is: &["gp2", "gp3"],
                number: "allocated_storage",
                min: 20,
            },
            Rule::AtLeast {
                field: "storage_type",
                is: &["io1", "io2"],
                number: "allocated_storage",
                min: 100,
            },
        ]
    }

    fn default_deletion_policy(&self) -> DeletionPolicy {
        DeletionPolicy::Snapshot
    }

    fn can_snapshot(&self) -> bool {
        true
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        Batch::of(FILTER_CHUNK)
            .read(ids, |chunk| async move {
                let described = found(self.describe(cx, Some(id_filter(chunk))).await)?;
                Ok::<_, ApiError>(
                    described
                        .unwrap_or_default()
                        .iter()
                        .filter(|d| d.db_instance_status() != Some("deleted"))
                        .map(|d| {
                            let a = instance_attrs(d);
                            (str_attr(&a, "id").unwrap_or_default(), a)
                        })
                        .collect::<Vec<_>>(),
                )
            })
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let id = str_attr(desired, "identifier").unwrap_or_else(|| default_name(cx, address, 63));
        cx.aws
            .rds
            .create_db_instance()
            .db_instance_identifier(&id)
            .set_engine(str_attr(desired, "engine"))
            .set_engine_version(str_attr(desired, "engine_version"))
            .set_db_instance_class(str_attr(desired, "instance_class"))
            .set_allocated_storage(i32_attr(desired, "allocated_storage"))
            .set_storage_type(str_attr(desired, "storage_type"))
            .set_multi_az(bool_attr(desired, "multi_az"))
            .set_db_name(str_attr(desired, "db_name"))
            .set_master_username(str_attr(desired, "master_username"))
            .set_master_user_password(str_attr(desired, "master_password"))
            .set_db_subnet_group_name(str_attr(desired, "db_subnet_group_name"))
            .set_vpc_security_group_ids(desired.get("vpc_security_group_ids").map(Value::str_list))
            .set_backup_retention_period(i32_attr(desired, "backup_retention_period"))
            .set_deletion_protection(bool_attr(desired, "deletion_protection"))
            .set_publicly_accessible(bool_attr(desired, "publicly_accessible"))
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await?;
        crate::kinds::created(&id);
        self.wait_available(cx, &id, cx.timeouts(self).create)
            .await?;
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        let pick_str = |f: &str| {
            if changed.has(f) {
                str_attr(desired, f)
            } else {
                None
            }
        };
        let pick_int = |f: &str| {
            if changed.has(f) {
                i32_attr(desired, f)
            } else {
                None
            }
        };
        let pick_bool = |f: &str| {
            if changed.has(f) {
                bool_attr(desired, f)
            } else {
                None
            }
        };
        let modify = cx
            .aws
            .rds
            .modify_db_instance()
            .db_instance_identifier(id)
            .apply_immediately(bool_attr(desired, "apply_immediately").unwrap_or(false))
            .set_engine_version(pick_str("engine_version"))
            .set_db_instance_class(pick_str("instance_class"))
            .set_allocated_storage(pick_int("allocated_storage"))
            .set_storage_type(pick_str("storage_type"))
            .set_multi_az(pick_bool("multi_az"))
            // The executor sets the live value to the desired one when its
            // fingerprint is unchanged: sent only when it really changed.
            .set_master_user_password(pick_str("master_password"))
            .set_vpc_security_group_ids(if changed.has("vpc_security_group_ids") {
                desired.get("vpc_security_group_ids").map(Value::str_list)
            } else {
                None
            })
            .set_backup_retention_period(pick_int("backup_retention_period"))
            .set_deletion_protection(pick_bool("deletion_protection"))
            .set_publicly_accessible(pick_bool("publicly_accessible"));
        let anything = [
            "engine_version",
            "instance_class",
            "allocated_storage",
            "storage_type",
            "multi_az",
            "master_password",
            "vpc_security_group_ids",
            "backup_retention_period",
            "deletion_protection",
            "publicly_accessible",
        ]
        .iter()
        .any(|f| changed.has(f) && desired.get(*f).is_some_and(|v| !v.is_null()));
        if anything {
            modify.send().await?;
            self.wait_available(cx, id, cx.timeouts(self).update)
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        self.delete_keeping(cx, id, None).await
    }

    async fn delete_with_snapshot(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        self.delete_keeping(cx, id, Some(final_snapshot_id(id, SystemTime::now())))
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        Ok(self
            .describe(cx, None)
            .await?
            .into_iter()
            .find(|d| {
                d.db_instance_status() != Some("deleting") && is_ours(cx, address, d.tag_list())
            })
            .and_then(|d| d.db_instance_identifier))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
    use std::sync::Mutex;
    use std::time::Duration;

    fn instance(status: &str) -> DbInstance {
        DbInstance::builder()
            .db_instance_identifier("db1")
            .db_instance_status(status)
            .build()
    }

    /// A scripted series of DescribeDBInstances answers, the last repeated.
    fn answers(
        script: Vec<DescribeDbInstancesOutput>,
    ) -> impl FnMut() -> DescribeDbInstancesOutput {
        let script = Mutex::new(script);
        move || {
            let mut s = script.lock().unwrap();
            if s.len() > 1 {
                s.remove(0)
            } else {
                s[0].clone()
            }
        }
    }

    fn out(statuses: &[&str]) -> DescribeDbInstancesOutput {
        DescribeDbInstancesOutput::builder()
            .set_db_instances(Some(statuses.iter().map(|s| instance(s)).collect()))
            .build()
    }

    async fn wait_for(
        mut next: impl FnMut() -> DescribeDbInstancesOutput,
        judge: fn(Option<&DbInstance>) -> Poll<()>,
        timeout: Duration,
    ) -> ApiResult<()> {
        Waiter::new(timeout)
            .until("DB instance db1", || {
                let o = next();
                async move { Ok(judge(o.db_instances().first())) }
            })
            .await
    }

    #[tokio::test(start_paused = true)]
    async fn create_waits_through_creating_and_backing_up() {
        let next = answers(vec![
            out(&[]),
            out(&["creating"]),
            out(&["backing-up"]),
            out(&["available"]),
        ]);
        wait_for(next, availability, Duration::from_mins(40))
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_instance_stops_the_wait() {
        let next = answers(vec![out(&["creating"]), out(&["incompatible-network"])]);
        let err = wait_for(next, availability, Duration::from_mins(40))
            .await
            .unwrap_err();
        assert!(err.message.contains("incompatible-network"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_instance_stuck_modifying_times_out() {
        let next = answers(vec![out(&["modifying"])]);
        let err = wait_for(next, availability, Duration::from_mins(80))
            .await
            .unwrap_err();
        assert!(err.message.contains("timed out after 1h 20m"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn delete_waits_until_the_instance_is_gone() {
        let next = answers(vec![out(&["deleting"]), out(&["deleting"]), out(&[])]);
        wait_for(next, deletion, Duration::from_hours(1))
            .await
            .unwrap();
    }

    #[test]
    fn the_final_snapshot_is_named_after_the_instance_and_the_utc_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        assert_eq!(final_snapshot_id("db1", t), "db1-final-20260921141320");
    }

    #[test]
    fn a_described_instance_reads_every_field_but_the_password() {
        let d = DbInstance::builder()
            .db_instance_identifier("db1")
            .engine("postgres")
            .endpoint(
                aws_sdk_rds::types::Endpoint::builder()
                    .address("db1.x.rds.amazonaws.com")
                    .port(5432)
                    .build(),
            )
            .build();
        let a = instance_attrs(&d);
        assert_eq!(a["endpoint"], Value::str("db1.x.rds.amazonaws.com:5432"));
        assert_eq!(a["port"], Value::Int(5432));
        for f in SCHEMA.fields.iter().filter(|f| !f.write_only) {
            assert!(a.contains_key(f.name), "read leaves out {}", f.name);
        }
        assert!(!a.contains_key("master_password"));
    }
}
