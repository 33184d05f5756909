#!/usr/bin/env python3
"""Splits a node's `perf script` samples into the cost categories of docs/benchmarks.md.

Usage: perf-categories.py PERF_SCRIPT_TXT LOAD_JSON CPU_BEFORE_S CPU_AFTER_S LABEL

Each sample goes to the first category whose rule matches, by thread name and then by the
frames of its call stack (innermost first). Prints one JSON line: the node's CPU µs per
committed payment, and per category its share of samples and µs per payment.
"""
import json
import re
import sys

# (category, thread name prefix or None, frame substrings); first match wins.
RULES = [
    ("batch verification", "verifier", None),
    ("receipt signing", "sequencer", ["schnorrkel", "SigningKey::sign", "Block::seal"]),
    ("SQLite (writes, commit, fsync)", "sequencer",
     ["sqlite3", "rusqlite", "insert_block", "fdatasync", "fsync"]),
    ("sequencer (state checks)", "sequencer", None),
    ("JSON", None, ["serde_json", "serde::de", "serde::ser"]),
    ("decoding (hex, canonical bytes, points)", None,
     ["Transaction::decode", "hex::", "codec::", "decompress", "FromHex"]),
    ("registry and input lookups (SQLite reads)", None,
     ["precheck", "check_rules", "DbView", "rusqlite", "sqlite3", "store::"]),
    ("cheap checks (structure, owner signature)", None,
     ["check_structure", "charge_wallet", "verify_simple", "schnorrkel"]),
    ("HTTP (hyper, axum, tokio, tower)", None, None),
]


def samples(path):
    """Yields (thread, period, frames) per sample."""
    head = re.compile(r"^(\S.*?)\s+(\d+)(?:/(\d+))?\s+.*?(\d+)\s+\S+:\s*$")
    thread, period, frames = None, 1, []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if thread is not None:
                    yield thread, period, frames
                thread, frames = None, []
                continue
            if not line.startswith((" ", "\t")):
                m = head.match(line.rstrip())
                thread = line.split()[0] if m is None else m.group(1).strip()
                period = int(m.group(4)) if m else 1
                frames = []
            else:
                frames.append(line.strip())
    if thread is not None:
        yield thread, period, frames


def category(thread, frames):
    for name, prefix, subs in RULES:
        if prefix is not None and not thread.startswith(prefix):
            continue
        if subs is None or any(s in fr for fr in frames for s in subs):
            return name
    return RULES[-1][0]


def main():
    txt, load_json, before, after, label = sys.argv[1:6]
    load = json.load(open(load_json))
    committed = max(load["committed"], 1)
    cpu_us = (float(after) - float(before)) * 1e6
    per_payment = cpu_us / committed
    totals = {}
    for thread, period, frames in samples(txt):
        c = category(thread, frames)
        totals[c] = totals.get(c, 0) + period
    total = sum(totals.values()) or 1
    out = {
        "wire": label,
        "committed": load["committed"],
        "committed_per_second": load["committed_per_second"],
        "ceiling_per_second": load["verification_ceiling_per_second"],
        "ratio_to_ceiling": load["ratio_to_ceiling"],
        "node_cpu_us_per_payment": round(per_payment, 1),
        "categories": {
            name: {"share": round(totals.get(name, 0) / total, 3),
                   "us_per_payment": round(per_payment * totals.get(name, 0) / total, 1)}
            for name, _, _ in RULES
        },
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
