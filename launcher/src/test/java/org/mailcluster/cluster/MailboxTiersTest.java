package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.DoublePredicate;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * Two mailbox tiers: a domain routed to the tier {@code eu} is delivered by the {@code eu}
 * node (mailbox2) only. With that node stopped, the domain's mail waits in its own queue while
 * the default tier keeps delivering; once it is back, the mail is delivered once.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MailboxTiersTest {

    LocalCluster launcher;
    ClusterEndpoints cluster;
    WebAdmin webadmin;

    @BeforeAll
    void setUp(LocalCluster launcher) {
        this.launcher = launcher;
        cluster = RoutingShape.ensure(launcher);
        webadmin = RoutingShape.webAdmin(cluster, "mx2");
    }

    @Test
    void aDomainOfTheEuTierWaitsForItsNodeAndIsDeliveredOnceItIsBack() throws Exception {
        String domain = "eu-" + UUID.randomUUID().toString().substring(0, 8) + ".test";
        assertThat(webadmin.send("PUT", "/domains/" + domain, null).statusCode()).isEqualTo(204);
        HttpResponse<String> route = webadmin.send("PUT", "/routes/domains/" + domain, "{\"transport\":\"mailbox\",\"tier\":\"eu\"}");
        assertThat(route.statusCode()).as(route.body()).isEqualTo(204);
        TestUser european = new TestUser("elena@" + domain, "pw-" + UUID.randomUUID());
        webadmin.createUser(european.address(), european.password());
        TestUser local = TestUser.create(cluster, "tiers");
        Thread.sleep(6000); // every MX has read the new route (the table is re-read every 5 s)

        // Both tiers deliver.
        String first = "tier check " + UUID.randomUUID();
        assertThat(Smtp.send(cluster.mx().get(0), "x@outside.test", european.address(),
            MailFlowTest.message("x@outside.test", european.address(), first, "eu"))).isEqualTo(250);
        european.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(first)), Duration.ofSeconds(60));

        launcher.scriptMustSucceed(Duration.ofMinutes(2), "launcher/nodes.sh", "stop-one", RoutingShape.EU_NODE);
        try {
            String waiting = "while eu is down " + UUID.randomUUID();
            assertThat(Smtp.send(cluster.mx().get(1), "x@outside.test", european.address(),
                MailFlowTest.message("x@outside.test", european.address(), waiting, "waits"))).isEqualTo(250);
            String control = "default tier " + UUID.randomUUID();
            assertThat(Smtp.send(cluster.mx().get(1), "x@outside.test", local.address(),
                MailFlowTest.message("x@outside.test", local.address(), control, "delivered"))).isEqualTo(250);
            local.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(control)), Duration.ofSeconds(60));
            // The default tier delivered the mail sent after; the eu mail is still queued.
            assertThat(european.inbox(cluster).messages()).as("eu mailbox while its tier is down").noneMatch(m -> m.contains(waiting));
            assertThat(RoutingShape.webAdmin(cluster, "mailbox1").queueSize("delivery-eu"))
                .as("mail in delivery-eu while its only node is stopped").isGreaterThanOrEqualTo(1);
            // what Prometheus sees of it (the queue-growing alert, KEDA): the gauge rises...
            assertThat(awaitQueueGauge(value -> value >= 1)).as("delivery-eu depth on /metrics, eu stopped").isGreaterThanOrEqualTo(1);

            launcher.scriptMustSucceed(Duration.ofMinutes(5), "launcher/nodes.sh", "start-one", RoutingShape.EU_NODE);
            european.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(waiting)), Duration.ofSeconds(90));
            Thread.sleep(3000);
            List<String> delivered = european.inbox(cluster).messages().stream().filter(m -> m.contains(waiting)).toList();
            assertThat(delivered).as("copies once the eu node is back").hasSize(1);
            // ... and falls back once the tier's node has taken the mail
            assertThat(awaitQueueGauge(value -> value == 0)).as("delivery-eu depth on /metrics, eu back").isEqualTo(0);
        } finally {
            launcher.scriptMustSucceed(Duration.ofMinutes(5), "launcher/nodes.sh", "start-one", RoutingShape.EU_NODE);
            webadmin.send("DELETE", "/routes/domains/" + domain, null);
        }
    }

    /** delivery-eu's depth as mx2's /metrics shows it, once it satisfies {@code wanted} (the
     * figures are cached 5 s), or the last value seen after 20 s; fails if the series is absent. */
    double awaitQueueGauge(DoublePredicate wanted) throws Exception {
        Double value = null;
        for (long end = System.nanoTime() + Duration.ofSeconds(20).toNanos(); System.nanoTime() < end; Thread.sleep(1000)) {
            HttpResponse<String> metrics = webadmin.send("GET", "/metrics", null);
            assertThat(metrics.statusCode()).isEqualTo(200);
            value = MetricsTest.series(metrics.body(), MetricsTest.queueGauge("mailcluster_queue_messages", "delivery-eu"));
            assertThat(value).as("mailcluster_queue_messages of delivery-eu on mx2").isNotNull();
            if (wanted.test(value)) {
                break;
            }
        }
        return value;
    }
}
