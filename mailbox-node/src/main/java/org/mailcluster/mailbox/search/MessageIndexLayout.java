package org.mailcluster.mailbox.search;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.http.util.EntityUtils;
import org.opensearch.client.Request;
import org.opensearch.client.Response;
import org.opensearch.client.ResponseException;
import org.opensearch.client.RestClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The index, its mapping and its two aliases in OpenSearch. Readers and writers only ever use
 * the aliases, so a new mapping version can be filled while searches keep using the old one.
 *
 * <p>Creation is idempotent and safe when several mailbox nodes start at once. It is tried at
 * start-up and again before each write until it succeeds, so a node that starts while
 * OpenSearch is down still starts (search is degraded, delivery is not).
 */
class MessageIndexLayout {
    private static final Logger LOGGER = LoggerFactory.getLogger(MessageIndexLayout.class);
    private static final String MAPPING_RESOURCE = "message-index.json";

    private final RestClient client;
    private final SearchIndexSettings settings;
    private final ObjectMapper json = new ObjectMapper();
    private final AtomicBoolean ready = new AtomicBoolean(false);

    MessageIndexLayout(RestClient client, SearchIndexSettings settings) {
        this.client = client;
        this.settings = settings;
    }

    /** Creates the current index and points the aliases at it, unless that was done already. */
    void ensureReady() throws IOException {
        if (ready.get()) {
            return;
        }
        synchronized (this) {
            if (ready.get()) {
                return;
            }
            createCurrentIndex();
            attachAliases();
            ready.set(true);
            LOGGER.info("search index {} ready (read alias {}, write alias {})",
                settings.currentIndex(), settings.readAlias(), settings.writeAlias());
        }
    }

    /** Tries {@link #ensureReady()} at start-up; failing there is not fatal. */
    void tryAtStartup() {
        try {
            ensureReady();
        } catch (IOException | RuntimeException e) {
            LOGGER.warn("search index not ready at start-up ({}); will retry on the first write", e.toString());
        }
    }

    /** Moves the read alias to the current index: the end of a mapping change. */
    void switchReadAliasToCurrent() throws IOException {
        ensureReady();
        ArrayNode actions = json.createArrayNode();
        actions.addObject().putObject("remove").put("index", "*").put("alias", settings.readAlias());
        actions.addObject().putObject("add").put("index", settings.currentIndex()).put("alias", settings.readAlias());
        postAliases(actions);
    }

    /** Which index each alias points at, for the webadmin and the health check. */
    String describeAliases() throws IOException {
        Response response = client.performRequest(new Request("GET", "/_alias/" + settings.readAlias() + "," + settings.writeAlias()));
        return EntityUtils.toString(response.getEntity(), StandardCharsets.UTF_8);
    }

    /** green/yellow/red of the cluster, throwing when OpenSearch cannot be reached. */
    String clusterStatus() throws IOException {
        Request request = new Request("GET", "/_cluster/health");
        request.addParameter("timeout", "2s");
        Response response = client.performRequest(request);
        return json.readTree(response.getEntity().getContent()).path("status").asText("unknown");
    }

    private void createCurrentIndex() throws IOException {
        // Looked up first, so that a node's every start does not count a refused creation among
        // the client's errors (mailcluster_backend_errors_total): HEAD answers 404 or 200.
        if (client.performRequest(new Request("HEAD", "/" + settings.currentIndex())).getStatusLine().getStatusCode() == 200) {
            return;
        }
        Request request = new Request("PUT", "/" + settings.currentIndex());
        request.setJsonEntity(json.writeValueAsString(indexDefinition()));
        try {
            client.performRequest(request);
            LOGGER.info("created search index {}", settings.currentIndex());
        } catch (ResponseException e) {
            // Another mailbox node created it first, or an earlier start did.
            if (!EntityUtils.toString(e.getResponse().getEntity()).contains("resource_already_exists_exception")) {
                throw e;
            }
        }
    }

    private JsonNode indexDefinition() throws IOException {
        try (InputStream mapping = MessageIndexLayout.class.getResourceAsStream(MAPPING_RESOURCE)) {
            ObjectNode definition = (ObjectNode) json.readTree(mapping);
            ObjectNode index = (ObjectNode) definition.with("settings").with("index");
            index.put("number_of_shards", settings.shards());
            index.put("number_of_replicas", settings.replicas());
            return definition;
        }
    }

    private void attachAliases() throws IOException {
        JsonNode existing = aliasesOf(settings.readAlias() + "," + settings.writeAlias());
        ArrayNode actions = json.createArrayNode();
        if (!pointsAt(existing, settings.writeAlias(), settings.currentIndex())) {
            if (hasAlias(existing, settings.writeAlias())) {
                actions.addObject().putObject("remove").put("index", "*").put("alias", settings.writeAlias());
            }
            actions.addObject().putObject("add").put("index", settings.currentIndex()).put("alias", settings.writeAlias());
        }
        if (!hasAlias(existing, settings.readAlias())) {
            // First install: nothing to keep reading from, so read the new index at once.
            actions.addObject().putObject("add").put("index", settings.currentIndex()).put("alias", settings.readAlias());
        }
        if (!actions.isEmpty()) {
            postAliases(actions);
        }
    }

    private JsonNode aliasesOf(String aliases) throws IOException {
        try {
            Response response = client.performRequest(new Request("GET", "/_alias/" + aliases));
            return json.readTree(response.getEntity().getContent());
        } catch (ResponseException e) {
            if (e.getResponse().getStatusLine().getStatusCode() == 404) {
                // 404 lists the aliases that do exist, if any, in the same shape.
                return json.readTree(EntityUtils.toString(e.getResponse().getEntity()));
            }
            throw e;
        }
    }

    private static boolean hasAlias(JsonNode aliases, String alias) {
        for (JsonNode index : (Iterable<JsonNode>) () -> aliases.elements()) {
            if (index.path("aliases").has(alias)) {
                return true;
            }
        }
        return false;
    }

    private static boolean pointsAt(JsonNode aliases, String alias, String index) {
        return aliases.path(index).path("aliases").has(alias);
    }

    private void postAliases(ArrayNode actions) throws IOException {
        Request request = new Request("POST", "/_aliases");
        ObjectNode body = json.createObjectNode();
        body.set("actions", actions);
        request.setJsonEntity(json.writeValueAsString(body));
        client.performRequest(request);
    }
}
