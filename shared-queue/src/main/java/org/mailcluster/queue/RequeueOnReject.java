package org.mailcluster.queue;

import java.time.Duration;

import org.apache.james.queue.api.MailQueue;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.publisher.Mono;

/**
 * A dequeued mail that is never dead-lettered: when its consumer gives up on it
 * ({@code REJECT}), it goes back to its queue after a pause instead.
 *
 * <p>Why: James's spooler rejects a mail when processing failed and putting it back on the
 * queue failed too, which is what happens while RabbitMQ is restarting. A rejected reference
 * goes to the queue's RabbitMQ dead-letter queue, which nothing consumes: mail we had answered
 * {@code 250} for was lost that way in chaos runs. A reference whose blobs are gone is still
 * dead-lettered, by the queue itself before any consumer sees it ({@link QueuedMessageStores}).
 * The pause keeps a mail from cycling through the spooler while the broker is away.
 */
final class RequeueOnReject implements MailQueue.MailQueueItem {
    private static final Logger LOGGER = LoggerFactory.getLogger(RequeueOnReject.class);
    static final Duration PAUSE = Duration.ofSeconds(5);

    private final MailQueue.MailQueueItem item;
    private final String queue;

    RequeueOnReject(MailQueue.MailQueueItem item, String queue) {
        this.item = item;
        this.queue = queue;
    }

    @Override
    public Mail getMail() {
        return item.getMail();
    }

    @Override
    public void done(CompletionStatus status) throws MailQueue.MailQueueException {
        if (status != CompletionStatus.REJECT) {
            item.done(status);
            return;
        }
        String name = item.getMail().getName();
        LOGGER.warn("{} could not be processed nor put back on {}; it returns to the queue in {} s", name, queue, PAUSE.toSeconds());
        Mono.delay(PAUSE)
            .doOnNext(ignored -> {
                try {
                    item.done(CompletionStatus.RETRY);
                } catch (MailQueue.MailQueueException e) {
                    // The broker keeps an unacknowledged message and redelivers it when the
                    // channel closes, so the mail still is not lost.
                    LOGGER.warn("Could not requeue {} on {}; RabbitMQ redelivers it when the channel closes", name, queue, e);
                }
            })
            .subscribe();
    }
}
