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
    }
    Ok(a)
}
