//! One place that names what an AWS error means for reconcile.

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The resource does not exist (any more).
    NotFound,
    /// AWS asks us to slow down.
    Throttled,
    /// Something else still uses the resource.
    DependencyViolation,
    /// A create was refused because the name or place is taken
    /// (`EntityAlreadyExists`, `InvalidGroup.Duplicate`,
    /// `MountTargetConflict`, …): possibly by what an earlier attempt made.
    AlreadyExists,
    /// A waiter ran out of time: the resource may still get there.
    Timeout,
    /// The resource reached a state from which it cannot become ready.
    Failed,
    /// The outcome is unknown (timeout, connection reset, 5xx): the call may
    /// or may not have taken effect.
    Transient,
    /// The endpoint does not implement the operation (HTTP 501, or the
    /// page a 5xx of the emulator carries instead of an AWS error): the
    /// same call cannot work on a retry, so it is made once.
    NotImplemented,
    /// Anything else: bad input, permissions, quotas.
    Other,
}

/// An AWS error reduced to what reconcile needs: code, message, class.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ApiError {
    pub code: Option<String>,
    pub message: String,
    pub class: ErrorClass,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl ApiError {
    /// An error raised by reconcile itself rather than by AWS.
    pub fn msg(message: impl Into<String>) -> ApiError {
        ApiError { code: None, message: message.into(), class: ErrorClass::Other }
    }

    pub fn is_not_found(&self) -> bool {
        self.class == ErrorClass::NotFound
    }

    /// The call failed on the way (5xx, timeout, reset, throttling after
    /// the last retry): whether it took effect is not known.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self.class, ErrorClass::Transient | ErrorClass::Throttled)
    }
}

/// reconcile's own code for an ECS deployment that failed, rolled back or
/// timed out: `apply` exits with `EXIT_DEPLOYMENT_FAILED` when every
/// failure of a run has it.
pub const DEPLOYMENT_FAILED: &str = "DeploymentFailed";

/// Codes AWS answers when it refuses a call for its rate: nothing was done.
pub(crate) const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// "Already exists" codes that no suffix rule below recognises.
const ALREADY_EXISTS: &[&str] = &[
    "EntityAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketAlreadyExists",
    "MountTargetConflict",
    "InvalidSubnet.Conflict",
    "PriorityInUse",
    "DuplicateListener",
    "CNAMEAlreadyExists",
];

const TRANSIENT: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Classifies an AWS error code. Not-found codes differ per service
/// (`InvalidVpcID.NotFound`, `NoSuchEntity`, `ResourceNotFoundException`,
/// `DBInstanceNotFound`), so the suffix decides.
pub fn classify_code(code: &str) -> ErrorClass {
    if THROTTLING.contains(&code) {
        ErrorClass::Throttled
    } else if TRANSIENT.contains(&code) {
        ErrorClass::Transient
    } else if code == "DependencyViolation" || code == "ResourceInUse" {
        ErrorClass::DependencyViolation
    } else if ALREADY_EXISTS.contains(&code)
        || code.ends_with("AlreadyExists")
        || code.ends_with("AlreadyExistsException")
        || code.ends_with("AlreadyExistsFault")
        || code.ends_with(".Duplicate")
        || code.starts_with("Duplicate") && code.ends_with("Name")
    {
        ErrorClass::AlreadyExists
    } else if code.ends_with(".NotFound")
        || code.ends_with("NotFound")
        || code.ends_with("NotFoundException")
        || code.ends_with("NotFoundFault")
        || code.starts_with("NoSuch")
        || code.ends_with(".Malformed") && code.contains("ID")
    {
        ErrorClass::NotFound
    } else {
        ErrorClass::Other
    }
}

impl<E> From<SdkError<E, HttpResponse>> for ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn from(err: SdkError<E, HttpResponse>) -> ApiError {
        if let Some(raw) = err.raw_response() {
            let status = raw.status().as_u16();
            if not_implemented(status, raw.body().bytes()) {
                return ApiError {
                    code: Some("NotImplemented".into()),
                    message: format!(
                        "{} is not implemented by the endpoint (HTTP {status}{}); not retried",
                        operation_name::<E>(),
                        if status == 501 {
                            ""
                        } else {
                            ", a web page instead of an AWS error: the emulator's answer to an operation it lacks"
                        }
                    ),
                    class: ErrorClass::NotImplemented,
                };
            }
        }
        match &err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                let code = e.code().map(str::to_owned);
                let class = code.as_deref().map_or(ErrorClass::Other, classify_code);
                let status = se.raw().status().as_u16();
                let message = e.message().map_or_else(|| e.to_string(), str::to_owned);
                let class = match class {
                    ErrorClass::Other if status >= 500 => ErrorClass::Transient,
                    // ECS says it in words only (`ClientException`,
                    // `InvalidParameterException`).
                    ErrorClass::Other if says_already_exists(&message) => ErrorClass::AlreadyExists,
                    // AWS's Application Auto Scaling answers a missing target
                    // or policy with ObjectNotFoundException, the emulator
                    // with a ValidationException that says so.
                    ErrorClass::Other
                        if message.starts_with("No scalable target found")
                            || message.starts_with("No scaling policy found") =>
                    {
                        ErrorClass::NotFound
                    }
                    class => class,
                };
                ApiError { message: format!("{message} [{}]", operation_name::<E>()), code, class }
            }
            // The request may or may not have reached AWS.
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => ApiError {
                code: None,
                message: format!(
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                ),
                class: ErrorClass::Transient,
            },
            _ => ApiError {
                code: None,
                message: format!(
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                ),
                class: ErrorClass::Other,
            },
        }
    }
}

/// Whether an answer says the operation is not implemented: HTTP 501, AWS's
/// `NotImplemented` code, or a 5xx whose body is an HTML page. AWS answers
/// errors in XML or JSON; the emulator (moto's server) answers an operation
/// it lacks with Flask's "500 Internal Server Error" page.
pub fn not_implemented(status: u16, body: Option<&[u8]>) -> bool {
    if status == 501 {
        return true;
    }
    if status < 500 {
        return false;
    }
    let Some(body) = body else { return false };
    let head: String = String::from_utf8_lossy(&body[..body.len().min(512)])
        .trim_start()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.contains("<code>notimplemented</code>")
        || head.contains("\"notimplemented\"")
}

/// Whether an error's message says a create found its name taken: ECS
/// answers a capacity provider or service that exists with a generic code.
fn says_already_exists(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already exists") || m.contains("was not idempotent")
}

/// The API operation an SDK error type belongs to: `CreateSubnet` for
/// `aws_sdk_ec2::operation::create_subnet::CreateSubnetError`.
fn operation_name<E>() -> &'static str {
    let name = std::any::type_name::<E>();
    let last = name.rsplit("::").next().unwrap_or(name);
    last.strip_suffix("Error").unwrap_or(last)
}

/// The answer to a delete: done, also when the error says the resource is
/// already gone.
pub fn gone_is_ok<T, E>(r: Result<T, E>) -> Result<(), ApiError>
where
    ApiError: From<E>,
{
    match r.map_err(ApiError::from) {
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_is_named_from_the_error_type() {
        assert_eq!(
            operation_name::<aws_sdk_ec2::operation::create_subnet::CreateSubnetError>(),
            "CreateSubnet"
        );
    }

    #[test]
    fn not_found_codes_of_every_service_are_recognised() {
        for code in [
            "InvalidVpcID.NotFound",
            "InvalidSubnetID.NotFound",
            "InvalidGroup.NotFound",
            "NoSuchEntity",
            "NoSuchBucket",
            "ResourceNotFoundException",
            "DBInstanceNotFound",
            "LoadBalancerNotFound",
            "InvalidAllocationID.NotFound",
            "NatGatewayNotFound",
        ] {
            assert_eq!(classify_code(code), ErrorClass::NotFound, "{code}");
        }
    }

    #[test]
    fn an_operation_the_endpoint_lacks_is_known_from_its_answer() {
        let page = b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>";
        assert!(not_implemented(500, Some(page)));
        assert!(not_implemented(501, None));
        assert!(not_implemented(
            501,
            Some(b"<Error><Code>NotImplemented</Code></Error>")
        ));
        assert!(not_implemented(
            500,
            Some(b"<Error><Code>NotImplemented</Code><Message>x</Message></Error>")
        ));
        // AWS's own 5xx are transient, as before; so is a page below 500.
        assert!(!not_implemented(
            500,
            Some(
                b"<Response><Errors><Error><Code>InternalError</Code></Error></Errors></Response>"
            )
        ));
        assert!(!not_implemented(503, Some(b"")));
        assert!(!not_implemented(404, Some(page)));
    }

    #[test]
    fn an_ecs_already_exists_is_known_by_its_words() {
        assert!(says_already_exists(
            "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider."
        ));
        assert!(says_already_exists(
            "Creation of service was not idempotent."
        ));
        assert!(!says_already_exists("The specified cluster is inactive."));
    }

    #[test]
    fn throttling_dependency_and_transient_codes_are_named() {
        assert_eq!(classify_code("RequestLimitExceeded"), ErrorClass::Throttled);
        assert_eq!(classify_code("Throttling"), ErrorClass::Throttled);
        assert_eq!(
            classify_code("TooManyRequestsException"),
            ErrorClass::Throttled
        );
        assert_eq!(
            classify_code("DependencyViolation"),
            ErrorClass::DependencyViolation
        );
        assert_eq!(classify_code("InternalError"), ErrorClass::Transient);
        assert_eq!(classify_code("ServiceUnavailable"), ErrorClass::Transient);
        assert_eq!(classify_code("InvalidParameterValue"), ErrorClass::Other);
        for code in [
            "EntityAlreadyExists",
            "InvalidGroup.Duplicate",
            "MountTargetConflict",
            "DuplicateLoadBalancerName",
            "DuplicateTargetGroupName",
            "RepositoryAlreadyExistsException",
            "ResourceAlreadyExistsException",
            "DBInstanceAlreadyExists",
            "DBSubnetGroupAlreadyExistsFault",
            "AlreadyExists",
            "InvalidLaunchTemplateName.AlreadyExistsException",
            "FileSystemAlreadyExists",
            "BucketAlreadyOwnedByYou",
        ] {
            assert_eq!(classify_code(code), ErrorClass::AlreadyExists, "{code}");
        }
        assert_eq!(classify_code("UnauthorizedOperation"), ErrorClass::Other);
    }
}
