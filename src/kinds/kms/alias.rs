//! `kms_alias`: a friendly name (`alias/...`) pointing at a KMS key.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::aws::ApiError;
use crate::kinds::support::{gone_is_ok, pages, str_attr};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Field, ID, Schema, Type};
use crate::value::{Attrs, Value};

pub struct KmsAlias;

static SCHEMA: Schema = Schema {
    kind: "kms_alias",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A KMS alias: a name for a key.",
    fields: &[
        Field::new("name", Type::String)
            .example("\"alias/example\"")
            .naming(crate::kinds::names::KMS_ALIAS)
            .required()
            .force_new()
            .doc("The alias, starting with `alias/`."),
        Field::new("target_key_id", Type::String)
            .example("\"${kms_key.example.id}\"")
            .required()
            .doc("The key it names: a key id or key ARN."),
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The alias ARN."),
    ],
};

/// A key ARN (`arn:aws:kms:…:key/<id>`) and its id name the same key.
fn key_id(v: &str) -> &str {
    v.rsplit_once(":key/").map_or(v, |(_, id)| id)
}

#[async_trait]
impl Kind for KmsAlias {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(Value::Str(k)) = attrs.get_mut("target_key_id") {
            *k = key_id(k).to_owned();
        }
    }

    /// One ListAliases listing answers for every alias.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let aliases = pages!(cx.aws.kms.list_aliases())?;
        Ok(aliases
            .iter()
            .filter_map(|a| {
                let name = a.alias_name()?;
                ids.iter().any(|i| i == name).then(|| {
                    let mut at = Attrs::new();
                    at.insert("id".into(), Value::str(name));
                    at.insert("name".into(), Value::str(name));
                    at.insert("target_key_id".into(), a.target_key_id().into());
                    at.insert("arn".into(), a.alias_arn().into());
                    (name.to_owned(), at)
                })
            })
            .collect())
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_default();
        if !name.starts_with("alias/") || name.starts_with("alias/aws/") {
            return Err(ApiError::msg(format!(
                "{address}: name {name:?} must start with \"alias/\" (and not \"alias/aws/\", which AWS reserves)"
            )));
        }
        cx.aws
            .kms
            .create_alias()
            .alias_name(&name)
            .set_target_key_id(str_attr(desired, "target_key_id"))
            .send()
            .await?;
        Ok(name)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, .. } = op;
        // Only the target can change in place.
        cx.aws
            .kms
            .update_alias()
            .alias_name(id)
            .set_target_key_id(str_attr(desired, "target_key_id"))
            .send()
            .await?;
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let r = cx.aws.kms.delete_alias().alias_name(id).send().await;
        gone_is_ok(r)
    }

    // No `find_by_address`: aliases carry no tags. Their name is unique per account and region,
    // so a retried create fails with AlreadyExists instead of duplicating.

    /// The alias of that name when it already names the desired key: that
    /// key is this stack's, so the alias is what an earlier create made.
    async fn find_created(&self, op: Create<'_>) -> ApiResult<Option<String>> {
        let Create { cx, desired, .. } = op;
        let (Some(name), Some(key)) = (
            str_attr(desired, "name"),
            str_attr(desired, "target_key_id"),
        ) else {
            return Ok(None);
        };
        let found = self.read_many(cx, std::slice::from_ref(&name)).await?;
        Ok(found
            .get(&name)
            .and_then(|a| str_attr(a, "target_key_id"))
            .filter(|k| key_id(k) == key_id(&key))
            .map(|_| name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_arn_and_its_id_compare_equal() {
        assert_eq!(
            key_id("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab"),
            "1234abcd-12ab"
        );
        assert_eq!(key_id("1234abcd-12ab"), "1234abcd-12ab");
    }
}
