#!/usr/bin/env bash
# contrib/bench/pg_bench.sh - how fast does the PostgreSQL sink mirror
# users into PostgreSQL, next to what PostgreSQL takes from psql? One
# command:
#
#   bash contrib/bench/pg_bench.sh
#
# A throwaway cluster (tests/postgres/pg.sh, loopback, durable by
# default: fsync and synchronous_commit on) with the tables of
# mappings/postgres.sql, plus a column loaded_at DEFAULT clock_timestamp()
# the sink never writes, so the first and the last row of a run are
# timed by the server itself.
#
# 1. Ceilings, the rows the sink writes for these users (scim_id,
#    user_name, email, given_name, family_name, display_name, active,
#    scim_version) into copies of scim_users, from one psql session:
#    COPY; one INSERT ... ON CONFLICT DO UPDATE per row, each its own
#    transaction (autocommit); the same statements in one transaction.
# 2. The sink, end to end: a scimsyncd (SQLite store, synchronous=NORMAL)
#    with the postgres sink; N users POSTed through /Bulk (BULK
#    operations per request, two requests at a time); the clock stops
#    when the sink's lag is 0 (admin API).
# 3. The sink alone: N more users POSTed while the cluster is stopped
#    (the sink retries and keeps them queued); then it starts and the
#    backlog's drain is timed: wall clock to lag 0, and the first to the
#    last row (loaded_at).
#
# Knobs: N (20000), BULK (500), PIPELINE (true: the sink's option),
# DURABLE (1; 0: fsync off), SKIP_BUILD=1, KEEP=1.
# Needs: PostgreSQL server binaries and psql, curl, jq, python3.
set -eEuo pipefail
trap 'echo "pg_bench.sh: line $LINENO: failed: $BASH_COMMAND" >&2
[ ! -s "${work:-/nonexistent}/log" ] || tail -20 "$work/log" >&2' ERR

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
N=${N:-20000}
BULK=${BULK:-500}
PIPELINE=${PIPELINE:-true}
DURABLE=${DURABLE:-1}
PG_SH="$top/tests/postgres/pg.sh"
for t in curl jq python3 psql; do
	command -v "$t" >/dev/null || {
		echo "pg_bench.sh: '$t' is needed" >&2
		exit 2
	}
done
[ -n "${SKIP_BUILD:-}" ] || make -C "$top" -j"$(nproc)" >/dev/null
so="$top/plugins/sink-postgres/.libs/sink_postgres.so"
[ -e "$so" ] || {
	echo "pg_bench.sh: $so is not built" >&2
	exit 2
}

work=$(mktemp -d "${TMPDIR:-/tmp}/pgbench.XXXXXX")
chmod 755 "$work" # as root, the user postgres runs the server in it
pid=""
if [ "$DURABLE" = 1 ]; then export PG_DURABLE=1; fi
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	fi
	sh "$PG_SH" stop "$work/pg" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
sql() { sh "$PG_SH" psql "$work/pg" -At "$@"; }

# The users: Bulk bodies, and the rows the sink makes of them as COPY
# data and as INSERT statements.
python3 - "$work" "$N" "$BULK" <<'PY'
import json, sys, uuid
work, n, bulk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def user(i, prefix):
    un = "%s%05d@example.org" % (prefix, i)
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": un, "displayName": "User %s%05d" % (prefix, i),
            "name": {"givenName": "User", "familyName": "%s%05d" % (prefix, i)},
            "emails": [{"value": un, "type": "work", "primary": True}],
            "active": True}
for prefix in ("e", "q"):
    for k, off in enumerate(range(0, n, bulk)):
        ops = [{"method": "POST", "path": "/Users", "bulkId": "b%d" % i,
                "data": user(i, prefix)} for i in range(off, min(n, off + bulk))]
        with open("%s/bulk-%s-%04d.json" % (work, prefix, k), "w") as f:
            json.dump({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                       "Operations": ops}, f)
cols = "scim_id, user_name, email, given_name, family_name, display_name, active, scim_version"
with open(work + "/rows.copy", "w") as c, open(work + "/rows.sql", "w") as s:
    for i in range(n):
        u = user(i, "c")
        r = [str(uuid.uuid4()), u["userName"], u["userName"], "User",
             u["name"]["familyName"], u["displayName"], "true", "1"]
        c.write("\t".join(r) + "\n")
        s.write("INSERT INTO bench_insert AS t (%s) VALUES (%s) ON CONFLICT "
                "(scim_id) DO UPDATE SET %s;\n" % (
                    cols, ", ".join("'%s'" % v for v in r),
                    ", ".join("%s = EXCLUDED.%s" % (x, x)
                              for x in cols.split(", ")[1:])))
PY

port=$(sh "$PG_SH" start "$work/pg")
sql -f "$top/mappings/postgres.sql" >/dev/null
sql -c "ALTER TABLE scim_users ADD loaded_at timestamptz
	DEFAULT clock_timestamp();
	CREATE TABLE bench_copy (LIKE scim_users INCLUDING ALL);
	CREATE TABLE bench_insert (LIKE scim_users INCLUDING ALL);" >/dev/null
cols="scim_id, user_name, email, given_name, family_name, display_name, active, scim_version"

# 1. The ceilings.
t0=$(now)
sql -c "\\copy bench_copy ($cols) FROM '$work/rows.copy'" >/dev/null
t1=$(now)
copy=$(rate "$N" "$t0" "$t1")
t0=$(now)
sql -f "$work/rows.sql" >/dev/null
t1=$(now)
ins=$(rate "$N" "$t0" "$t1")
sql -c "TRUNCATE bench_insert" >/dev/null
t0=$(now)
sql -1 -f "$work/rows.sql" >/dev/null
t1=$(now)
ins1=$(rate "$N" "$t0" "$t1")
[ "$(sql -c 'SELECT count(*) FROM bench_insert')" = "$N" ] ||
	{ echo "INSERT: not $N rows" >&2; exit 1; }

# 2. The sink, end to end.
printf '%s\n' "$(cat "$work/pg/password")" >"$work/pg.pw"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p
	for p in $(shuf -i 20000-40000 -n 50); do
		port_free "$p" && [ "$p" != "${1:-}" ] && { echo "$p"; return; }
	done
	return 1
}
admin="benchadm_$$_$RANDOM"
write_config() {
	cat >"$work/c.yaml" <<YAML
listen: {address: 127.0.0.1, port: $hport, threads: 2}
log_level: warn
store:
  plugin: $top/plugins/store-sqlite/.libs/store_sqlite.so
  options: {path: $work/scim.db, synchronous: NORMAL}
rate_limit: {requests_per_second: 0}
limits: {bulk_max_operations: $BULK, bulk_max_payload: 16777216}
admin:
  listen: {address: 127.0.0.1, port: $aport}
  token_sha256: $(printf %s "$admin" | sha256sum | cut -d' ' -f1)
mappings:
  postgres: $top/mappings/postgres.yaml
sinks:
  pg:
    plugin: $so
    mapping: postgres
    retry: {initial_ms: 20, max_ms: 50}
    options:
      conninfo: "host=127.0.0.1 port=$port dbname=scimsync user=scimsync"
      password_file: "$work/pg.pw"
      pipeline: "$PIPELINE"
YAML
}
# Start scimsyncd and wait until it answers; the ports picked may be
# taken meanwhile by someone else: then again with others.
start_daemon() {
	local _try
	for _try in 1 2 3 4 5; do
		hport=$(pick_port)
		aport=$(pick_port "$hport")
		write_config
		"$top/engine/scimsyncd" -c "$work/c.yaml" >"$work/log" 2>&1 &
		pid=$!
		A="http://127.0.0.1:$aport/api/v1"
		for _ in $(seq 600); do
			curl -sf "$A/health" >/dev/null && return 0
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
		pid=""
		grep -q "in use" "$work/log" || break
	done
	tail -20 "$work/log" >&2
	exit 1
}
start_daemon
H="Authorization: Bearer $admin"
curl -sf -H "$H" "$A/tenants" -d '{"name":"bench"}' >/dev/null
token=$(curl -sf -H "$H" "$A/tenants/bench/scim/tokens" -d '{"name":"b"}' | jq -r .token)
post_all() { # prefix
	printf '%s\0' "$work"/bulk-"$1"-*.json | xargs -0 -P 2 -I{} curl -sf -o /dev/null \
		-H "Authorization: Bearer $token" \
		-H "Content-Type: application/scim+json" \
		--data-binary @{} "http://127.0.0.1:$hport/scim/v2/Bulk"
}
# One process polling (a curl and a jq every 20 ms would take a good part
# of a small machine's CPU from what is measured).
wait_drained() {
	python3 - "$A/sinks" "$admin" <<'PY'
import json, sys, time, urllib.request
req = urllib.request.Request(sys.argv[1],
                             headers={"Authorization": "Bearer " + sys.argv[2]})
while json.load(urllib.request.urlopen(req))["sinks"][0]["lag"] != 0:
    time.sleep(0.02)
PY
}
count() { sql -c "SELECT count(*) FROM scim_users WHERE user_name LIKE '$1%'"; }
# CPU seconds (user + system) of a process or thread, from /proc.
cpu_of() { # /proc/PID[/task/TID]
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "$1/stat" 2>/dev/null || echo 0
}
sink_thread() {
	for t in /proc/$pid/task/*; do
		[ "$(cat "$t/comm")" = sink-pg ] && { echo "$t"; return; }
	done
}
t0=$(now)
post_all e
t1=$(now)
wait_drained
t2=$(now)
got=$(count e)
[ "$got" = "$N" ] || { echo "sink: $got of $N rows" >&2; exit 1; }
e2e=$(rate "$N" "$t0" "$t2")
posts=$(rate "$N" "$t0" "$t1")

# 3. The sink alone: a backlog, then the drain.
sh "$PG_SH" stop "$work/pg"
post_all q
backlog=$(curl -sf -H "$H" "$A/sinks" | jq .sinks[0].lag)
sink_cpu0=$(cpu_of "$(sink_thread)")
sh "$PG_SH" start "$work/pg" >/dev/null
t3=$(now) # the sink retries every 50 ms at most: it starts right away
wait_drained
t4=$(now)
sink_cpu=$(awk -v a="$sink_cpu0" -v b="$(cpu_of "$(sink_thread)")" 'BEGIN { printf "%.2f", b - a }')
# The sink's backend: new with the restart, so all its CPU is the drain's.
bpid=$(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'scimsync'")
backend_cpu=$(cpu_of "/proc/$bpid")
got=$(count q)
[ "$got" = "$N" ] || { echo "drain: $got of $N rows" >&2; exit 1; }
drain=$(rate "$N" "$t3" "$t4")
span=$(sql -c "SELECT extract(epoch FROM max(loaded_at) - min(loaded_at))
	FROM scim_users WHERE user_name LIKE 'q%'")
rows=$(awk -v n="$N" -v s="$span" 'BEGIN { printf "%.0f", (n - 1) / s }')
st=$(curl -sf -H "$H" "$A/sinks" | jq -c '.sinks[0] | {delivered, retries, failed, dead_letters}')

awk -v n="$N" -v c="$copy" -v i="$ins" -v i1="$ins1" -v e="$e2e" \
	-v p="$posts" -v d="$drain" -v r="$rows" -v b="$backlog" \
	-v st="$st" -v pl="$PIPELINE" -v du="$DURABLE" -v sc="$sink_cpu" \
	-v bc="$backend_cpu" -v w="$(awk -v a="$t3" -v b="$t4" 'BEGIN { print b - a }')" 'BEGIN {
	printf "users: %d (8 columns each); cluster durable: %s; sink pipeline: %s\n", n, du == 1 ? "yes" : "no", pl
	printf "COPY, one psql session (ceiling):                 %7d rows/s\n", c
	printf "INSERT ... ON CONFLICT per row, autocommit:       %7d rows/s\n", i
	printf "INSERT ... ON CONFLICT per row, one transaction:  %7d rows/s\n", i1
	printf "scimsyncd + postgres sink, POST to in PostgreSQL: %7d users/s (POST /Bulk alone: %d users/s)\n", e, p
	printf "sink draining a backlog of %d events:          %7d users/s to lag 0; %d rows/s first to last row (%.0f%% of COPY)\n", b, d, r, 100 * r / c
	printf "CPU during the drain (%.2f s): postgres backend %.2f s, sink thread %.2f s\n", w, bc, sc
	printf "sink counters: %s\n", st
}'
