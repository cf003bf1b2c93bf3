package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

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
 * A component goes away: the cluster must never answer 250 for mail it cannot keep, and must
 * deliver what it accepted once the component is back, exactly once. Each test puts the cluster
 * back as it found it.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultToleranceTest {

    static final Duration STEP = Duration.ofMinutes(5);

    LocalCluster launcher;
    ClusterEndpoints cluster;
    TestUser alice;

    @BeforeAll
    void createUser(LocalCluster launcher, ClusterEndpoints cluster) {
        this.launcher = launcher;
        this.cluster = cluster;
        alice = TestUser.create(cluster, "alice");
    }

    long copiesOf(String subject) throws Exception {
        return alice.inbox(cluster).messages().stream().filter(m -> m.contains(subject)).count();
    }

    @Test
    void withRabbitMqDownTheMxAnswers4xxAndDeliversAgainOnceItIsBack() throws Exception {
        String during = "during outage " + UUID.randomUUID();
        launcher.scriptMustSucceed(STEP, "launcher/services/rabbitmq.sh", "stop");
        int code;
        try {
            code = Smtp.send(cluster.mx().get(0), "sender@outside.test", alice.address(),
                MailFlowTest.message("sender@outside.test", alice.address(), during, "must not be accepted"));
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/services/rabbitmq.sh", "start");
        }
        assertThat(code).as("reply at DATA while the queue is unavailable").isBetween(400, 499);

        String after = "after outage " + UUID.randomUUID();
        assertThat(Smtp.send(cluster.mx().get(0), "sender@outside.test", alice.address(),
            MailFlowTest.message("sender@outside.test", alice.address(), after, "accepted after the outage"))).isEqualTo(250);
        List<String> messages = alice.inbox(cluster)
            .awaitMessages(all -> all.stream().anyMatch(m -> m.contains(after)), MailFlowTest.DELIVERY);
        assertThat(messages).filteredOn(m -> m.contains(after)).hasSize(1);
        assertThat(messages).noneMatch(m -> m.contains(during));
    }

    @Test
    void mailAcceptedWhileTheMailboxNodeIsDownIsDeliveredOnceItStarts() throws Exception {
        String subject = "while mailbox tier down " + UUID.randomUUID();
        launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "stop-one", "mailbox1");
        try {
            for (var mx : cluster.mx()) {
                assertThat(Smtp.send(mx, "sender@outside.test", alice.address(),
                    MailFlowTest.message("sender@outside.test", alice.address(), subject, "queued for later via " + mx)))
                    .as("DATA reply of " + mx + " with the mailbox tier down").isEqualTo(250);
            }
            // The mailbox tier's webadmin is down with it: ask an MX node's (same port).
            WebAdmin mxWebadmin = new WebAdmin(java.net.URI.create("http://" + cluster.mx().get(0).getHostString()
                + ":" + cluster.webadmin().getPort()), cluster.webadminAuth());
            long waiting = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (waiting < cluster.mx().size() && System.nanoTime() < deadline) {
                Thread.sleep(500);
                waiting = mxWebadmin.queueSize("delivery");
            }
            assertThat(waiting).as("mails waiting in the delivery queue while no mailbox node runs")
                .isGreaterThanOrEqualTo(cluster.mx().size());
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "start-one", "mailbox1");
        }
        List<String> messages = alice.inbox(cluster)
            .awaitMessages(all -> all.stream().filter(m -> m.contains(subject)).count() >= cluster.mx().size(), MailFlowTest.DELIVERY);
        Thread.sleep(3000);
        assertThat(copiesOf(subject)).as("copies delivered of the mails sent through " + cluster.mx()).isEqualTo(cluster.mx().size());
        assertThat(messages).isNotEmpty();
    }
}
