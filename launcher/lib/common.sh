# Shared helpers for ./mailcluster and the service scripts in launcher/services.
# Sourced, never run. Every process the launcher starts is recorded by PID in
# $MC_RUN/<name>.pid and stopped only through that PID.

MC_ROOT=${MC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MC_VAR=${MC_VAR:-$MC_ROOT/var}
MC_LOG=$MC_VAR/log
MC_RUN=$MC_VAR/run
MC_DOWNLOADS=$MC_VAR/downloads
mkdir -p "$MC_LOG" "$MC_RUN" "$MC_DOWNLOADS"

# Loopback plan: every component has its own address so the local cluster
# looks like separate hosts. Backends live on 127.0.3.x, DNS on 127.0.5.53, scanners on 127.0.6.x.
# Backend ports are off the standard ones so that a system-wide RabbitMQ (which
# may listen on 0.0.0.0:5672) never collides with ours: ours must be ours, so
# that fault tests may stop and restart it.
MC_DOMAIN=${MC_DOMAIN:-mail.test}
MC_DNS_ADDR=${MC_DNS_ADDR:-127.0.5.53}
MC_DNS_PORT=${MC_DNS_PORT:-53}
# Scanners (launcher/services/rspamd.sh, clamav.sh), each on its own loopback address.
MC_RSPAMD_ADDR=${MC_RSPAMD_ADDR:-127.0.6.1}
MC_RSPAMD_PORT=${MC_RSPAMD_PORT:-11333}
MC_CLAMAV_ADDR=${MC_CLAMAV_ADDR:-127.0.6.2}
MC_CLAMAV_PORT=${MC_CLAMAV_PORT:-3310}
# The outbound load balancer (launcher/services/smtp-lb.sh, haproxy): 587 and 465 there, to the
# submission nodes' PROXY-protocol listeners on these ports.
MC_SMTP_LB_ADDR=${MC_SMTP_LB_ADDR:-127.0.7.1}
# Webmail (Roundcube behind nginx; ./mailcluster up --webmail).
MC_WEBMAIL_ADDR=${MC_WEBMAIL_ADDR:-127.0.10.1}
MC_WEBMAIL_PORT=${MC_WEBMAIL_PORT:-80}
# Prometheus scraping every node (./mailcluster up --monitoring; launcher/services/prometheus.sh).
MC_PROMETHEUS_ADDR=${MC_PROMETHEUS_ADDR:-127.0.11.1}
MC_PROMETHEUS_PORT=${MC_PROMETHEUS_PORT:-9090}
MC_SUBMISSION_PROXY_PORT=${MC_SUBMISSION_PROXY_PORT:-11587}
MC_SUBMISSIONS_PROXY_PORT=${MC_SUBMISSIONS_PROXY_PORT:-11465}
MC_RABBITMQ_ADDR=${MC_RABBITMQ_ADDR:-127.0.3.1}
MC_RABBITMQ_PORT=${MC_RABBITMQ_PORT:-5673}
MC_RABBITMQ_MGMT_PORT=${MC_RABBITMQ_MGMT_PORT:-15673}
MC_RABBITMQ_DIST_PORT=${MC_RABBITMQ_DIST_PORT:-25673}
# RabbitMQ's TLS listeners beside the plain ones (mc_backend_certificate): AMQP over TLS and
# the management API over https, for nodes configured as production runs them.
MC_RABBITMQ_TLS_PORT=${MC_RABBITMQ_TLS_PORT:-5674}
MC_RABBITMQ_MGMT_TLS_PORT=${MC_RABBITMQ_MGMT_TLS_PORT:-15674}
MC_CASSANDRA_ADDR=${MC_CASSANDRA_ADDR:-127.0.3.2}
MC_CASSANDRA_PORT=${MC_CASSANDRA_PORT:-9042}
MC_OPENSEARCH_ADDR=${MC_OPENSEARCH_ADDR:-127.0.3.3}
MC_OPENSEARCH_PORT=${MC_OPENSEARCH_PORT:-9200}

# Replicated backends (./mailcluster up --ha): three RabbitMQ nodes, three Cassandra nodes, two
# OpenSearch nodes. Instance N of a backend listens 10*(N-1) above its base address's last octet
# (RabbitMQ 127.0.3.1, .11, .21; Cassandra .2, .12, .22; OpenSearch .3, .13) on the same ports.
# The replicated stack keeps its data in var/ha/NAME, apart from the single-node stack's var/NAME:
# the two never share data (a keyspace at replication factor 1 cannot simply grow to 3, nor can a
# ring of three shrink back to one), so switching takes a `./mailcluster down`, not a migration.
# The service scripts take the instance in MC_INSTANCE (default 1).
mc_backend_instances() { # SERVICE -> how many instances of it run
  if [ "$MC_HA" = 1 ]; then
    case $1 in rabbitmq|cassandra) echo 3; return ;; opensearch) echo 2; return ;; esac
  fi
  echo 1
}
mc_instance_addr() { echo "${1%.*}.$(( ${1##*.} + 10 * ($2 - 1) ))"; }   # BASE_ADDR N
mc_instance_name() { if [ "$2" = 1 ]; then echo "$1"; else echo "$1$2"; fi; }   # SERVICE N
mc_instance_dir() { # SERVICE N
  if [ "$MC_HA" = 1 ]; then echo "$MC_VAR/ha/$(mc_instance_name "$1" "$2")"; else echo "$MC_VAR/$1"; fi
}
# mc_backend_list SERVICE BASE_ADDR PORT -> "ADDR:PORT,ADDR:PORT,..." of every instance.
mc_backend_list() {
  local i list=""
  for ((i = 1; i <= $(mc_backend_instances "$1"); i++)); do list+="${list:+,}$(mc_instance_addr "$2" "$i"):$3"; done
  echo "$list"
}

mc_say()  { printf '%s\n' "mailcluster: $*" >&2; }
mc_die()  { mc_say "ERROR: $*"; exit 1; }

# mc_pid NAME -> prints the recorded pid if that process is alive.
mc_pid() {
  local f="$MC_RUN/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

# mc_status_line NAME ADDRESS PID [PROBE]: a service's line in `./mailcluster status`, healthy
# when the calling script's probe function (PROBE, default probe) answers.
mc_status_line() {
  local health=down
  "${4:-probe}" >/dev/null 2>&1 && health=healthy
  printf '%-12s %-22s %-8s %s\n' "$1" "$2" "$3" "$health"
}

# mc_port_free ADDR PORT -> success when nobody listens there.
mc_port_free() {
  ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# mc_log_cause LOG: what a failed start printed, for the caller's error output.
# The last lines of a Java log are the bottom of a stack trace, which names no
# cause; the exception and "Caused by" lines before them do, so those come first.
mc_log_cause() {
  [ -f "$1" ] || return 0
  { echo "--- errors in $1:"
    grep -E '(ERROR|Exception|Error:|Caused by)' "$1" | grep -vE '^[[:space:]]+at ' | tail -n 12
    echo "--- last lines of $1:"
    tail -n 8 "$1"
  } >&2 2>/dev/null
}

# mc_wait NAME TIMEOUT_SECONDS PROBE... : polls PROBE until it succeeds.
# On timeout, or if the process recorded for NAME dies, fails naming the
# service and its log file.
mc_wait() {
  local name=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  while (( SECONDS < deadline )); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -f "$MC_RUN/$name.pid" ] && ! mc_pid "$name" >/dev/null; then
      mc_say "ERROR: $name exited during start-up; see its log: $MC_LOG/$name.log"
      mc_log_cause "$MC_LOG/$name.log"
      return 1
    fi
    sleep 1
  done
  mc_say "ERROR: $name did not become healthy within ${timeout}s; see its log: $MC_LOG/$name.log"
  mc_log_cause "$MC_LOG/$name.log"
  return 1
}

# mc_stop_pid NAME [GRACE_SECONDS]: TERM the recorded process (and its process
# group when it leads one), wait, then KILL. Only ever touches the recorded PID.
mc_stop_pid() {
  local name=$1 grace=${2:-30} pid
  pid=$(mc_pid "$name") || { rm -f "$MC_RUN/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  local deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    mc_say "$name (pid $pid) did not stop within ${grace}s, killing it"
    kill -KILL "$pid" 2>/dev/null
    sleep 0.5
  fi
  rm -f "$MC_RUN/$name.pid"
}

# mc_kill_pid NAME: SIGKILL the recorded process, as a machine failure would, and return
# once it is gone (or a zombie whose sockets the kernel has closed), so that what the caller
# does next meets a dead process, not a dying one.
mc_kill_pid() {
  local pid state
  pid=$(mc_pid "$1") || mc_die "$1 is not running"
  kill -KILL "$pid"
  for _ in $(seq 100); do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 0
    [ "$state" = Z ] && return 0
    sleep 0.1
  done
  mc_die "$1 (pid $pid) still runs 10s after SIGKILL"
}

# mc_apt_install PKG...: installs Debian packages that are missing.
mc_apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  mc_say "installing Debian packages: ${missing[*]}"
  if [ ! -f "$MC_VAR/.apt-updated" ]; then
    apt-get update -qq >"$MC_LOG/apt.log" 2>&1 || mc_die "apt-get update failed; see $MC_LOG/apt.log"
    touch "$MC_VAR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$MC_LOG/apt.log" 2>&1 \
    || mc_die "apt-get install ${missing[*]} failed; see $MC_LOG/apt.log"
}

# mc_apt_install_without_starting PKG...: mc_apt_install for packages whose maintainer scripts
# would start a system service of their own (nginx's default site on *:80, Prometheus on
# *:9090): the launcher runs its own instances, on its own addresses, stopped by their PIDs.
# Without a policy saying so already, /usr/sbin/policy-rc.d forbids starting services for the
# time of the install.
mc_apt_install_without_starting() {
  local policy=/usr/sbin/policy-rc.d ours=0 status=0
  if [ ! -e $policy ]; then
    printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy && ours=1
  fi
  (mc_apt_install "$@") || status=$?
  [ $ours = 1 ] && rm -f $policy
  return $status
}

# mc_maven_fetch GROUP:ARTIFACT:VERSION[:TYPE[:CLASSIFIER]] DEST_DIR: copies one
# artifact from Maven Central (through the local ~/.m2) into DEST_DIR.
mc_maven_fetch() {
  local coords=$1 dest=$2
  mkdir -p "$dest"
  mvn -q -B dependency:copy -Dartifact="$coords" -DoutputDirectory="$dest" -Dmdep.useBaseVersion=true \
    >>"$MC_LOG/maven-fetch.log" 2>&1 || mc_die "could not fetch $coords from Maven Central; see $MC_LOG/maven-fetch.log"
}

# Cluster shape. `./mailcluster up --mx N ...` records it in $MC_VAR/cluster.env
# so that later commands (status, env, down) describe the same cluster; an
# exported variable still wins over what was recorded.
[ -f "$MC_VAR/cluster.env" ] && source "$MC_VAR/cluster.env"
MC_MX_COUNT=${MC_MX_COUNT:-2}
MC_SUBMISSION_COUNT=${MC_SUBMISSION_COUNT:-2}
MC_MAILBOX_COUNT=${MC_MAILBOX_COUNT:-1}
# Mailbox tiers, "NAME:COUNT,...": mailbox1.. belong to the tiers in this order (see
# mc_mailbox_tier). Empty: every mailbox node is in the tier "default".
MC_MAILBOX_TIERS=${MC_MAILBOX_TIERS:-}
MC_BACKUP_MX=${MC_BACKUP_MX:-0}
MC_WEBMAIL=${MC_WEBMAIL:-0}
MC_MONITORING=${MC_MONITORING:-0}
MC_HA=${MC_HA:-0}
# Sizing profile: "default" (the cluster as the tests and benchmarks run it) or "small"
# (./mailcluster up --small: one node of each type, sized for a small organisation on one
# machine). The small profile's settings; any of them exported by hand still wins.
MC_PROFILE=${MC_PROFILE:-default}
mc_apply_profile() {
if [ "$MC_PROFILE" = small ]; then
  # Nodes: a small heap, the serial collector (no G1 regions and threads), the C1 compiler
  # only (less code cache and compiler memory; a small box is never CPU-bound on Java).
  : "${MC_NODE_JAVA_OPTS:=-Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=48m -XX:MaxMetaspaceSize=192m -Xss512k -XX:+ExitOnOutOfMemoryError}"
  : "${MC_SPOOLER_THREADS:=2}" "${MC_REMOTE_DELIVERY_THREADS:=2}"
  : "${MC_CASSANDRA_HEAP:=320m}" "${MC_OPENSEARCH_HEAP:=256m}" "${MC_RSPAMD_WORKERS:=1}"
  export MC_NODE_JAVA_OPTS MC_SPOOLER_THREADS MC_REMOTE_DELIVERY_THREADS MC_CASSANDRA_HEAP MC_OPENSEARCH_HEAP MC_RSPAMD_WORKERS
elif [ "$MC_PROFILE" != default ]; then
  echo "mailcluster: unknown profile '$MC_PROFILE' (default or small)" >&2
  exit 2
fi
}
mc_apply_profile
MC_BACKUP_MX_ADDR=${MC_BACKUP_MX_ADDR:-127.0.1.100}
# A stand-in for the Internet: a domain whose MX is a loopback address where
# tests run a real receiving SMTP server.
MC_REMOTE_DOMAIN=${MC_REMOTE_DOMAIN:-remote.test}
MC_REMOTE_MX_ADDR=${MC_REMOTE_MX_ADDR:-127.0.9.1}

# mc_jmap_port INDEX -> JMAP's port on mailbox node INDEX. James 3.8.1's JMAP server listens
# on every interface (it has no bind address setting), so mailbox nodes sharing this machine
# need a port each.
mc_jmap_port() { echo $((8080 + $1)); }

# mc_mailbox_tiers_count SPEC -> how many mailbox nodes "NAME:COUNT,..." asks for (and a check
# of its syntax: tier names as the routing table takes them, counts of 1 or more).
mc_mailbox_tiers_count() {
  local spec=$1 total=0 part name count
  IFS=, read -ra parts <<<"$spec"
  for part in "${parts[@]}"; do
    name=${part%%:*}; count=${part#*:}
    [[ $part == *:* && $name =~ ^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$ && $count =~ ^[1-9][0-9]*$ ]] \
      || mc_die "--mailbox-tiers: '$part' is not NAME:COUNT (NAME: lower-case letters, digits, '-'; COUNT >= 1)"
    total=$((total + count))
  done
  [ "$total" -gt 0 ] || mc_die "--mailbox-tiers: no tier given"
  echo "$total"
}

# mc_mailbox_tier INDEX -> the tier of mailbox node INDEX (1-based), from MC_MAILBOX_TIERS.
mc_mailbox_tier() {
  local index=$1 part count seen=0
  [ -n "$MC_MAILBOX_TIERS" ] || { echo default; return; }
  IFS=, read -ra parts <<<"$MC_MAILBOX_TIERS"
  for part in "${parts[@]}"; do
    count=${part#*:}; seen=$((seen + count))
    if [ "$index" -le "$seen" ]; then echo "${part%%:*}"; return; fi
  done
  echo default
}

# mc_node_addr TYPE INDEX -> the loopback address of one node.
mc_node_addr() {
  case $1 in
    backupmx) echo "$MC_BACKUP_MX_ADDR" ;;
    mx) echo "127.0.1.$2" ;;
    submission) echo "127.0.2.$2" ;;
    mailbox) echo "127.0.4.$2" ;;
    *) mc_die "unknown node type $1" ;;
  esac
}

# The webadmin secret: generated once per cluster into var/secrets (never in
# git, never in a log); nodes read it from that file, clients from `env`.
mc_webadmin_secret_file() {
  local f="$MC_VAR/secrets/webadmin-password"
  if [ ! -s "$f" ]; then
    mkdir -p "$MC_VAR/secrets" && chmod 700 "$MC_VAR/secrets"
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$f")
  fi
  echo "$f"
}
mc_webadmin_auth() { echo "Authorization: Bearer $(cat "$(mc_webadmin_secret_file)")"; }

# mc_backend_certificate NAME ADDR: a TLS certificate for the backend NAME at ADDR, signed by the
# local cluster's backend CA (both made once, in var/secrets). Prints the directory holding
# backends-ca.pem (what a node trusts: MC_RABBITMQ_CA, MC_CASSANDRA_CA), NAME-cert.pem and
# NAME-key.pem (what the backend presents). Production: the operator's own CA and certificates.
mc_backend_certificate() {
  local name=$1 addr=$2 dir="$MC_VAR/secrets"
  command -v openssl >/dev/null || mc_apt_install openssl
  mkdir -p "$dir" && chmod 700 "$dir"
  if [ ! -s "$dir/backends-ca.pem" ]; then
    (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mailcluster local backends CA" \
       -keyout "$dir/backends-ca-key.pem" -out "$dir/backends-ca.pem" >>"$MC_LOG/keytool.log" 2>&1) \
      || mc_die "could not create the backends' CA; see $MC_LOG/keytool.log"
  fi
  if [ ! -s "$dir/$name-cert.pem" ] || ! openssl x509 -in "$dir/$name-cert.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$addr\$"; then
    (umask 077
     openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$dir/$name-key.pem" -out "$dir/$name.csr" \
       >>"$MC_LOG/keytool.log" 2>&1 &&
     openssl x509 -req -in "$dir/$name.csr" -CA "$dir/backends-ca.pem" -CAkey "$dir/backends-ca-key.pem" -CAcreateserial \
       -days 825 -extfile <(printf 'subjectAltName=IP:%s\n' "$addr") -out "$dir/$name-cert.pem" >>"$MC_LOG/keytool.log" 2>&1) \
      || mc_die "could not create $name's TLS certificate; see $MC_LOG/keytool.log"
    rm -f "$dir/$name.csr"
  fi
  echo "$dir"
}

# DKIM keys the submission tier signs with, one directory per domain, SELECTOR.pem in each
# (the nodes' MC_DKIM_KEYS; a Kubernetes Secret in production). mc_dkim_keys_dir makes the
# cluster domain's key once (RSA 2048, PKCS#8), its selector named after the month it was made.
mc_dkim_keys_dir() {
  local dir="$MC_VAR/secrets/dkim"
  if ! ls "$dir/$MC_DOMAIN"/*.pem >/dev/null 2>&1; then
    command -v openssl >/dev/null || mc_apt_install openssl
    mkdir -p "$dir/$MC_DOMAIN" && chmod 700 "$MC_VAR/secrets" "$dir" "$dir/$MC_DOMAIN"
    (umask 077; openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
       -out "$dir/$MC_DOMAIN/s$(date -u +%Y%m).pem" 2>>"$MC_LOG/keytool.log") \
      || mc_die "could not create the DKIM key of $MC_DOMAIN; see $MC_LOG/keytool.log"
  fi
  echo "$dir"
}

# mc_dkim_txt_records: a dnsmasq txt-record line for each key file's public half
# (SELECTOR._domainkey.DOMAIN "v=DKIM1; k=rsa; p=..."), cut into strings of at most 255 bytes.
mc_dkim_txt_records() {
  local dir key domain selector value
  dir=$(mc_dkim_keys_dir)
  for key in "$dir"/*/*.pem; do
    [ -f "$key" ] || continue
    domain=$(basename "$(dirname "$key")") selector=$(basename "$key" .pem)
    value="v=DKIM1; k=rsa; p=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)" \
      || mc_die "cannot read the DKIM key $key"
    printf 'txt-record=%s._domainkey.%s' "$selector" "$domain"
    while [ -n "$value" ]; do printf ',"%s"' "${value:0:255}"; value=${value:255}; done
    echo
  done
}
