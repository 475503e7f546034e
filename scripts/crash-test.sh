#!/usr/bin/env bash
# The long crash-safety run: `apply` and `destroy` of the reference
# architecture killed with SIGKILL at 2 x ROUNDS moments spread over the run
# (default 24 rounds), each re-run to completion, checked for duplicates and
# leftovers.
#   scripts/crash-test.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/emulator.sh install
RECONCILE_CRASH_ROUNDS="${1:-24}" cargo test --test it crash_safety -- --ignored --nocapture
