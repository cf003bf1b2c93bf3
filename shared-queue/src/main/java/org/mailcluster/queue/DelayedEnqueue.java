package org.mailcluster.queue;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import javax.mail.internet.MimeMessage;


import org.apache.james.blob.mail.MimeMessagePartsId;
import org.apache.james.blob.api.Store;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.rabbitmq.EnqueueId;
import org.apache.james.queue.rabbitmq.EnqueuedItem;
import org.apache.james.queue.rabbitmq.MailQueueName;
import org.apache.james.queue.rabbitmq.view.api.DeleteCondition;
import org.apache.james.queue.rabbitmq.view.api.MailQueueView;
import org.apache.mailet.Mail;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.MessageProperties;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.rabbitmq.OutboundMessage;
import reactor.rabbitmq.Sender;

/**
 * Enqueues a mail into queue QUEUE as James's RabbitMQ mail queue does (message stored in the
 * blob store, an entry in QUEUE's Cassandra view, a reference published with confirms), except
 * that the reference goes to a delay exchange, whose TTL queue dead-letters it back to QUEUE's
 * own exchange when the delay is over ({@link DelayedRetryQueue}). The view entry is QUEUE's:
 * webadmin shows the waiting mail in the queue it will return to, and QUEUE's consumer accepts
 * the reference when it arrives.
 */
final class DelayedEnqueue {
    private static final Duration PUBLISH_TIMEOUT = Duration.ofSeconds(10);

    private final MailQueueName queue;
    private final String delayExchange;
    private final Sender sender;
    private final Store<MimeMessage, MimeMessagePartsId> messages;
    private final MailQueueView<?> view;
    private final boolean confirms;
    private final Clock clock;

    DelayedEnqueue(String queue, String delayExchange, Sender sender, Store<MimeMessage, MimeMessagePartsId> messages, MailQueueView<?> view,
                   boolean confirms, Clock clock) {
        this.queue = MailQueueName.fromString(queue);
        this.delayExchange = delayExchange;
        this.sender = sender;
        this.messages = messages;
        this.view = view;
        this.confirms = confirms;
        this.clock = clock;
    }

    /** The RabbitMQ exchange James's mail queue QUEUE is fed through (its naming, 3.8.1). */
    static String exchangeOf(String queue) {
        return "JamesMailQueue-exchange-" + queue;
    }

    Mono<Void> publish(Mail mail) {
        EnqueueId enqueueId = EnqueueId.generate();
        return Mono.fromCallable(mail::getMessage)
            .flatMap(message -> messages.save(message))
            .flatMap(parts -> {
                EnqueuedItem item = EnqueuedItem.builder()
                    .enqueueId(enqueueId)
                    .mailQueueName(queue)
                    .mail(mail)
                    .enqueuedTime(clock.instant())
                    .mimeMessagePartsId(parts)
                    .build();
                return Flux.mergeDelayError(2, view.storeMail(item), publishReference(enqueueId, mail, parts))
                    .then()
                    // As James does: no view entry for a reference that was not published.
                    .onErrorResume(error -> Mono.from(view.delete(DeleteCondition.withEnqueueId(enqueueId, parts)))
                        .then(Mono.error(error)));
            });
    }

    private Mono<Void> publishReference(EnqueueId enqueueId, Mail mail, MimeMessagePartsId parts) {
        AMQP.BasicProperties properties = new AMQP.BasicProperties.Builder()
            .deliveryMode(MessageProperties.PERSISTENT_TEXT_PLAIN.getDeliveryMode())
            .priority(MessageProperties.PERSISTENT_TEXT_PLAIN.getPriority())
            .contentType(MessageProperties.PERSISTENT_TEXT_PLAIN.getContentType())
            .headers(Map.of("x-dead-letter-routing-key", ""))
            .build();
        OutboundMessage reference = new OutboundMessage(delayExchange, "", properties,
            MailReferenceJson.write(enqueueId, mail, parts));
        Mono<Void> published = confirms
            ? sender.sendWithPublishConfirms(Mono.just(reference))
                .subscribeOn(Schedulers.boundedElastic())
                .next()
                .flatMap(result -> result.isAck() ? Mono.<Void>empty()
                    : Mono.error(new MailQueue.MailQueueException("the broker did not confirm " + mail.getName())))
            : sender.send(Mono.just(reference));
        return published.timeout(PUBLISH_TIMEOUT,
            Mono.error(() -> new MailQueue.MailQueueException("timed out publishing " + mail.getName() + " to " + delayExchange)));
    }
}
