#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20) on the stable toolchain, seeded from the
# committed seeds/ (real encodings). Installs cargo-fuzz if missing. Prints executions per target
# and exits non-zero if any target finds a crash (the input is left in fuzz/artifacts/).
#   fuzz/run.sh 20      # CI
#   fuzz/run.sh 3600    # the long run of docs/reliability.md
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${1:-20}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "--- installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
for target in tx_decode_validate packet_decode api_requests; do
  mkdir -p "corpus/$target"
  seeds="seeds/${target%%_*}"
  [ "$target" = "tx_decode_validate" ] && seeds=seeds/tx
  [ "$target" = "packet_decode" ] && seeds=seeds/packet
  [ "$target" = "api_requests" ] && seeds=seeds/api
  cp -n "$seeds"/* "corpus/$target/" 2>/dev/null || true
  echo "--- fuzz $target for ${SECONDS_PER_TARGET}s"
  log="/tmp/dfc-fuzz-$target.log"
  status=0
  cargo fuzz run "$target" "corpus/$target" --sanitizer none -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 \
    || status=$?
  grep -E "^(stat::number_of_executed_units|Done|==|SUMMARY|thread)" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log"
    echo "fuzz target $target failed: see fuzz/artifacts/$target and /tmp/dfc-fuzz-$target.log"
    exit 1
  fi
done
echo "--- fuzz ok"
