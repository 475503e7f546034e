//! `log_group`: a CloudWatch Logs log group.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup as AwsLogGroup;

use crate::aws::ApiError;
use crate::kinds::support::tagging::{self, TagMap};
use crate::kinds::support::{
    AddressTags, Batch, TagApi, find_by_address, gone_is_ok, pages, str_attr, sync_tags_with,
    user_tags,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct LogGroup;

static SCHEMA: Schema = Schema {
    kind: "log_group",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A CloudWatch Logs log group.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::LOG_GROUP)
            .force_new()
            .doc("The log group name; by default `/reconcile/<stack>/<resource name>`."),
        Field::new("retention_in_days", Type::Int)
            .unset_is_null()
            .one_of(RETENTION_CHOICES)
            .doc(
                "How long events are kept: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, \
             545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days; 0 for ever.",
            ),
        Field::new("kms_key_id", Type::String)
            .unset_is_null()
            .doc("The ARN of the KMS key encrypting the events; \"\" for none."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the log group (without the `:*` suffix)."),
    ],
};

/// The retention periods CloudWatch Logs accepts, in days.
const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// `RETENTION_DAYS` and 0 (for ever), as `validate` checks them.
const RETENTION_CHOICES: &[&str] = &[
    "0", "1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545",
    "731", "1096", "1827", "2192", "2557", "2922", "3288", "3653",
];

/// DescribeLogGroups takes at most 50 log group identifiers per call.
const NAMES_PER_CALL: usize = 50;

/// The service of log groups in the Resource Groups Tagging API: the
/// service alone, as the emulator types them "logs:loggroup" where AWS
/// says "logs:log-group" (ARNs of other types are not log groups' and are
/// left out by `name_of`).
const RESOURCE_TYPE: &str = "logs";

impl LogGroup {
    /// The named log groups: one DescribeLogGroups (paginated) per 50 names,
    /// filtered to the names asked (the emulator ignores the identifiers
    /// and answers every group). Should a call fail with not found, the
    /// names of that call are looked up one by one by prefix instead.
    async fn describe(&self, cx: Ctx<'_>, names: &[String]) -> ApiResult<Vec<AwsLogGroup>> {
        Batch::of(NAMES_PER_CALL)
            .read(names, |chunk| async move {
                let wanted = |g: &AwsLogGroup| {
                    g.log_group_name()
                        .is_some_and(|n| chunk.iter().any(|c| c == n))
                };
                let call = cx
                    .aws
                    .logs
                    .describe_log_groups()
                    .set_log_group_identifiers(Some(chunk.to_vec()));
                match pages!(call) {
                    Ok(groups) => Ok(groups.into_iter().filter(wanted).collect()),
                    Err(e) if e.is_not_found() => {
                        let mut out = Vec::new();
                        for name in chunk {
                            out.extend(by_prefix(cx, name).await?.into_iter().filter(wanted));
                        }
                        Ok(out)
                    }
                    Err(e) => Err(e),
                }
            })
            .await
    }

    /// The attributes of the named log groups: the describe above, then
    /// the tags of all of them at once (CloudWatch Logs reads tags one group
    /// per call; the tagging API takes 100 ARNs).
    async fn read(&self, cx: Ctx<'_>, names: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
        let groups = self.describe(cx, names).await?;
        let arns: Vec<String> = groups.iter().map(group_arn).collect();
        let tags = tagging::tags_of(cx, &arns).await?;
        Ok(groups
            .iter()
            .map(|g| {
                let a = group_attrs(g, &tags[&group_arn(g)]);
                (str_attr(&a, "name").unwrap_or_default(), a)
            })
            .collect())
    }
}

/// The log groups whose names start with `prefix`.
async fn by_prefix(cx: Ctx<'_>, prefix: &str) -> ApiResult<Vec<AwsLogGroup>> {
    pages!(
        cx.aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(prefix)
    )
}

/// The ARN of a log group without the `:*` that DescribeLogGroups' `arn`
/// ends with: the form the tagging calls (and most references) want.
fn group_arn(g: &AwsLogGroup) -> String {
    g.log_group_arn()
        .or_else(|| g.arn().map(|a| a.strip_suffix(":*").unwrap_or(a)))
        .unwrap_or_default()
        .to_owned()
}

fn group_attrs(g: &AwsLogGroup, tags: &TagMap) -> Attrs {
    let name = g.log_group_name().unwrap_or_default();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(name));
    a.insert("name".into(), Value::str(name));
    a.insert(
        "retention_in_days".into(),
        Value::Int(g.retention_in_days().map_or(0, i64::from)),
    );
    a.insert(
        "kms_key_id".into(),
        Value::str(g.kms_key_id().unwrap_or_default()),
    );
    a.insert("arn".into(), Value::str(group_arn(g)));
    a.insert(
        "tags".into(),
        user_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
    a
}

/// The retention to set, checked against what CloudWatch Logs accepts
/// (AWS would answer a bare InvalidParameterException); 0 means for ever.
fn retention(address: &str, desired: &Attrs) -> ApiResult<Option<i32>> {
    let Some(days) = desired.get("retention_in_days").and_then(Value::as_int) else {
        return Ok(None);
    };
    if days != 0 && !RETENTION_DAYS.contains(&days) {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(i64::to_string).collect();
        return Err(ApiError::msg(format!(
            "{address}: retention_in_days = {days} is not a period CloudWatch Logs offers; \
             use one of {} (or 0 to keep events for ever)",
            allowed.join(", ")
        )));
    }
    // Every allowed value fits: checked just above.
    Ok(Some(i32::try_from(days).unwrap_or_default()))
}

fn default_name(cx: Ctx<'_>, address: &str) -> String {
    format!(
        "/reconcile/{}/{}",
        cx.stack,
        crate::kinds::resource_name(address)
    )
}

async fn put_retention(cx: Ctx<'_>, name: &str, days: i32) -> ApiResult<()> {
    let logs = &cx.aws.logs;
    if days == 0 {
        let r = logs
            .delete_retention_policy()
            .log_group_name(name)
            .send()
            .await;
        // No retention policy to delete is the same as none.
        return gone_is_ok(r);
    }
    logs.put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await?;
    Ok(())
}

/// CloudWatch Logs' tag API, on the log group ARN.
struct LogTags;

#[async_trait::async_trait]
impl TagApi for LogTags {
    async fn sync(&self, cx: Ctx<'_>, arn: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let logs = &cx.aws.logs;
        sync_tags_with!(
            live,
            desired,
            |set: (String, String)| logs
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(set.into_iter().collect())),
            |unset| logs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(unset)),
        )
    }
}

#[async_trait]
impl Kind for LogGroup {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_arn(&LogTags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        self.read(cx, ids).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let days = retention(address, desired)?;
        let name = str_attr(desired, "name").unwrap_or_else(|| default_name(cx, address));
        cx.aws
            .logs
            .create_log_group()
            .log_group_name(&name)
            .set_kms_key_id(str_attr(desired, "kms_key_id").filter(|k| !k.is_empty()))
            .set_tags(Some(cx.tags_for(address, desired).into_iter().collect()))
            .send()
            .await?;
        crate::kinds::created(&name);
        if let Some(days) = days.filter(|d| *d != 0) {
            put_retention(cx, &name, days).await?;
        }
        Ok(name)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, address, id, desired, changed, .. } = op;
        let logs = &cx.aws.logs;
        if changed.has("retention_in_days")
            && let Some(days) = retention(address, desired)?
        {
            put_retention(cx, id, days).await?;
        }
        if changed.has("kms_key_id")
            && let Some(key) = str_attr(desired, "kms_key_id")
        {
            if key.is_empty() {
                logs.disassociate_kms_key()
                    .log_group_name(id)
                    .send()
                    .await?;
            } else {
                logs.associate_kms_key()
                    .log_group_name(id)
                    .kms_key_id(key)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let r = cx
            .aws
            .logs
            .delete_log_group()
            .log_group_name(id)
            .send()
            .await;
        gone_is_ok(r)
    }

    /// One GetResources filtered by the address's tags.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t: AddressTags<'_>| async move {
            let arns = tagging::arns_tagged(cx, RESOURCE_TYPE, t).await?;
            Ok::<_, ApiError>(arns.into_iter().filter_map(|arn| name_of(&arn)))
        })
        .await
    }
}

/// The name of a log group from its ARN (`arn:…:log-group:<name>`).
fn name_of(arn: &str) -> Option<String> {
    let (_, name) = arn.split_once(":log-group:")?;
    Some(name.strip_suffix(":*").unwrap_or(name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(d: i64) -> Attrs {
        Attrs::from([("retention_in_days".to_owned(), Value::Int(d))])
    }

    #[test]
    fn validate_offers_the_same_retention_periods_as_apply() {
        let offered: Vec<i64> = RETENTION_CHOICES
            .iter()
            .map(|d| d.parse().unwrap())
            .collect();
        assert_eq!(offered[0], 0);
        assert_eq!(&offered[1..], RETENTION_DAYS);
    }

    #[test]
    fn retention_must_be_a_period_aws_offers() {
        assert_eq!(retention("log_group.app", &days(14)).unwrap(), Some(14));
        assert_eq!(retention("log_group.app", &days(3653)).unwrap(), Some(3653));
        assert_eq!(retention("log_group.app", &days(0)).unwrap(), Some(0));
        assert_eq!(retention("log_group.app", &Attrs::new()).unwrap(), None);
        for bad in [2, 10, 365 * 2, -1, 1 << 40] {
            let err = retention("log_group.app", &days(bad)).unwrap_err();
            assert!(err.message.contains("log_group.app"), "{err}");
            assert!(err.message.contains(&format!("= {bad} is not")), "{err}");
            assert!(err.message.contains("14, 30, 60"), "{err}");
        }
    }

    #[test]
    fn a_group_reads_its_arn_without_the_wildcard_suffix() {
        let g = AwsLogGroup::builder()
            .log_group_name("/reconcile/s/app")
            .arn("arn:aws:logs:us-east-1:123456789012:log-group:/reconcile/s/app:*")
            .build();
        let tags = TagMap::from([
            ("team".to_owned(), "web".to_owned()),
            (crate::kinds::STACK_TAG.to_owned(), "s".to_owned()),
        ]);
        let a = group_attrs(&g, &tags);
        assert_eq!(
            a["arn"],
            Value::str("arn:aws:logs:us-east-1:123456789012:log-group:/reconcile/s/app")
        );
        assert_eq!(a["retention_in_days"], Value::Int(0));
        assert_eq!(a["kms_key_id"], Value::str(""));
        assert_eq!(a["tags"].str_map().len(), 1);
    }

    #[test]
    fn a_group_is_named_by_its_arn() {
        let arn = "arn:aws:logs:us-east-1:123456789012:log-group:/reconcile/s/a:b";
        assert_eq!(name_of(arn).as_deref(), Some("/reconcile/s/a:b"));
        assert_eq!(
            name_of(&format!("{arn}:*")).as_deref(),
            Some("/reconcile/s/a:b")
        );
        assert_eq!(name_of("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn only_the_name_forces_replacement() {
        for f in SCHEMA.inputs() {
            assert_eq!(f.force_new, f.name == "name", "{}", f.name);
        }
    }
}
