package org.mailcluster.cluster;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** A JMAP (RFC 8621) client as a mail client would use it: HTTP Basic, session, then method calls. */
final class Jmap {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final URI api;
    private final String authorization;
    final String accountId;

    private Jmap(URI api, String authorization, String accountId) {
        this.api = api;
        this.authorization = authorization;
        this.accountId = accountId;
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** GET /jmap/session with these credentials: the status and the body. */
    static HttpResponse<String> session(URI base, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/jmap/session")).timeout(Duration.ofSeconds(30));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static Jmap login(URI base, String user, String password) throws Exception {
        HttpResponse<String> session = session(base, basic(user, password));
        if (session.statusCode() != 200) {
            throw new IllegalStateException("JMAP session for " + user + " -> " + session.statusCode() + " " + session.body());
        }
        JsonNode body = JSON.readTree(session.body());
        return new Jmap(URI.create(body.get("apiUrl").asText()), basic(user, password),
            body.get("primaryAccounts").get("urn:ietf:params:jmap:mail").asText());
    }

    /** One method call (with capabilities beyond core and mail, if given); returns its response arguments, failing on a JMAP error response. */
    JsonNode call(String method, ObjectNode arguments, String... moreCapabilities) throws Exception {
        arguments.put("accountId", accountId);
        ObjectNode request = JSON.createObjectNode();
        ArrayNode using = request.putArray("using").add("urn:ietf:params:jmap:core").add("urn:ietf:params:jmap:mail");
        for (String capability : moreCapabilities) {
            using.add(capability);
        }
        ArrayNode call = request.putArray("methodCalls").addArray();
        call.add(method).add(arguments).add("c1");
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(api)
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", authorization)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(request))).build(),
            HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException(method + " -> " + response.statusCode() + " " + response.body());
        }
        JsonNode answer = JSON.readTree(response.body()).get("methodResponses").get(0);
        if (!answer.get(0).asText().equals(method)) {
            throw new IllegalStateException(method + " answered " + answer);
        }
        return answer.get(1);
    }

    String mailboxId(String role) throws Exception {
        JsonNode list = call("Mailbox/get", JSON.createObjectNode().putNull("ids")).get("list");
        for (JsonNode mailbox : list) {
            if (role.equals(mailbox.path("role").asText())) {
                return mailbox.get("id").asText();
            }
        }
        throw new IllegalStateException("no mailbox with role " + role + " in " + list);
    }

    /** Email/query in one mailbox: the ids, in the order of {@code sort} (a JSON array or null). */
    List<String> query(String mailboxId, String filterJson, String sortJson) throws Exception {
        ObjectNode arguments = JSON.createObjectNode();
        ObjectNode filter = JSON.createObjectNode();
        filter.put("operator", "AND");
        ArrayNode conditions = filter.putArray("conditions");
        conditions.addObject().put("inMailbox", mailboxId);
        if (filterJson != null) {
            conditions.add(JSON.readTree(filterJson));
        }
        arguments.set("filter", filterJson == null ? JSON.createObjectNode().put("inMailbox", mailboxId) : filter);
        if (sortJson != null) {
            arguments.set("sort", JSON.readTree(sortJson));
        }
        arguments.put("limit", 256);
        List<String> ids = new ArrayList<>();
        call("Email/query", arguments).get("ids").forEach(id -> ids.add(id.asText()));
        return ids;
    }

    /** Email/get of some properties of these emails. */
    JsonNode get(List<String> ids, String... properties) throws Exception {
        ObjectNode arguments = JSON.createObjectNode();
        ArrayNode idArray = arguments.putArray("ids");
        ids.forEach(idArray::add);
        ArrayNode props = arguments.putArray("properties");
        for (String property : properties) {
            props.add(property);
        }
        return call("Email/get", arguments).get("list");
    }
}
