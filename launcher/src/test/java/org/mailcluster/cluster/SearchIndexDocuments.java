package org.mailcluster.cluster;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.mailcluster.testing.ClusterEndpoints;

/** The search index's documents, reached on OpenSearch directly, as an operator's mistake or a lost shard would touch them. */
final class SearchIndexDocuments {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final URI base;

    SearchIndexDocuments(ClusterEndpoints cluster) {
        this.base = cluster.opensearch();
    }

    HttpResponse<String> request(String method, String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(base.resolve(path))
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    /** Deletes the document of one message; how many were deleted. */
    long delete(String mailboxId, long uid) throws Exception {
        String response = request("POST", "/mailcluster-messages-write/_delete_by_query?refresh=true&routing=" + mailboxId,
            "{\"query\":{\"bool\":{\"filter\":[{\"term\":{\"mailboxId\":\"" + mailboxId + "\"}},{\"term\":{\"uid\":" + uid + "}}]}}}").body();
        Matcher deleted = Pattern.compile("\"deleted\":(\\d+)").matcher(response);
        if (!deleted.find()) {
            throw new IllegalStateException("delete_by_query answered " + response);
        }
        return Long.parseLong(deleted.group(1));
    }
}
