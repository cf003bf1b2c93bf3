package org.mailcluster.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import com.datastax.oss.driver.api.core.CqlSession;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;

/** Each backend that ./mailcluster runs answers a real client. */
@ExtendWith(MailClusterExtension.class)
class BackendServicesTest {

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void rabbitmqRoutesAMessageThroughADurableQueue(ClusterEndpoints cluster) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(cluster.rabbitmq());
        try (Connection connection = factory.newConnection(); Channel channel = connection.createChannel()) {
            String queue = "launcher-test-" + UUID.randomUUID();
            channel.queueDeclare(queue, true, false, true, null);
            channel.basicPublish("", queue, null, "hello".getBytes(StandardCharsets.UTF_8));
            GetResponse response = null;
            for (int i = 0; i < 50 && response == null; i++) {
                response = channel.basicGet(queue, true);
                if (response == null) {
                    Thread.sleep(100);
                }
            }
            assertThat(response).as("message read back from " + queue).isNotNull();
            assertThat(new String(response.getBody(), StandardCharsets.UTF_8)).isEqualTo("hello");
        }
    }

    @Test
    void cassandraAnswersCql(ClusterEndpoints cluster) {
        try (CqlSession session = cassandra(cluster)) {
            String version = session.execute("SELECT release_version FROM system.local").one().getString(0);
            assertThat(version).startsWith("5.0.");
        }
    }

    @Test
    void opensearchIsHealthyAndHasTheMailTokenizer(ClusterEndpoints cluster) throws Exception {
        HttpResponse<String> health = get(cluster.opensearch().resolve("/_cluster/health"));
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).containsAnyOf("\"status\":\"green\"", "\"status\":\"yellow\"");

        // Mail search needs the email/URL-aware tokenizer of the analysis-common module.
        HttpResponse<String> analyzed = http.send(HttpRequest.newBuilder(cluster.opensearch().resolve("/_analyze"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                    "{\"tokenizer\":\"uax_url_email\",\"text\":\"write to bob@example.com now\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(analyzed.statusCode()).isEqualTo(200);
        assertThat(analyzed.body()).contains("\"token\":\"bob@example.com\"");
    }

    @Test
    void dnsServesEqualPreferenceMxRecordsAndNodeAddresses(ClusterEndpoints cluster) throws Exception {
        List<InetSocketAddress> mxNodes = cluster.mx();
        Record[] answers = lookup(cluster, cluster.domain(), Type.MX);
        assertThat(answers).hasSize(mxNodes.size());
        List<MXRecord> mx = Arrays.stream(answers).map(MXRecord.class::cast).toList();
        assertThat(mx).extracting(MXRecord::getPriority).containsOnly(mx.get(0).getPriority());

        // Each MX host resolves to one of the MX nodes' addresses, and together they cover all nodes.
        List<String> resolved = mx.stream()
            .map(record -> lookup(cluster, record.getTarget().toString(), Type.A))
            .map(a -> ((ARecord) a[0]).getAddress().getHostAddress())
            .toList();
        assertThat(resolved).containsExactlyInAnyOrderElementsOf(
            mxNodes.stream().map(node -> node.getAddress().getHostAddress()).toList());

        Record[] imap = lookup(cluster, "imap." + cluster.domain(), Type.A);
        assertThat(((ARecord) imap[0]).getAddress()).isEqualTo(InetAddress.getByName(cluster.imap().getHostString()));
    }

    @Test
    void dnsAnswersNothingItDoesNotServe(ClusterEndpoints cluster) throws Exception {
        Lookup lookup = new Lookup("example.org", Type.MX);
        lookup.setResolver(resolver(cluster));
        lookup.setCache(null);
        lookup.run();
        assertThat(lookup.getAnswers()).isNull();
    }

    static CqlSession cassandra(ClusterEndpoints cluster) {
        return CqlSession.builder()
            .addContactPoint(cluster.cassandra())
            .withLocalDatacenter("datacenter1")
            .build();
    }

    private static Record[] lookup(ClusterEndpoints cluster, String name, int type) {
        try {
            Lookup lookup = new Lookup(name, type);
            lookup.setResolver(resolver(cluster));
            lookup.setCache(null);
            Record[] answers = lookup.run();
            assertThat(answers).as("answers of " + cluster.dns() + " for " + name + " " + Type.string(type)
                + ": " + lookup.getErrorString()).isNotNull();
            return answers;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static SimpleResolver resolver(ClusterEndpoints cluster) throws Exception {
        SimpleResolver resolver = new SimpleResolver(cluster.dns());
        resolver.setTimeout(java.time.Duration.ofSeconds(3));
        return resolver;
    }

    private HttpResponse<String> get(URI uri) throws Exception {
        return http.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
