#!/usr/bin/env bash
# What a fleet costs to run: applies the example stacks to the emulator, each
# in an account of its own (`[stack] assume_role`, through the emulator's
# STS), then times `watch --once --correct` over each stack alone (one
# scheduled task per stack) and over all of them in one process.
#
#   scripts/fleet-cost.sh [RUNS]        # default 3 runs of each
#
# Prints the wall time of each run; the README turns these into task-seconds
# and Fargate's price.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-3}"
cd "$root"
# shellcheck source=scripts/emulator.sh
. "$root/scripts/emulator.sh"

tmp=""
MOTO_PID=""
cleanup() {
    local rc=$?
    [[ -n "$MOTO_PID" ]] && emulator_stop "$MOTO_PID"
    [[ -n "$tmp" ]] && rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT

emulator_install
cargo build --bin reconcile
bin="${CARGO_TARGET_DIR:-$root/target}/debug/reconcile"
emulator_start
tmp="$(mktemp -d)"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
# django's required variables (the other examples have defaults for all).
export RECONCILE_VAR_db_password=Sup3rS3cretPassw0rd RECONCILE_VAR_secret_key=s3cr3t-k3y

stacks=()
n=0
for example in fargate refarch ec2-cluster django; do
    n=$((n + 1))
    cp -r "desired/$example" "$tmp/$example"
    # One account per stack, as in a fleet.
    sed -i "0,/^\[stack\]/s//[stack]\nassume_role = { role_arn = \"arn:aws:iam::10000000000$n:role\/reconcile-fleet\" }/" \
        "$tmp/$example/main.toml"
    stacks+=("$tmp/$example")
done
cd "$tmp"
for s in "${stacks[@]}"; do
    "$bin" apply --auto-approve --no-color --desired "$s" >/dev/null
done

# Wall time of one command, in seconds with milliseconds.
timed() {
    local start end rc=0
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || rc=$?
    end=$(date +%s%N)
    printf '%d.%03d exit %d\n' $(((end - start) / 1000000000)) $(((end - start) / 1000000 % 1000)) "$rc"
}

for run in $(seq "$runs"); do
    for s in "${stacks[@]}"; do
        echo "run $run, $(basename "$s") alone: $(timed "$bin" watch --once --correct --stacks "$s")"
    done
    echo "run $run, all ${#stacks[@]} in one process: $(timed "$bin" watch --once --correct --stacks "${stacks[@]}")"
done
