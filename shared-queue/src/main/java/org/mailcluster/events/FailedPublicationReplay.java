package org.mailcluster.events;

import javax.inject.Inject;

import org.apache.james.events.DispatchingFailureGroup;
import org.apache.james.events.EventBus;
import org.apache.james.events.EventDeadLetters;

/**
 * Publishes again the mailbox events that could not be published when they were raised
 * (RabbitMQ away; see {@link OutageTolerantEventBus}), so that group listeners (quota, search
 * index) catch up. James keeps them under its {@link DispatchingFailureGroup}; handing them
 * back publishes them to every group. They are kept in memory on the node that raised them
 * (see {@link DistributedEventBusModule}); a node that dies loses those it holds.
 */
public class FailedPublicationReplay extends KeptEventReplay {

    @Inject
    FailedPublicationReplay(EventBus eventBus, EventDeadLetters kept) {
        // Always worth trying: a publication that fails is simply kept again.
        super(eventBus, kept, new DispatchingFailureGroup(eventBus.eventBusName()), () -> true,
            "mailbox events that could not be published");
    }
}
