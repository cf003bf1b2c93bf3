package org.mailcluster.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;

import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.junit.jupiter.api.Test;

/** A delay queue is a quorum queue when the mail queues are, and then dead-letters at least once. */
class DelayQueueArgumentsTest {

    static RabbitMQConfiguration broker(boolean quorum) {
        return RabbitMQConfiguration.builder()
            .amqpUri(URI.create("amqp://r1:5672")).managementUri(URI.create("http://r1:15672"))
            .managementCredentials(new RabbitMQConfiguration.ManagementCredentials("mail", "pw".toCharArray()))
            .useQuorumQueues(quorum).quorumQueueReplicationFactor(3)
            .build();
    }

    @Test
    void classicByDefault() {
        assertThat(DelayedRetryQueue.delayQueueArguments(broker(false), 300, "back"))
            .containsEntry("x-message-ttl", 300_000L).containsEntry("x-dead-letter-exchange", "back")
            .doesNotContainKeys("x-queue-type", "x-dead-letter-strategy");
    }

    @Test
    void quorumAndAtLeastOnceDeadLetteringWithQuorumQueues() {
        assertThat(DelayedRetryQueue.delayQueueArguments(broker(true), 300, "back"))
            .containsEntry("x-queue-type", "quorum").containsEntry("x-quorum-initial-group-size", 3)
            .containsEntry("x-message-ttl", 300_000L).containsEntry("x-dead-letter-exchange", "back")
            .containsEntry("x-dead-letter-strategy", "at-least-once").containsEntry("x-overflow", "reject-publish");
    }
}
