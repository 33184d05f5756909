#!/usr/bin/env bash
# Payments per second and CPU per payment of each role for 1, 2 and 3 `dfc-bank serve --store
# postgres://…` nodes on one PostgreSQL ledger (docs/scaling.md, "Nodes on one ledger, measured").
#
# For each layout in LAYOUTS (default "1 2 3 3f"): a throw-away PostgreSQL cluster (initdb in a
# temporary directory, as `nobody` when run as root), one sandbox `init`, its directory copied for
# each node, the first node started (it imports the ledger and takes the sealer lease), then the
# others. One `dfc-sim load` per loaded node (its own seed, PAYMENTS transfers at CONCURRENCY),
# started one after the other, each held (SIGSTOP) as soon as it reaches its submission phase
# and all released together (their registrations and issuances go through the operators'
# sequence numbers, which must arrive in order, so the set-ups cannot overlap). Layout "N" loads every node; "3f" runs three nodes and loads only the two followers, to
# separate the roles: the sealer then only seals and commits. Layout "s" is the baseline: one
# node alone on its SQLite file (no PostgreSQL), its commits counted by the load generator.
#
# The window measured is from the moment every loader is submitting to the moment the first one
# finishes: transfers committed in it (counted in PostgreSQL), and each node's CPU time in it
# (utime + stime from /proc/<pid>/stat). Prints one JSON line per layout and a Markdown table,
# with the 1-minute load average at the start of each window (the machine is shared: read the
# ratios within a run).
#
# Usage: scripts/bench-cluster.sh [PAYMENTS] [CONCURRENCY]   (PROFILE=release for release builds)
set -euo pipefail
cd "$(dirname "$0")/.."
PAYMENTS="${1:-800}"
CONCURRENCY="${2:-64}"
PROFILE="${PROFILE:-debug}"
LAYOUTS="${LAYOUTS:-1 2 3 3f}"
if [ -z "${SKIP_BUILD:-}" ]; then
  if [ "$PROFILE" = release ]; then
    cargo build --release -p dfc-central-bank -p dfc-sims --bins >&2
  else
    cargo build -p dfc-central-bank -p dfc-sims --bins >&2
  fi
fi
BIN="$(pwd)/${CARGO_TARGET_DIR:-target}/$PROFILE"
case "${CARGO_TARGET_DIR:-}" in /*) BIN="$CARGO_TARGET_DIR/$PROFILE" ;; esac
PG_BIN="${DFC_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}"
TICK="$(getconf CLK_TCK)"
cpu_s() { awk -v t="$TICK" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
now_s() { date +%s.%N; }

WORK="$(mktemp -d)"
chmod 755 "$WORK"
PIDS=()
PG_DATA=""
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -n "$PG_DATA" ] && (cd "$WORK" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_pg() { # $1 = directory; sets PG_URL
  mkdir -p "$1"
  [ "$(id -u)" = 0 ] && chown nobody "$1"
  PG_DATA="$1/data"
  (cd "$1" && as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U dfc --auth=trust -E UTF8 >/dev/null)
  local port; port="$(free_port)"
  (cd "$1" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$1/server.log" -w -t 60 \
    -o "-p $port -k $1 -c listen_addresses=127.0.0.1 -c max_connections=60" start >/dev/null)
  "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U dfc -d postgres -c 'CREATE DATABASE ledger' >/dev/null
  PG_URL="postgres://dfc@127.0.0.1:$port/ledger"
  PG_PORT="$port"
}
pg_count() { [ -n "$PG_URL" ] || { echo 0; return; }; "$PG_BIN/psql" -X -qtA -h 127.0.0.1 -p "$PG_PORT" -U dfc -d ledger -c "SELECT COUNT(*) FROM txs WHERE kind = 'transfer'"; }

start_node() { # $1 = data dir; appends to PIDS and URLS
  local store=(); [ -n "$PG_URL" ] && store=(--store "$PG_URL")
  "$BIN/dfc-bank" serve --data "$1" --listen 127.0.0.1:0 "${store[@]}" >"$1/node.log" 2>&1 &
  PIDS+=("$!")
  local url=""
  for _ in $(seq 1 600); do
    url="$(grep -o 'http://127.0.0.1:[0-9]*' "$1/node.log" | head -1 || true)"
    [ -n "$url" ] && { [ -z "$PG_URL" ] || grep -q 'joined the shared ledger' "$1/node.log"; } && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "node did not start" >&2; cat "$1/node.log" >&2; exit 1; }
  URLS+=("$url")
}

RESULTS="$WORK/results.jsonl"
for LAYOUT in $LAYOUTS; do
  N="${LAYOUT%f}"
  [ "$LAYOUT" = s ] && N=1
  RUN="$WORK/run-$LAYOUT"
  mkdir -p "$RUN"
  PIDS=()
  URLS=()
  PG_URL=""
  [ "$LAYOUT" = s ] || start_pg "$RUN/pg"
  "$BIN/dfc-bank" init --data "$RUN/node0" --json >/dev/null
  for i in $(seq 1 $((N - 1))); do cp -a "$RUN/node0" "$RUN/node$i"; done
  start_node "$RUN/node0"
  for _ in $(seq 1 600); do [ -z "$PG_URL" ] && break; grep -q 'took the sealer lease' "$RUN/node0/node.log" && break; sleep 0.1; done
  for i in $(seq 1 $((N - 1))); do start_node "$RUN/node$i"; done
  if [ "${LAYOUT%f}" != "$LAYOUT" ]; then LOADED=$(seq 1 $((N - 1))); else LOADED=$(seq 0 $((N - 1))); fi
  SIMS=()
  for i in $LOADED; do
    rm -f "$RUN/mark$i"
    "$BIN/dfc-sim" load --bank "${URLS[$i]}" --data "$RUN/node$i" --payments "$PAYMENTS" \
      --concurrency "$CONCURRENCY" --seed $((i + 1)) --verify-samples 1 --mark-submit "$RUN/mark$i" \
      --json >"$RUN/sim$i.json" 2>"$RUN/sim$i.err" &
    SIMS+=("$!")
    for _ in $(seq 1 30000); do [ -e "$RUN/mark$i" ] && break; kill -0 "${SIMS[-1]}" 2>/dev/null || break; sleep 0.01; done
    [ -e "$RUN/mark$i" ] || { echo "load $i did not reach its submission phase" >&2; cat "$RUN/sim$i.err" >&2; exit 1; }
    # Held at the start of its submission phase until every loader is there.
    kill -STOP "${SIMS[-1]}"
  done
  for s in "${SIMS[@]}"; do kill -CONT "$s"; done
  LOAD="$(loadavg)"
  T0="$(now_s)"; C0="$(pg_count)"
  CPU0=(); for p in "${PIDS[@]}"; do CPU0+=("$(cpu_s "$p")"); done
  # The window ends when the first loader finishes.
  while :; do
    done_one=""
    for s in "${SIMS[@]}"; do kill -0 "$s" 2>/dev/null || done_one=1; done
    [ -n "$done_one" ] && break
    sleep 0.05
  done
  T1="$(now_s)"; C1="$(pg_count)"
  CPU1=(); for p in "${PIDS[@]}"; do CPU1+=("$(cpu_s "$p")"); done
  for s in "${SIMS[@]}"; do wait "$s" || { echo "a load run reported errors (commits are counted in PostgreSQL)" >&2; tail -3 "$RUN"/sim*.err >&2; }; done
  # Alone on SQLite: the load generator's count of its committed transfers.
  [ -n "$PG_URL" ] || C1="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["committed"])' "$RUN/sim0.json")"
  python3 - "$LAYOUT" "$N" "$LOAD" "$T0" "$T1" "$C0" "$C1" "${CPU0[*]}" "${CPU1[*]}" "$(echo $LOADED)" <<'PY' | tee -a "$RESULTS"
import json, sys
layout, n, load, t0, t1, c0, c1, cpu0, cpu1, loaded = sys.argv[1:11]
secs = float(t1) - float(t0)
committed = int(c1) - int(c0)
cpu = [float(b) - float(a) for a, b in zip(cpu0.split(), cpu1.split())]
loaded = [int(x) for x in loaded.split()]
per = lambda s, k: round(s * 1000 / k, 3) if k else None
followers = [i for i in range(int(n)) if i != 0]
print(json.dumps({
    "layout": layout, "nodes": int(n), "loaded": loaded, "load_avg_1m": float(load),
    "window_s": round(secs, 2), "committed": committed,
    "payments_per_s": round(committed / secs, 1) if secs > 0 else None,
    "cpu_s": [round(c, 2) for c in cpu],
    "sealer_cpu_ms_per_payment": per(cpu[0], committed),
    "follower_cpu_ms_per_accepted": [per(cpu[i], committed / len(loaded)) for i in followers],
    "cluster_cpu_ms_per_payment": per(sum(cpu), committed),
}))
PY
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  PIDS=()
  [ -n "$PG_DATA" ] && { (cd "$RUN/pg" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1) || true; }
  PG_DATA=""
done
python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| layout | nodes loaded | load avg | committed | payments/s | sealer CPU ms/payment | follower CPU ms/accepted | cluster CPU ms/payment |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    f = ", ".join(str(x) for x in r["follower_cpu_ms_per_accepted"]) or "–"
    print(f'| {r["layout"]} | {len(r["loaded"])} | {r["load_avg_1m"]} | {r["committed"]} | {r["payments_per_s"]} | {r["sealer_cpu_ms_per_payment"]} | {f} | {r["cluster_cpu_ms_per_payment"]} |')
PY
