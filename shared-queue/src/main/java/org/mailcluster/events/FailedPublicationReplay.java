package org.mailcluster.events;

import javax.inject.Inject;

import org.apache.james.events.DispatchingFailureGroup;
import org.apache.james.events.Event;
import org.apache.james.events.EventBus;

import reactor.core.publisher.Mono;

/**
 * Publishes again the mailbox events that could not be published when they were raised
 * (RabbitMQ away; see {@link OutageTolerantEventBus}), so that group listeners (quota, search
 * index) catch up. James keeps them under its {@link DispatchingFailureGroup}; handing them
 * back publishes them to every group, with publisher confirms. A publication that fails
 * again is kept again by the bus, besides the copy this replay keeps: a listener may then see
 * the event twice, which is better than never.
 */
public class FailedPublicationReplay extends KeptEventReplay {
    private final EventBus eventBus;
    private final DispatchingFailureGroup group;

    @Inject
    FailedPublicationReplay(EventBus eventBus, DurableEventDeadLetters kept) {
        this(eventBus, kept, new DispatchingFailureGroup(eventBus.eventBusName()));
    }

    private FailedPublicationReplay(EventBus eventBus, DurableEventDeadLetters kept, DispatchingFailureGroup group) {
        // Always worth trying: a publication that fails simply stays kept.
        super(kept, group, () -> true, "mailbox events that could not be published");
        this.eventBus = eventBus;
        this.group = group;
    }

    @Override
    protected Mono<Void> handBack(Event event) {
        return eventBus.reDeliver(group, event);
    }
}
