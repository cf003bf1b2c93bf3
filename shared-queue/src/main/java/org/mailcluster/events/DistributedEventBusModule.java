package org.mailcluster.events;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.Singleton;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;
import org.apache.james.IsStartedProbe;
import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.apache.james.backends.rabbitmq.ReactorRabbitMQChannelPool;
import org.apache.james.backends.rabbitmq.ReceiverProvider;
import org.apache.james.backends.rabbitmq.SimpleConnectionPool;
import org.apache.james.event.json.MailboxEventSerializer;
import org.apache.james.events.EventBus;
import org.apache.james.events.EventBusId;
import org.apache.james.events.EventBusReconnectionHandler;
import org.apache.james.events.EventDeadLetters;
import org.apache.james.events.EventSerializer;
import org.apache.james.events.KeyReconnectionHandler;
import org.apache.james.events.NamingStrategy;
import org.apache.james.events.RabbitMQEventBus;
import org.apache.james.events.RegistrationKey;
import org.apache.james.events.RetryBackoffConfiguration;
import org.apache.james.events.RoutingKeyConverter;
import org.apache.james.mailbox.events.MailboxIdRegistrationKey;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;
import reactor.rabbitmq.Sender;

/**
 * Mailbox events (message added, flags changed, expunged...) travel over RabbitMQ between all
 * mailbox nodes: an IMAP IDLE on one node sees mail delivered by another, and group listeners
 * (quota, search index) run once per event in the cluster, not once per node.
 *
 * <p>Events a listener failed to handle, after retries, are kept in Cassandra
 * ({@link DurableEventDeadLetters}; James publishes no Cassandra store for them at 3.8.1), so a
 * node that dies does not take them along. So are events that could not be published at all
 * (RabbitMQ away): the operation that raised them still completes
 * ({@link OutageTolerantEventBus}) and they are published again later
 * ({@link FailedPublicationReplay}).
 */
public class DistributedEventBusModule extends AbstractModule {

    @Override
    protected void configure() {
        bind(MailboxEventSerializer.class).in(Scopes.SINGLETON);
        bind(EventSerializer.class).to(MailboxEventSerializer.class);
        bind(NamingStrategy.class).toInstance(NamingStrategy.MAILBOX_EVENT_NAMING_STRATEGY);
        bind(OutageTolerantEventBus.class).in(Scopes.SINGLETON);
        bind(EventBus.class).to(OutageTolerantEventBus.class);
        Multibinder.newSetBinder(binder(), EventBus.class).addBinding().to(EventBus.class);
        Multibinder.newSetBinder(binder(), RegistrationKey.Factory.class).addBinding().to(MailboxIdRegistrationKey.Factory.class);
        bind(RetryBackoffConfiguration.class).toInstance(RetryBackoffConfiguration.DEFAULT);
        bind(EventBusId.class).toInstance(EventBusId.random());
        bind(DurableEventDeadLetters.class).in(Scopes.SINGLETON);
        bind(EventDeadLetters.class).to(DurableEventDeadLetters.class);
        Multibinder.newSetBinder(binder(), CassandraModule.class).addBinding().toInstance(DurableEventDeadLetters.MODULE);

        Multibinder<SimpleConnectionPool.ReconnectionHandler> reconnection =
            Multibinder.newSetBinder(binder(), SimpleConnectionPool.ReconnectionHandler.class);
        reconnection.addBinding().to(KeyReconnectionHandler.class);
        reconnection.addBinding().to(EventBusReconnectionHandler.class);
        // (James's RabbitMQEventBusDeadLetterQueueHealthCheck is left out: it also requires the
        // JMAP event bus's dead-letter queue, which exists only where JMAP runs, and would
        // report every mailbox node unhealthy.)
    }

    /**
     * James's bus, its group events held back until the node's group listeners are all
     * registered ({@link EventBusReceivers}).
     */
    @Provides
    @Singleton
    RabbitMQEventBus eventBus(NamingStrategy naming, Sender sender, ReceiverProvider receivers, EventSerializer serializer,
                              RetryBackoffConfiguration retries, RoutingKeyConverter routingKeys, EventDeadLetters deadLetters,
                              MetricFactory metrics, ReactorRabbitMQChannelPool channels, EventBusId id,
                              RabbitMQConfiguration configuration, IsStartedProbe server) {
        EventBusReceivers gate = new EventBusReceivers(naming.getEventBusName().value(), server);
        return new RabbitMQEventBus(naming, sender, gate.gated(receivers), serializer, retries, routingKeys, deadLetters,
            metrics, channels, id, configuration);
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
