package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * The routing table as an operator uses it: routes written through one node's webadmin, mail
 * sent to any MX, and what arrives where. The hosts mail is relayed to are Postfix's smtp-sink
 * (a real SMTP/LMTP server) on loopback addresses.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MxRoutingTest {
    static final String SENDER = "sender@outside.test";

    ClusterEndpoints cluster;
    WebAdmin mx1;

    @BeforeAll
    void setUp(LocalCluster launcher) {
        cluster = RoutingShape.ensure(launcher);
        mx1 = RoutingShape.webAdmin(cluster, "mx1");
    }

    static String uniqueDomain(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8) + ".test";
    }

    void putRoute(String path, String json) {
        HttpResponse<String> response = mx1.send("PUT", path, json);
        assertThat(response.statusCode()).as("PUT " + path + " " + json + " -> " + response.body()).isEqualTo(204);
    }

    /**
     * Waits until every primary MX accepts RCPT for {@code recipient} (the route reached it);
     * returns how long that took after the route was written.
     */
    Duration awaitAcceptedByEveryMx(String recipient, long writtenAt) throws Exception {
        for (InetSocketAddress mx : cluster.mx()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            int code = 0;
            while (System.nanoTime() < deadline) {
                code = rcptCode(mx, SENDER, recipient);
                if (code == 250) {
                    break;
                }
                Thread.sleep(200);
            }
            assertThat(code).as("RCPT " + recipient + " on " + mx + " once the route is written").isEqualTo(250);
        }
        return Duration.ofNanos(System.nanoTime() - writtenAt);
    }

    static int rcptCode(InetSocketAddress mx, String sender, String recipient) throws Exception {
        try (Smtp smtp = Smtp.connect(mx)) {
            smtp.ehlo("client.test");
            smtp.mailFrom(sender);
            return smtp.rcptTo(recipient);
        }
    }

    static List<String> awaitReceived(RemoteMx host, String marker, int copies, Duration patience) throws Exception {
        long deadline = System.nanoTime() + patience.toNanos();
        List<String> received = List.of();
        while (System.nanoTime() < deadline) {
            received = host.received().stream().filter(m -> m.contains(marker)).toList();
            if (received.size() >= copies) {
                break;
            }
            Thread.sleep(300);
        }
        Thread.sleep(2000);
        return host.received().stream().filter(m -> m.contains(marker)).toList();
    }

    @Test
    void aDomainRoutedToAnMxStyleNameIsRelayedThereWithItsEnvelope() throws Exception {
        String domain = uniqueDomain("relayed");
        String bob = "bob@" + domain;
        String carol = "carol@" + domain;
        assertThat(rcptCode(cluster.mx().get(1), SENDER, bob)).as("RCPT before the route exists (relaying)").isEqualTo(550);

        long writtenAt = System.nanoTime();
        // "remote.test" is a name with an MX record in the cluster's DNS: its MX host gets the mail.
        putRoute("/routes/domains/" + domain, "{\"transport\":\"smtp\",\"host\":\"" + cluster.remoteDomain() + "\"}");
        Duration reachedEveryMx = awaitAcceptedByEveryMx(bob, writtenAt);
        System.out.printf("MxRoutingTest: a route written on mx1 was accepted by every MX after %d ms%n", reachedEveryMx.toMillis());

        try (RemoteMx host = RemoteMx.start(ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_REMOTE_MX")))) {
            String subject = "relayed " + UUID.randomUUID();
            try (Smtp smtp = Smtp.connect(cluster.mx().get(1))) {
                smtp.ehlo("client.test");
                assertThat(smtp.mailFrom(SENDER)).isEqualTo(250);
                assertThat(smtp.rcptTo(bob)).isEqualTo(250);
                assertThat(smtp.rcptTo(carol)).isEqualTo(250);
                assertThat(smtp.data(MailFlowTest.message(SENDER, bob, subject, "for the relay host"))).isEqualTo(250);
            }
            List<String> received = awaitReceived(host, subject, 1, Duration.ofSeconds(60));
            assertThat(received).as("copies at the route's host").hasSize(1);
            assertThat(received.get(0))
                .contains("X-Mail-Args: <" + SENDER + ">")
                .contains("X-Rcpt-Args: <" + bob + ">")
                .contains("X-Rcpt-Args: <" + carol + ">");
        } finally {
            mx1.send("DELETE", "/routes/domains/" + domain, null);
        }
    }

    @Test
    void aRelayHostAnswering4xxGetsTheMailLaterAndOnce() throws Exception {
        String domain = uniqueDomain("deferred");
        InetSocketAddress hostAddress = new InetSocketAddress("127.0.9.2", 2525);
        putRoute("/routes/domains/" + domain, "{\"transport\":\"smtp\",\"host\":\"127.0.9.2\",\"port\":2525}");
        String recipient = "dora@" + domain;
        awaitAcceptedByEveryMx(recipient, System.nanoTime());
        String subject = "later " + UUID.randomUUID();
        long waitingBefore = RabbitMqQueues.of(cluster).messagesIn("mailcluster-delay-relay-20s");
        try (RemoteMx busy = RemoteMx.start(hostAddress, "-r", "rcpt")) {
            assertThat(Smtp.send(cluster.mx().get(0), SENDER, recipient, MailFlowTest.message(SENDER, recipient, subject, "try again")))
                .isEqualTo(250);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            long waiting = waitingBefore;
            while (waiting <= waitingBefore && System.nanoTime() < deadline) {
                waiting = RabbitMqQueues.of(cluster).messagesIn("mailcluster-delay-relay-20s");
                Thread.sleep(200);
            }
            assertThat(waiting).as("mail waiting for its retry after the host's 4xx").isGreaterThan(waitingBefore);
            assertThat(busy.received()).as("messages a host answering 4xx to RCPT took").noneMatch(m -> m.contains(subject));
        }
        try (RemoteMx host = RemoteMx.start(hostAddress)) {
            List<String> received = awaitReceived(host, subject, 1, Duration.ofSeconds(90));
            assertThat(received).as("copies at the host once it takes mail again").hasSize(1);
            assertThat(received.get(0)).contains("X-Rcpt-Args: <" + recipient + ">");
        } finally {
            mx1.send("DELETE", "/routes/domains/" + domain, null);
        }
    }

    @Test
    void aRelayHostRefusingWith5xxGetsTheSenderADsn() throws Exception {
        String domain = uniqueDomain("refused");
        putRoute("/routes/domains/" + domain, "{\"transport\":\"smtp\",\"host\":\"127.0.9.3\",\"port\":2525}");
        String recipient = "erin@" + domain;
        awaitAcceptedByEveryMx(recipient, System.nanoTime());
        TestUser sender = TestUser.create(cluster, "dsn");
        String subject = "refused " + UUID.randomUUID();
        try (RemoteMx refusing = RemoteMx.start(new InetSocketAddress("127.0.9.3", 2525), "-f", "rcpt")) {
            assertThat(Smtp.send(cluster.mx().get(1), sender.address(), recipient,
                MailFlowTest.message(sender.address(), recipient, subject, "will bounce"))).isEqualTo(250);
            List<String> inbox = sender.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)),
                Duration.ofSeconds(90));
            List<String> dsns = inbox.stream().filter(m -> m.contains(subject)).toList();
            assertThat(dsns).as("DSNs in the sender's INBOX").hasSize(1);
            // smtp-sink's refusal; James's DSNBounce reports the server's whole reply as the status.
            assertThat(dsns.get(0)).contains("multipart/report").contains("Final-Recipient: rfc822; " + recipient)
                .contains("Action: failed").contains("Status: 500 5.3.0");
        } finally {
            mx1.send("DELETE", "/routes/domains/" + domain, null);
        }
    }

    @Test
    void anLmtpRouteDeliversToAnLmtpServer() throws Exception {
        String domain = uniqueDomain("lmtp");
        putRoute("/routes/domains/" + domain, "{\"transport\":\"lmtp\",\"host\":\"127.0.9.4\",\"port\":2424}");
        String recipient = "fay@" + domain;
        awaitAcceptedByEveryMx(recipient, System.nanoTime());
        String subject = "lmtp " + UUID.randomUUID();
        try (RemoteMx lmtp = RemoteMx.start(new InetSocketAddress("127.0.9.4", 2424), "-L")) {
            assertThat(Smtp.send(cluster.mx().get(0), SENDER, recipient, MailFlowTest.message(SENDER, recipient, subject, "over LMTP")))
                .isEqualTo(250);
            List<String> received = awaitReceived(lmtp, subject, 1, Duration.ofSeconds(60));
            assertThat(received).hasSize(1);
            assertThat(received.get(0)).contains("X-Client-Proto: LMTP").contains("X-Rcpt-Args: <" + recipient + ">");
        } finally {
            mx1.send("DELETE", "/routes/domains/" + domain, null);
        }
    }

    @Test
    void anAddressRouteWinsOverItsDomainsCatchAllWhichKeepsTheOriginalRecipient() throws Exception {
        String domain = uniqueDomain("catchall");
        TestUser catcher = TestUser.create(cluster, "catcher");
        putRoute("/routes/domains/" + domain,
            "{\"transport\":\"catchall\",\"mailbox\":\"" + catcher.address() + "\",\"recipients\":[\"xavier\",\"yves\",\"special\"]}");
        String special = "special@" + domain;
        putRoute("/routes/addresses/" + special, "{\"transport\":\"smtp\",\"host\":\"127.0.9.5\",\"port\":2525}");
        awaitAcceptedByEveryMx("xavier@" + domain, System.nanoTime());
        awaitAcceptedByEveryMx(special, System.nanoTime());
        assertThat(rcptCode(cluster.mx().get(0), SENDER, "zoe@" + domain)).as("RCPT of a local part the route does not list")
            .isEqualTo(550);

        String subject = "caught " + UUID.randomUUID();
        try (RemoteMx host = RemoteMx.start(new InetSocketAddress("127.0.9.5", 2525))) {
            try (Smtp smtp = Smtp.connect(cluster.mx().get(0))) {
                smtp.ehlo("client.test");
                assertThat(smtp.mailFrom(SENDER)).isEqualTo(250);
                assertThat(smtp.rcptTo("xavier@" + domain)).isEqualTo(250);
                assertThat(smtp.rcptTo("Yves@" + domain)).isEqualTo(250);
                assertThat(smtp.rcptTo(special)).isEqualTo(250);
                assertThat(smtp.data(MailFlowTest.message(SENDER, "xavier@" + domain, subject, "to three"))).isEqualTo(250);
            }
            List<String> caught = catcher.inbox(cluster).awaitMessages(
                all -> all.stream().filter(m -> m.contains(subject)).count() >= 2, Duration.ofSeconds(60));
            Thread.sleep(2000);
            caught = catcher.inbox(cluster).messages().stream().filter(m -> m.contains(subject)).toList();
            assertThat(caught).as("copies in the catch-all mailbox (one per original recipient)").hasSize(2);
            assertThat(caught).anyMatch(m -> m.contains("X-Original-To: xavier@" + domain));
            assertThat(caught).anyMatch(m -> m.contains("X-Original-To: Yves@" + domain));
            assertThat(awaitReceived(host, subject, 1, Duration.ofSeconds(60)))
                .as("the address route's copy at its host").singleElement().asString()
                .contains("X-Rcpt-Args: <" + special + ">");
        } finally {
            mx1.send("DELETE", "/routes/addresses/" + special, null);
            mx1.send("DELETE", "/routes/domains/" + domain, null);
        }
    }

    @Test
    void badRoutesAreRefusedNamingTheFieldAndChangeNothing() throws Exception {
        String domain = uniqueDomain("kept");
        String good = "{\"transport\":\"smtp\",\"host\":\"relay.example\",\"port\":25}";
        putRoute("/routes/domains/" + domain, good);
        TestUser user = TestUser.create(cluster, "routed");
        String[][] refused = {
            {"/routes/domains/" + domain, "{\"transport\":\"pigeon\"}", "transport"},
            {"/routes/domains/" + domain, "{\"transport\":\"smtp\"}", "host"},
            {"/routes/domains/" + domain, "{\"transport\":\"smtp\",\"host\":\"relay.example\",\"port\":70000}", "port"},
            {"/routes/domains/" + domain, "{\"transport\":\"smtp\",\"host\":\"relay.example\",\"hots\":1}", "hots"},
            {"/routes/domains/" + domain, "{\"transport\":\"catchall\",\"mailbox\":\"nobody-" + UUID.randomUUID() + "@" + cluster.domain() + "\"}", "mailbox"},
            {"/routes/domains/" + domain, "{\"transport\":\"mailbox\",\"tier\":\"eu\"}", "domain"},
            {"/routes/domains/" + domain, "{\"transport\":", "JSON"},
            {"/routes/domains/" + cluster.domain(), "{\"transport\":\"mailbox\",\"tier\":\"nowhere\"}", "tier"},
            {"/routes/domains/not_a_domain", good, "domain"},
            {"/routes/addresses/not-an-address", good, "address"},
            {"/routes/addresses/" + user.address(), "{\"transport\":\"smtp\",\"host\":\"a.test\",\"recipients\":[\"x\"]}", "recipients"},
        };
        for (String[] request : refused) {
            HttpResponse<String> response = mx1.send("PUT", request[0], request[1]);
            assertThat(response.statusCode()).as("PUT " + request[0] + " " + request[1] + " -> " + response.body()).isEqualTo(400);
            assertThat(response.body()).as("the message of PUT " + request[1]).contains(request[2]);
        }
        assertThat(mx1.get("/routes/domains/" + domain)).as("the route after the refused writes").isEqualTo(good);
        assertThat(mx1.send("GET", "/routes/domains/not_a_domain", null).statusCode()).isEqualTo(400);
        assertThat(mx1.send("GET", "/routes/addresses/" + user.address(), null).statusCode()).isEqualTo(404);
        assertThat(mx1.get("/routes/domains")).contains("\"" + domain + "\":" + good).doesNotContain("nowhere");
        mx1.send("DELETE", "/routes/domains/" + domain, null);
        assertThat(mx1.send("GET", "/routes/domains/" + domain, null).statusCode()).isEqualTo(404);
    }
}
