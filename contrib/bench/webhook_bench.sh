#!/usr/bin/env bash
# contrib/bench/webhook_bench.sh - how fast does the webhook sink deliver,
# one event per POST and with batch: true, next to what the receiver takes
# on its own? One command:
#
#   bash contrib/bench/webhook_bench.sh
#
# 1. The sink draining a backlog, twice (one event per request, then
#    batch: true): a fresh scimsyncd (SQLite store, synchronous=NORMAL)
#    with the webhook sink posting to tests/webhook/receiver.py, which
#    checks every signature and parses every body. The receiver answers
#    503 while N users are POSTed through /Bulk, so the events queue in the
#    outbox; then it answers 200 and the clock runs until the sink's lag is
#    0 (admin API). The engine retries every 50 ms at most, so the drain
#    starts at once. The receiver's counts are then checked: N user.created
#    events, each id once, every signature good.
# 2. The receiver alone: wrk, one connection (as the sink uses), POSTing a
#    signed body like the sink's (one event, then a batch of 256), for
#    BENCH_SECS seconds. If the sink's rate is close to this, the receiver
#    (Python, one thread per connection, the GIL) is the ceiling, not the
#    sink; the CPU each process used during the drain says the same.
#
# Knobs: N (20000), BULK (1000), BENCH_SECS (5), SKIP_BUILD=1, KEEP=1.
# Needs: curl, jq, python3; wrk for part 2 (skipped without it).
set -eEuo pipefail
trap 'echo "webhook_bench.sh: line $LINENO: failed: $BASH_COMMAND" >&2' ERR

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
N=${N:-20000}
BULK=${BULK:-1000}
BENCH_SECS=${BENCH_SECS:-5}
for t in curl jq python3; do
	command -v "$t" >/dev/null || {
		echo "webhook_bench.sh: '$t' is needed" >&2
		exit 2
	}
done
[ -n "${SKIP_BUILD:-}" ] || make -C "$top" -j"$(nproc)" >/dev/null
so="$top/plugins/sink-webhook/.libs/sink_webhook.so"
[ -e "$so" ] || {
	echo "webhook_bench.sh: $so is not built" >&2
	exit 2
}

work=$(mktemp -d "${TMPDIR:-/tmp}/webhookbench.XXXXXX")
pid=""
rpid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	fi
	if [ -n "$rpid" ]; then
		kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null || true
	fi
	[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
# CPU seconds (user + system) a process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

openssl rand -hex 32 >"$work/secret" 2>/dev/null ||
	python3 -c 'import os; print(os.urandom(32).hex())' >"$work/secret"

# The users, as Bulk bodies (Entra-like: names, emails, enterprise
# extension).
python3 - "$work" "$N" "$BULK" <<'PY'
import json, sys
work, n, bulk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
def user(i, prefix):
    un = "%s%05d@example.org" % (prefix, i)
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "userName": un, "externalId": "ext-%s%05d" % (prefix, i),
            "displayName": "User %s%05d" % (prefix, i),
            "name": {"givenName": "User", "familyName": "%s%05d" % (prefix, i)},
            "emails": [{"value": un, "type": "work", "primary": True}],
            "title": "Engineer", "active": True,
            ENT: {"department": "R&D", "employeeNumber": str(i)}}
for prefix in ("u", "b"):
    for k, off in enumerate(range(0, n, bulk)):
        ops = [{"method": "POST", "path": "/Users", "bulkId": "b%d" % i,
                "data": user(i, prefix)} for i in range(off, min(n, off + bulk))]
        with open("%s/bulk-%s-%04d.json" % (work, prefix, k), "w") as f:
            json.dump({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                       "Operations": ops}, f)
PY

# The receiver: counts only (no per-delivery records), still verifying and
# parsing everything.
python3 "$top/tests/webhook/receiver.py" --secret-file "$work/secret" \
	--record ids >"$work/receiver.url" 2>"$work/receiver.err" &
rpid=$!
for _ in $(seq 100); do
	[ -s "$work/receiver.url" ] && break
	sleep 0.05
done
R=$(head -1 "$work/receiver.url")
rmode() { curl -sf -o /dev/null "$R/_control/mode" -d "$1"; }
rstats() { curl -sf "$R/_control/stats"; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p
	for p in $(shuf -i 20000-40000 -n 50); do
		port_free "$p" && [ "$p" != "${1:-}" ] && { echo "$p"; return; }
	done
	return 1
}

# run <label> <prefix> <batch true|false>: "rate requests cpu_d cpu_r
# bytes" into
# $work/<label>.result (not in a subshell: cleanup must see $pid).
run() {
	local label=$1 prefix=$2 batch=$3 port aport admin token A H t0 t1 c0 c1 r0 r1 st
	curl -sf -o /dev/null "$R/_control/reset" -d '{}'
	rmode '{"status": 503}'
	port=$(pick_port)
	aport=$(pick_port "$port")
	admin="benchadm_$$_$RANDOM"
	mkdir -p "$work/$label"
	cat >"$work/$label/c.yaml" <<YAML
listen: {address: 127.0.0.1, port: $port, threads: 2}
log_level: warn
store:
  plugin: $top/plugins/store-sqlite/.libs/store_sqlite.so
  options: {path: $work/$label/scim.db, synchronous: NORMAL}
rate_limit: {requests_per_second: 0}
limits: {bulk_max_operations: $BULK, bulk_max_payload: 67108864}
admin:
  listen: {address: 127.0.0.1, port: $aport}
  token_sha256: $(printf %s "$admin" | sha256sum | cut -d' ' -f1)
mappings:
  webhook: $top/mappings/webhook.yaml
sinks:
  hook:
    plugin: $so
    mapping: webhook
    retry: {initial_ms: 20, max_ms: 50}
    options:
      url: "$R/hook"
      secret_file: "$work/secret"
      batch: "$batch"
YAML
	"$top/engine/scimsyncd" -c "$work/$label/c.yaml" >"$work/$label/log" 2>&1 &
	pid=$!
	A="http://127.0.0.1:$aport/api/v1"
	H="Authorization: Bearer $admin"
	for _ in $(seq 200); do
		curl -sf "$A/health" >/dev/null && break
		sleep 0.05
	done
	curl -sf -H "$H" "$A/tenants" -d '{"name":"bench"}' >/dev/null
	token=$(curl -sf -H "$H" "$A/tenants/bench/scim/tokens" -d '{"name":"b"}' | jq -r .token)
	ls "$work"/bulk-"$prefix"-*.json | xargs -P 2 -I{} curl -sf -o /dev/null \
		-H "Authorization: Bearer $token" \
		-H "Content-Type: application/scim+json" \
		--data-binary @{} "http://127.0.0.1:$port/scim/v2/Bulk"
	while [ "$(curl -sf -H "$H" "$A/sinks" | jq .sinks[0].lag)" -lt "$N" ]; do
		sleep 0.05
	done
	curl -sf -o /dev/null "$R/_control/reset" -d '{}' # forget the 503s
	c0=$(cpu "$pid")
	r0=$(cpu "$rpid")
	t0=$(now)
	rmode '{"status": 200}'
	while [ "$(curl -sf -H "$H" "$A/sinks" | jq .sinks[0].lag)" != 0 ]; do
		sleep 0.02
	done
	t1=$(now)
	c1=$(cpu "$pid")
	r1=$(cpu "$rpid")
	st=$(rstats)
	[ "$(jq .events <<<"$st")" = "$N" ] && [ "$(jq .unique_ids <<<"$st")" = "$N" ] &&
		[ "$(jq .bad <<<"$st")" = 0 ] || {
		echo "webhook_bench.sh: $label: the receiver counts $st, expected $N events" >&2
		exit 1
	}
	[ "$(curl -sf -H "$H" "$A/sinks" | jq .sinks[0].dead_letters)" = 0 ]
	kill "$pid"
	wait "$pid" || true
	pid=""
	awk -v n="$N" -v a="$t0" -v b="$t1" -v req="$(jq .good <<<"$st")" \
		-v cd="$(awk -v x="$c0" -v y="$c1" 'BEGIN{print y-x}')" \
		-v cr="$(awk -v x="$r0" -v y="$r1" 'BEGIN{print y-x}')" \
		-v by="$(jq .bytes <<<"$st")" \
		'BEGIN { printf "%.0f %d %.0f %.0f %d\n", n / (b - a), req, 100 * cd / (b - a), 100 * cr / (b - a), by }' \
		>"$work/$label.result"
}

run single u false
run batch b true
read -r one_rate one_req one_cd one_cr one_bytes <"$work/single.result"
read -r bat_rate bat_req bat_cd bat_cr bat_bytes <"$work/batch.result"

# 2. The receiver alone, with wrk: bodies like the sink's, signed now
#    (good for the receiver's 5 minutes).
alone1="" alone256=""
if command -v wrk >/dev/null; then
	python3 - "$work" <<'PY'
import hashlib, hmac, json, sys, time, uuid
work = sys.argv[1]
secret = open(work + "/secret", "rb").read().rstrip(b"\r\n")
def event(i):
    uid = str(uuid.uuid4())
    un = "w%05d@example.org" % i
    return {"id": str(uuid.uuid4()), "type": "user.created", "tenant": "bench",
            "time": "2026-11-22T10:00:00.000Z", "time_ms": 1795341600000,
            "seq": i, "resource_type": "User", "resource_id": uid, "version": 1,
            "attributes": {"event": ["user.created"], "id": [uid],
                           "externalId": ["ext-%05d" % i], "userName": [un],
                           "active": ["true"], "displayName": ["User w%05d" % i],
                           "givenName": ["User"], "familyName": ["w%05d" % i],
                           "emails": [un], "title": ["Engineer"],
                           "department": ["R&D"], "employeeNumber": [str(i)],
                           "subjectHash": [hashlib.sha256(un.encode()).hexdigest()]},
            "resource": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                         "userName": un, "id": uid, "active": True,
                         "name": {"givenName": "User", "familyName": "w%05d" % i},
                         "emails": [{"value": un, "type": "work", "primary": True}],
                         "meta": {"resourceType": "User", "version": "W/\"1\""}}}
for name, body in (("one", event(0)), ("batch", {"events": [event(i) for i in range(256)]})):
    raw = json.dumps(body, separators=(",", ":"))
    ts = str(int(time.time()))
    sig = hmac.new(secret, ts.encode() + b"." + raw.encode(), hashlib.sha256).hexdigest()
    with open("%s/wrk-%s.lua" % (work, name), "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["X-Scimsync-Timestamp"] = "%s"\n'
                'wrk.headers["X-Scimsync-Signature"] = "v1=%s"\n'
                'wrk.body = [==[%s]==]\n' % (ts, sig, raw))
PY
	curl -sf -o /dev/null "$R/_control/reset" -d '{}'
	alone1=$(wrk -t1 -c1 -d"${BENCH_SECS}s" -s "$work/wrk-one.lua" "$R/hook" |
		awk '/Requests\/sec/ { printf "%.0f", $2 }')
	alone256=$(wrk -t1 -c1 -d"${BENCH_SECS}s" -s "$work/wrk-batch.lua" "$R/hook" |
		awk '/Requests\/sec/ { printf "%.1f", $2 }')
	[ "$(rstats | jq .bad)" = 0 ] || {
		echo "webhook_bench.sh: the receiver refused wrk's requests" >&2
		exit 1
	}
fi

awk -v n="$N" -v r1="$one_rate" -v q1="$one_req" -v d1="$one_cd" -v c1="$one_cr" \
	-v rb="$bat_rate" -v qb="$bat_req" -v db="$bat_cd" -v cb="$bat_cr" \
	-v a1="$alone1" -v ab="$alone256" -v by1="$one_bytes" -v byb="$bat_bytes" 'BEGIN {
	printf "events: %d user.created, drained from a backlog; bodies %.0f bytes per event (resource included), %.0f kB per batch\n", n, by1 / n, byb / qb / 1024
	printf "webhook sink, one event per POST:  %6d events/s  (%d requests; CPU: daemon %d%%, receiver %d%%)\n", r1, q1, d1, c1
	printf "webhook sink, batch: true:         %6d events/s  (%d requests, %.0f events each; CPU: daemon %d%%, receiver %d%%)\n", rb, qb, n / qb, db, cb
	if (a1 != "") {
		printf "receiver alone, wrk -c1, 1 event:  %6d requests/s (the ceiling for one event per POST: sink at %.0f%%)\n", a1, 100 * r1 / a1
		printf "receiver alone, wrk -c1, 256:      %6.1f requests/s = %d events/s (sink at %.0f%%)\n", ab, ab * 256, 100 * rb / (ab * 256)
	}
}'
