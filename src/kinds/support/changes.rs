//! The one "did this field change" check (Terraform's `d.HasChange`): the
//! executor computes it once from the live and the fully resolved desired
//! attributes and hands it to `Kind::update`, which calls only the APIs of
//! the fields in it.

use std::collections::BTreeSet;

use crate::kinds::{ApiResult, Ctx, Kind, Update};
use crate::value::{Attrs, Value};

/// The schema fields whose values differ between live and desired, both
/// brought into the kind's canonical form and compared normalized by their
/// type. Client-only fields never count: AWS knows nothing of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Every field that differs.
    differ: BTreeSet<&'static str>,
    /// Of those, the ones the desired side sets (not null): the fields an
    /// update writes. One unset is not managed.
    set: BTreeSet<&'static str>,
}

impl Changes {
    /// The changes that bring `live` to `desired`.
    pub fn between(kind: &dyn Kind, live: &Attrs, desired: &Attrs) -> Changes {
        let (mut live, mut desired) = (live.clone(), desired.clone());
        kind.canonicalize(&mut live);
        kind.canonicalize(&mut desired);
        let mut out = Changes::default();
        for f in kind.schema().fields.iter().filter(|f| !f.client_only) {
            let norm = |a: &Attrs| a.get(f.name).map(|v| f.ty.normalize(v)).unwrap_or_default();
            let after = norm(&desired);
            if norm(&live) != after {
                out.differ.insert(f.name);
                if after != Value::Null {
                    out.set.insert(f.name);
                }
            }
        }
        out
    }

    /// True when `field` differs, whether desired sets it or leaves it unset.
    pub fn has(&self, field: &str) -> bool {
        self.differ.contains(field)
    }

    /// True when `field` differs and desired sets it to a value: the
    /// planner's rule for what an update writes.
    pub fn sets(&self, field: &str) -> bool {
        self.set.contains(field)
    }

    /// True when any of `fields` differs.
    pub fn any(&self, fields: &[&str]) -> bool {
        fields.iter().any(|f| self.has(f))
    }

    /// True when desired sets any of `fields` to a new value.
    pub fn sets_any(&self, fields: &[&str]) -> bool {
        fields.iter().any(|f| self.sets(f))
    }

    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.differ.is_empty()
    }

    /// These changes but `field`.
    pub fn without(&self, field: &str) -> Changes {
        let mut out = self.clone();
        out.differ.remove(field);
        out.set.remove(field);
        out
    }

    /// The fields that differ, in name order.
    pub fn fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.differ.iter().copied()
    }
}

/// Brings a resource just made to `desired` from what its create left
/// (`created`): the settings a create call cannot take are applied as an
/// update of the fields that differ.
pub async fn update_from(
    kind: &dyn Kind,
    cx: Ctx<'_>,
    address: &str,
    id: &str,
    created: &Attrs,
    desired: &Attrs,
) -> ApiResult<()> {
    let changed = Changes::between(kind, created, desired);
    let changed = &changed;
    let op = Update { cx, address, id, live: created, desired, changed };
    update(kind, op).await
}

/// An in-place update as the engine makes it: the kind's `update` with the
/// fields that changed but `tags`, then, when `tags` changed, the tag API
/// the kind names (`Kind::tagging`). A kind that names none gets `tags` in
/// its `update` like any other field.
pub async fn update(kind: &dyn Kind, op: Update<'_>) -> ApiResult<()> {
    let Some(tagging) = kind.tagging().filter(|_| op.changed.has("tags")) else {
        return kind.update(op).await;
    };
    let rest = op.changed.without("tags");
    if !rest.is_empty() {
        kind.update(Update { changed: &rest, ..op }).await?;
    }
    let handle = tagging.handle(kind, &op).await?;
    tagging.api.sync(op.cx, &handle, op.live, op.desired).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::attrs;

    #[test]
    fn only_fields_whose_normalized_values_differ_are_changed() {
        let subnet = crate::kinds::lookup("subnet").unwrap();
        let live = attrs(&[
            ("map_public_ip_on_launch", Value::Bool(false)),
            ("tags", Value::Map(Default::default())),
            ("availability_zone", Value::str("us-east-1a")),
        ]);
        let desired = attrs(&[
            ("map_public_ip_on_launch", Value::Bool(true)),
            ("tags", Value::Map(Default::default())),
        ]);
        let c = Changes::between(subnet, &live, &desired);
        assert!(c.has("map_public_ip_on_launch") && c.sets("map_public_ip_on_launch"));
        assert!(!c.has("tags"));
        // Unset on the desired side: it differs, but no update writes it.
        assert!(c.has("availability_zone") && !c.sets("availability_zone"));
        assert_eq!(
            c.fields().collect::<Vec<_>>(),
            ["availability_zone", "map_public_ip_on_launch"]
        );
    }

    #[test]
    fn sets_compare_without_order_and_the_kinds_canonical_form_applies() {
        let sg = crate::kinds::lookup("security_group").unwrap();
        let rule = |cidrs: &[&str]| {
            Value::List(vec![Value::Map(
                [
                    ("protocol".to_owned(), Value::str("tcp")),
                    ("from_port".to_owned(), Value::Int(443)),
                    ("to_port".to_owned(), Value::Int(443)),
                    (
                        "cidr_blocks".to_owned(),
                        Value::List(cidrs.iter().map(|c| Value::str(*c)).collect()),
                    ),
                ]
                .into_iter()
                .collect(),
            )])
        };
        let live = attrs(&[("ingress", rule(&["10.0.0.0/8", "10.1.0.0/16"]))]);
        let desired = attrs(&[("ingress", rule(&["10.1.0.0/16", "10.0.0.0/8"]))]);
        assert!(Changes::between(sg, &live, &desired).is_empty());
    }

    #[test]
    fn a_client_only_field_is_never_a_change() {
        let service = crate::kinds::lookup("ecs_service").unwrap();
        let live = attrs(&[("wait_for_steady_state", Value::Bool(false))]);
        let desired = attrs(&[("wait_for_steady_state", Value::Bool(true))]);
        assert!(Changes::between(service, &live, &desired).is_empty());
    }

    /// A kind that records the updates it is asked for, tagged through a
    /// tag API that records the handles it gets.
    struct Recorder {
        updates: std::sync::Mutex<Vec<Vec<&'static str>>>,
        handle: super::super::Handle,
    }
    struct RecordTags(std::sync::Mutex<Vec<String>>);
    static TAGGED: RecordTags = RecordTags(std::sync::Mutex::new(Vec::new()));

    #[async_trait::async_trait]
    impl super::super::TagApi for RecordTags {
        async fn sync(&self, _: Ctx<'_>, handle: &str, _: &Attrs, _: &Attrs) -> ApiResult<()> {
            self.0.lock().unwrap().push(handle.to_owned());
            Ok(())
        }
    }

    #[async_trait::async_trait]
    impl Kind for Recorder {
        fn schema(&self) -> &'static crate::schema::Schema {
            crate::kinds::lookup("subnet").unwrap().schema()
        }
        fn tagging(&self) -> Option<super::super::Tagging> {
            Some(super::super::Tagging { api: &TAGGED, handle: self.handle })
        }
        async fn read_many(&self, _: Ctx<'_>, ids: &[String]) -> ApiResult<crate::kinds::LiveMap> {
            let arn = attrs(&[("arn", Value::str("arn:aws:x:::subnet/s-1"))]);
            Ok(ids.iter().map(|id| (id.clone(), arn.clone())).collect())
        }
        async fn create(&self, _: crate::kinds::Create<'_>) -> ApiResult<String> {
            unreachable!("not created")
        }
        async fn update(&self, op: Update<'_>) -> ApiResult<()> {
            self.updates
                .lock()
                .unwrap()
                .push(op.changed.fields().collect());
            Ok(())
        }
        async fn delete(&self, _: crate::kinds::Delete<'_>) -> ApiResult<()> {
            unreachable!("not deleted")
        }
    }

    #[tokio::test]
    async fn tags_go_to_the_tag_api_and_update_sees_the_rest() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let clients = crate::aws::Clients::from_config(&config);
        let cx = Ctx { aws: &clients, stack: "s" };
        let tags = |v: &str| Value::Map([("team".to_owned(), Value::str(v))].into());
        let live = attrs(&[
            ("map_public_ip_on_launch", Value::Bool(false)),
            ("tags", tags("a")),
        ]);
        let both = attrs(&[
            ("map_public_ip_on_launch", Value::Bool(true)),
            ("tags", tags("b")),
        ]);
        let only_tags = attrs(&[
            ("map_public_ip_on_launch", Value::Bool(false)),
            ("tags", tags("b")),
        ]);
        let kind = Recorder { updates: Default::default(), handle: super::super::Handle::Id };
        for desired in [&both, &only_tags] {
            let changed = Changes::between(&kind, &live, desired);
            let op = Update {
                cx,
                address: "subnet.a",
                id: "s-1",
                live: &live,
                desired,
                changed: &changed,
            };
            update(&kind, op).await.unwrap();
        }
        // The kind saw the field but not the tags, and nothing at all when
        // only the tags changed; the tag API got the id both times.
        assert_eq!(
            *kind.updates.lock().unwrap(),
            [vec!["map_public_ip_on_launch"]]
        );
        assert_eq!(*TAGGED.0.lock().unwrap(), ["s-1", "s-1"]);
        // By ARN: live attributes without one are read again for it.
        let kind = Recorder { updates: Default::default(), handle: super::super::Handle::Arn };
        let changed = Changes::between(&kind, &live, &only_tags);
        let op = Update {
            cx,
            address: "subnet.a",
            id: "s-1",
            live: &live,
            desired: &only_tags,
            changed: &changed,
        };
        update(&kind, op).await.unwrap();
        assert_eq!(
            TAGGED.0.lock().unwrap().last().unwrap(),
            "arn:aws:x:::subnet/s-1"
        );
    }
}
