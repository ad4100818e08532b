#!/bin/sh
# Every header compiles on its own; the public plugin ABI headers also as
# pedantic C11 and as C++ (plugins may be written in either).
set -eu
src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SCIMSYNC_BUILDDIR:-$src}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
deps=$(pkg-config --cflags jansson evhtp libevent yaml-0.1 2>/dev/null || true)

for h in "$src"/include/scimsync/*.h; do
	n=$((n + 1))
	printf '#include <scimsync/%s>\n' "$(basename "$h")" > "$tmp/t.c"
	if ! $cc -std=c11 -Wall -Wextra -pedantic -Werror -fsyntax-only \
		-I"$src/include" "$tmp/t.c"; then
		echo "FAIL: $h as pedantic C11"; fail=1
	fi
	if command -v c++ >/dev/null 2>&1; then
		cp "$tmp/t.c" "$tmp/t.cc"
		if ! c++ -Wall -Wextra -Werror -fsyntax-only -I"$src/include" \
			"$tmp/t.cc"; then
			echo "FAIL: $h as C++"; fail=1
		fi
	fi
done
for h in "$src"/engine/*.h; do
	n=$((n + 1))
	printf '#include "%s"\n' "$h" > "$tmp/t.c"
	# shellcheck disable=SC2086
	if ! $cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only \
		-I"$build" -I"$src/include" -I"$src/engine" $deps "$tmp/t.c"; then
		echo "FAIL: $h alone"; fail=1
	fi
done
if [ "$fail" = 0 ]; then
	echo "$n passed, 0 failed"
fi
exit "$fail"
