package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * At most K connections at once from one submission node to one destination domain, K set
 * through webadmin. The remote is Postfix's smtp-sink answering DATA after 3 s ({@code -w 3}),
 * so deliveries overlap; the connections are counted from outside, by {@code ss}, per process.
 * With a limit of 4 the same traffic opens several connections at once from one node (the
 * check below can fail); with a limit of 1, never more than one, and everything still arrives.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DestinationConcurrencyLimitTest {
    static final Duration ARRIVAL = Duration.ofSeconds(120);
    static final Pattern PID = Pattern.compile("pid=(\\d+)");

    ClusterEndpoints cluster;
    WebAdmin webadmin;
    TestUser alice;
    InetSocketAddress remoteMxAddress;
    String remoteDomain;
    List<String> submissionNodes;

    @BeforeAll
    void start(ClusterEndpoints cluster) {
        this.cluster = cluster;
        webadmin = new WebAdmin(cluster);
        alice = TestUser.create(cluster, "alice");
        remoteMxAddress = ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_REMOTE_MX"));
        remoteDomain = cluster.remoteDomain();
        submissionNodes = cluster.nodes().keySet().stream().filter(name -> name.startsWith("submission")).toList();
        assertThat(submissionNodes).as("submission nodes").isNotEmpty();
    }

    @AfterAll
    void backToTheDefault() {
        webadmin.send("DELETE", "/limits/destinations/" + remoteDomain, null);
    }

    @Test
    void oneNodeOpensAtMostTheDomainsLimitOfConnectionsToIt() throws Exception {
        try (RemoteMx slow = RemoteMx.start(remoteMxAddress, "-w", "3")) {
            setLimit(4);
            int withFour = maxConnectionsPerNodeWhileDelivering(slow, 8);
            assertThat(withFour).as("connections at once from one node with a limit of 4 (proves deliveries overlap)")
                .isBetween(2, 4);

            setLimit(1);
            int withOne = maxConnectionsPerNodeWhileDelivering(slow, 6);
            assertThat(withOne).as("connections at once from one node with a limit of 1").isEqualTo(1);
        }
    }

    @Test
    void theLimitIsReadAndRefusedThroughWebadmin() throws Exception {
        String domain = "limits-" + UUID.randomUUID().toString().substring(0, 8) + ".example";
        JsonNode before = new ObjectMapper().readTree(webadmin.get("/limits/destinations/" + domain));
        assertThat(before.path("setFor").asText()).isEqualTo("default");
        assertThat(before.path("connections").asInt()).isEqualTo(20);

        for (Map.Entry<String, String> bad : Map.of(
                "{\"connections\": 0}", "connections must be a whole number",
                "{\"conections\": 2}", "unknown field conections",
                "{\"connections\": ", "the body is not JSON").entrySet()) {
            HttpResponse<String> refused = webadmin.send("PUT", "/limits/destinations/" + domain, bad.getKey());
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
            assertThat(refused.body()).contains(bad.getValue());
        }
        assertThat(webadmin.send("PUT", "/limits/destinations/bad..domain", "{\"connections\": 2}").statusCode()).isEqualTo(400);

        assertThat(webadmin.send("PUT", "/limits/destinations/" + domain, "{\"connections\": 2}").statusCode()).isEqualTo(204);
        JsonNode set = new ObjectMapper().readTree(webadmin.get("/limits/destinations/" + domain));
        assertThat(set.path("connections").asInt()).isEqualTo(2);
        assertThat(set.path("setFor").asText()).isEqualTo("domain");
        assertThat(new ObjectMapper().readTree(webadmin.get("/limits/destinations")).path("domains").path(domain).path("connections").asInt())
            .isEqualTo(2);

        assertThat(webadmin.send("DELETE", "/limits/destinations/" + domain, null).statusCode()).isEqualTo(204);
        assertThat(webadmin.send("DELETE", "/limits/destinations/" + domain, null).statusCode()).isEqualTo(404);
        assertThat(new ObjectMapper().readTree(webadmin.get("/limits/destinations/" + domain)).path("setFor").asText()).isEqualTo("default");
    }

    /** Sets the remote domain's limit and waits until every submission node applies it. */
    void setLimit(int connections) throws Exception {
        HttpResponse<String> set = webadmin.send("PUT", "/limits/destinations/" + remoteDomain, "{\"connections\": " + connections + "}");
        assertThat(set.statusCode()).as(set.body()).isEqualTo(204);
        for (String name : submissionNodes) {
            WebAdmin node = new WebAdmin(cluster.webadmin(name), cluster.webadminAuth());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (new ObjectMapper().readTree(node.get("/limits/destinations/" + remoteDomain)).path("connections").asInt() != connections) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(name + " did not apply a limit of " + connections + " within 30 s");
                }
                Thread.sleep(500);
            }
        }
    }

    /**
     * Submits {@code count} messages to the remote domain, one recipient each, and returns the
     * most connections one process had open to the remote MX at once until all arrived.
     */
    int maxConnectionsPerNodeWhileDelivering(RemoteMx remote, int count) throws Exception {
        String subject = "concurrency " + UUID.randomUUID();
        Map<String, Integer> maxByProcess = new ConcurrentHashMap<>();
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                connectionsByProcess().forEach((pid, open) -> maxByProcess.merge(pid, open, Math::max));
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "ss sampler");
        sampler.start();
        try {
            for (int i = 0; i < count; i++) {
                String to = "rcpt" + i + "@" + remoteDomain;
                try (Smtp smtp = Smtp.connect(cluster.submission())) {
                    assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
                    assertThat(smtp.startTls()).isEqualTo(220);
                    assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
                    assertThat(smtp.authPlain(alice.address(), alice.password())).as(smtp.lastReply()).isEqualTo(235);
                    assertThat(smtp.mailFrom(alice.address())).as(smtp.lastReply()).isEqualTo(250);
                    assertThat(smtp.rcptTo(to)).as(smtp.lastReply()).isEqualTo(250);
                    assertThat(smtp.data(MailFlowTest.message(alice.address(), to, subject, "message " + i))).as(smtp.lastReply()).isEqualTo(250);
                }
            }
            long deadline = System.nanoTime() + ARRIVAL.toNanos();
            long arrived = 0;
            while (arrived < count) {
                assertThat(System.nanoTime()).as("%d of %d messages at the remote MX within %s", arrived, count, ARRIVAL).isLessThan(deadline);
                Thread.sleep(500);
                arrived = remote.received().stream().filter(message -> message.contains(subject)).count();
            }
            Thread.sleep(500);
            assertThat(remote.received().stream().filter(message -> message.contains(subject)).count())
                .as("each message arrives once").isEqualTo(count);
        } finally {
            sampling.set(false);
            sampler.join();
        }
        assertThat(maxByProcess).as("connections to the remote MX seen by ss").isNotEmpty();
        return maxByProcess.values().stream().mapToInt(Integer::intValue).max().orElse(0);
    }

    /** Established connections to the remote MX, by the process that opened them. */
    Map<String, Integer> connectionsByProcess() {
        Map<String, Integer> byProcess = new HashMap<>();
        try {
            Process ss = new ProcessBuilder("ss", "-Htnp", "state", "established",
                "dst", remoteMxAddress.getAddress().getHostAddress() + ":" + remoteMxAddress.getPort())
                .redirectErrorStream(true).start();
            String output = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            ss.waitFor();
            for (String line : output.split("\n")) {
                Matcher pid = PID.matcher(line);
                if (pid.find()) {
                    byProcess.merge(pid.group(1), 1, Integer::sum);
                }
            }
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("ss (iproute2) could not be run", e);
        }
        return byProcess;
    }
}
