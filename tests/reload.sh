#!/bin/sh
# Mapping files reload on SIGHUP: a broken file keeps the previous version
# active and the log says why (file:line:column), a fixed one replaces it,
# and requests served meanwhile never fail. A broken file at startup stops
# the daemon with the same message.
set -eu
src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SCIMSYNC_BUILDDIR:-$src}
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skipped"; exit 77; }
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
# wait_log PATTERN: poll the log for up to 10 s.
wait_log() {
	for _ in $(seq 200); do
		grep -q -- "$1" "$tmp/log" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=scim_reload_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH
hash=$(printf %s "$token" | python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
mkdir -p "$tmp/maps"
cat > "$tmp/maps/ldap.yaml" <<'YAML'
user:
  uid: '{{ userName | split: "@" | first }}'
YAML
cat > "$tmp/c.yaml" <<YAML
listen: {address: 127.0.0.1, port: $port, threads: 2}
store:
  plugin: sqlite
  plugin_dir: $build/plugins
  options: {path: $tmp/scim.db}
auth: {token_sha256: $hash}
mappings:
  ldap: maps/ldap.yaml      # relative to this file
YAML

"$build/engine/scimsyncd" -c "$tmp/c.yaml" 2>"$tmp/log" &
pid=$!
wait_log "listening on"; check "daemon starts with a mapping" $?
grep -q "1 mapping file(s) loaded" "$tmp/log"; check "mapping loaded at start" $?

# Requests all along, counted by a small client; it stops when told to.
cat > "$tmp/load.py" <<'PY'
import os, sys, urllib.request
port, token, stop, out = sys.argv[1:5]
ok = bad = 0
while not os.path.exists(stop):
    for path in ("/ServiceProviderConfig", "/Users?count=1"):
        req = urllib.request.Request("http://127.0.0.1:%s/scim/v2%s" % (port, path),
                                     headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                ok += r.status == 200
                bad += r.status != 200
        except Exception:
            bad += 1
    with open(out + ".tmp", "w") as f:   # progress, replaced atomically
        f.write("%d %d\n" % (ok, bad))
    os.replace(out + ".tmp", out)
PY
python3 "$tmp/load.py" "$port" "$token" "$tmp/stop" "$tmp/load.out" &
loader=$!
# wait_requests N: until the client has N successful requests (30 s).
wait_requests() {
	for _ in $(seq 600); do
		if [ -f "$tmp/load.out" ]; then
			read -r ok bad < "$tmp/load.out"
			[ "$ok" -ge "$1" ] && return 0
		fi
		sleep 0.05
	done
	return 1
}
wait_requests 10; check "requests flowing before the reloads" $?

# A broken file: the previous version stays, the log says where.
cat > "$tmp/maps/ldap.yaml" <<'YAML'
user:
  uid: '{{ userName | no_such_filter }}'
YAML
kill -HUP "$pid"
wait_log "reload failed, the previous version stays active"; check "broken file reported" $?
grep "reload failed" "$tmp/log" | grep -q "maps/ldap.yaml:2:.*user.uid.*no_such_filter"
check "the report names file, line, attribute and problem" $?
kill -0 "$pid"; check "daemon still running" $?

# A fixed file replaces it.
cat > "$tmp/maps/ldap.yaml" <<'YAML'
user:
  uid: '{{ userName | split: "@" | first }}'
  mail: '{{ emails[type eq "work"].value }}'
YAML
kill -HUP "$pid"
wait_log "reloaded: 2 user"; check "fixed file reloaded" $?

read -r before _ < "$tmp/load.out"
wait_requests $((before + 10)); check "requests flowing after the reloads" $?
touch "$tmp/stop"
wait "$loader"
read -r ok bad < "$tmp/load.out"
[ "$ok" -gt 20 ] && [ "$bad" = 0 ]; check "requests during reloads: $ok ok, $bad failed" $?

kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=""
check "clean exit on SIGTERM" "$rc"

# At startup a broken file is fatal, with the same message.
cat > "$tmp/maps/ldap.yaml" <<'YAML'
user:
  uid: '{{ userName | no_such_filter }}'
YAML
rc=0
"$build/engine/scimsyncd" -c "$tmp/c.yaml" 2>"$tmp/log2" || rc=$?
[ "$rc" = 1 ]; check "broken mapping at startup: exit 1" $?
grep -q "mapping 'ldap': .*maps/ldap.yaml:2:.*no_such_filter" "$tmp/log2"
check "startup error names the file and line" $?

[ "$fails" = 0 ] || cat "$tmp/log"
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
