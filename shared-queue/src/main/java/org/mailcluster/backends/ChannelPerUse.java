package org.mailcluster.backends;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.BiConsumer;

import org.apache.james.backends.rabbitmq.ReactorRabbitMQChannelPool;
import org.apache.james.metrics.api.MetricFactory;
import org.mailcluster.metrics.BackendErrors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;

import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import reactor.core.scheduler.Schedulers;

/**
 * The channels everything on a node publishes with (mail queues, event bus): a new channel for
 * each use, closed after it, instead of James's pool of a few reused channels.
 *
 * <p>Why: after a broker restart under load, James's pool lost track of channels that were
 * borrowed when the connection died (it finds borrowed channels again by channel number, which
 * the new connection reuses), and once all were lost, every enqueue failed with "Timeout
 * waiting for idle object" until the node was restarted: the MX answered 4xx for good. A
 * channel per use cannot leak; it costs two round trips to a broker that is on the local
 * network (open, and confirm mode for publisher confirms), negligible next to the confirm
 * itself, which waits for the broker's disk.
 */
class ChannelPerUse extends ReactorRabbitMQChannelPool {
    private static final Logger LOGGER = LoggerFactory.getLogger(ChannelPerUse.class);
    private static final Duration OPEN_TIMEOUT = Duration.ofSeconds(10);

    private final Mono<Connection> connection;
    private final BackendErrors errors;

    ChannelPerUse(Mono<Connection> connection, Configuration configuration, MetricFactory metrics, BackendErrors errors) {
        super(connection, configuration, metrics);
        this.connection = connection;
        this.errors = errors;
    }

    @Override
    public Mono<? extends Channel> getChannelMono() {
        return connection
            .flatMap(open -> Mono.fromCallable(open::createChannel).subscribeOn(Schedulers.boundedElastic()))
            .doOnNext(channel -> channel.addShutdownListener(cause -> {
                // closed by the broker over an error on this channel; a lost connection counts as such
                if (!cause.isInitiatedByApplication() && !cause.isHardError()) {
                    errors.count("rabbitmq", "channel-closed");
                }
            }))
            .map(ChannelPerUse::stampingPublications)
            .timeout(OPEN_TIMEOUT);
    }

    /**
     * The channel, except that every message published on it carries the time of its
     * publication (AMQP's timestamp, whole seconds) unless it has one: RabbitMQ then reports the
     * time of each queue's oldest waiting message ({@code head_message_timestamp}), which
     * {@link org.mailcluster.metrics.QueueDepths} turns into its age. James publishes its mail
     * references without one. Every other call goes to the channel as it is.
     */
    static Channel stampingPublications(Channel channel) {
        Set<Class<?>> interfaces = new LinkedHashSet<>();
        for (Class<?> type = channel.getClass(); type != null; type = type.getSuperclass()) {
            interfaces.addAll(Arrays.asList(type.getInterfaces()));
        }
        InvocationHandler handler = (proxy, method, args) -> {
            switch (method.getName()) {
                case "equals":
                    return args != null && args.length == 1 ? proxy == args[0] : invoke(channel, method, args);
                case "hashCode":
                    return method.getParameterCount() == 0 ? System.identityHashCode(proxy) : invoke(channel, method, args);
                case "basicPublish":
                    Class<?>[] parameters = method.getParameterTypes();
                    for (int i = 0; i < parameters.length; i++) {
                        if (parameters[i] == AMQP.BasicProperties.class) {
                            args[i] = stamped((AMQP.BasicProperties) args[i]);
                        }
                    }
                    return invoke(channel, method, args);
                default:
                    return invoke(channel, method, args);
            }
        };
        return (Channel) Proxy.newProxyInstance(channel.getClass().getClassLoader(), interfaces.toArray(Class<?>[]::new), handler);
    }

    static AMQP.BasicProperties stamped(AMQP.BasicProperties properties) {
        if (properties != null && properties.getTimestamp() != null) {
            return properties;
        }
        AMQP.BasicProperties.Builder builder = properties == null ? new AMQP.BasicProperties.Builder() : properties.builder();
        return builder.timestamp(new Date()).build();
    }

    private static Object invoke(Channel channel, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(channel, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    @Override
    public BiConsumer<SignalType, Channel> getChannelCloseHandler() {
        return (signal, channel) -> closeQuietly(channel);
    }

    @Override
    public Mono<Boolean> tryChannel() {
        return Mono.usingWhen(getChannelMono(),
                channel -> Mono.just(channel.isOpen()),
                channel -> Mono.fromRunnable(() -> closeQuietly(channel)))
            .onErrorResume(any -> Mono.just(false));
    }

    private static void closeQuietly(Channel channel) {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (Exception e) {
            // Its connection is gone, and the channel with it.
            LOGGER.debug("Closing channel {} failed", channel.getChannelNumber(), e);
        }
    }
}
