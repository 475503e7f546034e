//! `reconcile vars`: every variable's value and where it comes from (given,
//! persisted, default), sensitive values masked. Reads the state (for
//! persisted values) without locking it; no AWS call beyond an S3 state.

use serde_json::json;

use crate::cli::{Global, VarsArgs};
use crate::config::VarSource;
use crate::plan::render::SENSITIVE;

pub async fn run(global: &Global, args: &VarsArgs) -> anyhow::Result<i32> {
    let (config, _, state) = super::read_state(global).await?;
    let config = match config {
        Some(c) => c,
        None => super::load_config(global)?,
    };
    let ui = super::ui(global);
    let rows: Vec<serde_json::Value> = config
        .variables
        .iter()
        .map(|(name, decl)| {
            let source = config
                .var_sources
                .get(name)
                .copied()
                .unwrap_or(VarSource::Default);
            let value = match config.var_values.get(name) {
                _ if decl.sensitive => json!(SENSITIVE),
                Some(v) => v.to_json(),
                None => serde_json::Value::Null,
            };
            let recorded = state
                .as_ref()
                .and_then(|s| s.variables.get(name))
                .filter(|_| decl.persist);
            json!({
                "name": name,
                "value": value,
                "source": source.class(),
                "from": source.as_str(),
                "sensitive": decl.sensitive,
                "persist": decl.persist,
                "persisted": recorded.map(|p| json!({
                    "value": p.value.to_json(),
                    "source": p.source,
                    "recorded_at": p.recorded_at,
                })),
            })
        })
        .collect();
    if args.json {
        let doc = json!({ "stack": config.stack, "variables": rows });
        crate::ui::document(format!("{}\n", serde_json::to_string_pretty(&doc)?).as_bytes())?;
        return Ok(0);
    }
    if rows.is_empty() {
        ui.line("No variables are declared.");
        return Ok(0);
    }
    let width = config.variables.keys().map(String::len).max().unwrap_or(0);
    for (row, (name, decl)) in rows.iter().zip(&config.variables) {
        let shown = if decl.sensitive {
            SENSITIVE.to_owned()
        } else {
            config
                .var_values
                .get(name)
                .map_or_else(|| "(no value)".to_owned(), ToString::to_string)
        };
        let source = match (row["source"].as_str(), row["persisted"].as_object()) {
            (Some("persisted"), Some(p)) => format!(
                "persisted: {} at {}",
                p.get("source").and_then(|v| v.as_str()).unwrap_or("?"),
                p.get("recorded_at").and_then(|v| v.as_str()).unwrap_or("?")
            ),
            (Some("given"), _) => format!("given: {}", row["from"].as_str().unwrap_or("?")),
            (Some(s), _) => s.to_owned(),
            (None, _) => String::new(),
        };
        let persist = if decl.persist { ", persist" } else { "" };
        ui.line(&format!("{name:<width$} = {shown}  ({source}{persist})"));
    }
    Ok(0)
}
