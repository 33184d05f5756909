#!/usr/bin/env bash
# Where a committed payment's CPU goes in the node (docs/benchmarks.md, "CPU per payment").
#
# For each submission format (WIRES, default "json batch"), on a fresh sandbox ledger: starts
# `dfc-bank serve` (release build with line tables), runs `dfc-sim load` closed-loop at peak under
# `perf record -g` attached to the node only, and reads the node's own CPU time (utime + stime
# from /proc/<pid>/stat) before and after the submission phase. Each perf sample is put in one
# category by its thread and call stack (scripts/perf-categories.py); the category's share of
# the samples times the node's CPU time per committed payment gives µs per payment.
#
# Stacks are unwound from DWARF (`--call-graph dwarf`: the release build has no frame pointers,
# so `-g` would see only innermost frames); CALLGRAPH=fp and FREQ choose otherwise. NETWORK=caps
# (default tier caps, no regulator) or disclosed (every payment disclosed to a regulator), as in
# scripts/bench-node.sh.
#
# Usage: scripts/profile-node.sh [PAYMENTS] [CONCURRENCY]   (WIRES="json binary batch" to choose)
set -euo pipefail
cd "$(dirname "$0")/.."
PAYMENTS="${1:-1500}"
CONCURRENCY="${2:-256}"
WIRES="${WIRES:-json batch}"
NETWORK="${NETWORK:-caps}"
CALLGRAPH="${CALLGRAPH:-dwarf,16384}"
FREQ="${FREQ:-499}"
# SKIP_BUILD=1 measures the release binaries already built (e.g. a "before" build).
[ -n "${SKIP_BUILD:-}" ] || CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release -p dfc-central-bank -p dfc-sims --bins >&2
BIN="${CARGO_TARGET_DIR:-target}/release"
WORK="$(mktemp -d)"
NODE_PID=""
cleanup() { [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
TICK="$(getconf CLK_TCK)"
cpu_s() { awk -v t="$TICK" '{print ($14 + $15) / t}' "/proc/$1/stat"; }

for WIRE in $WIRES; do
  DATA="$WORK/bank-$WIRE"
  case "$NETWORK" in
    caps) "$BIN/dfc-bank" init --data "$DATA" --json >/dev/null ;;
    disclosed) "$BIN/dfc-bank" init --data "$DATA" --reporting-threshold 10.00 --json >/dev/null ;;
    *) echo "unknown NETWORK $NETWORK (caps, disclosed)" >&2; exit 2 ;;
  esac
  "$BIN/dfc-bank" serve --data "$DATA" --listen 127.0.0.1:0 >"$DATA/node.log" 2>&1 &
  NODE_PID=$!
  URL=""
  for _ in $(seq 1 200); do
    URL="$(grep -o 'http://127.0.0.1:[0-9]*' "$DATA/node.log" | head -1 || true)"
    [ -n "$URL" ] && break
    sleep 0.1
  done
  [ -n "$URL" ] || { echo "node did not start" >&2; cat "$DATA/node.log" >&2; exit 1; }
  # Setup (registration, funding, building) is not measured: perf attaches now, with its events
  # off (attaching to a busy process takes a while), and is switched on through its control fifo
  # when the load generator starts submitting (it creates the --mark-submit file), as the CPU
  # counter is read then.
  mkfifo "$WORK/ctl-$WIRE" "$WORK/ack-$WIRE"
  perf record -F "$FREQ" --call-graph "$CALLGRAPH" -D -1 \
    --control "fifo:$WORK/ctl-$WIRE,$WORK/ack-$WIRE" -p "$NODE_PID" \
    -o "$WORK/perf-$WIRE.data" 2>"$WORK/perf-$WIRE.err" &
  PERF_PID=$!
  exec 8<>"$WORK/ctl-$WIRE" 9<>"$WORK/ack-$WIRE"
  "$BIN/dfc-sim" load --bank "$URL" --data "$DATA" --payments "$PAYMENTS" \
    --concurrency "$CONCURRENCY" --seed 1 --wire "$WIRE" --json \
    --mark-submit "$WORK/submit-$WIRE" >"$WORK/load-$WIRE.json" 2>"$WORK/load-$WIRE.err" &
  LOAD_PID=$!
  while [ ! -e "$WORK/submit-$WIRE" ] && kill -0 "$LOAD_PID" 2>/dev/null; do sleep 0.05; done
  echo enable >&8; read -r -t 10 _ <&9 || true
  LOAD_AVG="$(cut -d' ' -f1 /proc/loadavg)"
  BEFORE="$(cpu_s "$NODE_PID")"
  wait "$LOAD_PID"
  AFTER="$(cpu_s "$NODE_PID")"
  echo disable >&8; read -r -t 10 _ <&9 || true
  kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true
  exec 8>&- 9>&-
  perf script -i "$WORK/perf-$WIRE.data" 2>/dev/null >"$WORK/perf-$WIRE.txt"
  python3 scripts/perf-categories.py "$WORK/perf-$WIRE.txt" "$WORK/load-$WIRE.json" \
    "$BEFORE" "$AFTER" "$NETWORK/$WIRE" "$LOAD_AVG"
  kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=""
done
