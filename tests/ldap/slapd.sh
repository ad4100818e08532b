#!/bin/sh
# tests/ldap/slapd.sh - a throwaway OpenLDAP slapd for the LDAP sink tests
# and benchmark. Everything lives in DIR; nothing outside it is touched,
# and no system slapd is used or needed.
#
#   slapd.sh start DIR [PORT]  first time: write DIR/slapd.conf, start slapd
#                              on ldap://127.0.0.1:PORT (a free port if
#                              none), wait until it answers, add the base
#                              entries. Again later (after stop): start
#                              the same database on the same port.
#                              Prints the URL.
#   slapd.sh stop DIR          SIGTERM to the slapd started from DIR (by
#                              the pid recorded at start, checked to be
#                              that slapd), wait until it is gone (SIGKILL
#                              after 10 s).
#   slapd.sh pid DIR           the pid of the running slapd (exit 1: none)
#
# The directory: schemas core, cosine, inetorgperson and nis; the
# ppolicy overlay (in OpenLDAP 2.5 its schema, pwdAccountLockedTime, is
# built in); one mdb database for dc=example,dc=org with
# rootdn cn=admin,dc=example,dc=org, rootpw $SLAPD_ROOTPW (default
# secret); equality indexes for the attributes the sink searches by
# (description holds its SCIM ids, member/uniqueMember its role groups);
# base entries dc=example,dc=org, ou=people, ou=roles, ou=disabled,
# ou=deleted.
#
# Environment: SLAPD (the binary; default slapd on PATH, else
# /usr/sbin/slapd), SLAPD_SCHEMA_DIR (/etc/ldap/schema), SLAPD_MODULE_DIR
# (/usr/lib/ldap), SLAPD_DEBUG (slapd -d level, default 0: quiet),
# SLAPD_READY_TIMEOUT (seconds, default 15), SLAPD_TLS_CERT and
# SLAPD_TLS_KEY (PEM files: StartTLS offered with them, and ldaps:// on a
# second port, written to DIR/ldaps_url; read when DIR's
# config is first written).
set -eu

ROOTDN="cn=admin,dc=example,dc=org"
ROOTPW=${SLAPD_ROOTPW:-secret}
SUFFIX="dc=example,dc=org"

die() {
	echo "slapd.sh: $*" >&2
	exit 1
}

[ $# -ge 2 ] || die "usage: slapd.sh start|stop|pid DIR [PORT]"
cmd=$1
mkdir -p "$2"
dir=$(CDPATH= cd -- "$2" && pwd)
port_arg=${3:-}

SLAPD=${SLAPD:-$(command -v slapd 2>/dev/null || echo /usr/sbin/slapd)}
SCHEMA=${SLAPD_SCHEMA_DIR:-/etc/ldap/schema}
MODULES=${SLAPD_MODULE_DIR:-/usr/lib/ldap}
DEBUG=${SLAPD_DEBUG:-0}
READY=${SLAPD_READY_TIMEOUT:-15}

# Is pid a live process (not a zombie) running slapd on our config?
ours() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	if [ -r "/proc/$1/stat" ]; then
		state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
		[ "$state" != Z ] || return 1
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null |
			grep -qF -- "$dir/slapd.conf" || return 1
	fi
	return 0
}

recorded_pid() {
	cat "$dir/slapd.pid.started" 2>/dev/null || true
}

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

write_config() {
	mkdir -p "$dir/db"
	{
		for s in core cosine inetorgperson nis; do
			echo "include $SCHEMA/$s.schema"
		done
		echo "modulepath $MODULES"
		# Debian builds back_mdb and ppolicy as modules; elsewhere they
		# may be built in.
		[ ! -e "$MODULES/back_mdb.la" ] || echo "moduleload back_mdb"
		[ ! -e "$MODULES/ppolicy.la" ] || echo "moduleload ppolicy"
		if [ -n "${SLAPD_TLS_CERT:-}" ]; then
			echo "TLSCertificateFile $SLAPD_TLS_CERT"
			echo "TLSCertificateKeyFile $SLAPD_TLS_KEY"
		fi
		cat <<EOF
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
loglevel none
database mdb
suffix "$SUFFIX"
rootdn "$ROOTDN"
rootpw $ROOTPW
directory $dir/db
maxsize 1073741824
dbnosync
index objectClass eq
index uid,cn,description eq
index member,uniqueMember eq
overlay ppolicy
EOF
	} >"$dir/slapd.conf"
	cat >"$dir/base.ldif" <<EOF
dn: $SUFFIX
objectClass: top
objectClass: dcObject
objectClass: organization
o: Example
dc: example
EOF
	for ou in people roles disabled deleted; do
		printf '\ndn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n' \
			"$ou" "$SUFFIX" "$ou" >>"$dir/base.ldif"
	done
}

# Start slapd on $port; wait until it answers or dies. 0: ready, 1: it
# died (the port may be taken), 2: no answer before the deadline.
launch() {
	url="ldap://127.0.0.1:$port"
	listen="$url/"
	if [ -n "${SLAPD_TLS_CERT:-}" ]; then
		# ldaps:// as well, on a port of its own (DIR/ldaps_url)
		[ -n "$lport" ] || lport=$(free_port)
		listen="$listen ldaps://127.0.0.1:$lport/"
	fi
	echo "==== slapd.sh: starting on $listen" >>"$dir/slapd.log"
	"$SLAPD" -f "$dir/slapd.conf" -h "$listen" -d "$DEBUG" \
		</dev/null >>"$dir/slapd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/slapd.pid.started"
	end=$(($(date +%s) + READY))
	while :; do
		if ! ours "$pid"; then
			wait "$pid" 2>/dev/null || true
			return 1
		fi
		if ldapsearch -x -LLL -o nettimeout=2 -H "$url" -b "" -s base \
			1.1 >/dev/null 2>&1; then
			return 0
		fi
		[ "$(date +%s)" -lt "$end" ] || return 2
		sleep 0.05
	done
}

start() {
	pid=$(recorded_pid)
	! ours "$pid" || die "a slapd from $dir is already running (pid $pid)"
	[ -x "$SLAPD" ] || die "slapd not found ($SLAPD)"
	[ -f "$dir/slapd.conf" ] || write_config
	if [ -n "$port_arg" ]; then
		port=$port_arg
	elif [ -f "$dir/port" ]; then
		port=$(cat "$dir/port")
	else
		port=""
	fi
	lport=""
	[ ! -f "$dir/ldaps_port" ] || lport=$(cat "$dir/ldaps_port")
	tries=0
	while :; do
		fixed=$port
		[ -n "$port" ] || port=$(free_port)
		rc=0
		launch || rc=$?
		[ "$rc" = 0 ] && break
		if [ "$rc" = 2 ]; then
			kill -KILL "$pid" 2>/dev/null || true
			tail -20 "$dir/slapd.log" >&2
			die "slapd did not answer on $url within $READY s"
		fi
		tries=$((tries + 1))
		if [ -n "$fixed" ] || [ "$tries" -ge 5 ]; then
			tail -20 "$dir/slapd.log" >&2
			die "slapd exited at start (port $port)"
		fi
		port="" # a free port taken meanwhile: another one
		lport=""
	done
	echo "$port" >"$dir/port"
	if [ -n "$lport" ]; then
		echo "$lport" >"$dir/ldaps_port"
		echo "ldaps://127.0.0.1:$lport" >"$dir/ldaps_url"
	fi
	if [ ! -f "$dir/seeded" ]; then
		ldapadd -x -H "$url" -D "$ROOTDN" -w "$ROOTPW" \
			-f "$dir/base.ldif" >>"$dir/slapd.log" 2>&1 ||
			die "cannot add the base entries (see $dir/slapd.log)"
		touch "$dir/seeded"
	fi
	echo "$url"
}

stop() {
	pid=$(recorded_pid)
	if ours "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		end=$(($(date +%s) + 10))
		while ours "$pid"; do
			if [ "$(date +%s)" -ge "$end" ]; then
				echo "slapd.sh: slapd $pid ignored SIGTERM; SIGKILL" >&2
				kill -KILL "$pid" 2>/dev/null || true
			fi
			sleep 0.05
		done
	fi
	rm -f "$dir/slapd.pid.started"
}

case $cmd in
start) start ;;
stop) stop ;;
pid)
	pid=$(recorded_pid)
	ours "$pid" || exit 1
	echo "$pid"
	;;
*) die "unknown command '$cmd' (start, stop, pid)" ;;
esac
