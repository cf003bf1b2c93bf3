package org.mailcluster.events;

import java.time.Duration;

import javax.annotation.PreDestroy;
import javax.inject.Inject;

import org.apache.james.events.DispatchingFailureGroup;
import org.apache.james.events.EventBus;
import org.apache.james.events.EventDeadLetters;
import org.apache.james.lifecycle.api.Startable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Publishes again the mailbox events that could not be published when they were raised
 * (RabbitMQ away; see {@link OutageTolerantEventBus}), every {@link #PERIOD}, so that group
 * listeners (quota, search index) catch up without an operator.
 *
 * <p>A kept event is removed once published. One whose publication fails again stays, and
 * the bus may keep a second copy of it: group listeners may then see it twice, which the
 * search index does not mind and a quota count would (webadmin's quota recomputation puts that
 * right); losing it instead would leave a message unsearchable. The events are kept in memory on the node that
 * raised them (see {@link DistributedEventBusModule}); a node that dies loses those it holds.
 */
public class FailedPublicationReplay implements Startable {
    private static final Logger LOGGER = LoggerFactory.getLogger(FailedPublicationReplay.class);
    static final Duration PERIOD = Duration.ofSeconds(20);
    static final Duration PUBLICATION_TIMEOUT = Duration.ofSeconds(30);

    private final EventBus eventBus;
    private final EventDeadLetters kept;
    private final DispatchingFailureGroup group;
    private Disposable schedule;

    @Inject
    FailedPublicationReplay(EventBus eventBus, EventDeadLetters kept) {
        this.eventBus = eventBus;
        this.kept = kept;
        this.group = new DispatchingFailureGroup(eventBus.eventBusName());
    }

    void start() {
        schedule = Flux.interval(PERIOD, PERIOD, Schedulers.boundedElastic())
            .concatMap(tick -> replay()
                .onErrorResume(e -> {
                    LOGGER.warn("publishing kept mailbox events again: {}", e.toString());
                    return Mono.empty();
                }))
            .subscribe();
    }

    Mono<Long> replay() {
        return kept.failedIds(group)
            .concatMap(id -> kept.failedEvent(group, id)
                .flatMap(event -> eventBus.reDeliver(group, event)
                    // A publication on a connection that is being replaced can wait for ever;
                    // the next tick tries again.
                    .timeout(PUBLICATION_TIMEOUT)
                    .thenReturn(1L)
                    .onErrorResume(e -> {
                        LOGGER.warn("publishing kept mailbox event {} again failed: {}", event.getEventId().getId(), e.toString());
                        return Mono.just(0L);
                    }))
                .flatMap(published -> published > 0 ? kept.remove(group, id).thenReturn(published) : Mono.just(0L)))
            .reduce(0L, Long::sum)
            .filter(published -> published > 0)
            .doOnNext(published -> LOGGER.info("published {} kept mailbox events again", published));
    }

    @PreDestroy
    void stop() {
        if (schedule != null) {
            schedule.dispose();
        }
    }
}
