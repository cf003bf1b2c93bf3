#!/usr/bin/env bash
# Cassandra for the local cluster: the org.apache.cassandra:cassandra-all jars
# from Maven Central, run as one JVM (CassandraDaemon) on its own loopback
# address, with a cassandra.yaml, JVM options and logback.xml of the project's.
# Verbs: install | start | probe | stop | status | purge
# Extra arguments to probe are CQL statements, run in order; rows print as
# tab-separated text (see cassandra/cql_probe.py).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# Instance MC_INSTANCE (default 1) of the --ha stack's three (common.sh): its own address and
# data, instance 1 the seed. The jars are shared (var/cassandra/lib).
INSTANCE=${MC_INSTANCE:-1}
NAME=$(mc_instance_name cassandra "$INSTANCE")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/cassandra" && pwd)
SEED=$(mc_instance_addr "$MC_CASSANDRA_ADDR" 1)
MC_CASSANDRA_ADDR=$(mc_instance_addr "$MC_CASSANDRA_ADDR" "$INSTANCE")
DIR=$(mc_instance_dir cassandra "$INSTANCE")
LIB=$MC_VAR/cassandra/lib
DATA=$DIR/data
VERSION=${MC_CASSANDRA_VERSION:-5.0.9}
HEAP=${MC_CASSANDRA_HEAP:-768m}
STORAGE_PORT=${MC_CASSANDRA_STORAGE_PORT:-7000}
JMX_PORT=${MC_CASSANDRA_JMX_PORT:-7199}
JAVA=${MC_CASSANDRA_JAVA:-java}
# A node restarted under load replays its commit log first (53,659 mutations took 38 s in a
# --ha fault run, the whole start a little over 3 minutes on a busy machine).
START_TIMEOUT=${MC_CASSANDRA_START_TIMEOUT:-300}
# How the commit log reaches the disk before a write is acknowledged (docs/benchmarks/durability.md):
# batch (fsync before every acknowledgement, concurrent writes share one fsync), group (fsync every
# MC_CASSANDRA_COMMITLOG_WINDOW, writes wait for it) or periodic (acknowledged at once, fsync every
# window: a power cut loses up to that much accepted mail, so only for throwaway data).
COMMITLOG_SYNC=${MC_CASSANDRA_COMMITLOG_SYNC:-batch}
case $COMMITLOG_SYNC in
  batch) COMMITLOG_LINES="commitlog_sync: batch" ;;
  group) COMMITLOG_LINES="commitlog_sync: group\ncommitlog_sync_group_window: ${MC_CASSANDRA_COMMITLOG_WINDOW:-10ms}" ;;
  periodic) COMMITLOG_LINES="commitlog_sync: periodic\ncommitlog_sync_period: ${MC_CASSANDRA_COMMITLOG_WINDOW:-10000ms}" ;;
  *) mc_die "MC_CASSANDRA_COMMITLOG_SYNC must be batch, group or periodic, not '$COMMITLOG_SYNC'" ;;
esac

# The server's jars stay in their own folder and on their own classpath: their
# Netty (and driver-side) versions differ from what James uses.
install() {
  if [ "$(cat "$LIB/.installed" 2>/dev/null)" = "$VERSION" ]; then return 0; fi
  command -v mvn >/dev/null || mc_die "cassandra install needs Maven (mvn) on the PATH"
  mc_say "fetching Cassandra $VERSION and its dependencies from Maven Central"
  local tmp=$LIB.tmp
  rm -rf "$tmp"; mkdir -p "$tmp"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
      -Dcassandra.version="$VERSION" -DincludeScope=runtime \
      -DoutputDirectory="$tmp" -Dmdep.useBaseVersion=true \
      >>"$MC_LOG/maven-fetch.log" 2>&1 \
    || { rm -rf "$tmp"; mc_die "could not fetch Cassandra $VERSION from Maven Central; see $MC_LOG/maven-fetch.log"; }
  [ -f "$tmp/cassandra-all-$VERSION.jar" ] || { rm -rf "$tmp"; mc_die "cassandra-all-$VERSION.jar missing after the fetch"; }
  echo "$VERSION" > "$tmp/.installed"
  rm -rf "$LIB"; mv "$tmp" "$LIB"
}

# A real CQL query over the native protocol; prints the server's version, or
# the rows of the statements given as arguments.
probe() {
  python3 "$HERE/cql_probe.py" "$MC_CASSANDRA_ADDR" "$MC_CASSANDRA_PORT" "$@"
}

# The TLS certificate of the native port as the PKCS#12 keystore Cassandra reads, with a
# password of its own (var/secrets is the owner's only).
tls_keystore() {
  local certs
  certs=$(mc_backend_certificate "$NAME" "$MC_CASSANDRA_ADDR")
  [ -s "$certs/$NAME-keystore-password" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$certs/$NAME-keystore-password")
  (umask 077; openssl pkcs12 -export -in "$certs/$NAME-cert.pem" -inkey "$certs/$NAME-key.pem" -name cassandra \
     -passout "file:$certs/$NAME-keystore-password" -out "$DIR/conf/keystore.p12" >>"$MC_LOG/keytool.log" 2>&1) \
    || mc_die "could not make $NAME's TLS keystore; see $MC_LOG/keytool.log"
  echo "$certs/$NAME-keystore-password"
}

write_config() {
  mkdir -p "$DIR/conf" "$DIR/triggers" "$DATA"
  local password
  password=$(cat "$(tls_keystore)")
  sed -e "s|@ADDR@|$MC_CASSANDRA_ADDR|g" -e "s|@PORT@|$MC_CASSANDRA_PORT|g" \
      -e "s|@KEYSTORE@|$DIR/conf/keystore.p12|g" -e "s|@KEYSTORE_PASSWORD@|$password|g" \
      -e "s|@STORAGE_PORT@|$STORAGE_PORT|g" -e "s|@DATA@|$DATA|g" -e "s|@SEED@|$SEED|g" \
      -e "s|@REPLICATION_FACTOR@|$(mc_backend_instances cassandra)|g" \
      -e "s|^@COMMITLOG_SYNC@\$|$COMMITLOG_LINES|" \
      "$HERE/cassandra.yaml" > "$DIR/conf/cassandra.yaml"
  chmod 600 "$DIR/conf/cassandra.yaml"   # it holds the keystore password
  cp "$HERE/logback.xml" "$DIR/conf/logback.xml"
}

jvm_args() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}; line=${line%"${line##*[![:space:]]}"}
    [[ $line == -* ]] && printf '%s\n' "$line"
  done < "$HERE/jvm17.options"
  local jamm
  jamm=$(ls "$LIB"/jamm-*.jar 2>/dev/null | head -n 1) && [ -n "$jamm" ] && echo "-javaagent:$jamm"
  cat <<EOF
-Xms$HEAP
-Xmx$HEAP
-XX:+ExitOnOutOfMemoryError
-XX:ErrorFile=$MC_LOG/$NAME-hs_err_%p.log
-Dcassandra-foreground=yes
-Dcassandra.config=file://$DIR/conf/cassandra.yaml
-Dcassandra.storagedir=$DATA
-Dcassandra.logdir=$MC_LOG
-Dcassandra.logname=$NAME
-Dcassandra.triggers_dir=$DIR/triggers
-Dcassandra.skip_wait_for_gossip_to_settle=0
-Dcassandra.ring_delay_ms=1000
-Dcassandra.shutdown_announce_in_ms=0
-Dlogback.configurationFile=$DIR/conf/logback.xml
-Djava.io.tmpdir=$DIR/tmp
-Djava.rmi.server.hostname=$MC_CASSANDRA_ADDR
-Dcom.sun.management.jmxremote.host=$MC_CASSANDRA_ADDR
-Dcom.sun.management.jmxremote.port=$JMX_PORT
-Dcom.sun.management.jmxremote.rmi.port=$JMX_PORT
-Dcom.sun.management.jmxremote.authenticate=false
-Dcom.sun.management.jmxremote.ssl=false
-Dcom.sun.management.jmxremote.local.only=false
EOF
}

start() {
  install
  if mc_pid $NAME >/dev/null; then
    probe >/dev/null 2>&1 && return 0
    # Ours and still starting (or stuck): wait for it rather than start another.
    mc_wait $NAME "$START_TIMEOUT" probe
    return
  fi
  local port
  for port in "$MC_CASSANDRA_PORT" "$STORAGE_PORT" "$JMX_PORT"; do
    mc_port_free "$MC_CASSANDRA_ADDR" "$port" \
      || mc_die "$NAME cannot start: $MC_CASSANDRA_ADDR:$port is already taken by another process"
  done
  write_config
  mkdir -p "$DIR/tmp"
  local args=()
  mapfile -t args < <(jvm_args)
  # Run as root, Cassandra mlockall()s its whole heap. Dropping CAP_IPC_LOCK
  # makes that fail harmlessly (a warning in the log) and keeps RSS lower.
  local wrap=()
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null \
     && setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock true 2>/dev/null; then
    wrap=(setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock)
  fi
  echo "=== $(date -Is) starting Cassandra $VERSION ($NAME) on $MC_CASSANDRA_ADDR:$MC_CASSANDRA_PORT" >>"$MC_LOG/$NAME.log"
  # setsid and setpriv exec, so $! is the JVM itself.
  (cd "$DIR" && exec setsid "${wrap[@]}" "$JAVA" "${args[@]}" -cp "$LIB/*" \
     org.apache.cassandra.service.CassandraDaemon </dev/null >>"$MC_LOG/$NAME.log" 2>&1) &
  echo $! > "$MC_RUN/$NAME.pid"
  # On failure a dead JVM's pid file goes; a live but unhealthy one stays
  # recorded, so that stop can still end it.
  mc_wait $NAME "$START_TIMEOUT" probe || { mc_pid $NAME >/dev/null || rm -f "$MC_RUN/$NAME.pid"; return 1; }
}

stop() {
  mc_stop_pid $NAME 60
}

status() { mc_status_line $NAME "$MC_CASSANDRA_ADDR:$MC_CASSANDRA_PORT" "$(mc_pid $NAME || echo -)"; }

purge() {
  mc_pid $NAME >/dev/null && mc_die "stop cassandra before purging it"
  rm -rf "$DATA"
}

usage="usage: cassandra.sh install|start|probe [CQL...]|stop|status|purge"
verb=${1:?$usage}
shift
case $verb in
  install|start|probe|stop|status|purge) "$verb" "$@" ;;
  *) mc_die "$usage" ;;
esac
