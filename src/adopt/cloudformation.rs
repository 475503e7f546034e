//! A live CloudFormation stack as adopt's source: its resources (paginated,
//! nested stacks followed), and its retirement (every adopted resource
//! retained, then the stack deleted).

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, Parameter};

use crate::aws::ApiError;
use crate::aws::wait::{Poll, Waiter};

use super::{Found, NotAdopted, mapping};

/// A nested stack's resource type: followed, not adopted.
const NESTED: &str = "AWS::CloudFormation::Stack";

/// How long a stack update or delete may take (CloudFormation's own default
/// is no limit; a retire that waits an hour has gone wrong).
const STACK_TIMEOUT: Duration = Duration::from_hours(1);

/// The stack's resources, nested stacks' included (their logical ids
/// prefixed with the nested stack's: `Network.VPC`). Whether a nested
/// stack was followed is returned too: retiring one is not supported.
pub async fn list(
    cf: &Client,
    stack: &str,
) -> Result<(Vec<Found>, Vec<NotAdopted>, bool), ApiError> {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let mut nested = false;
    // (stack name or id, logical-id prefix)
    let mut todo = vec![(stack.to_owned(), String::new())];
    while let Some((name, prefix)) = todo.pop() {
        let mut token = None;
        loop {
            let out = cf
                .list_stack_resources()
                .stack_name(&name)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| stack_error(stack, e.into()))?;
            for r in out.stack_resource_summaries() {
                let logical = format!("{prefix}{}", r.logical_resource_id().unwrap_or_default());
                let ty = r.resource_type().unwrap_or_default().to_owned();
                let physical = r.physical_resource_id().unwrap_or_default().to_owned();
                if ty == NESTED {
                    nested = true;
                    todo.push((physical, format!("{logical}.")));
                    continue;
                }
                let row = mapping::cloudformation(&ty);
                if row.is_none() {
                    skipped.push(NotAdopted {
                        reason: mapping::reason_not_adopted(&ty).to_owned(),
                        logical_id: logical,
                        ty,
                    });
                    continue;
                }
                found.push(Found {
                    name: mapping::snake_case(&logical),
                    logical_id: logical,
                    ty,
                    physical_id: physical,
                    row,
                });
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    found.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    skipped.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    Ok((found, skipped, nested))
}

/// "Stack with id X does not exist" is a ValidationError: named plainly.
fn stack_error(stack: &str, e: ApiError) -> ApiError {
    if e.message.contains("does not exist") {
        ApiError::msg(format!("no CloudFormation stack named {stack}: {e}"))
    } else {
        ApiError::msg(format!("CloudFormation stack {stack}: {e}"))
    }
}

/// Updates the stack so that every resource of `logical_ids` has
/// `DeletionPolicy: Retain`, waits, deletes the stack and waits until it is
/// gone. Resources not in `logical_ids` are deleted with the stack.
pub async fn retire(
    cf: &Client,
    stack: &str,
    logical_ids: &BTreeSet<String>,
) -> Result<(), ApiError> {
    let described = cf
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| stack_error(stack, e.into()))?;
    let Some(s) = described.stacks().first() else {
        return Err(ApiError::msg(format!(
            "no CloudFormation stack named {stack}"
        )));
    };
    // The id names the stack after it is deleted, when its name no longer does.
    let stack_id = s.stack_id().unwrap_or(stack).to_owned();
    let params: Vec<Parameter> = s
        .parameters()
        .iter()
        .filter_map(|p| {
            Some(
                Parameter::builder()
                    .parameter_key(p.parameter_key()?)
                    .use_previous_value(true)
                    .build(),
            )
        })
        .collect();
    let body = cf
        .get_template()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| stack_error(stack, e.into()))?
        .template_body()
        .unwrap_or_default()
        .to_owned();
    let retained = with_retain(&body, logical_ids).map_err(ApiError::msg)?;
    if retained != body {
        let update = cf
            .update_stack()
            .stack_name(&stack_id)
            .template_body(retained)
            .set_parameters(Some(params))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam)
            .capabilities(Capability::CapabilityAutoExpand)
            .send()
            .await;
        match update.map_err(ApiError::from) {
            Ok(_) => {}
            // Already retained: nothing to update.
            Err(e) if e.message.contains("No updates are to be performed") => {}
            Err(e) => return Err(stack_error(stack, e)),
        }
        wait_for(cf, &stack_id, "UPDATE_COMPLETE", false).await?;
    }
    cf.delete_stack()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| stack_error(stack, e.into()))?;
    wait_for(cf, &stack_id, "DELETE_COMPLETE", true).await
}

/// Waits until the stack reaches `target` (or, with `gone_ok`, is gone).
async fn wait_for(
    cf: &Client,
    stack_id: &str,
    target: &str,
    gone_ok: bool,
) -> Result<(), ApiError> {
    Waiter::new(STACK_TIMEOUT)
        .until(&format!("stack {stack_id} to reach {target}"), || async {
            let out = match cf.describe_stacks().stack_name(stack_id).send().await {
                Ok(o) => o,
                Err(e) => {
                    let e = ApiError::from(e);
                    if gone_ok && e.message.contains("does not exist") {
                        return Ok(Poll::Ready(()));
                    }
                    return Err(e);
                }
            };
            let status = out
                .stacks()
                .first()
                .and_then(|s| s.stack_status())
                .map(|s| s.as_str().to_owned());
            Ok(match status {
                None if gone_ok => Poll::Ready(()),
                Some(s) if s == target => Poll::Ready(()),
                Some(s) if s.ends_with("_IN_PROGRESS") => Poll::Pending(s),
                Some(s) => Poll::Failed(s),
                None => Poll::Failed("no status".into()),
            })
        })
        .await
}

/// The template with `DeletionPolicy: Retain` on every resource of
/// `logical_ids`. JSON templates are edited as JSON; YAML ones as text, in
/// the block style templates are written in (a resource's key at one
/// indentation under `Resources:`, its attributes one level deeper).
pub fn with_retain(body: &str, logical_ids: &BTreeSet<String>) -> Result<String, String> {
    if body.trim_start().starts_with('{') {
        let mut doc: serde_json::Value =
            serde_json::from_str(body).map_err(|e| format!("the stack's template: {e}"))?;
        let Some(resources) = doc.get_mut("Resources").and_then(|r| r.as_object_mut()) else {
            return Err("the stack's template has no Resources".into());
        };
        for (id, r) in resources.iter_mut() {
            if logical_ids.contains(id)
                && let Some(r) = r.as_object_mut()
            {
                r.insert("DeletionPolicy".into(), "Retain".into());
            }
        }
        return serde_json::to_string_pretty(&doc).map_err(|e| e.to_string());
    }
    yaml_with_retain(body, logical_ids)
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn yaml_with_retain(body: &str, logical_ids: &BTreeSet<String>) -> Result<String, String> {
    let lines: Vec<&str> = body.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim_end() == "Resources:") else {
        return Err(
            "cannot find `Resources:` at the start of a line in the stack's YAML template".into(),
        );
    };
    let content = |l: &&&str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let mut out: Vec<String> = lines[..=start].iter().map(|l| (*l).to_owned()).collect();
    let mut i = start + 1;
    let key_indent = lines[i..].iter().find(content).map(|l| indent_of(l));
    let mut done = BTreeSet::new();
    while i < lines.len() {
        let line = lines[i];
        if content(&&line) && indent_of(line) == 0 {
            break; // the next top-level section
        }
        out.push(line.to_owned());
        i += 1;
        let key = line
            .trim()
            .strip_suffix(':')
            .map(|k| k.trim_matches(['"', '\'']));
        let Some(key) = key.filter(|_| Some(indent_of(line)) == key_indent) else {
            continue;
        };
        if !logical_ids.contains(key) {
            continue;
        }
        // The resource's attributes, up to the next resource.
        let attr_indent = lines[i..].iter().find(content).map_or(2, |l| indent_of(l));
        if Some(attr_indent) <= key_indent {
            return Err(format!(
                "resource {key} of the YAML template is not in block style"
            ));
        }
        out.push(format!("{}DeletionPolicy: Retain", " ".repeat(attr_indent)));
        while i < lines.len()
            && (!content(&&lines[i]) || indent_of(lines[i]) > key_indent.unwrap_or(0))
        {
            let l = lines[i];
            let is_policy =
                indent_of(l) == attr_indent && l.trim_start().starts_with("DeletionPolicy:");
            if !is_policy {
                out.push(l.to_owned());
            }
            i += 1;
        }
        done.insert(key.to_owned());
    }
    out.extend(lines[i..].iter().map(|l| (*l).to_owned()));
    if let Some(missing) = logical_ids.difference(&done).next() {
        return Err(format!(
            "cannot find resource {missing} in the stack's YAML template"
        ));
    }
    Ok(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn yaml_templates_get_retain_on_the_named_resources_only() {
        let yaml = "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    DeletionPolicy: Delete\n    Properties:\n      CidrBlock: 10.0.0.0/16\n\n  # a queue\n  Queue:\n    Type: AWS::SQS::Queue\nOutputs:\n  V:\n    Value: !Ref Vpc\n";
        let out = with_retain(yaml, &ids(&["Vpc"])).unwrap();
        assert_eq!(
            out,
            "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Vpc:\n    DeletionPolicy: Retain\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: 10.0.0.0/16\n\n  # a queue\n  Queue:\n    Type: AWS::SQS::Queue\nOutputs:\n  V:\n    Value: !Ref Vpc\n"
        );
        assert!(
            with_retain(yaml, &ids(&["Nope"]))
                .unwrap_err()
                .contains("Nope")
        );
    }

    #[test]
    fn json_templates_are_edited_as_json() {
        let json = r#"{"Resources":{"A":{"Type":"AWS::EC2::VPC"},"B":{"Type":"AWS::SQS::Queue"}}}"#;
        let out: serde_json::Value =
            serde_json::from_str(&with_retain(json, &ids(&["A"])).unwrap()).unwrap();
        assert_eq!(out["Resources"]["A"]["DeletionPolicy"], "Retain");
        assert!(out["Resources"]["B"].get("DeletionPolicy").is_none());
    }
}
