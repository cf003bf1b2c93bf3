package org.mailcluster.events;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import javax.annotation.PreDestroy;

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
 * Every {@link #PERIOD}, hands the events this node keeps for one group (its event dead
 * letters) back to the event bus, once whatever the group waits for answers again, so that a
 * listener catches up after an outage without an operator.
 *
 * <p>A kept event is removed once handed back. One that fails again (or takes longer than
 * {@link #HAND_BACK_TIMEOUT}: a publication on a connection being replaced can wait for ever)
 * stays for the next round; the bus may then keep a second copy of it, so a listener may see
 * it twice. Losing it instead would be worse (a message not searchable, say).
 */
public abstract class KeptEventReplay implements Startable {
    private static final Logger LOGGER = LoggerFactory.getLogger(KeptEventReplay.class);
    static final Duration PERIOD = Duration.ofSeconds(20);
    static final Duration HAND_BACK_TIMEOUT = Duration.ofSeconds(30);

    private final EventBus eventBus;
    private final EventDeadLetters kept;
    private final Group group;
    private final BooleanSupplier ready;
    private final String what;
    private Disposable schedule;

    /**
     * @param ready whether handing the events back can succeed now (asked only when some are kept)
     * @param what what the kept events are, for the log
     */
    protected KeptEventReplay(EventBus eventBus, EventDeadLetters kept, Group group, BooleanSupplier ready, String what) {
        this.eventBus = eventBus;
        this.kept = kept;
        this.group = group;
        this.ready = ready;
        this.what = what;
    }

    public void start() {
        schedule = Flux.interval(PERIOD, PERIOD, Schedulers.boundedElastic())
            .concatMap(tick -> replay()
                .onErrorResume(e -> {
                    LOGGER.warn("replaying {}: {}", what, e.toString());
                    return Mono.empty();
                }))
            .subscribe();
    }

    /** One round: how many kept events were handed back (nothing when none are kept or it is not ready). */
    public Mono<Long> replay() {
        return kept.failedIds(group)
            .hasElements()
            .filter(any -> any && ready.getAsBoolean())
            .flatMap(any -> kept.failedIds(group)
                .concatMap(id -> kept.failedEvent(group, id)
                    .flatMap(event -> eventBus.reDeliver(group, event)
                        .timeout(HAND_BACK_TIMEOUT)
                        .thenReturn(1L)
                        .onErrorResume(e -> {
                            LOGGER.warn("replaying {}: event {} failed again: {}", what, event.getEventId().getId(), e.toString());
                            return Mono.just(0L);
                        }))
                    .flatMap(handedBack -> handedBack > 0 ? kept.remove(group, id).thenReturn(handedBack) : Mono.just(0L)))
                .reduce(0L, Long::sum))
            .filter(handedBack -> handedBack > 0)
            .doOnNext(handedBack -> LOGGER.info("replayed {} {}", handedBack, what));
    }

    @PreDestroy
    public void stop() {
        if (schedule != null) {
            schedule.dispose();
        }
    }
}
