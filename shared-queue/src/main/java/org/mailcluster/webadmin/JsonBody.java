package org.mailcluster.webadmin;

import java.util.Iterator;
import java.util.OptionalInt;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reading a webadmin request body strictly: it must be a JSON object, every field known, every
 * value of its type, and each refusal says which field and why, for the 400 answer.
 */
public final class JsonBody {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A body that is not what the route takes; the message names the field. */
    public static final class Invalid extends IllegalArgumentException {
        public Invalid(String message) {
            super(message);
        }
    }

    private JsonBody() {
    }

    /** The body as an object whose fields are all in {@code known}; {@code example} shows its shape. */
    public static JsonNode object(String body, Set<String> known, String example) {
        JsonNode node;
        try {
            node = JSON.readTree(body == null ? "" : body);
        } catch (JsonProcessingException e) {
            throw new Invalid("the body is not JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new Invalid("the body must be a JSON object: " + example);
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                throw new Invalid("unknown field " + name + " (known: " + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        }
        return node;
    }

    /** An optional whole number from {@code min} to {@code max}; absent or null is empty. */
    public static OptionalInt wholeNumber(JsonNode object, String field, int min, int max) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return OptionalInt.empty();
        }
        if (!value.isIntegralNumber() || value.asLong() < min || value.asLong() > max) {
            throw new Invalid(field + " must be a whole number from " + min + " to " + max + " (was " + value + ")");
        }
        return OptionalInt.of(value.asInt());
    }
}
