#!/usr/bin/env bash
# Node throughput and latency benchmark (docs/benchmarks.md, "Node throughput").
#
# For each network (NETWORKS, default "caps disclosed") and configuration (MODES, node
# verification mode : submission format, default "single:json batch:batch"), on a fresh sandbox
# ledger:
#   1. peak: PAYMENTS 2-input 2-output transfers submitted closed-loop at CONCURRENCY;
#   2. open-loop runs at 50% and 90% of that peak rate, for latency under load.
# Networks: "caps" is `dfc-bank init` as it is (the default tier caps, proven in every transfer's
# range proof; no regulator); "disclosed" adds a regulator with a reporting threshold of 10.00,
# below the load's 15.00 payments, so every transfer also carries a disclosure (limb range proof,
# validity and recomposition proofs).
# Configurations: "single:json" verifies one by one with JSON one transfer per request (the
# baseline), "batch:json" batches verification, "batch:batch" also sends binary batch requests.
# A third field "before" runs that configuration on the node binary in $BEFORE_BIN (a copy of an
# earlier release build) instead, e.g. MODES="single:json batch:batch:before batch:batch", so a
# change is compared with the code before it in the same run and on the same load generator.
# In the same run the load generator measures the one-by-one verification ceiling (cores / time to
# verify one transfer with `verify_crypto`) and the batched ceiling (cores / time per transfer of
# one batch of up to 256); the node's own CPU time per committed payment comes from
# /proc/<pid>/stat (utime + stime) over the submission phase of the peak run, so the load
# generator's CPU is not counted. Each line also records the 1-minute load average at its start.
# Open-loop runs send every payment at its own due time; payments due within LINGER_MS (default 5)
# of the first of a request share it (up to the batch size with the batch wire), and each
# payment's latency counts from its own due time (`dfc-sim load --linger-ms`).
# RATES_caps / RATES_disclosed (e.g. RATES_caps="110 200") give the open-loop rates directly, so
# "before" and "after" builds get the same offered load; the table then shows each rate's share
# of that build's own peak.
# Prints one JSON line per run and a Markdown table at the end.
#
# Usage: scripts/bench-node.sh [PAYMENTS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
PAYMENTS="${1:-1500}"
CONCURRENCY="${2:-256}"
# Line tables only: the same build serves scripts/profile-node.sh; they do not change the code.
# SKIP_BUILD=1 measures the release binaries already built (e.g. a "before" build).
[ -n "${SKIP_BUILD:-}" ] || CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release -p dfc-central-bank -p dfc-sims --bins >&2
BIN="${CARGO_TARGET_DIR:-target}/release"
WORK="$(mktemp -d)"
NODE_PID=""
cleanup() { [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

NETWORKS="${NETWORKS:-caps disclosed}"
MODES="${MODES:-single:json batch:batch}"
# Shares of the peak rate run open loop after each peak run; SHARES_BEFORE for "before" builds.
SHARES="${SHARES:-0.5 0.9}"
SHARES_BEFORE="${SHARES_BEFORE:-$SHARES}"
LINGER_MS="${LINGER_MS:-5}"
TICK="$(getconf CLK_TCK)"
cpu_s() { awk -v t="$TICK" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

start_node() { # $1 = data dir, $2 = verify mode, $3 = directory of the dfc-bank binary
  "$3/dfc-bank" serve --data "$1" --listen 127.0.0.1:0 --verify "$2" >"$1/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 200); do
    URL="$(grep -o 'http://127.0.0.1:[0-9]*' "$1/node.log" | head -1 || true)"
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  echo "node did not start" >&2; cat "$1/node.log" >&2; exit 1
}

# Adds the run's labels to a load report: $1 = report JSON, then key=value pairs.
label() {
  python3 - "$@" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    try:
        r[k] = float(v)
    except ValueError:
        r[k] = v
print(json.dumps(r))
PY
}

RESULTS="$WORK/results.jsonl"
for NET in $NETWORKS; do
  for CONF in $MODES; do
    IFS=: read -r MODE WIRE BUILD <<<"$CONF"
    BUILD="${BUILD:-after}"
    NODE_BIN="$BIN"
    if [ "$BUILD" = before ]; then
      NODE_BIN="${BEFORE_BIN:?set BEFORE_BIN to the directory of the earlier dfc-bank}"
    fi
    DATA="$WORK/bank-$NET-$MODE-$WIRE-$BUILD"
    case "$NET" in
      caps) "$NODE_BIN/dfc-bank" init --data "$DATA" --json >/dev/null ;;
      disclosed) "$NODE_BIN/dfc-bank" init --data "$DATA" --reporting-threshold 10.00 --json >/dev/null ;;
      *) echo "unknown network $NET (caps, disclosed)" >&2; exit 2 ;;
    esac
    start_node "$DATA" "$MODE" "$NODE_BIN"
    "$BIN/dfc-sim" load --bank "$URL" --data "$DATA" --payments "$PAYMENTS" \
      --concurrency "$CONCURRENCY" --seed 1 --wire "$WIRE" --json \
      --mark-submit "$WORK/submit-$NET-$MODE-$WIRE-$BUILD" >"$WORK/peak.json" &
    LOAD_PID=$!
    while [ ! -e "$WORK/submit-$NET-$MODE-$WIRE-$BUILD" ] && kill -0 "$LOAD_PID" 2>/dev/null; do sleep 0.05; done
    LOAD_AVG="$(loadavg)"
    BEFORE="$(cpu_s "$NODE_PID")"
    wait "$LOAD_PID"
    AFTER="$(cpu_s "$NODE_PID")"
    PEAK_JSON="$(cat "$WORK/peak.json")"
    PEAK="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["committed_per_second"])' "$PEAK_JSON")"
    CPU_US="$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print((float(sys.argv[3])-float(sys.argv[2]))*1e6/max(r["committed"],1))' "$PEAK_JSON" "$BEFORE" "$AFTER")"
    label "$PEAK_JSON" network="$NET" mode="$MODE" build="$BUILD" load=peak loadavg="$LOAD_AVG" \
      node_cpu_us_per_payment="$CPU_US" | tee -a "$RESULTS"
    SEED=2
    RUN_SHARES="$SHARES"
    [ "$BUILD" = before ] && RUN_SHARES="$SHARES_BEFORE"
    # RATES_<network>="r1 r2" runs those absolute rates instead (the same offered load for
    # every build, e.g. 50% and 90% of a peak measured earlier), labelled with their share of it.
    RATES_VAR="RATES_$NET"
    RUN_RATES=""
    for SHARE in $RUN_SHARES; do RUN_RATES="$RUN_RATES $(python3 -c "print(round($PEAK * $SHARE, 1))")"; done
    [ -n "${!RATES_VAR:-}" ] && RUN_RATES="${!RATES_VAR}"
    for RATE in $RUN_RATES; do
      SHARE="$(python3 -c "print(round($RATE / $PEAK, 2))")"
      LOAD_AVG="$(loadavg)"
      OUT="$("$BIN/dfc-sim" load --bank "$URL" --data "$DATA" --payments "$PAYMENTS" \
        --concurrency "$CONCURRENCY" --seed "$SEED" --rate "$RATE" --linger-ms "$LINGER_MS" \
        --wire "$WIRE" --json)"
      label "$OUT" network="$NET" mode="$MODE" build="$BUILD" load="$SHARE" loadavg="$LOAD_AVG" | tee -a "$RESULTS"
      SEED=$((SEED + 1))
    done
    kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=""
  done
done

python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print()
print("| network | node | verification | wire | load | load avg | committed/s | one-by-one ceiling/s | batched ceiling/s | committed ÷ one-by-one ceiling | committed ÷ batched ceiling | node CPU µs/payment | payments/request | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["load"] == "peak":
        load = "peak (closed loop, %d in flight)" % r["concurrency"]
    else:
        load = "%.0f%% of its peak (open loop, %.0f/s)" % (float(r["load"]) * 100, r["rate_target"])
    cpu = r.get("node_cpu_us_per_payment")
    cpu_s = "%.0f" % cpu if cpu else ""
    batched = r.get("batch_verification_ceiling_per_second", 0)
    per_req = r["payments"] / r["requests"] if r.get("requests") else 0
    print("| %s | %s | %s | %s | %s | %.1f | %.0f | %.0f | %.0f | %.2f | %.2f | %s | %.1f | %.1f | %.1f | %s |" % (
        r["network"], r.get("build", "after"), r["mode"], r.get("wire", "json"), load, r["loadavg"], r["committed_per_second"],
        r["verification_ceiling_per_second"], batched,
        r["ratio_to_ceiling"], r["committed_per_second"] / batched if batched else 0, cpu_s, per_req,
        r["latency_ms_p50"], r["latency_ms_p99"],
        sum(r["errors"].values()) if r["errors"] else 0))
PY
