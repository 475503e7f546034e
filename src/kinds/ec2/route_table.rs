//! `route_table`: the routes of a VPC and the subnets that use them.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, Route, RouteOrigin, RouteTableAssociation};

use super::{BATCH, address_filters, filter, tag_spec};
use crate::aws::ApiError;
use crate::kinds::support::{
    find_by_address, gone_is_ok, pages, present, str_attr, tags_value, update_from, wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct RouteTable;

/// One route: a destination and the gateway traffic to it goes through.
const ROUTE: &[Field] = &[
    Field::new("cidr_block", Type::Cidr)
        .required()
        .doc("The destination, e.g. \"0.0.0.0/0\" (IPv6 blocks are accepted too)."),
    Field::new("gateway_id", Type::String).doc("An internet gateway to send the traffic to."),
    Field::new("nat_gateway_id", Type::String).doc("A NAT gateway to send the traffic to."),
];

static SCHEMA: Schema = Schema {
    kind: "route_table",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A route table: where traffic leaving the associated subnets goes.",
    fields: &[
        Field::new("vpc_id", Type::String)
            .required()
            .force_new()
            .doc("The VPC the table belongs to."),
        Field::new("routes", Type::Set(&Type::Object(ROUTE)))
            .default(Default::EmptyList)
            .doc("Routes besides the VPC's local route, changed in place."),
        Field::new("subnet_ids", Type::Set(&Type::String))
            .default(Default::EmptyList)
            .doc("Subnets explicitly associated with this table, changed in place."),
        TAGS,
        ID,
    ],
};

impl RouteTable {
    /// Every route table matching the filters.
    async fn describe(
        &self,
        cx: Ctx<'_>,
        filters: Vec<Filter>,
    ) -> ApiResult<BTreeMap<String, Attrs>> {
        let tables = pages!(
            cx.aws
                .ec2
                .describe_route_tables()
                .set_filters(Some(filters))
        )?;
        Ok(tables
            .into_iter()
            .filter_map(|t| {
                let id = t.route_table_id()?.to_owned();
                let mut a = Attrs::new();
                a.insert("id".into(), Value::str(&id));
                a.insert("vpc_id".into(), t.vpc_id().into());
                a.insert(
                    "routes".into(),
                    Value::List(t.routes().iter().filter_map(route_value).collect()),
                );
                a.insert("subnet_ids".into(), subnet_ids(t.associations()).into());
                a.insert("tags".into(), tags_value(t.tags()));
                Some((id, a))
            })
            .collect())
    }
}

/// A route as the schema describes it, or None for routes reconcile does not
/// manage: the VPC's `local` route (origin CreateRouteTable) and routes
/// propagated from a virtual private gateway or a route server.
fn route_value(r: &Route) -> Option<Value> {
    if r.origin() != Some(&RouteOrigin::CreateRoute) {
        return None;
    }
    let cidr = r
        .destination_cidr_block()
        .or(r.destination_ipv6_cidr_block())?;
    let mut m = BTreeMap::from([("cidr_block".to_owned(), Value::str(cidr))]);
    if let Some(g) = r.gateway_id() {
        m.insert("gateway_id".into(), Value::str(g));
    }
    if let Some(n) = r.nat_gateway_id() {
        m.insert("nat_gateway_id".into(), Value::str(n));
    }
    Some(Value::Map(m))
}

/// Subnets explicitly associated: the main association has no subnet, and
/// gateway (edge) associations are not subnets.
fn subnet_ids(assocs: &[RouteTableAssociation]) -> Vec<String> {
    let mut ids: Vec<String> = assocs
        .iter()
        .filter(|a| a.main() != Some(true))
        .filter_map(|a| a.subnet_id().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// The non-main associations of a table (subnet and gateway ones), read
/// afresh because the attributes do not carry association ids.
async fn explicit_associations(cx: Ctx<'_>, id: &str) -> ApiResult<Vec<RouteTableAssociation>> {
    let out = cx
        .aws
        .ec2
        .describe_route_tables()
        .filters(filter("route-table-id", [id]))
        .send()
        .await?;
    Ok(out
        .route_tables()
        .iter()
        .flat_map(aws_sdk_ec2::types::RouteTable::associations)
        .filter(|a| a.main() != Some(true) && a.route_table_association_id().is_some())
        .cloned()
        .collect())
}

/// A route of the desired or live attributes, keyed by destination.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RouteSpec {
    cidr: String,
    gateway_id: Option<String>,
    nat_gateway_id: Option<String>,
}

impl RouteSpec {
    fn is_ipv6(&self) -> bool {
        self.cidr.contains(':')
    }
}

fn routes_by_destination(routes: Option<&Value>) -> BTreeMap<String, RouteSpec> {
    routes
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            let m = r.as_map()?;
            let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
            let spec = RouteSpec {
                cidr: s("cidr_block")?,
                gateway_id: s("gateway_id"),
                nat_gateway_id: s("nat_gateway_id"),
            };
            Some((spec.cidr.clone(), spec))
        })
        .collect()
}

/// What to do to bring the live routes to the desired ones. A destination
/// whose target changes is replaced in place (ReplaceRoute), so traffic to it
/// never goes unrouted.
#[derive(Debug, Default, PartialEq)]
struct RouteChanges {
    delete: Vec<RouteSpec>,
    replace: Vec<RouteSpec>,
    create: Vec<RouteSpec>,
}

fn route_changes(live: Option<&Value>, desired: Option<&Value>) -> RouteChanges {
    let before = routes_by_destination(live);
    let after = routes_by_destination(desired);
    let mut changes = RouteChanges::default();
    for (cidr, old) in &before {
        if !after.contains_key(cidr) {
            changes.delete.push(old.clone());
        }
    }
    for (cidr, new) in after {
        match before.get(&cidr) {
            None => changes.create.push(new),
            Some(old) if *old != new => changes.replace.push(new),
            Some(_) => {}
        }
    }
    changes
}

async fn apply_routes(cx: Ctx<'_>, id: &str, changes: RouteChanges) -> ApiResult<()> {
    for r in changes.delete {
        let call = cx.aws.ec2.delete_route().route_table_id(id);
        let call = if r.is_ipv6() {
            call.destination_ipv6_cidr_block(&r.cidr)
        } else {
            call.destination_cidr_block(&r.cidr)
        };
        gone_is_ok(call.send().await)?;
    }
    for r in changes.replace {
        let call = cx.aws.ec2.replace_route().route_table_id(id);
        let call = if r.is_ipv6() {
            call.destination_ipv6_cidr_block(&r.cidr)
        } else {
            call.destination_cidr_block(&r.cidr)
        };
        call.set_gateway_id(r.gateway_id)
            .set_nat_gateway_id(r.nat_gateway_id)
            .send()
            .await?;
    }
    for r in changes.create {
        let call = cx.aws.ec2.create_route().route_table_id(id);
        let call = if r.is_ipv6() {
            call.destination_ipv6_cidr_block(&r.cidr)
        } else {
            call.destination_cidr_block(&r.cidr)
        };
        call.set_gateway_id(r.gateway_id)
            .set_nat_gateway_id(r.nat_gateway_id)
            .send()
            .await?;
    }
    Ok(())
}

fn string_set(a: &Attrs, name: &str) -> BTreeSet<String> {
    a.get(name)
        .map(Value::str_list)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

#[async_trait]
impl Kind for RouteTable {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        BATCH
            .read(ids, |chunk| {
                self.describe(cx, vec![filter("route-table-id", chunk)])
            })
            .await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let out = cx
            .aws
            .ec2
            .create_route_table()
            .set_vpc_id(str_attr(desired, "vpc_id"))
            .tag_specifications(tag_spec(cx, ResourceType::RouteTable, address, desired)?)
            .send()
            .await?;
        let id = out
            .route_table()
            .and_then(|t| t.route_table_id())
            .ok_or_else(|| ApiError::msg("CreateRouteTable returned no id"))?
            .to_owned();
        crate::kinds::created(&id);
        let what = format!("route table {id} to become visible");
        wait_visible(cx.timeouts(self).create, &what, || async {
            let mut found = self
                .describe(cx, vec![filter("route-table-id", [&id])])
                .await?;
            Ok(present(found.remove(&id)))
        })
        .await?;
        // A new table has only its local route and no associations.
        let created = Attrs::from([
            ("routes".to_owned(), Value::List(Vec::new())),
            ("subnet_ids".to_owned(), Value::List(Vec::new())),
            (
                "tags".to_owned(),
                desired.get("tags").cloned().unwrap_or_default(),
            ),
        ]);
        update_from(self, cx, address, &id, &created, desired).await?;
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        if changed.has("routes") {
            apply_routes(
                cx,
                id,
                route_changes(live.get("routes"), desired.get("routes")),
            )
            .await?;
        }
        if changed.has("subnet_ids") {
            let before = string_set(live, "subnet_ids");
            let after = string_set(desired, "subnet_ids");
            // Disassociate first: a subnet has one explicit table at a time.
            if before.iter().any(|s| !after.contains(s)) {
                for a in explicit_associations(cx, id).await? {
                    if let (Some(subnet), Some(assoc)) =
                        (a.subnet_id(), a.route_table_association_id())
                        && !after.contains(subnet)
                    {
                        let r = cx
                            .aws
                            .ec2
                            .disassociate_route_table()
                            .association_id(assoc)
                            .send()
                            .await;
                        gone_is_ok(r)?;
                    }
                }
            }
            for subnet in after.difference(&before) {
                cx.aws
                    .ec2
                    .associate_route_table()
                    .route_table_id(id)
                    .subnet_id(subnet)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // A table with explicit associations cannot be deleted.
        for a in explicit_associations(cx, id).await? {
            if let Some(assoc) = a.route_table_association_id() {
                let r = cx
                    .aws
                    .ec2
                    .disassociate_route_table()
                    .association_id(assoc)
                    .send()
                    .await;
                gone_is_ok(r)?;
            }
        }
        gone_is_ok(
            cx.aws
                .ec2
                .delete_route_table()
                .route_table_id(id)
                .send()
                .await,
        )
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        find_by_address(cx, address, |t| self.describe(cx, address_filters(t))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(origin: RouteOrigin, cidr: &str, gateway: Option<&str>) -> Route {
        Route::builder()
            .origin(origin)
            .destination_cidr_block(cidr)
            .set_gateway_id(gateway.map(str::to_owned))
            .build()
    }

    fn route_attr(cidr: &str, key: &str, target: &str) -> Value {
        Value::Map(BTreeMap::from([
            ("cidr_block".to_owned(), Value::str(cidr)),
            (key.to_owned(), Value::str(target)),
        ]))
    }

    #[test]
    fn only_routes_created_by_create_route_are_read() {
        let routes = [
            route(RouteOrigin::CreateRouteTable, "10.0.0.0/16", Some("local")),
            route(
                RouteOrigin::EnableVgwRoutePropagation,
                "192.168.0.0/16",
                Some("vgw-1"),
            ),
            route(RouteOrigin::CreateRoute, "0.0.0.0/0", Some("igw-1")),
        ];
        let read: Vec<Value> = routes.iter().filter_map(route_value).collect();
        assert_eq!(read, vec![route_attr("0.0.0.0/0", "gateway_id", "igw-1")]);
    }

    #[test]
    fn a_nat_route_reads_with_its_nat_gateway_and_ipv6_routes_keep_their_block() {
        let nat = Route::builder()
            .origin(RouteOrigin::CreateRoute)
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id("nat-1")
            .build();
        assert_eq!(
            route_value(&nat),
            Some(route_attr("0.0.0.0/0", "nat_gateway_id", "nat-1"))
        );
        let v6 = Route::builder()
            .origin(RouteOrigin::CreateRoute)
            .destination_ipv6_cidr_block("::/0")
            .gateway_id("igw-1")
            .build();
        assert_eq!(
            route_value(&v6),
            Some(route_attr("::/0", "gateway_id", "igw-1"))
        );
    }

    #[test]
    fn a_read_route_equals_the_desired_one_after_normalization() {
        let ty = SCHEMA.field("routes").unwrap().ty;
        let read = route_value(&route(RouteOrigin::CreateRoute, "0.0.0.0/0", Some("igw-1")));
        let read = Value::List(read.into_iter().collect());
        let desired = Value::List(vec![route_attr("0.0.0.0/0", "gateway_id", "igw-1")]);
        assert_eq!(ty.normalize(&read), ty.normalize(&desired));
    }

    #[test]
    fn only_explicit_subnet_associations_are_read() {
        let assocs = [
            RouteTableAssociation::builder()
                .main(true)
                .route_table_association_id("a-main")
                .build(),
            RouteTableAssociation::builder()
                .main(false)
                .subnet_id("subnet-b")
                .build(),
            RouteTableAssociation::builder()
                .main(false)
                .gateway_id("igw-1")
                .build(),
            RouteTableAssociation::builder()
                .main(false)
                .subnet_id("subnet-a")
                .build(),
        ];
        assert_eq!(subnet_ids(&assocs), vec!["subnet-a", "subnet-b"]);
    }

    #[test]
    fn a_changed_target_replaces_the_route_and_others_are_created_or_deleted() {
        let live = Value::List(vec![
            route_attr("0.0.0.0/0", "gateway_id", "igw-1"),
            route_attr("10.1.0.0/16", "gateway_id", "igw-1"),
        ]);
        let desired = Value::List(vec![
            route_attr("0.0.0.0/0", "nat_gateway_id", "nat-1"),
            route_attr("10.2.0.0/16", "gateway_id", "igw-1"),
        ]);
        let c = route_changes(Some(&live), Some(&desired));
        let spec = |cidr: &str, g: Option<&str>, n: Option<&str>| RouteSpec {
            cidr: cidr.into(),
            gateway_id: g.map(Into::into),
            nat_gateway_id: n.map(Into::into),
        };
        assert_eq!(c.delete, vec![spec("10.1.0.0/16", Some("igw-1"), None)]);
        assert_eq!(c.replace, vec![spec("0.0.0.0/0", None, Some("nat-1"))]);
        assert_eq!(c.create, vec![spec("10.2.0.0/16", Some("igw-1"), None)]);
    }

    #[test]
    fn equal_routes_need_no_change() {
        let routes = Value::List(vec![route_attr("0.0.0.0/0", "gateway_id", "igw-1")]);
        assert_eq!(
            route_changes(Some(&routes), Some(&routes)),
            RouteChanges::default()
        );
        assert_eq!(route_changes(None, None), RouteChanges::default());
    }

    #[test]
    fn the_vpc_forces_replacement_and_routes_and_subnets_do_not() {
        assert!(SCHEMA.field("vpc_id").unwrap().force_new);
        assert!(!SCHEMA.field("routes").unwrap().force_new);
        assert!(!SCHEMA.field("subnet_ids").unwrap().force_new);
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert_eq!(filled["routes"], Value::List(Vec::new()));
        assert_eq!(filled["subnet_ids"], Value::List(Vec::new()));
    }
}
