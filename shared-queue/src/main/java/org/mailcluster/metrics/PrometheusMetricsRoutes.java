package org.mailcluster.metrics;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;

import com.codahale.metrics.MetricRegistry;

import io.prometheus.client.Collector.MetricFamilySamples;
import io.prometheus.client.dropwizard.DropwizardExports;
import io.prometheus.client.exporter.common.TextFormat;
import spark.Request;
import spark.Response;
import spark.Service;

/**
 * {@code GET /metrics}: the node's metrics in Prometheus's text format: its Dropwizard registry
 * (James's metrics and ours, through the Prometheus Java client's {@link DropwizardExports}),
 * the queues' figures from RabbitMQ ({@link QueueDepths}), the node's health checks
 * ({@link HealthGauges}), what became of its mail ({@link MailOutcomes}) and its backend
 * clients' errors ({@link BackendErrors}). James has a route for the first
 * part, but declares it public (no authentication); here it is an ordinary webadmin route, so
 * the webadmin secret guards it: Prometheus scrapes with {@code Authorization: Bearer <secret>}.
 */
public class PrometheusMetricsRoutes implements Routes {
    static final String BASE = "/metrics";

    private final DropwizardExports registry;
    private final QueueDepths queueDepths;
    private final HealthGauges health;
    private final MailOutcomes outcomes;
    private final BackendErrors backendErrors;

    @Inject
    PrometheusMetricsRoutes(MetricRegistry registry, QueueDepths queueDepths, HealthGauges health, MailOutcomes outcomes,
                            BackendErrors backendErrors) {
        this.registry = new DropwizardExports(registry);
        this.queueDepths = queueDepths;
        this.health = health;
        this.outcomes = outcomes;
        this.backendErrors = backendErrors;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, this::metrics);
    }

    private Object metrics(Request request, Response response) throws IOException {
        List<MetricFamilySamples> all = new ArrayList<>(registry.collect());
        all.addAll(queueDepths.collect());
        all.addAll(health.collect());
        all.addAll(outcomes.collect());
        all.addAll(backendErrors.collect());
        response.status(200);
        response.type(TextFormat.CONTENT_TYPE_004);
        try (Writer writer = new BufferedWriter(response.raw().getWriter())) {
            TextFormat.write004(writer, Collections.enumeration(all));
        }
        return response;
    }
}
