#!/bin/sh
# The PostgreSQL sink (plugins/sink-postgres) against real, throwaway
# PostgreSQL clusters (tests/postgres/): the test classes start them
# through tests/postgres/pg.sh (initdb in a temp dir, loopback, a free
# port) and stop them. Whatever cluster is still running from that temp
# dir when this script exits is stopped here.
#
# Skipped (77) without the server binaries (initdb, pg_ctl, postgres:
# package postgresql), psql (postgresql-client) or python3 >= 3.6.
set -eu

suite=postgres
. "$(dirname "$0")/sinksuite.sh"

if [ -z "${PG_BINDIR:-}" ]; then
	PG_BINDIR=$(pg_config --bindir 2>/dev/null || true)
	if [ -z "$PG_BINDIR" ] || [ ! -x "$PG_BINDIR/initdb" ]; then
		PG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null |
			sort -V | tail -1)
	fi
fi
for t in initdb pg_ctl postgres psql; do
	if [ -z "$PG_BINDIR" ] || [ ! -x "$PG_BINDIR/$t" ]; then
		echo "postgres.sh: $t not found (apt-get install postgresql); skipped"
		exit 77
	fi
done
export PG_BINDIR
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
	echo "postgres.sh: running as root without a user postgres to run the server; skipped"
	exit 77
fi
suite_need_python
suite_need_built "$build/engine/scimsyncd" \
	"$build/plugins/sink-postgres/.libs/sink_postgres.so"

SCIMSYNC_PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scimsync-pg.XXXXXX")
# The user postgres runs the server (as root) and must reach its dirs.
chmod 755 "$SCIMSYNC_PG_TMP"
export SCIMSYNC_PG_TMP
cleanup() {
	for d in "$SCIMSYNC_PG_TMP"/*/; do
		[ -f "$d/data/postmaster.pid" ] || continue
		sh "$src/tests/postgres/pg.sh" stop "$d" || true
	done
	if [ -n "${SCIMSYNC_TEST_KEEP:-}" ]; then
		echo "postgres.sh: kept $SCIMSYNC_PG_TMP"
	else
		rm -rf "$SCIMSYNC_PG_TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

suite_run postgres
