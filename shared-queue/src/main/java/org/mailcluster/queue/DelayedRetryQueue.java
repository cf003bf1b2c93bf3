package org.mailcluster.queue;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import org.apache.james.blob.mail.MimeMessageStore;
import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.apache.james.metrics.api.MetricFactory;
import org.mailcluster.metrics.MailOutcomes;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.james.queue.rabbitmq.RabbitMQMailQueue;
import org.apache.james.queue.rabbitmq.view.RabbitMQMailQueueConfiguration;
import org.apache.james.queue.rabbitmq.view.api.MailQueueView;
import org.apache.mailet.Mail;
import org.reactivestreams.Publisher;


import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.rabbitmq.BindingSpecification;
import reactor.rabbitmq.ExchangeSpecification;
import reactor.rabbitmq.QueueSpecification;
import reactor.rabbitmq.Sender;

/**
 * A mail queue that honours enqueue delays, which James's RabbitMQ mail queue ignores (remote
 * delivery would otherwise retry a failing MX immediately and bounce within a second).
 *
 * <p>The delay is kept by RabbitMQ itself, not by a sleeping thread nor by holding messages
 * unacknowledged: for each distinct delay there is an exchange and a durable queue
 * {@code mailcluster-delay-QUEUE-Ns} whose messages expire after N seconds and are then
 * dead-lettered to QUEUE's own exchange, where QUEUE's consumers pick them up. Nothing consumes
 * the delay queues, so a delayed mail survives the loss of any node, like any queued mail.
 * Delays are rounded up to the second; a zero or negative delay enqueues directly.
 *
 * <p>Dequeued mail is never dead-lettered by its consumer ({@link RequeueOnReject}).
 */
public class DelayedRetryQueue implements ManageableMailQueue {

    static final String DELAY_QUEUE_PREFIX = "mailcluster-delay-";

    /** What every delayed retry queue of a node shares. */
    public record Backend(Sender sender, MimeMessageStore.Factory messageStores, MetricFactory metrics,
                          MailQueueView.Factory views, RabbitMQMailQueueConfiguration configuration, Clock clock,
                          MailOutcomes outcomes, RabbitMQConfiguration broker) {
    }

    private final RabbitMQMailQueue queue;
    private final Backend backend;
    private final UnaryOperator<Flux<MailQueueItem>> dequeuePolicy;
    private final Map<Long, DelayedEnqueue> publicationBySeconds = new ConcurrentHashMap<>();

    public DelayedRetryQueue(RabbitMQMailQueue queue, Backend backend) {
        this(queue, backend, UnaryOperator.identity());
    }

    /** @param dequeuePolicy what stands between the queue and its consumer ({@link DestinationConcurrency} for outgoing) */
    public DelayedRetryQueue(RabbitMQMailQueue queue, Backend backend, UnaryOperator<Flux<MailQueueItem>> dequeuePolicy) {
        this.queue = queue;
        this.backend = backend;
        this.dequeuePolicy = dequeuePolicy;
        backend.outcomes().knowQueue(queue.getName().asString());
    }

    /** The RabbitMQ queue holding this queue's mail for {@code seconds} before it returns. */
    public static String delayQueueName(String queue, long seconds) {
        return DELAY_QUEUE_PREFIX + queue + "-" + seconds + "s";
    }

    /** A name {@link #delayQueueName} gives: group 1 the queue, group 2 the delay ("300s"). */
    public static final Pattern DELAY_QUEUE_NAME = Pattern.compile(Pattern.quote(DELAY_QUEUE_PREFIX) + "(.+)-(\\d+s)");

    @Override
    public void enQueue(Mail mail, Duration delay) throws MailQueueException {
        if (delay == null || delay.isZero() || delay.isNegative()) {
            queue.enQueue(mail);
            return;
        }
        long seconds = (delay.toMillis() + 999) / 1000;
        try {
            publicationBySeconds.computeIfAbsent(seconds, this::declareDelay).publish(mail).block();
            backend.outcomes().deferred(getName().asString());
        } catch (RuntimeException e) {
            throw new MailQueueException("Could not enqueue " + mail.getName() + " in " + getName().asString()
                + " with a delay of " + delay, e);
        }
    }

    private DelayedEnqueue declareDelay(long seconds) {
        String name = getName().asString();
        String delayQueue = delayQueueName(name, seconds);
        String delayExchange = DelayedEnqueue.exchangeOf(delayQueue);
        Sender sender = backend.sender();
        Mono.when(
                sender.declareExchange(ExchangeSpecification.exchange(delayExchange).durable(true).type("direct")),
                sender.declareQueue(QueueSpecification.queue(delayQueue).durable(true).autoDelete(false)
                    .arguments(delayQueueArguments(backend.broker(), seconds, DelayedEnqueue.exchangeOf(name)))))
            .then(sender.bind(BindingSpecification.binding().exchange(delayExchange).queue(delayQueue).routingKey("")))
            .block(Duration.ofSeconds(30));
        MailQueueView<?> view = backend.views().create(org.apache.james.queue.rabbitmq.MailQueueName.fromString(name));
        view.initialize(org.apache.james.queue.rabbitmq.MailQueueName.fromString(name));
        return new DelayedEnqueue(name, delayExchange, sender, backend.messageStores().mimeMessageStore(), view,
            backend.configuration().isMailQueuePublishConfirmEnabled(), backend.clock());
    }

    /**
     * A delay queue holds mail for {@code seconds}, then dead-letters it back to the queue's
     * exchange. With quorum queues (rabbitmq.properties {@code quorum.queues.enable}) it is one
     * too, replicated like the queue it feeds, and dead-letters at least once (the message
     * leaves only once the queue it returns to has it; RabbitMQ needs reject-publish overflow for
     * that): a broker node lost while mail waits out its delay loses none of it.
     */
    static Map<String, Object> delayQueueArguments(RabbitMQConfiguration broker, long seconds, String returnExchange) {
        Map<String, Object> arguments = new LinkedHashMap<>(broker.workQueueArgumentsBuilder(true).build());
        arguments.put("x-message-ttl", seconds * 1000);
        arguments.put("x-dead-letter-exchange", returnExchange);
        arguments.put("x-dead-letter-routing-key", "");
        if ("quorum".equals(arguments.get("x-queue-type"))) {
            arguments.put("x-dead-letter-strategy", "at-least-once");
            arguments.put("x-overflow", "reject-publish");
        }
        return arguments;
    }

    @Override
    public MailQueueName getName() {
        return queue.getName();
    }

    @Override
    public void enQueue(Mail mail) throws MailQueueException {
        queue.enQueue(mail);
    }

    @Override
    public Publisher<Void> enqueueReactive(Mail mail) {
        return queue.enqueueReactive(mail);
    }

    @Override
    public Publisher<MailQueueItem> deQueue() {
        return dequeuePolicy.apply(Flux.from(queue.deQueue()).map(item -> new RequeueOnReject(item, getName().asString())));
    }

    @Override
    public long getSize() throws MailQueueException {
        return queue.getSize();
    }

    @Override
    public Publisher<Long> getSizeReactive() {
        return queue.getSizeReactive();
    }

    @Override
    public long flush() throws MailQueueException {
        return queue.flush();
    }

    @Override
    public long clear() throws MailQueueException {
        return queue.clear();
    }

    @Override
    public long remove(Type type, String value) throws MailQueueException {
        return queue.remove(type, value);
    }

    @Override
    public MailQueueIterator browse() throws MailQueueException {
        return queue.browse();
    }

    @Override
    public void close() {
        queue.close();
    }
}
