#!/usr/bin/env python3
"""Splits a node's `perf script` samples into the cost categories of docs/benchmarks.md.

Usage: perf-categories.py PERF_SCRIPT_TXT LOAD_JSON CPU_BEFORE_S CPU_AFTER_S LABEL [LOADAVG]

Each sample goes to one category, by thread name and then by the frames of its call stack
(`category` below). Prints one JSON line: the node's CPU µs per
committed payment, and per category its share of samples and µs per payment.
"""
import json
import re
import sys

# The categories, in the order of the table in docs/benchmarks.md.
CATEGORIES = [
    "HTTP (hyper, axum, tokio, tower)",
    "JSON",
    "decoding (canonical bytes, hex, points)",
    "cheap checks (structure, owner signature, rate limit)",
    "registry and input lookups",
    "batch verification (verifier threads)",
    "sequencer (rules, effects, bookkeeping)",
    "SQLite writes, commit, fsync",
    "receipt and block signing",
    "other (start-up checks, allocator, unattributed)",
]


def category(thread, frames):
    """The category of one sample, by thread and by the frames of its stack (innermost first;
    with `--call-graph dwarf` the whole stack, otherwise often only the innermost frames)."""
    def has(*subs):
        return any(s in fr for fr in frames for s in subs)
    if thread.startswith("verifier"):
        return CATEGORIES[5]
    if thread.startswith("table-check"):
        return CATEGORIES[9]
    sql = has("sqlite3", "rusqlite")
    lookup = has("DbView", "admit_transfer", "receipt_of", "holdings::", "controls::",
                 "store::registry", "registry::", "memory_index", "MemIndex")
    if thread.startswith("sequencer"):
        if has("schnorrkel", "SigningKey::sign", "Sequencer::seal", "summary::seal", "Block::seal"):
            return CATEGORIES[8]
        if lookup and (sql or has("memory_index", "MemIndex")):
            return CATEGORIES[4]
        if sql or has("fdatasync", "fsync", "write_block"):
            return CATEGORIES[7]
        return CATEGORIES[6]
    if has("serde_json", "serde::de", "serde::ser"):
        return CATEGORIES[1]
    if has("Transaction::decode", "hex::", "codec::", "decompress", "split_batch", "FromHex"):
        return CATEGORIES[2]
    if sql or lookup:
        return CATEGORIES[4]
    if has("check_structure", "verify_simple", "schnorrkel", "charge_wallet", "admission::",
           "verify_owner"):
        return CATEGORIES[3]
    return CATEGORIES[0]


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


def main():
    txt, load_json, before, after, label = sys.argv[1:6]
    loadavg = sys.argv[6] if len(sys.argv) > 6 else None
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
        "run": label,
        "loadavg": loadavg,
        "sampled_cpu_ns": sum(totals.values()),
        "committed": load["committed"],
        "committed_per_second": load["committed_per_second"],
        "ceiling_per_second": load["verification_ceiling_per_second"],
        "ratio_to_ceiling": load["ratio_to_ceiling"],
        "node_cpu_us_per_payment": round(per_payment, 1),
        "categories": {
            name: {"share": round(totals.get(name, 0) / total, 3),
                   "us_per_payment": round(per_payment * totals.get(name, 0) / total, 1)}
            for name in CATEGORIES
        },
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
