#!/bin/sh
# Install every Debian package scimsync needs to build, test and benchmark.
# Run as root (or through sudo) on Debian 12 or newer.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake libtool pkg-config make \
	libevhtp-dev libevent-dev libjansson-dev libyaml-dev libsqlite3-dev \
	libssl-dev libcurl4-openssl-dev check python3 curl openssl ca-certificates wrk \
	clang clang-format libclang-rt-14-dev \
	libldap-dev slapd ldap-utils >/dev/null
