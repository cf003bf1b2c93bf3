package org.mailcluster.events;

import java.util.Collection;
import java.util.Set;

import javax.inject.Inject;

import org.apache.james.events.Event;
import org.apache.james.events.EventBus;
import org.apache.james.events.EventBusName;
import org.apache.james.events.EventListener;
import org.apache.james.events.Group;
import org.apache.james.events.GroupAlreadyRegistered;
import org.apache.james.events.RabbitMQEventBus;
import org.apache.james.events.Registration;
import org.apache.james.events.RegistrationKey;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * James's RabbitMQ event bus, except that an event it cannot publish does not fail the
 * operation that raised it.
 *
 * <p>Why: the mailbox stores a message in Cassandra and then publishes its "added" event.
 * When RabbitMQ is away, James's bus keeps the event for its group listeners (in its dead
 * letters, under {@code DispatchingFailureGroup}) and then fails the append all the same.
 * The message is stored, but the delivery that stored it sees a failure, retries, and stores
 * it a second time: that was where the duplicates of a RabbitMQ restart came from (5 of 300 in
 * a chaos run with the delivery log already in place). Here the failure is logged and the
 * operation completes; {@link FailedPublicationReplay} publishes the kept event once RabbitMQ
 * is back. Notifications to registered keys (an IMAP IDLE waiting on a mailbox) are not kept
 * by James: a client then sees the change at its next command instead of at once.
 */
public class OutageTolerantEventBus implements EventBus {
    private static final Logger LOGGER = LoggerFactory.getLogger(OutageTolerantEventBus.class);

    private final RabbitMQEventBus bus;

    @Inject
    public OutageTolerantEventBus(RabbitMQEventBus bus) {
        this.bus = bus;
    }

    @Override
    public Mono<Void> dispatch(Event event, Set<RegistrationKey> keys) {
        // Never on the caller's thread: an append's chain continues on a Cassandra driver I/O
        // thread, and while RabbitMQ is away James's connection pool blocks the thread it runs
        // on, retrying the connection. On that thread it stalled every Cassandra query of the
        // node (they share its one connection) for the length of the outage.
        return bus.dispatch(event, keys)
            .subscribeOn(Schedulers.boundedElastic())
            .onErrorResume(failure -> {
                LOGGER.warn("{} {} of {} could not be published ({}); it is kept and published again once RabbitMQ answers",
                    event.getClass().getSimpleName(), event.getEventId().getId(), event.getUsername().asString(), failure.toString());
                return Mono.empty();
            });
    }

    @Override
    public Mono<Void> reDeliver(Group group, Event event) {
        return bus.reDeliver(group, event).subscribeOn(Schedulers.boundedElastic());
    }

    @Override
    public Publisher<Registration> register(EventListener.ReactiveEventListener listener, RegistrationKey key) {
        return bus.register(listener, key);
    }

    @Override
    public Publisher<Registration> register(EventListener.ReactiveEventListener listener, Collection<RegistrationKey> keys) {
        return bus.register(listener, keys);
    }

    @Override
    public Registration register(EventListener.ReactiveEventListener listener, Group group) throws GroupAlreadyRegistered {
        return bus.register(listener, group);
    }

    @Override
    public EventBusName eventBusName() {
        return bus.eventBusName();
    }

    @Override
    public Collection<Group> listRegisteredGroups() {
        return bus.listRegisteredGroups();
    }
}
