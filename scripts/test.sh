#!/usr/bin/env bash
# The full check: formatting, lints, then every test. Integration tests start
# their own emulators from .venv/bin/moto_server, installed here when missing.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh --test it faults::).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

echo "==> scripts/emulator.sh install"
scripts/emulator.sh install
echo "==> cargo fmt --check"
cargo fmt --check
echo "==> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo "==> cargo test $*"
cargo test "$@"
