package org.apache.james.queue.rabbitmq;

import java.time.Clock;

import org.apache.james.blob.mail.MimeMessageStore;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.queue.rabbitmq.view.RabbitMQMailQueueConfiguration;
import org.apache.james.queue.rabbitmq.view.api.MailQueueView;
import org.apache.mailet.Mail;

import reactor.core.publisher.Mono;
import reactor.rabbitmq.Sender;

/**
 * The mailcluster project's bridge into James's RabbitMQ mail queue package (this is our code,
 * placed in James's package only to reach its package-private enqueue path).
 *
 * <p>It enqueues a mail exactly as James does for queue {@code queue} (message stored in the
 * blob store, entry in that queue's Cassandra view, a reference published with confirms), except
 * that the reference is published to another exchange, {@code publishTo}: the delayed retry
 * queue's exchange, whose TTL queue dead-letters it back to {@code queue}'s own exchange when the
 * delay is over. Since the view entry is the queue's own, the queue's consumer accepts the
 * reference when it arrives, and an operator sees the delayed mail in the queue meanwhile.
 */
public final class DelayedPublication {

    private final Enqueuer enqueuer;

    public DelayedPublication(String queue, String publishTo, Sender sender, MimeMessageStore.Factory messageStores,
                              MetricFactory metrics, MailQueueView.Factory views, RabbitMQMailQueueConfiguration configuration,
                              Clock clock) {
        MailQueueName queueName = MailQueueName.fromString(queue);
        MailQueueView view = views.create(queueName);
        view.initialize(queueName);
        this.enqueuer = new Enqueuer(MailQueueName.fromString(publishTo), sender, messageStores.mimeMessageStore(),
            new MailReferenceSerializer(), metrics, view, configuration, clock);
    }

    /** The RabbitMQ exchange James publishes a queue's mail to. */
    public static String exchangeOf(String queue) {
        return MailQueueName.fromString(queue).toRabbitExchangeName().asString();
    }

    public Mono<Void> publish(Mail mail) {
        try {
            return enqueuer.enQueue(mail);
        } catch (Exception e) {
            return Mono.error(e);
        }
    }
}
