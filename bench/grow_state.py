#!/usr/bin/env python3
"""Makes the state of a large benchmark stack from the state of an applied
small one: every resource of `module.unit[0]` is copied to units 0..N-1,
with its AWS ids (and every mention of them) made unique per unit. The
units of bench/stack differ only by generated names, which the desired
state does not set, so `plan --refresh=false --var units=N` against the
result plans no change.

    bench/grow_state.py SMALL_STATE UNITS OUT_STATE
"""
import json
import sys


def main():
    src, units, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(src) as f:
        state = json.load(f)
    prefix = "module.unit[0]."
    template = {a: r for a, r in state["resources"].items() if a.startswith(prefix)}
    if not template:
        sys.exit(f"{src} has no {prefix}* resources")
    # Longest first: an id that contains another is replaced whole.
    ids = sorted({r["id"] for r in template.values()}, key=len, reverse=True)
    resources = {}
    for k in range(units):
        for address, r in template.items():
            text = json.dumps(r)
            if k:
                for i, old in enumerate(ids):
                    text = text.replace(json.dumps(old)[1:-1], f"\0{i}\0")
                for i, old in enumerate(ids):
                    text = text.replace(f"\0{i}\0", json.dumps(f"{old}-{k}")[1:-1])
            copy = json.loads(text)
            unit = f"module.unit[{k}]."
            copy["dependencies"] = [d.replace(prefix, unit) for d in copy.get("dependencies", [])]
            resources[address.replace(prefix, unit, 1)] = copy
    state["resources"] = resources
    state["pending"] = {}
    state["deposed"] = {}
    with open(out, "w") as f:
        json.dump(state, f, indent=2)


main()
