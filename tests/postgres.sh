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

src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SCIMSYNC_BUILDDIR:-$src}
SCIMSYNC_SRCDIR=$src
SCIMSYNC_BUILDDIR=$build
export SCIMSYNC_SRCDIR SCIMSYNC_BUILDDIR

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
if ! command -v python3 >/dev/null 2>&1 ||
	! python3 -c 'import sys; sys.exit(sys.version_info < (3, 6))'; then
	echo "postgres.sh: python3 >= 3.6 not found; skipped"
	exit 77
fi
for f in "$build/engine/scimsyncd" \
	"$build/plugins/sink-postgres/.libs/sink_postgres.so"; do
	if [ ! -e "$f" ]; then
		echo "postgres.sh: $f is not built" >&2
		exit 99
	fi
done

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

status=0
PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover \
	-s "$src/tests/postgres" -p 'test_*.py' -v || status=$?
exit "$status"
