package org.mailcluster.scanning;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * rspamd's HTTP protocol: {@code POST /checkv2} with the message as body and the envelope in
 * request headers ({@code IP}, {@code Helo}, {@code From}, one {@code Rcpt} per recipient,
 * {@code User} for an authenticated sender), answered with JSON: the action rspamd's
 * thresholds choose ({@code no action}, {@code add header}, {@code rewrite subject},
 * {@code soft reject}, {@code reject}), the score, the reject threshold and the symbols.
 */
public class RspamdClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final Duration timeout;
    private final HttpClient http;

    public RspamdClient(URI base, Duration timeout) {
        this.base = base;
        this.timeout = timeout;
        // HTTP/1.1 only: the JDK client's default asks to upgrade to HTTP/2 (h2c), and rspamd then
        // reads the POST as an empty message.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    public URI base() {
        return base;
    }

    /** What the message was sent with: the SMTP client, its HELO, the envelope. */
    public record Envelope(String clientAddress, String helo, String sender, List<String> recipients, String authenticatedUser,
                           String receivingHost) {
    }

    /**
     * rspamd's verdict, with the headers it asks the MTA to add (its {@code milter} answer:
     * {@code Authentication-Results} with the SPF, DKIM and DMARC results).
     */
    public record Result(String action, double score, double requiredScore, List<String> symbols, Map<String, String> addHeaders) {
        public Result(String action, double score, double requiredScore, List<String> symbols) {
            this(action, score, requiredScore, symbols, Map.of());
        }
    }

    public Result check(byte[] message, Envelope envelope) throws ScannerUnavailable {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/checkv2"))
            .timeout(timeout)
            .POST(HttpRequest.BodyPublishers.ofByteArray(message));
        if (envelope.clientAddress() != null) {
            request.header("IP", envelope.clientAddress());
        }
        if (envelope.helo() != null && !envelope.helo().isBlank()) {
            request.header("Helo", envelope.helo());
        }
        if (envelope.sender() != null && !envelope.sender().isEmpty()) {
            request.header("From", envelope.sender());
        }
        envelope.recipients().forEach(recipient -> request.header("Rcpt", recipient));
        if (envelope.authenticatedUser() != null) {
            request.header("User", envelope.authenticatedUser());
        }
        if (envelope.receivingHost() != null && !envelope.receivingHost().isBlank()) {
            // the authserv-id of the Authentication-Results header: the receiving node, not rspamd's host
            request.header("MTA-Name", envelope.receivingHost());
        }
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScannerUnavailable("interrupted while waiting for rspamd", e);
        } catch (Exception e) {
            throw new ScannerUnavailable("rspamd at " + base + ": " + e, e);
        }
        if (response.statusCode() != 200) {
            throw new ScannerUnavailable("rspamd at " + base + " answered HTTP " + response.statusCode() + ": " + response.body());
        }
        return parse(response.body());
    }

    /** rspamd's ping: true when it answers. */
    public boolean ping() {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(base.resolve("/ping")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            return false;
        }
    }

    static Result parse(String body) throws ScannerUnavailable {
        try {
            JsonNode json = JSON.readTree(body);
            if (!json.hasNonNull("action") || !json.hasNonNull("score")) {
                throw new ScannerUnavailable("rspamd's answer has no action or score: " + body);
            }
            List<String> symbols = new ArrayList<>();
            json.path("symbols").fieldNames().forEachRemaining(symbols::add);
            symbols.sort(String::compareTo);
            Map<String, String> addHeaders = new LinkedHashMap<>();
            json.path("milter").path("add_headers").fields().forEachRemaining(header -> {
                JsonNode value = header.getValue();
                // {"value": "...", "order": 0}, a plain string, or a list of either
                JsonNode first = value.isArray() && !value.isEmpty() ? value.get(0) : value;
                String text = first.isTextual() ? first.asText() : first.path("value").asText("");
                if (!text.isEmpty()) {
                    addHeaders.put(header.getKey(), text);
                }
            });
            return new Result(json.get("action").asText(), json.get("score").asDouble(), json.path("required_score").asDouble(),
                symbols, addHeaders);
        } catch (ScannerUnavailable e) {
            throw e;
        } catch (Exception e) {
            throw new ScannerUnavailable("rspamd's answer is not JSON: " + body, e);
        }
    }
}
