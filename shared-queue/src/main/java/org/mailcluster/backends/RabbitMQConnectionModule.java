package org.mailcluster.backends;

import java.util.Set;

import javax.inject.Named;
import javax.inject.Singleton;

import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.apache.james.backends.rabbitmq.RabbitMQHealthCheck;
import org.apache.james.backends.rabbitmq.ReactorRabbitMQChannelPool;
import org.apache.james.backends.rabbitmq.ReceiverProvider;
import org.apache.james.backends.rabbitmq.SimpleConnectionPool;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.metrics.api.MetricFactory;
import org.mailcluster.metrics.BackendErrors;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;
import org.apache.james.utils.PropertiesProvider;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;

import reactor.rabbitmq.RabbitFlux;
import reactor.rabbitmq.ReceiverOptions;
import reactor.rabbitmq.Sender;

/**
 * The node's connection to RabbitMQ, configured by {@code rabbitmq.properties}: one connection,
 * recovered in place after a broker restart with its channels and consumers
 * ({@link RecoveringConnectionPool}), and a channel for each publication ({@link ChannelPerUse}).
 * The registered {@link SimpleConnectionPool.ReconnectionHandler}s (the event bus's) run only if
 * the connection ever has to be replaced. TLS follows the URIs' schemes ({@link RabbitMQTls}).
 */
public class RabbitMQConnectionModule extends AbstractModule {

    public static final String CONFIGURATION = "rabbitmq";

    @Override
    protected void configure() {
        bind(RecoveringConnectionPool.class).in(Scopes.SINGLETON);
        bind(SimpleConnectionPool.class).to(RecoveringConnectionPool.class);
        Multibinder.newSetBinder(binder(), SimpleConnectionPool.ReconnectionHandler.class);
        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(RabbitMQHealthCheck.class);
    }

    @Provides
    @Singleton
    @Named(CONFIGURATION)
    Configuration rabbitmqProperties(PropertiesProvider properties) throws ConfigurationException {
        return RequiredProperties.load(properties, CONFIGURATION);
    }

    @Provides
    @Singleton
    RabbitMQTls rabbitMQTls(@Named(CONFIGURATION) Configuration configuration) {
        return RabbitMQTls.from(configuration);
    }

    @Provides
    @Singleton
    RabbitMQConfiguration rabbitMQConfiguration(@Named(CONFIGURATION) Configuration configuration, RabbitMQTls tls) {
        return RabbitMQConfiguration.from(tls.forJames(configuration));
    }

    @Provides
    @Singleton
    SimpleConnectionPool.Configuration connectionPoolConfiguration(@Named(CONFIGURATION) Configuration configuration) {
        return SimpleConnectionPool.Configuration.from(configuration);
    }

    @Provides
    @Singleton
    ReactorRabbitMQChannelPool.Configuration channelPoolConfiguration(@Named(CONFIGURATION) Configuration configuration) {
        return ReactorRabbitMQChannelPool.Configuration.from(configuration);
    }

    @Provides
    @Singleton
    ReactorRabbitMQChannelPool channelPool(SimpleConnectionPool connections, ReactorRabbitMQChannelPool.Configuration configuration,
                                           MetricFactory metrics, BackendErrors errors) {
        ReactorRabbitMQChannelPool pool = new ChannelPerUse(connections.getResilientConnection(), configuration, metrics, errors);
        pool.start();
        return pool;
    }

    @Provides
    @Singleton
    Sender sender(ReactorRabbitMQChannelPool channelPool) {
        return channelPool.getSender();
    }

    @Provides
    @Singleton
    ReceiverProvider receivers(SimpleConnectionPool connections) {
        return () -> RabbitFlux.createReceiver(new ReceiverOptions().connectionMono(connections.getResilientConnection()));
    }

    @ProvidesIntoSet
    InitializationOperation openConnection(SimpleConnectionPool pool, Set<SimpleConnectionPool.ReconnectionHandler> handlers) {
        return InitilizationOperationBuilder.forClass(SimpleConnectionPool.class).init(() -> pool.init(handlers));
    }
}
