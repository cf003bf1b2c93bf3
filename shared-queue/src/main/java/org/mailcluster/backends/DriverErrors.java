package org.mailcluster.backends;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.mailcluster.metrics.BackendErrors;

import com.codahale.metrics.Counting;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.ProgrammaticDriverConfigLoaderBuilder;
import com.datastax.oss.driver.api.core.metadata.Node;
import com.datastax.oss.driver.api.core.metrics.DefaultNodeMetric;
import com.datastax.oss.driver.api.core.metrics.DefaultSessionMetric;
import com.datastax.oss.driver.api.core.metrics.Metrics;

/**
 * The Cassandra driver's error counters, for {@link BackendErrors}: the driver counts them
 * only when asked to ({@link #counting}), and only on errors, so counting costs nothing on the
 * way of a request that succeeds.
 */
final class DriverErrors {
    private DriverErrors() {
    }

    /** The driver's per-node error counters, by the kind they are reported as. */
    private static final Map<DefaultNodeMetric, String> NODE_ERRORS = new LinkedHashMap<>();

    static {
        NODE_ERRORS.put(DefaultNodeMetric.READ_TIMEOUTS, "read-timeouts");
        NODE_ERRORS.put(DefaultNodeMetric.WRITE_TIMEOUTS, "write-timeouts");
        NODE_ERRORS.put(DefaultNodeMetric.UNAVAILABLES, "unavailables");
        NODE_ERRORS.put(DefaultNodeMetric.ABORTED_REQUESTS, "aborted");
        NODE_ERRORS.put(DefaultNodeMetric.UNSENT_REQUESTS, "unsent");
        NODE_ERRORS.put(DefaultNodeMetric.OTHER_ERRORS, "others");
        NODE_ERRORS.put(DefaultNodeMetric.CONNECTION_INIT_ERRORS, "connection-init");
        NODE_ERRORS.put(DefaultNodeMetric.AUTHENTICATION_ERRORS, "authentication");
    }

    /** Turns these counters on in the driver's configuration. */
    static ProgrammaticDriverConfigLoaderBuilder counting(ProgrammaticDriverConfigLoaderBuilder configuration) {
        return configuration
            .withStringList(DefaultDriverOption.METRICS_SESSION_ENABLED, List.of(DefaultSessionMetric.CQL_CLIENT_TIMEOUTS.getPath()))
            .withStringList(DefaultDriverOption.METRICS_NODE_ENABLED, NODE_ERRORS.keySet().stream().map(DefaultNodeMetric::getPath).toList());
    }

    static void reportTo(BackendErrors errors, CqlSession session) {
        errors.countedByClient("cassandra", () -> counts(session));
    }

    static Map<String, Long> counts(CqlSession session) {
        Map<String, Long> counts = new LinkedHashMap<>();
        NODE_ERRORS.values().forEach(kind -> counts.put(kind, 0L));
        counts.put("client-timeouts", 0L);
        Metrics metrics = session.getMetrics().orElse(null);
        if (metrics == null) {
            return counts;
        }
        for (Node node : session.getMetadata().getNodes().values()) {
            NODE_ERRORS.forEach((metric, kind) -> metrics.<com.codahale.metrics.Metric>getNodeMetric(node, metric)
                .filter(Counting.class::isInstance)
                .ifPresent(counter -> counts.merge(kind, ((Counting) counter).getCount(), Long::sum)));
        }
        metrics.<com.codahale.metrics.Metric>getSessionMetric(DefaultSessionMetric.CQL_CLIENT_TIMEOUTS)
            .filter(Counting.class::isInstance)
            .ifPresent(counter -> counts.put("client-timeouts", ((Counting) counter).getCount()));
        return counts;
    }
}
