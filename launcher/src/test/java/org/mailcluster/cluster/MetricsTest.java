package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

/**
 * Every node's metrics at webadmin's {@code /metrics} in Prometheus's text format, as
 * Prometheus scrapes them: only with the webadmin secret, and with the MX's scan verdicts
 * counted as mail is scanned.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsTest {

    ClusterEndpoints cluster;
    TestUser alice;

    @BeforeAll
    void createUser(ClusterEndpoints cluster) {
        this.cluster = cluster;
        alice = TestUser.create(cluster, "alice");
    }

    String metrics(String node) {
        HttpResponse<String> response = new WebAdmin(cluster.webadmin(node), cluster.webadminAuth()).send("GET", "/metrics", null);
        assertThat(response.statusCode()).as(node + ": " + response.body()).isEqualTo(200);
        return response.body();
    }

    /** A counter's value in Prometheus's text format, 0 when it was never incremented. */
    static double value(String metrics, String name) {
        Matcher matcher = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*\\})? ([0-9.Ee+-]+)$").matcher(metrics);
        return matcher.find() ? Double.parseDouble(matcher.group(1)) : 0;
    }

    /** A series' value (name with its labels, as Prometheus's text format writes them), or null when absent. */
    static Double series(String metrics, String nameAndLabels) {
        Matcher matcher = Pattern.compile("(?m)^" + Pattern.quote(nameAndLabels) + " ([0-9.Ee+-]+)$").matcher(metrics);
        return matcher.find() ? Double.valueOf(matcher.group(1)) : null;
    }

    /**
     * A labelled series summed over every node of a tier ("submission": submission1, submission2),
     * 0 where a node lacks it; {@code label} is one name="value" pair the series must carry.
     */
    static double tierTotal(ClusterEndpoints cluster, String tier, String name, String label) {
        double total = 0;
        for (String node : cluster.nodes().keySet()) {
            if (node.matches(tier + "\\d+")) {
                String metrics = new WebAdmin(cluster.webadmin(node), cluster.webadminAuth()).send("GET", "/metrics", null).body();
                Matcher matcher = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{[^}]*" + Pattern.quote(label) + "[^}]*\\} ([0-9.Ee+-]+)$")
                    .matcher(metrics);
                total += matcher.find() ? Double.parseDouble(matcher.group(1)) : 0;
            }
        }
        return total;
    }

    static String queueGauge(String name, String queue) {
        return name + "{queue=\"" + queue + "\",}";
    }

    @Test
    void everyNodeShowsTheMailQueuesDepthsFromRabbitMq() throws Exception {
        for (String node : cluster.nodes().keySet()) {
            String metrics = metrics(node);
            assertThat(series(metrics, "mailcluster_queue_metrics_up")).as(node + ": management API answered").isEqualTo(1.0);
            // the backend clients' error counters, there from the start
            for (String error : List.of("backend=\"cassandra\",kind=\"read-timeouts\"", "backend=\"cassandra\",kind=\"client-timeouts\"",
                    "backend=\"rabbitmq\",kind=\"connection-lost\"")) {
                assertThat(series(metrics, "mailcluster_backend_errors_total{" + error + ",}")).as(node + " " + error).isNotNull();
            }
            assertThat(series(metrics, "mailcluster_mail_failed_total{processor=\"error\",}")).as(node + " error repository counter").isNotNull();
            for (String queue : new String[] {"mx-spool", "delivery", "outgoing", "submission-spool"}) {
                assertThat(series(metrics, queueGauge("mailcluster_queue_messages", queue))).as(node + " " + queue).isNotNull();
                assertThat(series(metrics, queueGauge("mailcluster_queue_dead_letters", queue))).as(node + " dead letters of " + queue).isNotNull();
            }
            // RabbitMQ's consumer counts lag by a few seconds (and are cached 5 s): a mailbox node
            // an earlier test restarted may not be counted yet
            Double consumers = series(metrics, queueGauge("mailcluster_queue_consumers", "delivery"));
            for (long end = System.nanoTime() + 30_000_000_000L; (consumers == null || consumers < 1) && System.nanoTime() < end; ) {
                Thread.sleep(2000);
                consumers = series(metrics(node), queueGauge("mailcluster_queue_consumers", "delivery"));
            }
            assertThat(consumers).as(node + ": the mailbox tier reads its delivery queue").isGreaterThanOrEqualTo(1.0);
        }
    }

    @Test
    void everyNodeServesItsMetricsOnlyWithTheWebadminSecret() throws Exception {
        for (Map.Entry<String, String> node : cluster.nodes().entrySet()) {
            HttpResponse<String> anonymous = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://" + node.getValue() + ":8000/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(anonymous.statusCode()).as(node.getKey() + " without the secret").isEqualTo(401);
            assertThat(metrics(node.getKey())).as(node.getKey()).contains("# TYPE jvm_memory_heap_used gauge");
        }
    }

    @Test
    void theMxCountsItsScanVerdicts() throws Exception {
        InetSocketAddress mx1 = new InetSocketAddress(cluster.nodes().get("mx1"), 25);
        String before = metrics("mx1");
        String subject = "counted " + UUID.randomUUID();
        assertThat(Smtp.send(mx1, "sender@outside.test", alice.address(),
            MailFlowTest.message("sender@outside.test", alice.address(), subject, "a clean message"))).isEqualTo(250);
        assertThat(alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY))
            .anyMatch(m -> m.contains(subject));
        assertThat(Smtp.send(mx1, "sender@outside.test", alice.address(),
            MailFlowTest.message("sender@outside.test", alice.address(), "virus " + subject, ScanningTest.EICAR))).isEqualTo(554);

        String after = metrics("mx1");
        assertThat(value(after, "mailcluster_scan_accept_total") - value(before, "mailcluster_scan_accept_total")).isEqualTo(1);
        assertThat(value(after, "mailcluster_scan_refuse_virus_total") - value(before, "mailcluster_scan_refuse_virus_total")).isEqualTo(1);
        assertThat(value(after, "mailcluster_scan_time_count") - value(before, "mailcluster_scan_time_count")).isEqualTo(2);
        assertThat(after).contains("mailcluster_scan_time{quantile=\"0.99\",}");
        // the answers by class: one 354 per DATA, the virus's 554 the only 5xx, 250s for the rest
        assertThat(value(after, "mailcluster_smtp_replies_3xx_total") - value(before, "mailcluster_smtp_replies_3xx_total")).isEqualTo(2);
        assertThat(value(after, "mailcluster_smtp_replies_5xx_total") - value(before, "mailcluster_smtp_replies_5xx_total")).isEqualTo(1);
        assertThat(value(after, "mailcluster_smtp_replies_4xx_total") - value(before, "mailcluster_smtp_replies_4xx_total")).isZero();
        assertThat(value(after, "mailcluster_smtp_replies_2xx_total") - value(before, "mailcluster_smtp_replies_2xx_total"))
            .as("EHLO, MAIL, RCPT twice, the clean message's end").isGreaterThanOrEqualTo(7);
    }
}
