package org.mailcluster.routing;

import static org.mailcluster.webadmin.WebAdminErrors.badRequest;
import static org.mailcluster.webadmin.WebAdminErrors.notFound;

import java.util.TreeMap;

import javax.inject.Inject;

import org.apache.james.core.Domain;
import org.apache.james.core.MailAddress;
import org.apache.james.core.Username;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.webadmin.Routes;
import org.eclipse.jetty.http.HttpStatus;
import org.mailcluster.queue.QueueTopology;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import spark.Request;
import spark.Service;

/**
 * The routing table through webadmin, on every node type (the table is shared: a change made
 * on one node reaches every node within {@link RoutingTable#REFRESH}):
 * <ul>
 *   <li>{@code GET /routes/domains}, {@code GET /routes/addresses}: every route, by name;</li>
 *   <li>{@code GET}, {@code PUT} (JSON body, see {@link RouteJson}), {@code DELETE}
 *       {@code /routes/domains/DOMAIN} and {@code /routes/addresses/ADDRESS}.</li>
 * </ul>
 * A PUT is checked whole before anything is written (400 naming the field): besides the body's
 * syntax, a {@code catchall} mailbox must be an existing user, a {@code mailbox} route for a
 * domain needs the domain hosted (and for an address, the user to exist), and its tier must
 * have had a node (its delivery queue exists), so that a misspelt tier does not park mail in
 * a queue nobody reads.
 */
public class RoutingTableRoutes implements Routes {
    static final String BASE = "/routes";

    private final RoutingTable table;
    private final DomainList domains;
    private final UsersRepository users;
    private final MailQueueFactory<?> queues;

    @Inject
    RoutingTableRoutes(RoutingTable table, DomainList domains, UsersRepository users, MailQueueFactory<?> queues) {
        this.table = table;
        this.domains = domains;
        this.users = users;
        this.queues = queues;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        for (RoutingTable.Kind kind : RoutingTable.Kind.values()) {
            String path = BASE + "/" + plural(kind);
            service.get(path, (request, response) -> {
                ObjectNode all = JsonNodeFactory.instance.objectNode();
                new TreeMap<>(table.all(kind)).forEach((name, route) -> all.set(name, RouteJson.toJson(route)));
                response.type("application/json");
                return all.toString();
            });
            service.get(path + "/:name", (request, response) -> {
                String name = name(kind, request);
                Route route = table.all(kind).get(name);
                if (route == null) {
                    throw notFound("no route for " + singular(kind) + " " + name);
                }
                response.type("application/json");
                return RouteJson.asString(route);
            });
            service.put(path + "/:name", (request, response) -> {
                String name = name(kind, request);
                Route route = parse(request.body());
                check(kind, name, route);
                table.put(kind, name, route);
                response.status(HttpStatus.NO_CONTENT_204);
                return "";
            });
            service.delete(path + "/:name", (request, response) -> {
                table.delete(kind, name(kind, request));
                response.status(HttpStatus.NO_CONTENT_204);
                return "";
            });
        }
    }

    private static String plural(RoutingTable.Kind kind) {
        return kind == RoutingTable.Kind.DOMAIN ? "domains" : "addresses";
    }

    private static String singular(RoutingTable.Kind kind) {
        return kind == RoutingTable.Kind.DOMAIN ? "domain" : "address";
    }

    private static String name(RoutingTable.Kind kind, Request request) {
        String raw = request.params("name");
        try {
            return kind == RoutingTable.Kind.DOMAIN
                ? RouteJson.domain(raw, "domain")
                : RouteJson.address(raw, "address").asString();
        } catch (RouteJson.InvalidRoute e) {
            throw badRequest(e.getMessage());
        }
    }

    private static Route parse(String body) {
        try {
            return RouteJson.parse(body);
        } catch (RouteJson.InvalidRoute e) {
            throw badRequest(e.getMessage());
        }
    }

    /** What the body's syntax cannot tell: that the route leads somewhere that exists. */
    private void check(RoutingTable.Kind kind, String name, Route route) throws Exception {
        Route.Destination destination = route.destination();
        if (destination instanceof Route.CatchAll all) {
            if (!users.contains(Username.fromMailAddress(all.mailbox()))) {
                throw badRequest("mailbox " + all.mailbox().asString() + " is not a user of the cluster; create the user first");
            }
        }
        if (destination instanceof Route.MailboxTier tier) {
            if (kind == RoutingTable.Kind.DOMAIN && !domains.containsDomain(Domain.of(name))) {
                throw badRequest("domain " + name + " is not hosted by the cluster: a mailbox route needs the domain (PUT /domains/" + name + ")");
            }
            if (kind == RoutingTable.Kind.ADDRESS && !users.contains(Username.fromMailAddress(new MailAddress(name)))) {
                throw badRequest("address " + name + " is not a user of the cluster: a mailbox route needs the user");
            }
            String queue = QueueTopology.deliveryQueue(tier.tier());
            if (!queues.listCreatedMailQueues().contains(MailQueueName.of(queue))) {
                throw badRequest("tier " + tier.tier() + " has no mailbox node (its queue " + queue
                    + " does not exist): start a mailbox node with MC_MAILBOX_TIER=" + tier.tier() + " first");
            }
        }
        if (route.recipients().isPresent() && destination instanceof Route.MailboxTier) {
            throw badRequest("recipients is for relay and catch-all routes: a mailbox route accepts the domain's users");
        }
        if (route.recipients().isPresent() && kind == RoutingTable.Kind.ADDRESS) {
            throw badRequest("recipients is for domain routes: an address route accepts its own address");
        }
    }
}
