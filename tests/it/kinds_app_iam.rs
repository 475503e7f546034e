//! The IAM, ECR and CloudWatch Logs kinds (role, instance profile,
//! repository, log group) against the emulator, through the library API:
//! each reads back equal to what it was made from once both sides are in
//! canonical form (no perpetual difference), changes in place, shows a
//! change made out of band, is found by its address and deleted, twice.

use crate::support;

use std::collections::BTreeMap;

use reconcile::aws::Clients;
use reconcile::kinds::iam::role::IamRole;
use reconcile::kinds::{self, Changes, Create, Ctx, Delete, Kind, Update};
use reconcile::value::{Attrs, Value};
use support::Emulator;

const STACK: &str = "t";

const ECS_TASK_EXECUTION: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

/// One emulator, the library's clients and plain SDK clients beside them.
struct Env {
    emu: Emulator,
    clients: Clients,
    iam: aws_sdk_iam::Client,
    ecr: aws_sdk_ecr::Client,
}

impl Env {
    async fn start() -> Env {
        let emu = Emulator::start();
        let config = support::sdk_config(&emu).await;
        Env {
            clients: Clients::from_config(&config),
            iam: aws_sdk_iam::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            emu,
        }
    }

    /// How many requests the emulator has answered so far (its log has a
    /// line per request).
    fn requests(&self) -> usize {
        std::fs::read_to_string(self.emu.log_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" HTTP/1.1"))
            .count()
    }

    fn cx(&self) -> Ctx<'_> {
        Ctx { aws: &self.clients, stack: STACK }
    }

    async fn create(&self, address: &str, desired: &Attrs) -> String {
        kind_of(address)
            .create(Create { cx: self.cx(), address, desired })
            .await
            .unwrap_or_else(|e| panic!("creating {address}: {e}"))
    }

    async fn update(&self, address: &str, id: &str, live: &Attrs, desired: &Attrs) {
        let k = kind_of(address);
        reconcile::kinds::update(
            k,
            Update {
                cx: self.cx(),
                address,
                id,
                live,
                desired,
                changed: &Changes::between(k, live, desired),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("updating {address}: {e}"));
    }

    async fn read(&self, kind_name: &str, id: &str) -> Option<Attrs> {
        let mut found = kind(kind_name)
            .read_many(self.cx(), &[id.to_owned()])
            .await
            .unwrap_or_else(|e| panic!("reading {kind_name} {id}: {e}"));
        found.remove(id)
    }

    async fn must_read(&self, kind_name: &str, id: &str) -> Attrs {
        self.read(kind_name, id)
            .await
            .unwrap_or_else(|| panic!("{kind_name} {id} is not readable"))
    }

    /// Finds by address (and not under another stack), deletes, checks it
    /// is gone, deletes again.
    async fn find_and_delete_twice(&self, address: &str, id: &str) {
        let k = kind_of(address);
        let kind_name = k.schema().kind;
        let found = k
            .find_by_address(self.cx(), address)
            .await
            .unwrap_or_else(|e| panic!("finding {address}: {e}"));
        assert_eq!(found.as_deref(), Some(id), "{address} by its tags");
        let elsewhere = Ctx { aws: &self.clients, stack: "another-stack" };
        let stranger = k.find_by_address(elsewhere, address).await.unwrap();
        assert_eq!(stranger, None, "{address} of another stack is not ours");

        let live = self.must_read(kind_name, id).await;
        k.delete(Delete { cx: self.cx(), id, live: &live })
            .await
            .unwrap_or_else(|e| panic!("deleting {address}: {e}"));
        assert_eq!(
            self.read(kind_name, id).await,
            None,
            "{address} after delete"
        );
        k.delete(Delete { cx: self.cx(), id, live: &live })
            .await
            .unwrap_or_else(|e| panic!("deleting {address} a second time: {e}"));
        assert_eq!(k.find_by_address(self.cx(), address).await.unwrap(), None);
    }
}

fn kind(name: &str) -> &'static dyn Kind {
    kinds::lookup(name).unwrap_or_else(|| panic!("kind {name} is not registered"))
}

fn kind_of(address: &str) -> &'static dyn Kind {
    kind(address.split('.').next().unwrap_or_default())
}

/// Desired attributes of `kind_name` with the schema's defaults filled in,
/// as the planner hands them over (before canonicalization).
fn desired(kind_name: &str, fields: &[(&str, Value)]) -> Attrs {
    let given: Attrs = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    kind(kind_name).schema().with_defaults(&given)
}

fn canonical(kind_name: &str, attrs: &Attrs) -> Attrs {
    let mut a = attrs.clone();
    kind(kind_name).canonicalize(&mut a);
    a
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| s(i)).collect())
}

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn tags(pairs: &[(&str, &str)]) -> Value {
    map(&pairs.iter().map(|(k, v)| (*k, s(v))).collect::<Vec<_>>())
}

/// Every input the desired state sets reads back equal, both sides in
/// canonical form, and the planner's comparison finds no difference.
#[track_caller]
fn assert_reads_as(kind_name: &str, live: &Attrs, desired: &Attrs) {
    let (live, desired) = (canonical(kind_name, live), canonical(kind_name, desired));
    let schema = kind(kind_name).schema();
    for f in schema.inputs() {
        let Some(want) = desired.get(f.name).filter(|v| !v.is_null()) else {
            continue;
        };
        assert_eq!(
            live.get(f.name).map(|v| f.ty.normalize(v)),
            Some(f.ty.normalize(want)),
            "{kind_name}.{} reads back differently\nlive: {live:?}\ndesired: {desired:?}",
            f.name
        );
        assert!(
            !Changes::between(kind(kind_name), &live, &desired).has(f.name),
            "{}",
            f.name
        );
    }
}

/// A trust policy letting ECS tasks assume the role, written the way a
/// person might: keys out of AWS's order, odd whitespace, a bare string
/// where AWS answers a list.
const TRUST_WRITTEN_BY_HAND: &str = r#"
{
    "Statement": [ {
        "Action": "sts:AssumeRole",
        "Principal": { "Service": "ecs-tasks.amazonaws.com" },
        "Effect": "Allow"
    } ],
    "Version":    "2012-10-17"
}"#;

/// An inline policy as a TOML table would give it.
fn logs_policy(actions: &[&str]) -> Value {
    let action = match actions {
        [one] => s(one),
        many => list(many),
    };
    map(&[
        ("Version", s("2012-10-17")),
        (
            "Statement",
            Value::List(vec![map(&[
                ("Effect", s("Allow")),
                ("Action", action),
                ("Resource", s("*")),
            ])]),
        ),
    ])
}

#[tokio::test]
async fn a_role_is_created_read_updated_found_and_deleted() {
    let env = Env::start().await;
    let first = desired(
        "iam_role",
        &[
            ("assume_role_policy", s(TRUST_WRITTEN_BY_HAND)),
            (
                "inline_policies",
                map(&[("logs", logs_policy(&["logs:PutLogEvents"]))]),
            ),
            ("tags", tags(&[("team", "web")])),
        ],
    );
    let id = env.create("iam_role.task_exec", &first).await;
    assert_eq!(id, "t-task_exec", "the default name is <stack>-<resource>");

    let live = env.must_read("iam_role", &id).await;
    assert_reads_as("iam_role", &live, &first);
    assert_eq!(live["name"], s("t-task_exec"));
    assert_eq!(live["description"], s(""));
    let arn = live["arn"].as_str().unwrap_or_default();
    assert!(
        arn.starts_with("arn:aws:iam::") && arn.ends_with(":role/t-task_exec"),
        "{arn}"
    );
    assert!(live["unique_id"].as_str().is_some_and(|u| !u.is_empty()));

    let raw = env.iam.get_role().role_name(&id).send().await.unwrap();
    let raw_tags: BTreeMap<&str, &str> = raw
        .role()
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(raw_tags.get("reconcile:stack"), Some(&STACK));
    assert_eq!(
        raw_tags.get("reconcile:address"),
        Some(&"iam_role.task_exec")
    );

    let mut changed = first.clone();
    changed.insert(
        "managed_policy_arns".into(),
        list(&[ECS_TASK_EXECUTION, READ_ONLY]),
    );
    changed.insert(
        "inline_policies".into(),
        map(&[
            (
                "logs",
                logs_policy(&["logs:PutLogEvents", "logs:CreateLogStream"]),
            ),
            ("more", logs_policy(&["logs:DescribeLogGroups"])),
        ]),
    );
    changed.insert("max_session_duration".into(), Value::Int(7200));
    changed.insert("description".into(), s("runs the tasks"));
    changed.insert("tags".into(), tags(&[("team", "api"), ("tier", "app")]));
    env.update("iam_role.task_exec", &id, &live, &changed).await;
    let after = env.must_read("iam_role", &id).await;
    assert_reads_as("iam_role", &after, &changed);

    // One policy detached, one inline policy dropped: only those change.
    let mut fewer = changed.clone();
    fewer.insert("managed_policy_arns".into(), list(&[ECS_TASK_EXECUTION]));
    fewer.insert(
        "inline_policies".into(),
        map(&[(
            "logs",
            logs_policy(&["logs:CreateLogStream", "logs:PutLogEvents"]),
        )]),
    );
    env.update("iam_role.task_exec", &id, &after, &fewer).await;
    let after = env.must_read("iam_role", &id).await;
    assert_reads_as("iam_role", &after, &fewer);

    // Someone edits the inline policy by hand: the difference shows.
    env.iam
        .put_role_policy()
        .role_name(&id)
        .policy_name("logs")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let drifted = env.must_read("iam_role", &id).await;
    let (drifted_c, fewer_c) = (
        canonical("iam_role", &drifted),
        canonical("iam_role", &fewer),
    );
    let changes = Changes::between(kind("iam_role"), &drifted_c, &fewer_c);
    assert!(changes.has("inline_policies"));
    assert!(!changes.has("managed_policy_arns"));
    env.update("iam_role.task_exec", &id, &drifted, &fewer)
        .await;
    assert_reads_as("iam_role", &env.must_read("iam_role", &id).await, &fewer);

    // Held by an instance profile made out of band: the delete frees it.
    env.iam
        .create_instance_profile()
        .instance_profile_name("stray")
        .send()
        .await
        .unwrap();
    env.iam
        .add_role_to_instance_profile()
        .instance_profile_name("stray")
        .role_name(&id)
        .send()
        .await
        .unwrap();
    env.find_and_delete_twice("iam_role.task_exec", &id).await;
}

#[tokio::test]
async fn a_role_given_by_service_names_reads_back_as_the_full_trust_policy() {
    let env = Env::start().await;
    let d = desired(
        "iam_role",
        &[
            ("name", s("svc")),
            ("path", s("/service/")),
            (
                "assume_role_services",
                list(&["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]),
            ),
        ],
    );
    let id = env.create("iam_role.svc", &d).await;
    assert_eq!(id, "svc");
    let live = env.must_read("iam_role", &id).await;
    assert_reads_as("iam_role", &live, &d);
    assert_eq!(live["path"], s("/service/"));
    let planned = canonical("iam_role", &d);
    assert!(!planned.contains_key("assume_role_services"));
    let trust = planned["assume_role_policy"].to_json().to_string();
    assert!(trust.contains("sts:AssumeRole"), "{trust}");

    // The same trust policy, written out in full, makes no difference.
    let mut full = d.clone();
    full.remove("assume_role_services");
    full.insert(
        "assume_role_policy".into(),
        live["assume_role_policy"].clone(),
    );
    assert_eq!(canonical("iam_role", &full), planned);
}

#[tokio::test]
async fn a_role_without_a_trust_policy_is_refused_before_anything_is_created() {
    let env = Env::start().await;
    let d = desired("iam_role", &[]);
    let err = kind("iam_role")
        .create(Create { cx: env.cx(), address: "iam_role.bare", desired: &d })
        .await
        .unwrap_err();
    assert!(err.message.contains("iam_role.bare"), "{err}");
    assert!(err.message.contains("assume_role_services"), "{err}");
    assert_eq!(env.read("iam_role", "t-bare").await, None);
}

#[tokio::test]
async fn many_roles_read_at_once_equal_roles_read_one_by_one_and_gone_ones_are_absent() {
    let env = Env::start().await;
    let mut ids = Vec::new();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        let d = desired(
            "iam_role",
            &[
                ("assume_role_services", list(&["ec2.amazonaws.com"])),
                (
                    "inline_policies",
                    map(&[("p", logs_policy(&["logs:PutLogEvents"]))]),
                ),
                ("managed_policy_arns", list(&[ECS_TASK_EXECUTION])),
                ("description", s(&format!("role {i}"))),
                ("tags", tags(&[("n", name)])),
            ],
        );
        ids.push(env.create(&format!("iam_role.{name}"), &d).await);
    }
    ids.push("t-never-created".to_owned());
    let at_once = kind("iam_role").read_many(env.cx(), &ids).await.unwrap();
    assert_eq!(at_once.keys().collect::<Vec<_>>(), ["t-a", "t-b", "t-c"]);
    let one_by_one = IamRole.read_each(env.cx(), &ids).await.unwrap();
    assert_eq!(at_once, one_by_one);
    assert_eq!(at_once["t-b"]["description"], s("role 1"));
    assert!(
        kind("iam_role")
            .read_many(env.cx(), &[])
            .await
            .unwrap()
            .is_empty()
    );

    // Account-wide: two calls (GetAccountAuthorizationDetails and ListRoles)
    // for one role as for all of them.
    for wanted in [&ids[..1], &ids[..]] {
        let before = env.requests();
        kind("iam_role").read_many(env.cx(), wanted).await.unwrap();
        assert_eq!(env.requests() - before, 2, "reading {} roles", wanted.len());
    }
}

#[tokio::test]
async fn an_instance_profile_changes_its_role_in_place_and_is_found_and_deleted() {
    let env = Env::start().await;
    let role = |name: &str| {
        desired(
            "iam_role",
            &[
                ("name", s(name)),
                ("assume_role_services", list(&["ec2.amazonaws.com"])),
            ],
        )
    };
    let a = env.create("iam_role.a", &role("role-a")).await;
    let b = env.create("iam_role.b", &role("role-b")).await;

    let first = desired(
        "iam_instance_profile",
        &[("role", s(&a)), ("tags", tags(&[("team", "web")]))],
    );
    let id = env.create("iam_instance_profile.web", &first).await;
    assert_eq!(id, "t-web");
    let live = env.must_read("iam_instance_profile", &id).await;
    assert_reads_as("iam_instance_profile", &live, &first);
    assert!(
        live["arn"]
            .as_str()
            .unwrap_or_default()
            .ends_with(":instance-profile/t-web")
    );

    let mut changed = first.clone();
    changed.insert("role".into(), s(&b));
    changed.insert("tags".into(), tags(&[("tier", "app")]));
    env.update("iam_instance_profile.web", &id, &live, &changed)
        .await;
    let after = env.must_read("iam_instance_profile", &id).await;
    assert_reads_as("iam_instance_profile", &after, &changed);

    let mut none = changed.clone();
    none.insert("role".into(), s(""));
    env.update("iam_instance_profile.web", &id, &after, &none)
        .await;
    let empty = env.must_read("iam_instance_profile", &id).await;
    assert_eq!(empty["role"], s(""));

    // Holding a role again, the profile still deletes (the role goes first).
    env.update("iam_instance_profile.web", &id, &empty, &changed)
        .await;
    env.find_and_delete_twice("iam_instance_profile.web", &id)
        .await;
    assert!(env.read("iam_role", &b).await.is_some(), "the role stays");
}

/// A lifecycle policy as a TOML table would give it.
fn expire_untagged_after(days: i64) -> Value {
    map(&[(
        "rules",
        Value::List(vec![map(&[
            ("rulePriority", Value::Int(1)),
            ("description", s("expire untagged images")),
            (
                "selection",
                map(&[
                    ("tagStatus", s("untagged")),
                    ("countType", s("sinceImagePushed")),
                    ("countUnit", s("days")),
                    ("countNumber", Value::Int(days)),
                ]),
            ),
            ("action", map(&[("type", s("expire"))])),
        ])]),
    )])
}

#[tokio::test]
async fn an_ecr_repository_is_created_read_updated_found_and_deleted() {
    let env = Env::start().await;
    let first = desired(
        "ecr_repository",
        &[
            ("lifecycle_policy", expire_untagged_after(14)),
            ("tags", tags(&[("team", "web")])),
        ],
    );
    let id = env.create("ecr_repository.Web_App", &first).await;
    assert_eq!(id, "t-web-app", "lowercased, `_` as `-`");
    let live = env.must_read("ecr_repository", &id).await;
    assert_reads_as("ecr_repository", &live, &first);
    assert_eq!(
        live["repository_policy"],
        map(&[]),
        "no policy reads as {{}}"
    );
    let url = live["repository_url"].as_str().unwrap_or_default();
    assert!(
        url.ends_with(".dkr.ecr.us-east-1.amazonaws.com/t-web-app"),
        "{url}"
    );
    assert!(live["registry_id"].as_str().is_some_and(|r| r.len() == 12));

    let mut changed = first.clone();
    changed.insert("image_tag_mutability".into(), s("IMMUTABLE"));
    changed.insert("scan_on_push".into(), Value::Bool(true));
    changed.insert("lifecycle_policy".into(), expire_untagged_after(7));
    changed.insert(
        "repository_policy".into(),
        s(
            r#"{"Version":"2012-10-17","Statement":{"Sid":"pull","Effect":"Allow",
             "Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"ecr:BatchGetImage"}}"#,
        ),
    );
    changed.insert("tags".into(), tags(&[("team", "api")]));
    env.update("ecr_repository.Web_App", &id, &live, &changed)
        .await;
    let after = env.must_read("ecr_repository", &id).await;
    assert_reads_as("ecr_repository", &after, &changed);

    // `{}` removes a policy.
    let mut bare = changed.clone();
    bare.insert("lifecycle_policy".into(), map(&[]));
    bare.insert("repository_policy".into(), s("{}"));
    env.update("ecr_repository.Web_App", &id, &after, &bare)
        .await;
    let after = env.must_read("ecr_repository", &id).await;
    assert_reads_as("ecr_repository", &after, &bare);
    assert_eq!(after["lifecycle_policy"], map(&[]));

    env.find_and_delete_twice("ecr_repository.Web_App", &id)
        .await;
}

#[tokio::test]
async fn a_repository_holding_images_is_deleted_only_with_force_delete() {
    let env = Env::start().await;
    let d = desired("ecr_repository", &[("name", s("images"))]);
    let id = env.create("ecr_repository.images", &d).await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": format!("sha256:{}", "a".repeat(64)),
        },
        "layers": [],
    });
    env.ecr
        .put_image()
        .repository_name(&id)
        .image_manifest(manifest.to_string())
        .image_tag("latest")
        .send()
        .await
        .unwrap();

    let live = env.must_read("ecr_repository", &id).await;
    assert_eq!(live["force_delete"], Value::Bool(false));
    let err = kind("ecr_repository")
        .delete(Delete { cx: env.cx(), id: &id, live: &live })
        .await
        .unwrap_err();
    assert!(err.message.contains("force_delete = true"), "{err}");
    assert!(env.read("ecr_repository", &id).await.is_some());

    let mut forced = d.clone();
    forced.insert("force_delete".into(), Value::Bool(true));
    env.update("ecr_repository.images", &id, &live, &forced)
        .await;
    let live = env.must_read("ecr_repository", &id).await;
    assert_reads_as("ecr_repository", &live, &forced);
    assert_eq!(
        live["tags"],
        map(&[]),
        "the force_delete tag is not a user tag"
    );
    kind("ecr_repository")
        .delete(Delete { cx: env.cx(), id: &id, live: &live })
        .await
        .unwrap_or_else(|e| panic!("deleting with force_delete: {e}"));
    assert_eq!(env.read("ecr_repository", &id).await, None);
}

#[tokio::test]
async fn reading_repositories_of_which_one_is_gone_returns_the_others() {
    let env = Env::start().await;
    let a = env
        .create("ecr_repository.a", &desired("ecr_repository", &[]))
        .await;
    let b = env
        .create("ecr_repository.b", &desired("ecr_repository", &[]))
        .await;
    let ids = [a.clone(), "t-gone".to_owned(), b.clone()];
    let found = kind("ecr_repository")
        .read_many(env.cx(), &ids)
        .await
        .unwrap();
    assert_eq!(found.keys().collect::<Vec<_>>(), [&a, &b]);
}

#[tokio::test]
async fn a_log_group_is_created_read_updated_found_and_deleted() {
    let env = Env::start().await;
    let first = desired(
        "log_group",
        &[
            ("retention_in_days", Value::Int(7)),
            (
                "kms_key_id",
                s("arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"),
            ),
            ("tags", tags(&[("team", "web")])),
        ],
    );
    let id = env.create("log_group.app", &first).await;
    assert_eq!(id, "/reconcile/t/app");
    let live = env.must_read("log_group", &id).await;
    assert_reads_as("log_group", &live, &first);
    assert_eq!(
        live["arn"],
        s("arn:aws:logs:us-east-1:123456789012:log-group:/reconcile/t/app")
    );

    let mut changed = first.clone();
    changed.insert("retention_in_days".into(), Value::Int(30));
    changed.insert("tags".into(), tags(&[("team", "api"), ("tier", "app")]));
    env.update("log_group.app", &id, &live, &changed).await;
    let after = env.must_read("log_group", &id).await;
    assert_reads_as("log_group", &after, &changed);

    let mut forever = changed.clone();
    forever.insert("retention_in_days".into(), Value::Int(0));
    env.update("log_group.app", &id, &after, &forever).await;
    let after = env.must_read("log_group", &id).await;
    assert_reads_as("log_group", &after, &forever);

    let other = env
        .create(
            "log_group.other",
            &desired("log_group", &[("name", s("/x/other"))]),
        )
        .await;
    let both = kind("log_group")
        .read_many(env.cx(), &[id.clone(), "/gone".into(), other.clone()])
        .await
        .unwrap();
    assert_eq!(both.keys().collect::<Vec<_>>(), [&id, &other]);

    env.find_and_delete_twice("log_group.app", &id).await;
}

#[tokio::test]
async fn a_log_group_with_a_retention_aws_does_not_offer_is_refused() {
    let env = Env::start().await;
    let bad = desired("log_group", &[("retention_in_days", Value::Int(10))]);
    let err = kind("log_group")
        .create(Create { cx: env.cx(), address: "log_group.app", desired: &bad })
        .await
        .unwrap_err();
    assert!(err.message.contains("retention_in_days = 10"), "{err}");
    assert!(err.message.contains("1, 3, 5, 7, 14"), "{err}");
    assert_eq!(env.read("log_group", "/reconcile/t/app").await, None);

    let good = desired("log_group", &[("retention_in_days", Value::Int(14))]);
    let id = env.create("log_group.app", &good).await;
    let live = env.must_read("log_group", &id).await;
    let k = kind("log_group");
    let err = reconcile::kinds::update(
        k,
        Update {
            cx: env.cx(),
            address: "log_group.app",
            id: &id,
            live: &live,
            desired: &bad,
            changed: &Changes::between(k, &live, &bad),
        },
    )
    .await
    .unwrap_err();
    assert!(err.message.contains("retention_in_days = 10"), "{err}");
    assert_eq!(
        env.must_read("log_group", &id).await["retention_in_days"],
        Value::Int(14)
    );
}
