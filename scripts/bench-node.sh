#!/usr/bin/env bash
# Node throughput and latency benchmark (docs/benchmarks.md, "Node throughput").
#
# For each verification mode of the node (one by one, then batched), on a fresh sandbox ledger:
#   1. peak: PAYMENTS 2-input 2-output transfers submitted closed-loop at CONCURRENCY;
#   2. open-loop runs at 50% and 90% of that peak rate, for latency under load.
# The verification ceiling (cores / time to verify one transfer) is measured by the load
# generator in the same run. Prints one JSON line per run and a Markdown table at the end.
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
for MODE in single batch; do
  DATA="$WORK/bank-$MODE"
  "$BIN/dfc-bank" init --data "$DATA" --json >/dev/null
  start_node "$DATA" "$MODE"
  PEAK_JSON="$("$BIN/dfc-sim" load --bank "$URL" --data "$DATA" --payments "$PAYMENTS" \
    --concurrency "$CONCURRENCY" --seed 1 --json)"
  PEAK="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["committed_per_second"])' "$PEAK_JSON")"
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["mode"]=sys.argv[2]; r["load"]="peak"; print(json.dumps(r))' \
    "$PEAK_JSON" "$MODE" | tee -a "$RESULTS"
  SEED=2
  for SHARE in 0.5 0.9; do
    RATE="$(python3 -c "print(round($PEAK * $SHARE, 1))")"
    OUT="$("$BIN/dfc-sim" load --bank "$URL" --data "$DATA" --payments "$PAYMENTS" \
      --concurrency "$CONCURRENCY" --seed "$SEED" --rate "$RATE" --json)"
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
print("| verification | load | committed/s | ceiling/s (same run) | ratio | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    load = "peak (closed loop, %d in flight)" % r["concurrency"] if r["load"] == "peak" else "%d%% of peak (open loop, %.0f/s)" % (float(r["load"]) * 100, r["rate_target"])
    print("| %s | %s | %.0f | %.0f | %.2f | %.1f | %.1f | %s |" % (
        r["mode"], load, r["committed_per_second"], r["verification_ceiling_per_second"],
        r["ratio_to_ceiling"], r["latency_ms_p50"], r["latency_ms_p99"],
        sum(r["errors"].values()) if r["errors"] else 0))
PY
