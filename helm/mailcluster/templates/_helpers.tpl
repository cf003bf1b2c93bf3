{{/*
Names, labels and the fixed facts about each tier. Every other template ranges over
"mailcluster.tierNames" and reads the tier's values under .Values.<tier>.
*/}}

{{- define "mailcluster.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name. Objects add a suffix of up to 20 characters
("-submission-webadmin"), and a Service's name may not pass 63, so a longer name is cut to 36
characters plus 5 of its hash: the longest release name Helm accepts (53) still fits, and two
long names that share their first 36 characters still differ.
*/}}
{{- define "mailcluster.fullname" -}}
{{- $full := "" }}
{{- if .Values.fullnameOverride }}
{{- $full = .Values.fullnameOverride }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- $full = .Release.Name }}
{{- else }}
{{- $full = printf "%s-%s" .Release.Name $name }}
{{- end }}
{{- end }}
{{- if gt (len $full) 42 }}
{{- printf "%s-%s" ($full | trunc 36 | trimSuffix "-") ($full | sha256sum | trunc 5) }}
{{- else }}
{{- $full | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "mailcluster.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels common to every object of the release. */}}
{{- define "mailcluster.labels" -}}
helm.sh/chart: {{ include "mailcluster.chart" . }}
app.kubernetes.io/name: {{ include "mailcluster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: mailcluster
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mailcluster.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mailcluster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The three node types, in the order their objects are rendered. */}}
{{- define "mailcluster.tierNames" -}}
mx submission mailbox
{{- end }}

{{/*
What the chart knows about each tier and values cannot change: the ports inside the container
(unprivileged, so no capability is needed; the Services publish the standard ports), the MC_*
variable that sets each, and the name the tier is known by outside. A port with "service: jmap"
is published by a Service of its own (<fullname>-mailbox-jmap, values under mailbox.jmap), not
by the tier's Service. A port with "service: proxied" takes PROXY protocol first; the tier's
Service sends to it instead of the port naming it as "proxied" when the Service's values say
proxyProtocol: true (the load balancer in front then sends PROXY).
*/}}
{{- define "mailcluster.tierFacts" -}}
mx:
  publicName: mx
  # The RabbitMQ queue of the work waiting for the tier (autoscaling.on: queueDepth): what
  # QueueTopology names JamesMailQueue-workqueue-<queue>.
  workQueue: mx-spool
  ports:
    - name: smtp
      containerPort: 10025
      env: MC_SMTP_PORT
submission:
  publicName: submission
  workQueue: outgoing
  ports:
    - name: submission
      containerPort: 10587
      env: MC_SUBMISSION_PORT
      proxied: submission-prx
    - name: submissions
      containerPort: 10465
      env: MC_SUBMISSIONS_PORT
      proxied: submissions-prx
    - name: submission-prx
      containerPort: 11587
      env: MC_SUBMISSION_PROXY_PORT
      service: proxied
    - name: submissions-prx
      containerPort: 11465
      env: MC_SUBMISSIONS_PROXY_PORT
      service: proxied
mailbox:
  publicName: imap
  workQueue: delivery
  ports:
    - name: imap
      containerPort: 10143
      env: MC_IMAP_PORT
    - name: imaps
      containerPort: 10993
      env: MC_IMAPS_PORT
    - name: pop3
      containerPort: 10110
      env: MC_POP3_PORT
    - name: pop3s
      containerPort: 10995
      env: MC_POP3S_PORT
    - name: jmap
      containerPort: 10080
      env: MC_JMAP_PORT
      service: jmap
{{- end }}

{{/* Labels of one tier's objects: (dict "root" $ "tier" "mx") */}}
{{- define "mailcluster.tierLabels" -}}
{{ include "mailcluster.labels" .root }}
app.kubernetes.io/component: {{ .tier }}-node
{{- end }}

{{- define "mailcluster.tierSelectorLabels" -}}
{{ include "mailcluster.selectorLabels" .root }}
app.kubernetes.io/component: {{ .tier }}-node
{{- end }}

{{/* Name of the Secret holding the webadmin token and backend credentials. */}}
{{- define "mailcluster.credentialsSecret" -}}
{{- if .Values.credentials.existingSecret }}
{{- .Values.credentials.existingSecret }}
{{- else }}
{{- printf "%s-credentials" (include "mailcluster.fullname" .) }}
{{- end }}
{{- end }}

{{/* Secret and key of the keystore password. */}}
{{- define "mailcluster.keystorePasswordSecret" -}}
{{- if eq .Values.tls.mode "secret" }}
{{- default .Values.tls.secret.name .Values.tls.secret.passwordSecretName }}
{{- else }}
{{- include "mailcluster.credentialsSecret" . }}
{{- end }}
{{- end }}

{{- define "mailcluster.keystorePasswordKey" -}}
{{- if eq .Values.tls.mode "secret" }}
{{- .Values.tls.secret.passwordKey }}
{{- else }}
{{- print "keystore-password" }}
{{- end }}
{{- end }}

{{/*
The Secret holding JMAP's signing key: mailbox.jmap.signingKey.existingSecret (a PKCS12 keystore
and its password), or the one the chart generates (a PEM key and certificate, and a password).
*/}}
{{- define "mailcluster.jmapSigningSecret" -}}
{{- if .Values.mailbox.jmap.signingKey.existingSecret }}
{{- .Values.mailbox.jmap.signingKey.existingSecret }}
{{- else }}
{{- printf "%s-jmap-signing" (include "mailcluster.fullname" .) }}
{{- end }}
{{- end }}

{{/* Image of one tier: (dict "root" $ "tier" "mx") */}}
{{- define "mailcluster.image" -}}
{{- $tv := index .root.Values .tier }}
{{- $repo := default (printf "%s/%s-node" (trimSuffix "/" .root.Values.image.repositoryPrefix) .tier) $tv.image.repository }}
{{- $tag := default (default .root.Chart.AppVersion .root.Values.image.tag) $tv.image.tag }}
{{- if $tv.image.digest }}
{{- printf "%s@%s" $repo $tv.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
{{- end }}

{{/* The HELO / greeting name of one tier: its hostname value, or <publicName>.<domain>. */}}
{{- define "mailcluster.hostname" -}}
{{- $tv := index .root.Values .tier }}
{{- $facts := index (include "mailcluster.tierFacts" .root | fromYaml) .tier }}
{{- default (printf "%s.%s" $facts.publicName .root.Values.domain) $tv.hostname }}
{{- end }}

{{/*
JMAP on the mailbox tier, as YAML: host, the Service's name and port, the ingress TLS Secret,
and the URLs the session object gives clients (MC_JMAP_URL, MC_JMAP_WEBSOCKET_URL): the values
mailbox.jmap.url / websocketUrl, or else derived from how JMAP is exposed (values.yaml).
*/}}
{{- define "mailcluster.jmap" -}}
{{- $j := .Values.mailbox.jmap }}
{{- $fullname := include "mailcluster.fullname" . }}
{{- $host := default (printf "jmap.%s" .Values.domain) $j.host }}
{{- $svcName := printf "%s-mailbox-jmap" $fullname }}
{{- $port := int (required "mailbox.jmap.service.ports.jmap is required" $j.service.ports.jmap) }}
{{- $url := trimSuffix "/" $j.url }}
{{- if not $url }}
{{- if $j.ingress.enabled }}
{{- $url = printf "%s://%s" (ternary "https" "http" $j.ingress.tls.enabled) $host }}
{{- else if eq $j.service.type "LoadBalancer" }}
{{- $url = printf "http://%s%s" $host (ternary "" (printf ":%d" $port) (eq $port 80)) }}
{{- else if eq $j.service.type "NodePort" }}
{{- $nodePort := index ($j.service.nodePorts | default dict) "jmap" }}
{{- if not $nodePort }}{{ fail "mailbox.jmap.service.type=NodePort: set mailbox.jmap.url to the URL clients reach JMAP at, or mailbox.jmap.service.nodePorts.jmap (the URL is then http://<host>:<nodePort>)" }}{{ end }}
{{- $url = printf "http://%s:%v" $host $nodePort }}
{{- else }}
{{- $url = printf "http://%s.%s.svc%s" $svcName .Release.Namespace (ternary "" (printf ":%d" $port) (eq $port 80)) }}
{{- end }}
{{- end }}
{{- $ws := trimSuffix "/" $j.websocketUrl }}
{{- if not $ws }}
{{- $ws = printf "ws%s" (trimPrefix "http" $url) }}
{{- end }}
host: {{ $host | quote }}
serviceName: {{ $svcName | quote }}
servicePort: {{ $port }}
url: {{ $url | quote }}
websocketUrl: {{ $ws | quote }}
tlsSecretName: {{ default (printf "%s-jmap-tls" $fullname) $j.ingress.tls.secretName | quote }}
{{- end }}

{{/* Checks of values that would otherwise fail only at run time, or leak a secret. */}}
{{- define "mailcluster.validate" -}}
{{- $b := .Values.backends }}
{{- if not $b.cassandra.nodes }}{{ fail "backends.cassandra.nodes is required (host:port[,host:port...] of your Cassandra)" }}{{ end }}
{{- if not $b.rabbitmq.uri }}{{ fail "backends.rabbitmq.uri is required (amqp://host:5672 of your RabbitMQ)" }}{{ end }}
{{- if not $b.rabbitmq.managementUri }}{{ fail "backends.rabbitmq.managementUri is required (http://host:15672: the mail queues use the management API)" }}{{ end }}
{{- if not $b.opensearch.url }}{{ fail "backends.opensearch.url is required (http://host:9200 of your OpenSearch)" }}{{ end }}
{{- range $k, $v := dict "backends.rabbitmq.uri" $b.rabbitmq.uri "backends.rabbitmq.managementUri" $b.rabbitmq.managementUri "backends.opensearch.url" $b.opensearch.url }}
{{- if contains "@" $v }}{{ fail (printf "%s must not contain credentials (it lands in a ConfigMap): put them under credentials.*" $k) }}{{ end }}
{{- end }}
{{- if not (has .Values.tls.mode (list "selfSigned" "secret")) }}{{ fail "tls.mode must be selfSigned or secret" }}{{ end }}
{{- if and (eq .Values.tls.mode "secret") (not .Values.tls.secret.name) }}{{ fail "tls.mode=secret needs tls.secret.name (a Secret holding the PKCS12 keystore)" }}{{ end }}
{{- if not .Values.domain }}{{ fail "domain is required" }}{{ end }}
{{- $os := $b.opensearch }}
{{- if and (or $os.auth.enabled $os.ca.secretName) (not (hasPrefix "https://" $os.url)) }}{{ fail (printf "backends.opensearch.url=%s: backends.opensearch.auth and .ca need an https:// URL (a password must not travel in clear)" $os.url) }}{{ end }}
{{- if and $b.rabbitmq.ca.secretName (not (or (hasPrefix "amqps://" $b.rabbitmq.uri) (hasPrefix "https://" $b.rabbitmq.managementUri))) }}{{ fail "backends.rabbitmq.ca is set but neither backends.rabbitmq.uri is amqps:// nor managementUri https://" }}{{ end }}
{{- if and $b.cassandra.tls.ca.secretName (not $b.cassandra.tls.enabled) }}{{ fail "backends.cassandra.tls.ca is set but backends.cassandra.tls.enabled is false" }}{{ end }}
{{- range $tier := splitList " " (include "mailcluster.tierNames" .) }}
{{- $a := (index $.Values $tier).autoscaling }}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) }}{{ fail (printf "%s.autoscaling.minReplicas (%v) is more than maxReplicas (%v)" $tier $a.minReplicas $a.maxReplicas) }}{{ end }}
{{- end }}
{{- $j := .Values.mailbox.jmap }}
{{- if and $j.url (not (regexMatch "^https?://[^/]+" $j.url)) }}{{ fail (printf "mailbox.jmap.url=%s: expected an http:// or https:// URL (what clients reach JMAP at)" $j.url) }}{{ end }}
{{- if and $j.websocketUrl (not (regexMatch "^wss?://[^/]+" $j.websocketUrl)) }}{{ fail (printf "mailbox.jmap.websocketUrl=%s: expected a ws:// or wss:// URL" $j.websocketUrl) }}{{ end }}
{{- if not (has $j.service.type (list "ClusterIP" "NodePort" "LoadBalancer")) }}{{ fail "mailbox.jmap.service.type must be ClusterIP, NodePort or LoadBalancer" }}{{ end }}
{{- $jmap := include "mailcluster.jmap" . | fromYaml }}
{{- if contains "@" $jmap.url }}{{ fail "mailbox.jmap.url must not contain credentials" }}{{ end }}
{{- $sk := $j.signingKey }}
{{- range $old := list "secretName" "passwordSecretName" }}
{{- if get $sk $old }}{{ fail (printf "mailbox.jmap.signingKey.%s is gone (chart 0.3.0): JMAP's signing key is a keystore of its own, no longer merged into the TLS keystore. Name a Secret holding a PKCS12 keystore with a private-key entry \"james\" and its password in mailbox.jmap.signingKey.existingSecret (keys keystoreKey, passwordKey), or leave it empty to have the chart generate one; see docs/deploy.md, \"JMAP\"" $old) }}{{ end }}
{{- end }}
{{- if $sk.existingSecret }}
{{- if not (and $sk.keystoreKey $sk.passwordKey) }}{{ fail "mailbox.jmap.signingKey.existingSecret needs keystoreKey and passwordKey (the Secret's keys holding the PKCS12 keystore and its password)" }}{{ end }}
{{- end }}
{{- end }}

{{/*
The conf/ files a tier overrides, as YAML (file name -> content): (dict "root" $ "tier" "mx").
*/}}
{{- define "mailcluster.confFiles" -}}
{{- $files := deepCopy ((index .root.Values .tier).confOverrides | default dict) }}
{{- if $files }}
{{- toYaml $files }}
{{- end }}
{{- end }}

{{- define "mailcluster.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mailcluster.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The PEM CAs a tier's pods trust for their backends, each from the Secret values name, mounted
read-only under /run/secrets/mailcluster/NAME/ca.pem and given to the node in ENV. Only the
mailbox tier talks to OpenSearch. Call with (dict "root" $ "tier" $tier); read with fromYaml.
*/}}
{{- define "mailcluster.backendCas" -}}
{{- $b := .root.Values.backends }}
cas:
{{- if $b.rabbitmq.ca.secretName }}
  - {name: rabbitmq-ca, env: MC_RABBITMQ_CA, secretName: {{ $b.rabbitmq.ca.secretName | quote }}, key: {{ $b.rabbitmq.ca.key | quote }}}
{{- end }}
{{- if and $b.cassandra.tls.enabled $b.cassandra.tls.ca.secretName }}
  - {name: cassandra-ca, env: MC_CASSANDRA_CA, secretName: {{ $b.cassandra.tls.ca.secretName | quote }}, key: {{ $b.cassandra.tls.ca.key | quote }}}
{{- end }}
{{- if and (eq .tier "mailbox") $b.opensearch.ca.secretName }}
  - {name: opensearch-ca, env: MC_OPENSEARCH_CA, secretName: {{ $b.opensearch.ca.secretName | quote }}, key: {{ $b.opensearch.ca.key | quote }}}
{{- end }}
{{- end }}
