#!/usr/bin/env bash
# Restart and audit cost as the ledger grows (docs/benchmarks.md, "Restart and audit").
#
# One sandbox ledger is grown with `dfc-sim load` to each size in SIZES (transfers, cumulative).
# At each size, with the node stopped:
#   - restart: `dfc-bank serve` until /healthz answers (signed summary, tip, audit-log head; the
#     table digests are then checked in the background: its time is read from the node's log);
#   - restart with `--check-tables-first` (every row hashed before answering);
#   - full replay: the same on a copy whose signed summary was removed (what every start did
#     before), as the baseline of the same run;
#   - audit: `dfc-bank audit --json` (batch verifier, all cores), with its thread time in the
#     batch verifier (`verify_us`): the batched verification cost measured in the same run.
# Prints one JSON line per size, with the load average at the time of the measurements.
# The ledgers are kept under $CARGO_TARGET_DIR/bench-restart (deleted at the end).
#
# Usage: scripts/bench-restart.sh [SIZES...]   (default: 3000 10000 30000)
# PROFILE=debug uses target/debug (dependencies are optimised there too, see Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${PROFILE:-release}"
if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(3000 10000 30000); fi
if [ "$PROFILE" = release ]; then
  cargo build --release -p dfc-central-bank -p dfc-sims --bins >&2
else
  cargo build -p dfc-central-bank -p dfc-sims --bins >&2
fi
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE"
mkdir -p "${CARGO_TARGET_DIR:-target}/bench-restart"
WORK="$(mktemp -d -p "${CARGO_TARGET_DIR:-target}/bench-restart")"
NODE_PID=""
# KEEP=1 keeps a copy of the ledger at each size (printed at the end; delete it when done).
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "ledgers kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Starts the node on $1 (further arguments go to `serve`); sets STARTED_S to the seconds until
# /healthz answered (and NODE_PID, URL: not in a subshell).
start_timed() {
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN/dfc-bank" serve --data "$1" --listen 127.0.0.1:0 "${@:2}" >"$1/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 20000); do
    URL="$(grep -o 'http://127.0.0.1:[0-9]*' "$1/node.log" | head -1 || true)"
    if [ -n "$URL" ] && curl -sf "$URL/healthz" >/dev/null 2>&1; then
      t1=$(date +%s.%N)
      STARTED_S="$(python3 -c "print(round($t1 - $t0, 3))")"
      return 0
    fi
    sleep 0.005
  done
  echo "node did not start" >&2; cat "$1/node.log" >&2; exit 1
}
stop_node() { kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=""; }
# Waits for the background table check in $1/node.log; prints its elapsed ms.
table_check_ms() {
  for _ in $(seq 1 60000); do
    local line
    line="$(sed 's/\x1b\[[0-9;]*m//g' "$1/node.log" | grep 'table digests verified' | head -1 || true)"
    if [ -n "$line" ]; then
      echo "$line" | grep -o 'elapsed_ms[=:" ]*[0-9]*' | grep -o '[0-9]*$'
      return 0
    fi
    if grep -q 'integrity' "$1/node.log"; then echo "table check failed" >&2; exit 1; fi
    sleep 0.01
  done
  echo "no table check" >&2; exit 1
}

DATA="$WORK/bank"
"$BIN/dfc-bank" init --data "$DATA" --json >/dev/null
start_timed "$DATA"
DONE=0
SEED=1
for SIZE in "${SIZES[@]}"; do
  ADD=$((SIZE - DONE))
  "$BIN/dfc-sim" load --bank "$URL" --data "$DATA" --payments "$ADD" --concurrency 256 \
    --seed "$SEED" --verify-samples 5 --json >"$WORK/load-$SIZE.json"
  DONE=$SIZE
  SEED=$((SEED + 1))
  stop_node
  if [ "${KEEP:-0}" = 1 ]; then
    cp -r "$DATA" "$WORK/ledger-$SIZE"
    rm -f "$WORK/ledger-$SIZE/dfc-bank.lock"
  fi
  LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
  start_timed "$DATA"
  RESTART="$STARTED_S"
  CHECK_MS="$(table_check_ms "$DATA")"
  stop_node
  start_timed "$DATA" --check-tables-first
  RESTART_FIRST="$STARTED_S"
  stop_node
  COPY="$WORK/replay-$SIZE"
  cp -r "$DATA" "$COPY"
  rm -f "$COPY/dfc-bank.lock"
  sqlite3 "$COPY/ledger.sqlite" "DELETE FROM ledger_summary" 2>/dev/null ||
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM ledger_summary'); c.commit()" "$COPY/ledger.sqlite"
  start_timed "$COPY"
  REPLAY="$STARTED_S"
  stop_node
  rm -rf "$COPY"
  T0=$(date +%s.%N)
  AUDIT_JSON="$("$BIN/dfc-bank" audit --data "$DATA" --json 2>/dev/null)"
  T1=$(date +%s.%N)
  python3 - "$SIZE" "$RESTART" "$REPLAY" "$T0" "$T1" "$AUDIT_JSON" "$CHECK_MS" "$RESTART_FIRST" "$LOAD" <<'EOF'
import json, os, sys
size, restart, replay, t0, t1, audit, check_ms, first, load = sys.argv[1:]
a = json.loads(audit)
wall = float(t1) - float(t0)
txs = a["tx_count"]
print(json.dumps({
    "transfers": int(size), "txs": txs, "audit_pass": a["pass"],
    "restart_s": float(restart), "background_table_check_s": round(int(check_ms) / 1000, 3),
    "restart_check_tables_first_s": float(first), "full_replay_start_s": float(replay),
    "audit_s": round(wall, 2), "audit_ms_per_tx": round(1000 * wall / txs, 3),
    "batch_verify_thread_ms_per_tx": round(a["verify_us"] / 1000 / txs, 3),
    "batch_verify_2core_ms_per_tx": round(a["verify_us"] / 1000 / txs / 2, 3),
    "cores": os.cpu_count(), "loadavg_before": load,
    "loadavg_after": open("/proc/loadavg").read().split()[:3],
}))
EOF
  start_timed "$DATA"
done
stop_node
