package org.mailcluster.metrics;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import javax.inject.Singleton;

import io.prometheus.client.Collector.MetricFamilySamples;
import io.prometheus.client.CounterMetricFamily;

/**
 * {@code mailcluster_backend_errors_total{backend, kind}} on {@code /metrics}: what went wrong
 * between this node and its backends, as its clients saw it. A rise says which backend (and
 * how) before users notice; the health checks say whether it lasts.
 *
 * <ul>
 *   <li>cassandra: the driver's own error counters, summed over Cassandra's nodes
 *       ({@code read-timeouts}, {@code write-timeouts}, {@code unavailables}, {@code aborted},
 *       {@code unsent}, {@code others}, {@code connection-init}, {@code authentication}) and
 *       {@code client-timeouts} (a request the driver gave up waiting for);</li>
 *   <li>rabbitmq: {@code connection-lost} (the broker or the network closed the node's
 *       connection; the client recovers it) and {@code channel-closed} (the broker closed a
 *       channel over an error);</li>
 *   <li>opensearch: {@code unreachable} (a request found no node answering), {@code http-4xx}
 *       (refused requests; not 404, which the index layout's existence checks expect) and
 *       {@code http-5xx}.</li>
 * </ul>
 * Each client reports here where it is built; every series it can have exists from then on at 0.
 */
@Singleton
public class BackendErrors {
    private final Map<List<String>, LongAdder> counted = new ConcurrentHashMap<>();
    private final Map<String, Supplier<Map<String, Long>>> countedByClients = new ConcurrentHashMap<>();

    /** Makes the series exist (at 0). */
    public void know(String backend, String... kinds) {
        for (String kind : kinds) {
            counted.computeIfAbsent(List.of(backend, kind), key -> new LongAdder());
        }
    }

    public void count(String backend, String kind) {
        counted.computeIfAbsent(List.of(backend, kind), key -> new LongAdder()).increment();
    }

    /** A backend whose client counts its errors itself: {@code counts} gives them by kind at each scrape. */
    public void countedByClient(String backend, Supplier<Map<String, Long>> counts) {
        countedByClients.put(backend, counts);
    }

    public List<MetricFamilySamples> collect() {
        CounterMetricFamily errors = new CounterMetricFamily("mailcluster_backend_errors",
            "Errors between this node and a backend, as its client saw them", List.of("backend", "kind"));
        Map<List<String>, Long> all = new TreeMap<>((a, b) -> String.join("/", a).compareTo(String.join("/", b)));
        counted.forEach((key, count) -> all.put(key, count.sum()));
        countedByClients.forEach((backend, counts) -> {
            try {
                counts.get().forEach((kind, count) -> all.put(List.of(backend, kind), count));
            } catch (RuntimeException closing) {
                // the client is closing with the node: no figures this time
            }
        });
        all.forEach((key, count) -> errors.addMetric(key, count));
        return List.of(errors);
    }
}
