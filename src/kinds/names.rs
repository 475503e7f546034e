//! The names AWS accepts for each kind of resource, as the services' API
//! references document them: `validate` refuses any other before a call.

use crate::schema::Name;

/// Load balancers and target groups.
pub const ELB: Name = Name {
    min: 1,
    max: 32,
    pattern: "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?",
    rule: "at most 32 letters, digits and hyphens, not starting or ending with a hyphen",
};

/// ECS clusters, services, capacity providers and task definition families.
pub const ECS: Name = Name {
    min: 1,
    max: 255,
    pattern: "[A-Za-z0-9_-]+",
    rule: "letters, digits, hyphens and underscores",
};

pub const AUTO_SCALING_GROUP: Name = Name { min: 1, max: 255, pattern: "[^:]+", rule: "no colons" };

pub const LAUNCH_TEMPLATE: Name = Name {
    min: 3,
    max: 128,
    pattern: r"[A-Za-z0-9().\-/_]+",
    rule: "letters, digits and ( ) . - / _",
};

/// Security groups in a VPC.
pub const SECURITY_GROUP: Name = Name {
    min: 1,
    max: 255,
    pattern: r"[ A-Za-z0-9._\-:/()#,@\[\]+=&;{}!$*]+",
    rule: "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*",
};

pub const IAM_ROLE: Name = Name {
    min: 1,
    max: 64,
    pattern: r"[\w+=,.@-]+",
    rule: "letters, digits and +=,.@_-",
};

pub const IAM_INSTANCE_PROFILE: Name = Name { max: 128, ..IAM_ROLE };

pub const ECR_REPOSITORY: Name = Name {
    min: 2,
    max: 256,
    pattern: "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*",
    rule: "lowercase letters and digits, separated by single . _ - or /",
};

pub const LOG_GROUP: Name = Name {
    min: 1,
    max: 512,
    pattern: "[.\\-_/#A-Za-z0-9]+",
    rule: "letters, digits and . - _ / #",
};

pub const KMS_ALIAS: Name = Name {
    min: 7,
    max: 256,
    pattern: "alias/[A-Za-z0-9/_-]+",
    rule: "\"alias/\" followed by letters, digits and / _ -",
};

/// DB instance identifiers.
pub const DB_INSTANCE: Name = Name {
    min: 1,
    max: 63,
    pattern: "[A-Za-z](?:-?[A-Za-z0-9])*",
    rule: "letters, digits and single hyphens, starting with a letter and not ending with a hyphen",
};

pub const DB_SUBNET_GROUP: Name = Name {
    min: 1,
    max: 255,
    pattern: "[A-Za-z0-9._ -]+",
    rule: "letters, digits, spaces and . _ -",
};

pub const S3_BUCKET: Name = Name {
    min: 3,
    max: 63,
    pattern: "[a-z0-9][a-z0-9.-]*[a-z0-9]",
    rule: "lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
};

/// Application Auto Scaling policies.
pub const SCALING_POLICY: Name = Name {
    min: 1,
    max: 256,
    pattern: r"[^\p{Cc}:]+",
    rule: "printable characters, no colons",
};

/// SNS topics: a FIFO topic's name ends with `.fifo` (at most 256 in all).
pub const SNS_TOPIC: Name = Name {
    min: 1,
    max: 256,
    pattern: r"[A-Za-z0-9_-]+(?:\.fifo)?",
    rule: "letters, digits, hyphens and underscores, and `.fifo` at the end of a FIFO topic's",
};

/// CloudWatch alarms.
pub const ALARM: Name =
    Name { min: 1, max: 255, pattern: r"[^\p{Cc}]+", rule: "printable characters" };

/// EventBridge Scheduler schedules and schedule groups.
pub const SCHEDULE: Name = Name {
    min: 1,
    max: 64,
    pattern: r"[0-9A-Za-z_.-]+",
    rule: "letters, digits and . _ -",
};

/// CloudWatch Logs metric filters.
pub const METRIC_FILTER: Name =
    Name { min: 1, max: 512, pattern: r"[^:*]+", rule: "no colons or asterisks" };

/// Secrets Manager secrets.
pub const SECRET: Name = Name {
    min: 1,
    max: 512,
    pattern: r"[A-Za-z0-9/_+=.@-]+",
    rule: "letters, digits and / _ + = . @ -",
};

/// SSM parameters: a name, or a path of names under `/`.
pub const SSM_PARAMETER: Name = Name {
    min: 1,
    max: 1011,
    pattern: r"/?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*",
    rule: "letters, digits and _ . -, in levels separated by /",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Field, Type};
    use crate::value::Value;

    #[test]
    fn each_rule_takes_a_typical_name_and_refuses_a_bad_one() {
        let cases = [
            (ELB, "web-prod-alb", "-web"),
            (ECS, "shop_web-1", "shop web"),
            (AUTO_SCALING_GROUP, "shop-asg", "a:b"),
            (LAUNCH_TEMPLATE, "shop/lt_(1)", "lt"),
            (SECURITY_GROUP, "web sg", "web\tsg"),
            (IAM_ROLE, "shop-task@exec", "shop task"),
            (IAM_INSTANCE_PROFILE, "shop-ip", "a/b"),
            (ECR_REPOSITORY, "team/web-app", "Web"),
            (LOG_GROUP, "/ecs/shop#web", "/ecs/shop web"),
            (KMS_ALIAS, "alias/shop-data", "shop-data"),
            (DB_INSTANCE, "shop-db1", "shop--db"),
            (DB_SUBNET_GROUP, "shop db.subnets", "shop/db"),
            (S3_BUCKET, "shop.assets-1", "Shop"),
            (SCALING_POLICY, "cpu at 60%", "a:b"),
            (SNS_TOPIC, "alerts.fifo", "alerts.txt"),
            (ALARM, "web 5xx > 1%", "a\tb"),
            (SCHEDULE, "drift.every-10_min", "drift every"),
            (METRIC_FILTER, "failed runs", "failed:runs"),
        ];
        for (rule, good, bad) in cases {
            let f = Field::new("name", Type::String).naming(rule);
            assert!(f.check(&Value::str(good)).is_ok(), "{good}");
            assert!(f.check(&Value::str(bad)).is_err(), "{bad}");
        }
    }
}
