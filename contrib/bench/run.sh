#!/usr/bin/env bash
# contrib/bench/run.sh - scimsyncd throughput benchmark, one command:
#
#   contrib/bench/run.sh
#
# Builds (make), starts scimsyncd on a fresh SQLite database in a temp dir
# and a canned libevhtp server (the ceiling), loads >= 100,000 users,
# runs wrk against both, and prints a Markdown table of requests/s, latency
# p50/p99, failures, RSS and the ratios the targets are stated in. The
# table is also written to contrib/bench/out/results.md. See README.md.
#
# Exit status: 0 when every request succeeded and the server stayed up
# (a missed target is printed as MISSED, not an error); 1 when a request
# failed (non-2xx, socket error), a setup step failed or scimsyncd died;
# 2 on a usage or build problem.
#
# Knobs (environment): DURATION (s per test, 10), THREADS (wrk and server
# worker threads, 2), CONNS (read/PATCH tests and canned, 32), POST_CONNS
# (POST tests, 64), LOAD_SECS (POST /Users loading run, 20), USERS
# (100000), POOL (extra users for the add-member tests, 100000),
# GROUP_BATCH (members per PATCH when filling the big group, 5000),
# SKIP_BUILD=1 (use the binaries as they are), STORE_PLUGIN (path to
# another store_sqlite.so to benchmark), KEEP=1 (keep the temp dir),
# BENCH_DEBUG=1 (wrk scripts print the first failed response),
# STORE_OPTIONS (extra store options, YAML flow: "mmap_size_mb: 0").
set -eEuo pipefail
trap 'echo "run.sh: line $LINENO: unexpected failure: $BASH_COMMAND" >&2' ERR

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out="$here/out"

DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
POST_CONNS=${POST_CONNS:-64}
LOAD_SECS=${LOAD_SECS:-20}
USERS=${USERS:-100000}
POOL=${POOL:-100000}
GROUP_BATCH=${GROUP_BATCH:-5000}
BULK_OPS=1000
ADMIN_TOKEN="benchadm_$$_$RANDOM$RANDOM"

for t in wrk curl jq awk cc pkg-config make sha256sum; do
	command -v "$t" >/dev/null || {
		echo "run.sh: '$t' is needed (apt-get install -y wrk curl jq)" >&2
		exit 2
	}
done

t0=$SECONDS
log() { printf '[%4ds] %s\n' $((SECONDS - t0)) "$*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/scimbench.XXXXXX")
srv_pid=""
canned_pid=""
failures=0
fail_notes=()

# Stop a process we started: TERM, wait up to 10 s for it to go, then KILL.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	set +e
	stop_pid "$srv_pid"
	stop_pid "$canned_pid"
	if [ -s "$work/scimsyncd.log" ]; then
		mkdir -p "$out"
		cp "$work/scimsyncd.log" "$out/scimsyncd.log"
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		log "kept $work"
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	failures=$((failures + 1))
	fail_notes+=("$*")
	log "FAILED: $*"
}

# The server must still be up; if not, report how it ended and stop.
server_dead=""
check_server() {
	local st=0
	if ! kill -0 "$srv_pid" 2>/dev/null; then
		wait "$srv_pid" 2>/dev/null || st=$?
		srv_pid=""
		server_dead="scimsyncd died during: $1 (exit status $st"
		if ((st > 128)); then server_dead+=", signal $((st - 128))"; fi
		server_dead+=")"
		fail "$server_dead"
		tail -n 20 "$work/scimsyncd.log" >&2 || true
		return 1
	fi
}

# Poll until a URL answers (any HTTP status) or the deadline passes.
wait_http() {
	local url=$1 secs=$2 pid=$3 end=$((SECONDS + $2))
	while ((SECONDS < end)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if curl -s -o /dev/null --max-time 1 "$url"; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p=$((20000 + RANDOM % 20000)) i
	for ((i = 0; i < 500; i++, p++)); do
		if port_free "$p" && [ "$p" != "${1:-}" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

kb_of() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

LOADAVG0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- build
cd "$top"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
	log "make -j2"
	if ! make -j2 >"$work/build.log" 2>&1; then
		tail -n 30 "$work/build.log" >&2
		echo "run.sh: the build failed (SKIP_BUILD=1 to use the existing binaries)" >&2
		exit 2
	fi
fi
plugin_so=${STORE_PLUGIN:-$top/plugins/store-sqlite/.libs/store_sqlite.so}
for f in "$top/engine/scimsyncd" "$plugin_so"; do
	[ -f "$f" ] || { echo "run.sh: $f is missing; build first" >&2; exit 2; }
done
# Private copies: other people may rebuild the tree while this runs.
mkdir -p "$work/bin" "$out"
cp "$top/engine/scimsyncd" "$work/bin/scimsyncd"
cp "$plugin_so" "$work/bin/store_sqlite.so"
log "cc canned.c"
if ! cc -O2 -o "$work/bin/canned" "$here/canned.c" \
	$(pkg-config --cflags --libs evhtp libevent libevent_pthreads) \
	-lpthread 2>"$work/canned-build.log"; then
	cat "$work/canned-build.log" >&2
	exit 2
fi

# ---------------------------------------------------------------- start
port=$(pick_port)
cport=$(pick_port "$port")
aport=$(pick_port "$cport")
base="http://127.0.0.1:$port/scim/v2"
cbase="http://127.0.0.1:$cport/scim/v2"
cat >"$work/scimsyncd.yaml" <<YAML
listen: {address: 127.0.0.1, port: $port, threads: $THREADS}
log_level: warn
store:
  plugin: $work/bin/store_sqlite.so
  options: {path: $work/scim.db, synchronous: FULL${STORE_OPTIONS:+, $STORE_OPTIONS}}
rate_limit: {requests_per_second: 0}   # measuring capacity, not the limiter
limits: {max_body_bytes: 8388608, max_results: 1000, bulk_max_operations: $BULK_OPS, bulk_max_payload: 8388608}
admin:
  listen: {address: 127.0.0.1, port: $aport}
  token_sha256: $(printf %s "$ADMIN_TOKEN" | sha256sum | cut -d' ' -f1)
YAML
"$work/bin/scimsyncd" -c "$work/scimsyncd.yaml" >"$work/scimsyncd.log" 2>&1 &
srv_pid=$!
"$work/bin/canned" "$cport" "$THREADS" >"$work/canned.log" 2>&1 &
canned_pid=$!
if ! wait_http "$base/ServiceProviderConfig" 20 "$srv_pid"; then
	cat "$work/scimsyncd.log" >&2
	echo "run.sh: scimsyncd did not come up on port $port" >&2
	exit 1
fi
if ! wait_http "$cbase/" 20 "$canned_pid"; then
	cat "$work/canned.log" >&2
	echo "run.sh: the canned server did not come up on port $cport" >&2
	exit 1
fi
log "scimsyncd pid $srv_pid on :$port ($THREADS threads), canned pid $canned_pid on :$cport"
# The production path: a tenant and a token made with the admin API.
abase="http://127.0.0.1:$aport/api/v1"
curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" "$abase/tenants" \
	-d '{"name": "bench"}' >/dev/null
TOKEN=$(curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$abase/tenants/bench/scim/tokens" -d '{"name": "wrk"}' | jq -r .token)
auth="Authorization: Bearer $TOKEN"

# ---------------------------------------------------------------- wrk
declare -A RPS P50 P99 BAD REQS READDS
export BENCH_LUA_DIR="$here"

# CPU accounting, to see whether a figure is the server's or the machine's:
# busy jiffies of the whole machine, and of one process (USER_HZ = 100).
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
proc_cpu() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
declare -A SRVCPU WRKCPU OTHERCPU
rss_trail=""
rss_mark() { # LABEL
	[ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null || return 0
	rss_trail+="${rss_trail:+, }$1 $(awk '$1 == "VmRSS:" { printf "%.0f", $2 / 1024 }' "/proc/$srv_pid/status") MB"
}

# run_wrk NAME PID CONNS SECS URL SCRIPT [ARGS...]
# PID: the server under test, for its CPU time.
run_wrk() {
	local name=$1 pid=$2 conns=$3 secs=$4 url=$5 script=$6 line
	local b0 b1 p0 p1 t0w t1w wcpu TIMEFORMAT='%U %S'
	shift 6
	log "wrk $name: -t$THREADS -c$conns -d${secs}s"
	b0=$(cpu_busy) p0=$(proc_cpu "$pid") t0w=$(date +%s.%N)
	{ time wrk -t"$THREADS" -c"$conns" -d"${secs}s" --timeout 10s --latency \
		-s "$here/$script" "$url" -- "$@" >"$work/wrk-$name.txt" 2>&1 || true; } 2>"$work/time-$name.txt"
	b1=$(cpu_busy) p1=$(proc_cpu "$pid") t1w=$(date +%s.%N)
	wcpu=$(awk '{ print $1 + $2 }' "$work/time-$name.txt")
	sed 's/^/    /' "$work/wrk-$name.txt" >&2
	line=$(grep '^BENCHRESULT' "$work/wrk-$name.txt" || true)
	if [ -z "$line" ]; then
		fail "$name: wrk gave no result"
		return 0
	fi
	eval "local $(echo "${line#BENCHRESULT }")"
	RPS[$name]=$rps
	P50[$name]=$p50_us
	P99[$name]=$p99_us
	REQS[$name]=$requests
	READDS[$name]=$readds
	BAD[$name]=$((non2xx + connect + read + write + timeout))
	# Server CPU per request (µs), cores used by wrk and by everything
	# else on the machine (other builds and tests skew the figures).
	if ! kill -0 "$pid" 2>/dev/null; then
		p1=$p0 # gone: no CPU figures
		SRVCPU[$name]="—" WRKCPU[$name]="—" OTHERCPU[$name]="—"
	fi
	[ -n "${SRVCPU[$name]:-}" ] || SRVCPU[$name]=$(awk -v p=$((p1 - p0)) -v n="$requests" 'BEGIN { printf "%.0f", (n > 0 ? p * 10000 / n : 0) }')
	[ -n "${WRKCPU[$name]:-}" ] || WRKCPU[$name]=$(awk -v w="$wcpu" -v t="$t0w" -v u="$t1w" 'BEGIN { printf "%.2f", w / (u - t) }')
	[ -n "${OTHERCPU[$name]:-}" ] || OTHERCPU[$name]=$(awk -v b=$((b1 - b0)) -v p=$((p1 - p0)) -v w="$wcpu" -v t="$t0w" -v u="$t1w" \
		'BEGIN { o = ((b - p) / 100 - w) / (u - t); printf "%.2f", o < 0 ? 0 : o }')
	log "$name: $rps req/s; server $(awk -v p=$((p1 - p0)) -v t="$t0w" -v u="$t1w" 'BEGIN { printf "%.2f", p / 100 / (u - t) }') cores, wrk ${WRKCPU[$name]}, other processes ${OTHERCPU[$name]}"
	if ((BAD[$name] > 0)); then
		fail "$name: $non2xx non-2xx responses, socket errors connect $connect read $read write $write timeout $timeout (of $requests)"
	fi
	if ((requests == 0)); then
		fail "$name: no request completed"
	fi
}

total_users() {
	curl -s --max-time 30 -H "$auth" "$base/Users?count=0" |
		jq -r '.totalResults // empty'
}


# ---------------------------------------------------------------- report
ms() { [ -n "${1:-}" ] && awk -v u="$1" 'BEGIN { printf (u < 10000 ? "%.2f ms" : "%.1f ms"), u / 1000 }' || echo "—"; }
num() { [ -n "${1:-}" ] && printf "%.0f" "$1" || echo "—"; }
mb() { [ -n "${1:-}" ] && awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }' || echo "—"; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }'; }
row() { # NAME LABEL TARGET
	local n=$1
	if [ -n "${RPS[$n]:-}" ]; then
		echo "| $2 | $(num "${RPS[$n]}") | $(ms "${P50[$n]}") | $(ms "${P99[$n]}") | ${BAD[$n]} of ${REQS[$n]} | $3 | $(us "${SRVCPU[$n]:-}") | ${WRKCPU[$n]} | ${OTHERCPU[$n]} |"
	else
		echo "| $2 | — | — | — | not run | $3 | | | |"
	fi
}
us() { case $1 in [0-9]*) echo "$1 µs" ;; *) echo "${1:-—}" ;; esac; }
verdict() { [ "$1" = 1 ] && echo "ok" || echo "**MISSED**"; }

summarize_and_exit() {
	local t_get="≥ 50% of canned" t_filter="≥ 50% of canned" t_post="≥ 5,000/s"
	local t_pbig="≈ empty group (≥ 0.8×)" t_rss="< 200 MB" ok rss_end hwm_end
	local c=${RPS[canned]:-}
	trap - ERR
	set +e
	if [ -n "$c" ] && [ -n "${RPS[get_id]:-}" ]; then
		ok=$(awk -v a="${RPS[get_id]}" -v b="$c" 'BEGIN { print (a >= 0.5 * b) }')
		t_get="$(pct "${RPS[get_id]}" "$c")% of canned (target ≥ 50%): $(verdict "$ok")"
	fi
	if [ -n "$c" ] && [ -n "${RPS[get_filter]:-}" ]; then
		ok=$(awk -v a="${RPS[get_filter]}" -v b="$c" 'BEGIN { print (a >= 0.5 * b) }')
		t_filter="$(pct "${RPS[get_filter]}" "$c")% of canned (target ≥ 50%): $(verdict "$ok")"
	fi
	local t_load="$t_post"
	if [ -n "${RPS[post_load]:-}" ]; then
		ok=$(awk -v a="${RPS[post_load]}" 'BEGIN { print (a >= 5000) }')
		t_load="target ≥ 5,000/s: $(verdict "$ok")"
	fi
	if [ -n "${RPS[post]:-}" ]; then
		ok=$(awk -v a="${RPS[post]}" 'BEGIN { print (a >= 5000) }')
		t_post="target ≥ 5,000/s: $(verdict "$ok")"
	fi
	if [ -n "${RPS[patch_big]:-}" ] && [ -n "${RPS[patch_small]:-}" ]; then
		ok=$(awk -v a="${RPS[patch_big]}" -v b="${RPS[patch_small]}" 'BEGIN { print (b > 0 && a >= 0.8 * b) }')
		t_pbig="$(awk -v a="${RPS[patch_big]}" -v b="${RPS[patch_small]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')× the empty group (target ≈ 1, ≥ 0.8): $(verdict "$ok")"
	fi
	if [ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null; then
		rss_end=$(kb_of "$srv_pid" VmRSS)
		anon_end=$(kb_of "$srv_pid" RssAnon)
		file_end=$(kb_of "$srv_pid" RssFile)
		hwm_end=$(kb_of "$srv_pid" VmHWM)
	fi
	local hwm_max=${hwm_end:-${HWM_LOAD:-}}
	if [ -n "$hwm_max" ]; then
		ok=$(awk -v k="$hwm_max" 'BEGIN { print (k < 204800) }')
		t_rss="peak (VmHWM) $(mb "$hwm_max")"
		[ -n "${hwm_end:-}" ] || t_rss+=", last seen before the server went away,"
		t_rss+=" (target < 200 MB): $(verdict "$ok")"
	fi
	local t_rss_pre=""
	if [ -n "${HWM_PRE:-}" ]; then
		ok=$(awk -v k="$HWM_PRE" 'BEGIN { print (k < 204800) }')
		t_rss_pre="< 200 MB: $(verdict "$ok")"
	fi
	local rev
	rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo "?")
	if [ -n "$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		rev="$rev+uncommitted changes"
	fi
	{
		echo "## scimsyncd benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo
		echo "$(nproc) cores, $(uname -r); tree $rev; scimsyncd and canned server: $THREADS worker threads;" \
			"SQLite store, synchronous=FULL (every 2xx write is durable);" \
			"wrk -t$THREADS, ${DURATION}s per test, -c$CONNS for reads, PATCH and canned, -c$POST_CONNS for POST;" \
			"$USERS users read from, $POOL more as the add-member pool. Load average at the start: $LOADAVG0."
		echo
		echo "| Test | req/s | p50 | p99 | failed | vs target | server CPU/req | wrk cores | other cores |"
		echo "|---|---:|---:|---:|---:|---|---:|---:|---:|"
		row canned "Canned libevhtp server: the ceiling (same GET script${CANNED_RUNS:+; best of 2 runs: $CANNED_RUNS})" "—"
		row get_id "GET /Users/{id}, random id" "$t_get"
		row get_filter "GET /Users?filter=userName eq \"…\", random user" "$t_filter"
		row post_load "POST /Users, loading run (0 → ~$(num "${REQS[post_load]:-0}") users, ${LOAD_SECS}s, -c$POST_CONNS)" "$t_load"
		row post "POST /Users at ≥ $USERS users (-c$POST_CONNS)" "$t_post"
		row patch_big "PATCH add 1 member, group of $USERS members" "$t_pbig"
		row patch_small "PATCH add 1 member, group starting empty (${SMALL_AFTER:-?} at the end)" "—"
		echo
		echo "| Other figure | value | vs target |"
		echo "|---|---|---|"
		echo "| scimsyncd RSS after loading $USERS+ users | VmRSS $(mb "${RSS_LOAD:-}"), VmHWM $(mb "${HWM_LOAD:-}") | |"
		[ -n "${HWM_PRE:-}" ] && echo "| scimsyncd RSS after the PATCH tests, before reading the groups whole | VmRSS $(mb "$RSS_PRE"), VmHWM $(mb "$HWM_PRE") | $t_rss_pre |"
		echo "| scimsyncd RSS at the end | VmRSS $(mb "${rss_end:-}"), VmHWM $(mb "${hwm_end:-}") | $t_rss |"
		[ -n "${anon_end:-}" ] && echo "| of which anonymous / file-backed (mapped database pages, reclaimable) | RssAnon $(mb "$anon_end"), RssFile $(mb "$file_end") | |"
		[ -n "$rss_trail" ] && echo "| scimsyncd VmRSS after each phase | $rss_trail | |"
		[ -n "${BULK_RATE:-}" ] && echo "| Bulk top-up (1,000 POSTs per request, 2 at a time) | $BULK_RATE users/s | |"
		[ -n "${list_secs:-}" ] && echo "| Cursor paging, count=1000, attributes=userName | ${listed:-?} users in ${list_secs}s ($pages pages) | |"
		[ -n "${fill_secs:-}" ] && echo "| Filling the big group, $GROUP_BATCH members per PATCH | ${fill_secs}s; first PATCH $FILL_FIRST ms, last $FILL_LAST ms | |"
		[ -n "${BIG_AFTER:-}" ] && echo "| GET /Groups/{id} of the big group at the end | $BIG_AFTER members, ${BIG_GET_SECS}s, $BIG_GET_BYTES bytes | |"
		if [ -n "${READDS[patch_big]:-}" ] && ((READDS[patch_big] + READDS[patch_small] > 0)); then
			echo "| PATCH requests that re-added a pool user (pool of $(wc -l <"$work/pool.txt")) | big ${READDS[patch_big]}, empty ${READDS[patch_small]} | |"
		fi
		noisy=$(for n in "${!OTHERCPU[@]}"; do echo "$n ${OTHERCPU[$n]}"; done | awk '$2 != "—" && $2 >= 0.25 { printf "%s%s (%s cores)", s, $1, $2; s = ", " }')
		if [ -n "$noisy" ]; then
			echo
			echo "Other processes were busy during: $noisy; those figures understate the server."
		fi
		echo
		if ((failures > 0)); then
			echo "**FAILED** ($failures):"
			echo
			for n in "${fail_notes[@]}"; do echo "- $n"; done
		else
			echo "All requests succeeded; scimsyncd stayed up."
		fi
	} >"$out/results.md"
	echo
	cat "$out/results.md"
	echo
	log "written to $out/results.md"
	if ((failures > 0)); then exit 1; fi
	exit 0
}

# ---------------------------------------------------------------- load
need=$((USERS + POOL))
run_wrk post_load "$srv_pid" "$POST_CONNS" "$LOAD_SECS" "$base" post_users.lua load "$TOKEN"
check_server "POST /Users (loading)" || summarize_and_exit

have=$(total_users)
[ -n "$have" ] || { fail "cannot count users"; summarize_and_exit; }
log "$have users after the POST run; topping up to $need with Bulk"

# bulk_batch N: one BulkRequest of up to BULK_OPS user POSTs.
bulk_batch() {
	local b=$1 n=$2 f="$work/bulk-$1.json"
	awk -v pfx="bulk.b$b" -v n="$n" 'BEGIN {
		printf "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:BulkRequest\"],\"Operations\":["
		for (i = 1; i <= n; i++) {
			u = pfx "." i "@bench.example.com"
			printf "%s{\"method\":\"POST\",\"path\":\"/Users\",\"bulkId\":\"u%d\",\"data\":{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],\"userName\":\"%s\",\"externalId\":\"%s\",\"active\":true,\"displayName\":\"Bulk User %d\",\"name\":{\"formatted\":\"Bulk User %d\",\"givenName\":\"Bulk\",\"familyName\":\"User %d\"},\"title\":\"Engineer\",\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"%s\"}],\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"%d\",\"department\":\"Engineering\",\"costCenter\":\"CC%03d\",\"organization\":\"Contoso\"}}}", (i > 1 ? "," : ""), i, u, pfx "-" i, i, i, i, u, i, i % 1000
		}
		printf "]}"
	}' >"$f"
	local code
	code=$(curl -s -o "$f.out" -w '%{http_code}' --max-time 120 -H "$auth" \
		-H 'Content-Type: application/scim+json' --data-binary "@$f" "$base/Bulk")
	if [ "$code" != 200 ]; then
		echo "bulk $b: HTTP $code: $(head -c 300 "$f.out")"
		return 0
	fi
	jq -r --arg b "$b" '[.Operations[] | select(.status != "201")] |
		if length > 0 then "bulk \($b): \(length) operations failed, e.g. \(.[0] | tojson)" else empty end' "$f.out"
	rm -f "$f" "$f.out"
}
if ((have < need)); then
	missing=$((need - have))
	nb=$(((missing + BULK_OPS - 1) / BULK_OPS))
	bulk_t0=$(date +%s.%N)
	# Two Bulk streams at a time (one per core).
	for ((b = 0; b < nb; b += 2)); do
		bulk_pids=()
		for ((j = b; j < b + 2 && j < nb; j++)); do
			n=$((missing - j * BULK_OPS))
			((n > BULK_OPS)) && n=$BULK_OPS
			bulk_batch "$j" "$n" >"$work/bulk-$j.err" &
			bulk_pids+=($!)
		done
		wait "${bulk_pids[@]}"
		for ((j = b; j < b + 2 && j < nb; j++)); do
			if [ -s "$work/bulk-$j.err" ]; then
				fail "$(head -c 400 "$work/bulk-$j.err")"
			fi
		done
		check_server "Bulk top-up" || summarize_and_exit
		((failures == 0)) || summarize_and_exit
	done
	bulk_secs=$(echo "$(date +%s.%N) - $bulk_t0" | bc)
	BULK_RATE=$(echo "$missing / $bulk_secs" | bc)
	log "Bulk: $missing users in ${bulk_secs}s ($BULK_RATE users/s)"
fi
have=$(total_users)
log "$have users"
((have >= need)) || { fail "only $have users after the top-up (want $need)"; summarize_and_exit; }
RSS_LOAD=$(kb_of "$srv_pid" VmRSS)
HWM_LOAD=$(kb_of "$srv_pid" VmHWM)
log "RSS after loading: VmRSS ${RSS_LOAD} kB, VmHWM ${HWM_LOAD} kB"
rss_mark "loaded"

# Every user's id and userName, by cursor paging.
list_t0=$(date +%s.%N)
cursor=""
pages=0
: >"$work/users.txt"
while :; do
	curl -s -G --max-time 60 -H "$auth" --data-urlencode "cursor=$cursor" \
		--data "count=1000&attributes=userName" "$base/Users" >"$work/page.json" || true
	cursor=$(jq -r '((.Resources // [])[] | "U \(.id) \(.userName)"), "C \(.nextCursor // "")"' \
		"$work/page.json" | tee -a "$work/users.txt" | awk '$1 == "C" { print $2 }')
	pages=$((pages + 1))
	[ -n "$cursor" ] || break
	((pages < 10000)) || { fail "cursor paging does not end"; break; }
done
list_secs=$(echo "$(date +%s.%N) - $list_t0" | bc)
awk '$1 == "U" { print $2, $3 }' "$work/users.txt" >"$work/idname.txt"
listed=$(wc -l <"$work/idname.txt")
log "listed $listed users in $pages pages, ${list_secs}s"
if ((listed != have)); then
	fail "cursor paging listed $listed users, totalResults says $have"
	((listed >= need)) || summarize_and_exit
fi
# The first USERS users (in creation order) are the big group's members and
# the read tests' targets; the rest are the add-member pool.
head -n "$USERS" "$work/idname.txt" | awk '{ print $1 }' >"$work/ids.txt"
head -n "$USERS" "$work/idname.txt" | awk '{ n = $2; gsub(/%/, "%25", n); gsub(/@/, "%40", n); gsub(/\+/, "%2B", n); print n }' >"$work/names.txt"
tail -n +"$((USERS + 1))" "$work/idname.txt" | awk '{ print $1 }' >"$work/pool.txt"
check_server "listing users" || summarize_and_exit
rss_mark "listed"

# ---------------------------------------------------------------- reads
run_wrk canned "$canned_pid" "$CONNS" "$DURATION" "$cbase" get_user.lua "$work/ids.txt" "$TOKEN"
kill -0 "$canned_pid" 2>/dev/null || fail "the canned server died"
run_wrk get_id "$srv_pid" "$CONNS" "$DURATION" "$base" get_user.lua "$work/ids.txt" "$TOKEN"
check_server "GET /Users/{id}" || summarize_and_exit
run_wrk get_filter "$srv_pid" "$CONNS" "$DURATION" "$base" filter_user.lua "$work/names.txt" "$TOKEN"
check_server "GET /Users?filter" || summarize_and_exit
# The ceiling again: other work on the machine moves it; the best run counts.
run_wrk canned2 "$canned_pid" "$CONNS" "$DURATION" "$cbase" get_user.lua "$work/ids.txt" "$TOKEN"
kill -0 "$canned_pid" 2>/dev/null || fail "the canned server died"
CANNED_RUNS="$(num "${RPS[canned]:-}") and $(num "${RPS[canned2]:-}") req/s"
if [ -n "${RPS[canned2]:-}" ] && awk -v a="${RPS[canned2]}" -v b="${RPS[canned]:-0}" 'BEGIN { exit !(a > b) }'; then
	for v in RPS P50 P99 BAD REQS SRVCPU WRKCPU OTHERCPU; do
		eval "$v[canned]=\${$v[canned2]}"
	done
fi
unset 'RPS[canned2]' 'OTHERCPU[canned2]'
rss_mark "reads"

# ---------------------------------------------------------------- writes
run_wrk post "$srv_pid" "$POST_CONNS" "$DURATION" "$base" post_users.lua post "$TOKEN"
check_server "POST /Users" || summarize_and_exit
rss_mark "POST"

# An empty group filled with the USERS members by PATCH batches.
new_group() {
	curl -s --max-time 30 -H "$auth" -H 'Content-Type: application/scim+json' \
		-d "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"$1\"}" \
		"$base/Groups" | jq -r '.id // empty'
}
big=$(new_group "bench big group")
small=$(new_group "bench empty group")
if [ -z "$big" ] || [ -z "$small" ]; then
	fail "cannot create the groups"
	check_server "POST /Groups" || true
	summarize_and_exit
fi
log "filling group $big with $USERS members, $GROUP_BATCH per PATCH"
fill_t0=$(date +%s.%N)
split -l "$GROUP_BATCH" -d -a 4 "$work/ids.txt" "$work/chunk."
: >"$work/fill.txt"
for c in "$work"/chunk.*; do
	awk 'BEGIN { printf "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"add\",\"path\":\"members\",\"value\":[" }
		{ printf "%s{\"value\":\"%s\"}", (NR > 1 ? "," : ""), $1 }
		END { printf "]}]}" }' "$c" >"$c.json"
	r=$(curl -s -o "$c.out" -w '%{http_code} %{time_total}' --max-time 120 -X PATCH \
		-H "$auth" -H 'Content-Type: application/scim+json' \
		--data-binary "@$c.json" "$base/Groups/$big" || echo "000 0")
	echo "$r" >>"$work/fill.txt"
	case $r in
	200* | 204*) rm -f "$c" "$c.json" "$c.out" ;;
	*)
		fail "filling the big group: PATCH gave HTTP ${r%% *}: $(head -c 300 "$c.out" 2>/dev/null)"
		check_server "filling the big group" || true
		summarize_and_exit
		;;
	esac
done
fill_secs=$(echo "$(date +%s.%N) - $fill_t0" | bc)
FILL_FIRST=$(awk 'NR == 1 { printf "%.0f", $2 * 1000 }' "$work/fill.txt")
FILL_LAST=$(awk 'END { printf "%.0f", $2 * 1000 }' "$work/fill.txt")
log "filled in ${fill_secs}s; first batch ${FILL_FIRST} ms, last ${FILL_LAST} ms"
rss_mark "group filled"

run_wrk patch_big "$srv_pid" "$CONNS" "$DURATION" "$base" patch_member.lua "$big" "$work/pool.txt" "$TOKEN"
check_server "PATCH add-member (big group)" || summarize_and_exit
rss_mark "PATCH big"
run_wrk patch_small "$srv_pid" "$CONNS" "$DURATION" "$base" patch_member.lua "$small" "$work/pool.txt" "$TOKEN"
check_server "PATCH add-member (empty group)" || summarize_and_exit
rss_mark "PATCH empty"
RSS_PRE=$(kb_of "$srv_pid" VmRSS)
HWM_PRE=$(kb_of "$srv_pid" VmHWM)

# Last, as it is the one step that needs much memory: read both groups
# whole, to check that every add-member request took effect exactly once.
# group_size ID -> "members seconds bytes"
group_size() {
	local t
	t=$(curl -s -o "$work/group.json" -w '%{time_total} %{size_download}' --max-time 120 \
		-H "$auth" "$base/Groups/$1?attributes=members") || true
	echo "$(jq -r '(.members // []) | length' "$work/group.json" 2>/dev/null || echo 0) $t"
}
# check_adds NAME GROUP_SIZE START_SIZE
check_adds() {
	local added=$(($2 - $3)) lo hi
	[ -n "${REQS[$1]:-}" ] || return 0
	lo=$((REQS[$1] - READDS[$1]))
	hi=$((lo + CONNS)) # requests still in flight when wrk stopped
	if ((added < lo || (READDS[$1] == 0 && added > hi))); then
		fail "$1: the group grew by $added members, but $lo distinct users were added (up to $hi with requests in flight)"
	fi
}
read -r BIG_AFTER BIG_GET_SECS BIG_GET_BYTES <<<"$(group_size "$big")"
check_server "GET /Groups/{id} of the big group" || summarize_and_exit
rss_mark "GET big group"
read -r SMALL_AFTER _ _ <<<"$(group_size "$small")"
check_server "GET /Groups/{id} of the small group" || summarize_and_exit
log "group sizes after the tests: big $BIG_AFTER (GET took ${BIG_GET_SECS}s, $BIG_GET_BYTES bytes), small $SMALL_AFTER"
check_adds patch_big "$BIG_AFTER" "$USERS"
check_adds patch_small "$SMALL_AFTER" 0

summarize_and_exit
rss_mark "PATCH big"
run_wrk patch_small "$srv_pid" "$CONNS" "$DURATION" "$base" patch_member.lua "$small" "$work/pool.txt" "$TOKEN"
check_server "PATCH add-member (empty group)" || summarize_and_exit
rss_mark "PATCH empty"
BIG_AFTER=$(group_size "$big")
SMALL_AFTER=$(group_size "$small")
log "group sizes after the tests: big $BIG_AFTER, small $SMALL_AFTER"

summarize_and_exit
