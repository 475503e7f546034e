//! Every integration test, in one binary: each module below was a test
//! target of its own, and each of those linked the whole AWS SDK again
//! (26 binaries of 50–190 MB, most of a clean build's disk and link time).
//! Tests stay isolated the way they were: each starts its own emulator and
//! works in its own scratch directory (`support`).

mod support;

mod adopt;
mod cli_app;
mod cli_engine;
mod cli_examples;
mod cli_modules;
mod cli_network;
mod cli_ops;
mod container;
mod contract;
mod convergence;
mod crash_safety;
mod deploy;
mod drift_corrector;
mod emulator_smoke;
mod faults;
mod fleet;
mod invalid_input;
mod kinds_app_ecs;
mod kinds_app_elb;
mod kinds_app_iam;
mod kinds_capacity;
mod kinds_cloudfront;
mod kinds_data;
mod kinds_ecs_fields;
mod kinds_efs;
mod kinds_monitoring;
mod kinds_netsec;
mod kinds_network;
mod kinds_routing;
mod kinds_secrets_dns;
mod loader_mutations;
mod ownership;
mod retries;
mod secrets;
mod state_robustness;
mod stats;
mod throttling;
mod ux;
mod waiters;
