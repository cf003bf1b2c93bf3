package org.mailcluster.queue;

import java.util.Optional;
import java.util.Set;

import javax.inject.Inject;

import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.queue.rabbitmq.RabbitMQMailQueue;
import org.apache.james.queue.rabbitmq.RabbitMQMailQueueFactory;

/**
 * RabbitMQ mail queues as one tier sees them: James's SMTP server and spooler always ask for
 * "spool", and this factory answers with the tier's own spool queue ({@link QueueTopology}).
 * Every other name is the real, cluster-wide queue of that name.
 */
public class TierMailQueueFactory implements MailQueueFactory<RabbitMQMailQueue> {

    private final RabbitMQMailQueueFactory queues;
    private final QueueTopology tier;

    @Inject
    TierMailQueueFactory(RabbitMQMailQueueFactory queues, QueueTopology tier) {
        this.queues = queues;
        this.tier = tier;
    }

    @Override
    public Optional<RabbitMQMailQueue> getQueue(MailQueueName name, PrefetchCount count) {
        return queues.getQueue(resolve(name), count);
    }

    @Override
    public RabbitMQMailQueue createQueue(MailQueueName name, PrefetchCount count) {
        return queues.createQueue(resolve(name), count);
    }

    @Override
    public Set<MailQueueName> listCreatedMailQueues() {
        return queues.listCreatedMailQueues();
    }

    private MailQueueName resolve(MailQueueName name) {
        return MailQueueName.of(tier.resolve(name.asString()));
    }
}
