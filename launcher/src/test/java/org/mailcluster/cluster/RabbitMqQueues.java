package org.mailcluster.cluster;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import org.mailcluster.testing.ClusterEndpoints;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What the cluster's RabbitMQ holds, from its management API. Its figures are refreshed every
 * 5 s: wait at least that long before trusting a zero.
 */
record RabbitMqQueues(URI management, String authorization) {

    static RabbitMqQueues of(ClusterEndpoints cluster) {
        return new RabbitMqQueues(URI.create(cluster.get("MAILCLUSTER_RABBITMQ_MANAGEMENT")),
            "Basic " + Base64.getEncoder().encodeToString("guest:guest".getBytes(StandardCharsets.US_ASCII)));
    }

    /** Messages (waiting and unacknowledged) in every queue whose name {@code queues} accepts. */
    long messagesIn(Predicate<String> queues) throws Exception {
        long messages = 0;
        for (JsonNode queue : queues("name,messages")) {
            if (queues.test(queue.path("name").asText())) {
                messages += queue.path("messages").asLong(0);
            }
        }
        return messages;
    }

    /** The queues {@code queues} accepts that a consumer reads. */
    Set<String> read(Predicate<String> queues) throws Exception {
        Set<String> read = new TreeSet<>();
        for (JsonNode queue : queues("name,consumers")) {
            String name = queue.path("name").asText();
            if (queues.test(name) && queue.path("consumers").asLong(0) > 0) {
                read.add(name);
            }
        }
        return read;
    }

    private JsonNode queues(String columns) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                management.resolve("/api/queues/%2F?columns=" + columns))
                .header("Authorization", authorization)
                .build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("RabbitMQ management API answered " + response.statusCode() + ": " + response.body());
        }
        return new ObjectMapper().readTree(response.body());
    }

    long messagesIn(String queue) throws Exception {
        return messagesIn(queue::equals);
    }
}
