#!/usr/bin/env bash
# Entrypoint of every node image (mx-node, submission-node, mailbox-node; all built from
# shared-queue/src/main/docker/Dockerfile, the node type chosen by the build argument NODE).
# It fills in what only the container knows, checks that every MC_* variable the node's
# configuration reads is set, then runs the distribution's own bin/start: the same java
# command line as ./mailcluster (launcher/nodes.sh) uses.
#
# On top of the MC_* variables of docs/architecture.md it understands:
#   VAR_FILE               for MC_TLS_KEYSTORE_PASSWORD, MC_JMAP_SIGNING_KEYSTORE_PASSWORD,
#                          MC_RABBITMQ_USER, MC_RABBITMQ_PASSWORD, MC_CASSANDRA_USER,
#                          MC_CASSANDRA_PASSWORD: read VAR from that file (Docker/Compose
#                          secrets, mounted Kubernetes Secrets)
#   MC_DNS_SERVER          if unset: the container's own resolver (first nameserver of
#                          /etc/resolv.conf: Docker's 127.0.0.11, or the cluster DNS in Kubernetes)
#   MC_TLS_SELF_SIGNED     "true": if MC_TLS_KEYSTORE does not exist yet, create it with a
#                          self-signed certificate (for trials; clients will not trust it); on a
#                          JMAP node, likewise MC_JMAP_SIGNING_KEYSTORE (a key of its own)
#   MC_TLS_SELF_SIGNED_NAMES  comma-separated DNS names for that certificate
#                          (default: MC_HOSTNAME and MC_DOMAIN)
#
# JMAP (a node whose conf/jmap.properties says enabled=true: the mailbox node):
#   MC_JMAP_PORT, MC_JMAP_URL  required (the image sets MC_JMAP_PORT=10080); MC_JMAP_URL is the
#                          http(s):// URL clients reach JMAP at (the ingress / load balancer)
#   MC_JMAP_WEBSOCKET_URL  if unset: MC_JMAP_URL with ws:// (http) or wss:// (https)
#   MC_JMAP_SIGNING_KEYSTORE, MC_JMAP_SIGNING_KEYSTORE_PASSWORD (or its _FILE)  required: JMAP's
#                          signing key, a PKCS12 keystore of its own holding a private-key entry
#                          "james" (the mailbox image's default path is
#                          /var/lib/mailcluster/tls/jmap-signing.p12). Checked before java starts.
#                          Every mailbox node of a cluster should have the same one.
#   MC_JMAP_SIGNING_PEM    optional: a PEM file holding a private key and its certificate (what
#                          the Helm chart generates: Helm cannot write PKCS12). The keystore
#                          MC_JMAP_SIGNING_KEYSTORE (a writable path) is then written from it,
#                          entry "james", at every start (needs openssl).
#
# The TLS keystore (MC_TLS_KEYSTORE) of every node must not hold a private-key entry "james":
# with two private keys in it, the JDK's key manager may present that one to SMTP/IMAP clients.
# A keystore made for an older image that put JMAP's key there stops the node, naming the fix.
# Nothing secret is printed.
set -euo pipefail

DIST=${MC_DIST:-/opt/mailcluster}

die() {
  printf 'mailcluster entrypoint: ERROR: %s\n' "$*" >&2
  exit 1
}
say() { printf 'mailcluster entrypoint: %s\n' "$*" >&2; }

# 1. Secrets handed over as files.
for var in MC_TLS_KEYSTORE_PASSWORD MC_JMAP_SIGNING_KEYSTORE_PASSWORD MC_RABBITMQ_USER MC_RABBITMQ_PASSWORD MC_CASSANDRA_USER MC_CASSANDRA_PASSWORD; do
  file_var=${var}_FILE
  file=${!file_var:-}
  [ -n "$file" ] || continue
  [ -z "${!var:-}" ] || die "both $var and $file_var are set: set only one"
  [ -r "$file" ] || die "$file_var names $file, which this container (uid $(id -u)) cannot read"
  value=$(<"$file")
  [ -n "$value" ] || die "$file ($file_var) is empty"
  export "$var=$value"
  unset "$file_var"
done
unset value

# 2. The resolver used for MX lookups.
if [ -z "${MC_DNS_SERVER:-}" ]; then
  while read -r key addr _; do
    if [ "$key" = nameserver ]; then MC_DNS_SERVER=$addr; break; fi
  done </etc/resolv.conf
  [ -n "${MC_DNS_SERVER:-}" ] || die "MC_DNS_SERVER is not set and /etc/resolv.conf names no nameserver"
  export MC_DNS_SERVER
  say "MC_DNS_SERVER not set: using the container's resolver $MC_DNS_SERVER"
fi

conf_dir=${MC_NODE_HOME:-$DIST}/conf
[ -d "$conf_dir" ] || die "no configuration folder at $conf_dir"

# 3. JMAP (RFC 8621), on a node whose conf/ enables it (the mailbox node). James serves it over
#    plain HTTP on every interface at MC_JMAP_PORT, and tells clients MC_JMAP_URL and
#    MC_JMAP_WEBSOCKET_URL in the session object: they must be what clients reach (the public
#    URL of the ingress or load balancer), not the container's address.
jmap=false
if [ -f "$conf_dir/jmap.properties" ] && grep -Eq '^[[:space:]]*enabled[[:space:]]*=[[:space:]]*true[[:space:]]*$' "$conf_dir/jmap.properties"; then
  jmap=true
fi
if [ "$jmap" = true ]; then
  [ -n "${MC_JMAP_PORT:-}" ] || die "MC_JMAP_PORT is not set: the port JMAP listens on inside the container (the mailbox image's default is 10080)"
  if ! [[ $MC_JMAP_PORT =~ ^[1-9][0-9]{0,4}$ ]] || [ "$MC_JMAP_PORT" -gt 65535 ]; then
    die "MC_JMAP_PORT=$MC_JMAP_PORT is not a port number"
  fi
  for var in MC_WEBADMIN_PORT MC_IMAP_PORT MC_IMAPS_PORT; do
    [ "${!var:-}" != "$MC_JMAP_PORT" ] || die "MC_JMAP_PORT and $var are both $MC_JMAP_PORT: JMAP needs a port of its own"
  done
  [ -n "${MC_JMAP_URL:-}" ] || die "MC_JMAP_URL is not set: the http:// or https:// base URL JMAP clients reach this node at, e.g. https://jmap.example.com (behind a load balancer or ingress: its public URL, not the container's); James hands it to clients in the JMAP session"
  [[ $MC_JMAP_URL =~ ^https?://[^/]+ ]] || die "MC_JMAP_URL=$MC_JMAP_URL: expected an http:// or https:// URL, e.g. https://jmap.example.com"
  # James appends /jmap, /upload/..., /download/...: no trailing slash.
  while [[ $MC_JMAP_URL == */ ]]; do MC_JMAP_URL=${MC_JMAP_URL%/}; done
  export MC_JMAP_URL
  if [ -z "${MC_JMAP_WEBSOCKET_URL:-}" ]; then
    MC_JMAP_WEBSOCKET_URL=ws${MC_JMAP_URL#http}
    say "MC_JMAP_WEBSOCKET_URL not set: using $MC_JMAP_WEBSOCKET_URL (from MC_JMAP_URL)"
  fi
  [[ $MC_JMAP_WEBSOCKET_URL =~ ^wss?://[^/]+ ]] || die "MC_JMAP_WEBSOCKET_URL=$MC_JMAP_WEBSOCKET_URL: expected a ws:// or wss:// URL, e.g. wss://jmap.example.com (or leave it unset to derive it from MC_JMAP_URL)"
  while [[ $MC_JMAP_WEBSOCKET_URL == */ ]]; do MC_JMAP_WEBSOCKET_URL=${MC_JMAP_WEBSOCKET_URL%/}; done
  export MC_JMAP_WEBSOCKET_URL
  if [[ $MC_JMAP_URL == https://* && $MC_JMAP_WEBSOCKET_URL == ws://* ]]; then
    say "warning: MC_JMAP_URL is https:// but MC_JMAP_WEBSOCKET_URL is ws://: browsers refuse ws:// from an https page"
  fi
  if [[ $MC_JMAP_URL == http://* ]]; then
    say "note: MC_JMAP_URL is plain http://: JMAP clients send their password with every request (HTTP Basic), unencrypted unless a TLS proxy is in front"
  fi
  say "JMAP on port $MC_JMAP_PORT, advertised as $MC_JMAP_URL and $MC_JMAP_WEBSOCKET_URL"
fi

# 4. Every variable the node's configuration folder reads as ${env:MC_...} (without a :-
#    default) must be set: an unset one would stay as the literal text "${env:...}" and fail
#    later with a less clear message. Read from conf/ itself, so files mounted over it count.
mapfile -t required < <(grep -RhoE '[$][{]env:MC_[A-Z0-9_]+[}]' "$conf_dir/" | sed -e 's/^[$][{]env://' -e 's/[}]$//' | sort -u)
missing=()
for var in "${required[@]}"; do
  [ -n "${!var:-}" ] || missing+=("$var")
done
[ ${#missing[@]} -eq 0 ] || die "not set: ${missing[*]} (read by $conf_dir; see docs/deploy.md)"

# 5. TLS keystore: mounted (a Secret), or self-signed on first start when asked for.
self_signed=false
[ "${MC_TLS_SELF_SIGNED:-false}" = true ] && self_signed=true
if [ "$self_signed" = true ] && [ -n "${MC_TLS_KEYSTORE:-}" ] && [ ! -e "$MC_TLS_KEYSTORE" ]; then
  names=${MC_TLS_SELF_SIGNED_NAMES:-${MC_HOSTNAME:-$HOSTNAME},${MC_DOMAIN:-localdomain}}
  san=""
  IFS=, read -r -a name_list <<<"$names"
  for n in "${name_list[@]}"; do
    n=${n// /}
    [ -n "$n" ] && san="${san:+$san,}dns:$n"
  done
  say "creating a self-signed certificate for ${names} in $MC_TLS_KEYSTORE (MC_TLS_SELF_SIGNED=true)"
  mkdir -p "$(dirname "$MC_TLS_KEYSTORE")"
  (umask 077
   keytool -genkeypair -alias mailcluster -keyalg RSA -keysize 2048 -validity 825 \
     -dname "CN=${name_list[0]// /}" -ext "SAN=$san" \
     -storetype PKCS12 -keystore "$MC_TLS_KEYSTORE" -storepass:env MC_TLS_KEYSTORE_PASSWORD \
     >/dev/null) || die "keytool could not create $MC_TLS_KEYSTORE"
fi
[ -n "${MC_TLS_KEYSTORE:-}" ] || die "MC_TLS_KEYSTORE is not set"
[ -r "$MC_TLS_KEYSTORE" ] || die "MC_TLS_KEYSTORE: $MC_TLS_KEYSTORE is missing or unreadable (mount the keystore Secret, or set MC_TLS_SELF_SIGNED=true)"
[ -r "${MC_WEBADMIN_SECRET_FILE:-}" ] || die "MC_WEBADMIN_SECRET_FILE: $MC_WEBADMIN_SECRET_FILE is missing or unreadable (mount the webadmin Secret)"

# key_state KEYSTORE PASSWORD_VARIABLE: sets key_state to "private" (the keystore has a
# private-key entry "james"), "other" (an entry "james" without a private key, e.g. a trusted
# certificate) or "none"; stops the node if the keystore cannot be opened. keytool's messages in
# English whatever the locale: "does not exist" is matched below.
key_state() {
  local out
  if out=$(keytool -J-Duser.language=en -J-Duser.country=US -list -alias james -keystore "$1" -storetype PKCS12 -storepass:env "$2" 2>&1); then
    if [[ $out == *PrivateKeyEntry* ]]; then key_state=private; else key_state=other; fi
  elif [[ $out == *"Alias <james> does not exist"* ]]; then
    key_state=none
  else
    die "cannot open the keystore $1 with $2 (PKCS12 expected): ${out#keytool error: }"
  fi
}

# 6. The TLS keystore must not hold JMAP's signing key. SMTP and IMAP hand the whole keystore to
#    the JDK's default key manager, which presents whichever private key comes first in its own
#    order, not the certificate clients ask for: with a "james" key next to the TLS one, IMAPS
#    would present the JMAP signing certificate. Older images put it there (and worked around
#    this with a java.security file they no longer ship), so such a keystore stops the node.
key_state "$MC_TLS_KEYSTORE" MC_TLS_KEYSTORE_PASSWORD
if [ "$key_state" = private ]; then
  fix="delete the entry (keytool -delete -alias james -storetype PKCS12 -keystore keystore.p12) and update the Secret"
  [ "$self_signed" = true ] && fix="delete $MC_TLS_KEYSTORE (self-signed: it is made anew at the next start), or the entry in it"
  die "MC_TLS_KEYSTORE ($MC_TLS_KEYSTORE) holds a private-key entry \"james\", JMAP's signing key as older images stored it. It no longer belongs there: JMAP reads its own keystore (MC_JMAP_SIGNING_KEYSTORE), and next to the TLS certificate the JDK may present it to SMTP/IMAP clients instead. Fix: $fix (see docs/deploy.md, \"JMAP\")"
fi

# 7. JMAP's signing key, on a JMAP node: James's JMAP module always loads the private-key entry
#    "james" of the keystore conf/jmap.properties names (tls.keystoreURL, tls.secret), and the
#    node does not start without it. It signs the tokens of JMAP's draft protocol, so every
#    mailbox node of a cluster should have the same key.
if [ "$jmap" = true ]; then
  ks=${MC_JMAP_SIGNING_KEYSTORE:-}
  [ -n "$ks" ] || die "MC_JMAP_SIGNING_KEYSTORE is not set: the PKCS12 keystore holding JMAP's signing key (entry \"james\")"
  [ -n "${MC_JMAP_SIGNING_KEYSTORE_PASSWORD:-}" ] || die "MC_JMAP_SIGNING_KEYSTORE_PASSWORD (or MC_JMAP_SIGNING_KEYSTORE_PASSWORD_FILE) is not set: the password of $ks"
  if [ "$ks" = "$MC_TLS_KEYSTORE" ] || [ "$ks" -ef "$MC_TLS_KEYSTORE" ]; then
    die "MC_JMAP_SIGNING_KEYSTORE and MC_TLS_KEYSTORE are the same file ($ks): JMAP's signing key needs a keystore of its own"
  fi
  if [ -n "${MC_JMAP_SIGNING_PEM:-}" ]; then
    # A PEM key and certificate (the Helm chart's generated Secret): written into the keystore
    # at every start, so that a changed Secret is taken up by the next restart.
    [ -r "$MC_JMAP_SIGNING_PEM" ] || die "MC_JMAP_SIGNING_PEM: $MC_JMAP_SIGNING_PEM is missing or unreadable (mount the JMAP signing key Secret)"
    command -v openssl >/dev/null || die "MC_JMAP_SIGNING_PEM is set but this image has no openssl to turn it into a PKCS12 keystore: give MC_JMAP_SIGNING_KEYSTORE as a PKCS12 file instead"
    say "writing JMAP's signing key \"james\" from $MC_JMAP_SIGNING_PEM into $ks"
    tmp="$ks.tmp.$$"
    out=$({ umask 077; mkdir -p "$(dirname "$ks")" && rm -f "$tmp" \
          && openssl pkcs12 -export -in "$MC_JMAP_SIGNING_PEM" -name james \
               -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg SHA256 \
               -passout env:MC_JMAP_SIGNING_KEYSTORE_PASSWORD -out "$tmp" \
          && mv -f "$tmp" "$ks"; } 2>&1) \
      || { rm -f "$tmp"; die "could not write $ks (MC_JMAP_SIGNING_KEYSTORE, which must be writable when MC_JMAP_SIGNING_PEM is set) from $MC_JMAP_SIGNING_PEM (a PEM private key and its certificate expected): $out"; }
  elif [ "$self_signed" = true ] && [ ! -e "$ks" ]; then
    say "creating a JMAP signing key \"james\" in $ks (MC_TLS_SELF_SIGNED=true; a key of this node only: give every mailbox node the same MC_JMAP_SIGNING_KEYSTORE instead)"
    out=$({ umask 077; mkdir -p "$(dirname "$ks")" \
          && keytool -genkeypair -alias james -keyalg RSA -keysize 2048 -validity 3650 \
               -dname "CN=JMAP signing key, O=mailcluster" \
               -storetype PKCS12 -keystore "$ks" -storepass:env MC_JMAP_SIGNING_KEYSTORE_PASSWORD; } 2>&1) \
      || die "keytool could not create $ks (MC_JMAP_SIGNING_KEYSTORE): ${out#keytool error: }"
  fi
  [ -r "$ks" ] || die "MC_JMAP_SIGNING_KEYSTORE: $ks is missing or unreadable (mount the JMAP signing key Secret, or set MC_TLS_SELF_SIGNED=true to make one; see docs/deploy.md, \"JMAP\")"
  key_state "$ks" MC_JMAP_SIGNING_KEYSTORE_PASSWORD
  [ "$key_state" = private ] || die "MC_JMAP_SIGNING_KEYSTORE ($ks) has no private-key entry \"james\", which JMAP (conf/jmap.properties) loads as its signing key (see docs/deploy.md, \"JMAP\", for the keytool command that makes one)"
  unset out tmp ks
fi

# 8. The distribution's start script: cd MC_NODE_HOME, exec java with JAVA_OPTS.
[ -f "$DIST/main-class" ] || die "no node distribution in $DIST"
exec bash "$DIST/bin/start" "$@"
