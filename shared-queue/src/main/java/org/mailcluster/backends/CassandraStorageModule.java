package org.mailcluster.backends;

import java.net.InetSocketAddress;
import java.util.Set;

import javax.inject.Inject;
import javax.inject.Named;
import javax.inject.Singleton;

import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.backends.cassandra.init.CassandraZonedDateTimeModule;
import org.apache.james.backends.cassandra.init.KeyspaceFactory;
import org.apache.james.backends.cassandra.init.SessionWithInitializedTablesFactory;
import org.apache.james.backends.cassandra.init.configuration.CassandraConfiguration;
import org.apache.james.backends.cassandra.init.configuration.ClusterConfiguration;
import org.apache.james.backends.cassandra.init.configuration.KeyspaceConfiguration;
import org.apache.james.backends.cassandra.utils.CassandraHealthCheck;
import org.apache.james.backends.cassandra.versions.CassandraSchemaVersionDAO;
import org.apache.james.backends.cassandra.versions.CassandraSchemaVersionManager;
import org.apache.james.backends.cassandra.versions.CassandraSchemaVersionModule;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.utils.PropertiesProvider;
import org.mailcluster.metrics.BackendErrors;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.CqlSessionBuilder;
import com.datastax.oss.driver.api.core.DriverException;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.loadbalancing.NodeDistance;
import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

/**
 * The Cassandra session every node shares, configured by {@code cassandra.properties}, over TLS
 * when it says so ({@link CassandraTls}).
 *
 * <p>Each module that stores something in Cassandra adds its tables to the
 * {@code Set<CassandraModule>}; the session is handed out only once all of those tables exist
 * (created if absent), so nodes of different types may start in any order against the same
 * keyspace and each creates just the tables it uses.
 */
public class CassandraStorageModule extends AbstractModule {

    private static final org.slf4j.Logger LOGGER = org.slf4j.LoggerFactory.getLogger(CassandraStorageModule.class);

    static final String CONFIGURATION = "cassandra";

    @Override
    protected void configure() {
        Multibinder<CassandraModule> tables = Multibinder.newSetBinder(binder(), CassandraModule.class);
        tables.addBinding().toInstance(CassandraZonedDateTimeModule.MODULE);
        tables.addBinding().toInstance(CassandraSchemaVersionModule.MODULE);

        bind(ConnectedCluster.class).in(Scopes.SINGLETON);
        bind(CqlSession.class).toProvider(SessionWithInitializedTablesFactory.class);
        bind(CassandraSchemaVersionManager.class).in(Scopes.SINGLETON);
        bind(CassandraSchemaVersionDAO.class).in(Scopes.SINGLETON);

        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(CassandraHealthCheck.class);
    }

    /**
     * Creates the schema, then opens raw sessions bound to the keyspace. Connection is retried while
     * Cassandra comes up, as configured by cassandra.retryConnection.*.
     *
     * <p>Written here rather than taken from James's ClusterFactory: that one checks the
     * connection with {@code dateof()}, a CQL function Cassandra 5 no longer has.
     */
    static class ConnectedCluster {
        private static final org.slf4j.Logger LOGGER = org.slf4j.LoggerFactory.getLogger(ConnectedCluster.class);

        private final ClusterConfiguration cluster;
        private final KeyspaceConfiguration keyspace;
        private final CassandraTls tls;
        private final CassandraConfiguration settings;

        @Inject
        ConnectedCluster(ClusterConfiguration cluster, KeyspaceConfiguration keyspace, CassandraTls tls, CassandraConfiguration settings) {
            this.cluster = cluster;
            this.keyspace = keyspace;
            this.tls = tls;
            this.settings = settings;
        }

        /**
         * The driver's configuration (its defaults, and application.conf when there is one) with
         * the consistency levels of cassandra.properties: {@code cassandra.consistency_level.regular}
         * (QUORUM by default; LOCAL_QUORUM across data centres) for every statement, and
         * {@code cassandra.consistency_level.lightweight_transaction} (SERIAL; LOCAL_SERIAL) for
         * the conditional ones and James's "LWT" reads. James reads its profiles from the
         * driver's configuration; without these the driver's LOCAL_ONE would apply, which on a
         * replicated keyspace can read what a write has not reached yet.
         */
        static DriverConfigLoader driverConfiguration(CassandraConfiguration settings) {
            String regular = settings.getConsistencyLevelRegular();
            String serial = settings.getConsistencyLevelLightweightTransaction();
            return DriverErrors.counting(DriverConfigLoader.programmaticBuilder())
                .withString(DefaultDriverOption.REQUEST_CONSISTENCY, regular)
                .withString(DefaultDriverOption.REQUEST_SERIAL_CONSISTENCY, serial)
                .startProfile("LWT")
                .withString(DefaultDriverOption.REQUEST_CONSISTENCY, serial)
                .withString(DefaultDriverOption.REQUEST_SERIAL_CONSISTENCY, serial)
                .endProfile()
                .build();
        }

        /** A new session on the keyspace, retried while Cassandra is unreachable. */
        CqlSession connect() throws InterruptedException {
            RuntimeException last = null;
            for (int attempt = 1; attempt <= Math.max(1, cluster.getMaxRetry()); attempt++) {
                try {
                    return connectOnce();
                } catch (RuntimeException e) {
                    last = e;
                    LOGGER.warn("Cassandra at {} not reachable (attempt {}){}: {}", cluster.getHosts(), attempt, tls.explain(e), e.getMessage());
                    Thread.sleep(cluster.getMinDelay());
                }
            }
            throw new IllegalStateException("Cassandra at " + cluster.getHosts() + " is not reachable" + tls.explain(last), last);
        }

        /** On the keyspace {@link #createSchemaThroughOneNode} made. */
        private CqlSession connectOnce() {
            CqlSession session = builder().withKeyspace(keyspace.getKeyspace()).build();
            try {
                session.execute("SELECT release_version FROM system.local");
                return session;
            } catch (RuntimeException e) {
                session.close();
                throw e;
            }
        }

        private CqlSessionBuilder builder() {
            CqlSessionBuilder builder = CqlSession.builder()
                // a loader of its own per session: a session closes its loader with it
                .withConfigLoader(driverConfiguration(settings))
                .withLocalDatacenter(cluster.getLocalDC().orElse("datacenter1"));
            cluster.getHosts().forEach(host ->
                builder.addContactPoint(InetSocketAddress.createUnresolved(host.getHostName(), host.getPort())));
            cluster.getUsername().ifPresent(user -> builder.withAuthCredentials(user, cluster.getPassword().orElse("")));
            return tls.applyTo(builder);
        }

        /**
         * Creates the keyspace and every missing table and type through a single Cassandra node:
         * the first of cassandra.nodes that answers, the same one for every mail node. Nodes
         * starting together (a Kubernetes roll-out, ./mailcluster up --ha) would otherwise send
         * the same CREATE statements to different coordinators at once: those disagree on the
         * schema for a while (statements fail with "table does not exist" on one node and
         * "already exists" on another), and two coordinators creating one table concurrently
         * can give it two identities. One coordinator applies schema changes one at a time, so
         * a racing node gets "already exists" and its next attempt finds the table. Returns
         * once every reachable Cassandra node agrees on the schema (or after a minute).
         */
        void createSchemaThroughOneNode(CassandraModule allTables) throws InterruptedException {
            RuntimeException last = null;
            for (int round = 1; round <= Math.max(1, cluster.getMaxRetry()); round++) {
                for (var host : cluster.getHosts()) {
                    try {
                        if (cluster.shouldCreateKeyspace()) {
                            try (CqlSession one = throughOnly(host.getHostName(), host.getPort()).build()) {
                                KeyspaceFactory.createKeyspace(keyspace, one).block();
                            }
                        }
                        try (CqlSession one = throughOnly(host.getHostName(), host.getPort()).withKeyspace(keyspace.getKeyspace()).build()) {
                            new SessionWithInitializedTablesFactory(one, allTables);
                            awaitSchemaAgreement(one);
                        }
                        return;
                    } catch (com.datastax.oss.driver.api.core.AllNodesFailedException unreachable) {
                        last = unreachable;
                        LOGGER.warn("Cassandra at {} does not answer to create the schema (round {}){}: {}", host, round,
                            tls.explain(unreachable), unreachable.getMessage());
                    }
                }
                Thread.sleep(cluster.getMinDelay());
            }
            throw new IllegalStateException("no Cassandra node of " + cluster.getHosts() + " answers" + tls.explain(last), last);
        }

        /** A session whose every statement goes to the node at host:port. */
        private CqlSessionBuilder throughOnly(String host, int port) {
            CqlSessionBuilder builder = CqlSession.builder()
                .withConfigLoader(driverConfiguration(settings))
                .withLocalDatacenter(cluster.getLocalDC().orElse("datacenter1"))
                .addContactPoint(InetSocketAddress.createUnresolved(host, port))
                .withNodeDistanceEvaluator((node, localDc) -> isAt(node, host, port) ? null : NodeDistance.IGNORED);
            cluster.getUsername().ifPresent(user -> builder.withAuthCredentials(user, cluster.getPassword().orElse("")));
            return tls.applyTo(builder);
        }

        private static boolean isAt(com.datastax.oss.driver.api.core.metadata.Node node, String host, int port) {
            return node.getEndPoint().resolve() instanceof InetSocketAddress address
                && address.getPort() == port
                && (address.getHostString().equals(host)
                    || address.getAddress() != null && address.getAddress().getHostAddress().equals(host));
        }

        /**
         * Waits until every node the coordinator knows of reports its schema version. The
         * driver's own check skips the nodes this session ignores, so it would agree at once.
         */
        private static void awaitSchemaAgreement(CqlSession session) throws InterruptedException {
            for (int attempt = 1; attempt <= 30; attempt++) {
                Object local = session.execute("SELECT schema_version FROM system.local").one().getObject(0);
                boolean agreed = session.execute("SELECT schema_version FROM system.peers").all().stream()
                    .allMatch(peer -> local.equals(peer.getObject(0)));
                if (agreed) {
                    return;
                }
                Thread.sleep(2000);
            }
            LOGGER.warn("Cassandra's nodes still disagree on the schema after a minute (one may be down); going on");
        }
    }

    @Provides
    @Singleton
    SessionWithInitializedTablesFactory sessionWithTables(ConnectedCluster cluster, CassandraModule allTables, BackendErrors errors)
        throws InterruptedException {
        // Nodes starting together on an empty keyspace race to create the same tables and
        // types, and James creates them without IF NOT EXISTS: the loser gets "already exists"
        // (or, on a loaded machine, a schema statement times out). The next attempt finds what
        // the others created and creates only what is still missing.
        for (int attempt = 1; ; attempt++) {
            try {
                cluster.createSchemaThroughOneNode(allTables);
                // A new session each attempt: a failed initialisation closes the one it was given.
                SessionWithInitializedTablesFactory tables = new SessionWithInitializedTablesFactory(cluster.connect(), allTables);
                recordSchemaVersionIfMissing(tables.get());
                DriverErrors.reportTo(errors, tables.get());
                return tables;
            } catch (DriverException | IllegalStateException race) {
                if (attempt == 10) {
                    throw race;
                }
                LOGGER.warn("Creating the schema failed (attempt {}), retrying: {}", attempt, race.getMessage());
                Thread.sleep(1000L * attempt);
            }
        }
    }

    /**
     * James records the schema version only when one node created every table itself; when
     * nodes race on a new keyspace, none does, and James then assumes the oldest schema it
     * knows (version 8) for good: every mailbox operation reads the missing version again
     * (thousands of "No schema version information found" warnings a minute under load) and
     * takes the paths kept for migrating old data. Every table here was created by this code,
     * at the current definitions, so a keyspace without a version is at the latest one.
     */
    private static void recordSchemaVersionIfMissing(CqlSession session) {
        CassandraSchemaVersionDAO versions = new CassandraSchemaVersionDAO(session);
        if (versions.getCurrentSchemaVersion().block().isEmpty()) {
            versions.updateVersion(CassandraSchemaVersionManager.MAX_VERSION).block();
            LOGGER.info("recorded schema version {} for the new keyspace", CassandraSchemaVersionManager.MAX_VERSION.getValue());
        }
    }

    @Provides
    @Singleton
    CassandraModule allTables(Set<CassandraModule> contributed) {
        return Cassandra5TableOptions.compatible(CassandraModule.aggregateModules(contributed));
    }

    @Provides
    @Singleton
    @Named(CONFIGURATION)
    Configuration cassandraProperties(PropertiesProvider properties) throws ConfigurationException {
        return RequiredProperties.load(properties, CONFIGURATION);
    }

    @Provides
    @Singleton
    ClusterConfiguration clusterConfiguration(@Named(CONFIGURATION) Configuration cassandra) {
        return ClusterConfiguration.from(cassandra);
    }

    @Provides
    @Singleton
    CassandraTls cassandraTls(@Named(CONFIGURATION) Configuration cassandra) {
        return CassandraTls.from(cassandra);
    }

    @Provides
    @Singleton
    CassandraConfiguration cassandraConfiguration(@Named(CONFIGURATION) Configuration cassandra) {
        return CassandraConfiguration.from(cassandra);
    }

    @Provides
    @Singleton
    KeyspaceConfiguration keyspace(@Named(CONFIGURATION) Configuration cassandra) {
        return KeyspaceConfiguration.builder()
            .keyspace(cassandra.getString("cassandra.keyspace", "mailcluster"))
            .replicationFactor(cassandra.getInt("cassandra.replication.factor", 1))
            .durableWrites(true);
    }
}
