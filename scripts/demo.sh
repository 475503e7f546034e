#!/usr/bin/env bash
# The demo: validate, plan, apply, check that nothing is left to do, destroy,
# all against a local emulator (moto) on a free loopback port. Installs what it
# needs (.venv with moto, the debug binary) and cleans up after itself.
#
#   scripts/demo.sh                    # the example in desired/
#   scripts/demo.sh desired/fargate    # another example: any file or directory
#   scripts/demo.sh desired/production/network desired/production/app
#                                      # stacks that build on each other: each is
#                                      # applied and checked in order, destroyed in
#                                      # reverse order
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stacks=()
for arg in "${@:-desired}"; do
    stacks+=("$(realpath "$arg")")
done
cd "$root"
# shellcheck source=scripts/emulator.sh
. "$root/scripts/emulator.sh"

banner() {
    printf '\n==> %s\n\n' "$*"
}

tmp=""
MOTO_PID=""
cleanup() {
    local rc=$?
    if [[ -n "$MOTO_PID" ]]; then
        emulator_stop "$MOTO_PID"
        if [[ $rc -eq 0 ]]; then
            rm -f "${EMULATOR_LOG:-}"
        else
            echo "demo: the emulator's log is ${EMULATOR_LOG:-unknown}" >&2
        fi
    fi
    if [[ -n "$tmp" ]]; then
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

banner "Installing the emulator (moto) and building reconcile"
emulator_install
cargo build --bin reconcile
bin="$root/target/debug/reconcile"

emulator_start
tmp="$(mktemp -d)"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
# Each stack keeps its state where it does by default, state/<stack>.json
# under the directory reconcile runs in: a stack reading another's outputs
# (a `stack_outputs` lookup with a relative `path`) finds it there.
cd "$tmp"
echo "Emulator at $AWS_ENDPOINT_URL (pid $MOTO_PID); state files in $tmp/state"

step() {
    banner "reconcile $*"
    "$bin" "$@"
}

for desired in "${stacks[@]}"; do
    step validate --desired "$desired"
    step plan --desired "$desired"
    step apply --auto-approve --desired "$desired"

    banner "reconcile plan --detailed-exitcode --desired $desired (must find nothing to change)"
    rc=0
    "$bin" plan --detailed-exitcode --desired "$desired" || rc=$?
    case $rc in
        0) echo "demo: no changes after apply, as expected." ;;
        2)
            echo "demo: FAILED: plan still finds changes right after apply (exit 2); apply did not converge." >&2
            exit 1
            ;;
        *)
            echo "demo: FAILED: plan --detailed-exitcode exited $rc after apply." >&2
            exit 1
            ;;
    esac
done

for ((i = ${#stacks[@]} - 1; i >= 0; i--)); do
    step destroy --auto-approve --desired "${stacks[$i]}"
done

banner "Demo finished: everything was created, checked and destroyed."
