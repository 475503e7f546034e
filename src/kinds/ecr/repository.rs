//! `ecr_repository`: a private container image repository.

use std::collections::BTreeMap;

use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, SdkTag, TagApi, bool_attr, canonical_policy, create_tags, first_match, found,
    gone_is_ok, is_ours, pages, policy_value, read_each, str_attr, sync_tags_with, tags_value,
    update_from,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type, json_text};
use crate::value::{Attrs, Value};
use async_trait::async_trait;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Repository, Tag};

pub struct EcrRepository;

static SCHEMA: Schema = Schema {
    kind: "ecr_repository",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A private ECR repository of container images.",
    fields: &[
        Field::new("name", Type::String)
            .naming(crate::kinds::names::ECR_REPOSITORY).force_new().doc(
            "The repository name; by default `<stack>-<resource name>`, lowercased, `_` as `-`.",
        ),
        Field::new("image_tag_mutability", Type::String)
            .default(Default::Str("MUTABLE"))
            .doc("\"MUTABLE\" or \"IMMUTABLE\": whether a pushed tag may be overwritten."),
        Field::new("scan_on_push", Type::Bool)
            .default(Default::Bool(false))
            .doc("Whether each pushed image is scanned for vulnerabilities."),
        Field::new("lifecycle_policy", Type::Json)
            .unset_is_null()
            .doc("The lifecycle policy (rules expiring images); `{}` for none."),
        Field::new("repository_policy", Type::Json)
            .unset_is_null()
            .doc("The repository policy (who may pull or push); `{}` for none."),
        Field::new("force_delete", Type::Bool)
            .default(Default::Bool(false))
            .doc("Whether deleting the repository deletes the images it holds."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the repository."),
        Field::new("repository_url", Type::String)
            .computed()
            .doc("Where to push and pull: `<registry>.dkr.ecr.<region>.amazonaws.com/<name>`."),
        Field::new("registry_id", Type::String)
            .computed()
            .doc("The account of the registry."),
    ],
};

/// DescribeRepositories takes at most 100 names per call.
const NAMES_PER_CALL: usize = 100;

/// `force_delete` is not an AWS attribute, yet a delete must know it long
/// after the create: it is kept as this tag on the repository.
const FORCE_DELETE_TAG: &str = "reconcile:force-delete";

impl EcrRepository {
    /// The named repositories, one DescribeRepositories per 100 names. AWS
    /// fails the whole call with RepositoryNotFoundException when one of the
    /// names is missing; then the registry's repositories are listed instead
    /// (paginated, once) and filtered.
    async fn describe(&self, cx: Ctx<'_>, names: &[String]) -> ApiResult<Vec<Repository>> {
        let everything = &tokio::sync::OnceCell::new();
        Batch::of(NAMES_PER_CALL)
            .read(names, |chunk| async move {
                let r = cx
                    .aws
                    .ecr
                    .describe_repositories()
                    .set_repository_names(Some(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(ApiError::from);
                match r {
                    Ok(o) => Ok(o.repositories.unwrap_or_default()),
                    Err(e) if e.is_not_found() => {
                        let all = everything.get_or_try_init(|| list_all(cx)).await?;
                        let wanted = |r: &&Repository| {
                            r.repository_name()
                                .is_some_and(|n| chunk.iter().any(|c| c == n))
                        };
                        Ok(all.iter().filter(wanted).cloned().collect())
                    }
                    Err(e) => Err(e),
                }
            })
            .await
    }

    /// The repository's ARN: from its live attributes, or described.
    async fn arn(&self, cx: Ctx<'_>, id: &str, live: &Attrs) -> ApiResult<String> {
        if let Some(arn) = str_attr(live, "arn") {
            return Ok(arn);
        }
        let found = self.describe(cx, &[id.to_owned()]).await?;
        found
            .first()
            .and_then(|r| r.repository_arn())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::msg(format!("repository {id} has no ARN")))
    }

    /// The attributes of the named repositories: the describe above, then
    /// per repository its lifecycle policy, repository policy and tags
    /// (three calls run together; ECR has no batched form of them).
    async fn read(&self, cx: Ctx<'_>, names: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
        let repos = self.describe(cx, names).await?;
        let reads: Vec<_> = repos.iter().map(|r| read_details(cx, r)).collect();
        read_each(reads).await
    }
}

/// Every repository of the registry.
async fn list_all(cx: Ctx<'_>) -> ApiResult<Vec<Repository>> {
    pages!(cx.aws.ecr.describe_repositories().max_results(1000))
}

/// Lifecycle policy, repository policy and tags of one repository; `None`
/// when the repository went away meanwhile.
async fn read_details(cx: Ctx<'_>, repo: &Repository) -> ApiResult<Option<(String, Attrs)>> {
    let ecr = &cx.aws.ecr;
    let name = repo.repository_name().unwrap_or_default();
    let lifecycle = async {
        let r = ecr
            .get_lifecycle_policy()
            .repository_name(name)
            .send()
            .await;
        absent_policy(
            r.map(|o| o.lifecycle_policy_text).map_err(Into::into),
            "LifecyclePolicyNotFoundException",
        )
    };
    let policy = async {
        let r = ecr
            .get_repository_policy()
            .repository_name(name)
            .send()
            .await;
        absent_policy(
            r.map(|o| o.policy_text).map_err(Into::into),
            "RepositoryPolicyNotFoundException",
        )
    };
    let tags = async {
        let arn = repo.repository_arn().unwrap_or_default();
        let r = ecr.list_tags_for_resource().resource_arn(arn).send().await;
        r.map(|o| o.tags.unwrap_or_default())
            .map_err(ApiError::from)
    };
    let Some((lifecycle, policy, tags)) = found(futures::try_join!(lifecycle, policy, tags))?
    else {
        return Ok(None);
    };
    let attrs = repository_attrs(repo, lifecycle.as_deref(), policy.as_deref(), &tags);
    Ok(Some((name.to_owned(), attrs)))
}

/// `Ok(None)` when the answer is that the repository has no such policy
/// (the repository itself being gone stays an error).
fn absent_policy(r: ApiResult<Option<String>>, code: &str) -> ApiResult<Option<String>> {
    match r {
        Err(e) if e.code.as_deref() == Some(code) => Ok(None),
        other => other,
    }
}

fn repository_attrs(
    repo: &Repository,
    lifecycle: Option<&str>,
    policy: Option<&str>,
    tags: &[Tag],
) -> Attrs {
    let name = repo.repository_name().unwrap_or_default();
    let document =
        |text: Option<&str>| text.map_or_else(|| Value::Map(BTreeMap::new()), policy_value);
    let force_delete = tags
        .iter()
        .any(|t| t.key() == FORCE_DELETE_TAG && t.value() == "true");
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(name));
    a.insert("name".into(), Value::str(name));
    a.insert(
        "image_tag_mutability".into(),
        repo.image_tag_mutability()
            .map(aws_sdk_ecr::types::ImageTagMutability::as_str)
            .into(),
    );
    a.insert(
        "scan_on_push".into(),
        Value::Bool(
            repo.image_scanning_configuration()
                .is_some_and(aws_sdk_ecr::types::ImageScanningConfiguration::scan_on_push),
        ),
    );
    a.insert("lifecycle_policy".into(), document(lifecycle));
    a.insert("repository_policy".into(), document(policy));
    a.insert("force_delete".into(), Value::Bool(force_delete));
    a.insert("tags".into(), tags_value(tags));
    a.insert("arn".into(), repo.repository_arn().into());
    a.insert("repository_url".into(), repo.repository_uri().into());
    a.insert("registry_id".into(), repo.registry_id().into());
    a
}

/// `<stack>-<resource name>` as ECR wants names: lowercase, `-` for `_`.
fn default_name(cx: Ctx<'_>, address: &str) -> String {
    crate::kinds::default_name(cx.stack, address)
        .to_lowercase()
        .replace('_', "-")
}

/// A document that says "none": `{}` (or nothing at all).
fn is_none_doc(v: &Value) -> bool {
    match Type::Json.normalize(v) {
        Value::Map(m) => m.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

fn canonical(attrs: &Attrs) -> Attrs {
    let mut a = attrs.clone();
    EcrRepository.canonicalize(&mut a);
    a
}

/// ECR's tag API, on the repository ARN.
struct EcrTags;

#[async_trait::async_trait]
impl TagApi for EcrTags {
    async fn sync(&self, cx: Ctx<'_>, arn: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let ecr = &cx.aws.ecr;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| ecr.tag_resource().resource_arn(arn).set_tags(Some(set)),
            |unset| ecr
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(unset)),
        )
    }
}

/// Whether the repository's tags say it is `address` of this stack.
async fn is_tagged_as(cx: Ctx<'_>, address: &str, repo: &Repository) -> ApiResult<bool> {
    let arn = repo.repository_arn().unwrap_or_default();
    let r = cx
        .aws
        .ecr
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await;
    let tags = found(
        r.map(|o| o.tags.unwrap_or_default())
            .map_err(ApiError::from),
    )?;
    Ok(tags.is_some_and(|t| is_ours(cx, address, &t)))
}

/// Puts the lifecycle policy, or deletes it for a document that says none.
async fn put_lifecycle_policy(cx: Ctx<'_>, id: &str, doc: &Value) -> ApiResult<()> {
    let ecr = &cx.aws.ecr;
    if is_none_doc(doc) {
        let r = ecr
            .delete_lifecycle_policy()
            .repository_name(id)
            .send()
            .await;
        return gone_is_ok(r);
    }
    let call = ecr.put_lifecycle_policy().repository_name(id);
    call.lifecycle_policy_text(json_text(doc)).send().await?;
    Ok(())
}

/// Sets the repository policy, or deletes it for a document that says none.
async fn put_repository_policy(cx: Ctx<'_>, id: &str, doc: &Value) -> ApiResult<()> {
    let ecr = &cx.aws.ecr;
    if is_none_doc(doc) {
        let r = ecr
            .delete_repository_policy()
            .repository_name(id)
            .send()
            .await;
        return gone_is_ok(r);
    }
    let call = ecr.set_repository_policy().repository_name(id);
    call.policy_text(json_text(doc)).send().await?;
    Ok(())
}

/// Keeps `force_delete` as the repository's `FORCE_DELETE_TAG`.
async fn set_force_delete(cx: Ctx<'_>, arn: &str, force: bool) -> ApiResult<()> {
    let ecr = &cx.aws.ecr;
    if force {
        let tag = Tag::from_pair(FORCE_DELETE_TAG.into(), "true".into())?;
        ecr.tag_resource()
            .resource_arn(arn)
            .tags(tag)
            .send()
            .await?;
    } else {
        let call = ecr.untag_resource().resource_arn(arn);
        call.tag_keys(FORCE_DELETE_TAG).send().await?;
    }
    Ok(())
}

#[async_trait]
impl Kind for EcrRepository {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_arn(&EcrTags))
    }

    /// The repository policy compares as an IAM policy, the lifecycle policy
    /// as a JSON document.
    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(doc) = attrs.get_mut("repository_policy") {
            *doc = canonical_policy(doc);
        }
        if let Some(doc) = attrs.get_mut("lifecycle_policy") {
            *doc = Type::Json.normalize(doc);
        }
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        self.read(cx, ids).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_else(|| default_name(cx, address));
        let mut tags = create_tags(cx, address, desired)?;
        let force_delete = bool_attr(desired, "force_delete").unwrap_or(false);
        if force_delete {
            tags.push(Tag::from_pair(FORCE_DELETE_TAG.into(), "true".into())?);
        }
        let mutability =
            str_attr(desired, "image_tag_mutability").unwrap_or_else(|| "MUTABLE".into());
        let scan = bool_attr(desired, "scan_on_push").unwrap_or(false);
        let out = cx
            .aws
            .ecr
            .create_repository()
            .repository_name(&name)
            .image_tag_mutability(ImageTagMutability::from(mutability.as_str()))
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(scan)
                    .build(),
            )
            .set_tags(Some(tags))
            .send()
            .await?;
        crate::kinds::created(&name);
        // Everything but the policies is set by CreateRepository.
        let mut created = canonical(desired);
        created.insert("lifecycle_policy".into(), Value::Map(BTreeMap::new()));
        created.insert("repository_policy".into(), Value::Map(BTreeMap::new()));
        created.insert(
            "arn".into(),
            out.repository().and_then(|r| r.repository_arn()).into(),
        );
        update_from(self, cx, address, &name, &created, desired).await?;
        Ok(name)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        let (live, desired) = (canonical(live), canonical(desired));
        let ecr = &cx.aws.ecr;
        if changed.has("image_tag_mutability")
            && let Some(m) = str_attr(&desired, "image_tag_mutability")
        {
            ecr.put_image_tag_mutability()
                .repository_name(id)
                .image_tag_mutability(ImageTagMutability::from(m.as_str()))
                .send()
                .await?;
        }
        if changed.has("scan_on_push")
            && let Some(scan) = bool_attr(&desired, "scan_on_push")
        {
            ecr.put_image_scanning_configuration()
                .repository_name(id)
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder()
                        .scan_on_push(scan)
                        .build(),
                )
                .send()
                .await?;
        }
        if changed.has("lifecycle_policy")
            && let Some(doc) = desired.get("lifecycle_policy")
        {
            put_lifecycle_policy(cx, id, doc).await?;
        }
        if changed.has("repository_policy")
            && let Some(doc) = desired.get("repository_policy")
        {
            put_repository_policy(cx, id, doc).await?;
        }
        if changed.has("force_delete")
            && let Some(force) = bool_attr(&desired, "force_delete")
        {
            let arn = self.arn(cx, id, &live).await?;
            set_force_delete(cx, &arn, force).await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, live } = op;
        let force = bool_attr(live, "force_delete").unwrap_or(false);
        let r = cx
            .aws
            .ecr
            .delete_repository()
            .repository_name(id)
            .force(force)
            .send()
            .await
            .map(drop)
            .map_err(ApiError::from);
        match r {
            Err(e) if e.code.as_deref() == Some("RepositoryNotEmptyException") => Err(ApiError {
                message: format!(
                    "repository {id} still holds images: delete them, or set \
                     `force_delete = true` and apply before deleting the repository \
                     ({})",
                    e.message
                ),
                ..e
            }),
            r => gone_is_ok(r),
        }
    }

    /// The default name first (two calls); then every repository of the
    /// registry with its tags, a few at a time.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let name = default_name(cx, address);
        for repo in self.describe(cx, std::slice::from_ref(&name)).await? {
            if is_tagged_as(cx, address, &repo).await? {
                return Ok(Some(name));
            }
        }
        let everything = list_all(cx).await?;
        let checks = everything
            .iter()
            .map(|repo| async move {
                let ours = is_tagged_as(cx, address, repo).await?;
                Ok(repo.repository_name().filter(|_| ours).map(str::to_owned))
            })
            .collect();
        first_match(checks).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;

    fn tag(key: &str, value: &str) -> ApiResult<Tag> {
        Tag::from_pair(key.into(), value.into())
    }

    fn repo() -> Repository {
        Repository::builder()
            .repository_name("shop-web")
            .repository_arn("arn:aws:ecr:us-east-1:123456789012:repository/shop-web")
            .repository_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-web")
            .registry_id("123456789012")
            .image_tag_mutability(ImageTagMutability::Immutable)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_repository_without_policies_reads_them_as_empty_documents() {
        let a = repository_attrs(&repo(), None, None, &[]);
        assert_eq!(a["lifecycle_policy"], Value::Map(BTreeMap::new()));
        assert_eq!(a["repository_policy"], Value::Map(BTreeMap::new()));
        assert_eq!(a["image_tag_mutability"], Value::str("IMMUTABLE"));
        assert_eq!(a["scan_on_push"], Value::Bool(true));
        assert_eq!(a["force_delete"], Value::Bool(false));
        assert_eq!(
            a["repository_url"],
            Value::str("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-web")
        );
        assert!(is_none_doc(&a["lifecycle_policy"]));
        assert!(is_none_doc(&Value::str("{}")));
        assert!(!is_none_doc(&Value::str(r#"{"rules":[]}"#)));
    }

    #[test]
    fn force_delete_is_kept_as_a_tag_hidden_from_user_tags() {
        let tags = [
            tag(FORCE_DELETE_TAG, "true").unwrap(),
            tag("team", "web").unwrap(),
        ];
        let a = repository_attrs(&repo(), None, None, &tags);
        assert_eq!(a["force_delete"], Value::Bool(true));
        assert_eq!(a["tags"].str_map().keys().collect::<Vec<_>>(), ["team"]);
    }

    #[test]
    fn policies_compare_by_meaning() {
        let written = Attrs::from([(
            "repository_policy".to_owned(),
            Value::str(
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"ecr:*"}}"#,
            ),
        )]);
        let read = Attrs::from([(
            "repository_policy".to_owned(),
            policy_value(
                r#"{"Statement" : [ {"Action":["ecr:*"],"Principal":{"AWS":["arn:aws:iam::123456789012:root"]},"Effect":"Allow"} ]}"#,
            ),
        )]);
        assert!(
            !Changes::between(&EcrRepository, &canonical(&written), &canonical(&read),)
                .has("repository_policy")
        );
    }

    #[test]
    fn default_names_are_lowercase_without_underscores() {
        let aws = crate::aws::Clients::from_config(
            &aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
        );
        let cx = Ctx { aws: &aws, stack: "Shop" };
        assert_eq!(default_name(cx, "ecr_repository.web_app"), "shop-web-app");
    }

    #[test]
    fn only_the_name_forces_replacement() {
        for f in SCHEMA.inputs() {
            assert_eq!(f.force_new, f.name == "name", "{}", f.name);
        }
    }
}
