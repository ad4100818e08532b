#!/bin/sh
# HTTP-level tests: start scimsyncd on a loopback port and speak SCIM to it.
# Run by `make check` (with SCIMSYNC_BUILDDIR / SCIMSYNC_SRCDIR set) or by
# hand from anywhere. Exit 77 (skip) without python3.
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root=$(CDPATH= cd -- "$here/../.." && pwd)
SCIMSYNC_BUILDDIR=${SCIMSYNC_BUILDDIR:-$root}
SCIMSYNC_SRCDIR=${SCIMSYNC_SRCDIR:-$root}
export SCIMSYNC_BUILDDIR SCIMSYNC_SRCDIR

if ! command -v python3 >/dev/null 2>&1; then
	echo "run.sh: python3 not found; skipping the HTTP tests"
	exit 77
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 6))'; then
	echo "run.sh: python3 is older than 3.6; skipping the HTTP tests"
	exit 77
fi
if [ -z "${SCIMSYNC_TEST_URL:-}" ] && [ ! -x "$SCIMSYNC_BUILDDIR/engine/scimsyncd" ]; then
	echo "run.sh: $SCIMSYNC_BUILDDIR/engine/scimsyncd is not built" >&2
	exit 99
fi

status=0
PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover \
	-s "$SCIMSYNC_SRCDIR/tests/http" -p 'test_*.py' -v || status=$?
exit "$status"
