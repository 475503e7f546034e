//! Route 53 record changes, for the kinds that write DNS records: a record
//! set's own kind, and a certificate writing its validation records. Route
//! 53 is global: its client answers from any region.

use std::time::Duration;

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecordSet};

use crate::aws::ApiError;
use crate::aws::wait::{Poll, Waiter};
use crate::kinds::{ApiResult, Ctx};

/// A domain name as Route 53 answers it: lowercase, with the final dot
/// (`*` for its `\052`).
pub fn fqdn(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase().replace("\\052", "*");
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

/// A domain name as written in the desired state: lowercase, without the
/// final dot.
pub fn bare(name: &str) -> String {
    fqdn(name).trim_end_matches('.').to_owned()
}

/// A zone id without the `/hostedzone/` Route 53 puts before it in some
/// answers.
pub fn zone_id(id: &str) -> String {
    id.trim_start_matches("/hostedzone/").to_owned()
}

/// Waits until a change has reached every Route 53 name server (INSYNC).
pub async fn wait_insync(cx: Ctx<'_>, change_id: &str, timeout: Duration) -> ApiResult<()> {
    let id = change_id.trim_start_matches("/change/").to_owned();
    Waiter::new(timeout)
        .until(&format!("Route 53 change {id} to be in sync"), || {
            let id = id.clone();
            async move {
                let out = cx.aws.route53.get_change().id(&id).send().await?;
                let status = out.change_info().map(|c| c.status().clone());
                Ok(match status {
                    Some(ChangeStatus::Insync) => Poll::Ready(()),
                    Some(s) => Poll::Pending(s.as_str().to_owned()),
                    None => Poll::Pending("unknown".to_owned()),
                })
            }
        })
        .await
}

/// Applies `changes` to `zone` as one batch (all or nothing) and waits
/// until they are INSYNC. No change, no call.
pub async fn change_records(
    cx: Ctx<'_>,
    zone: &str,
    changes: Vec<(ChangeAction, ResourceRecordSet)>,
    timeout: Duration,
) -> ApiResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let changes = changes
        .into_iter()
        .map(|(action, set)| {
            Change::builder()
                .action(action)
                .resource_record_set(set)
                .build()
                .map_err(|e| ApiError::msg(format!("building a Route 53 change: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .build()
        .map_err(|e| ApiError::msg(format!("building a Route 53 change batch: {e}")))?;
    let out = cx
        .aws
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await?;
    let info = out
        .change_info()
        .ok_or_else(|| ApiError::msg("Route 53 answered a change without its id"))?;
    wait_insync(cx, info.id(), timeout).await
}

/// Every record set of a zone without a set identifier (simple routing),
/// paginated; `None` when the zone is gone.
pub async fn zone_record_sets(
    cx: Ctx<'_>,
    zone: &str,
) -> ApiResult<Option<Vec<ResourceRecordSet>>> {
    let mut out = Vec::new();
    let (mut name, mut ty) = (None, None);
    loop {
        let r = cx
            .aws
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .set_start_record_name(name)
            .set_start_record_type(ty)
            .send()
            .await
            .map_err(ApiError::from);
        let Some(page) = super::found(r)? else {
            return Ok(None);
        };
        out.extend(
            page.resource_record_sets()
                .iter()
                .filter(|s| s.set_identifier().is_none())
                .cloned(),
        );
        if !page.is_truncated() {
            return Ok(Some(out));
        }
        name = page.next_record_name().map(str::to_owned);
        ty = page.next_record_type().cloned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_lowercase_with_and_without_the_final_dot() {
        assert_eq!(fqdn("WWW.Example.com"), "www.example.com.");
        assert_eq!(fqdn("example.com."), "example.com.");
        assert_eq!(bare("\\052.example.com."), "*.example.com");
        assert_eq!(zone_id("/hostedzone/Z123"), "Z123");
        assert_eq!(zone_id("Z123"), "Z123");
    }
}
