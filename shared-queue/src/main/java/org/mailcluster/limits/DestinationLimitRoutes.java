package org.mailcluster.limits;

import static org.mailcluster.webadmin.WebAdminErrors.badRequest;
import static org.mailcluster.webadmin.WebAdminErrors.notFound;

import java.util.Locale;
import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.core.Domain;
import org.apache.james.webadmin.Routes;
import org.eclipse.jetty.http.HttpStatus;
import org.mailcluster.queue.DestinationConcurrency;
import org.mailcluster.webadmin.JsonBody;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import spark.Request;
import spark.Service;

/**
 * Connections per destination domain through webadmin, on every node type (the limits are in
 * Cassandra; every submission node applies a change within {@link DestinationLimits#REFRESH}):
 * <ul>
 *   <li>{@code GET /limits/destinations}: the default, every domain's own limit, and this
 *       node's deliveries under way and waiting, per domain;</li>
 *   <li>{@code GET /limits/destinations/DOMAIN}: the limit that applies, where it was set,
 *       and this node's deliveries under way and waiting for it;</li>
 *   <li>{@code PUT /limits/destinations/DOMAIN} with {@code {"connections": N}}, and
 *       {@code DELETE} (back to the default).</li>
 * </ul>
 * A destination is any domain, not a hosted one: it is where the cluster sends to.
 */
public class DestinationLimitRoutes implements Routes {
    static final String BASE = "/limits/destinations";

    private final DestinationLimits limits;
    private final DestinationConcurrency deliveries;

    @Inject
    DestinationLimitRoutes(DestinationLimits limits, DestinationConcurrency deliveries) {
        this.limits = limits;
        this.deliveries = deliveries;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> {
            ObjectNode json = JsonNodeFactory.instance.objectNode();
            json.put("defaultConnections", limits.defaultConnections());
            ObjectNode own = json.putObject("domains");
            limits.all().forEach((domain, connections) -> own.putObject(domain).put(DestinationLimits.CONNECTIONS, connections));
            ObjectNode inFlight = json.putObject("inFlightOnThisNode");
            deliveries.inFlight().forEach(inFlight::put);
            ObjectNode waiting = json.putObject("waitingOnThisNode");
            deliveries.waiting().forEach(waiting::put);
            response.type("application/json");
            return json.toString();
        });
        service.get(BASE + "/:domain", (request, response) -> {
            String domain = domain(request);
            Optional<Integer> own = Optional.ofNullable(limits.all().get(domain));
            ObjectNode json = JsonNodeFactory.instance.objectNode();
            json.put(DestinationLimits.CONNECTIONS, own.orElse(limits.defaultConnections()));
            json.put("setFor", own.isPresent() ? "domain" : "default");
            json.put("inFlightOnThisNode", deliveries.inFlight().getOrDefault(domain, 0));
            json.put("waitingOnThisNode", deliveries.waiting().getOrDefault(domain, 0));
            response.type("application/json");
            return json.toString();
        });
        service.put(BASE + "/:domain", (request, response) -> {
            String domain = domain(request);
            int connections;
            try {
                connections = DestinationLimits.parse(request.body());
            } catch (JsonBody.Invalid e) {
                throw badRequest(e.getMessage());
            }
            limits.set(domain, connections);
            response.status(HttpStatus.NO_CONTENT_204);
            return "";
        });
        service.delete(BASE + "/:domain", (request, response) -> {
            String domain = domain(request);
            if (!limits.all().containsKey(domain)) {
                throw notFound("no connection limit set for " + domain);
            }
            limits.remove(domain);
            response.status(HttpStatus.NO_CONTENT_204);
            return "";
        });
    }

    private static String domain(Request request) {
        String raw = request.params("domain");
        try {
            return Domain.of(raw).asString().toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            throw badRequest("domain: not a valid domain name: " + raw);
        }
    }
}
