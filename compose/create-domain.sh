#!/usr/bin/env bash
# One-shot service of compose.yaml, run once the mailbox node is healthy: adds the cluster's
# domain ($MC_DOMAIN) through webadmin, as ./mailcluster up does. Runs in the JRE image,
# needing nothing but bash: the request goes through /dev/tcp. Idempotent (PUT).
set -euo pipefail
host=${MC_WEBADMIN_HOST:-mailbox}
port=${MC_WEBADMIN_PORT:-8000}
domain=${MC_DOMAIN:?MC_DOMAIN is not set}

exec 3<>"/dev/tcp/$host/$port"
printf 'PUT /domains/%s HTTP/1.0\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' \
  "$domain" "$host" "$port" "$(<"$MC_WEBADMIN_SECRET_FILE")" >&3
IFS=' ' read -r -t 10 _proto status _reason <&3
status=${status%$'\r'}
case $status in
  204 | 200) echo "create-domain: $domain is a hosted domain" ;;
  *) echo "create-domain: PUT /domains/$domain answered HTTP $status" >&2; exit 1 ;;
esac
