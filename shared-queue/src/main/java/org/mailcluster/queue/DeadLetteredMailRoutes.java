package org.mailcluster.queue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;

import javax.inject.Inject;

import org.apache.james.backends.rabbitmq.ReactorRabbitMQChannelPool;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.ErrorResponder;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.apache.james.webadmin.utils.ParametersExtractor;
import org.eclipse.jetty.http.HttpStatus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;

import spark.Request;
import spark.Service;

/**
 * Webadmin view of the mail a queue gave up on: the references its consumers rejected, which
 * RabbitMQ keeps in the queue's dead-letter queue and nothing reads.
 *
 * <ul>
 *   <li>{@code GET /mailQueues/NAME/deadLetters?limit=N} (default 100): how many there are, and
 *       the first N (mail name, sender, recipients, enqueue id). Looking does not remove them.</li>
 *   <li>{@code DELETE /mailQueues/NAME/deadLetters}: discards them all; answers how many.</li>
 * </ul>
 *
 * <p>What ends up there: references whose message blobs are gone (a copy of mail already
 * handled, redelivered after its acknowledgement was lost in a broker restart) and references
 * that cannot be decoded. Mail whose processing failed is not (see {@link RequeueOnReject}).
 */
public class DeadLetteredMailRoutes implements Routes {
    static final String BASE = "/mailQueues";
    /** James names a queue's dead-letter queue so (MailQueueName, where the method is not public). */
    public static final String DEAD_LETTER_QUEUE_PREFIX = "JamesMailQueue-dead-letter-queue-";
    static final int DEFAULT_LIMIT = 100;

    private final MailQueueFactory<?> queues;
    private final ReactorRabbitMQChannelPool channels;
    private final JsonTransformer json;
    private final ObjectMapper mapper = new ObjectMapper();

    @Inject
    public DeadLetteredMailRoutes(MailQueueFactory<?> queues, ReactorRabbitMQChannelPool channels, JsonTransformer json) {
        this.queues = queues;
        this.channels = channels;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE + "/:mailQueueName/deadLetters", (request, response) -> list(request), json);
        service.delete(BASE + "/:mailQueueName/deadLetters", (request, response) -> purge(request), json);
    }

    /** What {@code GET} answers. */
    public record DeadLetters(String mailQueue, String deadLetterQueue, long count, List<Map<String, Object>> mails) {
    }

    /** What {@code DELETE} answers. */
    public record Discarded(String mailQueue, long discarded) {
    }

    private DeadLetters list(Request request) throws Exception {
        String queue = existingQueue(request);
        int limit = ParametersExtractor.extractPositiveInteger(request, "limit").orElse(DEFAULT_LIMIT);
        Channel channel = channels.getChannelMono().block();
        try {
            String deadLetterQueue = DEAD_LETTER_QUEUE_PREFIX + queue;
            long count = channel.queueDeclarePassive(deadLetterQueue).getMessageCount();
            List<Map<String, Object>> mails = new ArrayList<>();
            // Fetched without acknowledgement: closing the channel puts them all back.
            for (GetResponse reference; mails.size() < limit && (reference = channel.basicGet(deadLetterQueue, false)) != null; ) {
                mails.add(describe(reference.getBody()));
            }
            return new DeadLetters(queue, deadLetterQueue, count, mails);
        } finally {
            close(channel);
        }
    }

    private Discarded purge(Request request) throws Exception {
        String queue = existingQueue(request);
        Channel channel = channels.getChannelMono().block();
        try {
            return new Discarded(queue, channel.queuePurge(DEAD_LETTER_QUEUE_PREFIX + queue).getMessageCount());
        } finally {
            close(channel);
        }
    }

    private String existingQueue(Request request) {
        String name = request.params("mailQueueName");
        if (queues.getQueue(MailQueueName.of(name)).isEmpty()) {
            throw ErrorResponder.builder()
                .statusCode(HttpStatus.NOT_FOUND_404)
                .type(ErrorResponder.ErrorType.NOT_FOUND)
                .message("%s can not be found", name)
                .haltError();
        }
        return name;
    }

    private Map<String, Object> describe(byte[] body) {
        try {
            JsonNode reference = mapper.readTree(body);
            List<String> recipients = new ArrayList<>();
            reference.path("recipients").forEach(r -> recipients.add(r.asText()));
            return Map.of(
                "name", reference.path("name").asText(""),
                "sender", reference.path("sender").asText(""),
                "recipients", recipients,
                "enqueueId", reference.path("enqueueId").asText(""));
        } catch (IOException e) {
            return Map.of("undecodable", body.length + " bytes");
        }
    }

    private static void close(Channel channel) {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | TimeoutException e) {
            // the broker dropped it already; unacknowledged references go back either way
        }
    }
}
