package org.mailcluster.cluster;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import org.mailcluster.testing.ClusterEndpoints;

/** A webadmin client as an operator's script would be: curl-like calls with the secret header. */
final class WebAdmin {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI base;
    private final String headerName;
    private final String headerValue;

    WebAdmin(ClusterEndpoints cluster) {
        this(cluster.webadmin(), cluster.webadminAuth());
    }

    WebAdmin(URI base, String authHeader) {
        this.base = base;
        int colon = authHeader.indexOf(':');
        this.headerName = authHeader.substring(0, colon).trim();
        this.headerValue = authHeader.substring(colon + 1).trim();
    }

    HttpResponse<String> send(String method, String path, String jsonBody) {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path))
            .timeout(Duration.ofSeconds(30))
            .header(headerName, headerValue)
            .header("Content-Type", "application/json")
            .method(method, jsonBody == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(jsonBody));
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new IllegalStateException(method + " " + base.resolve(path) + " failed", e);
        }
    }

    String get(String path) {
        HttpResponse<String> response = send("GET", path, null);
        if (response.statusCode() != 200) {
            throw new IllegalStateException("GET " + path + " -> " + response.statusCode() + " " + response.body());
        }
        return response.body();
    }

    void createUser(String address, String password) {
        HttpResponse<String> response = send("PUT", "/users/" + address, "{\"password\":\"" + password + "\"}");
        if (response.statusCode() != 204) {
            throw new IllegalStateException("creating " + address + " -> " + response.statusCode() + " " + response.body());
        }
    }

    /** Number of mails in a queue, from the queue's Cassandra view. */
    long queueSize(String queue) {
        String body = get("/mailQueues/" + queue);
        return Long.parseLong(body.replaceAll(".*\"size\":(\\d+).*", "$1"));
    }
}
