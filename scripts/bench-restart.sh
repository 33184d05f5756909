#!/usr/bin/env bash
# Restart and audit cost as the ledger grows (docs/benchmarks.md, "Restart and audit").
#
# One sandbox ledger is grown with `dfc-sim load` to each size in SIZES (transfers, cumulative).
# At each size, with the node stopped:
#   - restart: `dfc-bank serve` until /healthz answers (signed summary, tip, audit-log head; the
#     table digests are then checked in the background: its time is read from the node's log),
#     after a stop (SIGTERM, a graceful stop); the median of RESTARTS starts (default 5);
#   - restart with `--check-tables-first` (every row hashed before answering);
#   - full replay: the same on a copy whose signed summary was removed (what every start did
#     before), as the baseline of the same run;
#   - audit: `dfc-bank audit --json` (batch verifier, all cores), with its thread time in the
#     batch verifier (`verify_us`): the batched verification cost measured in the same run.
#     The audit's own CPU time (user + sys of the process) is reported beside its wall time, and
#     against the verifier threads' CPU time in the batch verifier (`verify_cpu_us`, when the
#     binary reports it): on a machine shared with other work, CPU time is the fairer comparison.
# Prints one JSON line per size, with the load average at the time of the measurements.
# The ledgers are kept under $CARGO_TARGET_DIR/bench-restart (deleted at the end).
#
# Usage: scripts/bench-restart.sh [SIZES...]   (default: 3000 10000 30000)
# PROFILE=debug uses target/debug (dependencies are optimised there too, see Cargo.toml).
# BIN=dir uses the binaries in dir as they are (no build): e.g. a copy of an older build.
# KEEP=1 keeps a copy of the ledger at each size (dir/ledger-SIZE; the path is printed at the end).
# REUSE=dir measures the ledgers kept by an earlier KEEP=1 run (dir/ledger-SIZE, copied first)
# instead of growing a new one with `dfc-sim load`.
# BEFORE_BIN=dir also audits each ledger with the `dfc-bank` in dir (an older build), right after
# the audit above: its wall and CPU time against the same run's batched verification cost.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${PROFILE:-release}"
if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(3000 10000 30000); fi
if [ -n "${BIN:-}" ]; then
  :
elif [ "$PROFILE" = release ]; then
  cargo build --release -p dfc-central-bank -p dfc-sims --bins >&2
  BIN="${CARGO_TARGET_DIR:-target}/$PROFILE"
else
  cargo build -p dfc-central-bank -p dfc-sims --bins >&2
  BIN="${CARGO_TARGET_DIR:-target}/$PROFILE"
fi
mkdir -p "${CARGO_TARGET_DIR:-target}/bench-restart"
WORK="$(mktemp -d -p "${CARGO_TARGET_DIR:-target}/bench-restart")"
NODE_PID=""
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
if [ -z "${REUSE:-}" ]; then
  "$BIN/dfc-bank" init --data "$DATA" --json >/dev/null
  start_timed "$DATA"
fi
DONE=0
SEED=1
for SIZE in "${SIZES[@]}"; do
  if [ -n "${REUSE:-}" ]; then
    rm -rf "$DATA"
    cp -r "$REUSE/ledger-$SIZE" "$DATA"
  else
    ADD=$((SIZE - DONE))
    "$BIN/dfc-sim" load --bank "$URL" --data "$DATA" --payments "$ADD" --concurrency 256 \
      --seed "$SEED" --verify-samples 5 --json >"$WORK/load-$SIZE.json"
    DONE=$SIZE
    SEED=$((SEED + 1))
    stop_node
  fi
  if [ "${KEEP:-0}" = 1 ] && [ -z "${REUSE:-}" ]; then
    cp -r "$DATA" "$WORK/ledger-$SIZE"
    rm -f "$WORK/ledger-$SIZE/dfc-bank.lock"
  fi
  if [ -n "${REUSE:-}" ]; then
    # A start and a stop of this build first: the copy is then as this build's stop leaves it
    # (a graceful stop folds SQLite's write-ahead log into the ledger file), and on disk.
    start_timed "$DATA"
    table_check_ms "$DATA" >/dev/null
    stop_node
  fi
  sync
  LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
  # RESTARTS starts (default 5), each after a stop; the median is reported, with the range.
  STARTS=()
  for _ in $(seq 1 "${RESTARTS:-5}"); do
    : >"$DATA/node.log"
    start_timed "$DATA"
    STARTS+=("$STARTED_S")
    CHECK_MS="$(table_check_ms "$DATA")"
    stop_node
  done
  RESTART="$(python3 -c 'import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))' "${STARTS[@]}")"
  RESTART_RANGE="$(python3 -c 'import sys; v=sorted(map(float, sys.argv[1:])); print(f"{v[0]}-{v[-1]}")' "${STARTS[@]}")"
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
  AUDIT_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
  # The audit's wall time and its process's CPU time (user + sys), measured around it.
  audit_run() {
    python3 - "$1" "$DATA" <<'EOF'
import json, resource, subprocess, sys, time
t0 = time.monotonic()
out = subprocess.run([sys.argv[1], "audit", "--data", sys.argv[2], "--json"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "report": json.loads(out)}))
EOF
  }
  AUDIT_RUN="$(audit_run "$BIN/dfc-bank")"
  BEFORE_RUN='null'
  if [ -n "${BEFORE_BIN:-}" ]; then BEFORE_RUN="$(audit_run "$BEFORE_BIN/dfc-bank")"; fi
  python3 - "$SIZE" "$RESTART" "$REPLAY" "$AUDIT_RUN" "$CHECK_MS" "$RESTART_FIRST" "$LOAD" "$AUDIT_LOAD" "$BEFORE_RUN" "$RESTART_RANGE" <<'EOF'
import json, os, sys
size, restart, replay, run, check_ms, first, load, audit_load, before, restart_range = sys.argv[1:]
before = json.loads(before)
run = json.loads(run)
a, wall, cpu = run["report"], run["wall"], run["cpu"]
txs = a["tx_count"]
ms = lambda us: round(us / 1000 / txs, 3)
line = {
    "transfers": int(size), "txs": txs, "audit_pass": a["pass"],
    "restart_s": float(restart), "restart_range_s": restart_range, "background_table_check_s": round(int(check_ms) / 1000, 3),
    "restart_check_tables_first_s": float(first), "full_replay_start_s": float(replay),
    "audit_s": round(wall, 2), "audit_ms_per_tx": round(1000 * wall / txs, 3),
    "audit_cpu_s": round(cpu, 2), "audit_cpu_ms_per_tx": round(1000 * cpu / txs, 3),
    "batch_verify_thread_ms_per_tx": ms(a["verify_us"]),
    "batch_verify_2core_ms_per_tx": ms(a["verify_us"] / 2),
    "audit_over_batched_wall": round(wall / (a["verify_us"] / 2e6), 3),
    "cores": os.cpu_count(), "loadavg_before": load, "loadavg_audit": audit_load,
    "loadavg_after": open("/proc/loadavg").read().split()[:3],
}
if "verify_cpu_us" in a:
    line["batch_verify_cpu_ms_per_tx"] = ms(a["verify_cpu_us"])
    line["batch_verify_cpu_2core_ms_per_tx"] = ms(a["verify_cpu_us"] / 2)
    line["audit_cpu_over_batched_cpu"] = round(cpu / (a["verify_cpu_us"] / 1e6), 3)
    line["audit_wall_over_batched_cpu_2core"] = round(wall / (a["verify_cpu_us"] / 2e6), 3)
    if before is not None:
        b = before["report"]
        line["before_audit_pass"] = b["pass"]
        line["before_audit_s"] = round(before["wall"], 2)
        line["before_audit_cpu_s"] = round(before["cpu"], 2)
        line["before_audit_over_batched_wall"] = round(before["wall"] / (b["verify_us"] / 2e6), 3)
        line["before_audit_cpu_over_batched_cpu"] = round(before["cpu"] / (a["verify_cpu_us"] / 1e6), 3)
        if "verify_cpu_us" in b:
            # The older build's own batched verification CPU and its ratio to it.
            line["before_batch_verify_cpu_ms_per_tx"] = round(b["verify_cpu_us"] / 1000 / txs, 3)
            line["before_audit_cpu_over_own_batched_cpu"] = round(before["cpu"] / (b["verify_cpu_us"] / 1e6), 3)
print(json.dumps(line))
EOF
  if [ -z "${REUSE:-}" ]; then start_timed "$DATA"; fi
done
if [ -n "$NODE_PID" ]; then stop_node; fi
