package org.mailcluster.mailbox.jmap;

import static org.apache.james.events.NamingStrategy.JMAP_NAMING_STRATEGY;

import javax.inject.Named;
import javax.inject.Singleton;

import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.apache.james.backends.rabbitmq.ReactorRabbitMQChannelPool;
import org.apache.james.IsStartedProbe;
import org.apache.james.backends.rabbitmq.ReceiverProvider;
import org.apache.james.backends.rabbitmq.SimpleConnectionPool;
import org.apache.james.events.EventBus;
import org.apache.james.events.EventBusId;
import org.apache.james.events.EventBusReconnectionHandler;
import org.apache.james.events.MemoryEventDeadLetters;
import org.apache.james.events.KeyReconnectionHandler;
import org.apache.james.events.RabbitMQEventBus;
import org.apache.james.events.RetryBackoffConfiguration;
import org.apache.james.events.RoutingKeyConverter;
import org.apache.james.jmap.InjectionKeys;
import org.apache.james.jmap.change.JmapEventSerializer;
import org.apache.james.jmap.pushsubscription.PushListener;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;
import org.mailcluster.events.EventBusReceivers;

import com.google.common.collect.ImmutableSet;
import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.multibindings.ProvidesIntoSet;
import com.google.inject.name.Names;

import reactor.rabbitmq.Sender;

/**
 * JMAP's own event bus (state changes pushed to clients, push subscriptions), on RabbitMQ like
 * the mailbox bus but separate from it: its events have their own serializer and exchange
 * ({@code jmapEvent-exchange}). A state change computed on one mailbox node reaches the
 * WebSocket / EventSource clients connected to any other.
 */
class JmapStateChangeBusModule extends AbstractModule {

    @Override
    protected void configure() {
        bind(EventBusId.class).annotatedWith(Names.named(InjectionKeys.JMAP)).toInstance(EventBusId.random());
    }

    @Provides
    @Singleton
    @Named(InjectionKeys.JMAP)
    RabbitMQEventBus stateChangeBus(Sender sender, ReceiverProvider receivers, JmapEventSerializer serializer,
                                    RetryBackoffConfiguration retries, MetricFactory metrics,
                                    ReactorRabbitMQChannelPool channels, @Named(InjectionKeys.JMAP) EventBusId id,
                                    RabbitMQConfiguration configuration, IsStartedProbe server) {
        // the same receivers as the mailbox events' bus: no consumer left behind after an outage
        ReceiverProvider safeReceivers = new EventBusReceivers(JMAP_NAMING_STRATEGY.getEventBusName().value(), server).gated(receivers);
        return new RabbitMQEventBus(JMAP_NAMING_STRATEGY, sender, safeReceivers, serializer, retries,
            new RoutingKeyConverter(ImmutableSet.of(new org.apache.james.jmap.change.Factory())),
            // State changes only tell connected clients to resync; the mailbox events' durable
            // dead letters (which serialize mailbox events only) are not for them.
            new MemoryEventDeadLetters(), metrics, channels, id, configuration);
    }

    @Provides
    @Singleton
    @Named(InjectionKeys.JMAP)
    EventBus stateChangeEventBus(@Named(InjectionKeys.JMAP) RabbitMQEventBus bus) {
        return bus;
    }

    @ProvidesIntoSet
    EventBus listedWithTheOtherBuses(@Named(InjectionKeys.JMAP) EventBus bus) {
        return bus;
    }

    @ProvidesIntoSet
    InitializationOperation start(@Named(InjectionKeys.JMAP) RabbitMQEventBus bus, PushListener push) {
        return InitilizationOperationBuilder.forClass(RabbitMQEventBus.class).init(() -> {
            bus.start();
            bus.register(push);
        });
    }

    @ProvidesIntoSet
    SimpleConnectionPool.ReconnectionHandler redeclareAfterReconnection(@Named(InjectionKeys.JMAP) RabbitMQEventBus bus) {
        return new EventBusReconnectionHandler(bus);
    }

    @ProvidesIntoSet
    SimpleConnectionPool.ReconnectionHandler redeclareKeysAfterReconnection(@Named(InjectionKeys.JMAP) EventBusId id,
                                                                           RabbitMQConfiguration configuration) {
        return new KeyReconnectionHandler(JMAP_NAMING_STRATEGY, id, configuration);
    }
}
