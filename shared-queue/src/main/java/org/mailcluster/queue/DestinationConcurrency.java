package org.mailcluster.queue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToIntFunction;

import org.apache.james.core.MailAddress;
import org.apache.james.queue.api.MailQueue;
import org.apache.mailet.Mail;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Postfix's queue manager for the outgoing queue: it hands remote delivery at most
 * {@code total} mails at once, and at most the destination's limit for one destination domain
 * ({@link org.mailcluster.limits.DestinationLimits}); James's remote delivery opens one
 * connection per mail, so that bounds the connections to each domain from this node.
 *
 * <p>A dequeued mail whose domain is at its limit waits here, in memory and unacknowledged in
 * RabbitMQ (a node that dies with it loses nothing: the broker hands it out again), while mail
 * for other domains behind it goes ahead. It leaves, oldest first, as soon as a delivery to its
 * domain finishes. How many can wait is bounded by the queue's prefetch ({@link #prefetch}):
 * when every waiting mail is for saturated domains, this node takes nothing more from the
 * queue until one of them finishes, and the other nodes go on consuming.
 *
 * <p>RemoteDelivery groups recipients by domain before it queues, so a mail has one
 * destination domain.
 */
public final class DestinationConcurrency {
    /** How many mails may wait for a saturated destination, per delivery slot. */
    static final int WAITING_PER_SLOT = 4;

    private final int total;
    private final ToIntFunction<String> limitOf;
    private final Map<String, Integer> inFlight = new HashMap<>();
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private int inFlightTotal;

    private record Waiting(String domain, MailQueue.MailQueueItem item, MonoSink<MailQueue.MailQueueItem> sink) {
    }

    /**
     * @param total   deliveries at once on this node ({@code MC_REMOTE_DELIVERY_THREADS})
     * @param limitOf the connection limit of a destination domain, asked at each admission
     */
    public DestinationConcurrency(int total, ToIntFunction<String> limitOf) {
        if (total < 1) {
            throw new IllegalArgumentException("total must be at least 1 (was " + total + ")");
        }
        this.total = total;
        this.limitOf = limitOf;
    }

    /** The prefetch the outgoing queue's consumer needs: the delivery slots and room for mail waiting behind them. */
    public int prefetch() {
        return total * (1 + WAITING_PER_SLOT);
    }

    /** The dequeued mail, each released when both limits allow it; done() frees its slot. */
    public Flux<MailQueue.MailQueueItem> admit(Flux<MailQueue.MailQueueItem> dequeued) {
        return dequeued.flatMap(item -> Mono.<MailQueue.MailQueueItem>create(sink -> offer(item, sink)), prefetch() + 1);
    }

    /** Deliveries under way per destination domain on this node, for webadmin. */
    public synchronized Map<String, Integer> inFlight() {
        return new TreeMap<>(inFlight);
    }

    /** Mails waiting for a saturated destination, per domain. */
    public synchronized Map<String, Integer> waiting() {
        Map<String, Integer> byDomain = new TreeMap<>();
        waiting.forEach(entry -> byDomain.merge(entry.domain(), 1, Integer::sum));
        return byDomain;
    }

    static String destinationOf(Mail mail) {
        return mail.getRecipients().stream().findFirst()
            .map(MailAddress::getDomain)
            .map(domain -> domain.asString().toLowerCase(Locale.ROOT))
            .orElse("");
    }

    private void offer(MailQueue.MailQueueItem item, MonoSink<MailQueue.MailQueueItem> sink) {
        String domain = destinationOf(item.getMail());
        boolean admitted;
        synchronized (this) {
            admitted = waiting.isEmpty() && admissible(domain);
            if (admitted) {
                take(domain);
            } else {
                waiting.add(new Waiting(domain, item, sink));
            }
        }
        if (admitted) {
            sink.success(new Admitted(item, domain));
        } else {
            // Waiting mail ahead of this one may be for saturated domains only; this one may
            // still go (its own domain free), so look again rather than wait for a release.
            admitWaiting();
        }
    }

    private boolean admissible(String domain) {
        return inFlightTotal < total && inFlight.getOrDefault(domain, 0) < Math.max(1, limitOf.applyAsInt(domain));
    }

    private void take(String domain) {
        inFlight.merge(domain, 1, Integer::sum);
        inFlightTotal++;
    }

    private void release(String domain) {
        synchronized (this) {
            inFlight.computeIfPresent(domain, (d, count) -> count > 1 ? count - 1 : null);
            inFlightTotal--;
        }
        admitWaiting();
    }

    /** Lets go, oldest first, every waiting mail the limits now allow. */
    private void admitWaiting() {
        List<Waiting> admitted = new ArrayList<>();
        synchronized (this) {
            for (Iterator<Waiting> it = waiting.iterator(); it.hasNext() && inFlightTotal < total; ) {
                Waiting next = it.next();
                if (admissible(next.domain())) {
                    take(next.domain());
                    it.remove();
                    admitted.add(next);
                }
            }
        }
        admitted.forEach(next -> next.sink().success(new Admitted(next.item(), next.domain())));
    }

    /** A mail handed to remote delivery: its slot is freed once, when it is done with. */
    private final class Admitted implements MailQueue.MailQueueItem {
        private final MailQueue.MailQueueItem item;
        private final String domain;
        private final AtomicBoolean released = new AtomicBoolean();

        Admitted(MailQueue.MailQueueItem item, String domain) {
            this.item = item;
            this.domain = domain;
        }

        @Override
        public Mail getMail() {
            return item.getMail();
        }

        @Override
        public void done(CompletionStatus status) throws MailQueue.MailQueueException {
            try {
                item.done(status);
            } finally {
                if (released.compareAndSet(false, true)) {
                    release(domain);
                }
            }
        }
    }
}
