package org.mailcluster.queue;

import java.time.Duration;
import java.util.List;

import javax.mail.MessagingException;

import org.apache.james.queue.api.MailQueue;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Putting a mail into the next tier's queue, insisting for about two minutes: a RabbitMQ
 * restart takes tens of seconds, and James's own handling of a mailet error would store the
 * mail in the error repository at once, where it waits for an operator instead of being
 * delivered. Used by every mailet that hands mail on ({@code HandOff}, {@code InboundRouting}).
 */
public final class QueueHandOff {
    private static final Logger LOGGER = LoggerFactory.getLogger(QueueHandOff.class);
    /** Pauses between attempts: about two minutes in all. */
    static final List<Duration> RETRY_PAUSES = List.of(Duration.ofSeconds(1), Duration.ofSeconds(2),
        Duration.ofSeconds(4), Duration.ofSeconds(8), Duration.ofSeconds(15), Duration.ofSeconds(30),
        Duration.ofSeconds(30), Duration.ofSeconds(30));

    private QueueHandOff() {
    }

    /** Enqueues {@code mail} as it is; throws only once every attempt failed. */
    public static void enqueue(MailQueue queue, Mail mail) throws MessagingException {
        for (int attempt = 0; ; attempt++) {
            try {
                queue.enQueue(mail);
                if (attempt > 0) {
                    LOGGER.info("{} handed to {} after {} failed attempts", mail.getName(), queue.getName().asString(), attempt);
                }
                return;
            } catch (MailQueue.MailQueueException | RuntimeException e) {
                if (attempt >= RETRY_PAUSES.size()) {
                    throw new MessagingException("could not hand " + mail.getName() + " to " + queue.getName().asString(), e);
                }
                Duration pause = RETRY_PAUSES.get(attempt);
                LOGGER.warn("handing {} to {} failed ({}); retrying in {} s", mail.getName(), queue.getName().asString(),
                    e.toString(), pause.toSeconds());
                try {
                    Thread.sleep(pause.toMillis());
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new MessagingException("interrupted while handing " + mail.getName() + " over", interrupted);
                }
            }
        }
    }
}
