//! `reconcile plan`: refresh, diff, show.

use crate::cli::{Global, PlanArgs};
use crate::plan::render;

use super::Session;

pub async fn run(global: &Global, args: &PlanArgs) -> anyhow::Result<i32> {
    let session = Session::open(global).await?;
    let plan = session.plan(false).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&render::json(&plan))?);
    } else {
        super::ui(global).plan(&plan);
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
