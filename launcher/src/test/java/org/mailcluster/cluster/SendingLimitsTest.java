package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
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
 * Sending limits as a user and an operator meet them: set through webadmin, enforced by every
 * submission node on one shared count, answered with a 4.7.1 that names the limit.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SendingLimitsTest {

    ClusterEndpoints cluster;
    WebAdmin webadmin;
    TestUser bob;
    List<InetSocketAddress> submissionNodes;

    @BeforeAll
    void start(ClusterEndpoints cluster) {
        this.cluster = cluster;
        webadmin = new WebAdmin(cluster);
        bob = TestUser.create(cluster, "bob");
        submissionNodes = cluster.nodes().entrySet().stream()
            .filter(node -> node.getKey().startsWith("submission"))
            .map(node -> new InetSocketAddress(node.getValue(), 587))
            .toList();
        assertThat(submissionNodes).as("submission nodes").hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    void theHourlyLimitIsCountedOverEverySubmissionNode() throws Exception {
        TestUser alice = TestUser.create(cluster, "alice");
        put("/limits/users/" + alice.address(), "{\"messagesPerHour\":3}");
        String subject = "limited " + UUID.randomUUID();
        // Under the limit, on both nodes.
        for (int i = 0; i < 3; i++) {
            try (Smtp smtp = authenticated(submissionNodes.get(i % 2), alice)) {
                assertThat(smtp.mailFrom(alice.address())).as(smtp.lastReply()).isEqualTo(250);
                assertThat(smtp.rcptTo(bob.address())).isEqualTo(250);
                assertThat(smtp.data(MailFlowTest.message(alice.address(), bob.address(), subject, "message " + i))).isEqualTo(250);
            }
        }
        JsonNode usage = new ObjectMapper().readTree(webadmin.get("/limits/users/" + alice.address() + "/usage"));
        assertThat(usage.path("messagesInTheLastHour").asLong()).isEqualTo(3);
        assertThat(usage.path("messagesPerHourSetFor").asText()).isEqualTo("user");

        // Over it, on either node: the count is the cluster's.
        for (InetSocketAddress node : submissionNodes) {
            try (Smtp smtp = authenticated(node, alice)) {
                assertThat(smtp.mailFrom(alice.address())).as(node + ": " + smtp.lastReply()).isEqualTo(450);
                assertThat(smtp.lastReply()).contains("4.7.1").contains("3 messages per hour").contains("user");
            }
        }
        // Another user of the same domain is not limited by alice's count.
        try (Smtp smtp = authenticated(submissionNodes.get(0), bob)) {
            assertThat(smtp.mailFrom(bob.address())).as(smtp.lastReply()).isEqualTo(250);
        }
        // The operator raises alice's limit: she sends again at once, from any node.
        put("/limits/users/" + alice.address(), "{\"messagesPerHour\":4}");
        try (Smtp smtp = authenticated(submissionNodes.get(1), alice)) {
            assertThat(smtp.mailFrom(alice.address())).as(smtp.lastReply()).isEqualTo(250);
            assertThat(smtp.rcptTo(bob.address())).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message(alice.address(), bob.address(), subject, "message 3"))).isEqualTo(250);
        }
        assertThat(bob.inbox(cluster).awaitMessages(all -> all.stream().filter(m -> m.contains(subject)).count() >= 4, MailFlowTest.DELIVERY))
            .filteredOn(m -> m.contains(subject)).hasSize(4);
        assertThat(webadmin.send("DELETE", "/limits/users/" + alice.address(), null).statusCode()).isEqualTo(204);
    }

    @Test
    void aMessageTakesNoMoreRecipientsThanItsLimit() throws Exception {
        TestUser carol = TestUser.create(cluster, "carol");
        TestUser dave = TestUser.create(cluster, "dave");
        TestUser erin = TestUser.create(cluster, "erin");
        put("/limits/users/" + carol.address(), "{\"recipientsPerMessage\":2}");
        String subject = "two recipients " + UUID.randomUUID();
        try (Smtp smtp = authenticated(submissionNodes.get(0), carol)) {
            assertThat(smtp.mailFrom(carol.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(bob.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(dave.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(erin.address())).as(smtp.lastReply()).isEqualTo(452);
            assertThat(smtp.lastReply()).contains("4.7.1").contains("at most 2");
            assertThat(smtp.data(MailFlowTest.message(carol.address(), bob.address(), subject, "to two of three"))).isEqualTo(250);
        }
        assertThat(dave.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY))
            .anyMatch(m -> m.contains(subject));
        assertThat(bob.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY))
            .anyMatch(m -> m.contains(subject));
        assertThat(erin.inbox(cluster).messages()).as("the refused recipient's inbox").noneMatch(m -> m.contains(subject));
        assertThat(webadmin.send("DELETE", "/limits/users/" + carol.address(), null).statusCode()).isEqualTo(204);
    }

    @Test
    void limitsAreReadAndCheckedThroughWebadmin() throws Exception {
        JsonNode defaults = new ObjectMapper().readTree(webadmin.get("/limits/defaults"));
        assertThat(defaults.path("messagesPerHour").asInt()).isPositive();
        assertThat(defaults.path("recipientsPerMessage").asInt()).isPositive();

        put("/limits/domains/" + cluster.domain(), "{\"recipientsPerMessage\":50}");
        try {
            assertThat(new ObjectMapper().readTree(webadmin.get("/limits/domains")).path(cluster.domain()).path("recipientsPerMessage").asInt())
                .isEqualTo(50);
            JsonNode usage = new ObjectMapper().readTree(webadmin.get("/limits/users/" + bob.address() + "/usage"));
            assertThat(usage.path("recipientsPerMessage").asInt()).isEqualTo(50);
            assertThat(usage.path("recipientsPerMessageSetFor").asText()).isEqualTo("domain");
            assertThat(usage.path("messagesPerHourSetFor").asText()).isEqualTo("default");
        } finally {
            assertThat(webadmin.send("DELETE", "/limits/domains/" + cluster.domain(), null).statusCode()).isEqualTo(204);
        }
        assertThat(webadmin.send("GET", "/limits/domains/" + cluster.domain(), null).statusCode()).isEqualTo(404);

        assertBadRequest(webadmin.send("PUT", "/limits/users/" + bob.address(), "{\"messagesPerHour\":0}"), "messagesPerHour");
        assertBadRequest(webadmin.send("PUT", "/limits/users/" + bob.address(), "{\"perDay\":10}"), "perDay");
        assertBadRequest(webadmin.send("PUT", "/limits/users/" + bob.address(), "{\"messagesPerHour\":"), "JSON");
        assertBadRequest(webadmin.send("PUT", "/limits/users/nobody-" + UUID.randomUUID() + "@" + cluster.domain(), "{\"messagesPerHour\":5}"), "no such user");
        assertBadRequest(webadmin.send("PUT", "/limits/domains/not-hosted.test", "{\"messagesPerHour\":5}"), "not a hosted domain");
    }

    void put(String path, String body) {
        HttpResponse<String> response = webadmin.send("PUT", path, body);
        assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(204);
    }

    static void assertBadRequest(HttpResponse<String> response, String named) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
        assertThat(response.body()).contains(named);
    }

    static Smtp authenticated(InetSocketAddress node, TestUser user) throws Exception {
        Smtp smtp = Smtp.connect(node);
        assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
        assertThat(smtp.startTls()).isEqualTo(220);
        assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
        assertThat(smtp.authPlain(user.address(), user.password())).as(smtp.lastReply()).isEqualTo(235);
        return smtp;
    }
}
