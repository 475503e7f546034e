//! `cloudfront_distribution`: a CloudFront web distribution.
//!
//! Every change replaces the whole configuration (UpdateDistribution takes
//! all of it, quoting the ETag of the one it replaces), then waits until
//! CloudFront has deployed it to every edge.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CachedMethods, CookiePreference, CustomOriginConfig,
    DefaultCacheBehavior, Distribution, DistributionConfig, DistributionConfigWithTags,
    ForwardedValues, ItemSelection, Method, MinimumProtocolVersion, Origin, OriginProtocolPolicy,
    Origins, PriceClass, S3OriginConfig, SslSupportMethod, ViewerCertificate, ViewerProtocolPolicy,
};

use super::{built, create_tags, tags_of, wait_deployed};
use crate::aws::ApiError;
use crate::kinds::support::{
    AddressTags, bool_attr, first_match, found, pages, read_each, str_attr, user_tags,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::PORT;
use crate::schema::{Default, Field, ID, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct CloudFrontDistribution;

const S3_ORIGIN: &[Field] = &[Field::new("origin_access_identity", Type::String)
    .default(Default::Str(""))
    .doc("`origin-access-identity/cloudfront/<id>`, or empty for a public bucket.")];

const CUSTOM_ORIGIN: &[Field] = &[
    Field::new("http_port", PORT).default(Default::Int(80)),
    Field::new("https_port", PORT).default(Default::Int(443)),
    Field::new("origin_protocol_policy", Type::String)
        .default(Default::Str("https-only"))
        .doc("\"http-only\", \"https-only\" or \"match-viewer\"."),
];

const ORIGIN: &[Field] = &[
    Field::new("id", Type::String)
        .example("\"alb\"")
        .required()
        .doc("The name cache behaviors point to."),
    Field::new("domain_name", Type::String)
        .example("\"${load_balancer.example.dns_name}\"")
        .required()
        .doc("The origin's DNS name (a bucket's regional domain name, a load balancer's)."),
    Field::new("origin_path", Type::String)
        .default(Default::Str(""))
        .doc("A folder of the origin requests are served from (`/site`)."),
    Field::new("s3_origin", Type::Object(S3_ORIGIN)).doc("Set for an S3 bucket origin."),
    Field::new("custom_origin", Type::Object(CUSTOM_ORIGIN))
        .doc("Set for any other origin (HTTP server, load balancer, website endpoint)."),
];

const GET_HEAD: &str = "GET,HEAD";

const CACHE_BEHAVIOR: &[Field] = &[
    Field::new("target_origin_id", Type::String)
        .example("\"alb\"")
        .required()
        .doc("The `id` of the origin requests go to."),
    Field::new("viewer_protocol_policy", Type::String)
        .default(Default::Str("redirect-to-https"))
        .doc("\"allow-all\", \"https-only\" or \"redirect-to-https\"."),
    Field::new("allowed_methods", Type::Set(&Type::String))
        .doc("HTTP methods forwarded; by default GET and HEAD."),
    Field::new("cached_methods", Type::Set(&Type::String))
        .doc("HTTP methods whose answers are cached; by default GET and HEAD."),
    Field::new("cache_policy_id", Type::String)
        .doc("A cache policy; when set, the TTLs and forward_query_string are not used."),
    Field::new("min_ttl", Type::Int).default(Default::Int(0)),
    Field::new("default_ttl", Type::Int).default(Default::Int(86400)),
    Field::new("max_ttl", Type::Int).default(Default::Int(31_536_000)),
    Field::new("forward_query_string", Type::Bool).default(Default::Bool(false)),
];

const CERTIFICATE: &[Field] = &[
    Field::new("acm_certificate_arn", Type::String)
        .required()
        .doc("An ACM certificate in us-east-1 covering the aliases."),
    Field::new("ssl_support_method", Type::String).default(Default::Str("sni-only")),
    Field::new("minimum_protocol_version", Type::String).default(Default::Str("TLSv1.2_2021")),
];

static SCHEMA: Schema = Schema {
    kind: "cloudfront_distribution",
    service: super::SERVICE,
    // Every change spreads to hundreds of edge locations: minutes, at
    // times much longer.
    timeouts: Timeouts::minutes(40, 40, 40),
    description: "A CloudFront web distribution.",
    fields: &[
        Field::new("origins", Type::List(&Type::Object(ORIGIN)))
            .required()
            .doc("Where CloudFront fetches content: each with `s3_origin` or `custom_origin`."),
        Field::new("default_cache_behavior", Type::Object(CACHE_BEHAVIOR))
            .required()
            .doc("How requests are routed and cached."),
        Field::new("aliases", Type::Set(&Type::String))
            .default(Default::EmptyList)
            .doc("Extra domain names (CNAMEs); they need a `certificate`."),
        Field::new("certificate", Type::Object(CERTIFICATE))
            .doc("An ACM certificate; by default the *.cloudfront.net one."),
        Field::new("enabled", Type::Bool)
            .default(Default::Bool(true))
            .doc("Whether the distribution serves requests."),
        Field::new("price_class", Type::String)
            .default(Default::Str("PriceClass_All"))
            .doc("\"PriceClass_All\", \"PriceClass_200\" or \"PriceClass_100\"."),
        Field::new("comment", Type::String)
            .default(Default::Str(""))
            .doc("A note shown in the console."),
        Field::new("default_root_object", Type::String)
            .default(Default::Str(""))
            .doc("The object served for `/` (e.g. index.html)."),
        TAGS,
        ID,
        Field::new("arn", Type::String).computed().doc("The ARN."),
        Field::new("domain_name", Type::String)
            .computed()
            .doc("The `*.cloudfront.net` name, for DNS aliases."),
        Field::new("status", Type::String)
            .computed()
            .doc("`Deployed` once reconcile is done with it."),
        Field::new("etag", Type::String)
            .computed()
            .doc("The version of the configuration last read."),
    ],
};

/// The caller reference makes a repeated create (its answer lost) return
/// the same distribution instead of a second one.
fn caller_reference(stack: &str, address: &str) -> String {
    format!("reconcile:{stack}/{address}")
}

fn methods(v: Option<&Value>) -> Vec<Method> {
    let names = v
        .map(Value::str_list)
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| GET_HEAD.split(',').map(str::to_owned).collect());
    names.iter().map(|m| Method::from(m.as_str())).collect()
}

fn origin_of(o: &BTreeMap<String, Value>) -> ApiResult<Origin> {
    let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut b = Origin::builder()
        .set_id(s("id"))
        .set_domain_name(s("domain_name"))
        .origin_path(s("origin_path").unwrap_or_default());
    if let Some(c) = o.get("custom_origin").and_then(Value::as_map) {
        let int = |k: &str, d: i64| c.get(k).and_then(Value::as_int).unwrap_or(d) as i32;
        let policy = c
            .get("origin_protocol_policy")
            .and_then(Value::as_str)
            .unwrap_or("https-only");
        b = b.custom_origin_config(built(
            CustomOriginConfig::builder()
                .http_port(int("http_port", 80))
                .https_port(int("https_port", 443))
                .origin_protocol_policy(OriginProtocolPolicy::from(policy))
                .build(),
        )?);
    } else {
        // An origin without `custom_origin` is an S3 bucket.
        let oai = o
            .get("s3_origin")
            .and_then(Value::as_map)
            .and_then(|m| m.get("origin_access_identity"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        b = b.s3_origin_config(
            S3OriginConfig::builder()
                .origin_access_identity(oai)
                .build(),
        );
    }
    built(b.build())
}

// The TTLs and forwarded values are deprecated in favour of cache policies
// but still the way to cache without one.
#[allow(deprecated)]
fn cache_behavior_of(c: &BTreeMap<String, Value>) -> ApiResult<DefaultCacheBehavior> {
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    let int = |k: &str| c.get(k).and_then(Value::as_int);
    let allowed = methods(c.get("allowed_methods"));
    let cached = methods(c.get("cached_methods"));
    let mut b = DefaultCacheBehavior::builder()
        .set_target_origin_id(s("target_origin_id"))
        .viewer_protocol_policy(ViewerProtocolPolicy::from(
            s("viewer_protocol_policy")
                .as_deref()
                .unwrap_or("redirect-to-https"),
        ))
        .allowed_methods(built(
            AllowedMethods::builder()
                .quantity(allowed.len() as i32)
                .set_items(Some(allowed))
                .cached_methods(built(
                    CachedMethods::builder()
                        .quantity(cached.len() as i32)
                        .set_items(Some(cached))
                        .build(),
                )?)
                .build(),
        )?);
    // A cache policy and the legacy TTL/forwarding settings exclude each other.
    match s("cache_policy_id").filter(|p| !p.is_empty()) {
        Some(policy) => b = b.cache_policy_id(policy),
        None => {
            b = b
                .min_ttl(int("min_ttl").unwrap_or(0))
                .default_ttl(int("default_ttl").unwrap_or(86400))
                .max_ttl(int("max_ttl").unwrap_or(31_536_000))
                .forwarded_values(built(
                    ForwardedValues::builder()
                        .query_string(
                            c.get("forward_query_string")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                        )
                        .cookies(built(
                            CookiePreference::builder()
                                .forward(ItemSelection::None)
                                .build(),
                        )?)
                        .build(),
                )?);
        }
    }
    built(b.build())
}

/// The whole configuration `desired` asks for.
fn config_of(desired: &Attrs, caller_reference: &str) -> ApiResult<DistributionConfig> {
    let origins = desired
        .get("origins")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_map)
        .map(origin_of)
        .collect::<Result<Vec<_>, _>>()?;
    let behavior = desired
        .get("default_cache_behavior")
        .and_then(Value::as_map)
        .ok_or_else(|| ApiError::msg("default_cache_behavior is required"))?;
    let aliases = desired
        .get("aliases")
        .map(Value::str_list)
        .unwrap_or_default();
    let certificate = match desired.get("certificate").and_then(Value::as_map) {
        Some(c) => {
            let s = |k: &str, d: &str| c.get(k).and_then(Value::as_str).unwrap_or(d).to_owned();
            ViewerCertificate::builder()
                .acm_certificate_arn(s("acm_certificate_arn", ""))
                .ssl_support_method(SslSupportMethod::from(
                    s("ssl_support_method", "sni-only").as_str(),
                ))
                .minimum_protocol_version(MinimumProtocolVersion::from(
                    s("minimum_protocol_version", "TLSv1.2_2021").as_str(),
                ))
                .build()
        }
        None => ViewerCertificate::builder()
            .cloud_front_default_certificate(true)
            .build(),
    };
    built(
        DistributionConfig::builder()
            .caller_reference(caller_reference)
            .aliases(built(
                Aliases::builder()
                    .quantity(aliases.len() as i32)
                    .set_items(Some(aliases))
                    .build(),
            )?)
            .default_root_object(str_attr(desired, "default_root_object").unwrap_or_default())
            .origins(built(
                Origins::builder()
                    .quantity(origins.len() as i32)
                    .set_items(Some(origins))
                    .build(),
            )?)
            .default_cache_behavior(cache_behavior_of(behavior)?)
            .comment(str_attr(desired, "comment").unwrap_or_default())
            .price_class(PriceClass::from(
                str_attr(desired, "price_class")
                    .as_deref()
                    .unwrap_or("PriceClass_All"),
            ))
            .enabled(bool_attr(desired, "enabled").unwrap_or(true))
            .viewer_certificate(certificate)
            .build(),
    )
}

fn method_names(m: &[Method]) -> Value {
    Type::Set(&Type::String).normalize(&Value::from(
        m.iter().map(|m| m.as_str().to_owned()).collect::<Vec<_>>(),
    ))
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The schema's attributes of a configuration.
fn config_attrs(c: &DistributionConfig, a: &mut Attrs) {
    let origins: Vec<Value> = c
        .origins()
        .map(aws_sdk_cloudfront::types::Origins::items)
        .unwrap_or_default()
        .iter()
        .map(origin_value)
        .collect();
    a.insert("origins".into(), Value::List(origins));
    if let Some(b) = c.default_cache_behavior() {
        a.insert("default_cache_behavior".into(), cache_behavior_value(b));
    }
    a.insert(
        "aliases".into(),
        Type::Set(&Type::String).normalize(&Value::from(
            c.aliases().map(|x| x.items().to_vec()).unwrap_or_default(),
        )),
    );
    if let Some(arn) = c
        .viewer_certificate()
        .and_then(|v| v.acm_certificate_arn())
        .filter(|a| !a.is_empty())
    {
        let v = c.viewer_certificate();
        a.insert(
            "certificate".into(),
            map(vec![
                ("acm_certificate_arn", Value::str(arn)),
                (
                    "ssl_support_method",
                    v.and_then(|v| v.ssl_support_method())
                        .map(aws_sdk_cloudfront::types::SslSupportMethod::as_str)
                        .into(),
                ),
                (
                    "minimum_protocol_version",
                    v.and_then(|v| v.minimum_protocol_version())
                        .map(aws_sdk_cloudfront::types::MinimumProtocolVersion::as_str)
                        .into(),
                ),
            ]),
        );
    }
    a.insert("enabled".into(), Value::Bool(c.enabled()));
    a.insert(
        "price_class".into(),
        c.price_class()
            .map(aws_sdk_cloudfront::types::PriceClass::as_str)
            .into(),
    );
    a.insert("comment".into(), Value::str(c.comment()));
    a.insert(
        "default_root_object".into(),
        Value::str(c.default_root_object().unwrap_or_default()),
    );
}

/// An origin as the schema's `origins` item.
fn origin_value(o: &Origin) -> Value {
    let mut m = vec![
        ("id", Value::str(o.id())),
        ("domain_name", Value::str(o.domain_name())),
        (
            "origin_path",
            Value::str(o.origin_path().unwrap_or_default()),
        ),
    ];
    if let Some(c) = o.custom_origin_config() {
        m.push((
            "custom_origin",
            map(vec![
                ("http_port", Value::Int(c.http_port().into())),
                ("https_port", Value::Int(c.https_port().into())),
                (
                    "origin_protocol_policy",
                    Value::str(c.origin_protocol_policy().as_str()),
                ),
            ]),
        ));
    } else {
        let oai = o
            .s3_origin_config()
            .map(aws_sdk_cloudfront::types::S3OriginConfig::origin_access_identity)
            .unwrap_or_default();
        m.push((
            "s3_origin",
            map(vec![("origin_access_identity", Value::str(oai))]),
        ));
    }
    map(m)
}

/// The default cache behavior as the schema's table (TTLs and forwarded
/// values are deprecated in the API, yet what a distribution without a
/// cache policy has).
#[allow(deprecated)]
fn cache_behavior_value(b: &DefaultCacheBehavior) -> Value {
    let allowed = b.allowed_methods();
    let mut m = vec![
        ("target_origin_id", Value::str(b.target_origin_id())),
        (
            "viewer_protocol_policy",
            Value::str(b.viewer_protocol_policy().as_str()),
        ),
        (
            "allowed_methods",
            method_names(
                allowed
                    .map(aws_sdk_cloudfront::types::AllowedMethods::items)
                    .unwrap_or_default(),
            ),
        ),
        (
            "cached_methods",
            method_names(
                allowed
                    .and_then(|m| m.cached_methods())
                    .map(aws_sdk_cloudfront::types::CachedMethods::items)
                    .unwrap_or_default(),
            ),
        ),
    ];
    if let Some(p) = b.cache_policy_id().filter(|p| !p.is_empty()) {
        m.push(("cache_policy_id", Value::str(p)));
    } else {
        m.push(("min_ttl", Value::Int(b.min_ttl().unwrap_or(0))));
        m.push(("default_ttl", Value::Int(b.default_ttl().unwrap_or(0))));
        m.push(("max_ttl", Value::Int(b.max_ttl().unwrap_or(0))));
        m.push((
            "forward_query_string",
            Value::Bool(
                b.forwarded_values()
                    .is_some_and(aws_sdk_cloudfront::types::ForwardedValues::query_string),
            ),
        ));
    }
    map(m)
}

fn distribution_attrs(d: &Distribution, etag: &str, tags: &BTreeMap<String, String>) -> Attrs {
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(d.id()));
    a.insert("arn".into(), Value::str(d.arn()));
    a.insert("domain_name".into(), Value::str(d.domain_name()));
    a.insert("status".into(), Value::str(d.status()));
    a.insert("etag".into(), Value::str(etag));
    if let Some(c) = d.distribution_config() {
        config_attrs(c, &mut a);
    }
    a.insert(
        "tags".into(),
        user_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
    a
}

/// Applies `change` to the live configuration of `id` (read with its ETag),
/// sends it quoting that ETag and waits until it is deployed.
async fn change_config(
    cx: Ctx<'_>,
    timeout: std::time::Duration,
    id: &str,
    change: impl FnOnce(&DistributionConfig) -> ApiResult<DistributionConfig>,
) -> ApiResult<()> {
    let cf = &cx.aws.cloudfront;
    let got = cf.get_distribution_config().id(id).send().await?;
    let live = got
        .distribution_config()
        .ok_or_else(|| ApiError::msg(format!("distribution {id} has no configuration")))?;
    cf.update_distribution()
        .id(id)
        .if_match(got.e_tag().unwrap_or_default())
        .distribution_config(change(live)?)
        .send()
        .await?;
    wait_deployed(cx, timeout, id).await.map(drop)
}

#[async_trait]
impl Kind for CloudFrontDistribution {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_arn(&super::CloudFrontTags))
    }

    /// With a cache policy the legacy TTLs and forwarding are not sent, so
    /// they are not compared; methods default to GET and HEAD.
    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(Value::Map(b)) = attrs.get_mut("default_cache_behavior") {
            if b.get("cache_policy_id")
                .and_then(Value::as_str)
                .is_some_and(|p| !p.is_empty())
            {
                for k in ["min_ttl", "default_ttl", "max_ttl", "forward_query_string"] {
                    b.remove(k);
                }
            }
            for k in ["allowed_methods", "cached_methods"] {
                if b.get(k).is_none_or(|v| v.as_list().is_empty()) {
                    b.insert(k.into(), method_names(&methods(None)));
                }
            }
        }
    }

    /// GetDistribution per id, a few at a time: ListDistributions would
    /// save calls but its summaries leave out the default root object.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let reads: Vec<_> = ids
            .iter()
            .map(|id| async move {
                let r = cx.aws.cloudfront.get_distribution().id(id).send().await;
                let Some(out) = found(r.map_err(ApiError::from))? else {
                    return Ok(None);
                };
                let Some(d) = out.distribution() else {
                    return Ok(None);
                };
                let Some(tags) = tags_of(cx, d.arn()).await? else {
                    return Ok(None);
                };
                let a = distribution_attrs(d, out.e_tag().unwrap_or_default(), &tags);
                Ok(Some((id.clone(), a)))
            })
            .collect();
        read_each(reads).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let config = config_of(desired, &caller_reference(cx.stack, address))?;
        let r = cx
            .aws
            .cloudfront
            .create_distribution_with_tags()
            .distribution_config_with_tags(
                DistributionConfigWithTags::builder()
                    .distribution_config(config)
                    .tags(create_tags(cx, address, desired)?)
                    .build(),
            )
            .send()
            .await
            .map_err(ApiError::from);
        let id = match r {
            Ok(out) => out
                .distribution()
                .map(|d| d.id().to_owned())
                .ok_or_else(|| ApiError::msg("CreateDistributionWithTags returned no id"))?,
            // The same caller reference: an earlier create of ours went through.
            Err(e) if e.code.as_deref() == Some("DistributionAlreadyExists") => {
                self.find_by_address(cx, address).await?.ok_or(e)?
            }
            Err(e) => return Err(e),
        };
        crate::kinds::created(&id);
        wait_deployed(cx, cx.timeouts(self).create, &id).await?;
        Ok(id)
    }

    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, desired, changed, .. } = op;
        let config_changed = SCHEMA
            .inputs()
            .any(|f| f.name != "tags" && changed.has(f.name));
        if config_changed {
            change_config(cx, cx.timeouts(self).update, id, |live| {
                config_of(desired, live.caller_reference())
            })
            .await?;
        }
        Ok(())
    }

    /// CloudFront deletes only a disabled, deployed distribution.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, .. } = op;
        let timeout = cx.timeouts(self).delete;
        let cf = &cx.aws.cloudfront;
        let got = match cf.get_distribution_config().id(id).send().await {
            Ok(got) => got,
            Err(e) => {
                let e = ApiError::from(e);
                return if e.is_not_found() { Ok(()) } else { Err(e) };
            }
        };
        if got
            .distribution_config()
            .is_none_or(aws_sdk_cloudfront::types::DistributionConfig::enabled)
        {
            change_config(cx, timeout, id, |live| {
                let mut disabled = live.clone();
                disabled.enabled = false;
                Ok(disabled)
            })
            .await?;
        }
        let etag = wait_deployed(cx, timeout, id).await?;
        match cf.delete_distribution().id(id).if_match(etag).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = ApiError::from(e);
                if e.is_not_found() { Ok(()) } else { Err(e) }
            }
        }
    }

    /// ListDistributions, then the tags of each until one names `address`.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let summaries = pages!(cx.aws.cloudfront.list_distributions())?;
        let ours = AddressTags::new(cx, address);
        let checks = summaries
            .iter()
            .map(|s| async move {
                let tags = tags_of(cx, s.arn()).await?.unwrap_or_default();
                let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                Ok(ours.matches(pairs).then(|| s.id().to_owned()))
            })
            .collect();
        first_match(checks).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Changes;

    fn desired() -> Attrs {
        let origin = map(vec![
            ("id", Value::str("site")),
            ("domain_name", Value::str("b.s3.us-east-1.amazonaws.com")),
            ("s3_origin", map(vec![])),
        ]);
        let behavior = map(vec![("target_origin_id", Value::str("site"))]);
        SCHEMA.with_defaults(&Attrs::from([
            ("origins".to_owned(), Value::List(vec![origin])),
            ("default_cache_behavior".to_owned(), behavior),
            ("comment".to_owned(), Value::str("hello")),
        ]))
    }

    fn canonical(a: &Attrs) -> Attrs {
        let mut a = a.clone();
        CloudFrontDistribution.canonicalize(&mut a);
        a
    }

    #[test]
    fn what_is_sent_reads_back_without_a_difference() {
        let want = desired();
        let config = config_of(&want, "ref").unwrap();
        assert_eq!(config.caller_reference(), "ref");
        assert_eq!(
            config
                .viewer_certificate()
                .unwrap()
                .cloud_front_default_certificate(),
            Some(true)
        );
        let mut got = Attrs::new();
        config_attrs(&config, &mut got);
        got.insert("tags".into(), Value::Map(BTreeMap::new()));
        let (got, want) = (canonical(&got), canonical(&want));
        for f in SCHEMA.inputs() {
            assert!(
                !Changes::between(&CloudFrontDistribution, &got, &want).has(f.name),
                "{}: {:?} vs {:?}",
                f.name,
                got.get(f.name),
                want.get(f.name)
            );
        }
    }

    #[test]
    #[allow(deprecated)]
    fn a_cache_policy_replaces_ttls_and_forwarding() {
        let mut want = desired();
        let mut b = want["default_cache_behavior"].as_map().unwrap().clone();
        b.insert("cache_policy_id".into(), Value::str("658327ea"));
        want.insert("default_cache_behavior".into(), Value::Map(b));
        let config = config_of(&want, "ref").unwrap();
        let sent = config.default_cache_behavior().unwrap();
        assert_eq!(sent.cache_policy_id(), Some("658327ea"));
        assert!(sent.forwarded_values().is_none() && sent.min_ttl().is_none());
        let mut got = Attrs::new();
        config_attrs(&config, &mut got);
        assert!(
            !Changes::between(&CloudFrontDistribution, &canonical(&got), &canonical(&want),)
                .has("default_cache_behavior")
        );
    }

    #[test]
    fn a_certificate_and_custom_origin_travel_both_ways() {
        let mut want = desired();
        want.insert(
            "certificate".into(),
            map(vec![(
                "acm_certificate_arn",
                Value::str("arn:aws:acm:us-east-1:1:certificate/x"),
            )]),
        );
        want.insert(
            "origins".into(),
            Value::List(vec![map(vec![
                ("id", Value::str("site")),
                ("domain_name", Value::str("lb.example.com")),
                ("custom_origin", map(vec![("https_port", Value::Int(8443))])),
            ])]),
        );
        let config = config_of(&want, "ref").unwrap();
        let o = &config.origins().unwrap().items()[0];
        assert!(o.s3_origin_config().is_none());
        assert_eq!(o.custom_origin_config().unwrap().https_port(), 8443);
        let mut got = Attrs::new();
        config_attrs(&config, &mut got);
        for f in ["origins", "certificate"] {
            assert!(
                !Changes::between(&CloudFrontDistribution, &got, &want).has(f),
                "{f}: {:?}",
                got.get(f)
            );
        }
    }

    #[test]
    fn the_caller_reference_names_stack_and_address() {
        assert_eq!(
            caller_reference("prod", "cloudfront_distribution.site"),
            "reconcile:prod/cloudfront_distribution.site"
        );
    }
}
