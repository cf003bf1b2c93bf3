package org.mailcluster.cluster;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
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
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                management.resolve("/api/queues/%2F?columns=name,messages"))
                .header("Authorization", authorization)
                .build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("RabbitMQ management API answered " + response.statusCode() + ": " + response.body());
        }
        long messages = 0;
        for (JsonNode queue : new ObjectMapper().readTree(response.body())) {
            if (queues.test(queue.path("name").asText())) {
                messages += queue.path("messages").asLong(0);
            }
        }
        return messages;
    }

    long messagesIn(String queue) throws Exception {
        return messagesIn(queue::equals);
    }
}
