#!/bin/sh
# scimsyncctl: mapping check / mapping test, their output and exit codes
# (0 ok, 1 mapping or resource error, 2 usage).
src=${SCIMSYNC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SCIMSYNC_BUILDDIR:-$src}
ctl=$build/engine/scimsyncctl
maps=$src/mappings
data=$src/tests/data/mapping
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$ctl" ]; then
	echo "no $ctl"
	exit 1
fi

# expect NAME WANT_STATUS CMD... : runs CMD, keeps stdout/stderr in $out/$err
expect() {
	name=$1
	want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
	if [ "$got" -eq "$want" ]; then
		return 0
	fi
	echo "FAIL: $name: exit $got, want $want"
	sed 's/^/  | /' "$tmp/err"
	fail=$((fail + 1))
	return 1
}

# contains NAME TEXT NEEDLE
contains() {
	case $2 in
	*"$3"*) pass=$((pass + 1)) ;;
	*)
		echo "FAIL: $1: no '$3' in:"
		printf '%s\n' "$2" | sed 's/^/  | /'
		fail=$((fail + 1))
		;;
	esac
}

lacks() {
	case $2 in
	*"$3"*)
		echo "FAIL: $1: unexpected '$3' in:"
		printf '%s\n' "$2" | sed 's/^/  | /'
		fail=$((fail + 1))
		;;
	*) pass=$((pass + 1)) ;;
	esac
}

# --help, --version, usage errors
expect help 0 "$ctl" --help && contains help "$out" "mapping test"
expect version 0 "$ctl" --version && contains version "$out" "scimsyncctl "
expect no-args 2 "$ctl" && contains no-args "$err" "usage:"
expect bad-command 2 "$ctl" frobnicate && contains bad-command "$err" "unknown command 'frobnicate'"
expect bad-option 2 "$ctl" --frob && contains bad-option "$err" "unknown option"
expect mapping-no-sub 2 "$ctl" mapping && contains mapping-no-sub "$err" "missing"
expect check-no-file 2 "$ctl" mapping check && pass=$((pass + 1))
expect test-one-arg 2 "$ctl" mapping test "$maps/okta.yaml" && pass=$((pass + 1))
expect test-bad-opt 2 "$ctl" mapping test --frob "$maps/okta.yaml" "$data/okta-user.json" && pass=$((pass + 1))
expect test-event-no-type 2 "$ctl" mapping test "$maps/okta.yaml" "$data/okta-user.json" --event && pass=$((pass + 1))

# mapping check: every shipped file
for f in "$maps"/*.yaml; do
	expect "check $(basename "$f")" 0 "$ctl" mapping check "$f" &&
		contains "check $(basename "$f")" "$out" "$f: OK ("
done
expect check-counts 0 "$ctl" mapping check "$maps/roles.yaml" &&
	contains check-counts "$out" "OK (0 user, 1 group attributes, role: yes)"
expect check-bad-template 1 "$ctl" mapping check "$data/bad-template.yaml" &&
	contains check-bad-template "$err" "bad-template.yaml:6:" &&
	contains check-bad-template "$err" ": user.mail[1]: "
expect check-cycle 1 "$ctl" mapping check "$data/cycle-a.yaml" &&
	contains check-cycle "$err" "cycle"
expect check-missing 1 "$ctl" mapping check "$data/nonexistent.yaml" && pass=$((pass + 1))

# mapping test: text output, one line per value, in file order
expect test-entra 0 "$ctl" mapping test "$maps/ldap-inetorgperson.yaml" "$data/entra-user.json" &&
	contains test-entra "$out" "dn: uid=adele.vance,ou=people,dc=example,dc=org
uid: adele.vance
cn: Adele Vance" &&
	contains test-entra "$out" "objectClass: top
objectClass: person" &&
	contains test-entra "$out" "employeeNumber: E1042"
expect test-okta-mail 0 "$ctl" mapping test "$maps/ldap-inetorgperson.yaml" "$data/okta-user.json" &&
	contains test-okta-mail "$out" "mail: isabella.kim@acme.com
mail: bella.kim@example.net"

# --json
expect test-json 0 "$ctl" mapping test --json "$maps/okta.yaml" "$data/okta-user.json" &&
	contains test-json "$out" '"resourceType": "User"' &&
	contains test-json "$out" '"uid": [' &&
	lacks test-json "$out" '"roles"'

# --event
expect test-event 0 "$ctl" mapping test "$maps/postgres.yaml" "$data/entra-user.json" --event user.deactivated &&
	contains test-event "$out" "active: false"
expect test-no-event 0 "$ctl" mapping test "$maps/postgres.yaml" "$data/entra-user.json" &&
	contains test-no-event "$out" "active: true"
expect test-event-eq 0 "$ctl" mapping test "$maps/webhook.yaml" "$data/okta-user.json" --event=user.created &&
	contains test-event-eq "$out" "event: user.created"

# groups and roles
expect test-group 0 "$ctl" mapping test "$maps/roles.yaml" "$data/group.json" &&
	contains test-group "$out" "name: Acme-Admins" &&
	contains test-group "$out" "role: org:admin"
expect test-group-none 0 "$ctl" mapping test "$maps/roles.yaml" "$data/group-other.json" &&
	contains test-group-none "$out" "# roles: none"
expect test-group-json 0 "$ctl" mapping test --json "$maps/roles.yaml" "$data/group-developers.json" &&
	contains test-group-json "$out" '"resourceType": "Group"' &&
	contains test-group-json "$out" '"roles": ['

# resource errors
echo '{"schemas": ["urn:example:Thing"]}' >"$tmp/thing.json"
expect test-not-scim 1 "$ctl" mapping test "$maps/okta.yaml" "$tmp/thing.json" &&
	contains test-not-scim "$err" "not a SCIM User or Group"
echo '{"schemas": [' >"$tmp/broken.json"
expect test-bad-json 1 "$ctl" mapping test "$maps/okta.yaml" "$tmp/broken.json" &&
	contains test-bad-json "$err" "broken.json:"
expect test-bad-mapping 1 "$ctl" mapping test "$data/bad-yaml.yaml" "$data/okta-user.json" &&
	contains test-bad-mapping "$err" "bad-yaml.yaml:3:"
expect test-stdin 0 sh -c "\"$ctl\" mapping test \"$maps/okta.yaml\" - <\"$data/okta-user.json\"" &&
	contains test-stdin "$out" "uid: isabella.kim"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
