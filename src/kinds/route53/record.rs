//! `route53_record`: one record set of a hosted zone, plain (a TTL and
//! values) or an alias to a load balancer or a CloudFront distribution.
//! Its id is `<zone id>_<name>_<type>` (Terraform's). Created and changed
//! by an UPSERT, deleted by a DELETE of what was last read; each waits
//! until the change is INSYNC. Record sets carry no tags.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_route53::types::{
    AliasTarget, ChangeAction, ResourceRecord, ResourceRecordSet, RrType,
};
use futures::StreamExt;

use super::{bare, fqdn};
use crate::aws::ApiError;
use crate::kinds::support::{READ_CONCURRENCY, dns, str_attr, str_field, table};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Timeouts, Update};
use crate::schema::{Default, Field, Schema, Type};
use crate::value::{Attrs, Value};

pub struct Route53Record;

const ALIAS: &[Field] = &[
    Field::new("name", Type::String).required().doc(
        "The DNS name of the target: a load balancer's `dns_name`, a distribution's `domain_name`.",
    ),
    Field::new("zone_id", Type::String).required().doc(
        "The target's hosted zone: a load balancer's `zone_id`; \"Z2FDTNDATAQYW2\" for CloudFront.",
    ),
    Field::new("evaluate_target_health", Type::Bool)
        .default(Default::Bool(false))
        .doc("Answer only while the target is healthy."),
];

static SCHEMA: Schema = Schema {
    kind: "route53_record",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A DNS record set of a Route 53 hosted zone: values with a TTL, or an alias to a load balancer or a CloudFront distribution.",
    fields: &[
        Field::new("zone_id", Type::String)
            .example("\"${route53_zone.example.zone_id}\"")
            .required()
            .force_new()
            .doc("The hosted zone."),
        Field::new("name", Type::String)
            .example("\"www.example.com\"")
            .required()
            .force_new()
            .doc("The record's full domain name (`*.` for a wildcard)."),
        Field::new("type", Type::String)
            .one_of(&[
                "A", "AAAA", "CAA", "CNAME", "DS", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV", "TXT",
            ])
            .required()
            .force_new()
            .doc("The record type."),
        Field::new("ttl", Type::Range(0, 2_147_483_647))
            .unset_is_null()
            .doc("Seconds resolvers cache the answer (plain records)."),
        Field::new("records", Type::Set(&Type::String))
            .unset_is_null()
            .doc("The values (plain records; a TXT value in double quotes)."),
        Field::new("alias", Type::Object(ALIAS))
            .unset_is_null()
            .doc("An alias instead of values: answers with the target's addresses."),
        Field::new("id", Type::String)
            .computed()
            .doc("`<zone id>_<name>_<type>` (what `reconcile import` takes)."),
        Field::new("fqdn", Type::String)
            .computed()
            .doc("The record's domain name."),
    ],
};

/// The id of the record set `name`/`ty` of `zone`.
pub fn record_id(zone: &str, name: &str, ty: &str) -> String {
    format!("{zone}_{}_{ty}", bare(name))
}

/// Zone, name and type of an id (a zone id has no `_`; a name may).
fn parse_id(id: &str) -> Option<(&str, &str, &str)> {
    let (zone, rest) = id.split_once('_')?;
    let (name, ty) = rest.rsplit_once('_')?;
    Some((zone, name, ty))
}

fn record_attrs(zone: &str, r: &ResourceRecordSet) -> Attrs {
    let name = bare(r.name());
    let ty = r.r#type().as_str();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(record_id(zone, &name, ty)));
    a.insert("zone_id".into(), Value::str(zone));
    a.insert("name".into(), Value::str(&name));
    a.insert("fqdn".into(), Value::str(&name));
    a.insert("type".into(), Value::str(ty));
    a.insert("ttl".into(), r.ttl().into());
    let values: Vec<Value> = r
        .resource_records()
        .iter()
        .map(|v| Value::str(v.value()))
        .collect();
    a.insert(
        "records".into(),
        if values.is_empty() {
            Value::Null
        } else {
            Value::List(values)
        },
    );
    let alias = r.alias_target().map_or(Value::Null, |t| {
        table([
            ("name", Value::str(bare(t.dns_name()))),
            ("zone_id", Value::str(t.hosted_zone_id())),
            (
                "evaluate_target_health",
                Value::Bool(t.evaluate_target_health()),
            ),
        ])
    });
    a.insert("alias".into(), alias);
    a
}

/// The record set `attrs` describe, as ChangeResourceRecordSets takes it.
/// Values and an alias together, or neither, are refused with the address.
fn record_set(address: &str, attrs: &Attrs) -> ApiResult<ResourceRecordSet> {
    let err = |m: String| ApiError::msg(format!("{address}: {m}"));
    let name = str_attr(attrs, "name").ok_or_else(|| err("`name` is required".into()))?;
    let ty = str_attr(attrs, "type").ok_or_else(|| err("`type` is required".into()))?;
    let records = attrs
        .get("records")
        .filter(|v| !v.is_null())
        .map(Value::str_list);
    let alias = attrs.get("alias").filter(|v| !v.is_null());
    let ttl = attrs.get("ttl").and_then(Value::as_int);
    let mut set = ResourceRecordSet::builder()
        .name(fqdn(&name))
        .r#type(RrType::from(ty.as_str()));
    match (records, alias) {
        (Some(values), None) => {
            let ttl = ttl.ok_or_else(|| err("a record with `records` needs `ttl`".into()))?;
            set = set.ttl(ttl);
            for v in values {
                set = set.resource_records(
                    ResourceRecord::builder()
                        .value(v)
                        .build()
                        .map_err(|e| err(format!("building a record value: {e}")))?,
                );
            }
        }
        (None, Some(alias)) => {
            let a = Some(alias);
            let target = AliasTarget::builder()
                .set_dns_name(str_field(a, "name"))
                .set_hosted_zone_id(str_field(a, "zone_id"))
                .evaluate_target_health(
                    alias
                        .as_map()
                        .and_then(|m| m.get("evaluate_target_health"))
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                )
                .build()
                .map_err(|e| err(format!("`alias`: {e}")))?;
            set = set.alias_target(target);
        }
        _ => {
            return Err(err(
                "set either `records` (with `ttl`) or `alias`, not both".into(),
            ));
        }
    }
    set.build()
        .map_err(|e| err(format!("building the record set: {e}")))
}

/// Sends one change of one record set and waits until it is INSYNC.
async fn change(
    cx: Ctx<'_>,
    zone: &str,
    action: ChangeAction,
    set: ResourceRecordSet,
    timeout: std::time::Duration,
) -> ApiResult<()> {
    dns::change_records(cx, zone, vec![(action, set)], timeout).await
}

/// Every record set of a zone, by id; `None` when the zone is gone.
/// Weighted, latency and other routing policies are not modelled: a set
/// with an identifier is not this kind's.
async fn zone_records(cx: Ctx<'_>, zone: &str) -> ApiResult<Option<LiveMap>> {
    Ok(dns::zone_record_sets(cx, zone).await?.map(|sets| {
        sets.iter()
            .map(|set| record_attrs(zone, set))
            .filter_map(|a| Some((a.get("id")?.as_str()?.to_owned(), a)))
            .collect()
    }))
}

#[async_trait]
impl Kind for Route53Record {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(Value::Str(n)) = attrs.get_mut("name") {
            *n = bare(n);
        }
        if let Some(Value::Map(m)) = attrs.get_mut("alias")
            && let Some(Value::Str(n)) = m.get_mut("name")
        {
            *n = bare(n);
        }
    }

    /// One listing per zone (ListResourceRecordSets, paginated), a few
    /// zones at a time: one call for all the records of a zone.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let mut by_zone: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in ids {
            if let Some((zone, _, _)) = parse_id(id) {
                by_zone.entry(zone.to_owned()).or_default().push(id.clone());
            }
        }
        let reads: Vec<_> = by_zone
            .into_iter()
            .map(|(zone, wanted)| async move {
                let mut all = zone_records(cx, &zone).await?.unwrap_or_default();
                Ok::<_, ApiError>(
                    wanted
                        .into_iter()
                        .filter_map(|id| all.remove_entry(&id))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let reads = futures::stream::iter(reads)
            .buffer_unordered(READ_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut live = LiveMap::new();
        for r in reads {
            live.extend(r?);
        }
        Ok(live)
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let set = record_set(address, desired)?;
        let zone = str_attr(desired, "zone_id")
            .ok_or_else(|| ApiError::msg(format!("{address}: `zone_id` is required")))?;
        let id = record_id(&zone, set.name(), set.r#type().as_str());
        change(
            cx,
            &zone,
            ChangeAction::Upsert,
            set,
            cx.timeouts(self).create,
        )
        .await?;
        crate::kinds::created(&id);
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, address, desired, changed, .. } = op;
        if changed.any(&["ttl", "records", "alias"]) {
            let set = record_set(address, desired)?;
            let zone = str_attr(desired, "zone_id").unwrap_or_default();
            change(
                cx,
                &zone,
                ChangeAction::Upsert,
                set,
                cx.timeouts(self).update,
            )
            .await?;
        }
        Ok(())
    }

    /// A DELETE must name the record set exactly as it is: the one last
    /// read. Gone (or its zone gone) counts as deleted.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, live } = op;
        let Some((zone, _, _)) = parse_id(id) else {
            return Err(ApiError::msg(format!(
                "{id} is not a record id (<zone>_<name>_<type>)"
            )));
        };
        // What is there now, not what was seen at plan time.
        let mut current = zone_records(cx, zone).await?.unwrap_or_default();
        let Some(now) = current.remove(id) else {
            return Ok(());
        };
        let _ = live;
        let set = record_set(id, &now)?;
        let r = change(
            cx,
            zone,
            ChangeAction::Delete,
            set,
            cx.timeouts(self).delete,
        )
        .await;
        match r {
            Err(e) if e.is_not_found() || e.message.contains("not found") => Ok(()),
            other => other,
        }
    }

    /// Records carry no tags; an UPSERT is idempotent, so the record set at
    /// the desired name and type is the one a lost create made.
    async fn find_created(&self, op: Create<'_>) -> ApiResult<Option<String>> {
        let (Some(zone), Some(name), Some(ty)) = (
            str_attr(op.desired, "zone_id"),
            str_attr(op.desired, "name"),
            str_attr(op.desired, "type"),
        ) else {
            return Ok(None);
        };
        let id = record_id(&zone, &name, &ty);
        Ok(self
            .read_many(op.cx, std::slice::from_ref(&id))
            .await?
            .contains_key(&id)
            .then_some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_names_zone_name_and_type_and_parses_back() {
        let id = record_id("Z1", "_abc.Example.com.", "CNAME");
        assert_eq!(id, "Z1__abc.example.com_CNAME");
        assert_eq!(parse_id(&id), Some(("Z1", "_abc.example.com", "CNAME")));
        assert_eq!(parse_id("nonsense"), None);
    }

    #[test]
    fn values_or_an_alias_but_not_both_nor_neither() {
        let attrs = |pairs: Vec<(&str, Value)>| -> Attrs {
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
        };
        let plain = attrs(vec![
            ("name", Value::str("www.example.com")),
            ("type", Value::str("A")),
            ("ttl", Value::Int(60)),
            ("records", Value::List(vec![Value::str("10.0.0.1")])),
        ]);
        let set = record_set("route53_record.www", &plain).unwrap();
        assert_eq!(set.name(), "www.example.com.");
        assert_eq!(set.ttl(), Some(60));
        let read = record_attrs("Z1", &set);
        assert_eq!(read["records"], Value::List(vec![Value::str("10.0.0.1")]));
        assert_eq!(read["alias"], Value::Null);

        let alias = table([
            ("name", Value::str("web-1.us-east-1.elb.amazonaws.com")),
            ("zone_id", Value::str("Z35SXDOTRQ7X7K")),
        ]);
        let mut both = plain.clone();
        both.insert("alias".into(), alias.clone());
        let e = record_set("route53_record.www", &both).unwrap_err();
        assert!(
            e.message.starts_with("route53_record.www: set either"),
            "{e}"
        );
        let only_alias = attrs(vec![
            ("name", Value::str("www.example.com")),
            ("type", Value::str("A")),
            ("alias", alias),
        ]);
        let set = record_set("route53_record.www", &only_alias).unwrap();
        let read = record_attrs("Z1", &set);
        assert_eq!(read["ttl"], Value::Null);
        assert_eq!(
            read["alias"].as_map().unwrap()["evaluate_target_health"],
            Value::Bool(false)
        );
    }
}
