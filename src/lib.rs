//! reconcile: keeps AWS infrastructure equal to a desired state in TOML.

pub mod adopt;
pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod docs;
pub mod graph;
pub mod hints;
pub mod kinds;
pub mod lifecycle;
pub mod lookups;
pub mod plan;
pub mod refresh;
pub mod schema;
pub mod schema_json;
pub mod shutdown;
pub mod state;
pub mod ui;
pub mod value;
