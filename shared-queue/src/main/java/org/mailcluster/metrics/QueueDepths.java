package org.mailcluster.metrics;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;

import javax.inject.Inject;

import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.mailcluster.backends.RabbitMQTls;
import org.mailcluster.queue.DeadLetteredMailRoutes;
import org.mailcluster.queue.DelayedRetryQueue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.prometheus.client.Collector;
import io.prometheus.client.CounterMetricFamily;
import io.prometheus.client.GaugeMetricFamily;

/**
 * The mail waiting in each queue, as gauges on {@code /metrics}: what autoscaling and the
 * "queue growing" alert read. The figures are RabbitMQ's own (one request to its management
 * API for all queues, kept {@link #CACHED} so that scrapes of every node cost the broker one
 * request per few seconds), not James's size gauge, which walks the queue's Cassandra view at
 * every scrape.
 *
 * <ul>
 *   <li>{@code mailcluster_queue_messages{queue}}: mail in the queue, waiting or being handled;</li>
 *   <li>{@code mailcluster_queue_unacknowledged{queue}}: of which handed to a consumer, not done yet;</li>
 *   <li>{@code mailcluster_queue_consumers{queue}}: the nodes' consumers reading it;</li>
 *   <li>{@code mailcluster_queue_published_total{queue}} and {@code mailcluster_queue_acknowledged_total{queue}}:
 *       mail put into the queue and mail its consumers finished with, since the broker started
 *       (counters: they restart from 0 with the broker, which Prometheus's rate() allows for).
 *       Their rates are each tier's throughput; a queue holding mail while nothing is
 *       acknowledged is a stuck queue;</li>
 *   <li>{@code mailcluster_queue_oldest_message_age_seconds{queue}}: how long the oldest mail
 *       waiting in the queue (not yet handed to a consumer) has waited, from the publication
 *       time RabbitMQ keeps of the queue's head (every publication carries one: ChannelPerUse);
 *       0 when nothing waits;</li>
 *   <li>{@code mailcluster_queue_delayed_messages{queue,delay}}: mail waiting out a retry delay
 *       before it returns to the queue (the {@code DelayedRetryQueue} ladder);</li>
 *   <li>{@code mailcluster_queue_dead_letters{queue}}: references the queue gave up on;</li>
 *   <li>{@code mailcluster_queue_metrics_up}: 1 when the management API answered, else 0
 *       (and no other series: a missing figure is not a zero).</li>
 * </ul>
 * Every node reports every queue (the broker is shared): dashboards take the max per queue.
 */
public class QueueDepths extends Collector {

    static final Duration CACHED = Duration.ofSeconds(5);
    private static final String WORK_QUEUE = "JamesMailQueue-workqueue-";

    /** One queue as the management API lists it. */
    record QueueFigures(String name, long messages, long unacknowledged, long consumers, long published, long acknowledged,
                        Long oldestWaitingSince) {
    }

    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();
    private final URI queuesUri;
    private final String authorization;
    private List<QueueFigures> cached;
    private Instant cachedAt = Instant.MIN;

    @Inject
    public QueueDepths(RabbitMQConfiguration configuration, RabbitMQTls tls) {
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).sslContext(tls.managementContext()).build();
        this.queuesUri = configuration.getManagementUri()
            .resolve("/api/queues?columns=name,messages,messages_unacknowledged,consumers,message_stats.publish,message_stats.ack,"
                + "head_message_timestamp");
        RabbitMQConfiguration.ManagementCredentials credentials = configuration.getManagementCredentials();
        this.authorization = "Basic " + Base64.getEncoder().encodeToString(
            (credentials.getUser() + ":" + new String(credentials.getPassword())).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public List<MetricFamilySamples> collect() {
        List<QueueFigures> queues = figures();
        GaugeMetricFamily up = new GaugeMetricFamily("mailcluster_queue_metrics_up",
            "1 when RabbitMQ's management API gave the queues' figures, 0 when it did not", queues == null ? 0 : 1);
        List<MetricFamilySamples> all = new ArrayList<>();
        all.add(up);
        if (queues != null) {
            all.addAll(families(queues, Instant.now().getEpochSecond()));
        }
        return all;
    }

    /** The gauges for a listing of the broker's queues (queues that are not mail queues are left out). */
    static List<MetricFamilySamples> families(List<QueueFigures> queues, long nowEpochSeconds) {
        GaugeMetricFamily messages = new GaugeMetricFamily("mailcluster_queue_messages",
            "Mail in the queue, waiting or being handled", List.of("queue"));
        GaugeMetricFamily unacknowledged = new GaugeMetricFamily("mailcluster_queue_unacknowledged",
            "Mail handed to a consumer and not finished yet", List.of("queue"));
        GaugeMetricFamily consumers = new GaugeMetricFamily("mailcluster_queue_consumers",
            "Consumers reading the queue", List.of("queue"));
        CounterMetricFamily published = new CounterMetricFamily("mailcluster_queue_published",
            "Mail put into the queue since the broker started", List.of("queue"));
        CounterMetricFamily acknowledged = new CounterMetricFamily("mailcluster_queue_acknowledged",
            "Mail the queue's consumers finished with (delivered, handed on or dead-lettered) since the broker started",
            List.of("queue"));
        GaugeMetricFamily delayed = new GaugeMetricFamily("mailcluster_queue_delayed_messages",
            "Mail waiting out a retry delay before it returns to the queue", List.of("queue", "delay"));
        GaugeMetricFamily oldest = new GaugeMetricFamily("mailcluster_queue_oldest_message_age_seconds",
            "How long the queue's oldest waiting mail has waited (since it was queued or came back from a retry delay); 0 when none waits",
            List.of("queue"));
        GaugeMetricFamily deadLetters = new GaugeMetricFamily("mailcluster_queue_dead_letters",
            "Queued references the queue gave up on (webadmin: /mailQueues/QUEUE/deadLetters)", List.of("queue"));
        for (QueueFigures queue : queues) {
            Matcher delay = DelayedRetryQueue.DELAY_QUEUE_NAME.matcher(queue.name());
            if (queue.name().startsWith(WORK_QUEUE)) {
                String name = queue.name().substring(WORK_QUEUE.length());
                messages.addMetric(List.of(name), queue.messages());
                unacknowledged.addMetric(List.of(name), queue.unacknowledged());
                consumers.addMetric(List.of(name), queue.consumers());
                published.addMetric(List.of(name), queue.published());
                acknowledged.addMetric(List.of(name), queue.acknowledged());
                // RabbitMQ knows the time of the head of the ready messages when it carries one
                // (every publication does, ChannelPerUse); mail queued before that has none
                if (queue.oldestWaitingSince() != null) {
                    oldest.addMetric(List.of(name), Math.max(0, nowEpochSeconds - queue.oldestWaitingSince()));
                } else if (queue.messages() - queue.unacknowledged() <= 0) {
                    oldest.addMetric(List.of(name), 0);
                }
            } else if (queue.name().startsWith(DeadLetteredMailRoutes.DEAD_LETTER_QUEUE_PREFIX)) {
                deadLetters.addMetric(List.of(queue.name().substring(DeadLetteredMailRoutes.DEAD_LETTER_QUEUE_PREFIX.length())),
                    queue.messages());
            } else if (delay.matches()) {
                delayed.addMetric(List.of(delay.group(1), delay.group(2)), queue.messages());
            }
        }
        return List.of(messages, unacknowledged, consumers, published, acknowledged, oldest, delayed, deadLetters);
    }

    /** The broker's queues, at most {@link #CACHED} old; null when the management API did not answer. */
    private synchronized List<QueueFigures> figures() {
        Instant now = Instant.now();
        if (cached != null && now.isBefore(cachedAt.plus(CACHED))) {
            return cached;
        }
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(queuesUri)
                    .header("Authorization", authorization)
                    .timeout(Duration.ofSeconds(3))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
            cached = response.statusCode() == 200 ? parse(json.readTree(response.body())) : null;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            cached = null;
        }
        cachedAt = now;
        return cached;
    }

    static List<QueueFigures> parse(JsonNode listing) {
        List<QueueFigures> queues = new ArrayList<>();
        for (JsonNode queue : listing) {
            // a queue the broker is still recovering lists no counts yet: left out, not zero
            if (queue.hasNonNull("messages")) {
                queues.add(new QueueFigures(queue.path("name").asText(), queue.path("messages").asLong(),
                    queue.path("messages_unacknowledged").asLong(), queue.path("consumers").asLong(),
                    // no message_stats yet: nothing went through since the broker started
                    queue.path("message_stats").path("publish").asLong(), queue.path("message_stats").path("ack").asLong(),
                    queue.hasNonNull("head_message_timestamp") ? Long.valueOf(queue.path("head_message_timestamp").asLong()) : null));
            }
        }
        return queues;
    }
}
