//! `iam_instance_profile`: the container that hands an IAM role to EC2
//! instances.

use super::{NAME_MAX, default_name, retry_while_propagating};
use crate::aws::ApiError;
use crate::kinds::support::{
    TagApi, all_matches, create_tags, found, gone_is_ok, is_ours, pages, read_each, str_attr,
    sync_tags_with, tags_value,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};
use async_trait::async_trait;
use aws_sdk_iam::types::{InstanceProfile, Tag};

pub struct IamInstanceProfile;

static SCHEMA: Schema = Schema {
    kind: "iam_instance_profile",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An IAM instance profile: hands a role to EC2 instances.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::IAM_INSTANCE_PROFILE)
            .force_new()
            .doc("The profile name; by default `<stack>-<resource name>` (at most 64 characters)."),
        Field::new("path", Type::String)
            .default(Default::Str("/"))
            .force_new()
            .doc("The path of the profile."),
        Field::new("role", Type::String)
            .unset_is_null()
            .doc("The name of the role the profile holds; \"\" for none. Changed in place."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the profile."),
    ],
};

impl IamInstanceProfile {
    /// One profile by name (GetInstanceProfile, the one call that returns
    /// its tags); `None` when it does not exist.
    async fn describe(&self, cx: Ctx<'_>, name: &str) -> ApiResult<Option<InstanceProfile>> {
        let got = cx
            .aws
            .iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await;
        Ok(found(got.map_err(Into::into))?.and_then(|o| o.instance_profile))
    }
}

fn profile_attrs(p: &InstanceProfile) -> Attrs {
    let role = p.roles().first().map_or("", |r| r.role_name());
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(p.instance_profile_name()));
    a.insert("name".into(), Value::str(p.instance_profile_name()));
    a.insert("path".into(), Value::str(p.path()));
    a.insert("arn".into(), Value::str(p.arn()));
    a.insert("role".into(), Value::str(role));
    a.insert("tags".into(), tags_value(p.tags()));
    a
}

/// A role created a moment ago may be unknown to AddRoleToInstanceProfile
/// for a while: IAM is eventually consistent.
fn role_not_yet_visible(e: &ApiError) -> bool {
    e.is_not_found()
}

async fn add_role(cx: Ctx<'_>, profile: &str, role: &str) -> ApiResult<()> {
    retry_while_propagating(
        &format!("role {role} to become visible to instance profile {profile}"),
        role_not_yet_visible,
        || async {
            cx.aws
                .iam
                .add_role_to_instance_profile()
                .instance_profile_name(profile)
                .role_name(role)
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from)
        },
    )
    .await
}

async fn remove_role(cx: Ctx<'_>, profile: &str, role: &str) -> ApiResult<()> {
    let r = gone_is_ok(
        cx.aws
            .iam
            .remove_role_from_instance_profile()
            .instance_profile_name(profile)
            .role_name(role)
            .send()
            .await,
    );
    match r {
        // An answer lost, and the retry refused (the emulator answers 500,
        // a page, which reads as not implemented): done if the role is no
        // longer in the profile.
        Err(e) if e.outcome_unknown() || e.class == crate::aws::ErrorClass::NotImplemented => {
            let still = IamInstanceProfile
                .describe(cx, profile)
                .await?
                .is_some_and(|p| p.roles().iter().any(|r| r.role_name() == role));
            if still { Err(e) } else { Ok(()) }
        }
        r => r,
    }
}

/// IAM's tag API for instance profiles, on the profile name.
struct ProfileTags;

#[async_trait::async_trait]
impl TagApi for ProfileTags {
    async fn sync(
        &self,
        cx: Ctx<'_>,
        profile: &str,
        live: &Attrs,
        desired: &Attrs,
    ) -> ApiResult<()> {
        let iam = &cx.aws.iam;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| iam
                .tag_instance_profile()
                .instance_profile_name(profile)
                .set_tags(Some(set)),
            |unset| iam
                .untag_instance_profile()
                .instance_profile_name(profile)
                .set_tag_keys(Some(unset)),
        )
    }
}

#[async_trait]
impl Kind for IamInstanceProfile {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&ProfileTags))
    }

    /// IAM has no batched read of instance profiles with their tags
    /// (ListInstanceProfiles leaves tags out): one GetInstanceProfile per
    /// profile, a few at a time.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let reads: Vec<_> = ids
            .iter()
            .map(|name| async move {
                let p = self.describe(cx, name).await?;
                Ok(p.map(|p| (p.instance_profile_name().to_owned(), profile_attrs(&p))))
            })
            .collect();
        read_each(reads).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_else(|| default_name(cx, address, NAME_MAX));
        cx.aws
            .iam
            .create_instance_profile()
            .instance_profile_name(&name)
            .path(str_attr(desired, "path").unwrap_or_else(|| "/".into()))
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await?;
        crate::kinds::created(&name);
        if let Some(role) = str_attr(desired, "role").filter(|r| !r.is_empty()) {
            add_role(cx, &name, &role).await?;
        }
        Ok(name)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        if changed.has("role")
            && let Some(role) = str_attr(desired, "role")
        {
            // A profile holds at most one role: the old one goes first.
            if let Some(old) = str_attr(live, "role").filter(|r| !r.is_empty()) {
                remove_role(cx, id, &old).await?;
            }
            if !role.is_empty() {
                add_role(cx, id, &role).await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // IAM refuses to delete a profile that still holds a role; the role
        // it holds now may differ from the one last read.
        let Some(profile) = self.describe(cx, id).await? else {
            return Ok(());
        };
        for role in profile.roles() {
            remove_role(cx, id, role.role_name()).await?;
        }
        gone_is_ok(
            cx.aws
                .iam
                .delete_instance_profile()
                .instance_profile_name(id)
                .send()
                .await,
        )
    }

    /// The default name first (one call); then every profile of the account,
    /// with GetInstanceProfile for those whose listing carries no tags (real
    /// IAM lists profiles without tags).
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let name = default_name(cx, address, NAME_MAX);
        if let Some(p) = self.describe(cx, &name).await?
            && is_ours(cx, address, p.tags())
        {
            return Ok(Some(name));
        }
        let listed: Vec<InstanceProfile> = pages!(cx.aws.iam.list_instance_profiles())?;
        let checks = listed.iter().map(|p| async move {
            let tagged = if p.tags().is_empty() {
                self.describe(cx, p.instance_profile_name()).await?
            } else {
                Some(p.clone())
            };
            Ok(tagged
                .filter(|t| is_ours(cx, address, t.tags()))
                .map(|t| t.instance_profile_name().to_owned()))
        });
        let ours = all_matches(checks.collect()).await?;
        Ok(ours.into_iter().min())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;
    use crate::kinds::support::SdkTag;
    use std::collections::BTreeMap;

    fn tag(key: &str, value: &str) -> ApiResult<Tag> {
        Tag::from_pair(key.into(), value.into())
    }
    use aws_sdk_iam::types::Role;
    use aws_smithy_types::DateTime;

    fn profile(roles: &[&str]) -> InstanceProfile {
        let mut b = InstanceProfile::builder()
            .instance_profile_name("web")
            .instance_profile_id("AIPA1")
            .path("/")
            .arn("arn:aws:iam::123456789012:instance-profile/web")
            .create_date(DateTime::from_secs(0))
            .set_roles(Some(Vec::new()))
            .tags(tag("reconcile:address", "iam_instance_profile.web").unwrap());
        for r in roles {
            b = b.roles(
                Role::builder()
                    .role_name(*r)
                    .path("/")
                    .role_id("AROA1")
                    .arn(format!("arn:aws:iam::123456789012:role/{r}"))
                    .create_date(DateTime::from_secs(0))
                    .build()
                    .unwrap(),
            );
        }
        b.build().unwrap()
    }

    #[test]
    fn a_profile_reads_its_role_by_name_or_empty_when_it_has_none() {
        let a = profile_attrs(&profile(&["app"]));
        assert_eq!(a["role"], Value::str("app"));
        assert_eq!(a["id"], Value::str("web"));
        assert_eq!(a["tags"], Value::Map(BTreeMap::new()));
        assert_eq!(profile_attrs(&profile(&[]))["role"], Value::str(""));
    }

    #[test]
    fn the_role_changes_in_place_and_the_name_forces_replacement() {
        assert!(!SCHEMA.field("role").unwrap().force_new);
        assert!(SCHEMA.field("name").unwrap().force_new);
        assert!(SCHEMA.field("path").unwrap().force_new);
        let live = profile_attrs(&profile(&["a"]));
        let mut desired = live.clone();
        desired.insert("role".into(), Value::str("b"));
        assert!(Changes::between(&IamInstanceProfile, &live, &desired).has("role"));
        assert!(!Changes::between(&IamInstanceProfile, &live, &desired).has("tags"));
    }
}
