//! `reconcile output [NAME]`: the outputs recorded by the last apply. Reads
//! the state without locking it and makes no AWS call.

use anyhow::{anyhow, bail};

use crate::cli::{Global, OutputArgs};
use crate::value::Value;

pub async fn run(global: &Global, args: &OutputArgs) -> anyhow::Result<i32> {
    let (_, path, state) = super::read_state(global).await?;
    let state = state.ok_or_else(|| anyhow!("no state at {path}: run `reconcile apply` first"))?;
    let ui = super::ui(global);
    match &args.name {
        Some(name) => {
            let Some(v) = state.outputs.get(name) else {
                let hint =
                    crate::schema::did_you_mean(name, state.outputs.keys().map(String::as_str));
                bail!("no output `{name}` in {path}{hint}");
            };
            match (args.json, v) {
                (true, v) => ui.line(&v.to_json().to_string()),
                (false, Value::Str(s)) => ui.line(s),
                (false, v) => ui.line(&v.to_string()),
            }
        }
        None if args.json => {
            let all: serde_json::Map<String, serde_json::Value> = state
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            ui.line(&serde_json::Value::Object(all).to_string());
        }
        None => {
            for (k, v) in &state.outputs {
                ui.line(&format!("{k} = {v}"));
            }
        }
    }
    Ok(0)
}
