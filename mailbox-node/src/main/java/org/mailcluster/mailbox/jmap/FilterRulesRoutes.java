package org.mailcluster.mailbox.jmap;

import static org.mailcluster.webadmin.WebAdminErrors.badRequest;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.core.Username;
import org.apache.james.jmap.api.filtering.FilteringManagement;
import org.apache.james.jmap.api.filtering.Rule;
import org.apache.james.jmap.api.filtering.Rules;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.webadmin.Routes;
import org.eclipse.jetty.http.HttpStatus;
import org.mailcluster.webadmin.RequestedUser;


import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import reactor.core.publisher.Mono;
import spark.Service;

/**
 * A user's mail filtering rules (the ones the mailbox tier's {@code JMAPFiltering} applies at
 * delivery), for operators: James 3.8.1 edits them only through its draft JMAP protocol, whose
 * login this cluster does not serve.
 * <ul>
 *   <li>{@code GET /users/USER/filters}: the rules, in order;</li>
 *   <li>{@code PUT /users/USER/filters} with the whole list, which replaces it:
 *       <pre>[{"id": "1", "name": "invoices",
 *   "condition": {"field": "subject", "comparator": "contains", "value": "invoice"},
 *   "mailboxIds": ["MAILBOX_ID"]}]</pre>
 *       {@code field}: from, to, cc, subject, recipient; {@code comparator}: contains,
 *       not-contains, exactly-equals, not-exactly-equals; the first matching rule moves the
 *       message to its mailboxes. 204 when stored; 400 naming the field that is wrong;
 *       404 for an unknown user.</li>
 * </ul>
 */
public class FilterRulesRoutes implements Routes {
    private static final String PATH = "/users/:user/filters";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FilteringManagement filtering;
    private final UsersRepository users;

    @Inject
    FilterRulesRoutes(FilteringManagement filtering, UsersRepository users) {
        this.filtering = filtering;
        this.users = users;
    }

    @Override
    public String getBasePath() {
        return "/users";
    }

    @Override
    public void define(Service service) {
        service.get(PATH, (request, response) -> {
            Username user = RequestedUser.existing(users, request.params("user"));
            Rules rules = Mono.from(filtering.listRulesForUser(user)).block();
            response.type("application/json");
            return JSON.writeValueAsString(toJson(rules == null ? List.of() : rules.getRules()));
        });
        service.put(PATH, (request, response) -> {
            Username user = RequestedUser.existing(users, request.params("user"));
            List<Rule> rules = parse(request.body());
            Mono.from(filtering.defineRulesForUser(user, rules, Optional.empty())).block();
            response.status(HttpStatus.NO_CONTENT_204);
            return "";
        });
    }

    /** The rules of a PUT body, every field checked; nothing is stored unless all are valid. */
    static List<Rule> parse(String body) {
        JsonNode list;
        try {
            list = JSON.readTree(body == null ? "" : body);
        } catch (Exception e) {
            throw badRequest("the body is not JSON: " + e.getMessage());
        }
        if (list == null || !list.isArray()) {
            throw badRequest("the body must be a JSON array of rules");
        }
        List<Rule> rules = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "[" + i + "]";
            JsonNode rule = list.get(i);
            if (!rule.isObject()) {
                throw badRequest(at + " must be an object");
            }
            JsonNode condition = rule.path("condition");
            if (!condition.isObject()) {
                throw badRequest(at + ".condition must be an object");
            }
            Rule.Condition.Field field = Rule.Condition.Field.find(text(condition, at + ".condition.field"))
                .orElseThrow(() -> badRequest(at + ".condition.field must be one of from, to, cc, subject, recipient"));
            Rule.Condition.Comparator comparator = Rule.Condition.Comparator.find(text(condition, at + ".condition.comparator"))
                .orElseThrow(() -> badRequest(at + ".condition.comparator must be one of contains, not-contains, exactly-equals, not-exactly-equals"));
            JsonNode mailboxIds = rule.path("mailboxIds");
            if (!mailboxIds.isArray() || mailboxIds.isEmpty()) {
                throw badRequest(at + ".mailboxIds must be a non-empty array of mailbox ids");
            }
            List<String> mailboxes = new ArrayList<>();
            for (JsonNode mailbox : mailboxIds) {
                if (!mailbox.isTextual() || mailbox.asText().isBlank()) {
                    throw badRequest(at + ".mailboxIds must hold mailbox ids (strings)");
                }
                mailboxes.add(mailbox.asText());
            }
            rules.add(Rule.builder()
                .id(Rule.Id.of(text(rule, at + ".id")))
                .name(text(rule, at + ".name"))
                .condition(Rule.Condition.of(field, comparator, text(condition, at + ".condition.value")))
                .action(Rule.Action.of(Rule.Action.AppendInMailboxes.withMailboxIds(mailboxes)))
                .build());
        }
        return rules;
    }

    private static String text(JsonNode parent, String path) {
        JsonNode value = parent.path(path.substring(path.lastIndexOf('.') + 1));
        if (!value.isTextual() || value.asText().isEmpty()) {
            throw badRequest(path + " must be a non-empty string");
        }
        return value.asText();
    }

    private static ArrayNode toJson(List<Rule> rules) {
        ArrayNode list = JSON.createArrayNode();
        for (Rule rule : rules) {
            ObjectNode node = list.addObject()
                .put("id", rule.getId().asString())
                .put("name", rule.getName());
            node.putObject("condition")
                .put("field", rule.getCondition().getField().asString())
                .put("comparator", rule.getCondition().getComparator().asString())
                .put("value", rule.getCondition().getValue());
            ArrayNode mailboxes = node.putArray("mailboxIds");
            rule.getAction().getAppendInMailboxes().getMailboxIds().forEach(mailboxes::add);
        }
        return list;
    }
}
