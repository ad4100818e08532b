#!/bin/sh
# contrib/sink-example as a customer builds it: against an installed
# scimsync, out of tree, with its own Makefile and nothing but
# `pkg-config --cflags scimsync`. Then the engine's loader (tests/sink_load)
# loads it and feeds it events, and the JSON lines it wrote are checked.
#
# 1. make install DESTDIR=$tmp/inst from the build dir (an out-of-tree
#    build under make distcheck too), so the headers and scimsync.pc are
#    the installed ones;
# 2. PKG_CONFIG_PATH at the installed .pc, PKG_CONFIG_SYSROOT_DIR=$tmp/inst
#    so its -I points into the staged install; checked: the -I is inside
#    $tmp, and the compiler reads scimsync/*.h from there, not the sources;
# 3. copy contrib/sink-example/{Makefile,sink_example.c} to $tmp/ex (the
#    source tree stays clean, and read-only under distcheck) and make it
#    there with -Werror;
# 4. nm -D: the only exported symbol is scimsync_plugin_entry;
# 5. sink_load events: bad options, 3 apply + apply_many of 2, health;
#    python3 checks every line and field; sink_load faults: a bad event in
#    a batch, a batch cut short by RLIMIT_FSIZE;
# 6. pause_file: retry while the file exists, done once it is gone.
#
# Skipped (77) without pkg-config or python3.
set -u
src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SCIMSYNC_BUILDDIR:-$src}
cc=${CC:-cc}
make=${MAKE:-make}
driver=$build/tests/sink_load

command -v pkg-config >/dev/null 2>&1 || { echo "pkg-config missing: skipped"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skipped"; exit 77; }
if [ ! -x "$driver" ]; then
	echo "no $driver (make check builds it)"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() {
	pass=$((pass + 1))
}

bad() {
	echo "FAIL: $*"
	fail=$((fail + 1))
}

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}

# 1. Install into a staging dir. MAKEFLAGS of the make running the tests
# (TESTS=..., -j, its jobserver) must not reach this make.
if (unset MAKEFLAGS MFLAGS MAKELEVEL
	$make -C "$build" install DESTDIR="$tmp/inst") >"$tmp/install.log" 2>&1; then
	ok
else
	bad "make install DESTDIR=$tmp/inst:"
	tail -n 30 "$tmp/install.log" | sed 's/^/  | /'
	finish
fi
pc=$(find "$tmp/inst" -name scimsync.pc -path '*/pkgconfig/*' | head -n 1)
if [ -z "$pc" ]; then
	bad "no scimsync.pc installed under $tmp/inst"
	finish
fi

# 2. pkg-config sees the staged install.
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$tmp/inst
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS
cflags=$(pkg-config --cflags scimsync) || { bad "pkg-config --cflags scimsync"; finish; }
echo "pkg-config --cflags scimsync: $cflags"
inc=
for f in $cflags; do
	case $f in
	-I*) inc=${f#-I} ;;
	esac
done
case $inc in
"$tmp"/inst/*) ok ;;
*) bad "-I '$inc' is not inside the staged install $tmp/inst" ;;
esac
if [ -f "$inc/scimsync/sink.h" ] && cmp -s "$inc/scimsync/sink.h" "$src/include/scimsync/sink.h"; then
	ok
else
	bad "$inc/scimsync/sink.h missing or not the source tree's"
fi

# 3. Build the example out of tree with its own Makefile.
mkdir "$tmp/ex"
cp "$src/contrib/sink-example/Makefile" "$src/contrib/sink-example/sink_example.c" "$tmp/ex/"
chmod u+w "$tmp/ex"/*
strict="-O2 -g -Wall -Wextra -Wpedantic -Wshadow -Wpointer-arith -Wwrite-strings -Wmissing-prototypes -Wstrict-prototypes -Wundef -Werror"
if (unset MAKEFLAGS MFLAGS MAKELEVEL
	$make -C "$tmp/ex" CC="$cc" CFLAGS="$strict") >"$tmp/ex.log" 2>&1; then
	ok
else
	bad "make in contrib/sink-example (out of tree):"
	sed 's/^/  | /' "$tmp/ex.log"
	finish
fi
so=$tmp/ex/sink_example.so
# The headers it was compiled with are the installed ones.
# shellcheck disable=SC2086
deps=$($cc -std=c11 $cflags -M "$tmp/ex/sink_example.c" 2>&1 | tr ' \\' '\n\n' | grep 'scimsync/[a-z]*\.h$')
case $deps in
'') bad "no scimsync header in the example's dependencies" ;;
*"$src/include"*) bad "the example used the source tree's headers: $deps" ;;
*) ok ;;
esac
for d in $deps; do
	case $d in
	"$tmp"/inst/*) ok ;;
	*) bad "header $d is not from the staged install" ;;
	esac
done

# 4. Exactly one exported symbol.
if command -v nm >/dev/null 2>&1; then
	syms=$(nm -D --defined-only "$so" | awk '{print $NF}' | sort)
	if [ "$syms" = scimsync_plugin_entry ]; then
		ok
	else
		bad "exported symbols:" $syms
	fi
else
	echo "nm missing: export check skipped"
fi

# 5. Load it with the engine's loader and feed it events.
out=$tmp/events.jsonl
if "$driver" events "$so" "$out" >"$tmp/drv.out" 2>&1; then
	ok
else
	bad "sink_load events:"
	sed 's/^/  | /' "$tmp/drv.out"
fi
if python3 - "$out" >"$tmp/py.out" 2>&1 <<'EOF'
import json, sys

raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"\n"), "last line unterminated"
lines = raw.decode("utf-8").split("\n")[:-1]
assert len(lines) == 5, "%d lines" % len(lines)
evs = [json.loads(l) for l in lines]
keys = ["seq", "key", "type", "tenant", "resource_type", "resource_id",
        "version", "time_ms", "changed", "members", "role", "user_id",
        "group_id", "attrs", "event"]
for e in evs:
    assert list(e) == keys, list(e)
assert [e["seq"] for e in evs] == [1, 2, 3, 4, 5]
u1 = {
    "cn": ['Zo\u00eb "Z" O\'Brien'],
    "mail": ["zoe@example.com", "z@example.com"],
    "description": ["line1\nline2\\back\ttab\x01ctl\x7f end \u20ac \U0001f511"],
    "uid": ["z\ufffdbad"],
}
want = [
    dict(seq=1, key="acme:1", type="user.created", tenant="acme",
         resource_type="User", resource_id="u-1", version=1,
         time_ms=1795334462001, changed=[], members=[], role=None,
         user_id=None, group_id=None, attrs=u1,
         event={"type": "user.created", "id": "u-1", "note": "caf\u00e9"}),
    dict(seq=2, key="acme:2", type="group.created", tenant="acme",
         resource_type="Group", resource_id="g-1", version=1,
         time_ms=1795334462002, changed=[], members=["u-1", "u-2"],
         role=None, user_id=None, group_id=None,
         attrs={"cn": ["Admins"],
                "member": ["uid=u-1,ou=people", "uid=u-2,ou=people"]},
         event={"type": "group.created"}),
    dict(seq=3, key="acme:3", type="user.updated", tenant="acme",
         resource_type="User", resource_id="u-1", version=2,
         time_ms=1795334462003, changed=["name.givenName", "emails"],
         members=[], role=None, user_id=None, group_id=None,
         attrs={k: u1[k] for k in ("cn", "mail")},
         event={"type": "user.updated", "changed": ["emails"]}),
    dict(seq=4, key="acme:4", type="role.granted", tenant="acme",
         resource_type="User", resource_id="u-1", version=2,
         time_ms=1795334462004, changed=[], members=[], role="admin",
         user_id="u-1", group_id="g-1", attrs={},
         event={"type": "role.granted"}),
    dict(seq=5, key="acme:5", type="user.deleted", tenant="acme",
         resource_type="User", resource_id="u-2", version=3,
         time_ms=1795334462005, changed=[], members=[], role=None,
         user_id=None, group_id=None, attrs={},
         event={"type": "user.deleted"}),
]
for got, exp in zip(evs, want):
    for k in keys:
        assert got[k] == exp[k], "seq %d %s: %r != %r" % (exp["seq"], k, got[k], exp[k])
# The event JSON is copied verbatim (line breaks aside).
assert '"event":{"type":"user.created","id":"u-1","note":"caf\\u00e9"}}' in lines[0], lines[0]
print("5 lines ok")
EOF
then
	ok
else
	bad "the JSON lines:"
	sed 's/^/  | /' "$tmp/py.out" "$out"
fi

# An event too small for the ABI fails alone; a batch cut short by a full
# disk (RLIMIT_FSIZE here) keeps its whole lines and drops the partial one.
faults=$tmp/faults.jsonl
if "$driver" faults "$so" "$faults" >"$tmp/drv.out" 2>&1 &&
	python3 - "$faults" <<'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"\n"), "unterminated last line"
seqs = [json.loads(l)["seq"] for l in raw.decode("utf-8").splitlines()]
assert seqs == [6, 7, 6, 7], seqs
EOF
then
	ok
else
	bad "sink_load faults:"
	sed 's/^/  | /' "$tmp/drv.out" "$faults"
fi

# 6. pause_file: retry while it exists, done once it is gone.
pause=$tmp/pause
: >"$pause"
"$driver" apply "$so" "$out" "$pause" 6 >"$tmp/drv.out" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -qxF "apply 6: retry: paused: $pause exists" "$tmp/drv.out" &&
	grep -qxF "health: paused: $pause exists" "$tmp/drv.out" &&
	grep -qxF "log [1] example: paused: $pause exists" "$tmp/drv.out"; then
	ok
else
	bad "apply while paused: exit $rc, want 2 and 'paused: $pause exists':"
	sed 's/^/  | /' "$tmp/drv.out"
fi
rm -f "$pause"
"$driver" apply "$so" "$out" "$pause" 6 >"$tmp/drv.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -qxF "apply 6: ok" "$tmp/drv.out"; then
	ok
else
	bad "apply after the pause: exit $rc, want 0:"
	sed 's/^/  | /' "$tmp/drv.out"
fi
if python3 - "$out" <<'EOF'
import json, sys
seqs = [json.loads(l)["seq"] for l in open(sys.argv[1], encoding="utf-8")]
assert seqs == [1, 2, 3, 4, 5, 6], seqs
EOF
then
	ok
else
	bad "after the pause the file should hold seq 1-6 once each"
fi

finish
