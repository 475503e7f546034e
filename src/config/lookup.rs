//! `[lookups.<name>]` as written: which read-only data a stack asks for.
//! Reading it from AWS is `crate::plan::lookups`, on the planner's side.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKind {
    /// The account and identity the credentials belong to.
    CallerIdentity,
    /// The region's available zones.
    AvailabilityZones,
    /// An SSM parameter, e.g. the ECS-optimized AMI id.
    SsmParameter,
    /// An existing Route 53 hosted zone, by its domain name.
    Route53Zone,
}

impl LookupKind {
    pub const NAMES: &'static [&'static str] = &[
        "caller_identity",
        "availability_zones",
        "ssm_parameter",
        "route53_zone",
    ];

    pub fn parse(s: &str) -> Option<LookupKind> {
        match s {
            "caller_identity" => Some(LookupKind::CallerIdentity),
            "availability_zones" => Some(LookupKind::AvailabilityZones),
            "ssm_parameter" => Some(LookupKind::SsmParameter),
            "route53_zone" => Some(LookupKind::Route53Zone),
            _ => None,
        }
    }

    /// The attributes a lookup of this kind exports.
    pub fn attributes(self) -> &'static [&'static str] {
        match self {
            LookupKind::CallerIdentity => &["account_id", "arn", "user_id"],
            LookupKind::AvailabilityZones => &["names", "zone_ids"],
            LookupKind::SsmParameter => &["value", "version"],
            LookupKind::Route53Zone => &["zone_id", "name", "name_servers", "private"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub kind: LookupKind,
    /// The parameter name of an `ssm_parameter` lookup, the domain name of
    /// a `route53_zone` lookup.
    pub name: Option<String>,
    /// `route53_zone`: the private zone of that name (true) or the public
    /// one (false); unset, the only zone of that name.
    pub private: Option<bool>,
}

/// The address lookups are referenced under: `lookups.<name>`.
pub fn address(name: &str) -> String {
    format!("lookups.{name}")
}
