#!/bin/sh
# The webhook sink (plugins/sink-webhook) against a real HTTP receiver of
# ours (tests/webhook/receiver.py): it checks every delivery's signature,
# timestamp and bearer token, records it, and can be told to fail, stall,
# redirect or answer with a huge body. Each test class starts its own
# receiver (loopback, a port the system picks; HTTPS with a throwaway CA
# made with the openssl command) and daemon. Receivers write their pid
# into a temp dir; whatever is still running from there when this script
# exits is stopped here, by that pid.
#
# Skipped (77) without python3 >= 3.6 or the openssl command.
set -eu

suite=webhook
. "$(dirname "$0")/sinksuite.sh"

for t in python3 openssl; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "webhook.sh: $t not found (apt-get install python3 openssl); skipped"
		exit 77
	fi
done
suite_need_python
suite_need_built "$build/engine/scimsyncd" \
	"$build/plugins/sink-webhook/.libs/sink_webhook.so"

SCIMSYNC_WEBHOOK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scimsync-webhook.XXXXXX")
export SCIMSYNC_WEBHOOK_TMP
cleanup() {
	for p in "$SCIMSYNC_WEBHOOK_TMP"/*/receiver.pid; do
		[ -f "$p" ] || continue
		pid=$(cat "$p")
		# Only our receiver: the pid may have been reused since.
		if grep -q receiver.py "/proc/$pid/cmdline" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$SCIMSYNC_WEBHOOK_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

suite_run webhook
