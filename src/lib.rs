//! reconcile: keeps AWS infrastructure equal to a desired state in TOML.

pub mod adopt;
pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod kinds;
pub mod lifecycle;
pub mod plan;
pub mod schema;
pub mod state;
pub mod ui;
pub mod value;
