#!/usr/bin/env bash
# RabbitMQ for the local cluster: Debian's rabbitmq-server, run as our own node
# (its own epmd, ports, data and logs under var/), never the system's service.
# Verbs: install | start | probe | stop | status | purge
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# Instance MC_INSTANCE (default 1) of the --ha stack's three (common.sh): its own address, data
# and Erlang node name; all share one epmd and instance 1's Erlang cookie, and instances 2 and 3
# join instance 1's cluster on their first start.
INSTANCE=${MC_INSTANCE:-1}
NAME=$(mc_instance_name rabbitmq "$INSTANCE")
DIR=$(mc_instance_dir rabbitmq "$INSTANCE")
MC_RABBITMQ_ADDR=$(mc_instance_addr "$MC_RABBITMQ_ADDR" "$INSTANCE")
EPMD_PORT=${MC_EPMD_PORT:-4370}
NODENAME=$(mc_instance_name mailcluster "$INSTANCE")@localhost
FIRST_NODENAME=mailcluster@localhost

rabbit_env() {
  export HOME=$(mc_instance_dir rabbitmq 1)   # the Erlang cookie, shared by the instances
  export ERL_EPMD_PORT=$EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_NODENAME=$NODENAME
  export RABBITMQ_CONFIG_FILE=$DIR/rabbitmq.conf
  export RABBITMQ_MNESIA_BASE=$DIR/mnesia RABBITMQ_LOG_BASE=$DIR/log
  export RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins
  # the Erlang VM's own PID (the launcher's $NAME.pid is the wrapper script's)
  export RABBITMQ_PID_FILE=$MC_RUN/$NAME-vm.pid
  # the distribution listens on 127.0.0.1, so each instance has a port of its own
  export RABBITMQ_DIST_PORT=$((MC_RABBITMQ_DIST_PORT + 10 * (INSTANCE - 1)))
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

server_bin() { ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin 2>/dev/null | sort -V | tail -n 1; }

install() {
  mc_apt_install rabbitmq-server
  [ -n "$(server_bin)" ] || mc_die "rabbitmq-server is installed but its sbin folder is missing"
}

# A real AMQP handshake: protocol header, then expect Connection.Start.
probe() {
  python3 - "$MC_RABBITMQ_ADDR" "$MC_RABBITMQ_PORT" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
s.sendall(b"AMQP\x00\x00\x09\x01")
frame = s.recv(7 + 4)
# method frame (type 1), class 10 (connection), method 10 (start)
ok = len(frame) >= 11 and frame[0] == 1 and frame[7:11] == b"\x00\x0a\x00\x0a"
s.close()
sys.exit(0 if ok else 1)
PY
}

start() {
  install
  rabbit_env
  if mc_pid $NAME >/dev/null && probe 2>/dev/null; then return 0; fi
  local port certs
  for port in "$MC_RABBITMQ_PORT" "$MC_RABBITMQ_TLS_PORT" "$MC_RABBITMQ_MGMT_PORT" "$MC_RABBITMQ_MGMT_TLS_PORT"; do
    mc_port_free "$MC_RABBITMQ_ADDR" "$port" \
      || mc_die "$NAME cannot start: $MC_RABBITMQ_ADDR:$port is already taken by another process"
  done
  certs=$(mc_backend_certificate "$NAME" "$MC_RABBITMQ_ADDR")
  mkdir -p "$DIR/mnesia" "$DIR/log" "$HOME"
  sed -e "s/@ADDR@/$MC_RABBITMQ_ADDR/g" -e "s/@PORT@/$MC_RABBITMQ_PORT/g" -e "s/@MGMT_PORT@/$MC_RABBITMQ_MGMT_PORT/g" \
    -e "s/@TLS_PORT@/$MC_RABBITMQ_TLS_PORT/g" -e "s/@MGMT_TLS_PORT@/$MC_RABBITMQ_MGMT_TLS_PORT/g" -e "s|@CERTS@|$certs|g" -e "s|@NAME@|$NAME|g" \
    "$(dirname "${BASH_SOURCE[0]}")/rabbitmq/rabbitmq.conf.template" > "$DIR/rabbitmq.conf"
  echo '[rabbitmq_management].' > "$DIR/enabled_plugins"
  # one epmd for every instance (the --ha stack starts them side by side: one starts it)
  (
    flock 9
    if ! mc_pid epmd >/dev/null; then
      epmd_bin=$(ls /usr/lib/erlang/erts-*/bin/epmd | sort -V | tail -n 1)
      setsid "$epmd_bin" -port "$EPMD_PORT" -address 127.0.0.1 </dev/null >>"$MC_LOG/epmd.log" 2>&1 9>&- &
      echo $! > "$MC_RUN/epmd.pid"
    fi
  ) 9>"$MC_RUN/epmd.lock"
  # $! is the server's wrapper script, which stops the broker on TERM; the
  # Erlang VM's own PID lands in $RABBITMQ_PID_FILE (status reports that one).
  setsid "$(server_bin)/rabbitmq-server" </dev/null >>"$MC_LOG/$NAME.log" 2>&1 &
  echo $! > "$MC_RUN/$NAME.pid"
  mc_wait $NAME 120 probe || return 1
  if [ "$INSTANCE" != 1 ]; then join_first; elif [ "$(mc_backend_instances rabbitmq)" -gt 1 ]; then mirror_classic_queues; fi
}

# James 3.8.1 declares its mail queues quorum queues when told to, but the event bus's queues
# (the listeners' work queues: search indexing, quota, JMAP; each node's own queue for the
# events its IMAP and JMAP sessions wait for) and every dead-letter queue always as classic
# queues, which live on one broker node. With that node gone, events for them are dropped, and a
# node whose own queue was there cannot consume it again until the broker node returns (its
# IMAP sessions see no new mail: seen in the rabbitmq-leader-kill run). A policy mirrors them
# on every node (classic mirroring: RabbitMQ 3.x; docs/deploy.md).
mirror_classic_queues() {
  ctl set_policy --apply-to queues --priority 1 mailcluster-mirrored '^(mailboxEvent-|jmapEvent-|JamesMailQueue-dead-letter)' \
    '{"ha-mode":"all","ha-sync-mode":"automatic"}' >>"$MC_LOG/$NAME-join.log" 2>&1 \
    || { mc_say "ERROR: could not set the mirroring policy on $NAME; see $MC_LOG/$NAME-join.log"; return 1; }
}

ctl() { "$(server_bin)/rabbitmqctl" -n "$NODENAME" "$@"; }

# Instance 2 or 3: joins instance 1's cluster unless it is a member already (a restarted member
# rejoins by itself). Waits for instance 1, which the launcher starts beside it.
join_first() {
  local deadline=$((SECONDS + 120))
  until ctl cluster_status --formatter json 2>/dev/null | grep -q "\"$FIRST_NODENAME\""; do
    (( SECONDS < deadline )) || { mc_say "ERROR: $NAME could not join $FIRST_NODENAME's cluster; see $MC_LOG/$NAME-join.log"; return 1; }
    { ctl stop_app && ctl join_cluster "$FIRST_NODENAME" && ctl start_app; } >>"$MC_LOG/$NAME-join.log" 2>&1 || sleep 3
  done
  mc_wait $NAME 60 probe
}

stop() {
  rabbit_env
  mc_stop_pid $NAME 60
  # Should the wrapper have died alone (kill -9 in a fault test), the VM it started is still
  # ours: stop it through the PID it recorded.
  mc_stop_pid "$NAME-vm" 30
  # epmd serves every instance: it goes with the last one.
  local i
  for ((i = 1; i <= 3; i++)); do mc_pid "$(mc_instance_name rabbitmq "$i")-vm" >/dev/null && return 0; done
  mc_stop_pid epmd 5
}

status() {
  # the Erlang VM's PID (the wrapper may be gone after a kill -9)
  mc_status_line $NAME "$MC_RABBITMQ_ADDR:$MC_RABBITMQ_PORT" "$(mc_pid "$NAME-vm" || echo -)"
}

purge() {
  mc_pid $NAME >/dev/null && mc_die "stop rabbitmq before purging it"
  rm -rf "$DIR"
}

"${1:?usage: rabbitmq.sh install|start|probe|stop|status|purge}"
