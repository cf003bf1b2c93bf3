package org.mailcluster.scanning;

import java.util.ArrayList;
import java.util.List;

import javax.inject.Inject;

import org.apache.james.core.healthcheck.ComponentName;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.core.healthcheck.Result;

import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The scanners in webadmin's {@code /healthcheck}: degraded (not unhealthy: the node itself
 * works, and answers 451 while a fail-closed scanner is away) when a scanner is not configured,
 * does not answer, or is set to let mail through unscanned (fail-open).
 */
public class ScannersHealthCheck implements HealthCheck {
    private static final ComponentName NAME = new ComponentName("Scanners (rspamd, clamd)");

    private final Scanners scanners;

    @Inject
    public ScannersHealthCheck(Scanners scanners) {
        this.scanners = scanners;
    }

    @Override
    public ComponentName componentName() {
        return NAME;
    }

    @Override
    public Mono<Result> check() {
        return Mono.fromCallable(() -> {
            List<String> problems = new ArrayList<>();
            if (scanners.rspamd().isEmpty()) {
                problems.add("rspamd not configured: mail is not checked for spam");
            } else if (!scanners.rspamd().get().ping()) {
                problems.add("rspamd at " + scanners.rspamd().get().base() + " does not answer"
                    + (scanners.rspamdFailOpen() ? ": mail passes unscanned (fail-open)" : ": mail is refused with 451"));
            }
            if (scanners.rspamdFailOpen()) {
                problems.add("rspamd is fail-open");
            }
            if (scanners.clamd().isEmpty()) {
                problems.add("clamd not configured: mail is not checked for viruses");
            } else if (!scanners.clamd().get().ping()) {
                problems.add("clamd at " + scanners.clamd().get().address() + " does not answer"
                    + (scanners.clamdFailOpen() ? ": mail passes unscanned (fail-open)" : ": mail is refused with 451"));
            }
            if (scanners.clamdFailOpen()) {
                problems.add("clamd is fail-open");
            }
            return problems.isEmpty() ? Result.healthy(NAME) : Result.degraded(NAME, String.join("; ", problems));
        }).subscribeOn(Schedulers.boundedElastic());
    }
}
