package org.mailcluster.routing;

import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import javax.mail.internet.AddressException;

import org.apache.james.core.MailAddress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A route as webadmin and the routing table write it:
 * <pre>
 *   {"transport": "mailbox", "tier": "eu"}                    tier defaults to "default"
 *   {"transport": "smtp", "host": "mx.example.net", "port": 25}  port defaults to 25
 *   {"transport": "lmtp", "host": "10.0.0.7", "port": 24}       port defaults to 24
 *   {"transport": "catchall", "mailbox": "all@hosted.example"}
 * </pre>
 * each optionally with {@code "recipients": ["alice", "bob"]} (local parts accepted at RCPT).
 * Every field is checked, and a field the transport does not take is refused rather than
 * ignored, so a misspelt {@code "hots"} is a 400, not a route to nowhere.
 */
public final class RouteJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern TIER = Pattern.compile("[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?");
    private static final Pattern LOCAL_PART = Pattern.compile("[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}");

    private RouteJson() {
    }

    /** A request was refused; {@link #getMessage()} names the field. */
    public static final class InvalidRoute extends IllegalArgumentException {
        public InvalidRoute(String message) {
            super(message);
        }
    }

    public static Route parse(String body) {
        JsonNode node;
        try {
            node = JSON.readTree(body == null ? "" : body);
        } catch (Exception e) {
            throw new InvalidRoute("the body is not JSON: " + firstLine(e.getMessage()));
        }
        if (node == null || !node.isObject()) {
            throw new InvalidRoute("the body must be a JSON object with a \"transport\"");
        }
        JsonNode transport = node.get("transport");
        if (transport == null || !transport.isTextual()) {
            throw new InvalidRoute("transport is required: one of mailbox, smtp, lmtp, catchall");
        }
        Route.Destination destination = switch (transport.asText()) {
            case "mailbox" -> {
                onlyFields(node, "tier");
                yield new Route.MailboxTier(optionalText(node, "tier").map(RouteJson::tier).orElse(Route.DEFAULT_TIER));
            }
            case "smtp", "lmtp" -> {
                onlyFields(node, "host", "port");
                Route.Protocol protocol = Route.Protocol.valueOf(transport.asText().toUpperCase(Locale.ROOT));
                String host = optionalText(node, "host")
                    .orElseThrow(() -> new InvalidRoute("host is required for transport " + transport.asText()));
                yield new Route.Relay(protocol, host(host), port(node.get("port"), protocol == Route.Protocol.LMTP ? 24 : 25));
            }
            case "catchall" -> {
                onlyFields(node, "mailbox");
                String mailbox = optionalText(node, "mailbox")
                    .orElseThrow(() -> new InvalidRoute("mailbox is required for transport catchall (the address that gets every recipient's mail)"));
                yield new Route.CatchAll(address(mailbox, "mailbox"));
            }
            default -> throw new InvalidRoute("transport must be one of mailbox, smtp, lmtp, catchall (was \"" + transport.asText() + "\")");
        };
        return new Route(destination, recipients(node.get("recipients")));
    }

    public static ObjectNode toJson(Route route) {
        ObjectNode node = JSON.createObjectNode();
        Route.Destination destination = route.destination();
        if (destination instanceof Route.MailboxTier tier) {
            node.put("transport", "mailbox").put("tier", tier.tier());
        } else if (destination instanceof Route.Relay relay) {
            node.put("transport", relay.protocol().asString()).put("host", relay.host()).put("port", relay.port());
        } else if (destination instanceof Route.CatchAll all) {
            node.put("transport", "catchall").put("mailbox", all.mailbox().asString());
        }
        route.recipients().ifPresent(list -> {
            ArrayNode array = node.putArray("recipients");
            list.stream().sorted().forEach(array::add);
        });
        return node;
    }

    public static String asString(Route route) {
        return toJson(route).toString();
    }

    /** A domain named in a path: lower-cased, each label a valid host name label. */
    public static String domain(String value, String field) {
        String domain = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (domain.endsWith(".")) {
            domain = domain.substring(0, domain.length() - 1);
        }
        if (domain.isEmpty() || domain.length() > 253) {
            throw new InvalidRoute(field + " must be a domain name (was \"" + value + "\")");
        }
        for (String label : domain.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                throw new InvalidRoute(field + " must be a domain name (was \"" + value + "\")");
            }
        }
        return domain;
    }

    /** An address named in a path or a body, with a valid domain; lower-cased. */
    public static MailAddress address(String value, String field) {
        String text = value == null ? "" : value.trim();
        int at = text.lastIndexOf('@');
        if (at <= 0 || at == text.length() - 1 || !LOCAL_PART.matcher(text.substring(0, at)).matches()) {
            throw new InvalidRoute(field + " must be an address local@domain (was \"" + value + "\")");
        }
        String domain = domain(text.substring(at + 1), field + "'s domain");
        try {
            return new MailAddress(text.substring(0, at).toLowerCase(Locale.ROOT) + "@" + domain);
        } catch (AddressException e) {
            throw new InvalidRoute(field + " must be an address local@domain (was \"" + value + "\")");
        }
    }

    /** A mailbox tier name: 1 to 32 lower-case letters, digits or hyphens. */
    public static String tier(String value) {
        if (!TIER.matcher(value).matches()) {
            throw new InvalidRoute("tier must be 1 to 32 lower-case letters, digits or '-' (was \"" + value + "\")");
        }
        return value;
    }

    private static String host(String value) {
        if (value.matches("[0-9.]+")) {
            String[] parts = value.split("\\.", -1);
            boolean ipv4 = parts.length == 4;
            for (String part : parts) {
                ipv4 &= !part.isEmpty() && part.length() <= 3 && Integer.parseInt(part) <= 255;
            }
            if (!ipv4) {
                throw new InvalidRoute("host must be a host name or an IPv4 address (was \"" + value + "\")");
            }
            return value;
        }
        try {
            return domain(value, "host");
        } catch (InvalidRoute e) {
            throw new InvalidRoute("host must be a host name or an IPv4 address (was \"" + value + "\")");
        }
    }

    private static int port(JsonNode value, int byDefault) {
        if (value == null) {
            return byDefault;
        }
        if (!value.isIntegralNumber() || value.asLong() < 1 || value.asLong() > 65535) {
            throw new InvalidRoute("port must be a number from 1 to 65535 (was " + value + ")");
        }
        return value.asInt();
    }

    private static Optional<Set<String>> recipients(JsonNode value) {
        if (value == null) {
            return Optional.empty();
        }
        if (!value.isArray() || value.isEmpty()) {
            throw new InvalidRoute("recipients must be a non-empty array of local parts, like [\"alice\", \"bob\"]");
        }
        Set<String> localParts = new LinkedHashSet<>();
        for (JsonNode localPart : value) {
            if (!localPart.isTextual() || !LOCAL_PART.matcher(localPart.asText()).matches()) {
                throw new InvalidRoute("recipients must hold local parts (the part before the @), like \"alice\" (was " + localPart + ")");
            }
            localParts.add(localPart.asText().toLowerCase(Locale.ROOT));
        }
        return Optional.of(localParts);
    }

    private static Optional<String> optionalText(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null) {
            return Optional.empty();
        }
        if (!value.isTextual() || value.asText().isBlank()) {
            throw new InvalidRoute(field + " must be a non-empty string (was " + value + ")");
        }
        return Optional.of(value.asText().trim());
    }

    private static void onlyFields(JsonNode node, String... allowed) {
        Set<String> known = new LinkedHashSet<>();
        known.add("transport");
        known.addAll(java.util.List.of(allowed));
        known.add("recipients");
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                throw new InvalidRoute(name + " is not a field of transport " + node.get("transport").asText()
                    + " (it takes: " + String.join(", ", known) + ")");
            }
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }
}
