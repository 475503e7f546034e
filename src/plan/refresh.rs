//! Reading live attributes of everything in the state: one batched read
//! per kind, all kinds at once. Not ordered by the graph — ids come from
//! the state.

use std::collections::BTreeMap;

use crate::aws::{ApiError, Clients};
use crate::kinds::{self, Ctx};
use crate::plan::diff::Live;
use crate::state::{ResourceState, State, Status};

#[derive(Debug, thiserror::Error)]
#[error("refreshing {kind}: {source}")]
pub struct RefreshError {
    pub kind: String,
    pub source: ApiError,
}

pub async fn refresh(clients: &Clients, state: &State) -> Result<Live, RefreshError> {
    // One batched read per kind and region (a resource's own `region`).
    // (kind, region) → (address, id)
    type Members<'s> = Vec<(&'s String, &'s String)>;
    let mut by_kind: BTreeMap<(&str, Option<&str>), Members<'_>> = BTreeMap::new();
    // Old objects of interrupted create-before-destroy replacements are
    // read too, under their own key.
    let deposed: Vec<(String, &crate::state::ResourceState)> = state
        .deposed
        .iter()
        .map(|(a, rs)| (crate::plan::diff::deposed_key(a), rs))
        .collect();
    let all = state
        .resources
        .iter()
        .chain(deposed.iter().map(|(a, rs)| (a, *rs)));
    for (address, rs) in all {
        by_kind
            .entry((rs.kind.as_str(), rs.region.as_deref()))
            .or_default()
            .push((address, &rs.id));
    }
    let stack = &state.stack;
    let reads = by_kind
        .into_iter()
        .map(|((kind_name, region), members)| async move {
            let regional = region.map(|r| clients.in_region(r));
            let cx = Ctx { aws: regional.as_ref().unwrap_or(clients), stack };
            let Some(kind) = kinds::lookup(kind_name) else {
                return Err(RefreshError {
                    kind: kind_name.to_owned(),
                    source: ApiError::msg(format!("the state holds unknown kind `{kind_name}`")),
                });
            };
            let ids: Vec<String> = members.iter().map(|(_, id)| (*id).clone()).collect();
            let start = std::time::Instant::now();
            let mut found = kind
                .read_many(cx, &ids)
                .await
                .map_err(|source| RefreshError { kind: kind_name.to_owned(), source })?;
            crate::aws::stats::record_read(kind_name, start.elapsed());
            Ok(members
                .into_iter()
                .map(|(address, id)| (address.clone(), found.remove(id)))
                .collect::<Vec<_>>())
        });
    let mut live = Live::new();
    for part in futures::future::try_join_all(reads).await? {
        live.extend(part);
    }
    Ok(live)
}

/// `plan --refresh=false`: the attributes recorded in the state stand for
/// the live ones; no AWS call. They are moved, not copied (a plan never
/// reads them from the state, and a plan command never writes it): at
/// 10,000 resources a copy is tens of megabytes.
pub fn from_state(state: &mut State) -> Live {
    let deposed = state
        .deposed
        .iter_mut()
        .map(|(a, rs)| (crate::plan::diff::deposed_key(a), rs));
    state
        .resources
        .iter_mut()
        .map(|(a, rs)| (a.clone(), rs))
        .chain(deposed)
        .map(|(a, rs)| (a, Some(std::mem::take(&mut rs.attributes))))
        .collect()
}

/// Resolves the creates a killed or failed run left pending: each one found
/// in AWS — by the id its create answered, else by its `reconcile:*` tags —
/// joins the state (the plan then shows what still differs); one never made
/// is dropped. Returns the adopted addresses. In memory only: apply saves
/// the state before its first operation.
pub async fn adopt_pending(
    clients: &Clients,
    state: &mut State,
) -> Result<Vec<String>, RefreshError> {
    let cx = Ctx { aws: clients, stack: &state.stack };
    let mut adopted = Vec::new();
    for (address, p) in &state.pending {
        // The address is taken: a create-before-destroy replacement was
        // under way. Without the new object's id the tags cannot tell it
        // from the old one; with it, the new object takes the address and
        // the old one is deposed, for the next apply to delete — where the
        // replacement would have been had the run gone on.
        let replacing = match (state.resources.get(address), &p.id) {
            (None, _) => false,
            (Some(old), Some(id)) if old.id != *id => true,
            (Some(_), _) => continue,
        };
        let err = |source| RefreshError { kind: p.kind.clone(), source };
        let Some(kind) = kinds::lookup(&p.kind) else {
            continue;
        };
        let id = match &p.id {
            Some(id) => id.clone(),
            None => match kind.find_by_address(cx, address).await.map_err(err)? {
                Some(id) => id,
                None => continue,
            },
        };
        let Some(attributes) = kind
            .read_many(cx, std::slice::from_ref(&id))
            .await
            .map_err(err)?
            .remove(&id)
        else {
            continue;
        };
        adopted.push((
            address.clone(),
            replacing,
            ResourceState {
                kind: p.kind.clone(),
                id,
                attributes,
                dependencies: Vec::new(),
                status: Status::Created,
                deletion_policy: None,
                // Unknown: write-only values are sent again by an update.
                fingerprints: BTreeMap::new(),
                region: None,
            },
        ));
    }
    state.pending.clear();
    Ok(adopted
        .into_iter()
        .map(|(address, replacing, rs)| {
            if replacing && let Some(old) = state.resources.remove(&address) {
                state.deposed.insert(address.clone(), old);
            }
            state.resources.insert(address.clone(), rs);
            address
        })
        .collect())
}
