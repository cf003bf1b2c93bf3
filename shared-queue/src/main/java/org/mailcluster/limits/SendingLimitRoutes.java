package org.mailcluster.limits;

import static org.mailcluster.webadmin.WebAdminErrors.badRequest;
import static org.mailcluster.webadmin.WebAdminErrors.notFound;

import java.util.Locale;

import javax.inject.Inject;

import org.apache.james.core.Domain;
import org.apache.james.core.Username;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.webadmin.Routes;
import org.eclipse.jetty.http.HttpStatus;
import org.mailcluster.webadmin.JsonBody;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import spark.Request;
import spark.Service;

/**
 * Sending limits through webadmin, on every node type (the limits are in Cassandra: a change
 * holds on every submission node from the next message on):
 * <ul>
 *   <li>{@code GET /limits/defaults}: the deployment's defaults;</li>
 *   <li>{@code GET /limits/users}, {@code GET /limits/domains}: every limit set, by name;</li>
 *   <li>{@code GET}, {@code PUT} (JSON body, see {@link SendingLimit}), {@code DELETE}
 *       {@code /limits/users/USER} and {@code /limits/domains/DOMAIN};</li>
 *   <li>{@code GET /limits/users/USER/usage}: the limits that apply to the user, where each was
 *       set, and the messages they sent in the last hour.</li>
 * </ul>
 * A PUT names an existing user or a hosted domain (400 otherwise, as for a malformed body).
 */
public class SendingLimitRoutes implements Routes {
    static final String BASE = "/limits";

    private final SendingLimits limits;
    private final UsersRepository users;
    private final DomainList domains;

    @Inject
    SendingLimitRoutes(SendingLimits limits, UsersRepository users, DomainList domains) {
        this.limits = limits;
        this.users = users;
        this.domains = domains;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE + "/defaults", (request, response) -> {
            response.type("application/json");
            return effective(limits.defaults()).toString();
        });
        for (SendingLimits.Scope scope : SendingLimits.Scope.values()) {
            String path = BASE + "/" + (scope == SendingLimits.Scope.USER ? "users" : "domains");
            service.get(path, (request, response) -> {
                ObjectNode all = JsonNodeFactory.instance.objectNode();
                limits.all(scope).forEach((name, limit) -> all.set(name, limit.toJson()));
                response.type("application/json");
                return all.toString();
            });
            service.get(path + "/:name", (request, response) -> {
                String name = name(scope, request);
                SendingLimit limit = limits.get(scope, name)
                    .orElseThrow(() -> notFound("no sending limit set for " + scope.column() + " " + name));
                response.type("application/json");
                return limit.toJson().toString();
            });
            service.put(path + "/:name", (request, response) -> {
                String name = name(scope, request);
                SendingLimit limit;
                try {
                    limit = SendingLimit.parse(request.body());
                } catch (JsonBody.Invalid e) {
                    throw badRequest(e.getMessage());
                }
                mustExist(scope, name);
                limits.set(scope, name, limit);
                response.status(HttpStatus.NO_CONTENT_204);
                return "";
            });
            service.delete(path + "/:name", (request, response) -> {
                limits.remove(scope, name(scope, request));
                response.status(HttpStatus.NO_CONTENT_204);
                return "";
            });
        }
        service.get(BASE + "/users/:name/usage", (request, response) -> {
            Username user = Username.of(name(SendingLimits.Scope.USER, request));
            ObjectNode usage = effective(limits.effective(user));
            usage.put("messagesInTheLastHour", limits.sentInTheLastHour(user));
            response.type("application/json");
            return usage.toString();
        });
    }

    private void mustExist(SendingLimits.Scope scope, String name) throws Exception {
        if (scope == SendingLimits.Scope.USER && !users.contains(Username.of(name))) {
            throw badRequest("user: no such user " + name);
        }
        if (scope == SendingLimits.Scope.DOMAIN && !domains.containsDomain(Domain.of(name))) {
            throw badRequest("domain: " + name + " is not a hosted domain");
        }
    }

    private static String name(SendingLimits.Scope scope, Request request) {
        String raw = request.params("name");
        try {
            return scope == SendingLimits.Scope.USER
                ? SendingLimits.key(Username.of(raw))
                : Domain.of(raw).asString().toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            throw badRequest(scope.column() + ": not a valid " + scope.column() + " name: " + raw);
        }
    }

    private static ObjectNode effective(SendingLimit.Effective effective) {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.put(SendingLimit.MESSAGES_PER_HOUR, effective.messagesPerHour());
        json.put(SendingLimit.MESSAGES_PER_HOUR + "SetFor", effective.messagesPerHourSource().label());
        json.put(SendingLimit.RECIPIENTS_PER_MESSAGE, effective.recipientsPerMessage());
        json.put(SendingLimit.RECIPIENTS_PER_MESSAGE + "SetFor", effective.recipientsPerMessageSource().label());
        return json;
    }
}
