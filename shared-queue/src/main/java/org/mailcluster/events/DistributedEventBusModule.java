package org.mailcluster.events;

import org.apache.james.backends.rabbitmq.SimpleConnectionPool;
import org.apache.james.events.EventBus;
import org.apache.james.events.EventBusId;
import org.apache.james.events.EventBusReconnectionHandler;
import org.apache.james.events.EventDeadLetters;
import org.apache.james.events.EventSerializer;
import org.apache.james.events.KeyReconnectionHandler;
import org.apache.james.events.MemoryEventDeadLetters;
import org.apache.james.events.NamingStrategy;
import org.apache.james.events.RabbitMQEventBus;
import org.apache.james.events.RegistrationKey;
import org.apache.james.events.RetryBackoffConfiguration;
import org.apache.james.mailbox.events.MailboxIdRegistrationKey;
import org.apache.james.event.json.MailboxEventSerializer;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;

/**
 * Mailbox events (message added, flags changed, expunged...) travel over RabbitMQ between all
 * mailbox nodes: an IMAP IDLE on one node sees mail delivered by another, and group listeners
 * (quota, search index) run once per event in the cluster, not once per node.
 *
 * <p>Events a listener failed to handle, after retries, are kept in memory on the node that
 * failed (James publishes no Cassandra store for them at 3.8.1). So are events that could not
 * be published at all (RabbitMQ away): the operation that raised them still completes
 * ({@link OutageTolerantEventBus}) and they are published again later
 * ({@link FailedPublicationReplay}).
 */
public class DistributedEventBusModule extends AbstractModule {

    @Override
    protected void configure() {
        bind(MailboxEventSerializer.class).in(Scopes.SINGLETON);
        bind(EventSerializer.class).to(MailboxEventSerializer.class);
        bind(NamingStrategy.class).toInstance(NamingStrategy.MAILBOX_EVENT_NAMING_STRATEGY);
        bind(RabbitMQEventBus.class).in(Scopes.SINGLETON);
        bind(OutageTolerantEventBus.class).in(Scopes.SINGLETON);
        bind(EventBus.class).to(OutageTolerantEventBus.class);
        Multibinder.newSetBinder(binder(), EventBus.class).addBinding().to(EventBus.class);
        Multibinder.newSetBinder(binder(), RegistrationKey.Factory.class).addBinding().to(MailboxIdRegistrationKey.Factory.class);
        bind(RetryBackoffConfiguration.class).toInstance(RetryBackoffConfiguration.DEFAULT);
        bind(EventBusId.class).toInstance(EventBusId.random());
        bind(MemoryEventDeadLetters.class).in(Scopes.SINGLETON);
        bind(EventDeadLetters.class).to(MemoryEventDeadLetters.class);

        Multibinder<SimpleConnectionPool.ReconnectionHandler> reconnection =
            Multibinder.newSetBinder(binder(), SimpleConnectionPool.ReconnectionHandler.class);
        reconnection.addBinding().to(KeyReconnectionHandler.class);
        reconnection.addBinding().to(EventBusReconnectionHandler.class);
        // (James's RabbitMQEventBusDeadLetterQueueHealthCheck is left out: it also requires the
        // JMAP event bus's dead-letter queue, which exists only where JMAP runs, and would
        // report every mailbox node unhealthy.)
    }

    @ProvidesIntoSet
    InitializationOperation startEventBus(RabbitMQEventBus eventBus) {
        return InitilizationOperationBuilder.forClass(RabbitMQEventBus.class).init(eventBus::start);
    }

    @ProvidesIntoSet
    InitializationOperation replayFailedPublications(FailedPublicationReplay replay) {
        return InitilizationOperationBuilder.forClass(FailedPublicationReplay.class).init(replay::start);
    }
}
