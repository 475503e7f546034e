//! AWS clients built once from the standard configuration chain, error
//! classification and waiters.

pub mod error;
pub mod once;
pub mod stats;
pub mod throttle;
pub mod wait;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;

pub use error::{ApiError, ErrorClass};

/// Every service client, built once from one `SdkConfig` and shared by all
/// operations.
#[derive(Clone, Debug)]
pub struct Clients {
    pub acm: aws_sdk_acm::Client,
    pub appautoscaling: aws_sdk_applicationautoscaling::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// Only `reconcile adopt --from-cloudformation` uses it: no kind is a
    /// CloudFormation resource.
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub efs: aws_sdk_efs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub rds: aws_sdk_rds::Client,
    pub route53: aws_sdk_route53::Client,
    pub s3: aws_sdk_s3::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub servicediscovery: aws_sdk_servicediscovery::Client,
    pub sns: aws_sdk_sns::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sts: aws_sdk_sts::Client,
    /// The Resource Groups Tagging API: the tags of many resources of a
    /// service whose own API reads them one resource at a time.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// The configuration these clients were built from, for the clients
    /// of another region.
    config: aws_config::SdkConfig,
    /// The clients of other regions (a resource's `region`), each built
    /// once, when first asked for; shared by every copy.
    regions: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, Clients>>>,
}

/// Bounded SDK retries for transient conditions; adaptive mode backs off when
/// AWS throttles. The default of `--max-attempts` / RECONCILE_MAX_ATTEMPTS.
pub const MAX_ATTEMPTS: u32 = 5;

/// Adaptive retries (client-side rate limiting once AWS throttles), at most
/// `max_attempts` tries per call, the first included.
pub fn retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::adaptive().with_max_attempts(max_attempts.max(1))
}

/// The SDK configuration of one stack (or state backend): credentials from
/// the standard chain (environment, profiles, SSO, container and instance
/// roles), then, with `assume_role`, that role assumed through STS by the
/// SDK's own provider, whose cached credentials are renewed before they
/// expire (a long `watch` never runs on stale ones).
///
/// The region is the one written in the desired state, whatever
/// `AWS_REGION` says: a fleet runs stacks of many regions from one process
/// (in a Fargate task, where ECS sets `AWS_REGION` to the task's own), and
/// `${stack.region}` must name the region the calls go to.
pub async fn sdk_config(
    region: &str,
    role: Option<&AssumeRole>,
    default_session: &str,
    max_attempts: u32,
) -> aws_config::SdkConfig {
    let region = aws_config::Region::new(region.to_owned());
    let loader = || {
        aws_config::defaults(BehaviorVersion::latest())
            .region(region.clone())
            .retry_config(retry_config(max_attempts))
    };
    let base = loader().load().await;
    let Some(role) = role else {
        return base;
    };
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role.role_arn)
        .session_name(role.session_name.as_deref().unwrap_or(default_session))
        .region(region.clone())
        .configure(&base);
    if let Some(id) = &role.external_id {
        provider = provider.external_id(id);
    }
    loader()
        .credentials_provider(provider.build().await)
        .load()
        .await
}

/// A session name STS accepts (2–64 of `[\w+=,.@-]`) made of `parts`.
pub fn session_name(parts: &[&str]) -> String {
    let name: String = parts
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if name.len() < 2 {
        "reconcile".to_owned()
    } else {
        name
    }
}

/// STS AssumeRole through the SDK's credential provider (refreshed before
/// it expires).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub role_arn: String,
    /// Shown by the role's trust policy condition; never printed.
    pub external_id: Option<String>,
    /// Names the session in CloudTrail; `None` lets the caller choose.
    pub session_name: Option<String>,
}

impl AssumeRole {
    /// The account the role belongs to (the ARN's fifth field).
    pub fn account(&self) -> Option<&str> {
        self.role_arn.split(':').nth(4).filter(|a| !a.is_empty())
    }
}

impl Clients {
    /// The clients of a stack: its region, its role if it names one.
    pub async fn load(
        region: &str,
        role: Option<&AssumeRole>,
        stack: &str,
        max_attempts: u32,
    ) -> Clients {
        let session = session_name(&["reconcile", stack]);
        Clients::from_config(&sdk_config(region, role, &session, max_attempts).await)
    }

    /// An S3 client for the state backend, which need not live in the
    /// stack's region or account.
    pub async fn s3_for(
        region: &str,
        role: Option<&AssumeRole>,
        stack: &str,
        max_attempts: u32,
    ) -> aws_sdk_s3::Client {
        let session = session_name(&["reconcile", stack, "state"]);
        let config = sdk_config(region, role, &session, max_attempts).await;
        s3_client(&config)
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Clients {
        // Every client counts its calls for `--stats`, tells the executor's
        // limits which were throttled (under the service name the kinds'
        // schemas use) and never repeats a create whose first attempt may
        // have worked.
        macro_rules! client {
            ($sdk:ident, $service:literal) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(config)
                        .interceptor(stats::CountCalls)
                        .interceptor(throttle::MeterThrottling($service))
                        .interceptor(once::SendCreatesOnce)
                        .build(),
                )
            };
        }
        Clients {
            acm: client!(aws_sdk_acm, "acm"),
            appautoscaling: client!(aws_sdk_applicationautoscaling, "application-autoscaling"),
            autoscaling: client!(aws_sdk_autoscaling, "autoscaling"),
            cloudformation: client!(aws_sdk_cloudformation, "cloudformation"),
            cloudfront: client!(aws_sdk_cloudfront, "cloudfront"),
            cloudwatch: client!(aws_sdk_cloudwatch, "cloudwatch"),
            ec2: client!(aws_sdk_ec2, "ec2"),
            ecr: client!(aws_sdk_ecr, "ecr"),
            ecs: client!(aws_sdk_ecs, "ecs"),
            efs: client!(aws_sdk_efs, "elasticfilesystem"),
            elb: client!(aws_sdk_elasticloadbalancingv2, "elasticloadbalancing"),
            iam: client!(aws_sdk_iam, "iam"),
            kms: client!(aws_sdk_kms, "kms"),
            logs: client!(aws_sdk_cloudwatchlogs, "logs"),
            rds: client!(aws_sdk_rds, "rds"),
            route53: client!(aws_sdk_route53, "route53"),
            s3: s3_client(config),
            scheduler: client!(aws_sdk_scheduler, "scheduler"),
            secretsmanager: client!(aws_sdk_secretsmanager, "secretsmanager"),
            servicediscovery: client!(aws_sdk_servicediscovery, "servicediscovery"),
            sns: client!(aws_sdk_sns, "sns"),
            ssm: client!(aws_sdk_ssm, "ssm"),
            sts: client!(aws_sdk_sts, "sts"),
            tagging: client!(aws_sdk_resourcegroupstagging, "tagging"),
            config: config.clone(),
            regions: Default::default(),
        }
    }

    /// The region these clients call.
    pub fn region(&self) -> Option<&str> {
        self.config.region().map(aws_config::Region::as_ref)
    }

    /// The clients of `region`, with the same credentials, endpoint and
    /// retries: these, when it is their own; else built at the first call
    /// and kept (a per-resource `region`, such as us-east-1 for the
    /// certificate of a CloudFront distribution).
    pub fn in_region(&self, region: &str) -> Clients {
        if self.region() == Some(region) {
            return self.clone();
        }
        let mut regions = self
            .regions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        regions
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = self
                    .config
                    .to_builder()
                    .region(aws_config::Region::new(region.to_owned()))
                    .build();
                Clients { regions: self.regions.clone(), ..Clients::from_config(&config) }
            })
            .clone()
    }
}

/// A custom endpoint (the emulator, a proxy) serves buckets by path:
/// `<bucket>.127.0.0.1` does not resolve.
fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .interceptor(stats::CountCalls)
            .interceptor(throttle::MeterThrottling("s3"))
            .interceptor(once::SendCreatesOnce)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_adaptive_and_bounded_by_the_setting() {
        let c = retry_config(7);
        assert_eq!(c.max_attempts(), 7);
        assert_eq!(c.mode(), aws_config::retry::RetryMode::Adaptive);
        // Zero would mean no call at all: one attempt at least.
        assert_eq!(retry_config(0).max_attempts(), 1);
    }

    #[test]
    fn the_clients_of_another_region_are_built_once_and_call_that_region() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let clients = Clients::from_config(&config);
        assert_eq!(clients.region(), Some("eu-west-1"));
        assert_eq!(clients.in_region("eu-west-1").region(), Some("eu-west-1"));
        let us = clients.in_region("us-east-1");
        assert_eq!(us.region(), Some("us-east-1"));
        assert_eq!(
            us.acm.config().region().map(ToString::to_string).as_deref(),
            Some("us-east-1")
        );
        // Built once, shared by every copy, the regional ones included.
        clients.in_region("us-east-1");
        us.in_region("ap-south-1");
        assert_eq!(clients.regions.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_session_name_keeps_to_what_sts_accepts() {
        assert_eq!(session_name(&["reconcile", "web"]), "reconcile-web");
        assert_eq!(session_name(&["reconcile", "a b/c"]), "reconcile-a-b-c");
        assert_eq!(session_name(&["x"]), "reconcile");
        assert_eq!(session_name(&["reconcile", &"s".repeat(80)]).len(), 64);
    }
}
