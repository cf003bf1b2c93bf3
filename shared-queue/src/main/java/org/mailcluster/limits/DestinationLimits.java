package org.mailcluster.limits;

import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.bindMarker;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.deleteFrom;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.insertInto;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.selectFrom;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import javax.annotation.PreDestroy;
import javax.inject.Inject;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.mailcluster.backends.PeriodicallyReloaded;
import org.mailcluster.webadmin.JsonBody;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.type.DataTypes;

/**
 * How many connections remote delivery opens at once to one destination domain, per node
 * (Postfix's {@code default_destination_concurrency_limit} and its per-transport overrides):
 * receivers throttle or block a sender that opens many connections at once, so a big mailing
 * to one provider must not take every delivery slot of every node.
 *
 * <p>The default is {@code MC_LIMIT_CONNECTIONS_PER_DESTINATION} (20, as Postfix's); a domain's
 * own limit is set through webadmin ({@code /limits/destinations/DOMAIN}), kept in Cassandra
 * and read by every node every {@link #REFRESH}. The limit holds per node: N submission nodes
 * open at most N times as many. Enforced where the outgoing queue is consumed
 * ({@link org.mailcluster.queue.DestinationConcurrency}).
 */
public class DestinationLimits {
    public static final String CONNECTIONS_ENV = "MC_LIMIT_CONNECTIONS_PER_DESTINATION";
    static final int DEFAULT_CONNECTIONS = 20;
    public static final Duration REFRESH = Duration.ofSeconds(5);
    static final String CONNECTIONS = "connections";

    static final String TABLE = "destination_limits";
    static final String DOMAIN = "domain";
    static final String CONNECTIONS_COLUMN = "connections";

    public static final CassandraModule MODULE = CassandraModule.table(TABLE)
        .comment("Concurrent remote-delivery connections per node to one destination domain, set through webadmin (see DestinationLimits).")
        .statement(statement -> types -> statement
            .withPartitionKey(DOMAIN, DataTypes.TEXT)
            .withColumn(CONNECTIONS_COLUMN, DataTypes.INT))
        .build();

    /** The domain limits could not be read yet. */
    public static final class LimitsUnavailable extends IllegalStateException {
        LimitsUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final CqlSession session;
    private final int defaultConnections;
    private final PreparedStatement insert;
    private final PreparedStatement delete;
    private final PreparedStatement selectAll;
    private final PeriodicallyReloaded<Map<String, Integer>> byDomain;

    @Inject
    public DestinationLimits(CqlSession session) {
        this(session, SendingLimit.defaultFrom(CONNECTIONS_ENV, System.getenv(CONNECTIONS_ENV), DEFAULT_CONNECTIONS));
    }

    DestinationLimits(CqlSession session, int defaultConnections) {
        this.session = session;
        this.defaultConnections = defaultConnections;
        this.insert = session.prepare(insertInto(TABLE)
            .value(DOMAIN, bindMarker(DOMAIN)).value(CONNECTIONS_COLUMN, bindMarker(CONNECTIONS_COLUMN)).build());
        this.delete = session.prepare(deleteFrom(TABLE).whereColumn(DOMAIN).isEqualTo(bindMarker(DOMAIN)).build());
        this.selectAll = session.prepare(selectFrom(TABLE).columns(DOMAIN, CONNECTIONS_COLUMN).build());
        this.byDomain = new PeriodicallyReloaded<>("the destination limits", REFRESH, this::load,
            lastFailure -> new LimitsUnavailable("the destination limits have not been read yet", lastFailure));
    }

    @PreDestroy
    public void stop() {
        byDomain.stop();
    }

    public int defaultConnections() {
        return defaultConnections;
    }

    /**
     * The limit for {@code domain}: its own, else the default. If the table was never read
     * (Cassandra away since this node started), the default: delivery goes on rather than stop
     * for want of a throttle.
     */
    public int connectionsTo(String domain) {
        try {
            return byDomain.get().getOrDefault(domain.toLowerCase(Locale.ROOT), defaultConnections);
        } catch (LimitsUnavailable e) {
            return defaultConnections;
        }
    }

    /** Every domain's own limit, as this node read them. */
    public Map<String, Integer> all() {
        return byDomain.get();
    }

    /** Sets a domain's limit (this node applies it at once, the others within {@link #REFRESH}). */
    public void set(String domain, int connections) {
        session.execute(insert.bind().setString(DOMAIN, domain.toLowerCase(Locale.ROOT)).setInt(CONNECTIONS_COLUMN, connections));
        byDomain.reloadOrFail();
    }

    public void remove(String domain) {
        session.execute(delete.bind().setString(DOMAIN, domain.toLowerCase(Locale.ROOT)));
        byDomain.reloadOrFail();
    }

    private Map<String, Integer> load() {
        Map<String, Integer> limits = new TreeMap<>();
        for (Row row : session.execute(selectAll.bind())) {
            limits.put(row.getString(DOMAIN), row.getInt(CONNECTIONS_COLUMN));
        }
        return Map.copyOf(limits);
    }

    /** A PUT body, {@code {"connections": N}} with N a whole number from 1; the message names the field. */
    public static int parse(String body) {
        return JsonBody.wholeNumber(JsonBody.object(body, Set.of(CONNECTIONS), "{\"connections\": N}"), CONNECTIONS, 1, MAX_CONNECTIONS)
            .orElseThrow(() -> new JsonBody.Invalid("connections is missing; DELETE removes a limit"));
    }

    /** More than this many connections to one domain from one node throttles nothing. */
    static final int MAX_CONNECTIONS = 1000;
}
