package org.mailcluster.metrics;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.dropwizard.MetricsRoutes;

import com.codahale.metrics.MetricRegistry;

import spark.Service;

/**
 * {@code GET /metrics}: the node's metric registry in Prometheus's text format, through James's
 * own exporter ({@link MetricsRoutes}, the Prometheus Java client over Dropwizard). James
 * declares that route public (no authentication); here it is an ordinary webadmin route, so the
 * webadmin secret guards it: Prometheus scrapes with {@code Authorization: Bearer <secret>}.
 */
public class PrometheusMetricsRoutes implements Routes {
    private final MetricsRoutes exporter;

    @Inject
    PrometheusMetricsRoutes(MetricRegistry registry) {
        this.exporter = new MetricsRoutes(registry);
    }

    @Override
    public String getBasePath() {
        return MetricsRoutes.BASE;
    }

    @Override
    public void define(Service service) {
        service.get(MetricsRoutes.BASE, exporter::getMetrics);
    }
}
