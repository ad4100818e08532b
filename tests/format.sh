#!/bin/sh
# Every C file and header follows .clang-format. Skipped (77) without
# clang-format. To fix: git ls-files '*.c' '*.h' | xargs clang-format -i
set -eu
src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
command -v clang-format >/dev/null 2>&1 || { echo "clang-format missing: skipped"; exit 77; }
cd "$src"
bad=0
n=0
for f in $(find engine include plugins tests contrib -name '*.[ch]' | sort); do
	n=$((n + 1))
	if ! clang-format --style=file "$f" | cmp -s "$f" -; then
		echo "not formatted: $f"
		bad=$((bad + 1))
	fi
done
echo "$((n - bad)) passed, $bad failed"
[ "$bad" = 0 ]
