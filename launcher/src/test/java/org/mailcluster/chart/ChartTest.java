package org.mailcluster.chart;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.mailcluster.testing.LocalCluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;

/**
 * The Helm chart as Helm itself renders it (helm-java: Helm's Go library, no cluster needed):
 * what the values promise is in the manifests.
 */
class ChartTest {
    static final Path CHART = LocalCluster.locate().root().resolve("helm/mailcluster");

    static List<JsonNode> render(String valuesFile, String... sets) throws Exception {
        TemplateCommand template = new Helm(CHART).template().withName("mc").withNamespace("mail").withKubeVersion("1.30.0")
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
            "MC_LIMIT_MESSAGES_PER_HOUR=100", "MC_LIMIT_RECIPIENTS_PER_MESSAGE=20");
    }
}
