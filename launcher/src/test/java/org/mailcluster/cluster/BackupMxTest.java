package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
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
 * The backup MX (published at MX 20): while every primary is stopped it accepts mail for the
 * cluster's users (and refuses relaying and unknown users, like a primary), keeps it in its own
 * queue, and hands it to a primary once one is back: delivered exactly once. A real sending
 * MTA (Postfix, {@link SendingPostfix}) finds the backup through the MX records by itself.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackupMxTest {
    static final int VIA_POSTFIX = 5;

    LocalCluster launcher;
    ClusterEndpoints cluster;

    @BeforeAll
    void setUp(LocalCluster launcher) {
        this.launcher = launcher;
        cluster = RoutingShape.ensure(launcher);
    }

    @Test
    void withEveryPrimaryDownTheBackupKeepsTheMailAndHandsItOverOnce() throws Exception {
        TestUser alice = TestUser.create(cluster, "backup");
        InetSocketAddress backup = cluster.backupMx();
        String subject = "kept by the backup " + UUID.randomUUID();
        String viaPostfix = "found the backup " + UUID.randomUUID() + " #";
        List<String> primaries = cluster.nodes().keySet().stream().filter(name -> name.matches("mx[0-9]+")).toList();
        for (String primary : primaries) {
            launcher.scriptMustSucceed(Duration.ofMinutes(2), "launcher/nodes.sh", "stop-one", primary);
        }
        try {
            for (InetSocketAddress mx : cluster.mx()) {
                assertThat(canConnect(mx)).as("primary " + mx + " is stopped").isFalse();
            }
            try (Smtp smtp = Smtp.connect(backup)) {
                smtp.ehlo("client.test");
                assertThat(smtp.mailFrom("sender@outside.test")).isEqualTo(250);
                assertThat(smtp.rcptTo("someone@elsewhere.test")).as("relaying through the backup").isEqualTo(550);
                assertThat(smtp.rcptTo("nobody-" + UUID.randomUUID() + "@" + cluster.domain())).as("an unknown user").isEqualTo(550);
                assertThat(smtp.rcptTo(alice.address())).isEqualTo(250);
                assertThat(smtp.data(MailFlowTest.message("sender@outside.test", alice.address(), subject, "kept"))).isEqualTo(250);
            }
            // A real MTA finds the backup by itself: Postfix, refused by every primary, delivers to MX 20.
            try (SendingPostfix postfix = SendingPostfix.start(cluster.dns())) {
                for (int n = 0; n < VIA_POSTFIX; n++) {
                    postfix.send("mta@outside.test", alice.address(), MailFlowTest.message("mta@outside.test", alice.address(), viaPostfix + n, "via MX 20"));
                }
                Map<String, Integer> delivered = postfix.awaitDelivered(VIA_POSTFIX, Duration.ofMinutes(2));
                assertThat(delivered).as("where Postfix delivered with every primary down; its log:\n" + postfix.log())
                    .isEqualTo(Map.of(backup.getAddress().getHostAddress(), VIA_POSTFIX));
            }
            Thread.sleep(10_000);
            assertThat(alice.inbox(cluster).messages()).as("INBOX 10 s after the backup took the mail")
                .noneMatch(m -> m.contains(subject) || m.contains(viaPostfix));
            String queued = RoutingShape.webAdmin(cluster, RoutingShape.BACKUP_NODE).get("/mailQueues/backup-forward/mails");
            assertThat(queued).as("the backup's queue, through its webadmin").contains(alice.address()).contains("sender@outside.test");
        } finally {
            for (String primary : primaries) {
                launcher.scriptMustSucceed(Duration.ofMinutes(5), "launcher/nodes.sh", "start-one", primary);
            }
        }
        long primariesBack = System.nanoTime();
        alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), Duration.ofMinutes(3));
        System.out.printf("BackupMxTest: delivered %d ms after the primaries were healthy again%n",
            Duration.ofNanos(System.nanoTime() - primariesBack).toMillis());
        alice.inbox(cluster).awaitMessages(all -> all.stream().filter(m -> m.contains(viaPostfix)).count() >= VIA_POSTFIX,
            Duration.ofMinutes(2));
        Thread.sleep(3000);
        List<String> inbox = alice.inbox(cluster).messages();
        assertThat(inbox.stream().filter(m -> m.contains(subject)).toList()).as("copies delivered after the hand-over").hasSize(1);
        for (int n = 0; n < VIA_POSTFIX; n++) {
            String one = viaPostfix + n + "\r\n";
            assertThat(inbox.stream().filter(m -> m.contains(one)).count()).as("copies of Postfix's message " + n).isEqualTo(1);
        }
        assertThat(RoutingShape.webAdmin(cluster, RoutingShape.BACKUP_NODE).queueSize("backup-forward"))
            .as("mail left in the backup's queue").isZero();
    }

    static boolean canConnect(InetSocketAddress address) {
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.connect(address, 2000);
            return true;
        } catch (java.io.IOException refused) {
            return false;
        }
    }
}
