#!/bin/sh
# One step from a fresh Debian machine to a running scimsyncd on its
# embedded SQLite store, with a demo tenant and its bearer token printed:
#
#   sh contrib/quickstart.sh
#
# Installs the packages, builds, writes run/scimsyncd.yaml and an admin
# token (run/admin.token), starts scimsyncd on 127.0.0.1:8080 (PORT= to
# change; the admin API on ADMIN_PORT, default 8081), creates the tenant
# "demo" with a SCIM token through the admin API, prints it, and stays in
# the foreground until Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
port=${PORT:-8080}
admin_port=${ADMIN_PORT:-8081}

sh contrib/deps.sh
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
mkdir -p build
[ -f build/Makefile ] || (cd build && ../configure --quiet)
make -C build -j"$(nproc)" >/dev/null

mkdir -p run
chmod 700 run
umask 077
# The admin credential: only its hash goes into the config.
openssl rand -hex 32 | sed 's/^/scimadm_/' > run/admin.token
admin_hash=$(tr -d '\n' < run/admin.token | sha256sum | cut -d' ' -f1)
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
admin:
  listen:
    address: 127.0.0.1
    port: $admin_port
  token_sha256: $admin_hash   # of run/admin.token
audit:
  path: audit.log            # run/audit.log: one JSON line per request
  database: audit.db         # run/audit.db: what 'scimsyncctl audit' reads
YAML

"$top/build/engine/scimsyncd" -c "$top/run/scimsyncd.yaml" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM

SCIMSYNC_ADMIN_URL=http://127.0.0.1:$admin_port
SCIMSYNC_ADMIN_TOKEN_FILE=$top/run/admin.token
export SCIMSYNC_ADMIN_URL SCIMSYNC_ADMIN_TOKEN_FILE
ctl="$top/build/engine/scimsyncctl"
tries=0
until "$ctl" health >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ $tries -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
		echo "quickstart: scimsyncd did not start (see above)" >&2
		exit 1
	fi
	sleep 0.1
done
"$ctl" tenant show demo >/dev/null 2>&1 ||
	"$ctl" tenant create demo --description "made by quickstart.sh" >/dev/null
token=$("$ctl" --json token create demo quickstart |
	sed -n 's/^ *"token": "\(scim_[0-9a-f_]*\)".*/\1/p')

cat <<MSG

  scimsyncd is running: SCIM on http://127.0.0.1:$port/scim/v2
                        admin API on http://127.0.0.1:$admin_port/api/v1

  Bearer token of tenant "demo" (shown once; only its hash is stored):

    $token

  Try it:

    curl -s -H "Authorization: Bearer $token" \\
      http://127.0.0.1:$port/scim/v2/Users

  Manage tenants and tokens from another shell:

    export SCIMSYNC_ADMIN_URL=$SCIMSYNC_ADMIN_URL
    export SCIMSYNC_ADMIN_TOKEN_FILE=$SCIMSYNC_ADMIN_TOKEN_FILE
    $ctl token list demo

  Stop with Ctrl-C (in-flight requests finish first).

MSG
wait $pid
