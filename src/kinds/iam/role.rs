//! `iam_role`: an IAM role — who may assume it (the trust policy) and what it
//! may do (inline policies and attached managed policies).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_iam::types::{EntityType, Role, RoleDetail, Tag};

use super::{NAME_MAX, default_name, retry_while_propagating};
use crate::aws::ApiError;
use crate::kinds::support::{
    Poll, TagApi, Waiter, canonical_policy, create_tags, found, gone_is_ok, is_ours, pages,
    policy_value, read_each, str_attr, sync_tags_with, tags_value, to_i32, update_from,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type, json_text};
use crate::value::{Attrs, Value};

pub struct IamRole;

static SCHEMA: Schema = Schema {
    kind: "iam_role",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An IAM role: who may assume it and what it may do.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::IAM_ROLE)
            .force_new()
            .doc("The role name; by default `<stack>-<resource name>` (at most 64 characters)."),
        Field::new("path", Type::String)
            .default(Default::Str("/"))
            .force_new()
            .doc("The path of the role, e.g. \"/service/\"."),
        Field::new("assume_role_policy", Type::Json)
            .doc("The trust policy: who may assume the role. Give this or `assume_role_services`."),
        Field::new("assume_role_services", Type::List(&Type::String)).doc(
            "Shorthand for a trust policy letting these services assume the role, \
             e.g. [\"ecs-tasks.amazonaws.com\"]. Give this or `assume_role_policy`.",
        ),
        Field::new("inline_policies", Type::Map(&Type::Json))
            .default(Default::EmptyMap)
            .doc("Inline policies by name; each is put or deleted on its own."),
        Field::new("managed_policy_arns", Type::Set(&Type::Arn))
            .default(Default::EmptyList)
            .doc("ARNs of managed policies attached to the role."),
        Field::new("max_session_duration", Type::Int)
            .default(Default::Int(3600))
            .doc("Longest session, in seconds (3600 to 43200)."),
        Field::new("description", Type::String)
            .unset_is_null()
            .doc("A description of the role."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the role."),
        Field::new("unique_id", Type::String)
            .computed()
            .doc("The stable unique id IAM gives the role (AROA…)."),
    ],
};

/// ListRoles and GetAccountAuthorizationDetails answer at most 1000 per page.
const PAGE: i32 = 1000;

impl IamRole {
    /// The `wanted` roles, in two paginated calls run together, whatever
    /// their number:
    /// GetAccountAuthorizationDetails (inline policies, attached policies,
    /// tags) and ListRoles (description, session duration, which the former
    /// lacks). A role missing from either answer is left out.
    async fn describe(
        &self,
        cx: Ctx<'_>,
        wanted: &BTreeSet<&str>,
    ) -> ApiResult<BTreeMap<String, Attrs>> {
        let keep = |name: &str| wanted.contains(name);
        let (details, listed) = futures::try_join!(details(cx, keep), listed(cx, keep))?;
        let listed: BTreeMap<&str, &Role> = listed.iter().map(|r| (r.role_name(), r)).collect();
        Ok(details
            .iter()
            .filter_map(|d| {
                let role = listed.get(d.role_name()?)?;
                Some((role.role_name().to_owned(), detail_attrs(role, d)))
            })
            .collect())
    }

    /// The same answer as `read_many`, read role by role (GetRole,
    /// ListRolePolicies, GetRolePolicy each, ListAttachedRolePolicies): 3 + k
    /// calls per role with k inline policies. `read_many` falls back to it
    /// when the account-wide read is not allowed.
    pub async fn read_each(
        &self,
        cx: Ctx<'_>,
        ids: &[String],
    ) -> ApiResult<BTreeMap<String, Attrs>> {
        let reads: Vec<_> = ids.iter().map(|name| read_one(cx, name)).collect();
        read_each(reads).await
    }
}

/// The authorization details (policies, tags) of the roles `keep` accepts,
/// every page of GetAccountAuthorizationDetails.
async fn details(cx: Ctx<'_>, keep: impl Fn(&str) -> bool) -> ApiResult<Vec<RoleDetail>> {
    let mut pages = cx
        .aws
        .iam
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .max_items(PAGE)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let roles = page?.role_detail_list.unwrap_or_default();
        out.extend(
            roles
                .into_iter()
                .filter(|r| r.role_name().is_some_and(&keep)),
        );
    }
    Ok(out)
}

/// The roles `keep` accepts, every page of ListRoles.
async fn listed(cx: Ctx<'_>, keep: impl Fn(&str) -> bool) -> ApiResult<Vec<Role>> {
    let mut pages = cx
        .aws
        .iam
        .list_roles()
        .max_items(PAGE)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        out.extend(page?.roles.into_iter().filter(|r| keep(r.role_name())));
    }
    Ok(out)
}

/// The attributes of a role from its ListRoles entry and its account
/// authorization details.
fn detail_attrs(role: &Role, d: &RoleDetail) -> Attrs {
    let inline = d
        .role_policy_list()
        .iter()
        .filter_map(|p| Some((p.policy_name()?, p.policy_document()?)));
    let managed = d
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn());
    role_attrs(role, inline, managed, d.tags())
}

fn role_attrs<'a>(
    role: &Role,
    inline: impl Iterator<Item = (&'a str, &'a str)>,
    managed: impl Iterator<Item = &'a str>,
    tags: &[Tag],
) -> Attrs {
    let inline: BTreeMap<String, Value> = inline
        .map(|(name, doc)| (name.to_owned(), policy_value(doc)))
        .collect();
    let managed: BTreeSet<&str> = managed.collect();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(role.role_name()));
    a.insert("name".into(), Value::str(role.role_name()));
    a.insert("path".into(), Value::str(role.path()));
    a.insert("arn".into(), Value::str(role.arn()));
    a.insert("unique_id".into(), Value::str(role.role_id()));
    a.insert(
        "assume_role_policy".into(),
        role.assume_role_policy_document()
            .map_or(Value::Null, policy_value),
    );
    a.insert("inline_policies".into(), Value::Map(inline));
    a.insert(
        "managed_policy_arns".into(),
        Value::List(managed.into_iter().map(Value::str).collect()),
    );
    a.insert(
        "max_session_duration".into(),
        Value::Int(role.max_session_duration().map_or(3600, i64::from)),
    );
    a.insert(
        "description".into(),
        Value::str(role.description().unwrap_or_default()),
    );
    a.insert("tags".into(), tags_value(tags));
    a
}

/// One role read on its own; `None` when it is gone.
async fn read_one(cx: Ctx<'_>, name: &str) -> ApiResult<Option<(String, Attrs)>> {
    let iam = &cx.aws.iam;
    let got = found(
        iam.get_role()
            .role_name(name)
            .send()
            .await
            .map_err(Into::into),
    )?;
    let Some(role) = got.and_then(|o| o.role) else {
        return Ok(None);
    };
    let names = async { pages!(iam.list_role_policies().role_name(name)) };
    let attached = async { pages!(iam.list_attached_role_policies().role_name(name)) };
    let Some((names, attached)) = found(futures::try_join!(names, attached))? else {
        return Ok(None);
    };
    let docs = futures::future::try_join_all(names.iter().map(|policy| async move {
        let out = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await?;
        Ok::<_, ApiError>((policy.clone(), out.policy_document))
    }));
    let Some(docs) = found(docs.await)? else {
        return Ok(None);
    };
    let attrs = role_attrs(
        &role,
        docs.iter().map(|(n, d)| (n.as_str(), d.as_str())),
        attached.iter().filter_map(|p| p.policy_arn()),
        role.tags(),
    );
    Ok(Some((name.to_owned(), attrs)))
}

/// The trust policy of `assume_role_services`.
fn services_policy(services: &Value) -> Value {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": services.to_json() },
            "Action": "sts:AssumeRole",
        }],
    });
    Value::from_json(&doc)
}

/// The trust policy to send: exactly one of the two fields must be given.
fn trust_policy(address: &str, desired: &Attrs) -> ApiResult<String> {
    let given = |f: &str| desired.get(f).filter(|v| !v.is_null());
    match (given("assume_role_policy"), given("assume_role_services")) {
        (Some(doc), None) => Ok(json_text(doc)),
        (None, Some(services)) => Ok(json_text(&services_policy(services))),
        (Some(_), Some(_)) => Err(ApiError::msg(format!(
            "{address}: give either `assume_role_policy` or `assume_role_services`, not both"
        ))),
        (None, None) => Err(ApiError::msg(format!(
            "{address}: a role needs a trust policy: set `assume_role_policy`, or \
             `assume_role_services` (e.g. [\"ecs-tasks.amazonaws.com\"])"
        ))),
    }
}

/// IAM rejects a trust policy naming a principal (a role) created a moment
/// ago until the new principal has propagated.
fn principal_not_yet_visible(e: &ApiError) -> bool {
    e.code.as_deref() == Some("MalformedPolicyDocument") && e.message.contains("Invalid principal")
}

/// The account-wide read needs `iam:GetAccountAuthorizationDetails`, which
/// a narrowly scoped deployer may lack.
fn access_denied(e: &ApiError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| c.starts_with("AccessDenied"))
}

fn canonical(attrs: &Attrs) -> Attrs {
    let mut a = attrs.clone();
    IamRole.canonicalize(&mut a);
    a
}

fn int_attr(a: &Attrs, name: &str) -> ApiResult<Option<i32>> {
    match a.get(name) {
        Some(v @ Value::Int(_)) => to_i32(v, name),
        _ => Ok(None),
    }
}

/// Puts every inline policy that is new or changed and deletes those no
/// longer desired, one call each.
async fn sync_inline_policies(
    cx: Ctx<'_>,
    role: &str,
    live: &Attrs,
    desired: &Attrs,
) -> ApiResult<()> {
    let policies = |a: &Attrs| a.get("inline_policies").and_then(Value::as_map).cloned();
    let Some(after) = policies(desired) else {
        return Ok(());
    };
    let before = policies(live).unwrap_or_default();
    for (name, doc) in &after {
        if before.get(name) != Some(doc) {
            cx.aws
                .iam
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(json_text(doc))
                .send()
                .await?;
        }
    }
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        gone_is_ok(
            cx.aws
                .iam
                .delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await,
        )?;
    }
    Ok(())
}

/// Attaches the managed policies that are new and detaches the dropped ones.
async fn sync_managed_policies(
    cx: Ctx<'_>,
    role: &str,
    live: &Attrs,
    desired: &Attrs,
) -> ApiResult<()> {
    let arns = |a: &Attrs| -> BTreeSet<String> {
        a.get("managed_policy_arns")
            .map(Value::str_list)
            .unwrap_or_default()
            .into_iter()
            .collect()
    };
    if !desired.contains_key("managed_policy_arns") {
        return Ok(());
    }
    let (before, after) = (arns(live), arns(desired));
    for arn in after.difference(&before) {
        cx.aws
            .iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await?;
    }
    for arn in before.difference(&after) {
        detach(cx, role, arn).await?;
    }
    Ok(())
}

async fn detach(cx: Ctx<'_>, role: &str, arn: &str) -> ApiResult<()> {
    gone_is_ok(
        cx.aws
            .iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await,
    )
}

/// IAM's tag API for roles, on the role name.
struct RoleTags;

#[async_trait::async_trait]
impl TagApi for RoleTags {
    async fn sync(&self, cx: Ctx<'_>, role: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let iam = &cx.aws.iam;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| iam.tag_role().role_name(role).set_tags(Some(set)),
            |unset| iam.untag_role().role_name(role).set_tag_keys(Some(unset)),
        )
    }
}

/// Detaches every managed policy, deletes every inline policy and takes the
/// role out of every instance profile, as IAM wants before DeleteRole.
/// Read fresh rather than from the last read: something may have been
/// added since.
async fn empty_role(cx: Ctx<'_>, role: &str) -> ApiResult<()> {
    let iam = &cx.aws.iam;
    let attached = async { pages!(iam.list_attached_role_policies().role_name(role)) };
    let inline = async { pages!(iam.list_role_policies().role_name(role)) };
    let profiles = async { pages!(iam.list_instance_profiles_for_role().role_name(role)) };
    let Some((attached, inline, profiles)) = found(futures::try_join!(attached, inline, profiles))?
    else {
        return Ok(());
    };
    for arn in attached.iter().filter_map(|p| p.policy_arn()) {
        detach(cx, role, arn).await?;
    }
    for name in &inline {
        gone_is_ok(
            iam.delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await,
        )?;
    }
    for profile in &profiles {
        gone_is_ok(
            iam.remove_role_from_instance_profile()
                .instance_profile_name(profile.instance_profile_name())
                .role_name(role)
                .send()
                .await,
        )?;
    }
    Ok(())
}

#[async_trait]
impl Kind for IamRole {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&RoleTags))
    }

    /// `assume_role_services` becomes the trust policy it stands for, and
    /// every policy document takes its canonical form, so that the diff
    /// compares documents by meaning.
    fn canonicalize(&self, attrs: &mut Attrs) {
        let services = attrs.get("assume_role_services").filter(|v| !v.is_null());
        let policy = attrs.get("assume_role_policy").filter(|v| !v.is_null());
        if let (Some(services), None) = (services, policy) {
            let doc = services_policy(services);
            attrs.insert("assume_role_policy".into(), doc);
            attrs.remove("assume_role_services");
        }
        if let Some(doc) = attrs.get_mut("assume_role_policy") {
            *doc = canonical_policy(doc);
        }
        if let Some(Value::Map(policies)) = attrs.get_mut("inline_policies") {
            for doc in policies.values_mut() {
                *doc = canonical_policy(doc);
            }
        }
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        match self.describe(cx, &wanted).await {
            Err(e) if access_denied(&e) => self.read_each(cx, ids).await,
            other => other,
        }
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_else(|| default_name(cx, address, NAME_MAX));
        let trust = trust_policy(address, desired)?;
        let tags = create_tags(cx, address, desired)?;
        let description = str_attr(desired, "description").filter(|d| !d.is_empty());
        let max_session = int_attr(desired, "max_session_duration")?;
        retry_while_propagating(
            &format!("IAM to accept the trust policy of role {name}"),
            principal_not_yet_visible,
            || async {
                cx.aws
                    .iam
                    .create_role()
                    .role_name(&name)
                    .path(str_attr(desired, "path").unwrap_or_else(|| "/".into()))
                    .assume_role_policy_document(&trust)
                    .set_description(description.clone())
                    .set_max_session_duration(max_session)
                    .set_tags(Some(tags.clone()))
                    .send()
                    .await
                    .map_err(ApiError::from)
            },
        )
        .await?;
        crate::kinds::created(&name);
        // Everything but the policies is set by CreateRole.
        let mut created = canonical(desired);
        created.insert("inline_policies".into(), Value::Map(BTreeMap::new()));
        created.insert("managed_policy_arns".into(), Value::List(Vec::new()));
        update_from(self, cx, address, &name, &created, desired).await?;
        Ok(name)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, address, id, live, desired, changed } = op;
        let (live, desired) = (canonical(live), canonical(desired));
        let iam = &cx.aws.iam;
        if changed.has("assume_role_policy") || desired.contains_key("assume_role_services") {
            let trust = trust_policy(address, &desired)?;
            retry_while_propagating(
                &format!("IAM to accept the trust policy of role {id}"),
                principal_not_yet_visible,
                || async {
                    iam.update_assume_role_policy()
                        .role_name(id)
                        .policy_document(&trust)
                        .send()
                        .await
                        .map_err(ApiError::from)
                },
            )
            .await?;
        }
        let description = str_attr(&desired, "description").filter(|_| changed.has("description"));
        let max_session = int_attr(&desired, "max_session_duration")?
            .filter(|_| changed.has("max_session_duration"));
        if description.is_some() || max_session.is_some() {
            iam.update_role()
                .role_name(id)
                .set_description(description)
                .set_max_session_duration(max_session)
                .send()
                .await?;
        }
        if changed.has("inline_policies") {
            sync_inline_policies(cx, id, &live, &desired).await?;
        }
        if changed.has("managed_policy_arns") {
            sync_managed_policies(cx, id, &live, &desired).await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // DeleteConflict means something still hangs on the role (attached
        // out of band meanwhile, or IAM not yet consistent): empty it again.
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("role {id} to be deleted"), || async {
                empty_role(cx, id).await?;
                let r = cx.aws.iam.delete_role().role_name(id).send().await;
                match r.map(drop).map_err(ApiError::from) {
                    Ok(()) => Ok(Poll::Ready(())),
                    Err(e) if e.is_not_found() => Ok(Poll::Ready(())),
                    Err(e) if e.code.as_deref() == Some("DeleteConflict") => {
                        Ok(Poll::Pending(e.to_string()))
                    }
                    Err(e) => Err(e),
                }
            })
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        match details(cx, |_| true).await {
            Ok(roles) => Ok(roles
                .iter()
                .find(|r| is_ours(cx, address, r.tags()))
                .and_then(|r| r.role_name().map(str::to_owned))),
            // Without the account-wide read, only the default name is tried.
            Err(e) if access_denied(&e) => {
                let name = default_name(cx, address, NAME_MAX);
                let got = cx.aws.iam.get_role().role_name(&name).send().await;
                let ours = found(got.map_err(Into::into))?
                    .and_then(|o| o.role)
                    .is_some_and(|r| is_ours(cx, address, r.tags()));
                Ok(ours.then_some(name))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;
    use crate::kinds::support::SdkTag;

    fn tag(key: &str, value: &str) -> ApiResult<Tag> {
        Tag::from_pair(key.into(), value.into())
    }
    use aws_sdk_iam::types::{AttachedPolicy, PolicyDetail};
    use aws_smithy_types::DateTime;

    fn role(name: &str, trust: &str) -> Role {
        Role::builder()
            .role_name(name)
            .path("/")
            .role_id("AROA1")
            .arn(format!("arn:aws:iam::123456789012:role/{name}"))
            .create_date(DateTime::from_secs(0))
            .assume_role_policy_document(trust)
            .build()
            .unwrap()
    }

    fn services(names: &[&str]) -> Value {
        Value::List(names.iter().map(|s| Value::str(*s)).collect())
    }

    #[test]
    fn assume_role_services_become_the_trust_policy_they_stand_for() {
        let mut short = Attrs::from([(
            "assume_role_services".to_owned(),
            services(&["ecs-tasks.amazonaws.com"]),
        )]);
        IamRole.canonicalize(&mut short);
        assert!(!short.contains_key("assume_role_services"));
        let mut full = Attrs::from([(
            "assume_role_policy".to_owned(),
            Value::str(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            ),
        )]);
        IamRole.canonicalize(&mut full);
        assert_eq!(short, full);
    }

    #[test]
    fn exactly_one_trust_policy_field_must_be_given() {
        let err = trust_policy("iam_role.x", &Attrs::new()).unwrap_err();
        assert!(err.message.contains("needs a trust policy"), "{err}");
        let both = Attrs::from([
            ("assume_role_policy".to_owned(), Value::str("{}")),
            ("assume_role_services".to_owned(), services(&["a"])),
        ]);
        let err = trust_policy("iam_role.x", &both).unwrap_err();
        assert!(err.message.contains("not both"), "{err}");
        let one = Attrs::from([("assume_role_services".to_owned(), services(&["a"]))]);
        let text = trust_policy("iam_role.x", &one).unwrap();
        assert!(text.contains(r#""Service":["a"]"#), "{text}");
    }

    #[test]
    fn a_role_reads_with_decoded_documents_and_sorted_policy_arns() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        let detail = RoleDetail::builder()
            .role_name("app")
            .role_policy_list(
                PolicyDetail::builder()
                    .policy_name("logs")
                    .policy_document(encoded)
                    .build(),
            )
            .attached_managed_policies(AttachedPolicy::builder().policy_arn("arn:b").build())
            .attached_managed_policies(AttachedPolicy::builder().policy_arn("arn:a").build())
            .tags(tag("team", "web").unwrap())
            .tags(tag("reconcile:stack", "s").unwrap())
            .build();
        let a = detail_attrs(&role("app", encoded), &detail);
        let doc = policy_value(r#"{"Version":"2012-10-17","Statement":[]}"#);
        assert_eq!(a["assume_role_policy"], doc);
        assert_eq!(a["inline_policies"].as_map().unwrap()["logs"], doc);
        assert_eq!(
            a["managed_policy_arns"],
            Value::List(vec![Value::str("arn:a"), Value::str("arn:b")])
        );
        assert_eq!(a["tags"].str_map().len(), 1);
        assert_eq!(a["max_session_duration"], Value::Int(3600));
        assert_eq!(a["description"], Value::str(""));
        assert_eq!(
            (&a["id"], &a["name"]),
            (&Value::str("app"), &Value::str("app"))
        );
    }

    #[test]
    fn inline_policies_compare_by_meaning() {
        let loose =
            Value::str(r#"{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}"#);
        let aws = policy_value(
            "%7B%22Statement%22%3A%5B%7B%22Resource%22%3A%5B%22%2A%22%5D%2C%22Action%22%3A%5B%22logs%3A%2A%22%5D%2C%22Effect%22%3A%22Allow%22%7D%5D%7D",
        );
        let attrs = |doc: Value| {
            canonical(&Attrs::from([(
                "inline_policies".to_owned(),
                Value::Map(BTreeMap::from([("p".to_owned(), doc)])),
            )]))
        };
        assert!(!Changes::between(&IamRole, &attrs(loose), &attrs(aws),).has("inline_policies"));
    }

    #[test]
    fn identity_forces_replacement_and_policies_change_in_place() {
        for f in ["name", "path"] {
            assert!(SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        for f in [
            "assume_role_policy",
            "inline_policies",
            "managed_policy_arns",
            "max_session_duration",
            "description",
            "tags",
        ] {
            assert!(!SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert_eq!(filled["path"], Value::str("/"));
        assert_eq!(filled["max_session_duration"], Value::Int(3600));
        assert!(!filled.contains_key("name"));
    }

    #[test]
    fn only_an_invalid_principal_is_waited_out() {
        let err = |code: &str, message: &str| ApiError {
            code: Some(code.into()),
            message: message.into(),
            class: crate::aws::error::classify_code(code),
        };
        assert!(principal_not_yet_visible(&err(
            "MalformedPolicyDocument",
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/new\""
        )));
        assert!(!principal_not_yet_visible(&err(
            "MalformedPolicyDocument",
            "Syntax errors in policy."
        )));
    }
}
