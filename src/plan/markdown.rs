//! The plan as Markdown for a pull-request comment: the summary line, a
//! collapsible table (address, action, changed attributes) and the full
//! text plan in a `<details>` block, as a `diff` code block so that GitHub
//! colours it. Sensitive values are masked exactly as in the text plan.
//! The whole stays under GitHub's comment limit: resources' diffs that do
//! not fit are left out, with a note that counts them.

use std::fmt::Write;

use super::render::{self, Style};
use super::{Action, Change, Plan};

/// GitHub's limit on the body of an issue or pull-request comment.
pub const COMMENT_LIMIT: usize = 65_536;

/// Room kept for the closing lines and the truncation note.
const RESERVE: usize = 1_024;

/// The plan as Markdown, at most `limit` characters (bytes, which are never
/// fewer).
pub fn markdown(plan: &Plan, limit: usize) -> String {
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    let s = plan.summary();
    let mut out = String::new();
    let _ = writeln!(out, "### reconcile plan: `{}`\n", plan.stack);
    if changes.is_empty() && plan.forget.is_empty() {
        out.push_str("**No changes.** Live infrastructure matches the desired state.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "**Plan: {} to add, {} to change, {} to destroy.**\n",
        s.add, s.change, s.destroy
    );
    let budget = limit.saturating_sub(RESERVE);

    summary_table(&mut out, &changes, budget);

    // The full plan, resource by resource, while it fits.
    out.push_str("<details><summary>Full plan</summary>\n\n```diff\n");
    let plain = Style { color: false };
    let mut blocks: Vec<String> = plan
        .forget
        .iter()
        .map(|a| {
            format!(
                "Note: {a} was deleted outside reconcile and is no longer desired; it will be dropped from the state.\n"
            )
        })
        .collect();
    blocks.extend(changes.iter().map(|c| {
        let mut b = String::new();
        render::change_text(&mut b, c, plain, plan.owned.get(&c.address));
        b
    }));
    let total = blocks.len();
    let mut left_out = 0;
    for b in blocks {
        let b = diff_marks(&b);
        if left_out == 0 && out.len() + b.len() < budget {
            out.push_str(&b);
            out.push('\n');
        } else {
            left_out += 1;
        }
    }
    out.push_str("```\n\n</details>\n");
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n> [!NOTE]\n> The plan was cut to fit a pull-request comment ({COMMENT_LIMIT} characters at most): \
             {left_out} of {total} resources' diffs are left out. Run `reconcile plan` to see them all."
        );
    }
    out
}

/// The table: one row per change, rows that do not fit (half of `budget`)
/// counted.
fn summary_table(out: &mut String, changes: &[&Change], budget: usize) {
    let _ = writeln!(
        *out,
        "<details open><summary>{} resource{} to change</summary>\n",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    );
    out.push_str("| Address | Action | Changed attributes |\n|---|---|---|\n");
    let mut rows_left_out = 0;
    for c in changes {
        let row = table_row(c);
        if out.len() + row.len() > budget / 2 {
            rows_left_out += 1;
        } else {
            out.push_str(&row);
        }
    }
    if rows_left_out > 0 {
        let _ = writeln!(
            out,
            "\n_{rows_left_out} more row{} left out to fit a comment._",
            if rows_left_out == 1 { "" } else { "s" }
        );
    }
    out.push_str("\n</details>\n\n");
}

/// `| address | action | attributes |`, Markdown-escaped.
fn table_row(c: &Change) -> String {
    let action = match c.action {
        Action::Replace if c.create_before_destroy => "replace (create first)",
        a => a.as_str(),
    };
    let attrs = match c.action {
        Action::Create => format!("{} attributes (new)", c.diffs.len()),
        Action::Delete => "(destroyed)".to_owned(),
        _ => {
            let names: Vec<String> = c
                .diffs
                .iter()
                .filter(|d| d.name != "id" || c.action != Action::Update)
                .map(|d| {
                    if d.forces_replacement {
                        format!("`{}` (forces replacement)", d.name)
                    } else {
                        format!("`{}`", d.name)
                    }
                })
                .collect();
            names.join(", ")
        }
    };
    let reason = c
        .reason
        .as_deref()
        .map(|r| format!(" ({})", r.replace('|', "\\|")))
        .unwrap_or_default();
    format!("| `{}` | {action}{reason} | {attrs} |\n", c.address)
}

/// The text plan with each line's mark moved to the first column, where a
/// `diff` code block looks for it (`~` becomes `!`, as GitHub colours it).
fn diff_marks(block: &str) -> String {
    let mut out = String::with_capacity(block.len() + 64);
    for line in block.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let mark = ["-/+ ", "+/- ", "+ ", "- ", "~ "]
            .iter()
            .find(|m| trimmed.starts_with(**m));
        match mark {
            Some(m) => {
                let first = match m.trim_end() {
                    "~" => "!",
                    "-/+" | "+/-" => "!",
                    other => other,
                };
                let rest = &trimmed[m.len()..];
                let spaces = (indent + m.len()).saturating_sub(first.len() + 1);
                let _ = writeln!(out, "{first}{} {rest}", " ".repeat(spaces));
            }
            None => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{AttrDiff, testing};
    use crate::value::Value;

    fn create(i: usize) -> Change {
        let attr = |name: &str, after: &str, sensitive| AttrDiff {
            name: name.into(),
            before: Value::Null,
            after: Value::str(after),
            forces_replacement: false,
            sensitive,
        };
        Change {
            diffs: vec![
                attr("description", &"x".repeat(200), false),
                attr("token", "hunter2-secret", true),
            ],
            ..testing::change(&format!("security_group.g{i:04}"), Action::Create)
        }
    }

    fn plan(n: usize) -> Plan {
        testing::plan((0..n).map(create).collect())
    }

    #[test]
    fn a_small_plan_is_whole_with_a_table_and_marks_in_the_first_column() {
        let md = markdown(&plan(2), COMMENT_LIMIT);
        assert!(
            md.contains("**Plan: 2 to add, 0 to change, 0 to destroy.**"),
            "{md}"
        );
        assert!(
            md.contains("| `security_group.g0001` | create | 2 attributes (new) |"),
            "{md}"
        );
        assert!(md.contains("<details><summary>Full plan</summary>"), "{md}");
        assert!(md.contains("\n+   security_group.g0000 {\n"), "{md}");
        assert!(md.contains("\n+       description = \"xxx"), "{md}");
        assert!(md.contains("token       = (sensitive value)"), "{md}");
        assert!(
            !md.contains("hunter2") && !md.contains("cut to fit"),
            "{md}"
        );
    }

    #[test]
    fn a_big_plan_is_cut_under_the_comment_limit_and_says_how_much() {
        let md = markdown(&plan(600), COMMENT_LIMIT);
        assert!(md.len() <= COMMENT_LIMIT, "{}", md.len());
        let note = md
            .lines()
            .find(|l| l.contains("cut to fit"))
            .unwrap_or_default();
        let kept = md.matches("\n+   security_group.g").count();
        assert!(kept > 50, "{kept}");
        assert!(
            note.contains(&format!(
                "{} of 600 resources' diffs are left out",
                600 - kept
            )),
            "{note}"
        );
        assert!(md.trim_end().ends_with("to see them all."), "{md}");
        assert!(md.contains("```\n\n</details>"), "the code block is closed");
        assert!(!md.contains("hunter2"));
    }

    #[test]
    fn no_changes_is_one_line() {
        let md = markdown(&plan(0), COMMENT_LIMIT);
        assert!(md.contains("**No changes.**"), "{md}");
    }
}
