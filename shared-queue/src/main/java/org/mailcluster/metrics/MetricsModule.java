package org.mailcluster.metrics;

import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

/**
 * Every node's metrics in Prometheus's text format at webadmin's {@code GET /metrics}, behind
 * webadmin's secret like every other route ({@link PrometheusMetricsRoutes}): the James
 * metrics (SMTP, IMAP, mailet and queue timings, the JVM) and the project's own, such as the
 * scanners' verdicts and times, the mail waiting in and going through each queue
 * ({@link QueueDepths}), and the node's health checks ({@link HealthGauges}).
 */
public class MetricsModule extends AbstractModule {
    @Override
    protected void configure() {
        bind(QueueDepths.class).in(Scopes.SINGLETON);
        bind(HealthGauges.class).in(Scopes.SINGLETON);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(PrometheusMetricsRoutes.class);
    }
}
