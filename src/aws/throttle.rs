//! What the executor's adaptive limits feed on: every attempt of every call,
//! counted per service and call class as answered or throttled.
//!
//! The SDK retries a throttled call itself (adaptive retry mode), so the
//! error never reaches reconcile when a retry succeeds: the throttling is
//! seen here, per attempt, in the raw answer, by an interceptor on every
//! client. Process-wide, like `stats`: the executor reads the counts as
//! they grow (`Feedback::since`).

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::ErrorClass;
use super::error::classify_code;

/// The classes of calls AWS meters apart (EC2 has one bucket for
/// `Describe*` calls and one for mutating calls; other services meter
/// reads and writes apart too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallClass {
    Read,
    Mutating,
}

impl CallClass {
    /// `Describe*`, `Get*`, `List*` read; everything else changes something.
    pub fn of(operation: &str) -> CallClass {
        if ["Describe", "Get", "List", "Head", "Lookup", "Search"]
            .iter()
            .any(|p| operation.starts_with(p))
        {
            CallClass::Read
        } else {
            CallClass::Mutating
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CallClass::Read => "read",
            CallClass::Mutating => "mutating",
        }
    }
}

/// Attempts of one (service, class): answered (anything but a throttling
/// error) and throttled. Monotonic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub answered: u64,
    pub throttled: u64,
}

/// (service, class) → counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Feedback(pub BTreeMap<(&'static str, CallClass), Counts>);

impl Feedback {
    /// What was counted after `earlier` was taken.
    pub fn since(&self, earlier: &Feedback) -> Feedback {
        let mut out = BTreeMap::new();
        for (key, now) in &self.0 {
            let before = earlier.0.get(key).copied().unwrap_or_default();
            let delta = Counts {
                answered: now.answered - before.answered,
                throttled: now.throttled - before.throttled,
            };
            if delta != Counts::default() {
                out.insert(*key, delta);
            }
        }
        Feedback(out)
    }
}

static FEEDBACK: LazyLock<Mutex<Feedback>> = LazyLock::new(Mutex::default);

fn feedback() -> std::sync::MutexGuard<'static, Feedback> {
    FEEDBACK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Everything counted so far.
pub fn counts() -> Feedback {
    feedback().clone()
}

/// Counts one attempt (the interceptor's job; public for tests that play
/// AWS's answers without a client).
pub fn record(service: &'static str, class: CallClass, throttled: bool) {
    let mut f = feedback();
    let c = f.0.entry((service, class)).or_default();
    if throttled {
        c.throttled += 1;
    } else {
        c.answered += 1;
    }
}

/// Whether an answer is AWS refusing a call for its rate: HTTP 429, or a
/// throttling code (as `error::classify_code` names them) in the place the
/// service's protocol puts it: the `x-amzn-ErrorType` header (JSON and
/// REST-JSON), `__type` of a JSON body, `<Code>` of an XML body (EC2, query
/// protocols, S3).
pub fn is_throttling(status: u16, error_type: Option<&str>, body: &[u8]) -> bool {
    if status == 429 {
        return true;
    }
    if status < 400 {
        return false;
    }
    let throttled = |code: &str| classify_code(code) == ErrorClass::Throttled;
    // `ThrottlingException:http://internal.amazon.com/…` or `aws.ns#Code`.
    let bare = |code: &str| {
        let code = code.split(':').next().unwrap_or(code);
        code.rsplit('#').next().unwrap_or(code).trim().to_owned()
    };
    if let Some(t) = error_type {
        return throttled(&bare(t));
    }
    let body = String::from_utf8_lossy(body);
    if let Some(code) = between(&body, "<Code>", "</Code>") {
        return throttled(code.trim());
    }
    let json_type = body
        .split_once("\"__type\"")
        .and_then(|(_, rest)| rest.split('"').nth(1));
    json_type.is_some_and(|t| throttled(&bare(t)))
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// Counts every attempt of a client's calls as answered or throttled; the
/// service is named as the kinds' schemas name it (`"ec2"`,
/// `"elasticloadbalancing"`).
#[derive(Debug, Clone, Copy)]
pub struct MeterThrottling(pub &'static str);

impl Intercept for MeterThrottling {
    fn name(&self) -> &'static str {
        "reconcile::MeterThrottling"
    }

    // Once per attempt, with the answer read: the SDK's own retry of a
    // throttled call is seen here.
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let class = cfg
            .load::<Metadata>()
            .map_or(CallClass::Mutating, |m| CallClass::of(m.name()));
        let response = context.response();
        let throttled = is_throttling(
            response.status().as_u16(),
            response.headers().get("x-amzn-ErrorType"),
            response.body().bytes().unwrap_or_default(),
        );
        record(self.0, class, throttled);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_recognised_in_each_protocols_shape() {
        let ec2 = b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>";
        assert!(is_throttling(503, None, ec2));
        let query = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert!(is_throttling(400, None, query));
        let json =
            br#"{"__type":"com.amazonaws.logs#ThrottlingException","message":"Rate exceeded"}"#;
        assert!(is_throttling(400, None, json));
        assert!(is_throttling(
            400,
            Some("ThrottlingException:http://internal.amazon.com/coral/"),
            b"{}"
        ));
        assert!(is_throttling(429, None, b""));
        assert!(is_throttling(
            503,
            None,
            b"<Error><Code>SlowDown</Code></Error>"
        ));
    }

    #[test]
    fn other_errors_and_successes_are_not_throttling() {
        let not_found = b"<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code></Error></Errors></Response>";
        assert!(!is_throttling(400, None, not_found));
        assert!(!is_throttling(
            400,
            Some("ResourceNotFoundException"),
            br#"{"__type":"ThrottlingException"}"#
        ));
        assert!(!is_throttling(
            500,
            None,
            b"<Error><Code>InternalError</Code></Error>"
        ));
        // A body that merely mentions the word is an answer.
        assert!(!is_throttling(200, None, b"<Code>Throttling</Code>"));
    }

    #[test]
    fn calls_are_classed_by_their_verb() {
        assert_eq!(CallClass::of("DescribeVpcs"), CallClass::Read);
        assert_eq!(CallClass::of("ListTagsForResource"), CallClass::Read);
        assert_eq!(CallClass::of("CreateVpc"), CallClass::Mutating);
        assert_eq!(
            CallClass::of("AuthorizeSecurityGroupIngress"),
            CallClass::Mutating
        );
    }

    #[test]
    fn feedback_since_is_the_difference() {
        let mut a = Feedback::default();
        a.0.insert(
            ("ec2", CallClass::Mutating),
            Counts { answered: 3, throttled: 1 },
        );
        let mut b = a.clone();
        b.0.insert(
            ("ec2", CallClass::Mutating),
            Counts { answered: 5, throttled: 1 },
        );
        b.0.insert(
            ("iam", CallClass::Read),
            Counts { answered: 1, throttled: 0 },
        );
        let d = b.since(&a);
        assert_eq!(
            d.0[&("ec2", CallClass::Mutating)],
            Counts { answered: 2, throttled: 0 }
        );
        assert_eq!(
            d.0[&("iam", CallClass::Read)],
            Counts { answered: 1, throttled: 0 }
        );
        assert_eq!(b.since(&b), Feedback::default());
    }
}
