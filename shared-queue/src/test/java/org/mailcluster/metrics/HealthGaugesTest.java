package org.mailcluster.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringWriter;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.apache.james.core.healthcheck.ComponentName;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.core.healthcheck.Result;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;

import io.prometheus.client.exporter.common.TextFormat;
import reactor.core.publisher.Mono;

class HealthGaugesTest {

    static HealthCheck check(String name, Publisher<Result> answer) {
        return new HealthCheck() {
            @Override
            public ComponentName componentName() {
                return new ComponentName(name);
            }

            @Override
            public Publisher<Result> check() {
                return answer;
            }
        };
    }

    static String text(Set<HealthCheck> checks) throws Exception {
        StringWriter out = new StringWriter();
        TextFormat.write004(out, Collections.enumeration(new HealthGauges(checks).collect()));
        return out.toString();
    }

    @Test
    void eachCheckHasOneSeriesPerStatusAndOnlyItsCurrentOneIsOne() throws Exception {
        ComponentName cassandra = new ComponentName("Cassandra backend");
        ComponentName events = new ComponentName("EventDeadLettersHealthCheck");
        Set<HealthCheck> checks = new LinkedHashSet<>(List.of(
            check("Cassandra backend", Mono.just(Result.healthy(cassandra))),
            check("EventDeadLettersHealthCheck", Mono.just(Result.degraded(events, "2 events to redeliver")))));

        assertThat(text(checks))
            .contains("mailcluster_health{check=\"Cassandra backend\",status=\"healthy\",} 1.0")
            .contains("mailcluster_health{check=\"Cassandra backend\",status=\"degraded\",} 0.0")
            .contains("mailcluster_health{check=\"Cassandra backend\",status=\"unhealthy\",} 0.0")
            .contains("mailcluster_health{check=\"EventDeadLettersHealthCheck\",status=\"healthy\",} 0.0")
            .contains("mailcluster_health{check=\"EventDeadLettersHealthCheck\",status=\"degraded\",} 1.0");
    }

    @Test
    void aCheckThatFailsOrGivesNothingIsUnhealthy() throws Exception {
        Set<HealthCheck> checks = new LinkedHashSet<>(List.of(
            check("RabbitMQ backend", Mono.error(new IllegalStateException("connection refused"))),
            check("OpenSearch Backend", Mono.empty())));

        assertThat(text(checks))
            .contains("mailcluster_health{check=\"RabbitMQ backend\",status=\"unhealthy\",} 1.0")
            .contains("mailcluster_health{check=\"RabbitMQ backend\",status=\"healthy\",} 0.0")
            .contains("mailcluster_health{check=\"OpenSearch Backend\",status=\"unhealthy\",} 1.0");
    }
}
