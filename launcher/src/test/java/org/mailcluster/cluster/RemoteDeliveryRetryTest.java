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

/**
 * A remote MX that is down is retried after the configured delay (the local cluster's first
 * delay is 20 s), the mail waiting meanwhile in a RabbitMQ delay queue, and then delivered
 * once, instead of being retried at once and bounced.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RemoteDeliveryRetryTest {

    static final String FIRST_DELAY_QUEUE = "mailcluster-delay-outgoing-20s";

    ClusterEndpoints cluster;
    TestUser alice;

    @BeforeAll
    void createUser(ClusterEndpoints cluster) {
        this.cluster = cluster;
        alice = TestUser.create(cluster, "alice");
    }

    @Test
    void aRemoteMxThatIsDownIsRetriedAfterTheDelayAndGetsTheMailOnce() throws Exception {
        InetSocketAddress remoteMxAddress = ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_REMOTE_MX"));
        String recipient = "dan@" + cluster.remoteDomain();
        String subject = "retried " + UUID.randomUUID();
        double deferredBefore = MetricsTest.tierTotal(cluster, "submission", "mailcluster_mail_deferred_total", "queue=\"outgoing\"");
        try (Smtp smtp = Smtp.connect(cluster.submission())) {
            smtp.ehlo("laptop.test");
            smtp.startTls();
            smtp.ehlo("laptop.test");
            assertThat(smtp.authPlain(alice.address(), alice.password())).isEqualTo(235);
            assertThat(smtp.mailFrom(alice.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(recipient)).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message(alice.address(), recipient, subject, "hello Dan"))).isEqualTo(250);
        }

        // The first attempt fails (nothing listens on the remote MX): the mail waits in RabbitMQ.
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        long waiting = 0;
        while (waiting == 0 && System.nanoTime() < deadline) {
            waiting = RabbitMqQueues.of(cluster).messagesIn(FIRST_DELAY_QUEUE);
            Thread.sleep(200);
        }
        assertThat(waiting).as("mails waiting in " + FIRST_DELAY_QUEUE + " after the first failed attempt").isGreaterThanOrEqualTo(1);
        assertThat(MetricsTest.tierTotal(cluster, "submission", "mailcluster_mail_deferred_total", "queue=\"outgoing\"") - deferredBefore)
            .as("deferrals of outgoing mail on the submission tier's /metrics").isGreaterThanOrEqualTo(1);

        try (RemoteMx remoteMx = RemoteMx.start(remoteMxAddress)) {
            // The remote MX is back, but the retry must wait for its delay, not come at once.
            Thread.sleep(5000);
            assertThat(remoteMx.received()).as("delivered before the retry delay").noneMatch(m -> m.contains(subject));

            List<String> delivered = List.of();
            deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (delivered.isEmpty() && System.nanoTime() < deadline) {
                delivered = remoteMx.received().stream().filter(m -> m.contains(subject)).toList();
                Thread.sleep(500);
            }
            Thread.sleep(3000);
            delivered = remoteMx.received().stream().filter(m -> m.contains(subject)).toList();
            assertThat(delivered).as("copies of the retried mail at the remote MX").hasSize(1);
            assertThat(delivered.get(0)).contains("X-Rcpt-Args: <" + recipient + ">");
        }
    }
}
