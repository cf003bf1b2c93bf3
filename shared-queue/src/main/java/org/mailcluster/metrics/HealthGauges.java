package org.mailcluster.metrics;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import javax.inject.Inject;

import org.apache.james.core.healthcheck.ComponentName;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.core.healthcheck.Result;
import org.apache.james.core.healthcheck.ResultStatus;

import io.prometheus.client.Collector;
import io.prometheus.client.GaugeMetricFamily;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The node's health checks (the ones webadmin's {@code /healthcheck} runs: Cassandra, RabbitMQ,
 * OpenSearch, the scanners, the event bus, ...) as {@code mailcluster_health{check,status}}: 1
 * for the check's current status (healthy, degraded or unhealthy), 0 for the two others, so that
 * the "node unhealthy" alert reads one series per check. A check that does not answer within
 * {@link #TIMEOUT} counts as unhealthy. The checks run at most once per {@link #CACHED}, all at
 * once, whatever the number of scrapes.
 */
public class HealthGauges extends Collector {

    static final Duration CACHED = Duration.ofSeconds(15);
    static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final Set<HealthCheck> checks;
    private List<Result> cached;
    private Instant cachedAt = Instant.MIN;

    @Inject
    public HealthGauges(Set<HealthCheck> checks) {
        this.checks = checks;
    }

    @Override
    public List<MetricFamilySamples> collect() {
        return List.of(family(results()));
    }

    static MetricFamilySamples family(List<Result> results) {
        GaugeMetricFamily health = new GaugeMetricFamily("mailcluster_health",
            "1 for each health check's current status (healthy, degraded, unhealthy), 0 for the others",
            List.of("check", "status"));
        for (Result result : results) {
            for (ResultStatus status : ResultStatus.values()) {
                health.addMetric(List.of(result.getComponentName().getName(), status.name().toLowerCase(Locale.ROOT)),
                    result.getStatus() == status ? 1 : 0);
            }
        }
        return health;
    }

    private synchronized List<Result> results() {
        Instant now = Instant.now();
        if (cached == null || !now.isBefore(cachedAt.plus(CACHED))) {
            cached = Flux.fromIterable(checks)
                .flatMap(HealthGauges::run)
                .collectList()
                .block();
            cachedAt = now;
        }
        return new ArrayList<>(cached);
    }

    private static Mono<Result> run(HealthCheck check) {
        ComponentName name = check.componentName();
        return Mono.from(check.check())
            .timeout(TIMEOUT)
            .onErrorResume(e -> Mono.just(Result.unhealthy(name, "the check failed or did not answer in " + TIMEOUT.toSeconds() + " s", e)))
            .defaultIfEmpty(Result.unhealthy(name, "the check gave no result"));
    }
}
