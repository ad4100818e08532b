#!/bin/sh
# One step from a fresh Debian machine to a running scimsyncd on its
# embedded SQLite store, with a bearer token printed:
#
#   sh contrib/quickstart.sh
#
# Installs the packages, builds, writes run/scimsyncd.yaml and a token,
# and runs scimsyncd in the foreground on 127.0.0.1:8080 (PORT= to change).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
port=${PORT:-8080}

sh contrib/deps.sh
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
mkdir -p build
[ -f build/Makefile ] || (cd build && ../configure --quiet)
make -C build -j"$(nproc)" >/dev/null

mkdir -p run
chmod 700 run
token="scim_$(openssl rand -hex 4)_$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=')"
hash=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
cat > run/scimsyncd.yaml <<YAML
# Written by contrib/quickstart.sh; see contrib/scimsyncd.yaml for every key.
listen:
  address: 127.0.0.1
  port: $port
log_level: info
store:
  plugin: sqlite
  plugin_dir: $top/build/plugins
  options:
    path: $top/run/scimsync.db
auth:
  tenant: default
  token_sha256: $hash
audit:
  path: audit.log            # run/audit.log: one JSON line per request
YAML

cat <<MSG

  scimsyncd is starting on http://127.0.0.1:$port/scim/v2

  Bearer token (shown once; only its hash is stored in run/scimsyncd.yaml):

    $token

  Try it:

    curl -s -H "Authorization: Bearer $token" \\
      http://127.0.0.1:$port/scim/v2/Users

  Stop with Ctrl-C (in-flight requests finish first).

MSG
exec "$top/build/engine/scimsyncd" -c "$top/run/scimsyncd.yaml"
