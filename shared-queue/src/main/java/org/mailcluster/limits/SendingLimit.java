package org.mailcluster.limits;

import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

import org.mailcluster.webadmin.JsonBody;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The sending limits set for one user or one domain (webadmin's {@code /limits}): each is
 * optional, an unset one falls through to the domain's, then to the deployment's default (see
 * {@link #resolve}). JSON: {@code {"messagesPerHour": 200, "recipientsPerMessage": 50}}.
 */
public record SendingLimit(OptionalInt messagesPerHour, OptionalInt recipientsPerMessage) {
    static final String MESSAGES_PER_HOUR = "messagesPerHour";
    static final String RECIPIENTS_PER_MESSAGE = "recipientsPerMessage";
    static final Set<String> FIELDS = Set.of(MESSAGES_PER_HOUR, RECIPIENTS_PER_MESSAGE);
    /** Above this a limit protects nothing; a typo with extra zeros is refused. */
    static final int MAX = 1_000_000;

    /** Where an effective limit comes from, said in SMTP answers and webadmin. */
    public enum Source {
        USER, DOMAIN, DEFAULT;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The limits that apply to one user, each with where it was set. */
    public record Effective(int messagesPerHour, Source messagesPerHourSource,
                            int recipientsPerMessage, Source recipientsPerMessageSource) {
    }

    /** The user's own limit wins, then the domain's, then the default, field by field. */
    public static Effective resolve(Optional<SendingLimit> user, Optional<SendingLimit> domain, Effective defaults) {
        int messages = defaults.messagesPerHour();
        Source messagesSource = Source.DEFAULT;
        int recipients = defaults.recipientsPerMessage();
        Source recipientsSource = Source.DEFAULT;
        for (var level : java.util.List.of(
            java.util.Map.entry(Source.DOMAIN, domain), java.util.Map.entry(Source.USER, user))) {
            if (level.getValue().isEmpty()) {
                continue;
            }
            SendingLimit limit = level.getValue().get();
            if (limit.messagesPerHour().isPresent()) {
                messages = limit.messagesPerHour().getAsInt();
                messagesSource = level.getKey();
            }
            if (limit.recipientsPerMessage().isPresent()) {
                recipients = limit.recipientsPerMessage().getAsInt();
                recipientsSource = level.getKey();
            }
        }
        return new Effective(messages, messagesSource, recipients, recipientsSource);
    }

    /** A PUT body: an object with at least one of the two fields, each a whole number from 1. */
    public static SendingLimit parse(String body) {
        JsonNode node = JsonBody.object(body, FIELDS, "{\"messagesPerHour\": N, \"recipientsPerMessage\": N}");
        SendingLimit limit = new SendingLimit(
            JsonBody.wholeNumber(node, MESSAGES_PER_HOUR, 1, MAX), JsonBody.wholeNumber(node, RECIPIENTS_PER_MESSAGE, 1, MAX));
        if (limit.messagesPerHour().isEmpty() && limit.recipientsPerMessage().isEmpty()) {
            throw new JsonBody.Invalid("set messagesPerHour or recipientsPerMessage (or both); DELETE removes a limit");
        }
        return limit;
    }

    public ObjectNode toJson() {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        messagesPerHour.ifPresent(value -> json.put(MESSAGES_PER_HOUR, value));
        recipientsPerMessage.ifPresent(value -> json.put(RECIPIENTS_PER_MESSAGE, value));
        return json;
    }

    /** A deployment's default, from its environment: a positive whole number, or {@code fallback} when unset. */
    public static int defaultFrom(String variable, String value, int fallback) {
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            int parsed = Integer.parseInt(value.trim());
            if (parsed >= 1 && parsed <= MAX) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException(variable + " must be a whole number from 1 to " + MAX + " (was \"" + value + "\")");
    }
}
