package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

/** Mail in through the MX tier, across the delivery queue, into Cassandra, read back over IMAP. */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MailFlowTest {

    static final Duration DELIVERY = Duration.ofSeconds(60);

    ClusterEndpoints cluster;
    WebAdmin webadmin;
    TestUser alice;

    @BeforeAll
    void createUser(ClusterEndpoints cluster) {
        this.cluster = cluster;
        this.webadmin = new WebAdmin(cluster);
        this.alice = TestUser.create(cluster, "alice");
    }

    static String message(String from, String to, String subject, String body) {
        return "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: " + subject + "\r\n"
            + "Message-ID: <" + UUID.randomUUID() + "@client.test>\r\n"
            + "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";
    }

    @Test
    void aMessageToEachMxArrivesInTheInboxIntact() throws Exception {
        Mailbox inbox = alice.inbox(cluster);
        List<InetSocketAddress> mxNodes = cluster.mx();
        for (int i = 0; i < mxNodes.size(); i++) {
            String subject = "via mx " + i + " " + UUID.randomUUID();
            int code = Smtp.send(mxNodes.get(i), "sender@outside.test", alice.address(),
                message("sender@outside.test", alice.address(), subject, "Body line one\r\nBody line two via " + mxNodes.get(i)));
            assertThat(code).as("DATA reply of " + mxNodes.get(i)).isEqualTo(250);

            List<String> messages = inbox.awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), DELIVERY);
            String received = messages.stream().filter(m -> m.contains(subject)).findFirst()
                .orElseThrow(() -> new AssertionError("message sent to " + alice.address() + " through " + cluster.mx() + " not in INBOX"));
            assertThat(received)
                .contains("Subject: " + subject)
                .contains("From: <sender@outside.test>")
                .contains("Body line one\r\nBody line two via " + mxNodes.get(i))
                .contains("Received: from ");
        }
    }

    @Test
    void anUnknownLocalRecipientIsRefusedAtRcpt() throws Exception {
        try (Smtp smtp = Smtp.connect(cluster.mx().get(0))) {
            smtp.ehlo("client.test");
            assertThat(smtp.mailFrom("sender@outside.test")).isEqualTo(250);
            assertThat(smtp.rcptTo("nobody-" + UUID.randomUUID() + "@" + cluster.domain())).isEqualTo(550);
            assertThat(smtp.lastReply()).contains("5.1.1");
        }
    }

    @Test
    void theMxRefusesToRelayAndQueuesNothing() throws Exception {
        long spoolBefore = webadmin.queueSize("mx-spool");
        long outgoingBefore = webadmin.queueSize("outgoing");
        try (Smtp smtp = Smtp.connect(cluster.mx().get(0))) {
            smtp.ehlo("client.test");
            assertThat(smtp.mailFrom("spammer@outside.test")).isEqualTo(250);
            assertThat(smtp.rcptTo("victim@" + cluster.remoteDomain())).isEqualTo(550);
            assertThat(smtp.lastReply()).contains("relaying denied");
            assertThat(smtp.data(message("spammer@outside.test", "victim@" + cluster.remoteDomain(), "spam", "spam")))
                .as("DATA without an accepted recipient").isGreaterThanOrEqualTo(500);
        }
        assertThat(webadmin.queueSize("mx-spool")).isEqualTo(spoolBefore);
        assertThat(webadmin.queueSize("outgoing")).isEqualTo(outgoingBefore);
    }

    @Test
    void webadminRefusesRequestsWithoutCredentials() throws Exception {
        WebAdmin anonymous = new WebAdmin(cluster.webadmin(), "X-Nothing: none");
        assertThat(anonymous.send("GET", "/users", null).statusCode()).isEqualTo(401);
        assertThat(anonymous.send("PUT", "/domains/evil.test", null).statusCode()).isEqualTo(401);
        WebAdmin wrongSecret = new WebAdmin(cluster.webadmin(), "Authorization: Bearer not-the-secret-at-all");
        assertThat(wrongSecret.send("GET", "/mailQueues", null).statusCode()).isEqualTo(401);
        assertThat(webadmin.send("GET", "/users", null).statusCode()).isEqualTo(200);
    }
}
