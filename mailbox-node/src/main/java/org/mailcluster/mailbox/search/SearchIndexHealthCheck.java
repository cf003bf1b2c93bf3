package org.mailcluster.mailbox.search;

import java.security.cert.CertificateException;
import java.util.Optional;

import javax.inject.Inject;
import javax.net.ssl.SSLException;

import org.apache.james.core.healthcheck.ComponentName;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.core.healthcheck.Result;
import org.opensearch.client.ResponseException;

import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The search index's part of {@code /healthcheck}. An outage of OpenSearch is reported as
 * <em>degraded</em>: without OpenSearch a mailbox node still delivers mail and serves IMAP (only
 * SEARCH fails), so a load balancer or Kubernetes must keep it in. A node that OpenSearch
 * refuses (wrong user or password) or whose OpenSearch presents a certificate it does not trust
 * is <em>unhealthy</em>, saying which: that is a configuration to fix, not an outage to ride out,
 * and a rollout carrying it must stop.
 */
public class SearchIndexHealthCheck implements HealthCheck {
    private static final ComponentName COMPONENT = new ComponentName("OpenSearch mailbox search index");

    private final MessageIndexLayout layout;
    private final SearchIndexSettings settings;

    @Inject
    SearchIndexHealthCheck(MessageIndexLayout layout, SearchIndexSettings settings) {
        this.layout = layout;
        this.settings = settings;
    }

    @Override
    public ComponentName componentName() {
        return COMPONENT;
    }

    @Override
    public Mono<Result> check() {
        return Mono.fromCallable(this::probe)
            .subscribeOn(Schedulers.boundedElastic())
            .onErrorResume(e -> Mono.just(failure(e, settings)));
    }

    private Result probe() throws Exception {
        String status = layout.clusterStatus();
        if ("red".equals(status)) {
            return Result.degraded(COMPONENT, "OpenSearch cluster status is red");
        }
        layout.ensureReady();
        return Result.healthy(COMPONENT);
    }

    /** What a failed probe means: refused credentials and untrusted certificates are unhealthy, the rest an outage. */
    static Result failure(Throwable error, SearchIndexSettings settings) {
        Optional<ResponseException> refused = cause(error, ResponseException.class)
            .filter(e -> e.getResponse().getStatusLine().getStatusCode() == 401 || e.getResponse().getStatusLine().getStatusCode() == 403);
        if (refused.isPresent()) {
            int status = refused.get().getResponse().getStatusLine().getStatusCode();
            return Result.unhealthy(COMPONENT, "OpenSearch at " + settings.urls() + " refused "
                + settings.credentials().map(c -> "the credentials of user " + c.user()).orElse("a request without credentials")
                + " (HTTP " + status + "): check MC_OPENSEARCH_USER and MC_OPENSEARCH_PASSWORD");
        }
        Optional<Throwable> untrusted = cause(error, CertificateException.class).map(Throwable.class::cast)
            .or(() -> cause(error, SSLException.class));
        if (untrusted.isPresent()) {
            return Result.unhealthy(COMPONENT, "OpenSearch at " + settings.urls() + ": TLS failed, its certificate is not trusted "
                + settings.trustedCertificates().map(ca -> "by the CA in " + ca + " (MC_OPENSEARCH_CA)").orElse("by the JVM's CAs (set MC_OPENSEARCH_CA)")
                + " or does not name the host: " + untrusted.get().getMessage());
        }
        return Result.degraded(COMPONENT, "OpenSearch unreachable (" + error.getClass().getSimpleName() + "): searches fail, "
            + "index updates are retried; delivery and IMAP are not affected");
    }

    private static <T extends Throwable> Optional<T> cause(Throwable error, Class<T> type) {
        for (Throwable e = error; e != null; e = e.getCause() == e ? null : e.getCause()) {
            if (type.isInstance(e)) {
                return Optional.of(type.cast(e));
            }
        }
        return Optional.empty();
    }
}
