package org.mailcluster.mailbox.search;

import javax.inject.Inject;

import org.apache.james.core.healthcheck.ComponentName;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.core.healthcheck.Result;

import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The search index's part of {@code /healthcheck}. Its trouble is reported as
 * <em>degraded</em>, never unhealthy: without OpenSearch a mailbox node still delivers mail
 * and serves IMAP (only SEARCH fails), so a load balancer or Kubernetes must keep it in.
 */
public class SearchIndexHealthCheck implements HealthCheck {
    private static final ComponentName COMPONENT = new ComponentName("OpenSearch mailbox search index");

    private final MessageIndexLayout layout;

    @Inject
    SearchIndexHealthCheck(MessageIndexLayout layout) {
        this.layout = layout;
    }

    @Override
    public ComponentName componentName() {
        return COMPONENT;
    }

    @Override
    public Mono<Result> check() {
        return Mono.fromCallable(this::probe)
            .subscribeOn(Schedulers.boundedElastic())
            .onErrorResume(e -> Mono.just(Result.degraded(COMPONENT,
                "OpenSearch unreachable (" + e.getClass().getSimpleName() + "): searches fail, "
                    + "index updates are retried; delivery and IMAP are not affected")));
    }

    private Result probe() throws Exception {
        String status = layout.clusterStatus();
        if ("red".equals(status)) {
            return Result.degraded(COMPONENT, "OpenSearch cluster status is red");
        }
        layout.ensureReady();
        return Result.healthy(COMPONENT);
    }
}
