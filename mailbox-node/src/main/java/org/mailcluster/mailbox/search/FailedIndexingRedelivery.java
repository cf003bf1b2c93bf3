package org.mailcluster.mailbox.search;

import java.time.Duration;

import javax.annotation.PreDestroy;
import javax.inject.Inject;

import org.apache.james.events.EventBus;
import org.apache.james.events.EventDeadLetters;
import org.apache.james.events.Group;
import org.apache.james.lifecycle.api.Startable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Puts index updates that failed (OpenSearch was down longer than the event bus's retries)
 * back on the search index's group queue once OpenSearch answers again, so that mail
 * delivered during an outage becomes searchable without an operator.
 *
 * <p>Each node replays the dead letters it holds (they are kept per node, see
 * DistributedEventBusModule); the replayed event may then be indexed by any mailbox node.
 * An event is removed from the dead letters only after it was re-published.
 */
public class FailedIndexingRedelivery implements Startable {
    private static final Logger LOGGER = LoggerFactory.getLogger(FailedIndexingRedelivery.class);
    static final Duration PERIOD = Duration.ofSeconds(20);

    private final EventBus eventBus;
    private final EventDeadLetters deadLetters;
    private final MessageIndexLayout layout;
    private final Group group = new OpenSearchMessageSearchIndex.SearchIndexGroup();
    private Disposable schedule;

    @Inject
    FailedIndexingRedelivery(EventBus eventBus, EventDeadLetters deadLetters, MessageIndexLayout layout) {
        this.eventBus = eventBus;
        this.deadLetters = deadLetters;
        this.layout = layout;
    }

    void start() {
        schedule = Flux.interval(PERIOD, PERIOD, Schedulers.boundedElastic())
            .concatMap(tick -> redeliverIfSearchIsBack()
                .onErrorResume(e -> {
                    LOGGER.warn("replaying failed search index updates: {}", e.toString());
                    return Mono.empty();
                }))
            .subscribe();
    }

    Mono<Long> redeliverIfSearchIsBack() {
        return deadLetters.failedIds(group)
            .hasElements()
            .filter(any -> any && searchAnswers())
            .flatMap(any -> deadLetters.failedIds(group)
                .concatMap(id -> deadLetters.failedEvent(group, id)
                    .flatMap(event -> eventBus.reDeliver(group, event))
                    .then(deadLetters.remove(group, id))
                    .thenReturn(1L))
                .count()
                .doOnNext(count -> LOGGER.info("replayed {} failed search index updates", count)));
    }

    private boolean searchAnswers() {
        try {
            layout.ensureReady();
            return !"red".equals(layout.clusterStatus());
        } catch (Exception e) {
            return false;
        }
    }

    @PreDestroy
    void stop() {
        if (schedule != null) {
            schedule.dispose();
        }
    }
}
