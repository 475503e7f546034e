//! `[lookups.<name>]`: read-only data read at plan time and referenced like
//! resource attributes, `${lookups.<name>.<attribute>}`.

use std::collections::BTreeMap;

use crate::aws::{ApiError, Clients};
use crate::value::{Attrs, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKind {
    /// The account and identity the credentials belong to.
    CallerIdentity,
    /// The region's available zones.
    AvailabilityZones,
    /// An SSM parameter, e.g. the ECS-optimized AMI id.
    SsmParameter,
}

impl LookupKind {
    pub const NAMES: &'static [&'static str] =
        &["caller_identity", "availability_zones", "ssm_parameter"];

    pub fn parse(s: &str) -> Option<LookupKind> {
        match s {
            "caller_identity" => Some(LookupKind::CallerIdentity),
            "availability_zones" => Some(LookupKind::AvailabilityZones),
            "ssm_parameter" => Some(LookupKind::SsmParameter),
            _ => None,
        }
    }

    /// The attributes a lookup of this kind exports.
    pub fn attributes(self) -> &'static [&'static str] {
        match self {
            LookupKind::CallerIdentity => &["account_id", "arn", "user_id"],
            LookupKind::AvailabilityZones => &["names", "zone_ids"],
            LookupKind::SsmParameter => &["value", "version"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub kind: LookupKind,
    /// The parameter name of an `ssm_parameter` lookup.
    pub name: Option<String>,
}

/// The address lookups are referenced under: `lookups.<name>`.
pub fn address(name: &str) -> String {
    format!("lookups.{name}")
}

/// Reads every lookup concurrently; keyed by `lookups.<name>`.
pub async fn read_all(
    clients: &Clients,
    lookups: &BTreeMap<String, Lookup>,
) -> Result<BTreeMap<String, Attrs>, ApiError> {
    let reads = lookups.iter().map(|(name, l)| async move {
        let attrs = read(clients, l).await.map_err(|e| ApiError {
            message: format!("lookup `{name}`: {}", e.message),
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
    }
    Ok(a)
}
