#!/usr/bin/env bash
# Node throughput and latency benchmark (docs/benchmarks.md, "Node throughput").
#
# For each configuration (node verification mode : submission format), on a fresh sandbox ledger:
#   1. peak: PAYMENTS 2-input 2-output transfers submitted closed-loop at CONCURRENCY;
#   2. open-loop runs at 50% and 90% of that peak rate, for latency under load.
# Configurations (MODES, default "single:json batch:json batch:batch"): one-by-one verification
# with JSON (the baseline), batched verification with JSON one transfer per request, and batched
# verification with binary batch requests (--wire batch). The verification ceiling (cores / time
# to verify one transfer) is measured by the load generator in the same run; the node's own CPU
# time per committed payment comes from /proc/<pid>/stat over the submission phase of the peak
# run. Prints one JSON line per run and a Markdown table at the end.
#
# Usage: scripts/bench-node.sh [PAYMENTS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
PAYMENTS="${1:-2000}"
CONCURRENCY="${2:-256}"
cargo build --release -p dfc-central-bank -p dfc-sims --bins >&2
BIN="${CARGO_TARGET_DIR:-target}/release"
WORK="$(mktemp -d)"
NODE_PID=""
cleanup() { [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

MODES="${MODES:-single:json batch:json batch:batch}"
TICK="$(getconf CLK_TCK)"
cpu_s() { awk -v t="$TICK" '{print ($14 + $15) / t}' "/proc/$1/stat"; }

start_node() { # $1 = data dir, $2 = verify mode
  "$BIN/dfc-bank" serve --data "$1" --listen 127.0.0.1:0 --verify "$2" >"$1/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 200); do
    URL="$(grep -o 'http://127.0.0.1:[0-9]*' "$1/node.log" | head -1 || true)"
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  echo "node did not start" >&2; cat "$1/node.log" >&2; exit 1
}

RESULTS="$WORK/results.jsonl"
for CONF in $MODES; do
  MODE="${CONF%%:*}"
  WIRE="${CONF##*:}"
  DATA="$WORK/bank-$MODE-$WIRE"
  "$BIN/dfc-bank" init --data "$DATA" --json >/dev/null
  start_node "$DATA" "$MODE"
  "$BIN/dfc-sim" load --bank "$URL" --data "$DATA" --payments "$PAYMENTS" \
    --concurrency "$CONCURRENCY" --seed 1 --wire "$WIRE" --json \
    --mark-submit "$WORK/submit-$MODE-$WIRE" >"$WORK/peak.json" &
  LOAD_PID=$!
  while [ ! -e "$WORK/submit-$MODE-$WIRE" ] && kill -0 "$LOAD_PID" 2>/dev/null; do sleep 0.05; done
  BEFORE="$(cpu_s "$NODE_PID")"
  wait "$LOAD_PID"
  AFTER="$(cpu_s "$NODE_PID")"
  PEAK_JSON="$(cat "$WORK/peak.json")"
  PEAK="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["committed_per_second"])' "$PEAK_JSON")"
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["mode"]=sys.argv[2]; r["load"]="peak"; r["node_cpu_us_per_payment"]=(float(sys.argv[4])-float(sys.argv[3]))*1e6/max(r["committed"],1); print(json.dumps(r))' \
    "$PEAK_JSON" "$MODE" "$BEFORE" "$AFTER" | tee -a "$RESULTS"
  SEED=2
  for SHARE in 0.5 0.9; do
    RATE="$(python3 -c "print(round($PEAK * $SHARE, 1))")"
    OUT="$("$BIN/dfc-sim" load --bank "$URL" --data "$DATA" --payments "$PAYMENTS" \
      --concurrency "$CONCURRENCY" --seed "$SEED" --rate "$RATE" --wire "$WIRE" --json)"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["mode"]=sys.argv[2]; r["load"]=sys.argv[3]; print(json.dumps(r))' \
      "$OUT" "$MODE" "$SHARE" | tee -a "$RESULTS"
    SEED=$((SEED + 1))
  done
  kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=""
done

python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print()
print("| verification | wire | load | committed/s | ceiling/s (same run) | ratio | node CPU µs/payment | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    load = "peak (closed loop, %d in flight)" % r["concurrency"] if r["load"] == "peak" else "%d%% of peak (open loop, %.0f/s)" % (float(r["load"]) * 100, r["rate_target"])
    cpu = "%.0f" % r["node_cpu_us_per_payment"] if "node_cpu_us_per_payment" in r else ""
    print("| %s | %s | %s | %.0f | %.0f | %.2f | %s | %.1f | %.1f | %s |" % (
        r["mode"], r.get("wire", "json"), load, r["committed_per_second"], r["verification_ceiling_per_second"],
        r["ratio_to_ceiling"], cpu, r["latency_ms_p50"], r["latency_ms_p99"],
        sum(r["errors"].values()) if r["errors"] else 0))
PY
