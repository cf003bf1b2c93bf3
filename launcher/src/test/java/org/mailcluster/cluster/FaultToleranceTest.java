package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

import javax.mail.Flags;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;

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
        assertThat(copiesOf(alice, subject)).as("copies delivered of the mails sent through " + cluster.mx()).isEqualTo(cluster.mx().size());
        assertThat(messages).isNotEmpty();
    }

    /**
     * RabbitMQ hands a queued mail out again when it did not get its acknowledgement (the
     * broker restarted, or a node's connection dropped, while a spooler worked on the mail),
     * sometimes while the first copy is still being delivered. Here the delivery queue is given
     * the same queued mail twice while no mailbox node runs, so that the node takes both copies
     * together when it starts: each recipient must still get one copy.
     */
    @Test
    void aMailTheQueueHandsOutTwiceIsStoredOncePerRecipient() throws Exception {
        TestUser bob = TestUser.create(cluster, "bob");
        String subject = "handed out twice " + UUID.randomUUID();
        queueWithACopy(subject, List.of(alice, bob), reference -> reference);
        alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY);
        bob.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY);
        awaitDeliveryQueueSettled();
        assertThat(copiesOf(alice, subject)).as("copies in " + alice.address() + "'s INBOX").isEqualTo(1);
        assertThat(copiesOf(bob, subject)).as("copies in " + bob.address() + "'s INBOX").isEqualTo(1);
    }

    /**
     * The mailbox stores an appended message and then publishes its event over RabbitMQ. With
     * RabbitMQ away, APPEND must still succeed (a client told NO appends the message again,
     * and a delivery that sees a failure stores it again), and once RabbitMQ is back the event
     * kept meanwhile must reach the search index.
     */
    @Test
    void anImapAppendDuringARabbitMqOutageIsStoredOnceAndSearchableOnceItIsBack() throws Exception {
        String word = "outage" + UUID.randomUUID().toString().replace("-", "");
        String subject = "appended while RabbitMQ is away " + word;
        byte[] message = MailFlowTest.message("sender@outside.test", alice.address(), subject, "stored once")
            .getBytes(StandardCharsets.US_ASCII);
        long uid;
        // The session selects INBOX first: SELECT itself needs RabbitMQ (it subscribes to the
        // mailbox's events), APPEND must not.
        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), alice.address(), alice.password())) {
            launcher.scriptMustSucceed(STEP, "launcher/services/rabbitmq.sh", "stop");
            try {
                uid = imap.append(message, new Date(), new Flags());
            } finally {
                launcher.scriptMustSucceed(STEP, "launcher/services/rabbitmq.sh", "start");
            }
        }
        assertThat(copiesOf(alice, subject)).as("copies of the message appended during the outage").isEqualTo(1);

        SortedSet<Long> found = new TreeSet<>();
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (found.isEmpty() && System.nanoTime() < deadline) {
            try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), alice.address(), alice.password())) {
                found = imap.uidSearch("SUBJECT " + word);
            }
            Thread.sleep(1000);
        }
        assertThat(found).as("UID SEARCH SUBJECT after RabbitMQ came back").containsExactly(uid);
    }

    /**
     * A queued reference whose message is gone (what a broker restart leaves when it loses the
     * acknowledgement of mail already delivered, whose blobs were then deleted) is set aside by
     * the queue instead of being retried for ever, and the operator sees it in webadmin, where
     * looking leaves it in place and DELETE discards it.
     */
    @Test
    void aReferenceWhoseMessageIsGoneIsSetAsideAndShownInWebadmin() throws Exception {
        String subject = "set aside " + UUID.randomUUID();
        ObjectMapper json = new ObjectMapper();
        String orphanEnqueueId = UUID.randomUUID().toString();
        queueWithACopy(subject, List.of(alice), reference -> {
            try {
                ObjectNode orphan = (ObjectNode) json.readTree(reference);
                orphan.put("enqueueId", orphanEnqueueId);
                orphan.put("headerBlobId", UUID.randomUUID().toString());
                orphan.put("bodyBlobId", UUID.randomUUID().toString());
                return json.writeValueAsBytes(orphan);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY);

        WebAdmin webadmin = new WebAdmin(cluster);
        String deadLetters = "/mailQueues/delivery/deadLetters?limit=1000";
        JsonNode setAside = json.readTree(webadmin.get(deadLetters));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (enqueued(setAside, orphanEnqueueId) == null && System.nanoTime() < deadline) {
            Thread.sleep(500);
            setAside = json.readTree(webadmin.get(deadLetters));
        }
        JsonNode orphan = enqueued(setAside, orphanEnqueueId);
        assertThat(orphan).as("the reference whose message is gone, in " + setAside).isNotNull();
        assertThat(orphan.path("recipients").toString()).contains(alice.address());
        long count = setAside.path("count").asLong();
        assertThat(json.readTree(webadmin.get(deadLetters)).path("count").asLong()).as("after looking").isEqualTo(count);

        HttpResponse<String> discarded = webadmin.send("DELETE", "/mailQueues/delivery/deadLetters", null);
        assertThat(discarded.statusCode()).isEqualTo(200);
        assertThat(json.readTree(discarded.body()).path("discarded").asLong()).isEqualTo(count);
        assertThat(json.readTree(webadmin.get(deadLetters)).path("count").asLong()).as("after DELETE").isZero();
        assertThat(webadmin.send("GET", "/mailQueues/no-such-queue/deadLetters", null).statusCode()).isEqualTo(404);
        assertThat(copiesOf(alice, subject)).as("copies delivered").isEqualTo(1);
    }

    static JsonNode enqueued(JsonNode deadLetters, String enqueueId) {
        for (JsonNode mail : deadLetters.path("mails")) {
            if (enqueueId.equals(mail.path("enqueueId").asText())) {
                return mail;
            }
        }
        return null;
    }

    /**
     * With no mailbox node running, sends {@code subject} through an MX to {@code recipients},
     * puts {@code copyOf} the reference the MX queued on the delivery queue beside it, and
     * starts the mailbox node again, which then finds both waiting. The copy is published as
     * the MX publishes, through the queue's exchange: a dead-lettered message keeps its routing
     * key, and only James's reaches the queue's dead-letter queue.
     */
    void queueWithACopy(String subject, List<TestUser> recipients, UnaryOperator<byte[]> copyOf) throws Exception {
        String deliveryQueue = "JamesMailQueue-workqueue-delivery";
        ConnectionFactory rabbitMq = new ConnectionFactory();
        rabbitMq.setUri(cluster.rabbitmq());
        launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "stop-one", "mailbox1");
        try (Connection connection = rabbitMq.newConnection(); Channel channel = connection.createChannel()) {
            try (Smtp smtp = Smtp.connect(cluster.mx().get(0))) {
                assertThat(smtp.ehlo("client.test")).isEqualTo(250);
                assertThat(smtp.mailFrom("sender@outside.test")).isEqualTo(250);
                for (TestUser recipient : recipients) {
                    assertThat(smtp.rcptTo(recipient.address())).isEqualTo(250);
                }
                assertThat(smtp.data(MailFlowTest.message("sender@outside.test",
                    recipients.stream().map(TestUser::address).collect(Collectors.joining(", ")),
                    subject, "queued once, then found beside a copy of itself"))).isEqualTo(250);
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (channel.queueDeclarePassive(deliveryQueue).getMessageCount() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            GetResponse queued = channel.basicGet(deliveryQueue, false);
            assertThat(queued).as("the mail handed to the delivery queue by the MX").isNotNull();
            channel.confirmSelect();
            channel.basicPublish(queued.getEnvelope().getExchange(), queued.getEnvelope().getRoutingKey(), queued.getProps(),
                copyOf.apply(queued.getBody()));
            channel.waitForConfirmsOrDie(10_000);
            channel.basicNack(queued.getEnvelope().getDeliveryTag(), false, true);
            deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (channel.queueDeclarePassive(deliveryQueue).getMessageCount() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertThat(channel.queueDeclarePassive(deliveryQueue).getMessageCount())
                .as("the mail and its copy waiting in the delivery queue").isEqualTo(2);
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "start-one", "mailbox1");
        }
    }

    long copiesOf(TestUser user, String subject) throws Exception {
        return user.inbox(cluster).messages().stream().filter(m -> m.contains(subject)).count();
    }

    /**
     * Waits until RabbitMQ has held no delivery mail for 15 s, neither waiting nor being
     * processed nor delayed: longer than a copy held back while another was being stored
     * takes to come back (the deferred processor's first delay, 10 s), and than the broker's
     * statistics lag (5 s), so a late duplicate would be in the INBOX by then.
     */
    void awaitDeliveryQueueSettled() throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        long emptySince = System.nanoTime();
        while (System.nanoTime() < deadline) {
            if (RabbitMqQueues.of(cluster).messagesIn(name -> name.equals("JamesMailQueue-workqueue-delivery")
                    || name.startsWith("mailcluster-delay-delivery-")) > 0) {
                emptySince = System.nanoTime();
            } else if (System.nanoTime() - emptySince > Duration.ofSeconds(15).toNanos()) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("RabbitMQ still held delivery mail 3 minutes after it was delivered");
    }
}
