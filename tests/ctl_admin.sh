#!/bin/sh
# scimsyncctl against a real scimsyncd's admin API: tenants, tokens (the
# printed token works on the SCIM port, revocation stops it), audit, the
# table and --json outputs, exit codes and the delete confirmation.
set -eu
src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SCIMSYNC_BUILDDIR:-$src}
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl missing: skipped"; exit 77; }
tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
passes=0
fails=0
check() { # name condition-exit-status
	if [ "$2" = 0 ]; then passes=$((passes + 1)); else
		echo "FAIL: $1"; fails=$((fails + 1)); fi
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(free_port)
aport=$(free_port)
admin_token=scimadm_$(python3 -c 'import secrets; print(secrets.token_hex(32))')
printf '%s\n' "$admin_token" > "$tmp/admin.token"
ahash=$(printf %s "$admin_token" | python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
cat > "$tmp/c.yaml" <<YAML
listen: {address: 127.0.0.1, port: $port, threads: 2}
store:
  plugin: sqlite
  plugin_dir: $build/plugins
  options: {path: $tmp/scim.db}
admin:
  listen: {address: 127.0.0.1, port: $aport}
  token_sha256: $ahash
audit: {path: audit.log, database: audit.db}
YAML

ctl="$build/engine/scimsyncctl"
SCIMSYNC_ADMIN_URL=http://127.0.0.1:$aport
SCIMSYNC_ADMIN_TOKEN_FILE=$tmp/admin.token
export SCIMSYNC_ADMIN_URL SCIMSYNC_ADMIN_TOKEN_FILE
unset SCIMSYNC_ADMIN_TOKEN || true

# Before the daemon runs: the API cannot be reached (exit 3).
rc=0
"$ctl" tenant list >/dev/null 2>"$tmp/err" || rc=$?
test "$rc" = 3; check "unreachable admin API exits 3 (got $rc)" $?

"$build/engine/scimsyncd" -c "$tmp/c.yaml" 2>"$tmp/log" &
pid=$!
ready=1
for _ in $(seq 200); do
	"$ctl" health >/dev/null 2>&1 && { ready=0; break; }
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
check "daemon and admin API up" $ready
"$ctl" health | grep -q "^ok"; check "health prints ok" $?

# Tenants.
"$ctl" tenant create acme --description "production Okta" --rate 50 --burst 100 >"$tmp/out"
check "tenant create" $?
grep -q "rate_limit.requests_per_second: *50" "$tmp/out"; check "create shows the rate" $?
"$ctl" tenant create pilot >/dev/null; check "second tenant" $?
rc=0; "$ctl" tenant create acme >/dev/null 2>"$tmp/err" || rc=$?
test "$rc" = 1 && grep -q "exists" "$tmp/err"; check "duplicate tenant: exit 1 and why" $?
rc=0; "$ctl" tenant create 'Bad Name' >/dev/null 2>"$tmp/err" || rc=$?
test "$rc" = 1 && grep -q "HTTP 400" "$tmp/err"; check "bad tenant name refused" $?
"$ctl" tenant list >"$tmp/out"
head -1 "$tmp/out" | grep -q "^NAME *CREATED"; check "tenant list is a table" $?
grep -q "^acme " "$tmp/out" && grep -q "^pilot " "$tmp/out"; check "both tenants listed" $?
"$ctl" --json tenant list | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [t["name"] for t in d["tenants"]] == ["acme","pilot"]'
check "--json tenant list" $?
"$ctl" tenant set acme --audit-bodies 3 >/dev/null; check "tenant set" $?
"$ctl" --json tenant show acme | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["audit_bodies"]=={"enabled":True,"retention_days":3}, d; assert d["rate_limit"]["requests_per_second"]==50, d'
check "tenant set took effect" $?

# A tenant's own mapping file: checked when set, reloaded on SIGHUP, and
# dropped again with NAME=.
map="$src/mappings/ldap-inetorgperson.yaml"
"$ctl" tenant set acme --mapping "ldap=$map" >"$tmp/out"
grep -q "mappings.ldap: *$map" "$tmp/out"; check "tenant mapping set" $?
grep -q "tenant acme uses $map for 'ldap'" "$tmp/log"; check "tenant mapping loaded" $?
printf 'user:\n  uid: "{{ userName | nosuchfilter }}"\n' >"$tmp/bad.yaml"
rc=0; "$ctl" tenant set acme --mapping "ldap=$tmp/bad.yaml" >/dev/null 2>"$tmp/err" || rc=$?
test "$rc" = 1 && grep -q "bad.yaml:2:" "$tmp/err"; check "broken mapping refused with file:line" $?
"$ctl" --json tenant show acme | grep -q "ldap-inetorgperson.yaml"; check "refused file changed nothing" $?
kill -HUP "$pid"
ok=1
for _ in $(seq 200); do
	grep -q "mapping 'acme/ldap' ($map) reloaded" "$tmp/log" && { ok=0; break; }
	sleep 0.05
done
check "SIGHUP reloads the tenant's file" $ok
"$ctl" --json tenant set acme --mapping ldap= | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["mappings"]=={}, d'
check "NAME= drops the tenant's file" $?

# Tokens: the printed token works on the SCIM port, once revoked it does not.
"$ctl" token create acme okta-prod --expires-in 30 >"$tmp/out"
check "token create" $?
token=$(sed -n 's/^ *Token: *\(scim_[0-9a-f_]*\)$/\1/p' "$tmp/out")
echo "$token" | grep -Eq '^scim_[0-9a-f]{12}_[0-9a-f]{64}$'; check "token printed once, well formed" $?
grep -q "http://127.0.0.1:$port/scim/v2" "$tmp/out"; check "token create prints the SCIM base URL" $?
id=$(echo "$token" | cut -d_ -f2)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/scim/v2/Users")
test "$code" = 200; check "new token works on the SCIM port ($code)" $?
"$ctl" token list acme >"$tmp/out"
head -1 "$tmp/out" | grep -q "^ID *NAME *STATUS"; check "token list is a table" $?
grep -q "^$id *okta-prod *active" "$tmp/out"; check "token listed as active" $?
secret=$(echo "$token" | cut -d_ -f3)
! grep -rq "$secret" "$tmp/out"; check "token list never shows the secret" $?
"$ctl" --json token show acme "$id" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["last_used"] and d["last_client"]=="127.0.0.1", d'
check "last use recorded" $?
rc=0; "$ctl" token show pilot "$id" >/dev/null 2>&1 || rc=$?
test "$rc" = 1; check "a token is not found under another tenant" $?
"$ctl" token revoke acme "$id" | grep -q "revoked"; check "token revoke" $?
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/scim/v2/Users")
test "$code" = 401; check "revoked token refused at once ($code)" $?
grep -q "token revoked scim_$id" "$tmp/log"; check "the log says the token was revoked" $?

# Audit.
"$ctl" audit --tenant acme --limit 50 >"$tmp/out"
head -1 "$tmp/out" | grep -q "^TIME *KIND"; check "audit is a table" $?
grep -q "GET *\/scim\/v2\/Users *200" "$tmp/out"; check "SCIM request audited" $?
grep -q "GET *\/scim\/v2\/Users *401" "$tmp/out"; check "refused request audited" $?
grep -q "admin.*POST.*/api/v1/tenants/acme/scim/tokens *201" "$tmp/out"; check "admin operation audited" $?
"$ctl" --json audit --kind admin --tenant pilot | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["entries"] and all(e["kind"]=="admin" and e["tenant"]=="pilot" for e in d["entries"]), d'
check "audit filters by kind and tenant" $?

# Deleting a tenant needs the confirmation.
rc=0; "$ctl" tenant delete pilot </dev/null >/dev/null 2>&1 || rc=$?
test "$rc" = 2; check "delete without --confirm exits 2 (got $rc)" $?
rc=0; "$ctl" tenant delete pilot --confirm acme >/dev/null 2>&1 || rc=$?
test "$rc" = 2; check "delete with the wrong name exits 2" $?
"$ctl" tenant show pilot >/dev/null; check "pilot still there" $?
"$ctl" tenant delete pilot --confirm pilot | grep -q "deleted tenant pilot"; check "delete with --confirm" $?
rc=0; "$ctl" tenant show pilot >/dev/null 2>&1 || rc=$?
test "$rc" = 1; check "pilot gone" $?

# The admin credential is required.
rc=0; SCIMSYNC_ADMIN_TOKEN_FILE="" SCIMSYNC_ADMIN_TOKEN=scimadm_wrong "$ctl" tenant list >/dev/null 2>"$tmp/err" || rc=$?
test "$rc" = 1 && grep -q "HTTP 401" "$tmp/err"; check "wrong admin token: 401" $?
! grep -q "$admin_token" "$tmp/log" "$tmp/audit.log"; check "no admin token in the logs" $?
! grep -q "$secret" "$tmp/log" "$tmp/audit.log" "$tmp/audit.db"; check "no SCIM secret in the logs" $?

kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=""
test "$rc" = 0; check "clean exit on SIGTERM (got $rc)" $?

echo "$passes passed, $fails failed"
test "$fails" = 0
