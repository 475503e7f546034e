#!/usr/bin/env bash
# The scale benchmark (issue 7). Not part of CI: it takes minutes.
#
#   scripts/bench.sh                       # stacks of 50, 200 and 1000 resources, 50 ms per request
#   BENCH_SIZES="50" BENCH_LATENCY_MS=20 scripts/bench.sh
#
# For each size: the stack bench/stack (units of 10 resources: VPC, two
# subnets, internet gateway, route table, two security groups with rules,
# IAM role with an inline policy, log group, target group) is applied
# (--parallelism 50), planned again (must be "no changes") and destroyed,
# against the emulator behind the proxy of the tests (examples/proxy.rs)
# which adds a fixed latency to every request and counts them. Then the
# state of the applied 50-resource stack is grown to 10,000 resources
# (bench/grow_state.py) and planned offline (`plan --refresh=false`), and
# `validate` is timed on every example in desired/ (the slowest is held to
# the target of the largest).
#
# Prints one table and writes bench/results.json. Release build. Bounds:
#   apply, destroy: the larger of the critical path (the dependency chain
#     with the most API calls, as counted by --stats, × latency: no schedule
#     can be faster) and the calls ÷ the emulator's throughput (measured
#     first, 50 concurrent filtered DescribeVpcs); the apply's target is
#     wall ≤ 1.5 × that;
#   plan: the slowest single batched read of the refresh (one kind's read,
#     as timed by --stats); the target is wall ≤ 1.5 × that + 100 ms, and
#     calls ≤ Σ over kinds ⌈N_kind / page⌉ + 5.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
latency_ms="${BENCH_LATENCY_MS:-50}"
sizes="${BENCH_SIZES:-50 200 1000}"
parallelism="${BENCH_PARALLELISM:-50}"
offline_resources="${BENCH_OFFLINE_RESOURCES:-10000}"
# Timings are meant for the release build; `dev` only to try the script.
profile="${BENCH_PROFILE:-release}"

# shellcheck source=scripts/emulator.sh disable=SC1091
. "$root/scripts/emulator.sh"

tmp="$(mktemp -d)"
MOTO_PID=""
proxy_pid=""
cleanup() {
    local rc=$?
    if [[ -n "$proxy_pid" ]]; then
        kill "$proxy_pid" 2>/dev/null || true
    fi
    if [[ -n "$MOTO_PID" ]]; then
        emulator_stop "$MOTO_PID"
    fi
    if [[ $rc -eq 0 ]]; then
        rm -rf "$tmp"
    else
        echo "bench: failed; outputs kept in $tmp" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

emulator_install
echo "bench: building ($profile)" >&2
cargo build --quiet --profile "$profile" --bin reconcile --example proxy
release="${CARGO_TARGET_DIR:-$root/target}/$([[ $profile == dev ]] && echo debug || echo "$profile")"
bin="$release/reconcile"

emulator_start
emulator_url="$AWS_ENDPOINT_URL"
"$release/examples/proxy" "$AWS_ENDPOINT_URL" "$latency_ms" >"$tmp/proxy.env" &
proxy_pid=$!
for _ in $(seq 100); do
    grep -q CONTROL_URL "$tmp/proxy.env" 2>/dev/null && break
    sleep 0.1
done
# shellcheck disable=SC1091
. "$tmp/proxy.env"

# Only the emulator, through the proxy; none of the caller's AWS settings.
export AWS_ENDPOINT_URL="$PROXY_URL" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    AWS_CONFIG_FILE="$tmp/no-config" AWS_SHARED_CREDENTIALS_FILE="$tmp/no-credentials"
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN

# Reads the proxy's counts (and resets them).
proxy_counts() {
    python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$CONTROL_URL"
}

# Runs a command; prints "<wall ms> <peak RSS kB> <exit code>".
measure() {
    python3 - "$@" <<'EOF'
import resource, subprocess, sys, time
start = time.monotonic()
rc = subprocess.run(sys.argv[1:], stdout=sys.stdout, stderr=sys.stderr).returncode
wall = (time.monotonic() - start) * 1000
print(f"{wall:.0f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {rc}", file=sys.stderr)
EOF
}

# run NAME PHASE UNITS ARGS...: one measured command against the stack.
run() {
    local name="$1" phase="$2" units="$3"
    shift 3
    proxy_counts >/dev/null
    measure "$bin" "$@" --desired bench/stack --var "units=$units" --state "$tmp/$name.json" \
        --no-color --parallelism "$parallelism" --stats \
        >"$tmp/$name-$phase.out" 2>"$tmp/$name-$phase.err" || true
    local m rc
    m="$(tail -n 1 "$tmp/$name-$phase.err")"
    rc="${m##* }"
    proxy_counts >"$tmp/$name-$phase.calls.json"
    if [[ "$rc" != 0 ]]; then
        echo "bench: $phase of $name failed (exit $rc):" >&2
        tail -n 30 "$tmp/$name-$phase.out" "$tmp/$name-$phase.err" >&2
        exit 1
    fi
    printf '%s\t%s\t%s\t%s\n' "$name" "$phase" "$units" "${m% *}" >>"$tmp/rows.tsv"
}

# The emulator's first EC2 call loads its backend (~2 s): not measured.
echo "bench: warming up the emulator" >&2
"$bin" apply --auto-approve --desired bench/stack --var units=1 --state "$tmp/warm.json" --no-color >/dev/null
"$bin" destroy --auto-approve --desired bench/stack --var units=1 --state "$tmp/warm.json" --no-color >/dev/null

# The emulator's own throughput (requests per second, 50 at a time, no
# added latency): a filtered DescribeVpcs, the typical call. The second
# bound of an apply is its calls ÷ this.
throughput="$(python3 - "$emulator_url" <<'EOF'
import sys, threading, time, urllib.request
url, total, concurrency = sys.argv[1], 400, 50
body = b"Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag%3Areconcile%3Astack&Filter.1.Value.1=none"
headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
           "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, "
                            "SignedHeaders=host, Signature=0"}
left, lock = [total], threading.Lock()
def worker():
    while True:
        with lock:
            if not left[0]:
                return
            left[0] -= 1
        with urllib.request.urlopen(urllib.request.Request(url + "/", data=body, headers=headers)) as r:
            r.read()
start = time.monotonic()
threads = [threading.Thread(target=worker) for _ in range(concurrency)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"{total / (time.monotonic() - start):.0f}")
EOF
)"
echo "bench: the emulator answers $throughput requests/s" >&2

for n in $sizes; do
    units=$(((n + 9) / 10))
    echo "bench: $n resources: apply, plan, destroy" >&2
    run "$n" apply "$units" apply --auto-approve
    run "$n" plan "$units" plan --detailed-exitcode --json
    # The smallest applied state is the seed of the offline one.
    if [[ ! -f "$tmp/small.json" ]]; then
        cp "$tmp/$n.json" "$tmp/small.json"
    fi
    run "$n" destroy "$units" destroy --auto-approve
done

echo "bench: offline plan of $offline_resources resources" >&2
offline_units=$(((offline_resources + 9) / 10))
python3 bench/grow_state.py "$tmp/small.json" "$offline_units" "$tmp/offline.json"
# Three runs, the median by wall time: the first run after a build also
# pages the binary in from disk, which is not planning.
offline_runs=()
for _ in 1 2 3; do
    m="$(measure "$bin" plan --refresh=false --detailed-exitcode --desired bench/stack \
        --var "units=$offline_units" --state "$tmp/offline.json" --no-color 2>&1 >"$tmp/offline.out" | tail -n 1)"
    [[ "${m##* }" == 0 ]] || {
        echo "bench: the offline plan is not clean:" >&2
        tail -n 20 "$tmp/offline.out" >&2
        exit 1
    }
    offline_runs+=("$m")
    echo "bench: offline plan: $m (wall ms, peak kB, exit code)" >&2
done
offline="$(printf '%s\n' "${offline_runs[@]}" | sort -n | sed -n 2p)"

validate=""
for example in desired/network.toml desired/*/; do
    v="$(measure "$bin" validate --desired "$example" 2>&1 >/dev/null | tail -n 1)"
    validate+="$example ${v% *}"$'\n'
done

mkdir -p bench
python3 - "$tmp" "$latency_ms" "$parallelism" "$offline_units" "$offline" "$validate" "$profile" "$throughput" <<'EOF'
import json, math, os, re, sys

tmp, latency, parallelism, offline_units = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
throughput = int(sys.argv[8])
off_wall, off_rss, _ = sys.argv[5].split()
# The bench stack's kinds and the page size of each one's batched read.
pages = {"vpc": 1000, "subnet": 1000, "internet_gateway": 1000, "route_table": 1000,
         "security_group": 1000, "iam_role": 1000, "log_group": 50, "target_group": 400}

rows = []
for line in open(os.path.join(tmp, "rows.tsv")):
    name, phase, units, wall, rss = line.split()
    units, wall = int(units), int(wall)
    calls = json.load(open(os.path.join(tmp, f"{name}-{phase}.calls.json")))
    err = open(os.path.join(tmp, f"{name}-{phase}.err")).read()
    row = {"resources": units * 10, "phase": phase, "api_calls": calls["total"],
           "wall_ms": wall, "peak_rss_kb": int(rss), "requests": calls["requests"]}
    if phase == "plan":
        stats = json.load(open(os.path.join(tmp, f"{name}-{phase}.out")))["stats"]
        slowest = max(stats["reads_ms"].values())
        row["bound"] = "slowest batched read"
        row["bound_ms"] = slowest
        row["allowed_calls"] = sum(math.ceil(units / p) for p in pages.values()) + 5
        row["calls_target_met"] = calls["total"] <= row["allowed_calls"]
        row["wall_target_met"] = wall <= 1.5 * slowest + 100
        row["target_met"] = row["calls_target_met"] and row["wall_target_met"]
    else:
        m = re.search(r"Critical path: (\d+) operations, (\d+) API calls", err)
        ops, cp_calls = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        by_path, by_rate = cp_calls * latency, round(calls["total"] * 1000 / throughput)
        row["critical_path_ms"], row["throughput_bound_ms"] = by_path, by_rate
        if by_path >= by_rate:
            row["bound"] = f"critical path: {ops} operations, {cp_calls} calls × {latency} ms"
        else:
            row["bound"] = f"emulator throughput: {calls['total']} calls ÷ {throughput}/s (critical path {by_path} ms)"
        row["bound_ms"] = max(by_path, by_rate)
        row["target_met"] = wall <= 1.5 * row["bound_ms"]
    row["wall_over_bound"] = round(wall / row["bound_ms"], 2) if row["bound_ms"] else None
    rows.append(row)

validate = [l.split() for l in sys.argv[6].strip().splitlines()]
# The target is for the largest example; the slowest one is held to it.
largest = max(validate, key=lambda v: int(v[1]))
results = {
    "latency_ms": latency, "parallelism": parallelism, "profile": sys.argv[7],
    "emulator_requests_per_s": throughput,
    "runs": rows,
    "offline_plan": {"resources": offline_units * 10, "wall_ms": int(off_wall),
                     "peak_rss_kb": int(off_rss),
                     "target_met": int(off_wall) < 500 and int(off_rss) < 200 * 1024},
    "validate": [{"desired": v[0], "wall_ms": int(v[1])} for v in validate],
    "validate_largest": {"desired": largest[0], "wall_ms": int(largest[1]),
                         "target_met": int(largest[1]) < 50},
}
json.dump(results, open("bench/results.json", "w"), indent=2)

print(f"\nlatency {latency} ms per request, --parallelism {parallelism}, {sys.argv[7]} build, "
      f"emulator {throughput} requests/s\n")
print(f"{'resources':>9}  {'phase':<8}{'API calls':>10}{'wall s':>9}{'bound s':>9}{'wall/bound':>11}  bound")
for r in rows:
    ratio = "-" if r["wall_over_bound"] is None else f"{r['wall_over_bound']:.2f}"
    met = lambda ok: "met" if ok else "NOT met"
    extra = ""
    if r["phase"] == "plan":
        extra = (f"; calls ≤ {r['allowed_calls']}: {met(r['calls_target_met'])}, "
                 f"wall ≤ 1.5 × read + 0.1 s: {met(r['wall_target_met'])}")
    elif r["phase"] == "apply":
        extra = f"; wall ≤ 1.5 × bound: {met(r['target_met'])}"
    print(f"{r['resources']:>9}  {r['phase']:<8}{r['api_calls']:>10}{r['wall_ms']/1000:>9.2f}"
          f"{r['bound_ms']/1000:>9.2f}{ratio:>11}  {r['bound']}{extra}")
o = results["offline_plan"]
print(f"\noffline plan (--refresh=false) of {o['resources']} resources: {o['wall_ms']} ms, "
      f"peak {o['peak_rss_kb']/1024:.0f} MB (target < 500 ms, < 200 MB: {'met' if o['target_met'] else 'NOT met'})")
v = results["validate_largest"]
print(f"validate, slowest example ({v['desired']}): {v['wall_ms']} ms "
      f"(target < 50 ms: {'met' if v['target_met'] else 'NOT met'})")
print("\nwritten to bench/results.json")
EOF
