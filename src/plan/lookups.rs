//! Reads `[lookups.<name>]`, read-only data referenced like resource
//! attributes, `${lookups.<name>.<attribute>}`, at plan time. What a lookup
//! is (`config::lookup`) is parsed by the loader, which makes no AWS call.

use std::collections::BTreeMap;

use crate::aws::{ApiError, Clients};
pub use crate::config::lookup::{Lookup, LookupKind, address};
use crate::value::{Attrs, Value};

/// Reads every lookup concurrently; keyed by `lookups.<name>`.
pub async fn read_all(
    clients: &Clients,
    lookups: &BTreeMap<String, Lookup>,
) -> Result<BTreeMap<String, Attrs>, ApiError> {
    let reads = lookups.iter().map(|(name, l)| async move {
        let attrs = read(clients, l)
            .await
            .map_err(|e| ApiError { message: format!("lookup `{name}`: {}", e.message), ..e })?;
        Ok::<_, ApiError>((address(name), attrs))
    });
    Ok(futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .collect())
}

async fn read(clients: &Clients, l: &Lookup) -> Result<Attrs, ApiError> {
    let mut a = Attrs::new();
    match l.kind {
        LookupKind::CallerIdentity => {
            let out = clients.sts.get_caller_identity().send().await?;
            a.insert("account_id".into(), out.account().into());
            a.insert("arn".into(), out.arn().into());
            a.insert("user_id".into(), out.user_id().into());
        }
        LookupKind::AvailabilityZones => {
            let out = clients
                .ec2
                .describe_availability_zones()
                .filters(crate::kinds::ec2::filter("state", ["available"]))
                .send()
                .await?;
            let mut zones: Vec<(String, String)> = out
                .availability_zones()
                .iter()
                .filter_map(|z| {
                    Some((
                        z.zone_name()?.to_owned(),
                        z.zone_id().unwrap_or_default().to_owned(),
                    ))
                })
                .collect();
            zones.sort();
            a.insert(
                "names".into(),
                Value::List(zones.iter().map(|z| Value::str(&z.0)).collect()),
            );
            a.insert(
                "zone_ids".into(),
                Value::List(zones.iter().map(|z| Value::str(&z.1)).collect()),
            );
        }
        LookupKind::SsmParameter => {
            let name = l.name.clone().unwrap_or_default();
            let out = clients
                .ssm
                .get_parameter()
                .name(&name)
                .with_decryption(true)
                .send()
                .await?;
            let p = out
                .parameter()
                .ok_or_else(|| ApiError::msg(format!("SSM parameter {name} has no value")))?;
            a.insert("value".into(), p.value().into());
            a.insert("version".into(), Value::Int(p.version()));
        }
        LookupKind::Route53Zone => return route53_zone(clients, l).await,
    }
    Ok(a)
}

/// The hosted zone named `l.name` (of the wanted privacy): one
/// ListHostedZonesByName from that name on, then GetHostedZone for its name
/// servers. None, or two that `private` does not tell apart, is an error.
async fn route53_zone(clients: &Clients, l: &Lookup) -> Result<Attrs, ApiError> {
    let name = l.name.clone().unwrap_or_default();
    let wanted = crate::kinds::support::dns::fqdn(&name);
    let out = clients
        .route53
        .list_hosted_zones_by_name()
        .dns_name(&wanted)
        .max_items(100)
        .send()
        .await?;
    let zones: Vec<_> = out
        .hosted_zones()
        .iter()
        .filter(|z| crate::kinds::support::dns::fqdn(z.name()) == wanted)
        .filter(|z| {
            let private = z
                .config()
                .is_some_and(aws_sdk_route53::types::HostedZoneConfig::private_zone);
            l.private.is_none_or(|p| p == private)
        })
        .collect();
    let zone = match zones.as_slice() {
        [z] => *z,
        [] => return Err(ApiError::msg(format!("no hosted zone named {name}"))),
        _ => {
            return Err(ApiError::msg(format!(
                "{} hosted zones are named {name}: set `private = true` or `false` to choose",
                zones.len()
            )));
        }
    };
    let id = crate::kinds::support::dns::zone_id(zone.id());
    let got = clients.route53.get_hosted_zone().id(&id).send().await?;
    let servers = got
        .delegation_set()
        .map(|d| d.name_servers().iter().map(Value::str).collect())
        .unwrap_or_default();
    let mut a = Attrs::new();
    a.insert("zone_id".into(), Value::str(&id));
    a.insert("name".into(), Value::str(wanted.trim_end_matches('.')));
    a.insert("name_servers".into(), Value::List(servers));
    a.insert(
        "private".into(),
        Value::Bool(
            zone.config()
                .is_some_and(aws_sdk_route53::types::HostedZoneConfig::private_zone),
        ),
    );
    Ok(a)
}
