#!/bin/sh
# Install every Debian package scimsync needs to build, test and benchmark.
# Run as root (or through sudo) on Debian 12 or newer.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# The PostgreSQL server is only for the tests, which start their own
# throwaway instance (initdb + pg_ctl): ask Debian not to create and start
# the usual "main" cluster when the package goes in.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
	$SUDO mkdir -p /etc/postgresql-common
	echo "create_main_cluster = false" |
		$SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake libtool pkg-config make \
	libevhtp-dev libevent-dev libjansson-dev libyaml-dev libsqlite3-dev \
	libssl-dev libcurl4-openssl-dev check python3 curl openssl ca-certificates wrk \
	clang clang-format libclang-rt-14-dev \
	libldap-dev slapd ldap-utils \
	libpq-dev postgresql postgresql-client >/dev/null
