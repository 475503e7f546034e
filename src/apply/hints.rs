//! Errors that teach: the one place that knows common causes of AWS errors
//! and, where it helps, reads (never changes) what AWS has to name the
//! culprit. A hint is best effort: if its own reads fail, there is none.

use crate::aws::{ApiError, Clients};
use crate::value::Attrs;

/// What failed, as the executor knows it.
pub struct Failed<'a> {
    pub kind: &'a str,
    /// The AWS id, when the resource exists (update, delete).
    pub id: Option<&'a str>,
    /// The desired attributes (create, update) or the live ones (delete).
    pub attrs: &'a Attrs,
    pub error: &'a ApiError,
}

/// A hint for a failed operation, when a common cause is known.
pub async fn explain(aws: &Clients, f: &Failed<'_>) -> Option<String> {
    let code = f.error.code.as_deref().unwrap_or_default();
    // A delete waiter that gave up reports the last DependencyViolation in
    // its message rather than as the code.
    let kind = crate::kinds::lookup(f.kind);
    let in_use = code == "DependencyViolation" || f.error.message.contains("DependencyViolation");
    let attr = |name: &str| {
        f.attrs
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    if in_use {
        let Some(filter) = kind.and_then(crate::kinds::Kind::network_interface_filter) else {
            return Some(dependency_text(f.kind, None));
        };
        let enis = match f.id {
            Some(id) => network_interfaces(aws, filter, id).await,
            None => None,
        };
        return Some(dependency_text(f.kind, enis.as_deref()));
    }
    let cidr_error = code.starts_with("InvalidSubnet")
        || code == "InvalidParameterValue" && f.error.message.to_lowercase().contains("cidr");
    // A kind placed by CIDR inside a VPC (a subnet).
    let in_vpc = kind.is_some_and(|k| {
        let schema = k.schema();
        schema.field("vpc_id").is_some() && schema.field("cidr_block").is_some()
    });
    if cidr_error && in_vpc {
        let vpc_id = attr("vpc_id")?;
        let cidr = attr("cidr_block").unwrap_or_default();
        let (ranges, siblings) = vpc_ranges(aws, &vpc_id).await?;
        return Some(cidr_text(&vpc_id, &cidr, &ranges, &siblings));
    }
    static_hint(code)
}

/// Hints that need no reading.
fn static_hint(code: &str) -> Option<String> {
    let text = if code == "UnauthorizedOperation"
        || code.starts_with("AccessDenied")
        || code == "AuthFailure"
    {
        "the credentials in use may not make this call: check the IAM policy of the identity shown by `aws sts get-caller-identity`"
    } else if code.ends_with("LimitExceeded") && !code.starts_with("Request") {
        "an account quota is reached: raise it in Service Quotas or delete what is unused"
    } else if code == "InvalidClientTokenId" || code == "ExpiredToken" {
        "the AWS credentials are invalid or expired: refresh them (e.g. `aws sso login`)"
    } else {
        return None;
    };
    Some(text.to_owned())
}

/// One line per network interface: id, what it belongs to.
async fn network_interfaces(aws: &Clients, filter: &str, id: &str) -> Option<Vec<String>> {
    let out = aws
        .ec2
        .describe_network_interfaces()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name(filter)
                .values(id)
                .build(),
        )
        .send()
        .await
        .ok()?;
    Some(
        out.network_interfaces()
            .iter()
            .map(|n| {
                let id = n.network_interface_id().unwrap_or("?");
                let owner = n
                    .attachment()
                    .and_then(|a| a.instance_id())
                    .map(|i| format!("attached to {i}"))
                    .or_else(|| {
                        n.description()
                            .filter(|d| !d.is_empty())
                            .map(|d| format!("{d:?}"))
                    })
                    .unwrap_or_else(|| "not attached".into());
                format!("{id} ({owner})")
            })
            .collect(),
    )
}

/// The VPC's CIDR blocks and the CIDR blocks of its subnets.
async fn vpc_ranges(aws: &Clients, vpc_id: &str) -> Option<(Vec<String>, Vec<String>)> {
    let vpcs = aws.ec2.describe_vpcs().vpc_ids(vpc_id).send().await.ok()?;
    let vpc = vpcs.vpcs().first()?;
    let mut ranges: Vec<String> = vpc
        .cidr_block_association_set()
        .iter()
        .filter_map(|a| a.cidr_block().map(str::to_owned))
        .collect();
    if ranges.is_empty() {
        ranges.extend(vpc.cidr_block().map(str::to_owned));
    }
    let subnets = aws
        .ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc_id)
                .build(),
        )
        .send()
        .await
        .ok()?;
    let mut siblings: Vec<String> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.cidr_block().map(str::to_owned))
        .collect();
    siblings.sort();
    Some((ranges, siblings))
}

fn dependency_text(kind: &str, enis: Option<&[String]>) -> String {
    match enis {
        Some([]) | None => format!(
            "something else still uses this {kind} (often a resource outside this stack, or one AWS has not finished deleting); find it in the console, remove it, then run again"
        ),
        Some(enis) => format!(
            "this {kind} is still used by {} network interface{}: {}; delete or detach {} (or what owns {}) first, then run again",
            enis.len(),
            if enis.len() == 1 { "" } else { "s" },
            enis.join(", "),
            if enis.len() == 1 { "it" } else { "them" },
            if enis.len() == 1 { "it" } else { "them" },
        ),
    }
}

fn cidr_text(vpc_id: &str, cidr: &str, ranges: &[String], siblings: &[String]) -> String {
    let mut s = format!(
        "the subnet's cidr_block {cidr} must lie inside the VPC {vpc_id}, which covers {}",
        ranges.join(", ")
    );
    if !siblings.is_empty() {
        s.push_str(&format!(
            ", and must not overlap its other subnets ({})",
            siblings.join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_hints_name_the_interfaces() {
        let t = dependency_text("security_group", Some(&["eni-1 (\"ELB app/web\")".into()]));
        assert_eq!(
            t,
            "this security_group is still used by 1 network interface: eni-1 (\"ELB app/web\"); delete or detach it (or what owns it) first, then run again"
        );
        assert!(
            dependency_text("vpc", Some(&[])).starts_with("something else still uses this vpc")
        );
    }

    #[test]
    fn cidr_hints_name_the_vpc_range_and_siblings() {
        let t = cidr_text(
            "vpc-1",
            "10.1.0.0/24",
            &["10.0.0.0/16".into()],
            &["10.0.1.0/24".into()],
        );
        assert_eq!(
            t,
            "the subnet's cidr_block 10.1.0.0/24 must lie inside the VPC vpc-1, which covers 10.0.0.0/16, and must not overlap its other subnets (10.0.1.0/24)"
        );
    }

    #[test]
    fn static_hints_for_permissions_and_quotas() {
        assert!(
            static_hint("UnauthorizedOperation")
                .unwrap()
                .contains("IAM policy")
        );
        assert!(
            static_hint("AccessDeniedException")
                .unwrap()
                .contains("IAM policy")
        );
        assert!(static_hint("VpcLimitExceeded").unwrap().contains("quota"));
        assert!(static_hint("RequestLimitExceeded").is_none());
        assert!(static_hint("InvalidParameterValue").is_none());
    }
}
