package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

/**
 * DNS block lists at the MX: the cluster's DNS serves a test list, bl.DOMAIN, that lists the
 * client address 127.0.0.66. A client connecting from there is refused, with the list named;
 * the same message from an unlisted address is delivered.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DnsblTest {
    static final String LISTED = "127.0.0.66";
    static final String UNLISTED = "127.0.0.67";

    ClusterEndpoints cluster;
    TestUser alice;

    @BeforeAll
    void setUp(ClusterEndpoints cluster) {
        this.cluster = cluster;
        alice = TestUser.create(cluster, "dnsbl");
    }

    @Test
    void aListedClientIsRefusedNamingTheListAndAnUnlistedOneIsNot() throws Exception {
        String subject = "from an unlisted host " + UUID.randomUUID();
        try (Smtp smtp = Smtp.connectFrom(cluster.mx().get(0), InetAddress.getByName(UNLISTED))) {
            smtp.ehlo("clean.outside.test");
            assertThat(smtp.mailFrom("sender@outside.test")).as(smtp.lastReply()).isEqualTo(250);
            assertThat(smtp.rcptTo(alice.address())).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message("sender@outside.test", alice.address(), subject, "hello"))).isEqualTo(250);
        }
        alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), Duration.ofSeconds(60));

        try (Smtp smtp = Smtp.connectFrom(cluster.mx().get(0), InetAddress.getByName(LISTED))) {
            smtp.ehlo("listed.outside.test");
            int code = smtp.mailFrom("sender@outside.test");
            assertThat(code).as(smtp.lastReply()).isEqualTo(554);
            assertThat(smtp.lastReply()).contains("5.7.1").contains("bl." + cluster.domain());
            assertThat(smtp.rcptTo(alice.address())).as("RCPT after the refusal").isGreaterThanOrEqualTo(500);
        }
    }
}
