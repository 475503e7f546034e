//! Reads `[lookups.<name>]`, read-only data referenced like resource
//! attributes, `${lookups.<name>.<attribute>}`, at plan time. What a lookup
//! is (`config::lookup`) is parsed by the loader, which makes no AWS call.

use std::collections::BTreeMap;

use crate::aws::{ApiError, Clients};
pub use crate::config::lookup::{Lookup, LookupKind, StateSource, address};
use crate::value::{Attrs, Value};

/// Reads every lookup concurrently; keyed by `lookups.<name>`.
pub async fn read_all(
    clients: &Clients,
    lookups: &BTreeMap<String, Lookup>,
) -> Result<BTreeMap<String, Attrs>, ApiError> {
    let reads = lookups.iter().map(|(name, l)| async move {
        let attrs = read(clients, l).await.map_err(|e| ApiError {
            message: format!("{}: lookup `{name}`: {}", l.at, e.message),
            ..e
        })?;
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
        LookupKind::StackOutputs => {
            let source = l
                .state
                .as_ref()
                .ok_or_else(|| ApiError::msg("no state to read"))?;
            let state = read_state(clients, source).await?.ok_or_else(|| {
                ApiError::msg(format!(
                    "no state at {source}: apply that stack first (or point `path` / `bucket` and `key` where it keeps its state)"
                ))
            })?;
            a.insert("stack".into(), Value::str(&state.stack));
            a.insert(
                "outputs".into(),
                Value::Map(readable_outputs(state.outputs)),
            );
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

/// Another stack's state, read without taking its lock (that stack may be
/// applying; its last saved outputs are what it published).
async fn read_state(
    clients: &Clients,
    source: &StateSource,
) -> Result<Option<crate::state::State>, ApiError> {
    let state = match source {
        StateSource::File(path) => crate::state::local::read(path),
        StateSource::S3 { bucket, key, region } => {
            let own = clients.s3.config().region().map(|r| r.as_ref().to_owned());
            let region = region.clone().or(own).unwrap_or_default();
            let backend = crate::config::Backend {
                bucket: bucket.clone(),
                key: key.clone(),
                region: region.clone(),
                assume_role: None,
            };
            let other;
            let client = if clients.s3.config().region().map(AsRef::as_ref) == Some(region.as_str())
            {
                &clients.s3
            } else {
                other = Clients::s3_for(&region, None, "lookup", crate::aws::MAX_ATTEMPTS).await;
                &other
            };
            crate::state::s3::read(client, &backend).await
        }
    };
    state.map_err(|e| ApiError::msg(e.to_string()))
}

/// The outputs another stack recorded, but for sensitive ones: the state
/// holds only their fingerprints, which are no value to pass on.
fn readable_outputs(outputs: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    outputs
        .into_iter()
        .filter(|(_, v)| !crate::state::is_fingerprint(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outputs_come_from_the_other_stacks_state_file_and_a_missing_one_says_so() {
        let dir = std::env::temp_dir().join(format!("reconcile-lookup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("network.json");
        let mut state = crate::state::State::new("network");
        state.outputs.insert("vpc_id".into(), Value::str("vpc-1"));
        std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let clients = Clients::from_config(&config);
        let lookup = |path: std::path::PathBuf| Lookup {
            kind: LookupKind::StackOutputs,
            name: None,
            state: Some(StateSource::File(path)),
            at: "desired/app.toml:3:1".into(),
            private: None,
        };
        let lookups = BTreeMap::from([("network".to_owned(), lookup(path.clone()))]);
        let read = read_all(&clients, &lookups).await.unwrap();
        let a = &read["lookups.network"];
        assert_eq!(a["stack"], Value::str("network"));
        assert_eq!(
            a["outputs"].as_map().unwrap()["vpc_id"],
            Value::str("vpc-1")
        );
        let missing = BTreeMap::from([("network".to_owned(), lookup(dir.join("none.json")))]);
        let err = read_all(&clients, &missing).await.unwrap_err();
        assert!(
            err.message
                .starts_with("desired/app.toml:3:1: lookup `network`: no state at "),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
