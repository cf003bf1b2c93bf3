package org.mailcluster.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringWriter;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.prometheus.client.exporter.common.TextFormat;

/** RabbitMQ's queue listing turned into the queue gauges, as Prometheus reads them. */
class QueueDepthsTest {

    static final long NOW = 1_800_000_000L;

    static String text(String listing) throws Exception {
        StringWriter out = new StringWriter();
        TextFormat.write004(out, Collections.enumeration(
            QueueDepths.families(QueueDepths.parse(new ObjectMapper().readTree(listing)), NOW)));
        return out.toString();
    }

    @Test
    void workQueuesDeadLettersAndDelayQueuesEachHaveTheirGauge() throws Exception {
        String metrics = text("""
            [{"name":"JamesMailQueue-workqueue-mx-spool","messages":7,"messages_unacknowledged":2,"consumers":4},
             {"name":"JamesMailQueue-workqueue-delivery-eu","messages":0,"messages_unacknowledged":0,"consumers":0},
             {"name":"JamesMailQueue-dead-letter-queue-mx-spool","messages":1,"messages_unacknowledged":0,"consumers":0},
             {"name":"mailcluster-delay-outgoing-300s","messages":3,"messages_unacknowledged":0,"consumers":0}]""");

        assertThat(metrics)
            .contains("mailcluster_queue_messages{queue=\"mx-spool\",} 7.0")
            .contains("mailcluster_queue_unacknowledged{queue=\"mx-spool\",} 2.0")
            .contains("mailcluster_queue_consumers{queue=\"mx-spool\",} 4.0")
            .contains("mailcluster_queue_messages{queue=\"delivery-eu\",} 0.0")
            .contains("mailcluster_queue_dead_letters{queue=\"mx-spool\",} 1.0")
            .contains("mailcluster_queue_delayed_messages{queue=\"outgoing\",delay=\"300s\",} 3.0");
    }

    @Test
    void whatWentThroughAQueueIsCountedFromItsMessageStats() throws Exception {
        String metrics = text("""
            [{"name":"JamesMailQueue-workqueue-delivery","messages":3,"messages_unacknowledged":1,"consumers":1,
              "message_stats":{"publish":120,"ack":117}},
             {"name":"JamesMailQueue-workqueue-outgoing","messages":0,"messages_unacknowledged":0,"consumers":2}]""");

        assertThat(metrics)
            .contains("# TYPE mailcluster_queue_published_total counter")
            .contains("mailcluster_queue_published_total{queue=\"delivery\",} 120.0")
            .contains("mailcluster_queue_acknowledged_total{queue=\"delivery\",} 117.0")
            // nothing went through since the broker started: RabbitMQ lists no message_stats
            .contains("mailcluster_queue_published_total{queue=\"outgoing\",} 0.0")
            .contains("mailcluster_queue_acknowledged_total{queue=\"outgoing\",} 0.0");
    }

    @Test
    void queuesThatAreNotMailQueuesAreLeftOut() throws Exception {
        String metrics = text("""
            [{"name":"mailboxEvent-workQueue-org.apache.james.events.GroupRegistrationHandler$GroupRegistrationHandlerGroup",
              "messages":12,"messages_unacknowledged":0,"consumers":1},
             {"name":"mailcluster-delay-outgoing","messages":5,"messages_unacknowledged":0,"consumers":0}]""");

        assertThat(metrics).doesNotContain("queue=\"").doesNotContain(" 12.0").doesNotContain(" 5.0");
    }

    @Test
    void aQueueListedWithoutCountsIsAbsentNotZero() throws Exception {
        // RabbitMQ lists a queue it is still recovering without its counts
        List<QueueDepths.QueueFigures> queues = QueueDepths.parse(new ObjectMapper().readTree("""
            [{"name":"JamesMailQueue-workqueue-delivery","state":"down"},
             {"name":"JamesMailQueue-workqueue-outgoing","messages":0,"messages_unacknowledged":0,"consumers":2}]"""));

        assertThat(queues).extracting(QueueDepths.QueueFigures::name).containsExactly("JamesMailQueue-workqueue-outgoing");
    }

    @Test
    void theOldestWaitingMailsAgeComesFromTheHeadsTimestamp() throws Exception {
        String metrics = text("""
            [{"name":"JamesMailQueue-workqueue-delivery","messages":5,"messages_unacknowledged":1,"consumers":0,
              "head_message_timestamp":%d},
             {"name":"JamesMailQueue-workqueue-outgoing","messages":0,"messages_unacknowledged":0,"consumers":2},
             {"name":"JamesMailQueue-workqueue-relay","messages":2,"messages_unacknowledged":2,"consumers":1},
             {"name":"JamesMailQueue-workqueue-mx-spool","messages":3,"messages_unacknowledged":0,"consumers":1}]""".formatted(NOW - 420));

        assertThat(metrics)
            .contains("mailcluster_queue_oldest_message_age_seconds{queue=\"delivery\",} 420.0")
            .as("nothing waits: 0").contains("mailcluster_queue_oldest_message_age_seconds{queue=\"outgoing\",} 0.0")
            .as("all handed out: nothing waits").contains("mailcluster_queue_oldest_message_age_seconds{queue=\"relay\",} 0.0")
            .as("mail queued before publications carried their time: no age rather than a wrong one")
            .doesNotContain("mailcluster_queue_oldest_message_age_seconds{queue=\"mx-spool\"");
    }
}
