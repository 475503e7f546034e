//! `acm_certificate`: a public ACM certificate validated by DNS. Its id is
//! its ARN.
//!
//! Given `validation_zone_id`, the create itself writes the validation
//! records into that Route 53 zone and waits until the certificate is
//! ISSUED, so that whatever references the certificate (an HTTPS listener,
//! a distribution) gets one it can use; a delete removes those records
//! again. One resource instead of Terraform's certificate + records +
//! `aws_acm_certificate_validation`: the records' names are known only
//! once the certificate is requested, which a desired state cannot
//! iterate over before apply. The zone is remembered in a
//! `reconcile:validation-zone` tag. Without it, the create returns at
//! once; `domain_validation_options` tells the records to make elsewhere.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, Tag, ValidationMethod};
use aws_sdk_route53::types::{ChangeAction, ResourceRecord, ResourceRecordSet, RrType};

use crate::aws::ApiError;
use crate::kinds::support::dns::{self, bare, fqdn};
use crate::kinds::support::{
    AddressTags, Poll, TagApi, Waiter, client_token, create_tags, found, read_each,
    retry_while_in_use, str_attr, sync_tags_with, table, tag_pairs, user_tags,
};
use crate::kinds::{ApiResult, Create, Ctx, Delete, Kind, LiveMap, Tagging, Timeouts, Update};
use crate::schema::{Default, Field, Schema, TAGS, Type};
use crate::value::{Attrs, Value};

pub struct AcmCertificate;

/// Where the zone the validation records were written to is remembered.
const ZONE_TAG: &str = "reconcile:validation-zone";

/// Seconds a validation record's answer is cached.
const VALIDATION_TTL: i64 = 60;

const VALIDATION_OPTION: &[Field] = &[
    Field::new("domain_name", Type::String).doc("The name validated."),
    Field::new("resource_record_name", Type::String).doc("The CNAME to create."),
    Field::new("resource_record_type", Type::String).doc("Its type (CNAME)."),
    Field::new("resource_record_value", Type::String).doc("Its value."),
];

static SCHEMA: Schema = Schema {
    kind: "acm_certificate",
    service: super::SERVICE,
    // DNS validation takes minutes, and up to the time resolvers need to
    // see a new record.
    timeouts: Timeouts::minutes(75, 10, 10),
    description: "A public TLS certificate from ACM, validated by DNS records it writes into a Route 53 zone; `region = \"us-east-1\"` for CloudFront.",
    fields: &[
        Field::new("domain_name", Type::String)
            .example("\"www.example.com\"")
            .required()
            .force_new()
            .doc("The name the certificate is for (`*.example.com` for a wildcard)."),
        Field::new("subject_alternative_names", Type::Set(&Type::String))
            .default(Default::EmptyList)
            .force_new()
            .doc("More names the certificate covers."),
        Field::new("validation_method", Type::String)
            .one_of(&["DNS"])
            .default(Default::Str("DNS"))
            .force_new()
            .doc("DNS: ownership proven by CNAME records (email validation is not supported)."),
        Field::new("validation_zone_id", Type::String)
            .unset_is_null()
            .doc(
                "The Route 53 zone the create writes the validation records into, then waits until \
                 the certificate is issued; unset, make the records of `domain_validation_options` \
                 yourself.",
            ),
        TAGS,
        Field::new("id", Type::String)
            .computed()
            .doc("The certificate's ARN (what `reconcile import` takes)."),
        Field::new("arn", Type::String)
            .computed()
            .doc("The ARN of the certificate (also its id): what a listener takes."),
        Field::new("status", Type::String)
            .computed()
            .doc("PENDING_VALIDATION, ISSUED, …"),
        Field::new(
            "domain_validation_options",
            Type::List(&Type::Object(VALIDATION_OPTION)),
        )
        .computed()
        .doc("The DNS records that prove ownership, one per name."),
    ],
};

/// The validation records a certificate asks for: (name, value), each
/// once (a name and its wildcard share one).
fn validation_records(d: &CertificateDetail) -> BTreeSet<(String, String)> {
    d.domain_validation_options()
        .iter()
        .filter_map(|o| {
            let r = o.resource_record()?;
            Some((fqdn(r.name()), r.value().to_owned()))
        })
        .collect()
}

fn certificate_attrs(d: &CertificateDetail, tags: &[Tag]) -> Option<Attrs> {
    let arn = d.certificate_arn()?;
    let domain = d.domain_name().unwrap_or_default();
    let mut a = Attrs::new();
    a.insert("id".into(), Value::str(arn));
    a.insert("arn".into(), Value::str(arn));
    a.insert("domain_name".into(), Value::str(domain));
    // ACM lists the domain name among the alternative names.
    let sans: Vec<Value> = d
        .subject_alternative_names()
        .iter()
        .filter(|n| n.as_str() != domain)
        .map(Value::str)
        .collect();
    a.insert("subject_alternative_names".into(), Value::List(sans));
    let method = d
        .domain_validation_options()
        .first()
        .and_then(|o| o.validation_method())
        .map_or("DNS", ValidationMethod::as_str);
    a.insert("validation_method".into(), Value::str(method));
    a.insert(
        "status".into(),
        d.status().map(|s| s.as_str().to_owned()).into(),
    );
    let options = d
        .domain_validation_options()
        .iter()
        .map(|o| {
            let r = o.resource_record();
            table([
                ("domain_name", Value::str(o.domain_name())),
                ("resource_record_name", r.map(|r| bare(r.name())).into()),
                (
                    "resource_record_type",
                    r.map(|r| r.r#type().as_str().to_owned()).into(),
                ),
                (
                    "resource_record_value",
                    r.map(|r| r.value().to_owned()).into(),
                ),
            ])
        })
        .collect();
    a.insert("domain_validation_options".into(), Value::List(options));
    let pairs: Vec<(&str, &str)> = tag_pairs(tags).collect();
    let zone = pairs.iter().find(|(k, _)| *k == ZONE_TAG).map(|(_, v)| *v);
    a.insert("validation_zone_id".into(), zone.into());
    a.insert("tags".into(), user_tags(pairs));
    Some(a)
}

async fn describe(cx: Ctx<'_>, arn: &str) -> ApiResult<Option<CertificateDetail>> {
    let r = cx
        .aws
        .acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(ApiError::from);
    Ok(found(r)?.and_then(|o| o.certificate().cloned()))
}

async fn tags_of(cx: Ctx<'_>, arn: &str) -> ApiResult<Option<Vec<Tag>>> {
    let r = cx
        .aws
        .acm
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(ApiError::from);
    Ok(found(r)?.map(|o| o.tags().to_vec()))
}

/// The validation records as Route 53 record sets.
fn record_sets(records: &BTreeSet<(String, String)>) -> ApiResult<Vec<ResourceRecordSet>> {
    records
        .iter()
        .map(|(name, value)| {
            let value = ResourceRecord::builder()
                .value(value)
                .build()
                .map_err(|e| ApiError::msg(format!("building a validation record: {e}")))?;
            ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::Cname)
                .ttl(VALIDATION_TTL)
                .resource_records(value)
                .build()
                .map_err(|e| ApiError::msg(format!("building a validation record: {e}")))
        })
        .collect()
}

impl AcmCertificate {
    /// Waits until ACM has chosen the validation records (a few seconds
    /// after the request), writes them into `zone`, and waits until the
    /// certificate is issued.
    async fn validate(&self, cx: Ctx<'_>, arn: &str, zone: &str) -> ApiResult<()> {
        let timeout = cx.timeouts(self).create;
        let waiter = Waiter::new(timeout);
        let records = waiter
            .until(
                &format!("certificate {arn} to name its validation records"),
                || async {
                    let d = describe(cx, arn).await?;
                    let d = d.ok_or_else(|| ApiError::msg(format!("certificate {arn} is gone")))?;
                    let wanted = d.domain_validation_options().len().max(1);
                    let named = d
                        .domain_validation_options()
                        .iter()
                        .filter(|o| o.resource_record().is_some())
                        .count();
                    Ok(if named == wanted {
                        Poll::Ready(validation_records(&d))
                    } else {
                        Poll::Pending(format!("{named} of {wanted} records named"))
                    })
                },
            )
            .await?;
        let upserts = record_sets(&records)?
            .into_iter()
            .map(|s| (ChangeAction::Upsert, s))
            .collect();
        dns::change_records(cx, zone, upserts, timeout).await?;
        waiter
            .until(&format!("certificate {arn} to be issued"), || async {
                let d = describe(cx, arn).await?;
                let status = d.as_ref().and_then(CertificateDetail::status);
                Ok(match status {
                    Some(CertificateStatus::Issued) => Poll::Ready(()),
                    Some(CertificateStatus::PendingValidation) | None => {
                        Poll::Pending("PENDING_VALIDATION".into())
                    }
                    Some(other) => Poll::Failed(other.as_str().to_owned()),
                })
            })
            .await
    }
}

/// Removes the validation records a create wrote into `zone`, those still
/// as written (another certificate of the same names shares them only
/// while it lives: ACM reuses one record per name and account).
async fn remove_records(
    cx: Ctx<'_>,
    zone: &str,
    live: &Attrs,
    timeout: std::time::Duration,
) -> ApiResult<()> {
    let wanted: BTreeSet<(String, String)> = live
        .get("domain_validation_options")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| {
            let m = o.as_map()?;
            let name = m.get("resource_record_name")?.as_str()?;
            let value = m.get("resource_record_value")?.as_str()?;
            Some((fqdn(name), value.to_owned()))
        })
        .collect();
    let Some(sets) = dns::zone_record_sets(cx, zone).await? else {
        return Ok(());
    };
    let deletes = sets
        .into_iter()
        .filter(|s| {
            s.r#type() == &RrType::Cname
                && s.resource_records()
                    .iter()
                    .all(|r| wanted.contains(&(fqdn(s.name()), r.value().to_owned())))
        })
        .map(|s| (ChangeAction::Delete, s))
        .collect();
    dns::change_records(cx, zone, deletes, timeout).await
}

/// ACM's tag API, on the certificate ARN: it removes tags by key and value.
struct CertificateTags;

#[async_trait]
impl TagApi for CertificateTags {
    async fn sync(&self, cx: Ctx<'_>, id: &str, live: &Attrs, desired: &Attrs) -> ApiResult<()> {
        let acm = &cx.aws.acm;
        // ACM removes tags by key and value.
        let before = live.get("tags").map(Value::str_map).unwrap_or_default();
        sync_tags_with!(
            live,
            desired,
            |set: Tag| acm
                .add_tags_to_certificate()
                .certificate_arn(id)
                .set_tags(Some(set)),
            |unset| acm
                .remove_tags_from_certificate()
                .certificate_arn(id)
                .set_tags(Some(
                    unset
                        .into_iter()
                        .map(|k| {
                            let v = before.get(&k).cloned().unwrap_or_default();
                            crate::kinds::support::SdkTag::from_pair(k, v)
                        })
                        .collect::<Result<Vec<Tag>, _>>()?
                )),
        )
    }
}

#[async_trait]
impl Kind for AcmCertificate {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn tagging(&self) -> Option<Tagging> {
        Some(Tagging::by_id(&CertificateTags))
    }

    fn canonicalize(&self, attrs: &mut Attrs) {
        if let Some(Value::Str(n)) = attrs.get_mut("domain_name") {
            *n = n.to_ascii_lowercase();
        }
    }

    /// ACM has no batched describe: one DescribeCertificate and one
    /// ListTagsForCertificate per certificate, a few at a time.
    async fn read_many(&self, cx: Ctx<'_>, ids: &[String]) -> ApiResult<LiveMap> {
        let reads: Vec<_> = ids
            .iter()
            .map(|arn| async move {
                let Some(d) = describe(cx, arn).await? else {
                    return Ok(None);
                };
                let tags = tags_of(cx, arn).await?.unwrap_or_default();
                Ok(certificate_attrs(&d, &tags).map(|a| (arn.clone(), a)))
            })
            .collect();
        read_each(reads).await
    }

    async fn create(&self, op: Create<'_>) -> ApiResult<String> {
        let Create { cx, address, desired } = op;
        let domain = str_attr(desired, "domain_name")
            .ok_or_else(|| ApiError::msg(format!("{address}: `domain_name` is required")))?;
        let sans: Vec<String> = desired
            .get("subject_alternative_names")
            .map(Value::str_list)
            .unwrap_or_default();
        let zone = str_attr(desired, "validation_zone_id");
        let mut tags = create_tags::<Tag>(cx, address, desired)?;
        if let Some(z) = &zone {
            tags.push(crate::kinds::support::SdkTag::from_pair(
                ZONE_TAG.into(),
                z.clone(),
            )?);
        }
        // ACM takes at most 32 word characters: a retried request within
        // the hour answers the first certificate.
        let token: String = client_token([cx.stack, address, &domain])
            .trim_start_matches("reconcile-")
            .chars()
            .take(32)
            .collect();
        let out = cx
            .aws
            .acm
            .request_certificate()
            .domain_name(&domain)
            .validation_method(ValidationMethod::Dns)
            .set_subject_alternative_names((!sans.is_empty()).then_some(sans))
            .idempotency_token(token)
            .set_tags(Some(tags))
            .send()
            .await?;
        let arn = out
            .certificate_arn()
            .ok_or_else(|| ApiError::msg(format!("{address}: RequestCertificate answered no ARN")))?
            .to_owned();
        crate::kinds::created(&arn);
        if let Some(zone) = zone {
            self.validate(cx, &arn, &zone).await?;
        }
        Ok(arn)
    }

    /// The zone is only remembered (the records of an issued certificate
    /// are not needed again until it renews); a pending certificate is
    /// validated in its new zone.
    async fn update(&self, op: Update<'_>) -> ApiResult<()> {
        let Update { cx, id, live, desired, changed, .. } = op;
        let acm = &cx.aws.acm;
        if changed.has("validation_zone_id") {
            let zone = str_attr(desired, "validation_zone_id");
            if let Some(z) = &zone {
                let tag = crate::kinds::support::SdkTag::from_pair(ZONE_TAG.into(), z.clone())?;
                acm.add_tags_to_certificate()
                    .certificate_arn(id)
                    .tags(tag)
                    .send()
                    .await?;
                if str_attr(live, "status").as_deref() == Some("PENDING_VALIDATION") {
                    self.validate(cx, id, z).await?;
                }
            } else {
                let old = str_attr(live, "validation_zone_id").unwrap_or_default();
                let tag = crate::kinds::support::SdkTag::from_pair(ZONE_TAG.into(), old)?;
                acm.remove_tags_from_certificate()
                    .certificate_arn(id)
                    .tags(tag)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    /// Deletes the certificate once nothing uses it any more (a listener
    /// just deleted lets go of it within seconds), then the validation
    /// records it wrote.
    async fn delete(&self, op: Delete<'_>) -> ApiResult<()> {
        let Delete { cx, id, live } = op;
        let timeout = cx.timeouts(self).delete;
        retry_while_in_use(
            timeout,
            &format!("certificate {id} to be released"),
            || async {
                let r = cx
                    .aws
                    .acm
                    .delete_certificate()
                    .certificate_arn(id)
                    .send()
                    .await;
                crate::kinds::support::gone_is_ok(r.map(drop).map_err(ApiError::from))
            },
        )
        .await?;
        if let Some(zone) = str_attr(live, "validation_zone_id") {
            remove_records(cx, &zone, live, timeout).await?;
        }
        Ok(())
    }

    /// ListCertificates, then each one's tags.
    async fn find_by_address(&self, cx: Ctx<'_>, address: &str) -> ApiResult<Option<String>> {
        let t = AddressTags::new(cx, address);
        let mut token = None;
        loop {
            let page = cx
                .aws
                .acm
                .list_certificates()
                .set_next_token(token)
                .send()
                .await?;
            for s in page.certificate_summary_list() {
                let Some(arn) = s.certificate_arn() else {
                    continue;
                };
                let tags = tags_of(cx, arn).await?.unwrap_or_default();
                if t.matches(tag_pairs(&tags)) {
                    return Ok(Some(arn.to_owned()));
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_acm::types::{DomainValidation, RecordType, ResourceRecord as AcmRecord};

    fn option(domain: &str, name: &str) -> DomainValidation {
        DomainValidation::builder()
            .domain_name(domain)
            .validation_method(ValidationMethod::Dns)
            .resource_record(
                AcmRecord::builder()
                    .name(name)
                    .r#type(RecordType::Cname)
                    .value("_v.acm-validations.aws.")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn a_certificate_reads_back_its_names_zone_and_one_record_per_name() {
        let d = CertificateDetail::builder()
            .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/abc")
            .domain_name("example.com")
            .subject_alternative_names("example.com")
            .subject_alternative_names("*.example.com")
            .status(CertificateStatus::Issued)
            .domain_validation_options(option("example.com", "_x.example.com."))
            .domain_validation_options(option("*.example.com", "_x.example.com."))
            .build();
        let tags = [
            Tag::builder().key(ZONE_TAG).value("Z1").build().unwrap(),
            Tag::builder().key("team").value("web").build().unwrap(),
        ];
        let a = certificate_attrs(&d, &tags).unwrap();
        assert_eq!(
            a["subject_alternative_names"],
            Value::List(vec![Value::str("*.example.com")])
        );
        assert_eq!(a["validation_zone_id"], Value::str("Z1"));
        assert_eq!(a["status"], Value::str("ISSUED"));
        assert_eq!(a["tags"].str_map().len(), 1);
        assert_eq!(validation_records(&d).len(), 1);
        let sets = record_sets(&validation_records(&d)).unwrap();
        assert_eq!(sets[0].name(), "_x.example.com.");
        assert_eq!(sets[0].ttl(), Some(VALIDATION_TTL));
    }
}
