package org.mailcluster.events;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import javax.annotation.PreDestroy;

import org.apache.james.events.Event;
import org.apache.james.events.Group;
import org.apache.james.lifecycle.api.Startable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Every {@link #PERIOD}, hands the events kept for one group ({@link DurableEventDeadLetters})
 * back, once whatever the group waits for answers again, so that a listener catches up after
 * an outage without an operator.
 *
 * <p>Every mailbox node runs this over the same kept events; each event is first claimed
 * ({@link DurableEventDeadLetters#claim}) so that one node at a time hands it back. It is
 * removed only once handed back; one that fails again (or takes longer than
 * {@link #HAND_BACK_TIMEOUT}) stays for a later round, when its claim has lapsed. A node that
 * dies while handing an event back leaves it kept, for another node to take after
 * {@link #CLAIM_HOLD}.
 */
public abstract class KeptEventReplay implements Startable {
    private static final Logger LOGGER = LoggerFactory.getLogger(KeptEventReplay.class);
    static final Duration PERIOD = Duration.ofSeconds(20);
    static final Duration HAND_BACK_TIMEOUT = Duration.ofSeconds(30);
    static final Duration CLAIM_HOLD = HAND_BACK_TIMEOUT.plus(PERIOD);

    private final DurableEventDeadLetters kept;
    private final Group group;
    private final BooleanSupplier ready;
    private final String what;
    private Disposable schedule;

    /**
     * @param ready whether handing the events back can succeed now (asked only when some are kept)
     * @param what what the kept events are, for the log
     */
    protected KeptEventReplay(DurableEventDeadLetters kept, Group group, BooleanSupplier ready, String what) {
        this.kept = kept;
        this.group = group;
        this.ready = ready;
        this.what = what;
    }

    /** Gives a kept event to whatever missed it; completes once it has taken it. */
    protected abstract Mono<Void> handBack(Event event);

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
                .concatMap(id -> kept.claim(group, id, CLAIM_HOLD)
                    .filter(claimed -> claimed)
                    .flatMap(claimed -> kept.failedEvent(group, id))
                    .flatMap(event -> handBack(event)
                        .timeout(HAND_BACK_TIMEOUT)
                        .then(kept.remove(group, id))
                        .thenReturn(1L)
                        .onErrorResume(e -> {
                            LOGGER.warn("replaying {}: event {} failed again: {}", what, event.getEventId().getId(), e.toString());
                            return Mono.just(0L);
                        })))
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
