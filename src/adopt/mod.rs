//! `reconcile adopt`: takes over resources another tool made (a live
//! CloudFormation stack, a Terraform state) without recreating anything.
//!
//! The source only says which resources there are (type and physical id);
//! every adopted resource is then read live through its kind, and the
//! desired state and the state are written from those live attributes, so
//! that the first plan is clean. `mapping` is the one table of types.

pub mod cloudformation;
pub mod mapping;
pub mod terraform;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::ApiError;
use crate::kinds::{self, Ctx, Kind};
use crate::value::{Attrs, Value};
use mapping::{Role, Row};

/// One resource the source lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// CloudFormation's logical id (nested: `Parent.Child`), or Terraform's
    /// address.
    pub logical_id: String,
    /// `AWS::EC2::VPC` or `aws_vpc`.
    pub ty: String,
    /// The id to read it by: CloudFormation's physical id, or the Terraform
    /// attribute the mapping names.
    pub physical_id: String,
    /// The resource name of its address, before de-duplication.
    pub name: String,
    pub row: Option<&'static Row>,
}

/// A resource adopted under an address, with its live attributes.
pub struct Adopted {
    pub address: String,
    pub kind: &'static dyn Kind,
    pub logical_id: String,
    pub ty: String,
    pub id: String,
    pub attrs: Attrs,
}

/// A resource of the source held by a field of an adopted resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub logical_id: String,
    pub ty: String,
    /// `route_table.public.routes`, or `route_table.routes` when the parent
    /// could not be told.
    pub into: String,
}

/// A resource left where it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAdopted {
    pub logical_id: String,
    pub ty: String,
    pub reason: String,
}

/// What adopt found and read.
#[derive(Default)]
pub struct Adoption {
    pub adopted: Vec<Adopted>,
    pub folded: Vec<Folded>,
    pub not_adopted: Vec<NotAdopted>,
}

/// Reads every resource the source lists that maps to a kind, live, one
/// batched read per kind; places folded resources in their parent; lists
/// the rest with the reason. `not_adopted` holds what the source itself
/// already refused (custom resources, unknown types).
pub async fn read_live(
    cx: Ctx<'_>,
    found: Vec<Found>,
    not_adopted: Vec<NotAdopted>,
) -> Result<Adoption, ApiError> {
    let mut out = Adoption { not_adopted, ..Adoption::default() };
    let mut by_kind: BTreeMap<&'static str, Vec<Found>> = BTreeMap::new();
    let mut folds = Vec::new();
    for f in found {
        match f.row.map(|r| r.role) {
            Some(Role::Kind(k)) => by_kind.entry(k).or_default().push(f),
            Some(Role::Fold { parent, field }) => folds.push((f, parent, field)),
            None => out.not_adopted.push(NotAdopted {
                reason: mapping::reason_not_adopted(&f.ty).to_owned(),
                logical_id: f.logical_id,
                ty: f.ty,
            }),
        }
    }
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (kind_name, items) in by_kind {
        let Some(kind) = kinds::lookup(kind_name) else {
            continue; // the table's test keeps this from happening
        };
        let ids: Vec<String> = items
            .iter()
            .map(|f| f.physical_id.clone())
            .filter(|id| !id.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let live = if ids.is_empty() {
            BTreeMap::new()
        } else {
            kind.read_many(cx, &ids).await.map_err(|e| {
                ApiError::msg(format!("reading the stack's {kind_name} resources: {e}"))
            })?
        };
        for f in items {
            let Some((id, attrs)) = match_live(&live, &f.physical_id) else {
                out.not_adopted.push(NotAdopted {
                    reason: format!(
                        "not found live as a {kind_name} (physical id {:?})",
                        f.physical_id
                    ),
                    logical_id: f.logical_id,
                    ty: f.ty,
                });
                continue;
            };
            let address = unique_address(&mut taken, kind_name, &f.name);
            out.adopted.push(Adopted {
                address,
                kind,
                logical_id: f.logical_id,
                ty: f.ty,
                id,
                attrs,
            });
        }
    }
    out.adopted.sort_by(|a, b| a.address.cmp(&b.address));
    for (f, parent, field) in folds {
        let into = parent_of(&out.adopted, parent, &f.physical_id)
            .map_or_else(|| format!("{parent}.{field}"), |a| format!("{a}.{field}"));
        out.folded
            .push(Folded { logical_id: f.logical_id, ty: f.ty, into });
    }
    Ok(out)
}

/// The live entry of a physical id: under that key, or (where the kind keys
/// by another identifier, e.g. an ECS cluster by ARN while CloudFormation
/// names it) the one whose `id`, `arn` or `name` it is.
fn match_live(live: &BTreeMap<String, Attrs>, pid: &str) -> Option<(String, Attrs)> {
    if pid.is_empty() {
        return None;
    }
    if let Some(a) = live.get(pid) {
        return Some((pid.to_owned(), a.clone()));
    }
    live.iter()
        .find(|(_, a)| {
            ["id", "arn", "name"]
                .iter()
                .any(|k| a.get(*k).and_then(Value::as_str) == Some(pid))
        })
        .map(|(k, a)| (k.clone(), a.clone()))
}

/// `kind.name`, or `kind.name_2`… when two sources' names collide.
fn unique_address(taken: &mut BTreeSet<String>, kind: &str, name: &str) -> String {
    let mut address = format!("{kind}.{name}");
    let mut n = 2;
    while taken.contains(&address) {
        address = format!("{kind}.{name}_{n}");
        n += 1;
    }
    taken.insert(address.clone());
    address
}

/// The adopted resource of kind `parent` a folded resource belongs to: the
/// only one of that kind, or the one whose id its physical id holds (a
/// route's `rtb-…|0.0.0.0/0`), or the one with an attribute equal to it (a
/// gateway attachment's physical id is the VPC's id, its gateway's
/// `vpc_id`).
fn parent_of<'a>(adopted: &'a [Adopted], parent: &str, pid: &str) -> Option<&'a str> {
    let of_kind: Vec<&Adopted> = adopted
        .iter()
        .filter(|a| a.kind.schema().kind == parent)
        .collect();
    if let [only] = of_kind.as_slice() {
        return Some(&only.address);
    }
    if pid.is_empty() {
        return None;
    }
    let by_id: Vec<&&Adopted> = of_kind.iter().filter(|a| pid.contains(&a.id)).collect();
    if let [one] = by_id.as_slice() {
        return Some(&one.address);
    }
    let by_attr: Vec<&&Adopted> = of_kind
        .iter()
        .filter(|a| a.attrs.values().any(|v| v.as_str() == Some(pid)))
        .collect();
    match by_attr.as_slice() {
        [one] => Some(&one.address),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::str(*v)))
            .collect()
    }

    #[test]
    fn a_physical_id_matches_its_key_or_the_id_arn_or_name_it_is() {
        let mut live = BTreeMap::new();
        live.insert(
            "arn:aws:ecs:us-east-1:1:cluster/web".to_owned(),
            attrs(&[
                ("name", "web"),
                ("arn", "arn:aws:ecs:us-east-1:1:cluster/web"),
            ]),
        );
        let (id, _) = match_live(&live, "web").unwrap();
        assert_eq!(id, "arn:aws:ecs:us-east-1:1:cluster/web");
        assert!(match_live(&live, "arn:aws:ecs:us-east-1:1:cluster/web").is_some());
        assert!(match_live(&live, "other").is_none());
        assert!(match_live(&live, "").is_none());
    }

    #[test]
    fn colliding_names_get_a_number() {
        let mut taken = BTreeSet::new();
        assert_eq!(unique_address(&mut taken, "vpc", "main"), "vpc.main");
        assert_eq!(unique_address(&mut taken, "vpc", "main"), "vpc.main_2");
        assert_eq!(unique_address(&mut taken, "subnet", "main"), "subnet.main");
    }
}
