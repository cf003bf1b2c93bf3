package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Predicate;
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
import com.datastax.oss.driver.api.core.CqlSession;
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
    /** The queue of each node's event bus listeners registered by key (one per node and bus). */
    static final Predicate<String> KEY_QUEUES = name -> name.matches("(mailbox|jmap)Event-eventbus-.*");

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
        RabbitMqQueues rabbitMq = RabbitMqQueues.of(cluster);
        // The management API's consumer counts lag (stats every 5 s), more so on a node that an
        // earlier test restarted: wait for them rather than read them once.
        Set<String> keyQueuesReadBefore = rabbitMq.read(KEY_QUEUES);
        for (long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
             keyQueuesReadBefore.isEmpty() && System.nanoTime() < deadline; keyQueuesReadBefore = rabbitMq.read(KEY_QUEUES)) {
            Thread.sleep(2000);
        }
        assertThat(keyQueuesReadBefore).as("the mailbox node's event bus key queues, read by a consumer").isNotEmpty();
        double lostBefore = MetricsTest.tierTotal(cluster, "mx", "mailcluster_backend_errors_total", "kind=\"connection-lost\"");
        launcher.scriptMustSucceed(STEP, "launcher/services/rabbitmq.sh", "stop");
        int code;
        try {
            code = Smtp.send(cluster.mx().get(0), "sender@outside.test", alice.address(),
                MailFlowTest.message("sender@outside.test", alice.address(), during, "must not be accepted"));
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/services/rabbitmq.sh", "start");
        }
        assertThat(code).as("reply at DATA while the queue is unavailable").isBetween(400, 499);

        // Several messages: after an outage a node once kept a consumer the RabbitMQ client had
        // recovered for a subscription James had given up; the events it was handed (up to its
        // prefetch, ten) never reached the search index.
        String after = "after outage " + UUID.randomUUID();
        int sent = 20;
        for (int i = 0; i < sent; i++) {
            assertThat(Smtp.send(cluster.mx().get(i % cluster.mx().size()), "sender@outside.test", alice.address(),
                MailFlowTest.message("sender@outside.test", alice.address(), after, "accepted after the outage, " + i))).isEqualTo(250);
        }
        List<String> messages = awaitAfterFault(alice, after, sent);
        assertThat(messages).filteredOn(m -> m.contains(after)).hasSize(sent);
        assertThat(messages).noneMatch(m -> m.contains(during));
        assertSearchFinds(alice, after, sent);
        assertThat(MetricsTest.tierTotal(cluster, "mx", "mailcluster_backend_errors_total", "kind=\"connection-lost\"") - lostBefore)
            .as("each MX node's RabbitMQ connection lost, on /metrics").isGreaterThanOrEqualTo(cluster.mx().size());

        // Every node consumes its own key queue again (IMAP IDLE and the listeners registered by
        // key on another node are fed from it): once James's bus gave it up after an outage.
        Set<String> unread = new TreeSet<>(keyQueuesReadBefore);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!unread.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(2000);
            unread.removeAll(rabbitMq.read(KEY_QUEUES));
        }
        assertThat(unread).as("event bus key queues read before the outage that no node reads after it").isEmpty();
    }

    /**
     * The inbox once {@code sent} mails with {@code subject} are in it. Mail a node failed to hand
     * on right after a fault comes back after a retry delay (10 s, then 30 s): it is late, not
     * lost, so it is waited for; what is missing after that is named.
     */
    List<String> awaitAfterFault(TestUser user, String subject, int sent) throws Exception {
        long start = System.nanoTime();
        List<String> messages = user.inbox(cluster).awaitMessages(
            all -> all.stream().filter(m -> m.contains(subject)).count() >= sent, MailFlowTest.DELIVERY.plus(Duration.ofMinutes(2)));
        long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
        if (seconds > MailFlowTest.DELIVERY.toSeconds()) {
            System.out.printf("FaultToleranceTest: the last of %d mails \"%s\" came after %d s%n", sent, subject, seconds);
        }
        return messages;
    }

    /** What a user who searches sees: SEARCH finds as many as were delivered. */
    void assertSearchFinds(TestUser user, String subject, int copies) throws Exception {
        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), user.address(), user.password())) {
            assertThat(awaitSearch(imap, "SUBJECT \"" + subject + "\"", found -> found.size() >= copies))
                .as("found by SEARCH on its subject").hasSize(copies);
        }
    }

    @Test
    void mailAcceptedWhileTheMailboxNodeIsDownIsDeliveredOnceItStarts() throws Exception {
        String subject = "while mailbox tier down " + UUID.randomUUID();
        // Enough mail that the node is still storing it while it registers its mailbox
        // listeners: an event taken before the search index registered was once lost to it.
        int perMx = 10;
        int sent = perMx * cluster.mx().size();
        launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "stop-one", "mailbox1");
        try {
            for (var mx : cluster.mx()) {
                for (int i = 0; i < perMx; i++) {
                    assertThat(Smtp.send(mx, "sender@outside.test", alice.address(),
                        MailFlowTest.message("sender@outside.test", alice.address(), subject, "queued for later via " + mx + ", " + i)))
                        .as("DATA reply of " + mx + " with the mailbox tier down").isEqualTo(250);
                }
            }
            // The mailbox tier's webadmin is down with it: ask an MX node's (same port).
            WebAdmin mxWebadmin = new WebAdmin(java.net.URI.create("http://" + cluster.mx().get(0).getHostString()
                + ":" + cluster.webadmin().getPort()), cluster.webadminAuth());
            long waiting = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (waiting < sent && System.nanoTime() < deadline) {
                Thread.sleep(500);
                waiting = mxWebadmin.queueSize("delivery");
            }
            assertThat(waiting).as("mails waiting in the delivery queue while no mailbox node runs")
                .isGreaterThanOrEqualTo(sent);
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "start-one", "mailbox1");
        }
        List<String> messages = awaitAfterFault(alice, subject, sent);
        Thread.sleep(3000);
        assertThat(copiesOf(alice, subject)).as("copies delivered of the mails sent through " + cluster.mx()).isEqualTo(sent);
        assertThat(messages).isNotEmpty();
        assertSearchFinds(alice, subject, sent);
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
     * A user's vacation reply must not be skipped because its data could not be read: the mail
     * waits (deferred) and is delivered with its reply once the data is readable. The fault is
     * made precise by dropping the table of who was already answered, which the reply needs to
     * read, while the rest of Cassandra answers; James's own VacationMailet logged that and
     * delivered without a reply.
     */
    @Test
    void aVacationReplyIsNotSkippedWhenTheVacationDataCannotBeRead() throws Exception {
        TestUser away = TestUser.create(cluster, "away");
        TestUser writer = TestUser.create(cluster, "writer");
        // Before the vacation is set, so that this message gets no reply of its own.
        assertDeliveryWorks(writer.address(), away);
        Jmap jmap = Jmap.login(cluster.jmap(), away.address(), away.password());
        ObjectNode set = Jmap.JSON.createObjectNode();
        set.putObject("update").putObject("singleton")
            .put("isEnabled", true)
            .put("subject", "Away until Monday")
            .put("textBody", "I am away, back on Monday.");
        JsonNode updated = jmap.call("VacationResponse/set", set, "urn:ietf:params:jmap:vacationresponse");
        assertThat(updated.path("updated").has("singleton")).as("VacationResponse/set: " + updated).isTrue();

        String subject = "while away " + UUID.randomUUID();
        assertHeldWhileTableIsGone("vacation_notification_registry", "(accountid text, recipientid text, PRIMARY KEY (accountid, recipientid))",
            writer.address(), away, subject, "are you there?", "delivered although the vacation data could not be read");

        List<String> delivered = away.inbox(cluster)
            .awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), STEP);
        assertThat(delivered).filteredOn(m -> m.contains(subject)).hasSize(1);
        List<String> replies = writer.inbox(cluster)
            .awaitMessages(all -> all.stream().anyMatch(m -> m.contains("back on Monday")), MailFlowTest.DELIVERY);
        assertThat(replies).as("the vacation reply").filteredOn(m -> m.contains("back on Monday")).hasSize(1);
    }

    /**
     * A user's filtering rule must not be skipped because the rules could not be read: the mail
     * waits (deferred) and lands where the rule says once they are readable. The rules live in
     * Cassandra's event store; the fault is that table gone for a moment (the rest of Cassandra
     * answers). James's configuration ignored JMAPFiltering's failures and filed the mail in INBOX.
     */
    @Test
    void aFilterRuleIsNotSkippedWhenTheRulesCannotBeRead() throws Exception {
        TestUser user = TestUser.create(cluster, "filtered");
        Jmap jmap = Jmap.login(cluster.jmap(), user.address(), user.password());
        ObjectNode create = Jmap.JSON.createObjectNode();
        create.putObject("create").putObject("m1").put("name", "Invoices");
        String invoices = jmap.call("Mailbox/set", create).path("created").path("m1").path("id").asText();
        assertThat(invoices).as("the Invoices mailbox's id").isNotEmpty();
        String token = "invoice" + UUID.randomUUID().toString().replace("-", "");
        String rules = "[{\"id\":\"1\",\"name\":\"invoices\",\"condition\":{\"field\":\"subject\",\"comparator\":\"contains\","
            + "\"value\":\"" + token + "\"},\"mailboxIds\":[\"" + invoices + "\"]}]";
        WebAdmin webAdmin = new WebAdmin(cluster);
        assertThat(webAdmin.send("PUT", "/users/" + user.address() + "/filters", rules).statusCode()).isEqualTo(204);
        assertThat(webAdmin.get("/users/" + user.address() + "/filters")).contains(token).contains(invoices);
        HttpResponse<String> refused = webAdmin.send("PUT", "/users/" + user.address() + "/filters", "[{\"id\":\"1\"}]");
        assertThat(refused.statusCode()).as("a rule without its condition").isEqualTo(400);
        assertThat(refused.body()).as("the refusal names the field").contains("[0].condition");
        assertThat(webAdmin.get("/users/" + user.address() + "/filters")).as("nothing half-written").contains(token);

        String subject = "your " + token;
        assertDeliveryWorks("billing@outside.test", user);
        assertHeldWhileTableIsGone("eventstore", "(aggregateid text, eventid int, event text, snapshot int static, PRIMARY KEY (aggregateid, eventid))",
            "billing@outside.test", user, subject, "pay me", "delivered to INBOX although the rules could not be read");
        // The rules went with the table: define them again, as the user's client would.
        assertThat(webAdmin.send("PUT", "/users/" + user.address() + "/filters", rules).statusCode()).isEqualTo(204);

        long deadline = System.nanoTime() + STEP.toNanos();
        List<String> filed = jmap.query(invoices, null, null);
        while (filed.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(2000);
            filed = jmap.query(invoices, null, null);
        }
        assertThat(filed).as("in the mailbox the rule names").hasSize(1);
        assertThat(copiesOf(user, subject)).as("in INBOX").isZero();
    }

    /**
     * Cassandra restarts while mail flows: what was accepted just before (some of it still
     * being handed from tier to tier), and what senders get through after it returns, is each
     * stored once and found by SEARCH. While Cassandra is down the MX must not answer 250.
     */
    @Test
    void mailSentAroundACassandraRestartIsStoredOnceAndSearchable() throws Exception {
        TestUser user = TestUser.create(cluster, "around");
        String batch = "around " + UUID.randomUUID();
        int before = 10;
        int after = 10;
        for (int i = 0; i < before; i++) {
            assertThat(Smtp.send(cluster.mx().get(i % cluster.mx().size()), "sender@outside.test", user.address(),
                MailFlowTest.message("sender@outside.test", user.address(), batch + String.format(" #%02d", i), "before"))).isEqualTo(250);
        }
        launcher.scriptMustSucceed(STEP, "launcher/services/cassandra.sh", "stop");
        try {
            int during;
            try {
                during = Smtp.send(cluster.mx().get(0), "sender@outside.test", user.address(),
                    MailFlowTest.message("sender@outside.test", user.address(), "during " + batch, "not accepted"));
            } catch (java.io.IOException closed) {
                during = 0;
            }
            assertThat(during).as("the MX's answer with Cassandra down").isNotEqualTo(250);
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/services/cassandra.sh", "start");
        }
        for (int i = before; i < before + after; i++) {
            assertThat(Smtp.sendRetrying(cluster.mx(), "sender@outside.test", user.address(),
                MailFlowTest.message("sender@outside.test", user.address(), batch + String.format(" #%02d", i), "after"), STEP))
                .as("message " + i + ", sent like an MTA once Cassandra is back").isEqualTo(250);
        }

        // The first IMAP logins after the restart may be dropped (the node's Cassandra session
        // reconnecting); a user's client logs in again, so does this wait.
        long deadline = System.nanoTime() + STEP.toNanos();
        while (true) {
            try {
                user.inbox(cluster).awaitMessages(all -> all.stream().filter(m -> m.contains(batch + " #")).count() >= before + after,
                    Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                break;
            } catch (javax.mail.MessagingException dropped) {
                assertThat(System.nanoTime()).as("IMAP answering again within " + STEP + ": " + dropped).isLessThan(deadline);
                Thread.sleep(2000);
            }
        }
        awaitDeliveryQueueSettled();
        for (int i = 0; i < before + after; i++) {
            assertThat(copiesOf(user, batch + String.format(" #%02d", i))).as("copies of message " + i).isEqualTo(1);
        }
        assertSearchFinds(user, batch, before + after);
    }

    /**
     * A mailbox node stored a recipient's copy and died before marking it stored in the
     * delivery log; the queue then hands the mail out again. The row such a node leaves is
     * written here as it would have (a lapsed claim naming the target mailbox and the first UID
     * the copy could get), the copy is appended as that node would have, and its search index
     * document is removed (the node died before publishing its event). The redelivered copy must
     * find the stored one, store nothing, and make it searchable.
     */
    @Test
    void aCopyStoredByANodeThatDiedBeforeMarkingItIsNotStoredAgain() throws Exception {
        TestUser frank = TestUser.create(cluster, "frank");
        String sender = "sender@outside.test";
        String token = "stored" + UUID.randomUUID().toString().replace("-", "");
        String messageId = "<" + token + "@client.test>";
        String body = "stored before the crash " + token + "\r\n";
        String message = "From: <" + sender + ">\r\nTo: <" + frank.address() + ">\r\nSubject: " + token + "\r\n"
            + "Message-ID: " + messageId + "\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body;

        String inboxId = Jmap.login(cluster.jmap(), frank.address(), frank.password()).mailboxId("inbox");
        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), frank.address(), frank.password());
             CqlSession cassandra = cassandra()) {
            long uidFrom = imap.uidNext();
            cassandra.execute(com.datastax.oss.driver.api.core.cql.SimpleStatement.newInstance(
                "INSERT INTO " + KEYSPACE + ".delivery_claims (message, recipient, state, claimed_until, mailbox_id, uid_from) "
                    + "VALUES (?, ?, 'claimed', ?, ?, ?)",
                deliveryKey(messageId, sender, body), frank.address(), java.time.Instant.EPOCH, inboxId, uidFrom));
            long stored = imap.append(message.getBytes(StandardCharsets.UTF_8), new Date(), new Flags());
            assertThat(awaitSearch(imap, "BODY " + token, found -> !found.isEmpty())).as("the first copy is searchable").containsExactly(stored);
            assertThat(new SearchIndexDocuments(cluster).delete(inboxId, stored)).as("its index document removed").isEqualTo(1);
            assertThat(imap.uidSearch("BODY " + token)).as("the first copy no longer searchable").isEmpty();

            assertThat(Smtp.send(cluster.mx().get(0), sender, frank.address(), message)).isEqualTo(250);

            assertThat(awaitSearch(imap, "BODY " + token, found -> !found.isEmpty()))
                .as("the stored copy, searchable again").containsExactly(stored);
        }
        awaitDeliveryQueueSettled();
        assertThat(copiesOf(frank, token)).as("copies in " + frank.address() + "'s INBOX").isEqualTo(1);
    }

    static SortedSet<Long> awaitSearch(ImapFolderSession imap, String criteria, java.util.function.Predicate<SortedSet<Long>> done)
            throws Exception {
        long deadline = System.nanoTime() + MailFlowTest.DELIVERY.toNanos();
        SortedSet<Long> found = imap.uidSearch(criteria);
        while (!done.test(found) && System.nanoTime() < deadline) {
            Thread.sleep(1000);
            found = imap.uidSearch(criteria);
        }
        return found;
    }

    /** The delivery log's key of a message with a Message-ID (DeliveryLog.Delivery.key). */
    static String deliveryKey(String messageId, String sender, String body) throws Exception {
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        String bodyDigest = java.util.HexFormat.of().formatHex(sha.digest(body.getBytes(StandardCharsets.UTF_8)));
        return "message " + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
            .digest((messageId + "\n" + sender + "\n" + bodyDigest).getBytes(StandardCharsets.UTF_8)));
    }

    static final String KEYSPACE = "mailcluster";

    /**
     * A message to {@code to} arrives within {@link MailFlowTest#DELIVERY}: the proof that makes
     * a later "not delivered within 20 s" mean held back, not slow or broken.
     */
    void assertDeliveryWorks(String from, TestUser to) throws Exception {
        String control = "control " + UUID.randomUUID();
        assertThat(Smtp.send(cluster.mx().get(0), from, to.address(), MailFlowTest.message(from, to.address(), control, "control")))
            .isEqualTo(250);
        assertThat(to.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(control)), MailFlowTest.DELIVERY))
            .as("a control message, before the fault").anyMatch(m -> m.contains(control));
    }

    /**
     * With {@code table} dropped (the rest of Cassandra answering), a message to {@code to} is
     * accepted and then held back: not in the INBOX 20 s later. The table is created again,
     * empty, with {@code columns}, whatever happens.
     */
    void assertHeldWhileTableIsGone(String table, String columns, String from, TestUser to, String subject, String body,
                                    String notHeld) throws Exception {
        try (CqlSession cassandra = cassandra()) {
            schemaChange(cassandra, "DROP TABLE " + KEYSPACE + "." + table);
            try {
                assertThat(Smtp.send(cluster.mx().get(0), from, to.address(), MailFlowTest.message(from, to.address(), subject, body)))
                    .isEqualTo(250);
                List<String> inbox = to.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), Duration.ofSeconds(20));
                assertThat(inbox).as(notHeld).noneMatch(m -> m.contains(subject));
            } finally {
                schemaChange(cassandra, "CREATE TABLE IF NOT EXISTS " + KEYSPACE + "." + table + " " + columns);
            }
        }
    }

    /** Schema changes take longer than the driver's default two seconds. */
    static void schemaChange(CqlSession cassandra, String cql) {
        cassandra.execute(com.datastax.oss.driver.api.core.cql.SimpleStatement.newInstance(cql).setTimeout(Duration.ofMinutes(1)));
    }

    CqlSession cassandra() {
        return CqlSession.builder()
            .addContactPoint(cluster.cassandra())
            .withLocalDatacenter("datacenter1")
            .build();
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
