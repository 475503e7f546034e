//! `listener`: a port a load balancer accepts connections on, and what it
//! does with the requests no rule matches.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{Certificate, Listener as AwsListener, ProtocolEnum};

use super::{
    ACTION, ACTION_RULES, BATCH, action_of, action_value, all_listener_arns, i32_attr,
    only_requested, tagged_with, upper_case, with_tags,
};
use crate::aws::ApiError;
use crate::kinds::support::{
    Poll, Waiter, create_tags, find_by_address, gone_is_ok, pages, present, str_attr, wait_visible,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::PORT;
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct Listener;

static SCHEMA: Schema = Schema {
    kind: "listener",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "A listener: a port a load balancer accepts connections on, and what it does with requests no rule matches.",
    fields: &[
        Field::new("load_balancer_arn", Type::Arn)
            .required()
            .force_new()
            .doc("The load balancer that listens."),
        Field::new("port", PORT)
            .required()
            .doc("The port it listens on; changed in place."),
        Field::new("protocol", Type::String)
            .default(Default::Str("HTTP"))
            .one_of(super::ELB_PROTOCOLS)
            .doc("\"HTTP\" or \"HTTPS\" on an application load balancer; \"TCP\", \"TLS\", \"UDP\" or \"TCP_UDP\" on a network one."),
        Field::new("certificate_arn", Type::Arn)
            .unset_is_null()
            .doc("The default server certificate of an HTTPS or TLS listener."),
        Field::new("ssl_policy", Type::String)
            .doc("The security policy of an HTTPS or TLS listener, e.g. \"ELBSecurityPolicy-TLS13-1-2-2021-06\"."),
        Field::new("default_action", ACTION)
            .rules(ACTION_RULES)
            .example("{\"type\": \"forward\", \"target_group_arn\": \"${target_group.example.arn}\"}")
            .required()
            .doc("What to do with requests no rule matches; changed in place."),
        TAGS,
        ID,
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the listener (also its id)."),
    ],
};

impl Listener {
    /// The listeners of `arns` that exist, with their tags: one
    /// DescribeListeners and one DescribeTags per 20 ARNs.
    async fn describe(&self, cx: Ctx<'_>, arns: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
        let listeners = self.listeners(cx, arns).await?;
        with_tags(cx, &listeners, AwsListener::listener_arn, listener_attrs).await
    }

    /// The described listeners of `arns` that exist.
    async fn listeners(&self, cx: Ctx<'_>, arns: &[String]) -> ApiResult<Vec<AwsListener>> {
        let listeners = BATCH
            .read(arns, |chunk| async move {
                pages!(
                    cx.aws
                        .elb
                        .describe_listeners()
                        .set_listener_arns(Some(chunk.to_vec()))
                )
            })
            .await?;
        Ok(only_requested(listeners, arns, AwsListener::listener_arn))
    }
}

fn listener_attrs(l: &AwsListener) -> Attrs {
    let arn = l.listener_arn().unwrap_or_default();
    let certificate = l
        .certificates()
        .iter()
        .find(|c| c.is_default() != Some(false))
        .and_then(Certificate::certificate_arn);
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("load_balancer_arn".into(), l.load_balancer_arn().into());
    a.insert("port".into(), l.port().into());
    a.insert(
        "protocol".into(),
        l.protocol().map(ProtocolEnum::as_str).into(),
    );
    a.insert("certificate_arn".into(), certificate.into());
    a.insert("ssl_policy".into(), l.ssl_policy().into());
    a.insert("default_action".into(), action_value(l.default_actions()));
    a
}

/// Whether the desired value of an optional field is set (an unset
/// optional field is not managed).
fn is_set(a: &Attrs, field: &str) -> bool {
    a.get(field).is_some_and(|v| !v.is_null())
}

#[async_trait]
impl Kind for Listener {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::ElbTags))
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        upper_case(attrs, "protocol");
    }

    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        self.describe(cx, ids).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let action = action_of(desired.get("default_action").unwrap_or(&Value::Null))?;
        let protocol = str_attr(desired, "protocol").map(|p| p.to_ascii_uppercase());
        let certificate = str_attr(desired, "certificate_arn")
            .map(|arn| Certificate::builder().certificate_arn(arn).build());
        let out = cx
            .aws
            .elb
            .create_listener()
            .set_load_balancer_arn(str_attr(desired, "load_balancer_arn"))
            .set_port(i32_attr(desired, "port")?)
            .set_protocol(protocol.as_deref().map(ProtocolEnum::from))
            .set_certificates(certificate.map(|c| vec![c]))
            .set_ssl_policy(str_attr(desired, "ssl_policy"))
            .default_actions(action)
            .set_tags(Some(create_tags(cx, address, desired)?))
            .send()
            .await?;
        let arn = out
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .ok_or_else(|| ApiError::msg("CreateListener returned no ARN"))?
            .to_owned();
        crate::kinds::created(&arn);
        let what = format!("listener {arn} to become visible");
        wait_visible(cx.timeouts(self).create, &what, || async {
            let found = self.listeners(cx, std::slice::from_ref(&arn)).await?;
            Ok(present(found.first().map(drop)))
        })
        .await?;
        Ok(arn)
    }

    /// One ModifyListener with only what changed, then the tags.
    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        let mut after = desired.clone();
        self.canonicalize(&mut after);
        let protocol_changed = changed.sets("protocol");
        let mut call = cx.aws.elb.modify_listener().listener_arn(id);
        let mut any = false;
        if changed.sets("port") {
            call = call.set_port(i32_attr(&after, "port")?);
            any = true;
        }
        if protocol_changed {
            call = call.set_protocol(
                str_attr(&after, "protocol")
                    .as_deref()
                    .map(ProtocolEnum::from),
            );
            any = true;
        }
        // A listener becoming HTTPS takes its certificate and policy in the
        // same call.
        if changed.sets("certificate_arn")
            || (protocol_changed && is_set(&after, "certificate_arn"))
        {
            call = call.certificates(
                Certificate::builder()
                    .set_certificate_arn(str_attr(&after, "certificate_arn"))
                    .build(),
            );
            any = true;
        }
        if changed.sets("ssl_policy") || (protocol_changed && is_set(&after, "ssl_policy")) {
            call = call.set_ssl_policy(str_attr(&after, "ssl_policy"));
            any = true;
        }
        if changed.sets("default_action") {
            call = call.default_actions(action_of(
                after.get("default_action").unwrap_or(&Value::Null),
            )?);
            any = true;
        }
        if any {
            call.send().await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        gone_is_ok(cx.aws.elb.delete_listener().listener_arn(id).send().await)?;
        Waiter::new(cx.timeouts(self).delete)
            .until(&format!("listener {id} to be deleted"), || async {
                let found = self.listeners(cx, &[id.to_owned()]).await?;
                Ok(if found.is_empty() {
                    Poll::Ready(())
                } else {
                    Poll::Pending("still listed".into())
                })
            })
            .await
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let arns = all_listener_arns(cx).await?;
        find_by_address(cx, address, |t| tagged_with(cx, &arns, t)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum};

    #[test]
    fn only_the_load_balancer_forces_replacement() {
        assert!(SCHEMA.field("load_balancer_arn").unwrap().force_new);
        for f in [
            "port",
            "protocol",
            "certificate_arn",
            "ssl_policy",
            "default_action",
            "tags",
        ] {
            assert!(!SCHEMA.field(f).unwrap().force_new, "{f}");
        }
        let filled = SCHEMA.with_defaults(&Attrs::new());
        assert_eq!(filled["protocol"], Value::str("HTTP"));
        assert!(!filled.contains_key("ssl_policy"));
    }

    #[test]
    fn a_described_listener_reads_as_its_fields() {
        let l = AwsListener::builder()
            .listener_arn("arn:listener")
            .load_balancer_arn("arn:lb")
            .port(443)
            .protocol(ProtocolEnum::Https)
            .certificates(Certificate::builder().certificate_arn("arn:cert").build())
            .ssl_policy("ELBSecurityPolicy-2016-08")
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn("arn:tg")
                    .build(),
            )
            .build();
        let a = listener_attrs(&l);
        assert_eq!(a["id"], Value::str("arn:listener"));
        assert_eq!(a["port"], Value::Int(443));
        assert_eq!(a["protocol"], Value::str("HTTPS"));
        assert_eq!(a["certificate_arn"], Value::str("arn:cert"));
        assert_eq!(
            ACTION.normalize(&a["default_action"]),
            ACTION.normalize(&Value::Map(BTreeMap::from([
                ("type".to_owned(), Value::str("forward")),
                ("target_group_arn".to_owned(), Value::str("arn:tg")),
            ])))
        );
        let plain = listener_attrs(&AwsListener::builder().listener_arn("arn:l").build());
        assert_eq!(plain["certificate_arn"], Value::Null);
    }

    #[test]
    fn protocols_compare_in_upper_case() {
        let mut a = Attrs::from([("protocol".to_owned(), Value::str("https"))]);
        Listener.canonicalize(&mut a);
        assert_eq!(a["protocol"], Value::str("HTTPS"));
        let mut unknown = Attrs::from([("protocol".to_owned(), Value::Unknown)]);
        Listener.canonicalize(&mut unknown);
        assert_eq!(unknown["protocol"], Value::Unknown);
    }
}
