#!/usr/bin/env bash
# Schema fuzzing of the node's API with schemathesis: starts a sandbox node (`dfc-bank init` +
# `serve` on a free loopback port, in a temporary data directory), runs schemathesis against its
# own `/v1/openapi.json` with the default checks and every phase (examples, coverage, fuzzing,
# stateful: the links between operations), and exits non-zero on any failure.
#
# Bounded: at most DFC_ST_MAX_EXAMPLES cases per operation (default 25) and DFC_ST_BUDGET_S
# seconds for schemathesis (default 150; a run that overruns fails). schemathesis lives in a venv
# (DFC_ST_VENV, default $CARGO_TARGET_DIR/schemathesis-venv) created on first use.
# Needs `cargo build -p dfc-central-bank --bin dfc-bank` first. See docs/api.md, "Schema fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
bank="$target/debug/dfc-bank"
venv="${DFC_ST_VENV:-$target/schemathesis-venv}"
max_examples="${DFC_ST_MAX_EXAMPLES:-25}"
budget_s="${DFC_ST_BUDGET_S:-150}"
version="4.32.5"

if [ ! -x "$bank" ]; then
  echo "schemathesis.sh: $bank is missing; run cargo build -p dfc-central-bank --bin dfc-bank" >&2
  exit 2
fi
if [ ! -x "$venv/bin/st" ] || ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
  echo "--- creating $venv with schemathesis $version"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

work="$(mktemp -d)"
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then
    kill "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bank" init --data "$work/node" --json >/dev/null
# The per-client rate limit is off: schemathesis is one client sending as fast as it can, and the
# limit's own 429s are tested in tests/reliability.
"$bank" serve --data "$work/node" --listen 127.0.0.1:0 --rate-limit 0 \
  >"$work/stdout" 2>"$work/node.log" &
node_pid=$!
url=""
for _ in $(seq 1 600); do
  url="$(sed -n 's/^listening on //p' "$work/stdout" | head -n 1)"
  [ -n "$url" ] && break
  if ! kill -0 "$node_pid" 2>/dev/null; then
    echo "schemathesis.sh: the node exited; its log:" >&2
    cat "$work/node.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "schemathesis.sh: the node did not report its address" >&2
  exit 1
fi
echo "--- schemathesis $version against $url (at most $max_examples cases per operation, ${budget_s} s)"

status=0
timeout --kill-after=10 "$budget_s" "$venv/bin/st" --config-file scripts/schemathesis.toml \
  run "$url/v1/openapi.json" \
  --max-examples "$max_examples" \
  --phases examples,coverage,fuzzing,stateful \
  --seed "${DFC_ST_SEED:-19}" \
  --generation-database none \
  --workers 1 \
  --no-color || status=$?
if [ "$status" -ne 0 ]; then
  if [ "$status" -eq 124 ]; then
    echo "schemathesis.sh: schemathesis overran its ${budget_s} s budget" >&2
  fi
  echo "--- node log (last 40 lines)" >&2
  tail -n 40 "$work/node.log" >&2
  exit "$status"
fi
if ! kill -0 "$node_pid" 2>/dev/null; then
  echo "schemathesis.sh: the node died during the run" >&2
  cat "$work/node.log" >&2
  exit 1
fi
echo "--- schemathesis: no failures"
