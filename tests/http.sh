#!/bin/sh
# Runs the HTTP-level suite (tests/http/) from a directory automake creates
# in every build tree, so out-of-tree builds and distcheck can log it.
src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
exec sh "$src/tests/http/run.sh" "$@"
