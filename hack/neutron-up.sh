#!/usr/bin/env bash
# Start a throw-away, keystone-less OpenStack Neutron API (Debian bookworm's
# python3-neutron, 21.0.0 "Zed"), SQLite-backed, on 127.0.0.1 only.
# See ../shared/recipes/neutron.md (the recipe this follows) and docs/openstack.md.
#
#   hack/neutron-up.sh [STATE_DIR]      stop with hack/neutron-down.sh STATE_DIR
#
# Environment:
#   NEUTRON_PORT        port to listen on (default 9696)
#   NEUTRON_WATCH_PID   stop the server when this process exits (the test
#                       binary), so a crashed or timed-out test run leaves
#                       no server behind
#   NEUTRON_QUOTA_RULES / NEUTRON_QUOTA_GROUPS
#                       default per-project quotas (default -1: unlimited;
#                       tests lower them per project through the quota API)
#
# Requests reach Neutron with X-Project-Id / X-User-Id / X-Roles headers
# (what keystonemiddleware would inject); intentc sends them when
# INTENTC_NEUTRON_ENDPOINT is set (docs/openstack.md).
set -euo pipefail
D=${1:-/tmp/neutron-it}
PORT=${NEUTRON_PORT:-9696}
PY=/usr/bin/python3 # Debian's python: a pyenv or venv one cannot see dist-packages

case $D in
/ | "" | /tmp | /root | /home) echo "neutron-up: refusing state dir $D" >&2; exit 2 ;;
esac

if ! $PY -c 'import neutron' 2>/dev/null; then
	echo "neutron-up: installing python3-neutron (apt)" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-neutron >/dev/null
fi
command -v curl >/dev/null || { echo "neutron-up: curl is needed" >&2; exit 1; }

# Something already answering there would pass the readiness check below
# for a server that could not bind.
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
	echo "neutron-up: 127.0.0.1:$PORT is already in use" >&2
	exit 1
fi

rm -rf "$D"
mkdir -p "$D"/{state,lock}

cat >"$D/neutron.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $PORT
core_plugin = ml2
service_plugins =
auth_strategy = noauth
api_paste_config = $D/api-paste.ini
transport_url = fake:/
api_workers = 0
rpc_workers = 0
rpc_state_report_workers = 0
# serialize requests: SQLite + eventlet deadlock ("database is locked") on concurrent writes
wsgi_default_pool_size = 1
wsgi_keep_alive = false
state_path = $D/state
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
use_stderr = true
debug = false

[database]
connection = sqlite:///$D/neutron.db
sqlite_synchronous = false

[oslo_concurrency]
lock_path = $D/lock

[quotas]
quota_security_group = ${NEUTRON_QUOTA_GROUPS:--1}
quota_security_group_rule = ${NEUTRON_QUOTA_RULES:--1}
track_quota_usage = false

[ml2]
type_drivers = local,flat
tenant_network_types = local
mechanism_drivers =
extension_drivers = port_security

[securitygroup]
enable_security_group = true
CONF

# The stock noauth pipeline (fake_project_id) ignores X-Project-Id; this one
# builds the request context from the X-Project-Id / X-User-Id / X-Roles
# headers (keystonecontext without authtoken): real per-project scoping and
# real member/admin policy checks.
cat >"$D/api-paste.ini" <<'PASTE'
[composite:neutron]
use = egg:Paste#urlmap
/: neutronversions_composite
/v2.0: neutronapi_v2_0

[composite:neutronapi_v2_0]
use = call:neutron.auth:pipeline_factory
noauth = cors http_proxy_to_wsgi request_id catch_errors keystonecontext extensions neutronapiapp_v2_0

[composite:neutronversions_composite]
use = call:neutron.auth:pipeline_factory
noauth = cors http_proxy_to_wsgi neutronversions

[filter:keystonecontext]
paste.filter_factory = neutron.auth:NeutronKeystoneContext.factory

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory

[filter:catch_errors]
paste.filter_factory = oslo_middleware:CatchErrors.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = neutron

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory

[filter:extensions]
paste.filter_factory = neutron.api.extensions:plugin_aware_extension_middleware_factory

[app:neutronversions]
paste.app_factory = neutron.pecan_wsgi.app:versions_factory

[app:neutronapiapp_v2_0]
paste.app_factory = neutron.api.v2.router:APIRouter.factory
PASTE

# Alembic migrations cannot run on SQLite (ALTER of constraints); build the
# schema from the models, as Neutron's own unit tests do.
$PY - "sqlite:///$D/neutron.db" <<'PYEOF'
import sys
import sqlalchemy as sa
from neutron.db.migration.models import head  # noqa: F401  (loads every model)
from neutron_lib.db import model_base
engine = sa.create_engine(sys.argv[1])
model_base.BASEV2.metadata.create_all(engine)
# WAL: readers (the periodic worker's, a list) no longer block a writer's
# commit; in the default journal mode one long read made concurrent creates
# fail with "database is locked" after SQLite's 5 s busy wait.
with engine.connect() as c:
    assert c.exec_driver_sql("PRAGMA journal_mode=WAL").scalar() == "wal"
PYEOF

# setsid: the server and its forked workers get their own process group, so
# neutron-down.sh can stop them all by group without touching anything else.
setsid $PY -c 'import sys; from neutron.cmd.eventlet.server import main; sys.exit(main())' \
	--config-file "$D/neutron.conf" >"$D/server.log" 2>&1 </dev/null &
echo $! >"$D/server.pid"

if [ -n "${NEUTRON_WATCH_PID:-}" ]; then
	# Detached watchdog: when the watched process is gone, stop the server.
	setsid bash -c '
		while kill -0 "$1" 2>/dev/null && [ -f "$2/server.pid" ]; do sleep 1; done
		exec "$3" "$2"' neutron-watch "$NEUTRON_WATCH_PID" "$D" "$(cd "$(dirname "$0")" && pwd)/neutron-down.sh" \
		>/dev/null 2>&1 </dev/null &
	echo $! >"$D/watch.pid"
fi

for _ in $(seq 1 240); do
	if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/" || true)" = 200 ]; then
		echo "neutron up on http://127.0.0.1:$PORT/ (pid $(cat "$D/server.pid"), state $D)"
		exit 0
	fi
	kill -0 "$(cat "$D/server.pid")" 2>/dev/null || break
	sleep 0.5
done
echo "neutron-up: neutron-server failed to start on 127.0.0.1:$PORT; last lines of $D/server.log:" >&2
tail -40 "$D/server.log" >&2
"$(dirname "$0")/neutron-down.sh" "$D" || true
exit 1
