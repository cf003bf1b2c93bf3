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
        List<MXRecord> all = Arrays.stream(answers).map(MXRecord.class::cast).toList();
        int primary = all.stream().mapToInt(MXRecord::getPriority).min().orElseThrow();
        List<MXRecord> mx = all.stream().filter(record -> record.getPriority() == primary).toList();
        assertThat(mx).as("MX records at the lowest preference").hasSize(mxNodes.size());
        // A backup MX (./mailcluster up --backup-mx) ranks below every primary.
        List<MXRecord> backups = all.stream().filter(record -> record.getPriority() != primary).toList();
        assertThat(backups).hasSize(cluster.get("MAILCLUSTER_BACKUP_MX").isEmpty() ? 0 : 1);
        assertThat(backups).allMatch(record -> record.getPriority() > primary);

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
    void clamdFindsTheEicarTestFileAndPassesCleanData(ClusterEndpoints cluster) throws Exception {
        InetSocketAddress clamd = ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_CLAMAV"));
        String eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
        assertThat(clamdScan(clamd, eicar.getBytes(StandardCharsets.US_ASCII))).startsWith("stream: Eicar-Test-Signature").endsWith("FOUND");
        assertThat(clamdScan(clamd, "nothing to see".getBytes(StandardCharsets.US_ASCII))).isEqualTo("stream: OK");
    }

    @Test
    void rspamdRejectsGtubeAndLetsAnOrdinaryMessageThrough(ClusterEndpoints cluster) throws Exception {
        URI rspamd = URI.create(cluster.get("MAILCLUSTER_RSPAMD"));
        // HTTP/1.1: rspamd reads a POST that asks to upgrade to HTTP/2 as an empty message.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String message = "From: <a@outside.test>\r\nTo: <b@mail.test>\r\nSubject: hello\r\nMessage-ID: <1@outside.test>\r\n"
            + "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n";
        HttpResponse<String> gtube = http.send(HttpRequest.newBuilder(rspamd.resolve("/checkv2"))
            .POST(HttpRequest.BodyPublishers.ofString(message + "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(gtube.body()).contains("\"action\":\"reject\"");
        HttpResponse<String> ordinary = http.send(HttpRequest.newBuilder(rspamd.resolve("/checkv2"))
            .POST(HttpRequest.BodyPublishers.ofString(message + "see you tomorrow\r\n"))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ordinary.body()).contains("\"action\":\"no action\"");
    }

    /** clamd's INSTREAM: the data in one chunk, then its answer. */
    static String clamdScan(InetSocketAddress clamd, byte[] data) throws Exception {
        try (java.net.Socket socket = new java.net.Socket(clamd.getAddress(), clamd.getPort())) {
            java.io.DataOutputStream out = new java.io.DataOutputStream(socket.getOutputStream());
            out.write("zINSTREAM\0".getBytes(StandardCharsets.US_ASCII));
            out.writeInt(data.length);
            out.write(data);
            out.writeInt(0);
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).replace("\0", "").trim();
        }
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
