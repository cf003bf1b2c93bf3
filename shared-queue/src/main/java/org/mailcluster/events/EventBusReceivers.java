package org.mailcluster.events;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.Consumer;

import org.apache.james.IsStartedProbe;
import org.apache.james.backends.rabbitmq.ReceiverProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Delivery;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.rabbitmq.AcknowledgableDelivery;
import reactor.rabbitmq.ConsumeOptions;
import reactor.rabbitmq.Receiver;
import reactor.rabbitmq.ReceiverOptions;

/**
 * The receivers James's mailbox event bus consumes RabbitMQ with, made safe for a cluster of
 * mailbox nodes in two ways.
 *
 * <p><b>Group events wait until every group listener of the node is registered, and stop when it
 * shuts down.</b> James's bus hands every event meant for group listeners (search index, quota,
 * JMAP projections...) to one shared queue, and the node that takes an event from it runs it for
 * the groups registered <em>on that node at that moment</em>, then acknowledges it. The node
 * starts consuming when its first group is registered, and registers the others one after the
 * other, while its mail spooler already stores mail; at shutdown it unregisters its groups one
 * by one before it stops consuming. An event taken in either window was acknowledged without
 * ever reaching the missing groups (a message stored while the only mailbox node started never
 * reached the search index). Here the group work queues are consumed only once the server has
 * started (James's {@link IsStartedProbe}: every initialisation, listener registration
 * included, is done), and their consumers are cancelled when the JVM begins to shut down. Events
 * wait meanwhile in RabbitMQ (durable queues); unacknowledged ones go back to the queue.
 *
 * <p><b>A consumer James has given up is not recovered.</b> After a RabbitMQ outage James's
 * connection pool opens a new connection and the bus consumes again on it, disposing its old
 * consumers; but with the broker away their cancellation could not reach it, and the RabbitMQ
 * client later recovered the old connection with those consumers. The broker then handed them
 * events (up to the prefetch, 10 per queue) that nobody processed or acknowledged, for as long as
 * the node ran: after a RabbitMQ restart each mailbox node held such a consumer on the group
 * queue, and the events it was handed never reached the search index (a message appended after
 * the restart stayed unsearchable). Here a disposed consumer's channel is aborted, which also
 * removes it from the client's recovery; what it held goes back to the queue.
 */
public class EventBusReceivers {
    private static final Logger LOGGER = LoggerFactory.getLogger(EventBusReceivers.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final String workQueuePrefix;
    private final Sinks.Empty<Void> started = Sinks.empty();
    private final Sinks.Empty<Void> stopping = Sinks.empty();

    /**
     * @param eventBusName the bus's name ({@code mailboxEvent}): its group work queues are named
     *                     {@code NAME-workQueue-GROUP}
     */
    public EventBusReceivers(String eventBusName, IsStartedProbe server) {
        this.workQueuePrefix = eventBusName + "-workQueue-";
        Flux.interval(POLL, POLL, Schedulers.boundedElastic())
            .filter(tick -> server.isStarted())
            .next()
            .subscribe(tick -> {
                LOGGER.info("every group listener of {} is registered: consuming its group events", eventBusName);
                started.tryEmitEmpty();
            });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOGGER.info("shutting down: no more group events of {} are taken", eventBusName);
            stopping.tryEmitEmpty();
        }, "group-consumption-gate-" + eventBusName));
    }

    /** The receivers {@code receivers} makes, their group work queue consumption held by this gate. */
    public ReceiverProvider gated(ReceiverProvider receivers) {
        return () -> new GatedReceiver(receivers.createReceiver());
    }

    boolean isGroupWorkQueue(String queue) {
        return queue.startsWith(workQueuePrefix);
    }

    /** Opens the gate without a server (tests). */
    void open() {
        started.tryEmitEmpty();
    }

    /** Closes the gate for good (tests). */
    void close() {
        stopping.tryEmitEmpty();
    }

    /** The options, also recording the channel the consumption opens. */
    static ConsumeOptions tracking(ConsumeOptions options, AtomicReference<Channel> channel) {
        Consumer<Channel> previous = options.getChannelCallback();
        return options.channelCallback(opened -> {
            channel.set(opened);
            if (previous != null) {
                previous.accept(opened);
            }
        });
    }

    /** Closes a disposed consumer's channel, even while it is closed waiting for recovery. */
    static void abort(String queue, Channel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.abort();
        } catch (Exception e) {
            LOGGER.debug("aborting the channel of a disposed consumer of {}: {}", queue, e.toString());
        }
    }

    <T> Flux<T> hold(String queue, Flux<T> consumption) {
        if (!isGroupWorkQueue(queue)) {
            return consumption;
        }
        return started.asMono()
            .thenMany(Flux.defer(() -> consumption))
            .takeUntilOther(stopping.asMono().then(Mono.just(true)));
    }

    /**
     * A receiver that delegates to one of the pool's, holding its group work queue
     * consumption and aborting the channel of a consumption that is disposed. James's event bus
     * uses {@code consumeManualAck} and {@code close} only; no-ack consumption is refused.
     */
    private class GatedReceiver extends Receiver {
        private final Receiver delegate;

        GatedReceiver(Receiver delegate) {
            // Never connects by itself: every consumption goes to the delegate.
            super(new ReceiverOptions()
                .connectionMono(Mono.error(new IllegalStateException("a gated receiver consumes through its delegate")))
                .connectionSubscriptionScheduler(Schedulers.immediate()));
            this.delegate = delegate;
        }

        @Override
        public Flux<AcknowledgableDelivery> consumeManualAck(String queue) {
            return consumeManualAck(queue, new ConsumeOptions());
        }

        @Override
        public Flux<AcknowledgableDelivery> consumeManualAck(String queue, ConsumeOptions options) {
            return consume(queue, options, delegate::consumeManualAck);
        }

        @Override
        public Flux<Delivery> consumeAutoAck(String queue) {
            return consumeAutoAck(queue, new ConsumeOptions());
        }

        @Override
        public Flux<Delivery> consumeAutoAck(String queue, ConsumeOptions options) {
            return consume(queue, options, delegate::consumeAutoAck);
        }

        /** The delegate's consumption, held by the gate, its channel aborted when it is disposed. */
        private <T> Flux<T> consume(String queue, ConsumeOptions options, BiFunction<String, ConsumeOptions, Flux<T>> consumption) {
            AtomicReference<Channel> channel = new AtomicReference<>();
            return hold(queue, consumption.apply(queue, tracking(options, channel)))
                .doOnCancel(() -> abort(queue, channel.get()));
        }

        @Override
        public Flux<Delivery> consumeNoAck(String queue) {
            throw new UnsupportedOperationException("the event bus never consumes without acknowledgements");
        }

        @Override
        public Flux<Delivery> consumeNoAck(String queue, ConsumeOptions options) {
            throw new UnsupportedOperationException("the event bus never consumes without acknowledgements");
        }

        @Override
        public void close() {
            delegate.close();
        }
    }
}
