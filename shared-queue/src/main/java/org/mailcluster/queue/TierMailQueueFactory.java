package org.mailcluster.queue;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import javax.inject.Inject;

import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.james.queue.rabbitmq.RabbitMQMailQueue;
import org.apache.james.queue.rabbitmq.RabbitMQMailQueueFactory;

/**
 * RabbitMQ mail queues as one tier sees them: James's SMTP server and spooler always ask for
 * "spool", and this factory answers with the tier's own spool queue ({@link QueueTopology}).
 * Every other name is the real, cluster-wide queue of that name. Every queue honours enqueue
 * delays ({@link DelayedRetryQueue}).
 */
public class TierMailQueueFactory implements MailQueueFactory<ManageableMailQueue> {

    private final RabbitMQMailQueueFactory queues;
    private final QueueTopology tier;
    private final DelayedRetryQueue.Backend delays;
    private final DestinationConcurrency outgoing;
    private final Map<MailQueueName, DelayedRetryQueue> wrapped = new ConcurrentHashMap<>();

    @Inject
    TierMailQueueFactory(RabbitMQMailQueueFactory queues, QueueTopology tier, DelayedRetryQueue.Backend delays,
                         DestinationConcurrency outgoing) {
        this.queues = queues;
        this.tier = tier;
        this.delays = delays;
        this.outgoing = outgoing;
    }

    @Override
    public Optional<ManageableMailQueue> getQueue(MailQueueName name, PrefetchCount count) {
        return queues.getQueue(resolve(name), prefetch(name, count)).map(this::withDelays);
    }

    @Override
    public ManageableMailQueue createQueue(MailQueueName name, PrefetchCount count) {
        return withDelays(queues.createQueue(resolve(name), prefetch(name, count)));
    }

    /** Remote delivery asks for James's default of 5, which would cap this node at 5 deliveries at once. */
    private PrefetchCount prefetch(MailQueueName name, PrefetchCount asked) {
        return QueueTopology.limitedPerDestination(resolve(name).asString())
            ? MailQueueFactory.prefetchCount(outgoing.prefetch())
            : asked;
    }

    private ManageableMailQueue withDelays(RabbitMQMailQueue queue) {
        return wrapped.computeIfAbsent(queue.getName(), name -> QueueTopology.limitedPerDestination(name.asString())
            ? new DelayedRetryQueue(queue, delays, outgoing::admit)
            : new DelayedRetryQueue(queue, delays));
    }

    @Override
    public Set<MailQueueName> listCreatedMailQueues() {
        return queues.listCreatedMailQueues();
    }

    private MailQueueName resolve(MailQueueName name) {
        return MailQueueName.of(tier.resolve(name.asString()));
    }
}
