#!/usr/bin/env bash
# The cluster's node processes: MX, submission and mailbox nodes, each on its own loopback
# address, each run from its node type's distribution (NODE-TYPE/target/dist, the same folder
# the Dockerfile and the Helm chart use) with its settings in MC_* environment variables.
# Verbs: start | stop | status | purge | build | start-one NAME | stop-one NAME | kill NAME | names | address NAME
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

NODES_DIR=$MC_VAR/nodes
WEBADMIN_PORT=8000

# "mx1 mx2 submission1 mailbox1 [backupmx1]" for the recorded cluster shape.
node_names() {
  local i
  for ((i = 1; i <= MC_MX_COUNT; i++)); do echo "mx$i"; done
  for ((i = 1; i <= MC_SUBMISSION_COUNT; i++)); do echo "submission$i"; done
  for ((i = 1; i <= MC_MAILBOX_COUNT; i++)); do echo "mailbox$i"; done
  if [ "$MC_BACKUP_MX" = 1 ]; then echo backupmx1; fi
}
node_type() { echo "${1%%[0-9]*}"; }
node_index() { echo "${1##*[!0-9]}"; }
node_addr() { mc_node_addr "$(node_type "$1")" "$(node_index "$1")"; }
# A backup MX runs the MX node type's distribution, in its backup role (MC_MX_ROLE).
node_dist() {
  local type
  type=$(node_type "$1")
  [ "$type" = backupmx ] && type=mx
  echo "$MC_ROOT/$type-node/target/dist"
}

# ensure_key_pair NAME ALIAS WHAT KEYTOOL-ARGS...: a self-signed key pair in
# var/secrets/NAME.p12 (PKCS12), its password in var/secrets/NAME-password, made once.
ensure_key_pair() {
  local dir=$MC_VAR/secrets name=$1 alias=$2 what=$3
  shift 3
  [ -s "$dir/$name.p12" ] && return 0
  mkdir -p "$dir" && chmod 700 "$dir"
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/$name-password")
  keytool -genkeypair -alias "$alias" -keyalg RSA -keysize 2048 -validity 3650 "$@" \
    -storetype PKCS12 -keystore "$dir/$name.p12" -storepass "$(cat "$dir/$name-password")" \
    >>"$MC_LOG/keytool.log" 2>&1 || mc_die "could not create the $what; see $MC_LOG/keytool.log"
  chmod 600 "$dir/$name.p12"
}

ensure_keystores() {
  # TLS for SMTP/IMAP: one self-signed certificate for the cluster's names.
  ensure_key_pair keystore mailcluster "TLS keystore" \
    -dname "CN=$MC_DOMAIN" -ext "SAN=dns:$MC_DOMAIN,dns:*.$MC_DOMAIN,ip:127.0.0.1"
  # Its certificate alone (PEM, public), for clients that trust the cluster rather than
  # switching verification off: MAILCLUSTER_TLS_CERT in ./mailcluster env.
  if [ ! -s "$MC_VAR/secrets/cluster-cert.pem" ]; then
    keytool -exportcert -rfc -alias mailcluster -keystore "$MC_VAR/secrets/keystore.p12" -storetype PKCS12 \
      -storepass "$(cat "$MC_VAR/secrets/keystore-password")" -file "$MC_VAR/secrets/cluster-cert.pem" \
      >>"$MC_LOG/keytool.log" 2>&1 || mc_die "could not export the cluster's certificate; see $MC_LOG/keytool.log"
  fi
  # JMAP signs its (draft protocol) tokens with a key James names "james", in a keystore of
  # its own: beside the TLS entry, the JDK's default key manager would pick it for IMAP and SMTP.
  ensure_key_pair jmap-signing james "JMAP signing key" -dname "CN=jmap.$MC_DOMAIN"
}

# The header file curl sends to webadmin (kept out of command lines, hence out of `ps`).
webadmin_header_file() {
  local f=$MC_VAR/secrets/webadmin-header
  if [ ! -s "$f" ] || ! grep -qF "$(cat "$(mc_webadmin_secret_file)")" "$f"; then
    (umask 077; echo "$(mc_webadmin_auth)" > "$f")
  fi
  echo "$f"
}

webadmin() { # webadmin NAME METHOD PATH
  curl -fsS --max-time 10 -X "$2" -H @"$(webadmin_header_file)" "http://$(node_addr "$1"):$WEBADMIN_PORT$3"
}

probe_one() { webadmin "$1" GET /healthcheck >/dev/null 2>&1; }

# Node distributions are built by Maven (`package`). Inside the test suite (MC_NO_BUILD=1)
# Maven has just built them: only check they are there. Otherwise rebuild when any source or
# configuration changed since the launcher last built them.
build() {
  local type stale=0
  for type in mx submission mailbox; do
    local dist=$MC_ROOT/$type-node/target/dist
    if [ "${MC_NO_BUILD:-0}" = 1 ]; then
      [ -f "$dist/main-class" ] || mc_die "no distribution at $dist and MC_NO_BUILD=1: run 'mvn -DskipTests package' first"
    elif [ ! -f "$dist/.built-by-launcher" ] || [ -n "$(find "$MC_ROOT/$type-node/src" "$MC_ROOT/shared-queue/src" -newer "$dist/.built-by-launcher" -type f -print -quit)" ]; then
      stale=1
    fi
  done
  [ $stale = 0 ] && return 0
  mc_say "building the node distributions (mvn package)"
  (cd "$MC_ROOT" && mvn -B -q -DskipTests package -pl mx-node,submission-node,mailbox-node -am) >"$MC_LOG/build.log" 2>&1 \
    || mc_die "the build failed; see $MC_LOG/build.log"
  for type in mx submission mailbox; do touch "$MC_ROOT/$type-node/target/dist/.built-by-launcher"; done
}

start_one() {
  local name=$1 addr dist home
  addr=$(node_addr "$name"); dist=$(node_dist "$name"); home=$NODES_DIR/$name
  if mc_pid "$name" >/dev/null; then return 0; fi
  [ -f "$dist/main-class" ] || mc_die "$name: no distribution at $dist (build it with mvn -DskipTests package)"
  local port
  for port in $(node_ports "$name") $WEBADMIN_PORT; do
    mc_port_free "$addr" "$port" || mc_die "$name cannot start: $addr:$port is already taken by another process"
  done
  mkdir -p "$home"
  ln -sfn "$dist/conf" "$home/conf"
  (
    export MC_NODE_HOME=$home MC_BIND_ADDRESS=$addr MC_HOSTNAME=$name.$MC_DOMAIN MC_DOMAIN
    export MC_SMTP_PORT=25 MC_SUBMISSION_PORT=587 MC_SUBMISSIONS_PORT=465
    export MC_SUBMISSION_PROXY_PORT MC_SUBMISSIONS_PROXY_PORT MC_IMAP_PORT=143 MC_IMAPS_PORT=993
    export MC_POP3_PORT=110 MC_POP3S_PORT=995
    case $(node_type "$name") in
      backupmx) export MC_MX_ROLE=backup ;;
      mx) export MC_MX_ROLE=primary ;;
      mailbox) export MC_MAILBOX_TIER=$(mc_mailbox_tier "$(node_index "$name")") ;;
    esac
    export MC_JMAP_PORT=$(mc_jmap_port "$(node_index "$name")")
    export MC_JMAP_URL=http://$addr:$MC_JMAP_PORT MC_JMAP_WEBSOCKET_URL=ws://$addr:$MC_JMAP_PORT
    export MC_WEBADMIN_ADDRESS=$addr MC_WEBADMIN_PORT=$WEBADMIN_PORT MC_WEBADMIN_SECRET_FILE=$(mc_webadmin_secret_file)
    # Every backend instance (three of each with --ha; common.sh), the keyspace replicated on
    # every Cassandra node, the mail queues and the event bus as quorum queues on a RabbitMQ cluster.
    export MC_CASSANDRA_NODES=$(mc_backend_list cassandra "$MC_CASSANDRA_ADDR" "$MC_CASSANDRA_PORT") MC_CASSANDRA_KEYSPACE=mailcluster
    export MC_CASSANDRA_REPLICATION_FACTOR=$(mc_backend_instances cassandra)
    if [ "$(mc_backend_instances rabbitmq)" -gt 1 ]; then
      export MC_RABBITMQ_HOSTS=$(mc_backend_list rabbitmq "$MC_RABBITMQ_ADDR" "$MC_RABBITMQ_PORT")
      export MC_RABBITMQ_QUORUM_QUEUES=true MC_RABBITMQ_QUORUM_REPLICAS=$(mc_backend_instances rabbitmq)
    fi
    # The backends' URIs and TLS settings from the caller win: a node started against RabbitMQ's
    # and Cassandra's TLS listeners (BackendSecurityTest; ./mailcluster env MAILCLUSTER_*_TLS).
    export MC_RABBITMQ_URI=${MC_RABBITMQ_URI:-amqp://$MC_RABBITMQ_ADDR:$MC_RABBITMQ_PORT}
    export MC_RABBITMQ_MANAGEMENT_URI=${MC_RABBITMQ_MANAGEMENT_URI:-http://$MC_RABBITMQ_ADDR:$MC_RABBITMQ_MGMT_PORT}
    export MC_RABBITMQ_CA=${MC_RABBITMQ_CA:-} MC_CASSANDRA_TLS=${MC_CASSANDRA_TLS:-false} MC_CASSANDRA_CA=${MC_CASSANDRA_CA:-}
    export MC_RABBITMQ_USER=guest MC_RABBITMQ_PASSWORD=guest
    export MC_DNS_SERVER=$MC_DNS_ADDR
    export MC_RSPAMD_URL=http://$MC_RSPAMD_ADDR:$MC_RSPAMD_PORT MC_CLAMAV_ADDRESS=$MC_CLAMAV_ADDR:$MC_CLAMAV_PORT
    # The test block list the cluster's DNS serves (launcher/services/dns.sh); production: real zones.
    export MC_DNSBL_ZONES=${MC_DNSBL_ZONES:-bl.$MC_DOMAIN}
    # MC_OPENSEARCH_URL, _USER, _PASSWORD, _CA from the caller win: a node started against an
    # OpenSearch behind TLS and authentication (BackendSecurityTest).
    local search_nodes
    search_nodes=$(mc_backend_list opensearch "$MC_OPENSEARCH_ADDR" "$MC_OPENSEARCH_PORT" | sed 's|\([^,]*\)|http://\1|g')
    export MC_OPENSEARCH_URL=${MC_OPENSEARCH_URL:-$search_nodes} MC_SEARCH_INDEX_SHARDS=${MC_SEARCH_INDEX_SHARDS:-1}
    export MC_SEARCH_INDEX_REPLICAS=${MC_SEARCH_INDEX_REPLICAS:-$(( $(mc_backend_instances opensearch) - 1 ))}
    export MC_TLS_KEYSTORE=$MC_VAR/secrets/keystore.p12 MC_TLS_KEYSTORE_PASSWORD=$(cat "$MC_VAR/secrets/keystore-password")
    export MC_DKIM_KEYS=$(mc_dkim_keys_dir)
    export MC_JMAP_SIGNING_KEYSTORE=$MC_VAR/secrets/jmap-signing.p12 MC_JMAP_SIGNING_KEYSTORE_PASSWORD=$(cat "$MC_VAR/secrets/jmap-signing-password")
    export MC_SPOOLER_THREADS=${MC_SPOOLER_THREADS:-8} MC_REMOTE_DELIVERY_THREADS=${MC_REMOTE_DELIVERY_THREADS:-8}
    # The local cluster retries a failing remote MX sooner than production (5 minutes first).
    export MC_REMOTE_DELIVERY_DELAYS=${MC_REMOTE_DELIVERY_DELAYS:-20 seconds, 1 minute, 5 minutes, 30 minutes, 2 hours, 6 hours}
    export JAVA_OPTS=${MC_NODE_JAVA_OPTS:--Xms256m -Xmx768m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError}
    # Through logcap.py: the log is capped in size, so an error loop cannot fill the disk.
    # logcap gets no stdout of ours: whoever started us (a benchmark reading our output) would
    # otherwise wait for the node to exit.
    exec setsid bash "$dist/bin/start" </dev/null > >(exec python3 "$MC_ROOT/launcher/lib/logcap.py" "$MC_LOG/$name.log" >/dev/null 2>&1) 2>&1
  ) &
  echo $! > "$MC_RUN/$name.pid"
}

# A node that exits during start-up is started again, twice at most, as Kubernetes restarts
# a pod whose container exits. On a cluster's first start every node creates the schema and
# the queues at once, on a Cassandra that has just started; a statement there can time out,
# and the next start finds the work done. The cause is printed each time (mc_wait); a node
# that runs but does not become healthy is not restarted.
await_healthy() {
  local name=$1 attempt
  for attempt in 1 2 3; do
    mc_wait "$name" 180 probe_one "$name" && return 0
    if mc_pid "$name" >/dev/null || [ "$attempt" = 3 ]; then return 1; fi
    mc_say "$name: starting it again (attempt $((attempt + 1)) of 3)"
    start_one "$name"
  done
}

node_ports() {
  case $(node_type "$1") in
    mx|backupmx) echo 25 ;;
    submission) echo 587 465 ;;
    mailbox) echo 143 993 110 995 "$(mc_jmap_port "$(node_index "$1")")" ;;
  esac
}

# Hosted domain: the cluster serves MC_DOMAIN from its first start on.
ensure_domain() {
  webadmin "$1" PUT "/domains/$MC_DOMAIN" >/dev/null 2>&1 || mc_die "could not create the domain $MC_DOMAIN through $1's webadmin"
}

start() {
  ensure_keystores
  build
  local name first=""
  for name in $(node_names); do start_one "$name"; done
  for name in $(node_names); do
    await_healthy "$name" || exit 1
    mc_say "$name healthy at $(node_addr "$name") (pid $(mc_pid "$name"))"
    first=${first:-$name}
  done
  [ -n "$first" ] && ensure_domain "$first"
  return 0
}

stop() {
  local name
  # Stop every node that has a PID file, whatever the recorded shape says now.
  for f in "$MC_RUN"/mx*.pid "$MC_RUN"/backupmx*.pid "$MC_RUN"/submission*.pid "$MC_RUN"/mailbox*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    mc_stop_pid "$name" 60
  done
}

status() {
  local name pid health
  for name in $(node_names); do
    health=down
    pid=$(mc_pid "$name") || pid=-
    probe_one "$name" && health=healthy
    printf '%-12s %-22s %-8s %s\n' "$name" "$(node_addr "$name"):$(node_ports "$name" | cut -d' ' -f1)" "$pid" "$health"
  done
}

purge() { rm -rf "$NODES_DIR"; }

case ${1:?usage: nodes.sh start|stop|status|purge|build|start-one NAME|stop-one NAME|kill NAME} in
  start-one) ensure_keystores; start_one "$2"; await_healthy "$2" ;;
  stop-one) mc_stop_pid "$2" 60 ;;
  kill) mc_kill_pid "$2" ;;
  names) node_names ;;
  address) node_addr "$2" ;;
  *) "$1" ;;
esac
