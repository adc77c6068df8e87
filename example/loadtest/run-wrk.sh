#!/usr/bin/env bash
# run-wrk.sh: each wxsub adapter under wrk on 127.0.0.1 against a bare
# handler of the same framework, in the same run, from 1 to 256 connections.
# Prints a Markdown table (requests/s, ratio, p50/p99 latency) for
# BENCHMARKS.md. Every wrk run is bounded (DURATION, and `timeout`).
#
# Each cell is ROUNDS pairs of runs, bare and wxsub back to back (the order
# swapping every round), so that drift in the machine's load hits both
# sides; the table gives the medians of the requests/s and of the per-pair
# ratios, and the latencies of the median pair.
#
#   example/loadtest/run-wrk.sh                    # all frameworks, 1..256 connections, 3 pairs of 3 s each
#   FRAMEWORKS=fiber CONNS="64" DURATION=10s ROUNDS=5 example/loadtest/run-wrk.sh
set -euo pipefail
cd "$(dirname "$0")"

FRAMEWORKS=${FRAMEWORKS:-"nethttp fiber fasthttp"}
CONNS=${CONNS:-"1 4 16 64 256"}
DURATION=${DURATION:-3s}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18080}
TOKEN=bench-token

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/benchserver" ./benchserver

# The signed query: the replay check is off in benchserver, so one
# signature (sha1 of the sorted token, timestamp, nonce) serves every run.
ts=$(date +%s)
nonce=1514711492
sig=$(printf '%s\n' "$TOKEN" "$ts" "$nonce" | LC_ALL=C sort | tr -d '\n' | sha1sum | cut -d' ' -f1)
query="signature=$sig&timestamp=$ts&nonce=$nonce"

# run PATH CONNS: prints "rps p50 p99 non2xx" for one bounded wrk run.
run() {
  local threads=$(( $2 < 2 ? 1 : 2 )) out
  out=$(timeout 120 wrk -t"$threads" -c"$2" -d"$DURATION" --latency -s wrk/callback.lua \
    "http://127.0.0.1:$PORT" -- "$1" "$query")
  local rps p50 p99 bad
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "$rps $p50 $p99 ${bad:-0}"
}

echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), wrk $DURATION per run, $ROUNDS pairs per cell"
echo
echo "| framework | conns | bare req/s | wxsub req/s | median ratio | bare p50 / p99 | wxsub p50 / p99 |"
echo "|---|---:|---:|---:|---:|---|---|"
for fw in $FRAMEWORKS; do
  "$tmp/benchserver" -framework "$fw" -addr "127.0.0.1:$PORT" -token "$TOKEN" >"$tmp/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.1
  done
  for c in $CONNS; do
    : >"$tmp/pairs"
    for r in $(seq "$ROUNDS"); do
      if (( r % 2 )); then
        read -r b_rps b_p50 b_p99 b_bad < <(run /bare "$c")
        read -r w_rps w_p50 w_p99 w_bad < <(run /wechat "$c")
      else
        read -r w_rps w_p50 w_p99 w_bad < <(run /wechat "$c")
        read -r b_rps b_p50 b_p99 b_bad < <(run /bare "$c")
      fi
      if [ "$b_bad" != 0 ] || [ "$w_bad" != 0 ]; then
        echo "non-2xx answers: bare $b_bad, wxsub $w_bad" >&2; exit 1
      fi
      awk -v w="$w_rps" -v b="$b_rps" 'BEGIN { printf "%.4f ", w / b }' >>"$tmp/pairs"
      echo "$b_rps $w_rps $b_p50 $b_p99 $w_p50 $w_p99" >>"$tmp/pairs"
    done
    # The median pair by ratio, and the medians of each side's req/s.
    read -r ratio _ _ b_p50 b_p99 w_p50 w_p99 < <(sort -n "$tmp/pairs" | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)')
    b_rps=$(awk '{print $2}' "$tmp/pairs" | sort -n | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)')
    w_rps=$(awk '{print $3}' "$tmp/pairs" | sort -n | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)')
    ratio=$(awk -v r="$ratio" 'BEGIN { printf "%.0f%%", 100 * r }')
    echo "| $fw | $c | $b_rps | $w_rps | $ratio | $b_p50 / $b_p99 | $w_p50 / $w_p99 |"
  done
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
done
