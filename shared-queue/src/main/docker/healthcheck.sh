#!/usr/bin/env bash
# Container health probe of every node image: GET /healthcheck on the node's own webadmin, with
# "Authorization: Bearer <secret>" read from MC_WEBADMIN_SECRET_FILE, as ./mailcluster's probe
# does. Needs nothing but bash (no curl in the image): the request goes through /dev/tcp, and the
# secret never appears on a command line or in the probe's output.
#
#   healthcheck.sh ready   success on 200 only: every component healthy (or degraded: James
#                          answers 200 for that, e.g. OpenSearch down on a mailbox node)
#   healthcheck.sh live    success on 200 or 503: the JVM answers HTTP. A backend outage
#                          (503: Cassandra or RabbitMQ unhealthy) is not a reason to restart a
#                          node, which reconnects by itself; it only stops being ready.
#
# James 3.8.1 serves /healthcheck without authentication (a public route); the header is sent
# anyway so that the probe keeps working if the route is ever put behind the secret.
set -uo pipefail

mode=${1:-ready}
port=${MC_WEBADMIN_PORT:-8000}
addr=${MC_WEBADMIN_ADDRESS:-127.0.0.1}
case $addr in 0.0.0.0 | '::' | '[::]' | '') addr=127.0.0.1 ;; esac
secret_file=${MC_WEBADMIN_SECRET_FILE:-}

secret=""
if [ -n "$secret_file" ] && [ -r "$secret_file" ]; then
  secret=$(<"$secret_file")
fi

if ! exec 3<>"/dev/tcp/$addr/$port"; then
  echo "webadmin: no answer on $addr:$port"
  exit 1
fi
printf 'GET /healthcheck HTTP/1.0\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' \
  "$addr" "$port" "$secret" >&3
unset secret
if ! IFS=' ' read -r -t 5 _proto status _reason <&3; then
  echo "webadmin: no HTTP answer from $addr:$port within 5 s"
  exit 1
fi
exec 3<&- 3>&-
status=${status%$'\r'}

case $mode in
  ready) [ "$status" = 200 ] ;;
  live) [ "$status" = 200 ] || [ "$status" = 503 ] ;;
  *) echo "usage: healthcheck.sh ready|live"; exit 2 ;;
esac
rc=$?
echo "webadmin /healthcheck: HTTP $status ($mode: $([ $rc = 0 ] && echo ok || echo failing))"
exit $rc
