package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * The promise of RFC 5321 6.1: once an MX said 250, the message is not lost, even when that MX
 * dies the next instant. 500 messages are sent by several senders behaving as sending MTAs do
 * (on a 4xx or a dead connection, try again, on another MX of equal preference); midway, one MX
 * node is killed with SIGKILL, or stopped gracefully (SIGTERM). Every message that got a 250
 * must reach the mailbox.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MxCrashTest {

    static final int MESSAGES = 500;
    static final int SENDERS = 4;

    LocalCluster launcher;
    ClusterEndpoints cluster;
    /** The recipient of the run under way: each run has its own, so that reading its mailbox stays cheap. */
    volatile TestUser alice;

    @BeforeAll
    void setUp(LocalCluster launcher, ClusterEndpoints cluster) {
        this.launcher = launcher;
        this.cluster = cluster;
    }

    @Test
    void noMessageAcceptedIsLostWhenAnMxIsKilledMidRun() throws Exception {
        Outcome outcome = sendWhile("kill", "crash");
        assertThat(outcome.accepted()).as("messages accepted (250) by some MX").hasSize(MESSAGES);
        assertThat(outcome.lost()).as("messages that got 250 but never reached the mailbox").isEmpty();
        assertSendersFoundMx1Gone(outcome);
        // A sender that lost its 250 with the killed MX sends the same message again: it is
        // recognised (same Message-ID, sender and body) and stored once.
        assertThat(outcome.duplicated()).as("messages delivered twice after a kill").isZero();
        assertThat(outcome.searchable()).as("messages IMAP SEARCH finds, against those fetched").isEqualTo(outcome.fetched());
    }

    /**
     * A graceful stop (SIGTERM, as Kubernetes and {@code ./mailcluster down} send): the MX stops
     * accepting connections, what it accepted is delivered, and nothing is delivered twice.
     */
    @Test
    void aGracefulStopOfAnMxStopsAcceptingAndLosesNothing() throws Exception {
        Outcome outcome = sendWhile("stop-one", "stop");
        assertSendersFoundMx1Gone(outcome);
        assertThat(outcome.accepted()).as("messages accepted (250) by some MX").hasSize(MESSAGES);
        assertThat(outcome.lost()).as("messages that got 250 but never reached the mailbox").isEmpty();
        assertThat(outcome.duplicated()).as("messages delivered twice after a graceful stop").isZero();
        assertThat(outcome.searchable()).as("messages IMAP SEARCH finds, against those fetched").isEqualTo(outcome.fetched());
    }

    /**
     * What senders saw of mx1 while it was down, from their own attempts during the run (not a
     * probe after the fact): some tried it, and every one of those connections was refused.
     */
    static void assertSendersFoundMx1Gone(Outcome outcome) {
        assertThat(outcome.attemptsOnDownMx()).as("senders' attempts on mx1 while it was down").isPositive();
        assertThat(outcome.refusedOnDownMx()).as("of those, refused connections").isPositive();
        // A connection may also fail otherwise (a timeout on a loaded machine): what must never
        // happen is an answer from the MX that is down.
        assertThat(outcome.answeredOnDownMx()).as("attempts on mx1 while it was down that it answered").isEmpty();
    }

    record Outcome(Set<Integer> accepted, List<Integer> lost, long duplicated, long attemptsOnDownMx, long refusedOnDownMx,
                   List<String> answeredOnDownMx, long fetched, long searchable) {
    }

    /** Senders' attempts on mx1 made after the kill or stop returned, and how many of those were refused. */
    final AtomicInteger attemptsOnDownMx = new AtomicInteger();
    final AtomicInteger refusedOnDownMx = new AtomicInteger();
    /** What mx1 answered while it was down (a reply code, or a greeting): must stay empty. */
    final List<String> answeredOnDownMx = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    volatile boolean mx1Down;

    /** Sends MESSAGES while {@code nodes.sh VERB mx1} happens a third of the way through. */
    Outcome sendWhile(String verb, String label) throws Exception {
        List<InetSocketAddress> mx = cluster.mx();
        String batch = label + " " + UUID.randomUUID();
        Set<Integer> accepted = ConcurrentHashMap.newKeySet();
        AtomicInteger temporaryFailures = new AtomicInteger();
        AtomicInteger next = new AtomicInteger();
        ExecutorService senders = Executors.newFixedThreadPool(SENDERS);
        List<Future<?>> running = new ArrayList<>();
        alice = TestUser.create(cluster, "crash-" + label);
        mx1Down = false;
        attemptsOnDownMx.set(0);
        refusedOnDownMx.set(0);
        answeredOnDownMx.clear();
        for (int s = 0; s < SENDERS; s++) {
            running.add(senders.submit(() -> {
                for (int n = next.getAndIncrement(); n < MESSAGES; n = next.getAndIncrement()) {
                    if (sendLikeAnMta(mx, batch, n, temporaryFailures)) {
                        accepted.add(n);
                    }
                }
                return null;
            }));
        }
        try {
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (accepted.size() < MESSAGES / 3) {
                assertThat(System.nanoTime()).as("a third of the messages accepted within 5 minutes").isLessThan(deadline);
                Thread.sleep(50);
            }
            launcher.scriptMustSucceed(Duration.ofMinutes(2), "launcher/nodes.sh", verb, "mx1");
            mx1Down = true;
            for (Future<?> sender : running) {
                sender.get(10, TimeUnit.MINUTES);
            }
        } finally {
            senders.shutdownNow();
            mx1Down = false;
            launcher.scriptMustSucceed(Duration.ofMinutes(5), "launcher/nodes.sh", "start-one", "mx1");
        }

        Mailbox inbox = alice.inbox(cluster);
        inbox.awaitMessages(all -> numbers(all, batch).keySet().containsAll(accepted), Duration.ofMinutes(3));
        Thread.sleep(3000);
        Map<Integer, Long> delivered = numbers(inbox.messages(), batch);
        List<Integer> lost = accepted.stream().filter(n -> !delivered.containsKey(n)).sorted().toList();
        long duplicated = delivered.values().stream().filter(copies -> copies > 1).count();
        System.out.printf("MxCrashTest (%s): sent %d, accepted %d, temporary failures %d, delivered %d, lost %d, duplicated %d%n",
            verb, MESSAGES, accepted.size(), temporaryFailures.get(), delivered.size(), lost.size(), duplicated);
        long fetched = delivered.values().stream().mapToLong(Long::longValue).sum();
        long searchable = searchable(batch, fetched);
        return new Outcome(accepted, lost, duplicated, attemptsOnDownMx.get(), refusedOnDownMx.get(), List.copyOf(answeredOnDownMx),
            fetched, searchable);
    }

    /** How many messages of the batch IMAP SEARCH finds by subject, once it finds as many as were fetched or 2 minutes passed. */
    long searchable(String batch, long fetched) throws Exception {
        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), alice.address(), alice.password())) {
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            long found = imap.uidSearch("SUBJECT \"" + batch + "\"").size();
            while (found != fetched && System.nanoTime() < deadline) {
                Thread.sleep(2000);
                found = imap.uidSearch("SUBJECT \"" + batch + "\"").size();
            }
            return found;
        }
    }

    /** One message, retried on another MX after a 4xx or a broken connection, as an MTA would. */
    boolean sendLikeAnMta(List<InetSocketAddress> mx, String batch, int n, AtomicInteger temporaryFailures) throws InterruptedException {
        String message = MailFlowTest.message("load@outside.test", alice.address(), "crash " + batch + " #" + n + " #", "message " + n);
        for (int attempt = 0; attempt < 30; attempt++) {
            InetSocketAddress server = mx.get(ThreadLocalRandom.current().nextInt(mx.size()));
            boolean onDownMx = mx1Down && server.equals(mx.get(0));
            if (onDownMx) {
                attemptsOnDownMx.incrementAndGet();
            }
            try {
                int code = Smtp.send(server, "load@outside.test", alice.address(), message);
                if (onDownMx) {
                    answeredOnDownMx.add("message " + n + ": " + code);
                }
                if (code == 250) {
                    return true;
                }
                if (code >= 500) {
                    throw new AssertionError("message " + n + " refused for good by " + server + ": " + code);
                }
            } catch (java.net.ConnectException refused) {
                // that MX is gone; an MTA tries the next one
                if (onDownMx) {
                    refusedOnDownMx.incrementAndGet();
                }
            } catch (IOException connectionFailed) {
                // reset or timed out mid-session: an MTA tries again, on the next MX
                if (onDownMx && String.valueOf(connectionFailed.getMessage()).startsWith("greeting from")) {
                    answeredOnDownMx.add("message " + n + ": " + connectionFailed.getMessage());
                }
            }
            temporaryFailures.incrementAndGet();
            Thread.sleep(200);
        }
        return false;
    }

    static Map<Integer, Long> numbers(List<String> messages, String batch) {
        String marker = "crash " + batch + " #";
        return messages.stream()
            .filter(m -> m.contains(marker))
            .map(m -> Integer.parseInt(m.substring(m.indexOf(marker) + marker.length(), m.indexOf(" #", m.indexOf(marker) + marker.length()))))
            .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    }
}
