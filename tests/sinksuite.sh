# tests/sinksuite.sh - what the sink suites' scripts (tests/ldap.sh,
# tests/postgres.sh, tests/webhook.sh) share. Sourced, with $suite set to
# the script's name: sets and exports SCIMSYNC_SRCDIR and
# SCIMSYNC_BUILDDIR (as src and build), and offers
#   suite_skip MESSAGE    exit 77 (skipped), saying why
#   suite_need_python     skip without python3 >= 3.6
#   suite_need_built F..  exit 99 (hard error) when a file is not built
#   suite_run DIR         python3 -m unittest discover in tests/DIR; its
#                         status is the script's (the EXIT trap still runs)

src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SCIMSYNC_BUILDDIR:-$src}
SCIMSYNC_SRCDIR=$src
SCIMSYNC_BUILDDIR=$build
export SCIMSYNC_SRCDIR SCIMSYNC_BUILDDIR

suite_skip() {
	echo "$suite.sh: $*; skipped"
	exit 77
}

suite_need_python() {
	if ! command -v python3 >/dev/null 2>&1 ||
		! python3 -c 'import sys; sys.exit(sys.version_info < (3, 6))'; then
		suite_skip "python3 >= 3.6 not found"
	fi
}

suite_need_built() {
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			echo "$suite.sh: $f is not built" >&2
			exit 99
		fi
	done
}

suite_run() {
	status=0
	PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover \
		-s "$src/tests/$1" -p 'test_*.py' -v || status=$?
	exit "$status"
}
