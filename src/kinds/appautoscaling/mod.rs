//! Application Auto Scaling kinds (scalable target, scaling policy) and what
//! they share: the fields that name what is scaled, and ids built from them.

/// The AWS service of these kinds.
pub const SERVICE: &str = "application-autoscaling";

pub mod policy;
pub mod target;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

use crate::kinds::support::str_attr;
use crate::schema::{Default, Field, Type};
use crate::value::Attrs;

/// The three fields naming what is scaled: a scalable target's identity,
/// repeated on each of its policies.
pub const SCALED: [Field; 3] = [
    Field::new("service_namespace", Type::String)
        .default(Default::Str("ecs"))
        .force_new()
        .doc("The service of the scaled resource, e.g. \"ecs\"."),
    Field::new("resource_id", Type::String)
        .required()
        .force_new()
        .doc("e.g. `service/${ecs_cluster.app.name}/${ecs_service.web.name}`."),
    Field::new("scalable_dimension", Type::String)
        .default(Default::Str("ecs:service:DesiredCount"))
        .force_new()
        .doc("What is scaled, e.g. \"ecs:service:DesiredCount\"."),
];

/// The namespace, resource id and dimension of desired attributes.
pub fn scaled(desired: &Attrs) -> (ServiceNamespace, String, ScalableDimension) {
    (
        ServiceNamespace::from(
            str_attr(desired, "service_namespace")
                .unwrap_or_else(|| "ecs".into())
                .as_str(),
        ),
        str_attr(desired, "resource_id").unwrap_or_default(),
        ScalableDimension::from(
            str_attr(desired, "scalable_dimension")
                .unwrap_or_else(|| "ecs:service:DesiredCount".into())
                .as_str(),
        ),
    )
}

/// Application Auto Scaling has no tags on these resources and registering
/// is an upsert keyed by these three values, so they are the identity: the
/// id of a target is `<namespace>|<resource id>|<dimension>`.
pub fn target_id(ns: &ServiceNamespace, resource_id: &str, dim: &ScalableDimension) -> String {
    format!("{}|{resource_id}|{}", ns.as_str(), dim.as_str())
}

/// The parts of a target id; None when it is not one.
pub fn parse_target_id(id: &str) -> Option<(ServiceNamespace, String, ScalableDimension)> {
    let mut parts = id.splitn(3, '|');
    let ns = parts.next()?;
    let resource = parts.next()?;
    let dim = parts.next()?;
    Some((
        ServiceNamespace::from(ns),
        resource.to_owned(),
        ScalableDimension::from(dim),
    ))
}

/// The namespace of a scaling policy, from its ARN
/// (`…:scalingPolicy:<uuid>:resource/<namespace>/<resource id>:policyName/<name>`).
pub fn policy_namespace(arn: &str) -> Option<ServiceNamespace> {
    let rest = arn.split_once(":resource/")?.1;
    Some(ServiceNamespace::from(rest.split('/').next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_ids_round_trip_with_slashes_and_colons_inside() {
        let id = target_id(
            &ServiceNamespace::Ecs,
            "service/app/web",
            &ScalableDimension::EcsServiceDesiredCount,
        );
        assert_eq!(id, "ecs|service/app/web|ecs:service:DesiredCount");
        let (ns, r, d) = parse_target_id(&id).unwrap();
        assert_eq!(ns, ServiceNamespace::Ecs);
        assert_eq!(r, "service/app/web");
        assert_eq!(d, ScalableDimension::EcsServiceDesiredCount);
        assert!(parse_target_id("nonsense").is_none());
    }

    #[test]
    fn a_policy_arn_names_its_namespace() {
        let arn = "arn:aws:autoscaling:us-east-1:1:scalingPolicy:6d8972f3:resource/ecs/service/app/web:policyName/cpu";
        assert_eq!(policy_namespace(arn), Some(ServiceNamespace::Ecs));
        assert_eq!(policy_namespace("arn:aws:x"), None);
    }
}
