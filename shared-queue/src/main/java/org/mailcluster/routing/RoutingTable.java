package org.mailcluster.routing;

import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.bindMarker;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.deleteFrom;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.insertInto;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.selectFrom;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import javax.annotation.PreDestroy;
import javax.inject.Inject;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.core.MailAddress;
import org.mailcluster.backends.PeriodicallyReloaded;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.type.DataTypes;

/**
 * The cluster's routing table (Postfix's transport map), shared by every node through
 * Cassandra and read from memory: each node loads the whole table at start and again every
 * {@link #REFRESH}, so that a change made through any node's webadmin reaches every node
 * within that time without a restart. The table is small (one row per routed domain or
 * address), and mail is routed without a Cassandra read.
 *
 * <p>If a refresh fails (Cassandra restarting), the node keeps routing with the table it has.
 * A node that never loaded it answers {@link RoutingTableUnavailable}, so mail is deferred
 * rather than routed as if no route existed.
 */
public class RoutingTable {
    private static final Logger LOGGER = LoggerFactory.getLogger(RoutingTable.class);

    public static final Duration REFRESH = Duration.ofSeconds(5);
    static final String TABLE = "routes";
    static final String KIND = "kind";
    static final String NAME = "name";
    static final String ROUTE = "route";

    public static final CassandraModule MODULE = CassandraModule.table(TABLE)
        .comment("Routes by domain and by address (see RoutingTable): where their mail goes, who is accepted at RCPT.")
        .statement(statement -> types -> statement
            .withPartitionKey(KIND, DataTypes.TEXT)
            .withClusteringColumn(NAME, DataTypes.TEXT)
            .withColumn(ROUTE, DataTypes.TEXT))
        .build();

    /** What a route is keyed by. */
    public enum Kind {
        DOMAIN, ADDRESS;

        String column() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public static final class RoutingTableUnavailable extends IllegalStateException {
        RoutingTableUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private record Snapshot(Map<String, Route> domains, Map<String, Route> addresses) {
    }

    private final CqlSession session;
    private final PreparedStatement insert;
    private final PreparedStatement delete;
    private final PreparedStatement selectAll;
    private final PeriodicallyReloaded<Snapshot> snapshot;

    @Inject
    public RoutingTable(CqlSession session) {
        this.session = session;
        this.insert = session.prepare(insertInto(TABLE)
            .value(KIND, bindMarker(KIND)).value(NAME, bindMarker(NAME)).value(ROUTE, bindMarker(ROUTE)).build());
        this.delete = session.prepare(deleteFrom(TABLE)
            .whereColumn(KIND).isEqualTo(bindMarker(KIND)).whereColumn(NAME).isEqualTo(bindMarker(NAME)).build());
        this.selectAll = session.prepare(selectFrom(TABLE).columns(KIND, NAME, ROUTE).build());
        this.snapshot = new PeriodicallyReloaded<>("the routing table", REFRESH, this::load,
            lastFailure -> new RoutingTableUnavailable("the routing table has not been read yet", lastFailure));
    }

    @PreDestroy
    public void stop() {
        snapshot.stop();
    }

    /** The route for a recipient: its own address's, else its domain's, else none. */
    public Optional<Route> routeFor(MailAddress recipient) {
        Snapshot current = loaded();
        Route byAddress = current.addresses().get(recipient.asString().toLowerCase(java.util.Locale.ROOT));
        if (byAddress != null) {
            return Optional.of(byAddress);
        }
        return Optional.ofNullable(current.domains().get(recipient.getDomain().asString()));
    }

    /** Whether the recipient has a route of its own (an address route). */
    public Optional<Route> addressRoute(MailAddress recipient) {
        return Optional.ofNullable(loaded().addresses().get(recipient.asString().toLowerCase(java.util.Locale.ROOT)));
    }

    public Optional<Route> domainRoute(String domain) {
        return Optional.ofNullable(loaded().domains().get(domain));
    }

    /** The whole table as this node sees it now, for webadmin's listings. */
    public Map<String, Route> all(Kind kind) {
        Snapshot current = loaded();
        return kind == Kind.DOMAIN ? current.domains() : current.addresses();
    }

    /** Writes a route (then this node's copy at once; the others within {@link #REFRESH}). */
    public void put(Kind kind, String name, Route route) {
        session.execute(insert.bind()
            .setString(KIND, kind.column()).setString(NAME, name).setString(ROUTE, RouteJson.asString(route)));
        refreshOrFail();
    }

    public void delete(Kind kind, String name) {
        session.execute(delete.bind().setString(KIND, kind.column()).setString(NAME, name));
        refreshOrFail();
    }

    /** Reads the table again now; the answer reflects what Cassandra holds. */
    public void refreshOrFail() {
        snapshot.reloadOrFail();
    }

    private Snapshot loaded() {
        return snapshot.get();
    }

    private Snapshot load() {
        Map<String, Route> domains = new HashMap<>();
        Map<String, Route> addresses = new HashMap<>();
        for (Row row : session.execute(selectAll.bind())) {
            String kind = row.getString(KIND);
            String name = row.getString(NAME);
            Route route;
            try {
                route = RouteJson.parse(row.getString(ROUTE));
            } catch (RouteJson.InvalidRoute e) {
                LOGGER.error("ignoring the unreadable route of {} {}: {}", kind, name, e.getMessage());
                continue;
            }
            (Kind.DOMAIN.column().equals(kind) ? domains : addresses).put(name, route);
        }
        return new Snapshot(Map.copyOf(domains), Map.copyOf(addresses));
    }
}
