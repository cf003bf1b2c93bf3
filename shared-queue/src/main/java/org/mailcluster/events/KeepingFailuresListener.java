package org.mailcluster.events;

import java.time.Duration;

import org.apache.james.events.Event;
import org.apache.james.events.EventListener;
import org.apache.james.events.Group;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * A group listener whose failures are retried here and then kept in
 * {@link DurableEventDeadLetters}, never handed to James's retry path.
 *
 * <p>Why: when a group listener fails, James's event bus republishes the event to the group's
 * retry exchange <em>without publisher confirms</em>, and acknowledges the delivery it came
 * from. While RabbitMQ restarts, or its connection is being recovered, such a publication can
 * vanish: the listener never sees the event again (search index updates were lost that way in a
 * RabbitMQ-restart fault run). Here the event is tried {@link #ATTEMPTS} times over a few
 * seconds in this process, then stored durably, and only then does the listener complete, so
 * the bus acknowledges the delivery once the event is safe; a node that dies meanwhile leaves
 * it unacknowledged, and RabbitMQ hands it to another. A replay ({@link KeptEventReplay}) takes
 * it from there.
 */
public class KeepingFailuresListener implements EventListener.ReactiveGroupEventListener {
    private static final Logger LOGGER = LoggerFactory.getLogger(KeepingFailuresListener.class);
    static final int ATTEMPTS = 4;
    static final Duration FIRST_BACKOFF = Duration.ofMillis(300);

    private final EventListener.ReactiveGroupEventListener listener;
    private final DurableEventDeadLetters kept;

    public KeepingFailuresListener(EventListener.ReactiveGroupEventListener listener, DurableEventDeadLetters kept) {
        this.listener = listener;
        this.kept = kept;
    }

    @Override
    public Publisher<Void> reactiveEvent(Event event) {
        return Mono.from(listener.reactiveEvent(event))
            .retryWhen(Retry.backoff(ATTEMPTS - 1, FIRST_BACKOFF).maxBackoff(Duration.ofSeconds(5)))
            .onErrorResume(failure -> {
                LOGGER.warn("{} {} failed for {} after {} attempts ({}); kept for replay",
                    event.getClass().getSimpleName(), event.getEventId().getId(), getDefaultGroup().asString(), ATTEMPTS,
                    failure.toString());
                return kept.store(getDefaultGroup(), event).then();
            });
    }

    @Override
    public Group getDefaultGroup() {
        return listener.getDefaultGroup();
    }

    @Override
    public boolean isHandling(Event event) {
        return listener.isHandling(event);
    }

    @Override
    public ExecutionMode getExecutionMode() {
        return listener.getExecutionMode();
    }
}
