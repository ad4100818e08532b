#!/usr/bin/env bash
# contrib/bench/ldap_bench.sh - how fast does the LDAP sink mirror users
# into slapd, next to what slapd takes from ldapadd? One command:
#
#   bash contrib/bench/ldap_bench.sh
#
# 1. Ceiling: ldapadd of N inetOrgPerson entries (the attributes the sink
#    writes for these users: mapping mappings/ldap-inetorgperson.yaml, plus
#    its id in description) into a fresh slapd, one LDIF file, one
#    connection.
# 2. The sink, end to end: a fresh slapd and a scimsyncd (SQLite store,
#    synchronous=NORMAL) with the LDAP sink; N users POSTed through
#    /Bulk (BULK operations per request, two requests at a time); the
#    clock stops when the sink's lag is 0 (admin API), and every user is
#    then checked to be in slapd.
# 3. The sink alone: N more users POSTed while slapd is stopped (the
#    sink answers retry and keeps them queued); then slapd starts and the
#    backlog's drain is timed.
# The slapds are the test suite's (tests/ldap/slapd.sh: mdb, dbnosync,
# equality indexes on uid, cn, description, member), on loopback, each in
# its own temp dir, stopped at the end.
#
# Knobs: N (5000), BULK (500), SKIP_BUILD=1, KEEP=1.
# Needs: slapd, ldap-utils, curl, jq, python3.
set -eEuo pipefail
trap 'echo "ldap_bench.sh: line $LINENO: failed: $BASH_COMMAND" >&2' ERR

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
N=${N:-5000}
BULK=${BULK:-500}
SLAPD_SH="$top/tests/ldap/slapd.sh"
for t in curl jq python3 ldapadd ldapsearch; do
	command -v "$t" >/dev/null || {
		echo "ldap_bench.sh: '$t' is needed" >&2
		exit 2
	}
done
[ -n "${SKIP_BUILD:-}" ] || make -C "$top" -j"$(nproc)" >/dev/null
so="$top/plugins/sink-ldap/.libs/sink_ldap.so"
[ -e "$so" ] || {
	echo "ldap_bench.sh: $so is not built" >&2
	exit 2
}

work=$(mktemp -d "${TMPDIR:-/tmp}/ldapbench.XXXXXX")
pid=""
export SLAPD_ROOTPW="bench-$$-$RANDOM"
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	fi
	for d in "$work"/slapd-*; do
		[ -d "$d" ] && sh "$SLAPD_SH" stop "$d" >/dev/null 2>&1 || true
	done
	[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
count_people() {
	ldapsearch -LLL -x -H "$1" -D cn=admin,dc=example,dc=org \
		-w "$SLAPD_ROOTPW" -b ou=people,dc=example,dc=org -s one \
		-z 0 "(uid=$2*)" 1.1 | grep -c '^dn:' || true
}

# The users: Bulk bodies and the LDIF of the same entries.
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
with open(work + "/users.ldif", "w") as f:
    for i in range(n):
        u = user(i, "c")
        f.write("dn: uid=c%05d,ou=people,dc=example,dc=org\n"
                "objectClass: top\nobjectClass: person\n"
                "objectClass: organizationalPerson\nobjectClass: inetOrgPerson\n"
                "uid: c%05d\ncn: %s\nsn: %s\ngivenName: User\n"
                "displayName: %s\nmail: %s\ndescription: scimsync:%s\n\n"
                % (i, i, u["displayName"], u["name"]["familyName"],
                   u["displayName"], u["userName"], uuid.uuid4()))
PY

# 1. The ceiling.
url=$(sh "$SLAPD_SH" start "$work/slapd-ceiling")
t0=$(now)
ldapadd -x -H "$url" -D cn=admin,dc=example,dc=org -w "$SLAPD_ROOTPW" \
	-f "$work/users.ldif" >/dev/null
t1=$(now)
got=$(count_people "$url" c)
[ "$got" = "$N" ] || { echo "ldapadd: $got of $N entries" >&2; exit 1; }
ceiling=$(rate "$N" "$t0" "$t1")
sh "$SLAPD_SH" stop "$work/slapd-ceiling"

# 2. The sink, end to end.
sdir="$work/slapd-sink"
url=$(sh "$SLAPD_SH" start "$sdir")
printf '%s' "$SLAPD_ROOTPW" >"$work/bind.pw"
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
listen: {address: 127.0.0.1, port: $port, threads: 2}
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
  ldap: $top/mappings/ldap-inetorgperson.yaml
sinks:
  ldap:
    plugin: $so
    mapping: ldap
    retry: {initial_ms: 20, max_ms: 50}
    options:
      url: "$url"
      bind_dn: "cn=admin,dc=example,dc=org"
      bind_password_file: "$work/bind.pw"
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
token=$(curl -sf -H "$H" "$A/tenants/bench/scim/tokens" -d '{"name":"b"}' | jq -r .token)
post_all() { # prefix
	ls "$work"/bulk-"$1"-*.json | xargs -P 2 -I{} curl -sf -o /dev/null \
		-H "Authorization: Bearer $token" \
		-H "Content-Type: application/scim+json" \
		--data-binary @{} "http://127.0.0.1:$port/scim/v2/Bulk"
}
wait_drained() {
	while [ "$(curl -sf -H "$H" "$A/sinks" | jq .sinks[0].lag)" != 0 ]; do
		sleep 0.02
	done
}
t0=$(now)
post_all e
t1=$(now)
wait_drained
t2=$(now)
got=$(count_people "$url" e)
[ "$got" = "$N" ] || { echo "sink: $got of $N users in slapd" >&2; exit 1; }
e2e=$(rate "$N" "$t0" "$t2")
posts=$(rate "$N" "$t0" "$t1")

# 3. The sink alone: a backlog, then the drain.
sh "$SLAPD_SH" stop "$sdir"
post_all q
backlog=$(curl -sf -H "$H" "$A/sinks" | jq .sinks[0].lag)
sh "$SLAPD_SH" start "$sdir" >/dev/null
t3=$(now) # the sink retries every 50 ms at most: it starts right away
wait_drained
t4=$(now)
got=$(count_people "$url" q)
[ "$got" = "$N" ] || { echo "drain: $got of $N users in slapd" >&2; exit 1; }
drain=$(rate "$N" "$t3" "$t4")
st=$(curl -sf -H "$H" "$A/sinks" | jq -c '.sinks[0] | {delivered, retries, failed, dead_letters}')

awk -v n="$N" -v c="$ceiling" -v e="$e2e" -v p="$posts" -v d="$drain" \
	-v b="$backlog" -v st="$st" 'BEGIN {
	printf "users: %d (inetOrgPerson, 10 attributes)\n", n
	printf "ldapadd, one LDIF file (ceiling):          %6d users/s\n", c
	printf "scimsyncd + LDAP sink, POST to in LDAP:     %6d users/s (POST /Bulk alone: %d users/s)\n", e, p
	printf "LDAP sink draining a backlog of %d events: %6d users/s (%.0f%% of the ceiling)\n", b, d, 100 * d / c
	printf "sink counters: %s\n", st
}'
