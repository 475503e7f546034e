//! `reconcile graph`: the dependency graph in DOT (an edge points from a
//! resource to what it depends on), or rendered by Graphviz.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use petgraph::dot::{Config as DotConfig, Dot};

use crate::cli::{Global, GraphArgs, GraphFormat};

pub fn run(global: &Global, args: &GraphArgs) -> anyhow::Result<i32> {
    let config = super::load_config(global)?;
    let graph = &config.graph;
    // Reversed so that arrows read "depends on", as in `depends_on`.
    let mut g = graph.dag.map(|_, a| a.clone(), |_, ()| "");
    g.reverse();
    let dot = format!("{}", Dot::with_config(&g, &[DotConfig::EdgeNoLabel]));
    let format = match args.format {
        GraphFormat::Dot => {
            crate::ui::document(dot.as_bytes()).context("writing the graph")?;
            return Ok(0);
        }
        GraphFormat::Svg => "-Tsvg",
        GraphFormat::Png => "-Tpng",
    };
    let child = Command::new("dot")
        .arg(format)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "--format {} needs Graphviz's `dot`, which is not installed (e.g. `apt-get install graphviz`); without --format, `reconcile graph` prints DOT",
            &format[2..]
        ),
        Err(e) => return Err(e).context("running Graphviz `dot`"),
    };
    child
        .stdin
        .take()
        .context("dot's standard input")?
        .write_all(dot.as_bytes())
        .context("writing to Graphviz `dot`")?;
    let out = child.wait_with_output().context("running Graphviz `dot`")?;
    if !out.status.success() {
        bail!(
            "Graphviz `dot` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    crate::ui::document(&out.stdout).context("writing the graph")?;
    Ok(0)
}
