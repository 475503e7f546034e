//! `service_discovery_service`: a Cloud Map service in a namespace — the DNS
//! records (A, AAAA, SRV) under which the tasks of an ECS service that
//! names it in `service_registries` are found.

use async_trait::async_trait;
use aws_sdk_servicediscovery::types::{
    DnsConfig, DnsConfigChange, DnsRecord, HealthCheckCustomConfig, OperationTargetType,
    RecordType, RoutingPolicy, Service, ServiceChange,
};

use super::{tags_attr, tags_of, wait_operation};
use crate::aws::ApiError;
use crate::kinds::support::{
    client_token, create_tags, find_by_address, found, read_each, retry_while_in_use, str_attr,
    str_field, table, tag_pairs,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct ServiceDiscoveryService;

const DNS_RECORD: &[Field] = &[
    Field::new("type", Type::String)
        .required()
        .one_of(&["A", "AAAA", "SRV", "CNAME"])
        .doc("\"A\" (awsvpc tasks' addresses), \"SRV\" (address and port), \"AAAA\" or \"CNAME\"."),
    Field::new("ttl", Type::Range(0, 2_147_483_647))
        .default(Default::Int(60))
        .doc("Seconds resolvers cache the record."),
];

static SCHEMA: Schema = Schema {
    kind: "service_discovery_service",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A Cloud Map service in a `service_discovery_namespace`: the DNS records of \
                  the tasks of an ECS service that lists it in `service_registries`.",
    fields: &[
        Field::new("name", Type::String)
            .example("\"worker\"")
            .required()
            .force_new()
            .doc("The first label of the DNS name: `worker` is `worker.<namespace>`."),
        Field::new("namespace_id", Type::String)
            .example("\"${service_discovery_namespace.example.id}\"")
            .required()
            .force_new()
            .doc("The namespace, e.g. `${service_discovery_namespace.internal.id}`."),
        Field::new("description", Type::String).doc("A description."),
        Field::new("routing_policy", Type::String)
            .default(Default::Str("MULTIVALUE"))
            .one_of(&["MULTIVALUE", "WEIGHTED"])
            .force_new()
            .doc("\"MULTIVALUE\" (up to eight healthy records) or \"WEIGHTED\" (one at random)."),
        Field::new("dns_records", Type::Set(&Type::Object(DNS_RECORD)))
            .required()
            .min_items(1)
            .doc("The records made for each task, e.g. [{ type = \"A\", ttl = 10 }]."),
        Field::new("health_check_custom", Type::Bool)
            .default(Default::Bool(false))
            .force_new()
            .doc(
                "Whether the records follow health that ECS reports (a custom health check \
                  config): true for ECS services.",
            ),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The service ARN, which `ecs_service.service_registries` takes."),
    ],
};

fn service_attrs(s: &Service, tags: &[aws_sdk_servicediscovery::types::Tag]) -> Attrs {
    let dns = s.dns_config();
    let records = dns.map(DnsConfig::dns_records).unwrap_or_default();
    let mut a = Attrs::new();
    a.insert("id".into(), s.id().into());
    a.insert("arn".into(), s.arn().into());
    a.insert("name".into(), s.name().into());
    a.insert("namespace_id".into(), s.namespace_id().into());
    a.insert("description".into(), s.description().into());
    a.insert(
        "routing_policy".into(),
        dns.and_then(DnsConfig::routing_policy)
            .map(RoutingPolicy::as_str)
            .into(),
    );
    a.insert(
        "dns_records".into(),
        Value::List(
            records
                .iter()
                .map(|r| {
                    table([
                        ("type", Value::str(r.r#type().as_str())),
                        ("ttl", Value::Int(r.ttl())),
                    ])
                })
                .collect(),
        ),
    );
    a.insert(
        "health_check_custom".into(),
        Value::Bool(s.health_check_custom_config().is_some()),
    );
    a.insert("tags".into(), tags_attr(tags));
    a
}

fn dns_records(desired: &Attrs) -> ApiResult<Vec<DnsRecord>> {
    desired
        .get("dns_records")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let ttl = r
                .as_map()
                .and_then(|m| m.get("ttl"))
                .and_then(Value::as_int)
                .unwrap_or(60);
            DnsRecord::builder()
                .set_type(str_field(Some(r), "type").map(|t| RecordType::from(t.as_str())))
                .ttl(ttl)
                .build()
                .map_err(|e| ApiError::msg(e.to_string()))
        })
        .collect()
}

impl ServiceDiscoveryService {
    /// One service with its tags; `None` when it is gone. Cloud Map has no
    /// describe of many services with their namespace (ListServices'
    /// summaries leave it out).
    async fn describe(&self, cx: Ctx<'_>, id: &str) -> ApiResult<Option<(String, Attrs)>> {
        let sd = &cx.aws.servicediscovery;
        let Some(out) = found(sd.get_service().id(id).send().await.map_err(ApiError::from))? else {
            return Ok(None);
        };
        let Some(s) = out.service else {
            return Ok(None);
        };
        let Some(tags) = found(tags_of(cx, s.arn().unwrap_or_default()).await)? else {
            return Ok(None);
        };
        Ok(Some((id.to_owned(), service_attrs(&s, &tags))))
    }
}

#[async_trait]
impl Kind for ServiceDiscoveryService {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_arn(&super::CloudMapTags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let reads: Vec<_> = ids.iter().map(|id| self.describe(cx, id)).collect();
        read_each(reads).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_default();
        let namespace = str_attr(desired, "namespace_id").unwrap_or_default();
        let dns = DnsConfig::builder()
            .set_routing_policy(
                str_attr(desired, "routing_policy").map(|p| RoutingPolicy::from(p.as_str())),
            )
            .set_dns_records(Some(dns_records(desired)?))
            .build()
            .map_err(|e| ApiError::msg(e.to_string()))?;
        // Its one setting (a failure threshold) is retired: AWS always uses 1.
        let custom = (desired.get("health_check_custom") == Some(&Value::Bool(true)))
            .then(|| HealthCheckCustomConfig::builder().build());
        let out = cx
            .aws
            .servicediscovery
            .create_service()
            .name(&name)
            .namespace_id(&namespace)
            .set_description(str_attr(desired, "description"))
            .creator_request_id(client_token([cx.stack, address, &name, &namespace]))
            .dns_config(dns)
            .set_health_check_custom_config(custom)
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await?;
        let id = out
            .service()
            .and_then(Service::id)
            .ok_or_else(|| ApiError::msg("CreateService returned no id"))?
            .to_owned();
        crate::kinds::created(&id);
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        if changed.sets_any(&["description", "dns_records"]) {
            // UpdateService replaces the whole DNS configuration: what it
            // leaves out is deleted, so both are always sent.
            let change = ServiceChange::builder()
                .set_description(str_attr(desired, "description"))
                .dns_config(
                    DnsConfigChange::builder()
                        .set_dns_records(Some(dns_records(desired)?))
                        .build()
                        .map_err(|e| ApiError::msg(e.to_string()))?,
                )
                .build();
            let out = cx
                .aws
                .servicediscovery
                .update_service()
                .id(id)
                .service(change)
                .send()
                .await?;
            if let Some(operation) = out.operation_id() {
                wait_operation(
                    cx,
                    operation,
                    OperationTargetType::Service,
                    cx.timeouts(self).update,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Refused while instances are registered (ResourceInUse): ECS
    /// deregisters a deleted service's tasks in its own time.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        retry_while_in_use(
            cx.timeouts(self).delete,
            &format!("Cloud Map service {id} to be deleted"),
            || async {
                cx.aws
                    .servicediscovery
                    .delete_service()
                    .id(id)
                    .send()
                    .await
                    .map(drop)
                    .map_err(ApiError::from)
            },
        )
        .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t| async move {
            let mut ours = Vec::new();
            let pages: Vec<_> = cx
                .aws
                .servicediscovery
                .list_services()
                .into_paginator()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(ApiError::from)?;
            let services = pages.into_iter().flat_map(
                |p: aws_sdk_servicediscovery::operation::list_services::ListServicesOutput| {
                    p.services.unwrap_or_default()
                },
            );
            for s in services {
                let (Some(id), Some(arn)) = (s.id(), s.arn()) else {
                    continue;
                };
                let Some(tags) = found(tags_of(cx, arn).await)? else {
                    continue;
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
    use crate::kinds::support::SdkTag;

    fn desired() -> Attrs {
        SCHEMA.with_defaults(&Attrs::from([
            ("name".to_owned(), Value::str("worker")),
            ("namespace_id".to_owned(), Value::str("ns-1")),
            (
                "dns_records".to_owned(),
                Value::List(vec![
                    table([("type", Value::str("SRV")), ("ttl", Value::Int(10))]),
                    table([("type", Value::str("A"))]),
                ]),
            ),
            ("health_check_custom".to_owned(), Value::Bool(true)),
        ]))
    }

    #[test]
    fn a_described_service_reads_as_its_inputs() {
        let d = desired();
        let dns = DnsConfig::builder()
            .routing_policy(RoutingPolicy::Multivalue)
            .set_dns_records(Some(dns_records(&d).unwrap()))
            .build()
            .unwrap();
        let s = Service::builder()
            .id("srv-1")
            .arn("arn:aws:servicediscovery:us-east-1:1:service/srv-1")
            .name("worker")
            .namespace_id("ns-1")
            .dns_config(dns)
            .health_check_custom_config(HealthCheckCustomConfig::builder().build())
            .build();
        let tags =
            [
                aws_sdk_servicediscovery::types::Tag::from_pair(
                    "reconcile:stack".into(),
                    "s".into(),
                )
                .unwrap(),
            ];
        let live = service_attrs(&s, &tags);
        let changes = Changes::between(&ServiceDiscoveryService, &live, &d);
        assert!(!changes.fields().any(|f| changes.sets(f)), "{changes:?}");
        for f in SCHEMA.field_names() {
            assert!(live.contains_key(f), "read leaves out {f}");
        }
    }

    #[test]
    fn records_and_the_description_change_in_place() {
        for f in SCHEMA.inputs() {
            let in_place = matches!(f.name, "description" | "dns_records" | "tags");
            assert_eq!(f.force_new, !in_place, "{}", f.name);
        }
    }
}
