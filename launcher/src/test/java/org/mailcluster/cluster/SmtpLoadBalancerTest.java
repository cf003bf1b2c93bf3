package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * The outbound load balancer (haproxy, {@code MAILCLUSTER_SMTP_LB}) in front of the submission
 * nodes, as a mail client uses it: mail is spread over both nodes, each node sees the client's
 * own address (PROXY protocol), the AUTH rules hold, and a stopped node leaves the rotation
 * without a client noticing.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SmtpLoadBalancerTest {
    /** A client address of its own, that neither haproxy nor any node uses. */
    static final String CLIENT = "127.0.8.8";
    static final Pattern RECEIVED_BY = Pattern.compile("Received: from [^\\r\\n]*\\(\\[([0-9.]+)\\]\\)\\s+by (submission\\d+)\\.");
    static final Duration STEP = Duration.ofMinutes(5);

    LocalCluster launcher;
    ClusterEndpoints cluster;
    TestUser alice;
    TestUser bob;
    InetSocketAddress balancer;

    @BeforeAll
    void createUsers(LocalCluster launcher, ClusterEndpoints cluster) {
        this.launcher = launcher;
        this.cluster = cluster;
        alice = TestUser.create(cluster, "alice");
        bob = TestUser.create(cluster, "bob");
        balancer = ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_SMTP_LB"));
    }

    /** One message from alice to bob through {@code server}: EHLO, STARTTLS, AUTH, as a mail client. */
    void submit(InetSocketAddress server, String subject, int i) throws Exception {
        try (Smtp smtp = Smtp.connectFrom(server, InetAddress.getByName(CLIENT))) {
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.startTls()).as(smtp.lastReply()).isEqualTo(220);
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.authPlain(alice.address(), alice.password())).as(smtp.lastReply()).isEqualTo(235);
            assertThat(smtp.mailFrom(alice.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(bob.address())).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message(alice.address(), bob.address(), subject, "through the balancer, " + i)))
                .as(smtp.lastReply()).isEqualTo(250);
        }
    }

    /** Sends {@code count} messages through the balancer and returns, per submission node, how many it took. */
    Map<String, Integer> sendAndCountByNode(String subject, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            submit(balancer, subject, i);
        }
        List<String> delivered = bob.inbox(cluster)
            .awaitMessages(all -> all.stream().filter(m -> m.contains(subject)).count() >= count, MailFlowTest.DELIVERY)
            .stream().filter(m -> m.contains(subject)).toList();
        assertThat(delivered).as("messages through the balancer delivered").hasSize(count);
        Map<String, Integer> byNode = new TreeMap<>();
        for (String message : delivered) {
            Matcher received = RECEIVED_BY.matcher(message);
            assertThat(received.find()).as("a Received header of a submission node in:\n" + message).isTrue();
            assertThat(received.group(1)).as("the client address the node saw").isEqualTo(CLIENT);
            byNode.merge(received.group(2), 1, Integer::sum);
        }
        return byNode;
    }

    @Test
    void mailThroughTheBalancerIsSpreadOverTheNodesWhichSeeTheClientsAddress() throws Exception {
        Map<String, Integer> byNode = sendAndCountByNode("balanced " + UUID.randomUUID(), 40);
        System.out.println("SmtpLoadBalancerTest: 40 messages through the balancer, by node: " + byNode);
        assertThat(byNode).containsOnlyKeys("submission1", "submission2");
    }

    @Test
    void aProxyListenerRefusesAClientThatSendsNoProxyHeader() throws Exception {
        String node = cluster.nodes().get("submission1");
        // The node's direct listener answers EHLO: the same exchange can succeed.
        assertThat(ehloReply(new InetSocketAddress(node, 587))).startsWith("250");
        // Its PROXY listener does not, without the header haproxy sends first.
        String reply = ehloReply(new InetSocketAddress(node, 11587));
        assertThat(reply).as("answer to EHLO on the PROXY listener without a PROXY header").doesNotStartWith("250");
    }

    /** The first line of the answer to EHLO, after the greeting; "closed" if the server hung up. */
    static String ehloReply(InetSocketAddress server) throws Exception {
        try (Socket socket = new Socket()) {
            socket.connect(server, 5000);
            socket.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = socket.getOutputStream();
            in.readLine(); // greeting (the node greets before it reads the PROXY header)
            out.write("EHLO direct.test\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            try {
                String line = in.readLine();
                return line == null ? "closed" : line;
            } catch (java.net.SocketException reset) {
                return "closed (" + reset.getMessage() + ")";
            }
        }
    }

    @Test
    void authRulesHoldThroughTheBalancer() throws Exception {
        try (Smtp smtp = Smtp.connectFrom(balancer, InetAddress.getByName(CLIENT))) {
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.authPlain(alice.address(), alice.password())).as("AUTH before STARTTLS").isBetween(500, 599);
            assertThat(smtp.startTls()).isEqualTo(220);
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.mailFrom(alice.address())).as("MAIL without AUTH").isBetween(500, 599);
        }
        // Implicit TLS on 465 through the balancer, TLS ending at the node.
        String subject = "implicit tls via balancer " + UUID.randomUUID();
        try (Smtp smtp = Smtp.connect(ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_SMTP_LB_TLS")), true)) {
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.authPlain(alice.address(), alice.password())).as(smtp.lastReply()).isEqualTo(235);
            assertThat(smtp.mailFrom(alice.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(bob.address())).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message(alice.address(), bob.address(), subject, "over 465"))).isEqualTo(250);
        }
        assertThat(bob.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY))
            .anyMatch(m -> m.contains(subject));
    }

    @Test
    void aStoppedNodeLeavesTheRotationAndTakesItsShareAgainOnceStarted() throws Exception {
        launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "stop-one", "submission1");
        Map<String, Integer> whileStopped;
        try {
            // Sent at once: the balancer finds out by its health checks or by a refused
            // connection, which it retries on the other node; the client sees neither.
            whileStopped = sendAndCountByNode("one node stopped " + UUID.randomUUID(), 10);
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "start-one", "submission1");
        }
        assertThat(whileStopped).containsOnlyKeys("submission2");

        // Two health checks a second apart bring it back into the rotation.
        String subject = "node back " + UUID.randomUUID();
        Map<String, Integer> after = Map.of();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (int round = 0; !after.containsKey("submission1") && System.nanoTime() < deadline; round++) {
            Thread.sleep(1000);
            after = sendAndCountByNode(subject + " round " + round + " end", 4);
        }
        assertThat(after).as("the restarted node takes mail again").containsKey("submission1");
    }
}
