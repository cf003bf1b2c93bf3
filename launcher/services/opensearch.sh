#!/usr/bin/env bash
# OpenSearch for the local cluster: one single-node OpenSearch 2.19.1 on
# $MC_OPENSEARCH_ADDR:$MC_OPENSEARCH_PORT (transport $MC_OPENSEARCH_TRANSPORT_PORT).
#
#   bash launcher/services/opensearch.sh install|start|probe|stop|status|purge
#
# install  fetches the integ-test zip from Maven Central and adds the modules it
#          lacks (analysis-common, lang-painless, reindex) from their Maven jars,
#          with descriptors and policies kept in launcher/services/opensearch/modules.
#          Idempotent: a marker records what was installed.
# start    writes the config from launcher/services/opensearch/{opensearch.yml,jvm.options},
#          runs the node as the system user "opensearch" (it refuses to run as root)
#          and waits until the cluster is green or yellow. Idempotent.
# probe    GET /_cluster/health; exit 0 when green or yellow.
# stop     TERM to the recorded JVM pid; data is kept.
# status   one line: opensearch ADDR:PORT PID|- healthy|down (always exits 0).
# purge    stop, then remove data, logs and generated config (the install stays).
#
# Layout under $MC_VAR/opensearch: dist/ (read-only install, root-owned),
# config/ data/ logs/ tmp/ (owned by the service user).

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
set -u -o pipefail

OS_VERSION=2.19.1
OS_COORDS="org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION:zip"
OS_MODULES=(lang-painless analysis-common reindex)
OS_SRC=$MC_ROOT/launcher/services/opensearch
# Instance MC_INSTANCE (default 1) of the --ha stack's two (common.sh): its own address,
# configuration and data; the install in var/opensearch/dist is shared.
INSTANCE=${MC_INSTANCE:-1}
NAME=$(mc_instance_name opensearch "$INSTANCE")
OS_FIRST_ADDR=$MC_OPENSEARCH_ADDR
MC_OPENSEARCH_ADDR=$(mc_instance_addr "$OS_FIRST_ADDR" "$INSTANCE")
OS_BASE=$(mc_instance_dir opensearch "$INSTANCE")
OS_DIST=$MC_VAR/opensearch/dist/opensearch-$OS_VERSION
OS_MARKER=$MC_VAR/opensearch/dist/.installed
OS_CONF=$OS_BASE/config
OS_DATA=$OS_BASE/data
OS_LOGS=$OS_BASE/logs
OS_TMP=$OS_BASE/tmp
OS_USER=${MC_OPENSEARCH_USER:-opensearch}
MC_OPENSEARCH_TRANSPORT_PORT=${MC_OPENSEARCH_TRANSPORT_PORT:-9300}
MC_OPENSEARCH_HEAP=${MC_OPENSEARCH_HEAP:-512m}
OS_START_TIMEOUT=${MC_OPENSEARCH_START_TIMEOUT:-180}
OS_URL="http://$MC_OPENSEARCH_ADDR:$MC_OPENSEARCH_PORT"

# What an install consists of; a change to any of it makes install redo the work.
os_fingerprint() {
  {
    echo "$OS_COORDS ${OS_MODULES[*]}"
    cat "$OS_SRC/modules-pom.xml"
    local f
    for f in "$OS_SRC"/modules/*/*; do echo "$f"; cat "$f"; done
  } | sha256sum | cut -d' ' -f1
}

os_installed() {
  [ -x "$OS_DIST/bin/opensearch" ] && [ -f "$OS_MARKER" ] && [ "$(cat "$OS_MARKER")" = "$(os_fingerprint)" ]
}

os_is_root() { [ "$(id -u)" -eq 0 ]; }

# The node refuses to run as root, so as root we use a system user of our own.
os_ensure_user() {
  os_is_root || return 0
  id -u "$OS_USER" >/dev/null 2>&1 && return 0
  local group_opt=(--user-group)
  getent group "$OS_USER" >/dev/null 2>&1 && group_opt=(--gid "$OS_USER")
  useradd --system "${group_opt[@]}" --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --comment "mailcluster OpenSearch" "$OS_USER" \
    || mc_die "opensearch: could not create the system user '$OS_USER'"
  mc_say "opensearch: created system user '$OS_USER'"
}

# os_run_as CMD...: runs CMD as the service user (root) or as ourselves (non-root),
# with exec all the way down so that the PID stays the same.
os_run_as() {
  if os_is_root; then
    exec setpriv --reuid="$OS_USER" --regid="$OS_USER" --init-groups "$@"
  else
    exec "$@"
  fi
}

os_java_home() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME"; return 0; fi
  local java
  java=$(command -v java) || return 1
  java=$(readlink -f "$java")
  dirname "$(dirname "$java")"
}

cmd_install() {
  if os_installed; then
    mc_say "opensearch $OS_VERSION already installed in $OS_DIST"
    os_ensure_user
    return 0
  fi
  if mc_pid $NAME >/dev/null; then
    mc_die "opensearch is running from the install that needs replacing; run: bash $0 stop"
  fi
  command -v mvn >/dev/null || mc_die "opensearch install needs Maven (mvn) on the PATH"
  command -v java >/dev/null || mc_die "opensearch install needs a JDK (java) on the PATH"
  command -v unzip >/dev/null || mc_apt_install unzip
  os_ensure_user

  local zip="$MC_DOWNLOADS/opensearch-$OS_VERSION.zip"
  if [ ! -s "$zip" ]; then
    mc_say "opensearch: fetching $OS_COORDS from Maven Central"
    mc_maven_fetch "$OS_COORDS" "$MC_DOWNLOADS"
    [ -s "$zip" ] || mc_die "opensearch: $zip missing after the Maven fetch; see $MC_LOG/maven-fetch.log"
  fi

  local staging="$MC_VAR/opensearch/dist/.staging.$$"
  rm -rf "$staging"
  mkdir -p "$staging"
  # shellcheck disable=SC2064
  trap "rm -rf '$staging'" EXIT
  unzip -q "$zip" -d "$staging" || { rm -f "$zip"; mc_die "opensearch: $zip is not a valid zip (removed it; run install again)"; }
  local home="$staging/opensearch-$OS_VERSION"
  [ -x "$home/bin/opensearch" ] || mc_die "opensearch: unexpected zip layout, no bin/opensearch in $zip"

  # Artifact names (version stripped) already on the server's class path.
  local -A in_lib=()
  local j n
  for j in "$home"/lib/*.jar; do
    n=$(basename "$j"); in_lib[$(sed -E 's/-[0-9].*$//' <<<"$n")]=1
  done

  local m dir
  for m in "${OS_MODULES[@]}"; do
    dir="$home/modules/$m"
    mc_say "opensearch: assembling module $m"
    mvn -q -B -f "$OS_SRC/modules-pom.xml" -P "$m" dependency:copy-dependencies \
      -DoutputDirectory="$dir" >>"$MC_LOG/maven-fetch.log" 2>&1 \
      || mc_die "opensearch: could not fetch the jars of module $m; see $MC_LOG/maven-fetch.log"
    for j in "$dir"/*.jar; do
      n=$(basename "$j")
      if [ -n "${in_lib[$(sed -E 's/-[0-9].*$//' <<<"$n")]:-}" ]; then
        rm -f "$j"   # duplicate of lib/: OpenSearch would refuse to start (jar hell)
      fi
    done
    [ -f "$OS_SRC/modules/$m/plugin-descriptor.properties" ] \
      || mc_die "opensearch: missing $OS_SRC/modules/$m/plugin-descriptor.properties"
    cp "$OS_SRC/modules/$m"/* "$dir/"
  done
  chmod -R a+rX "$home"

  rm -rf "$OS_DIST"
  mv "$home" "$OS_DIST"
  rm -rf "$staging"
  trap - EXIT
  os_fingerprint >"$OS_MARKER"
  mc_say "opensearch $OS_VERSION installed in $OS_DIST (modules: ${OS_MODULES[*]})"
}

os_health() {
  curl -fsS --max-time 5 "$OS_URL/_cluster/health" 2>/dev/null \
    | grep -oE '"status":"(green|yellow)"' | cut -d'"' -f4
}

cmd_probe() {
  local s
  s=$(os_health) && [ -n "$s" ] || { mc_say "$NAME not healthy at $OS_URL"; return 1; }
  echo "opensearch $s"
}

# Who listens on ADDR:PORT (best effort, for error messages).
os_port_owner() {
  command -v ss >/dev/null || return 0
  local who
  who=$(ss -Hltnp "( sport = :$2 )" 2>/dev/null | awk '{print $4, $6}' | head -n 3 | paste -sd';' -)
  [ -n "$who" ] && printf ' (listening: %s)' "$who"
}

os_write_config() {
  mkdir -p "$OS_CONF/jvm.options.d" "$OS_DATA" "$OS_LOGS" "$OS_TMP"
  local subst=(
    -e "s|@ADDR@|$MC_OPENSEARCH_ADDR|g"
    -e "s|@HTTP_PORT@|$MC_OPENSEARCH_PORT|g"
    -e "s|@TRANSPORT_PORT@|$MC_OPENSEARCH_TRANSPORT_PORT|g"
    -e "s|@DATA@|$OS_DATA|g"
    -e "s|@LOGS@|$OS_LOGS|g"
    -e "s|@HEAP@|$MC_OPENSEARCH_HEAP|g"
    -e "s|@NODE_NAME@|opensearch-$INSTANCE|g"
  )
  {
    sed "${subst[@]}" "$OS_SRC/opensearch.yml"
    if [ "$(mc_backend_instances opensearch)" = 1 ]; then
      echo "discovery.type: single-node"
    else
      # --ha: the instances find each other at their transport ports; on the very first start
      # they elect a cluster manager among themselves
      local i seeds="" names=""
      for ((i = 1; i <= $(mc_backend_instances opensearch); i++)); do
        seeds+="${seeds:+, }\"$(mc_instance_addr "$OS_FIRST_ADDR" "$i"):$MC_OPENSEARCH_TRANSPORT_PORT\""
        names+="${names:+, }opensearch-$i"
      done
      echo "discovery.seed_hosts: [$seeds]"
      echo "cluster.initial_cluster_manager_nodes: [$names]"
    fi
  } >"$OS_CONF/opensearch.yml"
  sed "${subst[@]}" "$OS_SRC/jvm.options" >"$OS_CONF/jvm.options"
  cp "$OS_DIST/config/log4j2.properties" "$OS_CONF/log4j2.properties"
  # The node writes its keystore into config/ on first start.
  if os_is_root; then
    chown -R "$OS_USER:$OS_USER" "$OS_CONF" "$OS_DATA" "$OS_LOGS" "$OS_TMP"
  fi
}

# OpenSearch runs as its own user, who must be able to walk down to var/opensearch. A checkout
# made under a private folder (mktemp -d gives 0700) would stop it: give such folders above
# the checkout the bare "search" bit for others (o+x: enter, not list nor read), and say so.
os_grant_traverse() {
  local dir=$MC_VAR
  while [ "$dir" != / ]; do
    if ! setpriv --reuid="$OS_USER" --regid="$OS_USER" --init-groups test -x "$dir"; then
      mc_say "opensearch: letting user '$OS_USER' traverse $dir (chmod o+x) to reach $MC_VAR/opensearch"
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
}

cmd_start() {
  local pid
  if pid=$(mc_pid $NAME); then
    if [ -n "$(os_health)" ]; then
      mc_say "$NAME already running (pid $pid) at $OS_URL"
      return 0
    fi
    mc_say "$NAME already starting (pid $pid), waiting for it"
    mc_wait $NAME "$OS_START_TIMEOUT" cmd_probe || exit 1
    return 0
  fi
  rm -f "$MC_RUN/$NAME.pid"

  local p
  for p in "$MC_OPENSEARCH_PORT" "$MC_OPENSEARCH_TRANSPORT_PORT"; do
    mc_port_free "$MC_OPENSEARCH_ADDR" "$p" \
      || mc_die "$NAME cannot start: $MC_OPENSEARCH_ADDR:$p is already in use by another process$(os_port_owner "$MC_OPENSEARCH_ADDR" "$p")"
  done

  os_installed || cmd_install
  os_ensure_user
  os_write_config

  local java_home
  java_home=$(os_java_home) || mc_die "opensearch: no java found (set JAVA_HOME)"
  os_is_root && os_grant_traverse
  if os_is_root && ! setpriv --reuid="$OS_USER" --regid="$OS_USER" --init-groups \
        test -r "$OS_DIST/lib/opensearch-$OS_VERSION.jar" -a -w "$OS_DATA"; then
    mc_die "opensearch: user '$OS_USER' cannot read $OS_DIST or write $OS_DATA (check the permissions of the directories above $MC_VAR)"
  fi

  printf '=== %s mailcluster: starting $NAME on %s (heap %s)\n' "$(date -Is)" "$OS_URL" "$MC_OPENSEARCH_HEAP" >>"$MC_LOG/$NAME.log"
  local t0=$SECONDS
  # Foreground mode (no -d) in the background: setsid, setpriv, env and
  # bin/opensearch all exec, so $! ends up being the JVM's own pid.
  (
    cd "$OS_BASE" || exit 1
    os_run_as setsid env -i \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME="$OS_TMP" LANG=C.UTF-8 \
      JAVA_HOME="$java_home" \
      OPENSEARCH_PATH_CONF="$OS_CONF" \
      OPENSEARCH_TMPDIR="$OS_TMP" \
      "$OS_DIST/bin/opensearch"
  ) </dev/null >>"$MC_LOG/$NAME.log" 2>&1 &
  echo $! >"$MC_RUN/$NAME.pid"

  if ! mc_wait $NAME "$OS_START_TIMEOUT" cmd_probe; then
    mc_stop_pid $NAME 30
    exit 1
  fi
  pid=$(mc_pid $NAME)
  mc_say "$NAME healthy at $OS_URL (pid $pid, $((SECONDS - t0))s)"
}

cmd_stop() {
  local pid
  if pid=$(mc_pid $NAME); then
    mc_stop_pid $NAME 60
    mc_say "$NAME stopped (was pid $pid)"
  else
    rm -f "$MC_RUN/$NAME.pid"
    mc_say "$NAME not running"
  fi
}

cmd_status() { mc_status_line $NAME "$MC_OPENSEARCH_ADDR:$MC_OPENSEARCH_PORT" "$(mc_pid $NAME || echo -)" cmd_probe; }

cmd_purge() {
  cmd_stop
  rm -rf "$OS_DATA" "$OS_LOGS" "$OS_TMP" "$OS_CONF"
  mc_say "opensearch data removed ($OS_BASE/{data,logs,tmp,config}); the install in $OS_DIST stays"
}

case "${1:-}" in
  install) cmd_install ;;
  start)   cmd_start ;;
  probe)   cmd_probe ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  purge)   cmd_purge ;;
  *) echo "usage: bash $0 install|start|probe|stop|status|purge" >&2; exit 2 ;;
esac
