#!/usr/bin/env bash
# Local AWS emulator (moto's server mode) for the demo, development and tests.
#
# As a command:
#   scripts/emulator.sh install      # create .venv with the pinned moto, once
#   scripts/emulator.sh start        # prints AWS_ENDPOINT_URL=... and MOTO_PID=...
#   scripts/emulator.sh stop PID
#
# Sourced (`. scripts/emulator.sh`), it only defines the functions
# emulator_install, emulator_start (which also exports AWS_ENDPOINT_URL and
# MOTO_PID into the calling shell) and emulator_stop, and leaves the caller's
# shell options alone.

MOTO_VERSION="5.2.5"
EMULATOR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMULATOR_VENV="$EMULATOR_ROOT/.venv"

# Creates .venv at the repo root with moto[server] pinned; fast when present.
emulator_install() {
    local have=""
    if [[ -x "$EMULATOR_VENV/bin/moto_server" ]]; then
        have="$("$EMULATOR_VENV/bin/python" -c \
            'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)"
        if [[ "$have" == "$MOTO_VERSION" ]]; then
            return 0
        fi
    fi
    if [[ ! -x "$EMULATOR_VENV/bin/python" ]]; then
        echo "emulator: creating $EMULATOR_VENV" >&2
        python3 -m venv "$EMULATOR_VENV" || return 1
    fi
    echo "emulator: installing moto[server]==$MOTO_VERSION${have:+ (had $have)}" >&2
    "$EMULATOR_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" || return 1
    if [[ ! -x "$EMULATOR_VENV/bin/moto_server" ]]; then
        echo "emulator: pip succeeded but $EMULATOR_VENV/bin/moto_server is missing" >&2
        return 1
    fi
}

# Prints a free TCP port on 127.0.0.1.
emulator_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Returns 0 when the emulator at $1 answers GET /moto-api/.
emulator_ready() {
    local url="$1/moto-api/"
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null
    else
        python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2).read()' \
            "$url" >/dev/null 2>&1
    fi
}

# Starts moto on a free loopback port in the background and waits for it.
# Sets and exports AWS_ENDPOINT_URL and MOTO_PID, sets EMULATOR_LOG to its log
# file; prints nothing itself. MOTO_ECS_SERVICE_RUNNING is the runningCount
# that every ECS service reports, whatever its desiredCount: high enough for
# every example's first deployment to be COMPLETED (apply waits for it).
# MOTO_ACM_VALIDATION_WAIT is the seconds after which moto issues a
# DNS-validated certificate (60 by default; apply waits for it).
emulator_start() {
    if [[ ! -x "$EMULATOR_VENV/bin/moto_server" ]]; then
        echo "emulator: $EMULATOR_VENV/bin/moto_server is missing; run scripts/emulator.sh install" >&2
        return 1
    fi
    local port pid url log deadline
    port="$(emulator_free_port)" || return 1
    url="http://127.0.0.1:$port"
    log="$EMULATOR_VENV/moto-$port.log"
    # shellcheck disable=SC2034 # read by the scripts that source this one
    EMULATOR_LOG="$log"
    # stdin/stdout/stderr are all redirected so that `$(emulator.sh start)`
    # returns instead of waiting for the server to close the pipe.
    MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ECS_SERVICE_RUNNING=10 MOTO_ACM_VALIDATION_WAIT=2 \
        "$EMULATOR_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" \
        </dev/null >"$log" 2>&1 &
    pid=$!
    # Out of the job table: no "Killed" notice from a sourcing shell on stop.
    disown "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        if emulator_ready "$url"; then
            export AWS_ENDPOINT_URL="$url" MOTO_PID="$pid"
            return 0
        fi
        if emulator_gone "$pid"; then
            echo "emulator: moto_server exited during startup; last lines of $log:" >&2
            tail -n 20 "$log" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    echo "emulator: moto_server did not answer $url/moto-api/ within 30 s; last lines of $log:" >&2
    tail -n 20 "$log" >&2 || true
    emulator_stop "$pid"
    return 1
}

# True once the process has exited. A zombie with one thread left counts as
# exited: when the server was started by `scripts/emulator.sh start`, its
# parent is gone and it waits to be reaped by init, which can take a second.
# (While it shuts down, its main thread shows as a zombie with the other
# threads still running, hence the thread count.)
emulator_gone() {
    local info
    info="$(ps -o stat=,nlwp= -p "$1" 2>/dev/null)" || return 0
    read -r -a info <<<"$info"
    [[ ${#info[@]} -eq 0 || ("${info[0]}" == Z* && "${info[1]:-1}" == 1) ]]
}

# Stops the emulator with the given pid: TERM (moto exits in ~0.2 s), then
# KILL if it is still there after 5 s. moto keeps its state in memory only.
emulator_stop() {
    local pid="${1:-${MOTO_PID:-}}" i
    if [[ -z "$pid" ]]; then
        echo "emulator: stop needs a pid" >&2
        return 1
    fi
    kill "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        emulator_gone "$pid" && return 0
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        emulator_gone "$pid" && return 0
        sleep 0.05
    done
    echo "emulator: pid $pid is still there after KILL" >&2
}

emulator_main() {
    case "${1:-}" in
        install) emulator_install ;;
        start)
            emulator_start
            echo "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"
            echo "MOTO_PID=$MOTO_PID"
            ;;
        stop)
            if [[ $# -lt 2 ]]; then
                echo "usage: $0 stop PID" >&2
                return 2
            fi
            emulator_stop "$2"
            ;;
        *)
            echo "usage: $0 install | start | stop PID" >&2
            return 2
            ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    emulator_main "$@"
fi
