//! `service_discovery_namespace`: a Cloud Map private DNS namespace in a
//! VPC (a Route 53 private hosted zone that ECS services register in).
//!
//! Creating and deleting are asynchronous: the calls answer an operation,
//! waited on with GetOperation.

use async_trait::async_trait;
use aws_sdk_servicediscovery::types::{
    NamespaceFilter, NamespaceFilterName, NamespaceSummary, NamespaceType, OperationTargetType,
    PrivateDnsNamespaceChange, Tag,
};

use super::{tags_attr, tags_of, wait_operation};
use crate::aws::ApiError;
use crate::kinds::support::{
    SdkTag, client_token, create_tags, find_by_address, gone_is_ok, read_each, retry_while_in_use,
    str_attr, tag_pairs,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Field, ID, Schema, TAGS, Type};
use crate::value::Attrs;

pub struct ServiceDiscoveryNamespace;

/// GetNamespace does not report the VPC of a private namespace: the VPC it
/// was created in (which never changes) is kept as this tag.
const VPC_TAG: &str = "reconcile:vpc";

static SCHEMA: Schema = Schema {
    kind: "service_discovery_namespace",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A Cloud Map private DNS namespace in a VPC, e.g. `internal.local`: ECS \
                  services registered in its `service_discovery_service`s are found by DNS \
                  names inside the VPC.",
    fields: &[
        Field::new("name", Type::String)
            .example("\"internal.local\"")
            .required()
            .force_new()
            .doc("The DNS domain, e.g. \"internal.local\"."),
        Field::new("vpc", Type::String)
            .example("\"${vpc.example.id}\"")
            .required()
            .force_new()
            .doc(
                "The VPC whose DNS resolves the namespace's names. Cloud Map does not report \
                  it: reconcile keeps it as the namespace's `reconcile:vpc` tag. A namespace \
                  imported from outside has none: tag it first, or the plan replaces it.",
            ),
        Field::new("description", Type::String).doc("A description."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The namespace ARN."),
        Field::new("hosted_zone_id", Type::String)
            .computed()
            .doc("The Route 53 private hosted zone Cloud Map made for it."),
    ],
};

fn namespace_attrs(n: &NamespaceSummary, tags: &[Tag]) -> Attrs {
    let vpc = tag_pairs(tags).find(|(k, _)| *k == VPC_TAG).map(|(_, v)| v);
    let zone = n
        .properties()
        .and_then(|p| p.dns_properties())
        .and_then(|d| d.hosted_zone_id());
    let mut a = Attrs::new();
    a.insert("id".into(), n.id().into());
    a.insert("arn".into(), n.arn().into());
    a.insert("name".into(), n.name().into());
    a.insert("vpc".into(), vpc.into());
    a.insert("description".into(), n.description().into());
    a.insert("hosted_zone_id".into(), zone.into());
    a.insert("tags".into(), tags_attr(tags));
    a
}

impl ServiceDiscoveryNamespace {
    /// Every private DNS namespace of the account and region, in one
    /// paginated ListNamespaces (Cloud Map has no describe by ids).
    async fn list(&self, cx: Ctx<'_>) -> ApiResult<Vec<NamespaceSummary>> {
        let filter = NamespaceFilter::builder()
            .name(NamespaceFilterName::Type)
            .values(NamespaceType::DnsPrivate.as_str())
            .build()
            .map_err(|e| ApiError::msg(e.to_string()))?;
        let call = cx.aws.servicediscovery.list_namespaces().filters(filter);
        let pages: Vec<_> = call
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(ApiError::from)?;
        Ok(pages
            .into_iter()
            .flat_map(
                |p: aws_sdk_servicediscovery::operation::list_namespaces::ListNamespacesOutput| {
                    p.namespaces.unwrap_or_default()
                },
            )
            .collect())
    }

    /// The namespaces of `ids` with their tags (one tag read each).
    async fn describe(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(LiveMap::new());
        }
        let ours: Vec<NamespaceSummary> = self
            .list(cx)
            .await?
            .into_iter()
            .filter(|n| n.id().is_some_and(|id| ids.iter().any(|i| i == id)))
            .collect();
        let reads: Vec<_> = ours
            .iter()
            .map(|n| async move {
                let (Some(id), Some(arn)) = (n.id(), n.arn()) else {
                    return Ok(None);
                };
                // Deleted between the list and the tag read: gone.
                let tags = match tags_of(cx, arn).await {
                    Err(e) if e.is_not_found() => return Ok(None),
                    other => other?,
                };
                Ok(Some((id.to_owned(), namespace_attrs(n, &tags))))
            })
            .collect();
        read_each(reads).await
    }
}

#[async_trait]
impl Kind for ServiceDiscoveryNamespace {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_arn(&super::CloudMapTags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        self.describe(cx, ids).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_default();
        let vpc = str_attr(desired, "vpc").unwrap_or_default();
        let mut tags: Vec<Tag> = create_tags(cx, address, desired)?;
        tags.push(Tag::from_pair(VPC_TAG.into(), vpc.clone())?);
        // The same token for a retried call: Cloud Map answers the first
        // operation instead of starting a second.
        let token = client_token([cx.stack, address, &name, &vpc]);
        let out = cx
            .aws
            .servicediscovery
            .create_private_dns_namespace()
            .name(&name)
            .vpc(&vpc)
            .set_description(str_attr(desired, "description"))
            .creator_request_id(token)
            .set_tags(Some(tags))
            .send()
            .await?;
        let operation = out.operation_id().unwrap_or_default().to_owned();
        let id = wait_operation(
            cx,
            &operation,
            OperationTargetType::Namespace,
            cx.timeouts(self).create,
        )
        .await?
        .ok_or_else(|| ApiError::msg(format!("operation {operation} named no namespace")))?;
        crate::kinds::created(&id);
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        if changed.sets("description") {
            let change = PrivateDnsNamespaceChange::builder()
                .set_description(str_attr(desired, "description"))
                .build();
            let out = cx
                .aws
                .servicediscovery
                .update_private_dns_namespace()
                .id(id)
                .namespace(change)
                .send()
                .await?;
            let operation = out.operation_id().unwrap_or_default();
            wait_operation(
                cx,
                operation,
                OperationTargetType::Namespace,
                cx.timeouts(self).update,
            )
            .await?;
        }
        Ok(())
    }

    /// Refused while services remain in the namespace (ResourceInUse): the
    /// graph deletes them first, and Cloud Map may take a moment to see
    /// them gone.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let timeout = cx.timeouts(self).delete;
        let operation = std::sync::Mutex::new(None);
        retry_while_in_use(
            timeout,
            &format!("namespace {id} to be deleted"),
            || async {
                let out = cx
                    .aws
                    .servicediscovery
                    .delete_namespace()
                    .id(id)
                    .send()
                    .await
                    .map_err(ApiError::from)?;
                if let Ok(mut slot) = operation.lock() {
                    *slot = out.operation_id;
                }
                Ok(())
            },
        )
        .await?;
        let started = operation.lock().ok().and_then(|mut o| o.take());
        if let Some(operation) = started {
            gone_is_ok(
                wait_operation(cx, &operation, OperationTargetType::Namespace, timeout).await,
            )?;
        }
        Ok(())
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t| async move {
            let mut ours = Vec::new();
            for n in self.list(cx).await? {
                let (Some(id), Some(arn)) = (n.id(), n.arn()) else {
                    continue;
                };
                let tags = match tags_of(cx, arn).await {
                    Err(e) if e.is_not_found() => continue,
                    other => other?,
                };
                if t.matches(tag_pairs(&tags)) {
                    ours.push(id.to_owned());
                }
            }
            Ok(ours)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;
    use crate::value::Value;
    use aws_sdk_servicediscovery::types::{DnsProperties, NamespaceProperties};

    #[test]
    fn a_listed_namespace_reads_as_its_inputs_with_the_vpc_from_its_tag() {
        let n = NamespaceSummary::builder()
            .id("ns-1")
            .arn("arn:aws:servicediscovery:us-east-1:1:namespace/ns-1")
            .name("internal.local")
            .r#type(NamespaceType::DnsPrivate)
            .description("apps")
            .properties(
                NamespaceProperties::builder()
                    .dns_properties(DnsProperties::builder().hosted_zone_id("Z1").build())
                    .build(),
            )
            .build();
        let tags = [
            Tag::from_pair(VPC_TAG.into(), "vpc-1".into()).unwrap(),
            Tag::from_pair("team".into(), "ops".into()).unwrap(),
            Tag::from_pair("reconcile:stack".into(), "s".into()).unwrap(),
        ];
        let live = namespace_attrs(&n, &tags);
        let desired = SCHEMA.with_defaults(&Attrs::from([
            ("name".to_owned(), Value::str("internal.local")),
            ("vpc".to_owned(), Value::str("vpc-1")),
            ("description".to_owned(), Value::str("apps")),
            (
                "tags".to_owned(),
                Value::from(std::collections::BTreeMap::from([(
                    "team".to_owned(),
                    "ops".to_owned(),
                )])),
            ),
        ]));
        let changes = Changes::between(&ServiceDiscoveryNamespace, &live, &desired);
        assert!(!changes.fields().any(|f| changes.sets(f)), "{changes:?}");
        assert_eq!(live["hosted_zone_id"], Value::str("Z1"));
        for f in SCHEMA.field_names() {
            assert!(live.contains_key(f), "read leaves out {f}");
        }
    }

    #[test]
    fn only_the_description_and_tags_change_in_place() {
        for f in SCHEMA.inputs() {
            let in_place = matches!(f.name, "description" | "tags");
            assert_eq!(f.force_new, !in_place, "{}", f.name);
        }
    }
}
