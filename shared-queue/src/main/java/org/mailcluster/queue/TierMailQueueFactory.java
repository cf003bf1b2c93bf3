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
    private final Map<MailQueueName, DelayedRetryQueue> wrapped = new ConcurrentHashMap<>();

    @Inject
    TierMailQueueFactory(RabbitMQMailQueueFactory queues, QueueTopology tier, DelayedRetryQueue.Backend delays) {
        this.queues = queues;
        this.tier = tier;
        this.delays = delays;
    }

    @Override
    public Optional<ManageableMailQueue> getQueue(MailQueueName name, PrefetchCount count) {
        return queues.getQueue(resolve(name), count).map(this::withDelays);
    }

    @Override
    public ManageableMailQueue createQueue(MailQueueName name, PrefetchCount count) {
        return withDelays(queues.createQueue(resolve(name), count));
    }

    private ManageableMailQueue withDelays(RabbitMQMailQueue queue) {
        return wrapped.computeIfAbsent(queue.getName(), name -> new DelayedRetryQueue(queue, delays));
    }

    @Override
    public Set<MailQueueName> listCreatedMailQueues() {
        return queues.listCreatedMailQueues();
    }

    private MailQueueName resolve(MailQueueName name) {
        return MailQueueName.of(tier.resolve(name.asString()));
    }
}
