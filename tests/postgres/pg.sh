#!/bin/sh
# tests/postgres/pg.sh - a throwaway PostgreSQL server for the PostgreSQL
# sink's tests and benchmark. Everything lives in DIR; nothing outside it
# is touched, and no system cluster is used or needed.
#
#   pg.sh start DIR [PORT]  first time: initdb into DIR/data (superuser
#                           scimsync, password generated into
#                           DIR/password, scram-sha-256 over TCP, trust
#                           on the socket in DIR/sock), start on
#                           127.0.0.1:PORT (a free port if none; another
#                           one if it was taken meanwhile), create the
#                           database scimsync. Again later (after stop):
#                           start the same cluster on the same port.
#                           Prints the port (also in DIR/port).
#   pg.sh stop DIR          pg_ctl stop -m fast (immediate after 30 s)
#   pg.sh pid DIR           the postmaster's pid (exit 1: not running)
#   pg.sh psql DIR ARGS...  psql as scimsync to database scimsync over
#                           TCP, the password from DIR/pgpass
#
# As root (initdb and postgres refuse to run as root) DIR is given to the
# user postgres, which runs them: DIR's parents must be searchable by it.
#
# Environment: PG_BINDIR (default: pg_config --bindir, else the newest
# /usr/lib/postgresql/*/bin), PG_READY_TIMEOUT (seconds, default 30),
# PG_DURABLE=1 (keep fsync and synchronous_commit on; by default they
# are off: a throwaway cluster needs no crash safety).
set -eu

die() {
	echo "pg.sh: $*" >&2
	exit 1
}

[ $# -ge 2 ] || die "usage: pg.sh start|stop|pid|psql DIR [PORT|ARGS]"
cmd=$1
mkdir -p "$2"
dir=$(CDPATH='' cd -- "$2" && pwd)
shift 2
READY=${PG_READY_TIMEOUT:-30}
USER_NAME=scimsync
DB=scimsync

bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
		return
	fi
	b=$(pg_config --bindir 2>/dev/null || true)
	if [ -n "$b" ] && [ -x "$b/initdb" ]; then
		echo "$b"
		return
	fi
	for b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$b/initdb" ] && { echo "$b"; return; }
	done
	die "no PostgreSQL server binaries (initdb): set PG_BINDIR"
}
BIN=$(bindir)

# Run as the user that may run the server.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		(cd "$dir" && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

running_pid() {
	[ -f "$dir/data/postmaster.pid" ] || return 1
	p=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null || true)
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
	echo "$p"
}

init_cluster() {
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 ||
			die "running as root and there is no user postgres to run the server"
		chown postgres "$dir"
		runuser -u postgres -- test -w "$dir" ||
			die "the user postgres cannot write $dir (are its parents searchable?)"
	fi
	umask 077
	od -An -tx1 -N18 /dev/urandom | tr -d ' \n' | sed 's/^/pgpw-/' \
		>"$dir/password"
	mkdir -p "$dir/sock"
	[ "$(id -u)" != 0 ] || chown postgres "$dir/password" "$dir/sock"
	as_pg "$BIN/initdb" -D "$dir/data" -U "$USER_NAME" \
		--pwfile="$dir/password" --auth-host=scram-sha-256 \
		--auth-local=trust -E UTF8 --locale=C --no-sync \
		>"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	{
		echo "# pg.sh"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$dir/sock'"
		echo "max_connections = 40"
		echo "shared_buffers = 32MB"
		echo "log_min_messages = warning"
		echo "log_line_prefix = '%m [%p] '"
		if [ -z "${PG_DURABLE:-}" ]; then
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
		fi
	} | as_pg sh -c "cat >>'$dir/data/postgresql.conf'"
}

# Start on $port: 0 up, 1 failed (maybe the port was taken).
launch() {
	as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
		-t "$READY" -o "-p $port" start >/dev/null 2>&1
}

start() {
	! running_pid >/dev/null || die "a server from $dir is already running"
	[ -f "$dir/data/PG_VERSION" ] || init_cluster
	port=${1:-}
	[ -n "$port" ] || port=$(cat "$dir/port" 2>/dev/null || true)
	fixed=$port
	tries=0
	while :; do
		[ -n "$port" ] || port=$(free_port)
		launch && break
		tries=$((tries + 1))
		if [ -n "$fixed" ] || [ "$tries" -ge 5 ] ||
			! grep -q "could not bind\|could not create listen" \
				"$dir/postgres.log" 2>/dev/null; then
			tail -20 "$dir/postgres.log" >&2 2>/dev/null || true
			die "the server did not start on port $port"
		fi
		port="" # taken meanwhile: another one
	done
	echo "$port" >"$dir/port"
	(umask 077 && printf '127.0.0.1:%s:*:%s:%s\n' "$port" "$USER_NAME" \
		"$(cat "$dir/password")" >"$dir/pgpass")
	if [ ! -f "$dir/created" ]; then
		as_pg "$BIN/psql" -X -q -h "$dir/sock" -p "$port" -U "$USER_NAME" \
			-d postgres -c "CREATE DATABASE $DB" >/dev/null ||
			die "cannot create the database $DB"
		touch "$dir/created"
	fi
	echo "$port"
}

stop() {
	running_pid >/dev/null || return 0
	as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop \
		>/dev/null 2>&1 ||
		as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
			>/dev/null 2>&1 || true
	! running_pid >/dev/null || die "the server in $dir did not stop"
}

case $cmd in
start) start "${1:-}" ;;
stop) stop ;;
pid) running_pid ;;
psql)
	[ -f "$dir/port" ] || die "no server started in $dir"
	PGPASSFILE="$dir/pgpass" exec "$BIN/psql" -X -q -v ON_ERROR_STOP=1 \
		-h 127.0.0.1 -p "$(cat "$dir/port")" -U "$USER_NAME" -d "$DB" "$@"
	;;
*) die "unknown command '$cmd' (start, stop, pid, psql)" ;;
esac
