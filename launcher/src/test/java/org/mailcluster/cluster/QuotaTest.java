package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Mailbox quotas as an administrator sets them through webadmin: a user's usage is counted as
 * mail arrives; a message that would take them over their limit is not stored but returned to
 * its sender with a DSN "5.2.2" (once, at once, counted on /metrics); raising the limit lets
 * the next message in. Messages go one at a time, each once the previous one is counted: the
 * quota is checked against the usage the mailbox tier has counted so far.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QuotaTest {
    static final ObjectMapper JSON = new ObjectMapper();

    ClusterEndpoints cluster;
    WebAdmin webadmin;
    TestUser full;
    TestUser writer;

    @BeforeAll
    void createUsers(ClusterEndpoints cluster) {
        this.cluster = cluster;
        webadmin = new WebAdmin(cluster);
        full = TestUser.create(cluster, "full");
        writer = TestUser.create(cluster, "writer");
    }

    @Test
    void aMessageOverTheQuotaBouncesOnceAndRaisingTheQuotaLetsTheNextIn() throws Exception {
        assertThat(webadmin.send("PUT", "/quota/users/" + full.address() + "/count", "2").statusCode()).isEqualTo(204);
        String run = UUID.randomUUID().toString();
        for (int i = 1; i <= 2; i++) {
            send("within quota " + i + " " + run);
            awaitCounted(i);
        }
        assertThat(full.inbox(cluster).awaitMessages(all -> count(all, "within quota") == 2, MailFlowTest.DELIVERY))
            .filteredOn(m -> m.contains(run)).hasSize(2);

        double bouncedBefore = MetricsTest.tierTotal(cluster, "mailbox", "mailcluster_mail_bounced_total", "reason=\"over-quota\"");
        String over = "over quota " + run;
        send(over);
        List<String> dsns = writer.inbox(cluster).awaitMessages(all -> count(all, over) >= 1, MailFlowTest.DELIVERY);
        String dsn = dsns.stream().filter(m -> m.contains(over)).findFirst().orElseThrow();
        assertThat(dsn).as("the DSN names the full mailbox:\n%s", dsn).contains(full.address()).contains("Status: 5.2.2");
        assertThat(MetricsTest.tierTotal(cluster, "mailbox", "mailcluster_mail_bounced_total", "reason=\"over-quota\"") - bouncedBefore)
            .as("over-quota bounces on the mailbox tier's /metrics").isEqualTo(1);
        Thread.sleep(5000);
        assertThat(full.inbox(cluster).messages()).as("the mailbox over its quota").noneMatch(m -> m.contains(over));
        assertThat(writer.inbox(cluster).messages()).as("DSNs for the message over quota").filteredOn(m -> m.contains(over)).hasSize(1);
        assertThat(occupation()).as("usage after the refused message").isEqualTo(2);

        assertThat(webadmin.send("PUT", "/quota/users/" + full.address() + "/count", "10").statusCode()).isEqualTo(204);
        String after = "after raising the quota " + run;
        send(after);
        assertThat(full.inbox(cluster).awaitMessages(all -> count(all, after) == 1, MailFlowTest.DELIVERY))
            .filteredOn(m -> m.contains(after)).hasSize(1);
        awaitCounted(3);
    }

    void send(String subject) throws Exception {
        try (Smtp smtp = Smtp.connect(cluster.submission())) {
            smtp.ehlo("laptop.test");
            smtp.startTls();
            smtp.ehlo("laptop.test");
            assertThat(smtp.authPlain(writer.address(), writer.password())).isEqualTo(235);
            assertThat(smtp.mailFrom(writer.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(full.address())).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message(writer.address(), full.address(), subject, "counted against the quota")))
                .isEqualTo(250);
        }
    }

    static long count(List<String> messages, String text) {
        return messages.stream().filter(m -> m.contains(text)).count();
    }

    /** The user's message count as webadmin gives it (GET /quota/users/USER: occupation.count). */
    long occupation() throws Exception {
        HttpResponse<String> response = webadmin.send("GET", "/quota/users/" + full.address(), null);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode quota = JSON.readTree(response.body());
        return quota.path("occupation").path("count").asLong();
    }

    void awaitCounted(long messages) throws Exception {
        long counted = -1;
        for (long end = System.nanoTime() + Duration.ofSeconds(60).toNanos(); System.nanoTime() < end; Thread.sleep(500)) {
            counted = occupation();
            if (counted == messages) {
                return;
            }
        }
        assertThat(counted).as("messages counted against " + full.address() + "'s quota").isEqualTo(messages);
    }
}
