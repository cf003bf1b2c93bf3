#!/usr/bin/env bash
# RabbitMQ for the local cluster: Debian's rabbitmq-server, run as our own node
# (its own epmd, ports, data and logs under var/), never the system's service.
# Verbs: install | start | probe | stop | status | purge
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

NAME=rabbitmq
DIR=$MC_VAR/rabbitmq
EPMD_PORT=${MC_EPMD_PORT:-4370}

rabbit_env() {
  export HOME=$DIR                       # its own Erlang cookie
  export ERL_EPMD_PORT=$EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_NODENAME=mailcluster@localhost
  export RABBITMQ_CONFIG_FILE=$DIR/rabbitmq.conf
  export RABBITMQ_MNESIA_BASE=$DIR/mnesia RABBITMQ_LOG_BASE=$DIR/log
  export RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins
  export RABBITMQ_PID_FILE=$DIR/beam.pid
  export RABBITMQ_DIST_PORT=$MC_RABBITMQ_DIST_PORT
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
      || mc_die "rabbitmq cannot start: $MC_RABBITMQ_ADDR:$port is already taken by another process"
  done
  certs=$(mc_backend_certificate rabbitmq "$MC_RABBITMQ_ADDR")
  mkdir -p "$DIR/mnesia" "$DIR/log"
  sed -e "s/@ADDR@/$MC_RABBITMQ_ADDR/g" -e "s/@PORT@/$MC_RABBITMQ_PORT/g" -e "s/@MGMT_PORT@/$MC_RABBITMQ_MGMT_PORT/g" \
    -e "s/@TLS_PORT@/$MC_RABBITMQ_TLS_PORT/g" -e "s/@MGMT_TLS_PORT@/$MC_RABBITMQ_MGMT_TLS_PORT/g" -e "s|@CERTS@|$certs|g" \
    "$(dirname "${BASH_SOURCE[0]}")/rabbitmq/rabbitmq.conf.template" > "$DIR/rabbitmq.conf"
  echo '[rabbitmq_management].' > "$DIR/enabled_plugins"
  if ! mc_pid epmd >/dev/null; then
    epmd_bin=$(ls /usr/lib/erlang/erts-*/bin/epmd | sort -V | tail -n 1)
    setsid "$epmd_bin" -port "$EPMD_PORT" -address 127.0.0.1 </dev/null >>"$MC_LOG/epmd.log" 2>&1 &
    echo $! > "$MC_RUN/epmd.pid"
  fi
  # $! is the server's wrapper script, which stops the broker on TERM; the
  # Erlang VM's own PID lands in $RABBITMQ_PID_FILE (status reports that one).
  setsid "$(server_bin)/rabbitmq-server" </dev/null >>"$MC_LOG/$NAME.log" 2>&1 &
  echo $! > "$MC_RUN/$NAME.pid"
  mc_wait $NAME 120 probe
}

stop() {
  rabbit_env
  mc_stop_pid $NAME 60
  # Should the wrapper have died alone (kill -9 in a fault test), the VM it
  # started is still ours: stop it through the PID it recorded.
  if [ -f "$DIR/beam.pid" ]; then
    cp "$DIR/beam.pid" "$MC_RUN/rabbitmq-vm.pid"
    mc_stop_pid rabbitmq-vm 30
    rm -f "$DIR/beam.pid"
  fi
  mc_stop_pid epmd 5
}

status() {
  # the Erlang VM's PID, which the wrapper recorded (the wrapper may be gone after a kill -9)
  local pid
  pid=$(cat "$DIR/beam.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null || pid=-
  mc_status_line $NAME "$MC_RABBITMQ_ADDR:$MC_RABBITMQ_PORT" "$pid"
}

purge() {
  mc_pid $NAME >/dev/null && mc_die "stop rabbitmq before purging it"
  rm -rf "$DIR"
}

"${1:?usage: rabbitmq.sh install|start|probe|stop|status|purge}"
