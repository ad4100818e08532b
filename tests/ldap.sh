#!/bin/sh
# The LDAP sink (plugins/sink-ldap) against real, throwaway slapd instances
# (tests/ldap/): each test class starts its own through tests/ldap/slapd.sh
# on a free loopback port in a temp dir, and stops it. Whatever is still
# running from that temp dir when this script exits is stopped here, by
# the pid recorded at its start.
#
# Skipped (77) without slapd, ldapsearch/ldapadd/ldapmodify (packages
# slapd, ldap-utils) or python3 >= 3.6.
set -eu

suite=ldap
. "$(dirname "$0")/sinksuite.sh"

SLAPD=${SLAPD:-$(command -v slapd 2>/dev/null || echo /usr/sbin/slapd)}
if [ ! -x "$SLAPD" ]; then
	echo "ldap.sh: slapd not found (apt-get install slapd); skipped"
	exit 77
fi
export SLAPD
for t in ldapsearch ldapadd ldapmodify python3; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "ldap.sh: $t not found (apt-get install ldap-utils python3); skipped"
		exit 77
	fi
done
suite_need_python
suite_need_built "$build/engine/scimsyncd" \
	"$build/plugins/sink-ldap/.libs/sink_ldap.so"

SCIMSYNC_LDAP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scimsync-ldap.XXXXXX")
export SCIMSYNC_LDAP_TMP
cleanup() {
	for d in "$SCIMSYNC_LDAP_TMP"/*/; do
		[ -f "$d/slapd.pid.started" ] || continue
		sh "$src/tests/ldap/slapd.sh" stop "$d" || true
	done
	if [ -n "${SCIMSYNC_TEST_KEEP:-}" ]; then
		echo "ldap.sh: kept $SCIMSYNC_LDAP_TMP"
	else
		rm -rf "$SCIMSYNC_LDAP_TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

suite_run ldap
