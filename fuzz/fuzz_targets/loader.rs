//! The desired-state loader over arbitrary bytes: TOML parsing, variables,
//! templates, expansion of count/for_each/modules and validation against
//! the kinds' schemas. Any outcome but a panic, an abort, a stack overflow
//! or a hang is fine: bad input must be an error.
#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let none = BTreeMap::new();
    // Relative module sources resolve under a directory that does not exist.
    let file = Path::new("/nonexistent/desired/main.toml");
    if let Err(e) = reconcile::config::load_bytes(file, data, &none, &none) {
        // Formatting the errors is part of what a user sees.
        let _ = e.to_string();
    }
});
