//! Creates that may have happened are never sent again by the SDK.
//!
//! The SDK retries a failed attempt on a 5xx answer, a timeout or a broken
//! connection, whatever the operation. For a create without an idempotency
//! token (`RegisterTaskDefinition`, `AllocateAddress`, `CreateVpc`, …) the
//! first attempt may have done its work before its answer was lost, and a
//! second one makes a second copy. So after such an attempt the SDK stops,
//! the original error (class `Transient`) reaches the executor, and the
//! executor looks the resource up by its tags before it tries again
//! (`apply::Task::run`). A throttled attempt was refused by AWS and is
//! retried as usual.
//!
//! Nor is any operation the endpoint answers as not implemented (see
//! `error::not_implemented`): five attempts of it would only take longer.

use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::error::THROTTLING;

/// Creates whose input carries an idempotency token (ours or the SDK's):
/// AWS answers a repeat with the first result, so retrying them is safe.
const TOKENED: &[&str] = &[
    "CreateNatGateway",
    "CreateLaunchTemplate",
    "CreateLaunchTemplateVersion",
    "CreateFileSystem",
    "CreateDistribution",
    "CreateDistributionWithTags",
    "RunInstances",
    // SNS answers a repeated CreateTopic of the same name and attributes
    // with the topic it made; Scheduler's CreateSchedule carries a client
    // token the SDK fills in once per call.
    "CreateTopic",
    "CreateSchedule",
    // Tags are set, not added: a repeat changes nothing.
    "CreateTags",
    "CreateOrUpdateTags",
];

/// Whether a repeat of the operation could make a second resource.
pub fn creates_copies(operation: &str) -> bool {
    ["Create", "Register", "Run", "Allocate", "Request"]
        .iter()
        .any(|p| operation.starts_with(p))
        && !TOKENED.contains(&operation)
}

/// Whether a failed attempt was certainly refused by AWS without effect:
/// only a throttling answer says so. A 5xx, a timeout or a reset leaves
/// the outcome unknown.
fn refused(status: Option<u16>, body: Option<&[u8]>) -> bool {
    if status == Some(429) {
        return true;
    }
    let Some(body) = body else { return false };
    let body = String::from_utf8_lossy(body);
    THROTTLING.iter().any(|code| body.contains(code))
}

/// Registered on every client (see `Clients::from_config`).
#[derive(Debug, Clone, Copy)]
pub struct SendCreatesOnce;

impl Intercept for SendCreatesOnce {
    fn name(&self) -> &'static str {
        "reconcile::SendCreatesOnce"
    }

    // Runs after each attempt and before the retry strategy decides: a
    // `RetryConfig` capped at the attempts made so far ends the retries and
    // keeps the attempt's own error.
    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let failed = matches!(context.output_or_error(), Some(Err(_)));
        if !failed {
            return Ok(());
        }
        let response = context.response();
        let status = response.map(|r| r.status().as_u16());
        let body = response.and_then(|r| r.body().bytes());
        let attempts = cfg.load::<RequestAttempts>().map_or(
            1,
            aws_smithy_runtime_api::client::retries::RequestAttempts::attempts,
        );
        // An operation the endpoint lacks fails the same way every time. Only
        // on a first attempt: after a lost answer, the emulator's page may
        // be its failure on a repeat of what the first attempt did.
        let lacking =
            attempts == 1 && status.is_some_and(|s| super::error::not_implemented(s, body));
        let creates = cfg
            .load::<Metadata>()
            .is_some_and(|m| creates_copies(m.name()));
        if !lacking && (!creates || refused(status, body)) {
            return Ok(());
        }
        let capped = cfg
            .load::<RetryConfig>()
            .cloned()
            .unwrap_or_else(RetryConfig::standard)
            .with_max_attempts(attempts);
        cfg.interceptor_state().store_put(capped);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_without_a_token_are_the_ones_not_repeated() {
        for op in [
            "CreateVpc",
            "CreateLoadBalancer",
            "RegisterTaskDefinition",
            "AllocateAddress",
            "CreateRole",
        ] {
            assert!(creates_copies(op), "{op}");
        }
        for op in [
            "CreateNatGateway",
            "CreateLaunchTemplate",
            "CreateTags",
            "DescribeVpcs",
            "DeleteVpc",
            "PutBucketVersioning",
            "ModifyVpcAttribute",
        ] {
            assert!(!creates_copies(op), "{op}");
        }
    }

    #[test]
    fn only_a_throttling_answer_counts_as_refused() {
        let ec2 = b"<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>";
        assert!(refused(Some(503), Some(ec2)));
        assert!(refused(
            Some(400),
            Some(br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)
        ));
        assert!(refused(Some(429), None));
        assert!(!refused(
            Some(500),
            Some(b"<Error><Code>InternalError</Code></Error>")
        ));
        assert!(!refused(Some(503), Some(b"")));
        // No answer at all (reset, timeout): unknown.
        assert!(!refused(None, None));
    }
}
