//! The one table from CloudFormation and Terraform resource types to
//! reconcile's kinds. A kind added later joins `adopt` with one row here.
//!
//! A row says what adopt does with a resource of that type:
//! - `Kind`: adopted as a resource of that kind, read live by the kind;
//! - `Fold`: what CloudFormation or Terraform model as a resource of its
//!   own and reconcile holds in a field of a parent (a gateway attachment
//!   is `internet_gateway.vpc_id`): nothing is adopted for it, the parent's
//!   live read already holds it;
//! - a type in no row is not adopted, with the reason `reason_not_adopted`
//!   gives.

/// What a type becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A resource of this kind.
    Kind(&'static str),
    /// A field (`field`) of a resource of kind `parent`.
    Fold {
        parent: &'static str,
        field: &'static str,
    },
}

/// One row: the CloudFormation type, the Terraform type(s), what it becomes,
/// and (Terraform) the attribute of the state that holds reconcile's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub cloudformation: &'static str,
    pub terraform: &'static [&'static str],
    pub role: Role,
    /// The Terraform attribute holding the id reconcile keys the kind by
    /// (`id`, except where Terraform's id is another name: a task
    /// definition's `id` is its family, reconcile's its ARN).
    pub terraform_id: &'static str,
}

const fn kind(cfn: &'static str, tf: &'static [&'static str], kind: &'static str) -> Row {
    Row {
        cloudformation: cfn,
        terraform: tf,
        role: Role::Kind(kind),
        terraform_id: "id",
    }
}

const fn fold(
    cfn: &'static str,
    tf: &'static [&'static str],
    parent: &'static str,
    field: &'static str,
) -> Row {
    Row {
        cloudformation: cfn,
        terraform: tf,
        role: Role::Fold { parent, field },
        terraform_id: "id",
    }
}

/// Every type adopt knows. The README shows the same table.
pub static TABLE: &[Row] = &[
    kind("AWS::EC2::VPC", &["aws_vpc"], "vpc"),
    kind("AWS::EC2::Subnet", &["aws_subnet"], "subnet"),
    kind(
        "AWS::EC2::InternetGateway",
        &["aws_internet_gateway"],
        "internet_gateway",
    ),
    fold(
        "AWS::EC2::VPCGatewayAttachment",
        &["aws_internet_gateway_attachment"],
        "internet_gateway",
        "vpc_id",
    ),
    kind("AWS::EC2::EIP", &["aws_eip"], "eip"),
    kind("AWS::EC2::NatGateway", &["aws_nat_gateway"], "nat_gateway"),
    kind("AWS::EC2::RouteTable", &["aws_route_table"], "route_table"),
    fold("AWS::EC2::Route", &["aws_route"], "route_table", "routes"),
    fold(
        "AWS::EC2::SubnetRouteTableAssociation",
        &["aws_route_table_association"],
        "route_table",
        "subnet_ids",
    ),
    kind(
        "AWS::EC2::SecurityGroup",
        &["aws_security_group"],
        "security_group",
    ),
    fold(
        "AWS::EC2::SecurityGroupIngress",
        &["aws_vpc_security_group_ingress_rule"],
        "security_group",
        "ingress",
    ),
    fold(
        "AWS::EC2::SecurityGroupEgress",
        &["aws_vpc_security_group_egress_rule"],
        "security_group",
        "egress",
    ),
    // Terraform's older rule resource is either direction.
    fold(
        "",
        &["aws_security_group_rule"],
        "security_group",
        "ingress/egress",
    ),
    kind(
        "AWS::EC2::LaunchTemplate",
        &["aws_launch_template"],
        "launch_template",
    ),
    kind(
        "AWS::AutoScaling::AutoScalingGroup",
        &["aws_autoscaling_group"],
        "autoscaling_group",
    ),
    fold(
        "AWS::AutoScaling::LifecycleHook",
        &["aws_autoscaling_lifecycle_hook"],
        "autoscaling_group",
        "lifecycle_hooks",
    ),
    kind(
        "AWS::ECS::CapacityProvider",
        &["aws_ecs_capacity_provider"],
        "ecs_capacity_provider",
    ),
    kind("AWS::ECS::Cluster", &["aws_ecs_cluster"], "ecs_cluster"),
    fold(
        "AWS::ECS::ClusterCapacityProviderAssociations",
        &["aws_ecs_cluster_capacity_providers"],
        "ecs_cluster",
        "capacity_providers",
    ),
    Row {
        terraform_id: "arn",
        ..kind(
            "AWS::ECS::TaskDefinition",
            &["aws_ecs_task_definition"],
            "ecs_task_definition",
        )
    },
    kind("AWS::ECS::Service", &["aws_ecs_service"], "ecs_service"),
    kind(
        "AWS::ServiceDiscovery::PrivateDnsNamespace",
        &["aws_service_discovery_private_dns_namespace"],
        "service_discovery_namespace",
    ),
    kind(
        "AWS::ServiceDiscovery::Service",
        &["aws_service_discovery_service"],
        "service_discovery_service",
    ),
    // Terraform's id of a policy is its name; reconcile's is its ARN.
    Row {
        terraform_id: "arn",
        ..kind(
            "AWS::AutoScaling::ScalingPolicy",
            &["aws_autoscaling_policy"],
            "autoscaling_policy",
        )
    },
    kind(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        &["aws_lb", "aws_alb"],
        "load_balancer",
    ),
    kind(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        &["aws_lb_target_group", "aws_alb_target_group"],
        "target_group",
    ),
    kind(
        "AWS::ElasticLoadBalancingV2::Listener",
        &["aws_lb_listener", "aws_alb_listener"],
        "listener",
    ),
    kind(
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        &["aws_lb_listener_rule", "aws_alb_listener_rule"],
        "listener_rule",
    ),
    kind("AWS::IAM::Role", &["aws_iam_role"], "iam_role"),
    fold(
        "AWS::IAM::Policy",
        &["aws_iam_role_policy"],
        "iam_role",
        "inline_policies",
    ),
    fold(
        "",
        &["aws_iam_role_policy_attachment"],
        "iam_role",
        "managed_policy_arns",
    ),
    kind(
        "AWS::IAM::InstanceProfile",
        &["aws_iam_instance_profile"],
        "iam_instance_profile",
    ),
    kind(
        "AWS::ECR::Repository",
        &["aws_ecr_repository"],
        "ecr_repository",
    ),
    fold(
        "",
        &["aws_ecr_lifecycle_policy"],
        "ecr_repository",
        "lifecycle_policy",
    ),
    fold(
        "",
        &["aws_ecr_repository_policy"],
        "ecr_repository",
        "repository_policy",
    ),
    kind(
        "AWS::EFS::FileSystem",
        &["aws_efs_file_system"],
        "efs_file_system",
    ),
    kind(
        "AWS::EFS::MountTarget",
        &["aws_efs_mount_target"],
        "efs_mount_target",
    ),
    kind(
        "AWS::Logs::LogGroup",
        &["aws_cloudwatch_log_group"],
        "log_group",
    ),
    kind(
        "AWS::CloudFront::Distribution",
        &["aws_cloudfront_distribution"],
        "cloudfront_distribution",
    ),
    kind(
        "AWS::RDS::DBSubnetGroup",
        &["aws_db_subnet_group"],
        "db_subnet_group",
    ),
    kind("AWS::RDS::DBInstance", &["aws_db_instance"], "db_instance"),
    kind("AWS::S3::Bucket", &["aws_s3_bucket"], "s3_bucket"),
    kind(
        "AWS::SecretsManager::Secret",
        &["aws_secretsmanager_secret"],
        "secretsmanager_secret",
    ),
    // The value of a secret: write-only, never read; the secret holds it.
    fold(
        "",
        &["aws_secretsmanager_secret_version"],
        "secretsmanager_secret",
        "secret_string",
    ),
    kind(
        "AWS::SSM::Parameter",
        &["aws_ssm_parameter"],
        "ssm_parameter",
    ),
    kind(
        "AWS::Route53::HostedZone",
        &["aws_route53_zone"],
        "route53_zone",
    ),
    kind(
        "AWS::Route53::RecordSet",
        &["aws_route53_record"],
        "route53_record",
    ),
    kind(
        "AWS::CertificateManager::Certificate",
        &["aws_acm_certificate"],
        "acm_certificate",
    ),
    // The create of the certificate validates it (`validation_zone_id`).
    fold(
        "",
        &["aws_acm_certificate_validation"],
        "acm_certificate",
        "validation_zone_id",
    ),
    fold(
        "AWS::S3::BucketPolicy",
        &["aws_s3_bucket_policy"],
        "s3_bucket",
        "policy",
    ),
    fold("", &["aws_s3_bucket_versioning"], "s3_bucket", "versioning"),
    fold(
        "",
        &["aws_s3_bucket_cors_configuration"],
        "s3_bucket",
        "cors_rules",
    ),
    fold(
        "",
        &["aws_s3_bucket_public_access_block"],
        "s3_bucket",
        "public_access_block",
    ),
    fold(
        "",
        &["aws_s3_bucket_server_side_encryption_configuration"],
        "s3_bucket",
        "server_side_encryption",
    ),
    fold(
        "",
        &["aws_s3_bucket_lifecycle_configuration"],
        "s3_bucket",
        "lifecycle_rules",
    ),
    fold(
        "",
        &["aws_s3_bucket_ownership_controls"],
        "s3_bucket",
        "ownership_controls",
    ),
    kind("AWS::KMS::Key", &["aws_kms_key"], "kms_key"),
    kind("AWS::KMS::Alias", &["aws_kms_alias"], "kms_alias"),
    kind(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        &["aws_appautoscaling_target"],
        "appautoscaling_target",
    ),
    kind(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        &["aws_appautoscaling_policy"],
        "appautoscaling_policy",
    ),
];

/// The row of a CloudFormation type.
pub fn cloudformation(ty: &str) -> Option<&'static Row> {
    TABLE
        .iter()
        .find(|r| r.cloudformation == ty && !ty.is_empty())
}

/// The row of a Terraform type.
pub fn terraform(ty: &str) -> Option<&'static Row> {
    TABLE.iter().find(|r| r.terraform.contains(&ty))
}

/// Why a CloudFormation type without a row is not adopted.
pub fn reason_not_adopted(ty: &str) -> &'static str {
    if ty.starts_with("Custom::") || ty == "AWS::CloudFormation::CustomResource" {
        "custom resource: its provider lives in CloudFormation"
    } else if ty.starts_with("AWS::CloudFormation::") {
        "CloudFormation's own resource"
    } else {
        "no reconcile kind for this type"
    }
}

/// `PublicSubnet1RouteTable` → `public_subnet1_route_table`, `ECSHost` →
/// `ecs_host`: an address name from a logical id.
pub fn snake_case(logical_id: &str) -> String {
    let chars: Vec<char> = logical_id.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("r_{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_in_the_table_exists_and_no_type_is_listed_twice() {
        let mut seen = std::collections::BTreeSet::new();
        for row in TABLE {
            let k = match row.role {
                Role::Kind(k) => k,
                Role::Fold { parent, .. } => parent,
            };
            assert!(crate::kinds::lookup(k).is_some(), "{k} is not a kind");
            if !row.cloudformation.is_empty() {
                assert!(seen.insert(row.cloudformation), "{}", row.cloudformation);
            }
            for t in row.terraform {
                assert!(seen.insert(t), "{t}");
            }
        }
    }

    #[test]
    fn types_map_to_kinds_or_parents_and_unknown_ones_say_why() {
        assert_eq!(
            cloudformation("AWS::EC2::VPC").map(|r| r.role),
            Some(Role::Kind("vpc"))
        );
        assert_eq!(
            terraform("aws_route").map(|r| r.role),
            Some(Role::Fold { parent: "route_table", field: "routes" })
        );
        assert_eq!(
            terraform("aws_ecs_task_definition").unwrap().terraform_id,
            "arn"
        );
        assert!(cloudformation("").is_none());
        assert!(cloudformation("AWS::SQS::Queue").is_none());
        assert!(reason_not_adopted("Custom::Thing").starts_with("custom resource"));
        assert_eq!(
            reason_not_adopted("AWS::SQS::Queue"),
            "no reconcile kind for this type"
        );
    }

    #[test]
    fn the_readme_shows_every_row() {
        let readme = include_str!("../../README.md");
        for row in TABLE {
            let (k, field) = match row.role {
                Role::Kind(k) => (k, None),
                Role::Fold { parent, field } => (parent, Some(field)),
            };
            let cfn = if row.cloudformation.is_empty() {
                "—".to_owned()
            } else {
                format!("`{}`", row.cloudformation)
            };
            let tf: Vec<String> = row.terraform.iter().map(|t| format!("`{t}`")).collect();
            let what = match field {
                None => format!("`{k}`"),
                Some(f) => format!("`{k}.{f}` (folded)"),
            };
            let line = format!("| {cfn} | {} | {what} |", tf.join(", "));
            assert!(readme.contains(&line), "README.md lacks the row {line}");
        }
    }

    #[test]
    fn logical_ids_become_snake_case_names() {
        assert_eq!(snake_case("VPC"), "vpc");
        assert_eq!(snake_case("PublicSubnet1"), "public_subnet1");
        assert_eq!(
            snake_case("ECSHostSecurityGroup"),
            "ecs_host_security_group"
        );
        assert_eq!(
            snake_case("PublicSubnet1RouteTableAssociation"),
            "public_subnet1_route_table_association"
        );
        assert_eq!(snake_case("web-app.v2"), "web_app_v2");
        assert_eq!(snake_case("1st"), "r_1st");
    }
}
