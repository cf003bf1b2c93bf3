package org.mailcluster.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.mailcluster.testing.LocalCluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.marcnuri.helm.Helm;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;

/**
 * The Helm chart as Helm itself renders it (helm-java: Helm's Go library, no cluster needed):
 * what the values promise is in the manifests.
 */
class ChartTest {
    static final Path CHART = LocalCluster.locate().root().resolve("helm/mailcluster");

    static List<JsonNode> render(String valuesFile, String... sets) throws Exception {
        return renderAs("mc", valuesFile, sets);
    }

    static List<JsonNode> renderAs(String release, String valuesFile, String... sets) throws Exception {
        TemplateCommand template = new Helm(CHART).template().withName(release).withNamespace("mail").withKubeVersion("1.30.0")
            .withValuesFile(CHART.resolve("ci").resolve(valuesFile));
        for (String set : sets) {
            template.set(set.substring(0, set.indexOf('=')), set.substring(set.indexOf('=') + 1));
        }
        String manifests = template.call();
        List<JsonNode> documents = new ArrayList<>();
        ObjectMapper mapper = new ObjectMapper(new YAMLFactory());
        try (YAMLParser parser = new YAMLFactory().createParser(manifests)) {
            for (var it = mapper.readValues(parser, JsonNode.class); it.hasNext(); ) {
                JsonNode document = it.next();
                if (document != null && !document.isEmpty()) {
                    documents.add(document);
                }
            }
        }
        return documents;
    }

    static JsonNode object(List<JsonNode> documents, String kind, String name) {
        return documents.stream()
            .filter(d -> kind.equals(d.path("kind").asText()) && name.equals(d.path("metadata").path("name").asText()))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " rendered"));
    }

    /**
     * {@code full-values.yaml}: every option on. The other files in {@code ci/} let the chart
     * make its Secrets, which it does with Helm's {@code lookup}: helm-java's template asks a
     * Kubernetes API for it (Helm's own {@code helm template} does not), so they are not
     * rendered here.
     */
    @Test
    void theFullValuesRender() throws Exception {
        List<JsonNode> documents = render("full-values.yaml");
        assertThat(documents).hasSizeGreaterThan(10);
        for (JsonNode document : documents) {
            assertThat(document.path("apiVersion").asText()).as(document.toString()).isNotEmpty();
            assertThat(document.path("kind").asText()).as(document.toString()).isNotEmpty();
            assertThat(document.path("metadata").path("name").asText()).as(document.toString()).isNotEmpty();
        }
        object(documents, "Deployment", "mc-mailcluster-submission");
    }

    @Test
    void theSubmissionServiceSendsToThePlainListenersByDefault() throws Exception {
        JsonNode service = object(render("full-values.yaml", "submission.service.proxyProtocol=false"), "Service", "mc-mailcluster-submission");
        assertThat(service.path("spec").path("ports").findValuesAsText("targetPort")).containsExactly("submission", "submissions");
    }

    @Test
    void withProxyProtocolTheSubmissionServiceSendsToThePodsProxyListeners() throws Exception {
        List<JsonNode> documents = render("full-values.yaml");
        JsonNode service = object(documents, "Service", "mc-mailcluster-submission");
        assertThat(service.path("spec").path("ports").findValuesAsText("targetPort")).containsExactly("submission-prx", "submissions-prx");
        assertThat(service.path("spec").path("ports").findValuesAsText("port")).containsExactly("587", "465");

        JsonNode container = object(documents, "Deployment", "mc-mailcluster-submission")
            .path("spec").path("template").path("spec").path("containers").get(0);
        List<String> ports = new ArrayList<>();
        container.path("ports").forEach(port -> ports.add(port.path("name").asText() + "=" + port.path("containerPort").asText()));
        assertThat(ports).contains("submission-prx=11587", "submissions-prx=11465");
        List<String> env = new ArrayList<>();
        container.path("env").forEach(variable -> env.add(variable.path("name").asText() + "=" + variable.path("value").asText()));
        assertThat(env).contains("MC_SUBMISSION_PROXY_PORT=11587", "MC_SUBMISSIONS_PROXY_PORT=11465",
            "MC_LIMIT_MESSAGES_PER_HOUR=100", "MC_LIMIT_RECIPIENTS_PER_MESSAGE=20", "MC_LIMIT_CONNECTIONS_PER_DESTINATION=10");
    }

    /**
     * Every rendered object as Kubernetes reads it (fabric8's model of its API): a field the
     * API does not have, which the API server would drop or refuse, fails here.
     */
    @Test
    void everyRenderedFieldIsOneKubernetesKnows() throws Exception {
        for (JsonNode document : render("full-values.yaml")) {
            String what = document.path("kind").asText() + " " + document.path("metadata").path("name").asText();
            if (document.path("apiVersion").asText().startsWith(KEDA_GROUP)) {
                continue; // fabric8 has no model of KEDA's kinds: theQueueDepthAutoscalerIsAValidKedaObject
            }
            KubernetesResource resource = KUBERNETES.unmarshal(document.toString(), KubernetesResource.class);
            assertThat(resource).as(what + " is a kind Kubernetes knows").isNotInstanceOf(GenericKubernetesResource.class);
            List<String> unknown = new ArrayList<>();
            unknownFields(resource, what, unknown);
            assertThat(unknown).as("fields Kubernetes does not know").isEmpty();
        }
    }

    /** The longest release name Helm accepts (53 characters) still gives names Kubernetes takes. */
    @Test
    void aLongReleaseNameGivesValidObjectNames() throws Exception {
        String release = "a-release-name-of-fifty-three-characters-for-the-ch12";
        assertThat(release).hasSize(53);
        for (JsonNode document : renderAs(release, "full-values.yaml")) {
            String kind = document.path("kind").asText();
            String name = document.path("metadata").path("name").asText();
            assertThat(name).as(kind + " " + name).hasSizeLessThanOrEqualTo(63).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
        }
        List<String> names = new ArrayList<>();
        renderAs(release, "full-values.yaml").forEach(d -> names.add(d.path("kind").asText() + "/" + d.path("metadata").path("name").asText()));
        assertThat(names).as("names stay distinct when cut").doesNotHaveDuplicates();
    }

    static final KubernetesSerialization KUBERNETES = new KubernetesSerialization();

    /** Walks fabric8's objects; what Jackson could not map to a field lands in additionalProperties. */
    static void unknownFields(Object value, String path, List<String> unknown) throws Exception {
        if (value instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                unknownFields(item, path + "[" + i++ + "]", unknown);
            }
            return;
        }
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                unknownFields(entry.getValue(), path + "." + entry.getKey(), unknown);
            }
            return;
        }
        // Kubernetes' own kinds, and the Prometheus Operator's (io.fabric8.openshift.api.model.monitoring)
        if (value == null || !(value.getClass().getPackageName().startsWith("io.fabric8.kubernetes.api.model")
            || value.getClass().getPackageName().startsWith("io.fabric8.openshift.api.model.monitoring"))) {
            return;
        }
        for (Method getter : value.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || !getter.getName().startsWith("get") || getter.getDeclaringClass() == Object.class
                || java.lang.reflect.Modifier.isStatic(getter.getModifiers())) {
                continue;
            }
            Object property = getter.invoke(value);
            if (getter.getName().equals("getAdditionalProperties")) {
                if (property instanceof Map<?, ?> extra) {
                    extra.keySet().forEach(field -> unknown.add(path + "." + field));
                }
            } else {
                unknownFields(property, path + "." + getter.getName().substring(3), unknown);
            }
        }
    }

    /** Helm's own lint, strict (warnings fail too), on the chart and its default values. */
    @Test
    void theChartLintsStrictly() {
        LintResult lint = new Helm(CHART).lint().strict().call();
        assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();
    }

    /** values.schema.json: a misspelled or mistyped value stops Helm instead of being ignored. */
    @Test
    void aMisspelledOrMistypedValueIsRefused() {
        assertThatThrownBy(() -> render("full-values.yaml", "submission.limits.messagePerHour=5"))
            .hasMessageContaining("messagePerHour");
        assertThatThrownBy(() -> render("full-values.yaml", "mx.replicaCount=two"))
            .hasMessageContaining("replicaCount");
    }

    @Test
    void theMailboxServiceOffersImapAndPop3() throws Exception {
        JsonNode service = object(render("full-values.yaml"), "Service", "mc-mailcluster-mailbox");
        List<String> ports = new ArrayList<>();
        service.path("spec").path("ports").forEach(port -> ports.add(port.path("port").asText() + "->" + port.path("targetPort").asText()));
        assertThat(ports).contains("143->imap", "993->imaps", "110->pop3", "995->pop3s");
    }

    @Test
    void theWebmailVerifiesTheNodesAgainstTheGivenCa() throws Exception {
        List<JsonNode> documents = render("full-values.yaml");
        assertThat(env(object(documents, "Deployment", "mc-mailcluster-webmail")))
            .contains("ROUNDCUBEMAIL_DEFAULT_HOST=tls://mc-mailcluster-mailbox", "ROUNDCUBEMAIL_DEFAULT_PORT=143",
                "ROUNDCUBEMAIL_SMTP_SERVER=tls://mc-mailcluster-submission", "ROUNDCUBEMAIL_SMTP_PORT=587");
        String config = object(documents, "ConfigMap", "mc-mailcluster-webmail").path("data").path("cluster-tls.php").asText();
        assertThat(config).contains("'verify_peer' => true", "'cafile' => '/etc/mailcluster/ca/ca.crt'", "'peer_name' => 'mail.example.net'");
        assertThat(object(documents, "Deployment", "mc-mailcluster-webmail").toString()).contains("mail-example-net-ca");
        assertThatThrownBy(() -> render("full-values.yaml", "webmail.ca.secretName="))
            .hasMessageContaining("webmail.ca.secretName is required");
    }

    /** By default every tier runs two pods, with a PDB that lets a node drain take one. */
    @Test
    void everyTierRunsTwoPodsAndCanBeDrained() throws Exception {
        JsonNode defaults = new ObjectMapper(new YAMLFactory()).readTree(CHART.resolve("values.yaml").toFile());
        List<JsonNode> documents = render("full-values.yaml");
        for (String tier : List.of("mx", "submission", "mailbox")) {
            assertThat(defaults.path(tier).path("replicaCount").asInt()).as(tier + " replicas by default").isEqualTo(2);
            assertThat(defaults.path(tier).path("autoscaling").path("minReplicas").asInt()).as(tier + " autoscaling floor").isEqualTo(2);
            JsonNode deployment = object(documents, "Deployment", "mc-mailcluster-" + tier);
            assertThat(object(documents, "PodDisruptionBudget", "mc-mailcluster-" + tier).path("spec").path("maxUnavailable").asInt())
                .as(tier + " PDB").isEqualTo(1);
            String javaOpts = env(deployment).stream().filter(e -> e.startsWith("JAVA_OPTS=")).findFirst().orElseThrow();
            assertThat(javaOpts).as("the heap follows the memory limit").contains("-XX:MaxRAMPercentage=60").doesNotContain("-Xmx");
            assertThat(deployment.path("spec").path("template").path("spec").path("containers").get(0)
                .path("resources").path("limits").path("memory").asText()).as(tier + " memory limit").isNotEmpty();
        }
    }

    @Test
    void aTierTakesADigestAPriorityClassExtraVolumesAndSidecars() throws Exception {
        String digest = "sha256:" + "a".repeat(64);
        List<JsonNode> documents = render("full-values.yaml",
            "mx.image.digest=" + digest, "priorityClassName=mail-critical",
            "mx.extraVolumes[0].name=spool-audit", "mx.extraVolumes[0].emptyDir.sizeLimit=1Gi",
            "mx.extraVolumeMounts[0].name=spool-audit", "mx.extraVolumeMounts[0].mountPath=/audit",
            "mx.sidecars[0].name=log-shipper", "mx.sidecars[0].image=fluent/fluent-bit:3.2");
        JsonNode pod = object(documents, "Deployment", "mc-mailcluster-mx").path("spec").path("template").path("spec");
        assertThat(pod.path("containers").get(0).path("image").asText()).endsWith("mx-node@" + digest);
        assertThat(pod.path("priorityClassName").asText()).isEqualTo("mail-critical");
        assertThat(pod.path("volumes").findValuesAsText("name")).contains("spool-audit");
        assertThat(pod.path("containers").get(0).path("volumeMounts").findValuesAsText("mountPath")).contains("/audit");
        List<String> containers = new ArrayList<>();
        pod.path("containers").forEach(container -> containers.add(container.path("name").asText()));
        assertThat(containers).containsExactly("mx-node", "log-shipper");
        assertThat(object(documents, "Deployment", "mc-mailcluster-submission").path("spec").path("template").path("spec")
            .path("priorityClassName").asText()).as("the release-wide class").isEqualTo("mail-critical");
        assertThatThrownBy(() -> render("full-values.yaml", "mx.image.digest=latest")).hasMessageContaining("digest");
    }

    static final String KEDA_GROUP = "keda.sh/";

    /** KEDA's fields this chart may write, from KEDA's reference (ScaledObject spec, trigger, rabbitmq scaler). */
    static final Map<String, List<String>> KEDA_FIELDS = Map.of(
        "spec", List.of("scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
            "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers"),
        "advanced", List.of("restoreToOriginalReplicaCount", "horizontalPodAutoscalerConfig", "scalingModifiers"),
        "horizontalPodAutoscalerConfig", List.of("name", "behavior"),
        "trigger", List.of("type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"),
        "rabbitmq", List.of("host", "protocol", "mode", "value", "activationValue", "queueName", "vhostName", "hostFromEnv",
            "usernameFromEnv", "passwordFromEnv", "unsafeSsl", "excludeUnacknowledged", "pageSize", "operation", "timeout"));

    /**
     * The queue-depth autoscaler (mailbox in full-values): a KEDA ScaledObject on the tier's
     * RabbitMQ queue, with the credentials Secret's RabbitMQ user, scaling down one pod per drain
     * time, and no CPU HPA beside it; valid as KEDA's own CRD model says (@kubernetes-models/keda,
     * from npm), with no field KEDA does not have (its CRD would silently drop it) and the HPA
     * behaviour read strictly as Kubernetes' own.
     */
    @Test
    void theQueueDepthAutoscalerIsAValidKedaObject() throws Exception {
        List<JsonNode> documents = render("full-values.yaml");
        JsonNode scaled = object(documents, "ScaledObject", "mc-mailcluster-mailbox").path("spec");
        assertThat(scaled.path("scaleTargetRef").path("name").asText()).isEqualTo("mc-mailcluster-mailbox");
        assertThat(scaled.path("minReplicaCount").asInt()).isEqualTo(2);
        assertThat(scaled.path("maxReplicaCount").asInt()).isEqualTo(8);
        JsonNode trigger = scaled.path("triggers").get(0);
        assertThat(trigger.path("type").asText()).isEqualTo("rabbitmq");
        assertThat(trigger.path("metadata").path("queueName").asText()).isEqualTo("JamesMailQueue-workqueue-delivery");
        assertThat(trigger.path("metadata").path("value").asText()).isEqualTo("300");
        assertThat(trigger.path("metadata").path("host").asText()).as("the management API, over TLS as configured")
            .doesNotContain("@").startsWith("https://rabbitmq.mq.svc:15671");
        JsonNode behavior = scaled.path("advanced").path("horizontalPodAutoscalerConfig").path("behavior");
        assertThat(behavior.path("scaleDown").path("policies").get(0).path("periodSeconds").asInt())
            .as("one pod per drain time: the mailbox pods' preStop sleep + termination grace").isEqualTo(5 + 90);
        JsonNode auth = object(documents, "TriggerAuthentication", trigger.path("authenticationRef").path("name").asText()).path("spec");
        assertThat(auth.path("secretTargetRef").findValuesAsText("name")).containsOnly("mail-creds");
        assertThat(auth.path("secretTargetRef").findValuesAsText("key")).containsExactly("rabbitmq-username", "rabbitmq-password");
        assertThat(documents).as("no CPU HPA beside KEDA's for the mailbox tier")
            .noneMatch(d -> d.path("kind").asText().equals("HorizontalPodAutoscaler") && d.path("metadata").path("name").asText().equals("mc-mailcluster-mailbox"));
        object(documents, "HorizontalPodAutoscaler", "mc-mailcluster-mx");

        List<String> unknown = new ArrayList<>();
        unknownKeys(scaled, KEDA_FIELDS.get("spec"), "spec", unknown);
        unknownKeys(scaled.path("advanced"), KEDA_FIELDS.get("advanced"), "spec.advanced", unknown);
        unknownKeys(scaled.path("advanced").path("horizontalPodAutoscalerConfig"), KEDA_FIELDS.get("horizontalPodAutoscalerConfig"),
            "spec.advanced.horizontalPodAutoscalerConfig", unknown);
        unknownKeys(trigger, KEDA_FIELDS.get("trigger"), "trigger", unknown);
        unknownKeys(trigger.path("metadata"), KEDA_FIELDS.get("rabbitmq"), "trigger.metadata", unknown);
        unknownFields(KUBERNETES.unmarshal(behavior.toString(), io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerBehavior.class),
            "spec.advanced.horizontalPodAutoscalerConfig.behavior", unknown);
        assertThat(unknown).as("fields KEDA does not know").isEmpty();

        List<JsonNode> keda = documents.stream().filter(d -> d.path("apiVersion").asText().startsWith(KEDA_GROUP)).toList();
        assertThat(keda).hasSize(2);
        Path npm = LocalCluster.locate().root().resolve("var/npm");
        assertThat(npm.resolve("node_modules/@kubernetes-models/keda/package.json"))
            .as("@kubernetes-models/keda, which ./mailcluster test installs from npm").exists();
        // an ES module resolves its imports from where it lies: next to var/npm/node_modules
        Path script = npm.resolve("keda-validate.mjs");
        try (var in = ChartTest.class.getResourceAsStream("/keda-validate.mjs")) {
            java.nio.file.Files.write(script, in.readAllBytes());
        }
        Process node = new ProcessBuilder("node", script.toString()).redirectErrorStream(true).start();
        try (var stdin = node.getOutputStream()) {
            stdin.write(new ObjectMapper().writeValueAsBytes(keda));
        }
        String output = new String(node.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(node.waitFor()).as(output).isZero();
        assertThat(output).contains("ScaledObject mc-mailcluster-mailbox: valid", "TriggerAuthentication mc-mailcluster-mailbox-rabbitmq: valid");
    }

    static void unknownKeys(JsonNode object, List<String> known, String path, List<String> unknown) {
        object.fieldNames().forEachRemaining(field -> {
            if (!known.contains(field)) {
                unknown.add(path + "." + field);
            }
        });
    }

    /**
     * OpenSearch behind TLS and authentication: the mailbox pods (only they) get the user and
     * password from the credentials Secret and the CA mounted from its Secret; a password over
     * plain http is refused.
     */
    @Test
    void theMailboxTierReachesOpenSearchWithCredentialsAndItsCa() throws Exception {
        List<JsonNode> documents = render("full-values.yaml");
        JsonNode mailbox = object(documents, "Deployment", "mc-mailcluster-mailbox").path("spec").path("template").path("spec");
        JsonNode env = mailbox.path("containers").get(0).path("env");
        assertThat(envSecretKey(env, "MC_OPENSEARCH_USER")).isEqualTo("mail-creds/opensearch-username");
        assertThat(envSecretKey(env, "MC_OPENSEARCH_PASSWORD")).isEqualTo("mail-creds/opensearch-password");
        String ca = null;
        for (JsonNode variable : env) {
            if (variable.path("name").asText().equals("MC_OPENSEARCH_CA")) {
                ca = variable.path("value").asText();
            }
        }
        assertThat(ca).isEqualTo("/run/secrets/mailcluster/opensearch-ca/ca.pem");
        assertThat(mailbox.path("volumes").toString()).contains("\"secretName\":\"opensearch-root-ca\"").contains("\"key\":\"root-ca.pem\"");
        JsonNode mx = object(documents, "Deployment", "mc-mailcluster-mx").path("spec").path("template").path("spec");
        assertThat(mx.toString()).as("only the mailbox tier talks to OpenSearch").doesNotContain("MC_OPENSEARCH_").doesNotContain("opensearch-ca");

        assertThatThrownBy(() -> render("full-values.yaml", "backends.opensearch.url=http://opensearch.search.svc:9200"))
            .hasMessageContaining("need an https:// URL");
    }

    /**
     * RabbitMQ and Cassandra over TLS: every tier gets both CAs mounted from their Secrets and
     * MC_CASSANDRA_TLS; a CA without TLS is refused.
     */
    @Test
    void everyTierReachesRabbitMQAndCassandraOverTlsWithTheirCas() throws Exception {
        List<JsonNode> documents = render("full-values.yaml");
        for (String tier : List.of("mx", "submission", "mailbox")) {
            JsonNode pod = object(documents, "Deployment", "mc-mailcluster-" + tier).path("spec").path("template").path("spec");
            JsonNode env = pod.path("containers").get(0).path("env");
            assertThat(envValue(env, "MC_CASSANDRA_TLS")).as(tier).isEqualTo("true");
            assertThat(envValue(env, "MC_CASSANDRA_CA")).as(tier).isEqualTo("/run/secrets/mailcluster/cassandra-ca/ca.pem");
            assertThat(envValue(env, "MC_RABBITMQ_CA")).as(tier).isEqualTo("/run/secrets/mailcluster/rabbitmq-ca/ca.pem");
            assertThat(pod.path("volumes").toString()).as(tier)
                .contains("{\"name\":\"rabbitmq-ca\",\"secret\":{\"secretName\":\"rabbitmq-ca\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.pem\"}]}}")
                .contains("{\"name\":\"cassandra-ca\",\"secret\":{\"secretName\":\"cassandra-ca\",\"items\":[{\"key\":\"ca.pem\",\"path\":\"ca.pem\"}]}}");
            assertThat(pod.path("containers").get(0).path("volumeMounts").toString()).as(tier)
                .contains("\"mountPath\":\"/run/secrets/mailcluster/rabbitmq-ca\"").contains("\"mountPath\":\"/run/secrets/mailcluster/cassandra-ca\"");
        }
        assertThat(object(render("full-values.yaml", "backends.cassandra.tls.enabled=false", "backends.cassandra.tls.ca.secretName=",
                "backends.rabbitmq.ca.secretName="), "Deployment", "mc-mailcluster-mx").toString())
            .as("no TLS settings unless asked for").doesNotContain("MC_CASSANDRA_TLS").doesNotContain("MC_RABBITMQ_CA");

        assertThatThrownBy(() -> render("full-values.yaml", "backends.rabbitmq.uri=amqp://rabbitmq.mq.svc:5672",
                "backends.rabbitmq.managementUri=http://rabbitmq.mq.svc:15672"))
            .hasMessageContaining("backends.rabbitmq.ca is set but neither");
        assertThatThrownBy(() -> render("full-values.yaml", "backends.cassandra.tls.enabled=false"))
            .hasMessageContaining("backends.cassandra.tls.ca is set but backends.cassandra.tls.enabled is false");
    }

    /** Replicated backends: the RabbitMQ cluster's nodes, quorum queues and Cassandra's consistency levels reach every tier. */
    @Test
    void replicatedBackendSettingsReachTheNodes() throws Exception {
        JsonNode backends = object(render("full-values.yaml"), "ConfigMap", "mc-mailcluster-backends").path("data");
        assertThat(backends.path("MC_RABBITMQ_HOSTS").asText())
            .isEqualTo("rabbitmq-0.rabbitmq.mq.svc:5671,rabbitmq-1.rabbitmq.mq.svc:5671,rabbitmq-2.rabbitmq.mq.svc:5671");
        assertThat(backends.path("MC_RABBITMQ_QUORUM_QUEUES").asText()).isEqualTo("true");
        assertThat(backends.path("MC_RABBITMQ_QUORUM_REPLICAS").asText()).isEqualTo("3");
        assertThat(backends.path("MC_CASSANDRA_CONSISTENCY").asText()).isEqualTo("LOCAL_QUORUM");
        assertThat(backends.path("MC_CASSANDRA_SERIAL_CONSISTENCY").asText()).isEqualTo("LOCAL_SERIAL");
        assertThat(object(render("full-values.yaml", "backends.rabbitmq.quorumQueues.enabled=false"), "ConfigMap", "mc-mailcluster-backends")
            .path("data").has("MC_RABBITMQ_QUORUM_QUEUES")).as("classic queues unless asked").isFalse();
        assertThatThrownBy(() -> render("full-values.yaml", "backends.cassandra.consistency=ONE"))
            .as("a consistency that does not survive a lost node is refused").hasMessageContaining("consistency");
    }

    static String envValue(JsonNode env, String name) {
        for (JsonNode variable : env) {
            if (variable.path("name").asText().equals(name)) {
                return variable.path("value").asText();
            }
        }
        throw new AssertionError(name + " is not in the container's environment");
    }

    static String envSecretKey(JsonNode env, String name) {
        for (JsonNode variable : env) {
            if (variable.path("name").asText().equals(name)) {
                JsonNode ref = variable.path("valueFrom").path("secretKeyRef");
                return ref.path("name").asText() + "/" + ref.path("key").asText();
            }
        }
        throw new AssertionError(name + " is not in the container's environment");
    }

    /**
     * The monitoring objects: a ServiceMonitor on the webadmin port with the token from the
     * credentials Secret and the labels the rules use, the PrometheusRule carrying exactly the
     * shipped rule file, the dashboard ConfigMap exactly the shipped dashboard; none by default.
     */
    @Test
    void theMonitoringObjectsCarryTheShippedRulesAndDashboard() throws Exception {
        List<JsonNode> documents = render("full-values.yaml");
        JsonNode endpoint = object(documents, "ServiceMonitor", "mc-mailcluster-nodes").path("spec").path("endpoints").get(0);
        assertThat(endpoint.path("port").asText()).isEqualTo("webadmin");
        assertThat(endpoint.path("path").asText()).isEqualTo("/metrics");
        assertThat(endpoint.path("authorization").path("credentials").path("name").asText())
            .as("the Secret the nodes read their token from (full-values: credentials.existingSecret)").isEqualTo("mail-creds");
        assertThat(endpoint.path("authorization").path("credentials").path("key").asText()).isEqualTo("webadmin-token");
        assertThat(endpoint.path("relabelings").findValuesAsText("targetLabel")).containsExactly("tier", "node");

        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        JsonNode rules = yaml.readTree(CHART.resolve("files/monitoring/alerts.yaml").toFile());
        assertThat(object(documents, "PrometheusRule", "mc-mailcluster-alerts").path("spec")).isEqualTo(rules);
        assertThat(rules.path("groups").get(0).path("rules")).hasSizeGreaterThanOrEqualTo(7);

        String dashboard = object(documents, "ConfigMap", "mc-mailcluster-dashboard").path("data").path("mailcluster.json").asText();
        assertThat(new ObjectMapper().readTree(dashboard)).isEqualTo(new ObjectMapper().readTree(CHART.resolve("files/monitoring/dashboard.json").toFile()));

        List<String> off = new ArrayList<>();
        render("full-values.yaml", "monitoring.serviceMonitor.enabled=false", "monitoring.prometheusRule.enabled=false",
            "monitoring.grafanaDashboard.enabled=false")
            .forEach(d -> off.add(d.path("kind").asText() + "/" + d.path("metadata").path("name").asText()));
        assertThat(off).isNotEmpty().noneMatch(name -> name.startsWith("ServiceMonitor/") || name.startsWith("PrometheusRule/")
            || name.equals("ConfigMap/mc-mailcluster-dashboard"));
        for (String part : new String[] {"serviceMonitor", "prometheusRule", "grafanaDashboard"}) {
            assertThat(yaml.readTree(CHART.resolve("values.yaml").toFile()).path("monitoring").path(part).path("enabled").asBoolean())
                .as("monitoring." + part + ".enabled by default").isFalse();
        }
    }

    /** Default deny both ways: the egress rules name DNS, the release, the backends and the mail ports, nothing else. */
    @Test
    void theNetworkPolicyDeniesWhatItDoesNotName() throws Exception {
        List<JsonNode> documents = render("full-values.yaml", "networkPolicy.enabled=true", "webmail.enabled=true",
            "webmail.ca.secretName=mail-ca");
        for (String name : new String[] {"mx", "submission", "mailbox", "rspamd", "clamav", "webmail"}) {
            JsonNode policy = object(documents, "NetworkPolicy", "mc-mailcluster-" + name);
            List<String> types = new ArrayList<>();
            policy.path("spec").path("policyTypes").forEach(type -> types.add(type.asText()));
            assertThat(types).as(name).containsExactlyInAnyOrder("Ingress", "Egress");
            assertThat(policy.path("spec").path("egress").toString()).as(name + ": no rule opens everything")
                .doesNotContain("\"ports\":[]").doesNotContain("{}");
            assertThat(policy.path("spec").path("ingress").toString()).as(name + ": no rule opens everything")
                .doesNotContain("\"ports\":[]");
        }
        // every pod of the release is under one of them
        List<String> components = new ArrayList<>();
        documents.stream().filter(d -> d.path("kind").asText().equals("Deployment"))
            .forEach(d -> components.add(d.path("spec").path("selector").path("matchLabels").path("app.kubernetes.io/component").asText()));
        List<String> covered = new ArrayList<>();
        documents.stream().filter(d -> d.path("kind").asText().equals("NetworkPolicy"))
            .forEach(d -> covered.add(d.path("spec").path("podSelector").path("matchLabels").path("app.kubernetes.io/component").asText()));
        assertThat(covered).containsAll(components);

        assertThat(egressPorts(documents, "mx")).contains("53", "9042", "5672", "9200", "25", "11333", "3310").doesNotContain("22", "80", "443");
        assertThat(egressPorts(documents, "submission")).contains("25", "465", "587", "11333", "3310");
        assertThat(egressPorts(documents, "mailbox")).as("the mailbox tier reaches no Internet and no scanner")
            .contains("53", "9042", "5672", "9200").doesNotContain("25", "465", "587", "443", "11333", "3310");
        assertThat(egressPorts(documents, "clamav")).containsExactlyInAnyOrder("53", "53", "443");
        assertThat(egressPorts(documents, "webmail")).containsExactlyInAnyOrder("53", "53", "10143", "10587");

        // webadmin: the release's pods and the operators' namespace only
        JsonNode webadmin = ingressRule(documents, "mailbox", "8000");
        assertThat(webadmin.path("from").toString()).contains("\"kubernetes.io/metadata.name\":\"ops\"").contains("app.kubernetes.io/instance");
        assertThat(webadmin.path("from")).hasSize(2);
        // the scanners answer the SMTP tiers only
        JsonNode rspamd = ingressRule(documents, "rspamd", "11333");
        assertThat(rspamd.path("from").findValuesAsText("values").toString()).isNotEmpty();
        assertThat(rspamd.path("from").toString()).contains("mx-node", "submission-node").doesNotContain("mailbox-node");
        // JMAP only from the ingress controller (full-values' jmapFrom)
        assertThat(ingressRule(documents, "mailbox", "10080").path("from").toString()).contains("ingress-nginx");
        assertThat(ingressRule(documents, "mx", "10025").has("from")).as("SMTP open to all").isFalse();
    }

    static List<String> egressPorts(List<JsonNode> documents, String name) {
        List<String> ports = new ArrayList<>();
        object(documents, "NetworkPolicy", "mc-mailcluster-" + name).path("spec").path("egress")
            .forEach(rule -> rule.path("ports").forEach(port -> ports.add(port.path("port").asText())));
        return ports;
    }

    static JsonNode ingressRule(List<JsonNode> documents, String name, String port) {
        for (JsonNode rule : object(documents, "NetworkPolicy", "mc-mailcluster-" + name).path("spec").path("ingress")) {
            for (JsonNode p : rule.path("ports")) {
                if (p.path("port").asText().equals(port)) {
                    return rule;
                }
            }
        }
        throw new AssertionError("no ingress rule of " + name + " opens " + port);
    }

    static List<String> env(JsonNode deployment) {
        List<String> env = new ArrayList<>();
        deployment.path("spec").path("template").path("spec").path("containers").get(0).path("env")
            .forEach(variable -> env.add(variable.path("name").asText() + "=" + variable.path("value").asText()));
        return env;
    }

    @Test
    void theScannersRunAsTheirOwnDeploymentsAndTheSmtpTiersUseThem() throws Exception {
        List<JsonNode> documents = render("full-values.yaml");
        object(documents, "Deployment", "mc-mailcluster-rspamd");
        object(documents, "Deployment", "mc-mailcluster-clamav");
        assertThat(object(documents, "Service", "mc-mailcluster-rspamd").path("spec").path("ports").get(0).path("port").asInt()).isEqualTo(11333);
        assertThat(object(documents, "Service", "mc-mailcluster-clamav").path("spec").path("ports").get(0).path("port").asInt()).isEqualTo(3310);
        for (String tier : List.of("mx", "submission")) {
            assertThat(env(object(documents, "Deployment", "mc-mailcluster-" + tier)))
                .contains("MC_RSPAMD_URL=http://mc-mailcluster-rspamd:11333", "MC_CLAMAV_ADDRESS=mc-mailcluster-clamav:3310",
                    "MC_RSPAMD_FAIL_OPEN=false", "MC_CLAMAV_FAIL_OPEN=false");
        }
        // The project's policy, from the same files the local cluster's rspamd reads.
        JsonNode policy = object(documents, "ConfigMap", "mc-mailcluster-rspamd-policy").path("data");
        assertThat(policy.path("actions.conf").asText()).contains("reject = 15;").contains("add_header = 6;");
        assertThat(policy.path("add-header-test.map").asText()).contains("MAILCLUSTER-TEST-ADD-HEADER");
        List<String> mounts = new ArrayList<>();
        object(documents, "Deployment", "mc-mailcluster-rspamd").path("spec").path("template").path("spec").path("containers").get(0)
            .path("volumeMounts").forEach(mount -> mounts.add(mount.path("mountPath").asText()));
        assertThat(mounts).contains("/etc/rspamd/local.d/actions.conf", "/etc/rspamd/add-header-test.map");
    }

    @Test
    void aScannerRunElsewhereIsUsedByItsAddress() throws Exception {
        List<JsonNode> documents = render("full-values.yaml", "scanners.clamav.enabled=false", "scanners.clamav.address=clamd.example.org:3310");
        assertThat(documents).noneMatch(d -> d.path("metadata").path("name").asText().equals("mc-mailcluster-clamav"));
        assertThat(env(object(documents, "Deployment", "mc-mailcluster-mx"))).contains("MC_CLAMAV_ADDRESS=clamd.example.org:3310");
    }
}
