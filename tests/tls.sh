#!/bin/sh
# The TLS listener: scimsyncd serves HTTPS with a certificate and key from
# the config, refuses plain HTTP on that port, and still stops cleanly.
set -eu
src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SCIMSYNC_BUILDDIR:-$src}
for tool in openssl curl python3; do
	command -v $tool >/dev/null 2>&1 || { echo "$tool missing: skipped"; exit 77; }
done
tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=scim_tlstest_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG
hash=$(printf %s "$token" | openssl dgst -sha256 -r | cut -d' ' -f1)
cat > "$tmp/c.yaml" <<YAML
listen:
  address: 127.0.0.1
  port: $port
  threads: 2
  tls: {cert: $tmp/cert.pem, key: $tmp/key.pem}
store:
  plugin: sqlite
  plugin_dir: $build/plugins
  options: {path: $tmp/scim.db}
auth: {token_sha256: $hash}
YAML
"$build/engine/scimsyncd" -c "$tmp/c.yaml" 2>"$tmp/log" &
pid=$!
base="https://127.0.0.1:$port/scim/v2"
ready=0
for _ in $(seq 200); do   # up to ~10 s
	if curl -s -o /dev/null --cacert "$tmp/cert.pem" "$base/ServiceProviderConfig"; then
		ready=1; break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
fails=0; passes=0
check() { # name expected actual
	if [ "$2" = "$3" ]; then passes=$((passes + 1)); else
		echo "FAIL: $1: expected $2, got $3"; fails=$((fails + 1)); fi
}
check "server ready over TLS" 1 "$ready"
code=$(curl -s -o "$tmp/out" -w '%{http_code}' --cacert "$tmp/cert.pem" "$base/ServiceProviderConfig")
check "discovery over TLS" 200 "$code"
grep -q "https://127.0.0.1:$port/scim/v2" "$tmp/out" && check "https base url" 1 1 || check "https base url" 1 0
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/cert.pem" "$base/Users")
check "no token over TLS" 401 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/cert.pem" \
	-H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' \
	-d '{"userName":"tls@example.com"}' "$base/Users")
check "create over TLS" 201 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/scim/v2/ServiceProviderConfig" || true)
[ "$code" != 200 ] && check "plain HTTP refused" 1 1 || check "plain HTTP refused" 1 0
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --tls-max 1.1 --tlsv1 -k "$base/ServiceProviderConfig" || true)
[ "$code" != 200 ] && check "TLS 1.1 refused" 1 1 || check "TLS 1.1 refused" 1 0
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=""
check "clean exit on SIGTERM" 0 "$rc"
[ "$fails" = 0 ] || cat "$tmp/log"
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
