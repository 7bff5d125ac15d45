#!/usr/bin/env bash
# Start Sesame locally, run the load tool against it, stop it: `make load`.
#
#   scripts/load.sh [sesame-load flags…]        e.g. -users 32 -duration 30s -mix passkey=1
#   make load LOADFLAGS='-users 64 -duration 20s -mix passkey=1'
#   make load LOADFLAGS='-users 64 -accounts 500 -minutes 10 -mix passkey=1 -progress 0'
#                                               (a line per minute, then the change from
#                                               the first minute to the last)
#   make load LOADFLAGS='-users 32 -duration 20s -mix oidc=1'
#                                               (complete OpenID Connect code logins of
#                                               a trusted app this script registers)
#
# The tool prints the CPU per operation of the server (read from its
# /metrics) beside its own; this script adds the servers' CPU and memory
# from /proc.
#
# Environment:
#   DATABASE    sqlite (default: a new file in a temporary directory) or a
#               postgres:// URL; on PostgreSQL a fresh schema is made for the
#               run and dropped after it (needs psql)
#   INSTANCES   how many `sesame serve` processes (PostgreSQL only; default 1)
#   PORT        first port (default 8080); instance i listens on PORT+i
#   SMTP        the load tool's SMTP sink (default 127.0.0.1:2525)
#   PPROF       if set (e.g. 127.0.0.1:6060), the first instance serves pprof there
#   PROFILE     with PPROF: write a CPU profile of the first instance to this file,
#               PROFILE_SECONDS long (10) starting PROFILE_DELAY seconds (5) after set-up
#   OIDC_ALG    the ID token algorithm of the oidc operation's app: RS256 (default) or ES256
#   SESAME_BIN  the server binary to run (default: build bin/sesame from this tree),
#               e.g. a previous commit's, to measure the two side by side
#   GOMAXPROCS  passed through to the servers, like any other variable
#
# The servers run with SESAME_RATE_LIMITS=off (never in production) and
# their logs go to the temporary directory, printed if a server fails.
set -euo pipefail
cd "$(dirname "$0")/.."

INSTANCES=${INSTANCES:-1}
PORT=${PORT:-8080}
SMTP=${SMTP:-127.0.0.1:2525}
tmp=$(mktemp -d)
pids=()
schema=""

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$schema" ]; then PGOPTIONS='-c client_min_messages=warning' psql -q "$PG_ADMIN" -c "DROP SCHEMA $schema CASCADE" >/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

sesame=${SESAME_BIN:-bin/sesame}
if [ -z "${SESAME_BIN:-}" ]; then go build -o bin/sesame ./cmd/sesame; fi
go build -o bin/sesame-load ./cmd/sesame-load

DATABASE=${DATABASE:-sqlite:$tmp/sesame.db}
case "$DATABASE" in
  postgres://*|postgresql://*)
    PG_ADMIN=$DATABASE
    schema="sesame_load_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    psql -q "$PG_ADMIN" -c "CREATE SCHEMA $schema" >/dev/null
    sep='?'; case "$DATABASE" in *\?*) sep='&';; esac
    DATABASE="$DATABASE${sep}search_path=$schema"
    ;;
  *)
    if [ "$INSTANCES" != 1 ]; then echo "load.sh: several instances need PostgreSQL (DATABASE=postgres://…)" >&2; exit 2; fi
    ;;
esac

export SESAME_DATABASE=$DATABASE
export SESAME_DATA_DIR=$tmp
export SESAME_SECRET=${SESAME_SECRET:-$(head -c 32 /dev/urandom | base64)}
export SESAME_RATE_LIMITS=off
export SESAME_SMTP_URL=smtp://$SMTP
export SESAME_PUBLIC_URL=http://localhost:$PORT
export SESAME_LOG_LEVEL=${SESAME_LOG_LEVEL:-info}

urls=()
for i in $(seq 0 $((INSTANCES - 1))); do
  port=$((PORT + i))
  pprof=""
  if [ "$i" = 0 ] && [ -n "${PPROF:-}" ]; then pprof=$PPROF; fi
  SESAME_ADDR=127.0.0.1:$port SESAME_PPROF_ADDR=$pprof "$sesame" serve >"$tmp/sesame-$i.log" 2>&1 &
  pids+=($!)
  urls+=("http://127.0.0.1:$port")
done
for i in "${!urls[@]}"; do
  for _ in $(seq 1 300); do
    if curl -fsS "${urls[$i]}/readyz" >/dev/null 2>&1; then continue 2; fi
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "load.sh: instance $i did not become ready:" >&2
  cat "$tmp/sesame-$i.log" >&2
  exit 1
done

# The app of the oidc operation, registered as an operator does; the tool
# reads the --json answer (its client_id, client_secret and redirect URI).
SESAME_RATE_LIMITS=on "$sesame" clients add --name "sesame-load" --redirect-uri http://127.0.0.1/sesame-load/callback \
  --trusted --id-token-alg "${OIDC_ALG:-RS256}" --json >"$tmp/oidc-client.json"

echo "load.sh: ${INSTANCES} instance(s) on ${SESAME_DATABASE%%:*}${schema:+ (schema $schema)}; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# CPU seconds (user + system) and resident MiB of the servers, from /proc.
cpu() { for p in "${pids[@]}"; do cut -d' ' -f14,15 "/proc/$p/stat"; done | awk -v hz="$(getconf CLK_TCK)" '{s += $1 + $2} END {print s / hz}'; }
# Bytes the servers wrote to storage (WAL, database file), from /proc.
wb() { for p in "${pids[@]}"; do awk '/^write_bytes/ {print $2}' "/proc/$p/io"; done | awk '{s += $1} END {printf "%.0f", s}'; }
rss() { for p in "${pids[@]}"; do awk '/^VmRSS/ {print $2}' "/proc/$p/status"; done | awk '{s += $1} END {printf "%.0f", s / 1024}'; }
fifo=$tmp/out
mkfifo "$fifo"
./bin/sesame-load -url "$(IFS=,; echo "${urls[*]}")" -smtp-listen "$SMTP" -oidc-client "$tmp/oidc-client.json" "$@" >"$fifo" &
load=$!
cpu0=""
profiler=""
while IFS= read -r line; do
  printf '%s\n' "$line"
  case "$line" in
    set-up:*)
      cpu0=$(cpu); t0=$(date +%s.%N); rss0=$(rss); wb0=$(wb)
      if [ -n "${PROFILE:-}" ] && [ -n "${PPROF:-}" ]; then
        (sleep "${PROFILE_DELAY:-5}"; curl -fsS -o "$PROFILE" "http://$PPROF/debug/pprof/profile?seconds=${PROFILE_SECONDS:-10}" \
          && echo "load.sh: CPU profile in $PROFILE" >&2) &
        profiler=$!
      fi
      ;;
    "measured over"*)
      if [ -n "$cpu0" ]; then
        awk -v c0="$cpu0" -v c1="$(cpu)" -v t0="$t0" -v t1="$(date +%s.%N)" -v n="$(nproc)" \
          'BEGIN { printf "server CPU: %.1f s over %.1f s (%.0f%% of %d cores)\n", c1 - c0, t1 - t0, 100 * (c1 - c0) / (t1 - t0) / n, n }'
        echo "server memory (RSS): ${rss0} MiB after set-up, $(rss) MiB at the end"
        wb1=$(wb)
      fi
      ;;
    "CPU per operation ("*)
      if [ -n "${wb1:-}" ]; then
        n=${line#*(}; n=${n%% *}
        awk -v b="$((wb1 - wb0))" -v n="$n" 'BEGIN { printf "server disk writes: %.0f MiB, %.1f KiB per operation\n", b / 1048576, n ? b / 1024 / n : 0 }'
      fi
      ;;
  esac
done <"$fifo"
status=0
wait "$load" || status=$?
if [ -n "${profiler:-}" ]; then wait "$profiler" || true; fi
exit "$status"
