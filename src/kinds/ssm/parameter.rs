//! `ssm_parameter`: a Parameter Store parameter. Its id is its name. A
//! String or StringList value is read back and compared like any field; a
//! SecureString's value (`secure_value`) is write-only and sensitive, kept
//! in the state as a keyed fingerprint only, and never read back (reading
//! it would need its decryption).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ssm::types::{
    ParameterMetadata, ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging,
    Tag,
};

use crate::aws::ApiError;
use crate::kinds::support::{
    Batch, TagApi, create_tags, found, read_each, str_attr, sync_tags_with, tags_value,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, Rule, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct SsmParameter;

static SCHEMA: Schema = Schema {
    kind: "ssm_parameter",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An SSM Parameter Store parameter: configuration (String, StringList) or a secret (SecureString) for containers' `secrets`: the task's execution role needs ssm:GetParameters on its ARN (and kms:Decrypt on a customer-managed `key_id`).",
    fields: &[
        Field::new("name", Type::String)
            .example("\"/web/database_url\"")
            .naming(crate::kinds::names::SSM_PARAMETER)
            .required()
            .force_new()
            .doc("The parameter's name or path (`/app/db/password`)."),
        Field::new("type", Type::String)
            .one_of(&["String", "StringList", "SecureString"])
            .required()
            .force_new()
            .doc("String, StringList (comma-separated) or SecureString (encrypted with KMS)."),
        Field::new("value", Type::String)
            .unset_is_null()
            .doc("The value of a String or StringList parameter (read back and compared)."),
        Field::new("secure_value", Type::String)
            .example("\"${var.api_key}\"")
            .sensitive()
            .write_only()
            .doc(
                "The value of a SecureString parameter: never shown, never read back, never \
                 stored (a keyed fingerprint is).",
            ),
        Field::new("key_id", Type::String)
            .doc("SecureString only: the KMS key encrypting the value; AWS's `alias/aws/ssm` when unset."),
        Field::new("description", Type::String)
            .default(Default::Str(""))
            .doc("What the parameter is for."),
        Field::new("tier", Type::String)
            .one_of(&["Standard", "Advanced", "Intelligent-Tiering"])
            .default(Default::Str("Standard"))
            .doc("Standard (4 KB, free) or Advanced (8 KB, policies, charged)."),
        TAGS,
        Field::new("id", Type::String)
            .computed()
            .doc("The parameter's name (what `reconcile import` takes)."),
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the parameter: what a container's `secrets` takes."),
        Field::new("version", Type::Int)
            .computed()
            .doc("The version, one more at every change of the value."),
    ],
};

static RULES: &[Rule] = &[
    Rule::Needs { field: "type", is: "String", needs: &["value"] },
    Rule::Needs { field: "type", is: "StringList", needs: &["value"] },
    Rule::Needs { field: "type", is: "SecureString", needs: &["secure_value"] },
];

/// DescribeParameters takes at most 50 names in its filter; GetParameters
/// at most 10.
const DESCRIBE_CHUNK: usize = 50;
const GET_CHUNK: usize = 10;

/// What a parameter's metadata says.
fn metadata_attrs(m: &ParameterMetadata) -> Attrs {
    let mut a = Attrs::new();
    let name = m.name().unwrap_or_default();
    a.insert("id".into(), Value::str(name));
    a.insert("name".into(), Value::str(name));
    a.insert(
        "type".into(),
        m.r#type().map(|t| t.as_str().to_owned()).into(),
    );
    a.insert(
        "description".into(),
        Value::str(m.description().unwrap_or_default()),
    );
    a.insert(
        "tier".into(),
        Value::str(m.tier().map_or("Standard", ParameterTier::as_str)),
    );
    a.insert("key_id".into(), m.key_id().into());
    a.insert("version".into(), Value::Int(m.version()));
    a
}

/// The metadata of every parameter of `names` that exists, by name: one
/// DescribeParameters per 50.
async fn describe(cx: Ctx<'_>, names: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
    Batch::of(DESCRIBE_CHUNK)
        .read(names, |chunk| async move {
            let filter = ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .set_values(Some(chunk.to_vec()))
                .build()
                .map_err(|e| ApiError::msg(format!("building a parameter filter: {e}")))?;
            let mut out = Vec::new();
            let mut token = None;
            loop {
                let page = cx
                    .aws
                    .ssm
                    .describe_parameters()
                    .parameter_filters(filter.clone())
                    .set_next_token(token)
                    .send()
                    .await?;
                out.extend(
                    page.parameters()
                        .iter()
                        .filter_map(|m| Some((m.name()?.to_owned(), metadata_attrs(m)))),
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

/// The ARN and, unless it is a SecureString, the value of each parameter
/// of `names`, by name: one GetParameters (without decryption) per 10.
async fn values(
    cx: Ctx<'_>,
    names: &[String],
) -> ApiResult<BTreeMap<String, (String, Option<String>)>> {
    Batch::of(GET_CHUNK)
        .read(names, |chunk| async move {
            let out = cx
                .aws
                .ssm
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(false)
                .send()
                .await?;
            Ok::<_, ApiError>(
                out.parameters()
                    .iter()
                    .filter_map(|p| {
                        let secure = p.r#type() == Some(&ParameterType::SecureString);
                        let value = p.value().filter(|_| !secure).map(str::to_owned);
                        Some((
                            p.name()?.to_owned(),
                            (p.arn().unwrap_or_default().to_owned(), value),
                        ))
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await
}

async fn tags_of(cx: Ctx<'_>, name: &str) -> ApiResult<Option<Value>> {
    let r = cx
        .aws
        .ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .map_err(ApiError::from);
    Ok(found(r)?.map(|o| tags_value(o.tag_list())))
}

/// Sends the value (PutParameter with Overwrite); the create sends its tags
/// here too (AWS refuses tags with Overwrite).
async fn put(
    cx: Ctx<'_>,
    desired: &Attrs,
    overwrite: bool,
    tags: Option<Vec<Tag>>,
) -> ApiResult<()> {
    let ty = str_attr(desired, "type").unwrap_or_default();
    let secure = ty == "SecureString";
    let value = if secure {
        str_attr(desired, "secure_value")
    } else {
        str_attr(desired, "value")
    };
    cx.aws
        .ssm
        .put_parameter()
        .set_name(str_attr(desired, "name"))
        .r#type(ParameterType::from(ty.as_str()))
        .set_value(value)
        .set_description(str_attr(desired, "description"))
        .set_tier(str_attr(desired, "tier").map(|t| ParameterTier::from(t.as_str())))
        .set_key_id(str_attr(desired, "key_id").filter(|_| secure))
        .overwrite(overwrite)
        .set_tags(tags)
        .send()
        .await?;
    Ok(())
}

/// SSM's tag API, on the parameter name.
struct ParameterTags;

#[async_trait]
impl TagApi for ParameterTags {
    async fn sync(&self, cx: Ctx<'_>, id: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let ssm = &cx.aws.ssm;
        sync_tags_with!(
            live,
            desired,
            |set: Tag| ssm
                .add_tags_to_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(id)
                .set_tags(Some(set)),
            |unset| ssm
                .remove_tags_from_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(id)
                .set_tag_keys(Some(unset)),
        )
    }
}

#[async_trait]
impl Kind for SsmParameter {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&ParameterTags))
    }

    fn rules(&self) -> &'static [Rule] {
        RULES
    }

    /// One DescribeParameters per 50 names and one GetParameters per 10
    /// (the ARN and a plain value); the tags one ListTagsForResource each,
    /// SSM having no batched form.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(LiveMap::new());
        }
        let mut live = describe(cx, ids).await?;
        let names: Vec<String> = live.keys().cloned().collect();
        let mut got = values(cx, &names).await?;
        let reads: Vec<_> = names
            .iter()
            .map(|n| async move {
                let tags = tags_of(cx, n).await?;
                Ok(tags.map(|t| (n.clone(), Attrs::from([("tags".to_owned(), t)]))))
            })
            .collect();
        let tags = read_each(reads).await?;
        for (name, a) in &mut live {
            let (arn, value) = got.remove(name).unwrap_or_default();
            a.insert("arn".into(), Value::str(arn));
            a.insert("value".into(), value.into());
            if let Some(t) = tags.get(name) {
                a.extend(t.clone());
            }
        }
        Ok(live.into_iter().filter(|(n, _)| ids.contains(n)).collect())
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name")
            .ok_or_else(|| ApiError::msg(format!("{address}: `name` is required")))?;
        put(cx, desired, false, Some(create_tags(cx, address, desired)?)).await?;
        crate::kinds::created(&name);
        Ok(name)
    }

    /// Any change but the tags is one PutParameter with Overwrite, which
    /// sends the value again: a SecureString's only when its fingerprint
    /// changed or it is sent anyway with the same value (a new version).
    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, desired, changed, .. } = op;
        if changed.sets_any(&["value", "secure_value", "key_id", "description", "tier"]) {
            put(cx, desired, true, None).await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let r = cx.aws.ssm.delete_parameter().name(id).send().await;
        crate::kinds::support::gone_is_ok(r.map(drop).map_err(ApiError::from))
    }

    /// A parameter's name is its id and given in the desired state: the
    /// one found under it is the create's if it carries its tags.
    async fn find_created(&self, op: Create<'_>) -> ApiResult<Option<String>> {
        let Some(name) = str_attr(op.desired, "name") else {
            return Ok(None);
        };
        let r = op
            .cx
            .aws
            .ssm
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(&name)
            .send()
            .await
            .map_err(ApiError::from);
        let Some(r) = found(r)? else {
            return Ok(None);
        };
        let ours = crate::kinds::support::is_ours(op.cx, op.address, r.tag_list());
        Ok(ours.then_some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_reads_back_type_tier_and_description() {
        let m = ParameterMetadata::builder()
            .name("/web/url")
            .r#type(ParameterType::StringList)
            .version(3)
            .build();
        let a = metadata_attrs(&m);
        assert_eq!(a["id"], Value::str("/web/url"));
        assert_eq!(a["type"], Value::str("StringList"));
        assert_eq!(a["tier"], Value::str("Standard"));
        assert_eq!(a["description"], Value::str(""));
        assert_eq!(a["version"], Value::Int(3));
    }

    #[test]
    fn each_type_needs_its_own_value_field() {
        let fields = SCHEMA.fields;
        let m = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::str(*v)))
                .collect::<BTreeMap<_, _>>()
        };
        let secure = m(&[("type", "SecureString"), ("value", "x")]);
        let broken: Vec<_> = RULES
            .iter()
            .filter_map(|r| r.problem(fields, &secure))
            .collect();
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert!(broken[0].1.contains("secure_value"), "{broken:?}");
        let plain = m(&[("type", "String"), ("value", "x")]);
        assert!(RULES.iter().all(|r| r.problem(fields, &plain).is_none()));
    }
}
