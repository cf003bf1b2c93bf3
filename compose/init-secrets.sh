#!/usr/bin/env bash
# One-shot service of compose.yaml: makes the Compose cluster's secrets once, into the
# "secrets" volume (mounted here at /secrets, in the other services at /run/secrets/mailcluster):
#   webadmin-token         webadmin's Bearer secret (MC_WEBADMIN_SECRET_FILE)
#   rabbitmq-password      the "mailcluster" user's password, for RabbitMQ and the nodes
#   keystore-password      password of the TLS keystore
#   tls.p12                the nodes' TLS keystore (MC_TLS_KEYSTORE): one self-signed
#                          certificate for MC_DOMAIN and *.MC_DOMAIN, shared by every node
#   cluster-cert.pem       its certificate alone (public), which clients such as the webmail
#                          verify the nodes against
#   jmap-signing.p12       JMAP's signing key: a PKCS12 keystore of its own, private-key entry
#                          "james" (MC_JMAP_SIGNING_KEYSTORE), shared by every mailbox node
#   jmap-signing-password  its password (MC_JMAP_SIGNING_KEYSTORE_PASSWORD_FILE)
# Existing files are kept, so the secrets survive `docker compose down` (not `down -v`).
# Nothing is printed but file names. Runs in the JRE image, for keytool.
set -euo pipefail
cd /secrets
umask 077
for f in webadmin-token rabbitmq-password keystore-password jmap-signing-password; do
  if [ ! -s "$f" ]; then
    head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$f.tmp"
    mv "$f.tmp" "$f"
    echo "init-secrets: created $f"
  fi
done
if [ ! -s jmap-signing.p12 ]; then
  rm -f jmap-signing.p12.tmp
  keytool -genkeypair -alias james -keyalg RSA -keysize 2048 -validity 3650 \
    -dname "CN=JMAP signing key, O=mailcluster" \
    -storetype PKCS12 -keystore jmap-signing.p12.tmp -storepass:file jmap-signing-password >/dev/null 2>&1 \
    || { echo "init-secrets: keytool could not create jmap-signing.p12" >&2; exit 1; }
  mv jmap-signing.p12.tmp jmap-signing.p12
  echo "init-secrets: created jmap-signing.p12"
fi
if [ ! -s tls.p12 ]; then
  domain=${MC_DOMAIN:-mail.test}
  rm -f tls.p12.tmp
  keytool -genkeypair -alias mailcluster -keyalg RSA -keysize 2048 -validity 3650 \
    -dname "CN=$domain" -ext "SAN=dns:$domain,dns:*.$domain,dns:mx,dns:submission,dns:mailbox" \
    -storetype PKCS12 -keystore tls.p12.tmp -storepass:file keystore-password >/dev/null 2>&1 \
    || { echo "init-secrets: keytool could not create tls.p12" >&2; exit 1; }
  mv tls.p12.tmp tls.p12
  rm -f cluster-cert.pem
  echo "init-secrets: created tls.p12"
fi
if [ ! -s cluster-cert.pem ]; then
  keytool -exportcert -rfc -alias mailcluster -keystore tls.p12 -storetype PKCS12 -storepass:file keystore-password \
    -file cluster-cert.pem >/dev/null 2>&1 || { echo "init-secrets: could not export cluster-cert.pem" >&2; exit 1; }
  echo "init-secrets: created cluster-cert.pem"
fi
# The certificate is public: readable by the webmail's web server user.
chmod 0444 cluster-cert.pem
files=(webadmin-token rabbitmq-password keystore-password jmap-signing-password jmap-signing.p12 tls.p12)
# The nodes run as uid 10001; RabbitMQ reads its password as root before dropping privileges.
chown 10001:10001 "${files[@]}"
chmod 0400 "${files[@]}"
