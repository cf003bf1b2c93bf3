package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

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
 * What a real sending MTA makes of the cluster's MX records: Postfix, resolving through the
 * cluster's DNS, spreads messages over the primary MX hosts (equal preference, random choice)
 * and never uses the backup MX (preference 20) while a primary answers.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealSenderTest {
    static final int MESSAGES = 300;

    ClusterEndpoints cluster;

    @BeforeAll
    void setUp(LocalCluster launcher) {
        cluster = RoutingShape.ensure(launcher);
    }

    @Test
    void postfixSpreadsMessagesOverEveryPrimaryMxAndLeavesTheBackupAlone() throws Exception {
        TestUser user = TestUser.create(cluster, "spread");
        String batch = "spread " + UUID.randomUUID();
        List<String> primaries = cluster.mx().stream().map(mx -> mx.getAddress().getHostAddress()).toList();
        String backup = cluster.backupMx().getAddress().getHostAddress();
        Map<String, Integer> delivered;
        try (SendingPostfix postfix = SendingPostfix.start(cluster.dns())) {
            for (int n = 0; n < MESSAGES; n++) {
                postfix.send("load@outside.test", user.address(), MailFlowTest.message("load@outside.test", user.address(), batch + " #" + n, "n " + n));
            }
            delivered = postfix.awaitDelivered(MESSAGES, Duration.ofMinutes(3));
            assertThat(delivered.values().stream().mapToInt(Integer::intValue).sum())
                .as("messages Postfix delivered; its log:\n" + postfix.log()).isEqualTo(MESSAGES);
        }
        List<Integer> shares = primaries.stream().map(address -> delivered.getOrDefault(address, 0)).toList();
        double chiSquare = SendingPostfix.chiSquare(shares);
        System.out.printf("RealSenderTest: %d messages, per primary MX %s -> %s, backup MX %d, chi-square %.3f (df %d)%n",
            MESSAGES, primaries, shares, delivered.getOrDefault(backup, 0), chiSquare, primaries.size() - 1);
        assertThat(delivered.getOrDefault(backup, 0)).as("messages sent to the backup MX while the primaries were up").isZero();
        assertThat(delivered.keySet()).as("servers Postfix delivered to").containsExactlyInAnyOrderElementsOf(primaries);
        assertThat(chiSquare).as("chi-square of the shares " + shares + " against a uniform choice (p > 0.001)")
            .isLessThan(SendingPostfix.criticalAtOnePerMille(primaries.size() - 1));

        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), user.address(), user.password())) {
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            int found = imap.uidSearch("SUBJECT \"" + batch + "\"").size();
            while (found < MESSAGES && System.nanoTime() < deadline) {
                Thread.sleep(2000);
                found = imap.uidSearch("SUBJECT \"" + batch + "\"").size();
            }
            assertThat(found).as("messages of the batch in the INBOX").isEqualTo(MESSAGES);
        }
    }
}
