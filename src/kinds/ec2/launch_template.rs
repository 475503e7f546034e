//! `launch_template`: what an Auto Scaling group launches (AMI, instance
//! type, profile, user data). Launch templates are versioned: a change makes
//! a new version and sets it as the default, never a new template.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    InstanceInterruptionBehavior, InstanceType, LaunchTemplate, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMarketOptionsRequest, LaunchTemplateInstanceMetadataEndpointState,
    LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplateSpotMarketOptionsRequest,
    MarketType, RequestLaunchTemplateData, ResourceType, ResponseLaunchTemplateData,
    SpotInstanceType,
};

use super::{address_filters, tag_spec};
use crate::aws::ApiError;
use crate::kinds::default_name;
use crate::kinds::support::{
    AddressTags, client_token, gone_is_ok, int_field, pages, str_attr, str_field, table, tags_value,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct LaunchTemplateKind;

const METADATA: &[Field] = &[
    Field::new("http_tokens", Type::String).doc("\"required\" (IMDSv2 only) or \"optional\"."),
    Field::new("http_put_response_hop_limit", Type::Int)
        .doc("How many network hops the metadata response may travel (2 for containers)."),
    Field::new("http_endpoint", Type::String).doc("\"enabled\" or \"disabled\"."),
];

const MARKET: &[Field] = &[
    Field::new("market_type", Type::String)
        .default(Default::Str("spot"))
        .doc("\"spot\" (the only market a launch template can ask for)."),
    Field::new("max_price", Type::String)
        .doc("The highest hourly price; the on-demand price when unset."),
    Field::new("spot_instance_type", Type::String).doc("\"one-time\" or \"persistent\"."),
    Field::new("instance_interruption_behavior", Type::String)
        .doc("\"terminate\", \"stop\" or \"hibernate\"."),
];

/// The fields that make up a version's data: any change makes a version.
const DATA_FIELDS: [&str; 8] = [
    "image_id",
    "instance_type",
    "iam_instance_profile",
    "security_group_ids",
    "key_name",
    "user_data",
    "metadata_options",
    "instance_market_options",
];

static SCHEMA: Schema = Schema {
    kind: "launch_template",
    service: super::SERVICE,
    timeouts: Timeouts::DEFAULT,
    description: "An EC2 launch template; a change creates a new default version.",
    fields: &[
        Field::stack_name("name", crate::kinds::names::LAUNCH_TEMPLATE)
            .doc("The template name; by default `<stack>-<resource name>`. Exported too."),
        Field::new("image_id", Type::String)
            .example("\"ami-0abcdef1234567890\"")
            .required()
            .doc("The AMI, e.g. `${lookups.ecs_ami.value}` (the ECS-optimized AMI from SSM)."),
        Field::new("instance_type", Type::String)
            .unset_is_null().doc("e.g. \"t3.micro\"."),
        Field::new("iam_instance_profile", Type::String)
            .unset_is_null()
            .doc("The instance profile, by name or ARN."),
        Field::new("security_group_ids", Type::Set(&Type::String)).default(Default::EmptyList),
        Field::new("key_name", Type::String)
            .unset_is_null().doc("The EC2 key pair for SSH."),
        Field::new("user_data", Type::String)
            .unset_is_null()
            .doc("The boot script as plain text (sent base64-encoded), e.g. writing ECS_CLUSTER to /etc/ecs/ecs.config."),
        Field::new("metadata_options", Type::Object(METADATA))
            .unset_is_null()
            .doc("The instance metadata service (IMDS) settings."),
        Field::new("instance_market_options", Type::Object(MARKET))
            .unset_is_null()
            .doc("Launch spot instances."),
        TAGS,
        ID,
        Field::new("latest_version", Type::String)
            .computed()
            .doc("The newest version number (e.g. \"2\")."),
        Field::new("default_version", Type::String)
            .computed()
            .doc("The default version number: the newest one reconcile made."),
    ],
};

/// The data of a version as the API takes it: only what the user set, so
/// that it reads back equal.
fn request_data(desired: &Attrs) -> RequestLaunchTemplateData {
    let profile = str_attr(desired, "iam_instance_profile").map(|p| {
        let b = LaunchTemplateIamInstanceProfileSpecificationRequest::builder();
        if p.starts_with("arn:") {
            b.arn(p).build()
        } else {
            b.name(p).build()
        }
    });
    let metadata = desired.get("metadata_options").map(|m| {
        LaunchTemplateInstanceMetadataOptionsRequest::builder()
            .set_http_tokens(
                str_field(Some(m), "http_tokens")
                    .map(|s| LaunchTemplateHttpTokensState::from(s.as_str())),
            )
            .set_http_put_response_hop_limit(
                int_field(Some(m), "http_put_response_hop_limit")
                    .ok()
                    .flatten(),
            )
            .set_http_endpoint(
                str_field(Some(m), "http_endpoint")
                    .map(|s| LaunchTemplateInstanceMetadataEndpointState::from(s.as_str())),
            )
            .build()
    });
    let market = desired.get("instance_market_options").map(|m| {
        LaunchTemplateInstanceMarketOptionsRequest::builder()
            .market_type(MarketType::from(
                str_field(Some(m), "market_type")
                    .unwrap_or_else(|| "spot".into())
                    .as_str(),
            ))
            .spot_options(
                LaunchTemplateSpotMarketOptionsRequest::builder()
                    .set_max_price(str_field(Some(m), "max_price"))
                    .set_spot_instance_type(
                        str_field(Some(m), "spot_instance_type")
                            .map(|s| SpotInstanceType::from(s.as_str())),
                    )
                    .set_instance_interruption_behavior(
                        str_field(Some(m), "instance_interruption_behavior")
                            .map(|s| InstanceInterruptionBehavior::from(s.as_str())),
                    )
                    .build(),
            )
            .build()
    });
    let groups = desired
        .get("security_group_ids")
        .map(Value::str_list)
        .filter(|g| !g.is_empty());
    RequestLaunchTemplateData::builder()
        .set_image_id(str_attr(desired, "image_id"))
        .set_instance_type(
            str_attr(desired, "instance_type").map(|t| InstanceType::from(t.as_str())),
        )
        .set_iam_instance_profile(profile)
        .set_security_group_ids(groups)
        .set_key_name(str_attr(desired, "key_name"))
        .set_user_data(str_attr(desired, "user_data").map(aws_smithy_types::base64::encode))
        .set_metadata_options(metadata)
        .set_instance_market_options(market)
        .build()
}

/// The attributes of a version's data, user data decoded back to text.
fn data_attrs(d: &ResponseLaunchTemplateData, a: &mut Attrs) {
    a.insert("image_id".into(), d.image_id().into());
    a.insert(
        "instance_type".into(),
        d.instance_type().map(InstanceType::as_str).into(),
    );
    a.insert(
        "iam_instance_profile".into(),
        d.iam_instance_profile()
            .and_then(|p| p.arn().or(p.name()))
            .into(),
    );
    a.insert(
        "security_group_ids".into(),
        Value::from(d.security_group_ids().to_vec()),
    );
    a.insert("key_name".into(), d.key_name().into());
    // Text that was not base64 (made outside reconcile) reads as it is.
    let user_data = d.user_data().map(|u| {
        aws_smithy_types::base64::decode(u)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| u.to_owned())
    });
    a.insert("user_data".into(), user_data.into());
    a.insert(
        "metadata_options".into(),
        d.metadata_options().map_or(Value::Null, |m| {
            table([
                (
                    "http_tokens",
                    m.http_tokens()
                        .map(aws_sdk_ec2::types::LaunchTemplateHttpTokensState::as_str)
                        .into(),
                ),
                (
                    "http_put_response_hop_limit",
                    m.http_put_response_hop_limit().into(),
                ),
                (
                    "http_endpoint",
                    m.http_endpoint()
                        .map(
                            aws_sdk_ec2::types::LaunchTemplateInstanceMetadataEndpointState::as_str,
                        )
                        .into(),
                ),
            ])
        }),
    );
    a.insert(
        "instance_market_options".into(),
        d.instance_market_options().map_or(Value::Null, |m| {
            let spot = m.spot_options();
            table([
                (
                    "market_type",
                    m.market_type()
                        .map(aws_sdk_ec2::types::MarketType::as_str)
                        .into(),
                ),
                ("max_price", spot.and_then(|s| s.max_price()).into()),
                (
                    "spot_instance_type",
                    spot.and_then(|s| s.spot_instance_type())
                        .map(aws_sdk_ec2::types::SpotInstanceType::as_str)
                        .into(),
                ),
                (
                    "instance_interruption_behavior",
                    spot.and_then(|s| s.instance_interruption_behavior())
                        .map(aws_sdk_ec2::types::InstanceInterruptionBehavior::as_str)
                        .into(),
                ),
            ])
        }),
    );
}

fn template_attrs(t: &LaunchTemplate) -> Attrs {
    let mut a = Attrs::new();
    a.insert("id".into(), t.launch_template_id().into());
    a.insert("name".into(), t.launch_template_name().into());
    a.insert(
        "latest_version".into(),
        t.latest_version_number().map(|n| n.to_string()).into(),
    );
    a.insert(
        "default_version".into(),
        t.default_version_number().map(|n| n.to_string()).into(),
    );
    a.insert("tags".into(), tags_value(t.tags()));
    a
}

impl LaunchTemplateKind {
    async fn describe(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<BTreeMap<String, Attrs>> {
        let found = cx
            .aws
            .ec2
            .describe_launch_templates()
            .set_launch_template_ids(Some(ids.to_vec()))
            .send()
            .await;
        let templates = match found {
            Ok(out) => out.launch_templates().to_vec(),
            // AWS refuses the whole call when one id is gone: ask one by one.
            Err(e) => {
                let e = ApiError::from(e);
                if !e.is_not_found() {
                    return Err(e);
                }
                if ids.len() == 1 {
                    return Ok(BTreeMap::new());
                }
                let mut out = BTreeMap::new();
                for id in ids {
                    out.extend(Box::pin(self.describe(cx, std::slice::from_ref(id))).await?);
                }
                return Ok(out);
            }
        };
        Ok(templates
            .iter()
            .filter_map(|t| Some((t.launch_template_id()?.to_owned(), template_attrs(t))))
            .collect())
    }
}

#[async_trait]
impl Kind for LaunchTemplateKind {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&super::Ec2Tags))
    }

    fn changed_by_update(&self) -> &'static [&'static str] {
        &["latest_version", "default_version"]
    }

    /// Two calls whatever the number of templates: the templates by id, then
    /// the default versions of every template at once (the API's
    /// account-wide form, `$Default` without an id).
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut out = self.describe(cx, ids).await?;
        if out.is_empty() {
            return Ok(out);
        }
        let versions = pages!(
            cx.aws
                .ec2
                .describe_launch_template_versions()
                .versions("$Default")
        )?;
        for v in versions {
            let Some(a) = v.launch_template_id().and_then(|id| out.get_mut(id)) else {
                continue;
            };
            if let Some(d) = v.launch_template_data() {
                data_attrs(d, a);
            }
        }
        Ok(out)
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let name = str_attr(desired, "name").unwrap_or_else(|| default_name(cx.stack, address));
        let out = cx
            .aws
            .ec2
            .create_launch_template()
            .launch_template_name(&name)
            .launch_template_data(request_data(desired))
            .client_token(client_token([cx.stack, address, name.as_str()]))
            .tag_specifications(tag_spec(
                cx,
                ResourceType::LaunchTemplate,
                address,
                desired,
            )?)
            .send()
            .await?;
        out.launch_template()
            .and_then(LaunchTemplate::launch_template_id)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::msg("CreateLaunchTemplate returned no id"))
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, address, id, live, desired, changed } = op;
        if changed.sets_any(&DATA_FIELDS) {
            // The token covers the data and the version it follows, so a
            // retried call returns the version the first one made.
            let data = request_data(desired);
            let after = str_attr(live, "latest_version").unwrap_or_default();
            let token = client_token([cx.stack, address, id, after.as_str(), &format!("{data:?}")]);
            let out = cx
                .aws
                .ec2
                .create_launch_template_version()
                .launch_template_id(id)
                .launch_template_data(data)
                .client_token(token)
                .send()
                .await?;
            let version = out
                .launch_template_version()
                .and_then(aws_sdk_ec2::types::LaunchTemplateVersion::version_number)
                .ok_or_else(|| ApiError::msg("CreateLaunchTemplateVersion returned no number"))?;
            cx.aws
                .ec2
                .modify_launch_template()
                .launch_template_id(id)
                .default_version(version.to_string())
                .send()
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        // Deleting a template deletes all its versions; nothing to wait for.
        gone_is_ok(
            cx.aws
                .ec2
                .delete_launch_template()
                .launch_template_id(id)
                .send()
                .await,
        )
    }

    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let out = cx
            .aws
            .ec2
            .describe_launch_templates()
            .set_filters(Some(address_filters(AddressTags::new(cx, address))))
            .send()
            .await?;
        Ok(out
            .launch_templates()
            .first()
            .and_then(LaunchTemplate::launch_template_id)
            .map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;
    use aws_sdk_ec2::types::{
        LaunchTemplateIamInstanceProfileSpecification, LaunchTemplateInstanceMarketOptions,
        LaunchTemplateInstanceMetadataOptions, LaunchTemplateSpotMarketOptions,
    };

    fn desired() -> Attrs {
        let mut a = Attrs::from([
            ("image_id".to_owned(), Value::str("ami-0abc")),
            ("instance_type".to_owned(), Value::str("t3.micro")),
            ("iam_instance_profile".to_owned(), Value::str("ecs-node")),
            (
                "user_data".to_owned(),
                Value::str("#!/bin/bash\necho ECS_CLUSTER=app >> /etc/ecs/ecs.config\n"),
            ),
            (
                "metadata_options".to_owned(),
                table([
                    ("http_tokens", Value::str("required")),
                    ("http_put_response_hop_limit", Value::Int(2)),
                ]),
            ),
            (
                "instance_market_options".to_owned(),
                table([("max_price", Value::str("0.05"))]),
            ),
        ]);
        a = SCHEMA.with_defaults(&a);
        a
    }

    /// What AWS answers for the data `request_data` sends.
    fn echoed(r: &RequestLaunchTemplateData) -> ResponseLaunchTemplateData {
        let m = r.metadata_options().unwrap();
        let spot = r.instance_market_options().unwrap().spot_options().unwrap();
        ResponseLaunchTemplateData::builder()
            .set_image_id(r.image_id().map(str::to_owned))
            .set_instance_type(r.instance_type().cloned())
            .iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecification::builder()
                    .set_name(
                        r.iam_instance_profile()
                            .and_then(|p| p.name())
                            .map(str::to_owned),
                    )
                    .build(),
            )
            .set_user_data(r.user_data().map(str::to_owned))
            .metadata_options(
                LaunchTemplateInstanceMetadataOptions::builder()
                    .set_http_tokens(m.http_tokens().cloned())
                    .set_http_put_response_hop_limit(m.http_put_response_hop_limit())
                    .build(),
            )
            .instance_market_options(
                LaunchTemplateInstanceMarketOptions::builder()
                    .market_type(MarketType::Spot)
                    .spot_options(
                        LaunchTemplateSpotMarketOptions::builder()
                            .set_max_price(spot.max_price().map(str::to_owned))
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    #[test]
    fn user_data_travels_base64_and_reads_back_as_text() {
        let d = desired();
        let req = request_data(&d);
        let wire = req.user_data().unwrap();
        assert!(!wire.contains("ECS_CLUSTER"), "sent encoded: {wire}");
        let mut live = Attrs::new();
        data_attrs(&echoed(&req), &mut live);
        assert_eq!(live["user_data"], d["user_data"]);
    }

    #[test]
    fn what_is_sent_reads_back_without_a_difference() {
        let d = desired();
        let mut live = Attrs::new();
        data_attrs(&echoed(&request_data(&d)), &mut live);
        for f in DATA_FIELDS {
            assert!(
                !Changes::between(&LaunchTemplateKind, &live, &d).has(f),
                "{f}: {live:?}"
            );
        }
        assert!(!Changes::between(&LaunchTemplateKind, &live, &d).sets_any(&DATA_FIELDS));
        let mut bigger = d.clone();
        bigger.insert("instance_type".into(), Value::str("t3.small"));
        assert!(Changes::between(&LaunchTemplateKind, &live, &bigger).sets_any(&DATA_FIELDS));
    }

    #[test]
    fn a_profile_arn_is_sent_as_arn_and_a_name_as_name() {
        let mut d = desired();
        let req = request_data(&d);
        assert_eq!(req.iam_instance_profile().unwrap().name(), Some("ecs-node"));
        d.insert(
            "iam_instance_profile".into(),
            Value::str("arn:aws:iam::1:instance-profile/ecs-node"),
        );
        let req = request_data(&d);
        assert!(req.iam_instance_profile().unwrap().name().is_none());
        assert!(req.iam_instance_profile().unwrap().arn().is_some());
    }

    #[test]
    fn versions_are_exported_and_change_on_update_only() {
        assert!(!SCHEMA.field("image_id").unwrap().force_new);
        assert!(!SCHEMA.field("instance_type").unwrap().force_new);
        assert!(SCHEMA.field("name").unwrap().force_new);
        for f in LaunchTemplateKind.changed_by_update() {
            assert!(SCHEMA.field(f).unwrap().computed, "{f}");
        }
        let t = LaunchTemplate::builder()
            .launch_template_id("lt-0abc")
            .launch_template_name("app")
            .latest_version_number(3)
            .default_version_number(3)
            .build();
        let a = template_attrs(&t);
        assert_eq!(a["latest_version"], Value::str("3"));
        assert_eq!(a["default_version"], Value::str("3"));
    }
}
