package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * Bounces as a sender sees them: when remote delivery gives up, the sender finds one DSN
 * (RFC 3464 multipart/report) in their inbox naming the recipient and the remote's answer; a
 * message without a sender produces none. The remote is Postfix's smtp-sink answering every
 * RCPT with 5xx ({@code -f rcpt}) or 4xx ({@code -r rcpt}).
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BounceTest {
    static final Duration STEP = Duration.ofMinutes(5);
    static final Duration DSN_WAIT = Duration.ofSeconds(90);

    LocalCluster launcher;
    ClusterEndpoints cluster;
    TestUser alice;
    InetSocketAddress remoteMxAddress;
    String recipient;

    @BeforeAll
    void createUser(LocalCluster launcher, ClusterEndpoints cluster) {
        this.launcher = launcher;
        this.cluster = cluster;
        alice = TestUser.create(cluster, "alice");
        remoteMxAddress = ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_REMOTE_MX"));
        recipient = "carol@" + cluster.remoteDomain();
    }

    @Test
    void aRecipientTheRemoteRefusesBouncesOnceToTheSender() throws Exception {
        String subject = "refused " + UUID.randomUUID();
        double bouncedBefore = MetricsTest.tierTotal(cluster, "submission", "mailcluster_mail_bounced_total", "reason=\"remote-delivery\"");
        try (RemoteMx refusing = RemoteMx.start(remoteMxAddress, "-f", "rcpt")) {
            submit(alice.address(), subject);
            String dsn = awaitOneDsn(subject);
            assertThat(MetricsTest.tierTotal(cluster, "submission", "mailcluster_mail_bounced_total", "reason=\"remote-delivery\"") - bouncedBefore)
                .as("bounces on the submission tier's /metrics").isGreaterThanOrEqualTo(1);
            assertThat(dsn).as("the DSN names the recipient").contains(recipient);
            assertThat(dsn).as("the DSN gives the remote's answer:\n%s", dsn).containsPattern("(?i)Diagnostic-Code: smtp;\\s*5\\d\\d ");
            assertThat(dsn).containsPattern("(?i)Action: failed");
            assertStillOneDsn(subject);
        }
    }

    /**
     * A message without a sender (an outside server's bounce) to a user who forwards off-site,
     * where the forward is refused: no DSN is made, so none can loop. Its author (From) is alice,
     * where a misaddressed DSN would land. Alice's own message to the same user is refused the
     * same way and does bounce to her: the check can fail.
     */
    @Test
    void aMessageWithoutSenderThatFailsBouncesNothing() throws Exception {
        TestUser dave = TestUser.create(cluster, "dave");
        WebAdmin webadmin = new WebAdmin(cluster);
        String forward = "/address/forwards/" + dave.address() + "/targets/" + recipient;
        HttpResponse<String> added = webadmin.send("PUT", forward, null);
        assertThat(added.statusCode()).as(added.body()).isEqualTo(204);
        String withoutSender = "null sender " + UUID.randomUUID();
        String control = "control " + UUID.randomUUID();
        try (RemoteMx refusing = RemoteMx.start(remoteMxAddress, "-f", "rcpt")) {
            try (Smtp smtp = Smtp.connect(cluster.mx().get(0))) {
                assertThat(smtp.ehlo("bounces.outside.test")).isEqualTo(250);
                assertThat(smtp.mailFrom("")).as(smtp.lastReply()).isEqualTo(250);
                assertThat(smtp.rcptTo(dave.address())).as(smtp.lastReply()).isEqualTo(250);
                assertThat(smtp.data(MailFlowTest.message(alice.address(), dave.address(), withoutSender, "a bounce from outside")))
                    .as(smtp.lastReply()).isEqualTo(250);
            }
            submit(alice.address(), dave.address(), control);
            awaitOneDsn(control);
            Thread.sleep(5000);
            assertThat(alice.inbox(cluster).messages()).as("alice's inbox").noneMatch(m -> m.contains(withoutSender));
            assertThat(dave.inbox(cluster).messages()).as("dave's inbox (he forwards everything)").isEmpty();
        } finally {
            HttpResponse<String> removed = webadmin.send("DELETE", forward, null);
            assertThat(removed.statusCode()).as(removed.body()).isEqualTo(204);
        }
    }

    /**
     * The ladder is the deployment's: the submission nodes are started with a ladder of two
     * 3-second delays, as production would set hours; after the last retry the sender gets one
     * DSN. The nodes are then started again with the local cluster's ladder.
     */
    @Test
    void aRemoteThatKeepsDeferringGetsOneDsnOnceTheLadderIsExhausted() throws Exception {
        List<String> submissionNodes = cluster.nodes().keySet().stream().filter(name -> name.startsWith("submission")).toList();
        assertThat(submissionNodes).as("the cluster's submission nodes").isNotEmpty();
        String subject = "deferred " + UUID.randomUUID();
        restart(submissionNodes, Map.of("MC_REMOTE_DELIVERY_DELAYS", "3 seconds, 3 seconds"));
        try (RemoteMx deferring = RemoteMx.start(remoteMxAddress, "-r", "rcpt")) {
            submit(alice.address(), subject);
            String dsn = awaitOneDsn(subject);
            assertThat(dsn).contains(recipient);
            // James's remote delivery reports that it gave up, not the remote's last 4xx (it
            // keeps no answer across retries; the node's log has each one).
            assertThat(dsn).as("why it gave up:\n%s", dsn).containsPattern("(?i)Diagnostic-Code: [^\\r\\n]*after 2 retries");
            assertThat(dsn).containsPattern("(?i)Action: failed");
            assertStillOneDsn(subject);
        } finally {
            restart(submissionNodes, Map.of());
        }
    }

    void restart(List<String> nodes, Map<String, String> environment) {
        for (String node : nodes) {
            launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "stop-one", node);
            launcher.scriptMustSucceed(STEP, environment, "launcher/nodes.sh", "start-one", node);
        }
    }

    /** One message through submission, authenticated as alice. */
    void submit(String envelopeSender, String subject) throws Exception {
        submit(envelopeSender, recipient, subject);
    }

    void submit(String envelopeSender, String to, String subject) throws Exception {
        try (Smtp smtp = Smtp.connect(cluster.submission())) {
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.startTls()).isEqualTo(220);
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.authPlain(alice.address(), alice.password())).as(smtp.lastReply()).isEqualTo(235);
            assertThat(smtp.mailFrom(envelopeSender)).as(smtp.lastReply()).isEqualTo(250);
            assertThat(smtp.rcptTo(to)).as(smtp.lastReply()).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message(alice.address(), to, subject, "hello"))).as(smtp.lastReply()).isEqualTo(250);
        }
    }

    String awaitOneDsn(String subject) throws Exception {
        List<String> dsns = dsnsAbout(alice.inbox(cluster).awaitMessages(all -> !dsnsAbout(all, subject).isEmpty(), DSN_WAIT), subject);
        assertThat(dsns).as("DSNs about \"" + subject + "\" in the sender's inbox").hasSize(1);
        return dsns.get(0);
    }

    /** A DSN is never sent twice: a while later there is still one. */
    void assertStillOneDsn(String subject) throws Exception {
        Thread.sleep(5000);
        assertThat(dsnsAbout(alice.inbox(cluster).messages(), subject)).as("DSNs about \"" + subject + "\"").hasSize(1);
    }

    static List<String> dsnsAbout(List<String> messages, String subject) {
        return messages.stream()
            .filter(m -> m.matches("(?is).*content-type:\\s*multipart/report;.*report-type=\"?delivery-status.*"))
            .filter(m -> m.contains(subject))
            .toList();
    }
}
