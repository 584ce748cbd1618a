#!/usr/bin/env bash
# Stop the neutron-server that hack/neutron-up.sh STATE_DIR started: its
# process group (the API parent and its RPC and periodic workers), TERM first,
# KILL after 10 s. Safe to run twice.
#
#   hack/neutron-down.sh [STATE_DIR]
D=${1:-/tmp/neutron-it}
[ -f "$D/server.pid" ] || exit 0
P=$(cat "$D/server.pid")
rm -f "$D/server.pid" # also tells the watchdog to leave
case $P in '' | *[!0-9]*) exit 0 ;; esac
# setsid made the server its own process-group leader: -P is exactly its group.
kill -TERM -- "-$P" 2>/dev/null || kill -TERM "$P" 2>/dev/null || exit 0
for _ in $(seq 1 40); do
	kill -0 -- "-$P" 2>/dev/null || exit 0
	sleep 0.25
done
kill -KILL -- "-$P" 2>/dev/null
exit 0
