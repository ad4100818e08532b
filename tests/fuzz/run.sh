#!/bin/sh
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for a
# bounded time from its seed corpus. Exits 77 (skipped) without clang.
#
#   FUZZ_SECONDS=60 sh tests/fuzz/run.sh
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${SCIMSYNC_BUILDDIR:-$src}
secs=${FUZZ_SECONDS:-30}
command -v clang >/dev/null 2>&1 || { echo "clang not found: skipped"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -I$build -I$src/include -I$src/engine"
core="$src/engine/scim_error.c $src/engine/strutil.c $src/engine/schema.c $src/engine/schema_data.c $src/engine/schema_validate.c $src/engine/filter.c $src/engine/scim_path.c"
libs=$(pkg-config --cflags --libs jansson libcrypto)
tmpl="$src/engine/tmpl_parse.c $src/engine/tmpl_eval.c $src/engine/tmpl_filters.c"
targets="filter patch tmpl"
fail=0
for t in $targets; do
	extra=""
	[ "$t" = patch ] && extra="$src/engine/patch.c"
	[ "$t" = tmpl ] && extra="$tmpl -lm"
	# shellcheck disable=SC2086
	clang $flags $core $extra "$src/tests/fuzz/fuzz_$t.c" $libs -o "$out/fuzz_$t"
	mkdir -p "$out/corpus_$t"
	echo "fuzz_$t: ${secs}s"
	if "$out/fuzz_$t" -max_total_time="$secs" -max_len=4200 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/" \
		"$out/corpus_$t" "$src/tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1; then
		grep -E "stat::number_of_executed_units" "$out/$t.log" || true
	else
		tail -n 60 "$out/$t.log"
		for a in "$out"/crash-* "$out"/leak-* "$out"/timeout-*; do
			[ -f "$a" ] && { echo "artifact $a:"; od -c "$a" | head -20; }
		done
		fail=1
	fi
done
if [ $fail = 0 ]; then echo "3 passed, 0 failed"; else echo "fuzzing found a failure"; fi
exit $fail
