#!/usr/bin/env bash
# contrib/bench/sink_bench.sh - does the event pipeline keep up with the
# POST /Users rate? One command:
#
#   bash contrib/bench/sink_bench.sh
#
# Starts scimsyncd (SQLite, synchronous=FULL) with the example sink
# (contrib/sink-example: one JSON line per event) and the LDAP mapping,
# drives POST /Users with wrk for DURATION seconds (-c64), then waits for
# the sink to drain and prints: POST rate, events delivered per second
# while the load ran and until drained, the lag when the load stopped,
# and commit -> applied latency p50/p99 from the admin API.
#
# Then the dispatcher alone: the sink is paused (pause_file) while
# another DURATION/2 seconds of POSTs queue up, and the time to drain that
# backlog once it resumes gives the events/s one sink can take.
#
# Knobs: DURATION (20), CONNS (64), THREADS (2), SKIP_BUILD=1, KEEP=1,
# FSYNC=true (the sink fsyncs each batch).
set -eEuo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
DURATION=${DURATION:-20}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
FSYNC=${FSYNC:-false}
for t in wrk curl jq; do
	command -v "$t" >/dev/null || {
		echo "sink_bench.sh: '$t' is needed" >&2
		exit 2
	}
done
[ -n "${SKIP_BUILD:-}" ] || make -C "$top" -j"$(nproc)" >/dev/null
make -C "$top" tests/plugins/sink_example.la >/dev/null
so="$top/tests/plugins/.libs/sink_example.so"
work=$(mktemp -d "${TMPDIR:-/tmp}/sinkbench.XXXXXX")
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p
	for p in $(shuf -i 20000-40000 -n 50); do
		port_free "$p" && [ "$p" != "${1:-}" ] && { echo "$p"; return; }
	done
	return 1
}
port=$(pick_port)
aport=$(pick_port "$port")
admin="benchadm_$$_$RANDOM"
cat >"$work/c.yaml" <<YAML
listen: {address: 127.0.0.1, port: $port, threads: $THREADS}
log_level: warn
store:
  plugin: $top/plugins/store-sqlite/.libs/store_sqlite.so
  options: {path: $work/scim.db, synchronous: FULL}
rate_limit: {requests_per_second: 0}
admin:
  listen: {address: 127.0.0.1, port: $aport}
  token_sha256: $(printf %s "$admin" | sha256sum | cut -d' ' -f1)
mappings:
  ldap: $top/mappings/ldap-inetorgperson.yaml
sinks:
  events:
    plugin: $so
    mapping: ldap
    retry: {initial_ms: 20, max_ms: 50}
    options: {path: $work/events.jsonl, fsync: $FSYNC, pause_file: $work/pause}
YAML
"$top/engine/scimsyncd" -c "$work/c.yaml" >"$work/log" 2>&1 &
pid=$!
A="http://127.0.0.1:$aport/api/v1"
H="Authorization: Bearer $admin"
for _ in $(seq 200); do
	curl -sf "$A/health" >/dev/null && break
	sleep 0.05
done
curl -sf -H "$H" "$A/tenants" -d '{"name":"bench"}' >/dev/null
token=$(curl -sf -H "$H" "$A/tenants/bench/scim/tokens" -d '{"name":"wrk"}' | jq -r .token)

t0=$(date +%s.%N)
BENCH_LUA_DIR="$here" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
	--timeout 10s --latency -s "$here/post_users.lua" \
	"http://127.0.0.1:$port/scim/v2" -- "sb$$" "$token" >"$work/wrk.txt" 2>&1
t1=$(date +%s.%N)
at_stop=$(curl -sf -H "$H" "$A/sinks" | jq '.sinks[0]')
while :; do
	s=$(curl -sf -H "$H" "$A/sinks" | jq '.sinks[0]')
	[ "$(jq .lag <<<"$s")" = 0 ] && break
	sleep 0.05
done
t2=$(date +%s.%N)
line=$(grep '^BENCHRESULT' "$work/wrk.txt")
eval "${line#BENCHRESULT }"
lines=$(wc -l <"$work/events.jsonl")
awk -v rps="$rps" -v req="$requests" -v bad="$((non2xx + connect + read + write + timeout))" \
	-v t0="$t0" -v t1="$t1" -v t2="$t2" \
	-v d_stop="$(jq .delivered <<<"$at_stop")" -v lag_stop="$(jq .lag <<<"$at_stop")" \
	-v d_end="$(jq .delivered <<<"$s")" -v lines="$lines" \
	-v p50="$(jq .latency_ms.p50 <<<"$s")" -v p99="$(jq .latency_ms.p99 <<<"$s")" \
	-v fsync="$FSYNC" 'BEGIN {
	printf "POST /Users: %.0f req/s (%d requests, %d failed)\n", rps, req, bad
	printf "events delivered while the load ran: %.0f/s (%d)\n", d_stop / (t1 - t0), d_stop
	printf "lag when the load stopped: %d events; drained %.2f s later\n", lag_stop, t2 - t1
	printf "events delivered overall: %d (%d lines in the sink file), %.0f/s until drained\n", d_end, lines, d_end / (t2 - t0)
	printf "commit -> applied latency (last 4096 events): p50 %.1f ms, p99 %.1f ms (sink fsync: %s)\n", p50, p99, fsync
}'

# The dispatcher alone: a backlog, then the drain.
touch "$work/pause"
BENCH_LUA_DIR="$here" wrk -t"$THREADS" -c"$CONNS" -d"$((DURATION / 2))s" \
	--timeout 10s -s "$here/post_users.lua" \
	"http://127.0.0.1:$port/scim/v2" -- "sbq$$" "$token" >"$work/wrk2.txt" 2>&1
backlog=$(curl -sf -H "$H" "$A/sinks" | jq .sinks[0].lag)
d0=$(curl -sf -H "$H" "$A/sinks" | jq .sinks[0].delivered)
rm -f "$work/pause"
t3=$(date +%s.%N)
while :; do
	s=$(curl -sf -H "$H" "$A/sinks" | jq '.sinks[0]')
	[ "$(jq .lag <<<"$s")" = 0 ] && break
	sleep 0.02
done
t4=$(date +%s.%N)
awk -v n="$(($(jq .delivered <<<"$s") - d0))" -v b="$backlog" -v t3="$t3" -v t4="$t4" 'BEGIN {
	printf "backlog of %d events drained in %.2f s: %.0f events/s\n", b, t4 - t3, n / (t4 - t3)
}'
