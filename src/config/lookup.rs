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
    /// The outputs another reconcile stack recorded in its state (a shared
    /// network read by app stacks; CloudFormation's `ImportValue`).
    StackOutputs,
    /// An existing Route 53 hosted zone, by its domain name.
    Route53Zone,
}

impl LookupKind {
    pub const NAMES: &'static [&'static str] = &[
        "caller_identity",
        "availability_zones",
        "ssm_parameter",
        "stack_outputs",
        "route53_zone",
    ];

    pub fn parse(s: &str) -> Option<LookupKind> {
        match s {
            "caller_identity" => Some(LookupKind::CallerIdentity),
            "availability_zones" => Some(LookupKind::AvailabilityZones),
            "ssm_parameter" => Some(LookupKind::SsmParameter),
            "stack_outputs" => Some(LookupKind::StackOutputs),
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
            LookupKind::StackOutputs => &["outputs", "stack"],
            LookupKind::Route53Zone => &["zone_id", "name", "name_servers", "private"],
        }
    }

    /// The fields a lookup of this kind takes besides `type`.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            LookupKind::CallerIdentity | LookupKind::AvailabilityZones => &[],
            LookupKind::SsmParameter => &["name"],
            LookupKind::StackOutputs => &["path", "bucket", "key", "region"],
            LookupKind::Route53Zone => &["name", "private"],
        }
    }
}

/// Where a `stack_outputs` lookup reads the other stack's state: where
/// that stack keeps it (its `--state` file or its `[backend]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSource {
    /// A local state file; relative to the working directory, like the
    /// default `state/<stack>.json`.
    File(std::path::PathBuf),
    /// An S3 backend's object; `region` defaults to this stack's.
    S3 {
        bucket: String,
        key: String,
        region: Option<String>,
    },
}

impl std::fmt::Display for StateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateSource::File(p) => write!(f, "{}", p.display()),
            StateSource::S3 { bucket, key, .. } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub kind: LookupKind,
    /// The parameter name of an `ssm_parameter` lookup, the domain name of
    /// a `route53_zone` lookup.
    pub name: Option<String>,
    /// The state a `stack_outputs` lookup reads.
    pub state: Option<StateSource>,
    /// Where it is declared (`file:line:col`), for errors found at plan time.
    pub at: String,
    /// `route53_zone`: the private zone of that name (true) or the public
    /// one (false); unset, the only zone of that name.
    pub private: Option<bool>,
}

/// The address lookups are referenced under: `lookups.<name>`.
pub fn address(name: &str) -> String {
    format!("lookups.{name}")
}
