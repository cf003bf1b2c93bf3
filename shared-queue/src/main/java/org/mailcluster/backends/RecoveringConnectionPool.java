package org.mailcluster.backends;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import javax.inject.Inject;

import org.apache.james.backends.rabbitmq.RabbitMQConnectionFactory;
import org.apache.james.backends.rabbitmq.RabbitMQServerVersion;
import org.apache.james.backends.rabbitmq.SimpleConnectionPool;
import org.mailcluster.metrics.BackendErrors;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;
import com.rabbitmq.client.impl.recovery.AutorecoveringConnection;

import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * The node's one RabbitMQ connection, which after a broker outage is <em>recovered in place</em>
 * by the RabbitMQ client (with its channels, consumers, queues and bindings) instead of being
 * replaced by a second connection.
 *
 * <p>Why: James's pool opens a new connection as soon as anything asks for one while the
 * current one is closed, which is the whole time the client is recovering it, and then asks the
 * event bus to consume again on the new one. The old connection is never closed, so the client
 * recovers it as well, and the node ends up with two connections after each outage, its old
 * consumers revived on the old one. On that path James 3.8.1's event bus also disposes its
 * key-registration consumer without making a new one (its restart reuses the subscription it
 * disposes), so after a RabbitMQ restart no node consumed its own key queue again: events for
 * IMAP IDLE and listeners registered by key on another node piled up in the queue, unread. Here
 * whoever asks while the connection is being recovered waits for the recovery (within the
 * configured retries, then fails: the MX answers 4xx); the event bus is never restarted, and
 * every consumer goes on where it was, on the same connection.
 *
 * <p>The client retries a recovery for as long as the node runs; only a connection it does not
 * recover at all (closed by the node itself) is replaced, James's way.
 */
public class RecoveringConnectionPool extends SimpleConnectionPool {
    /** The longest wait between two looks at a connection being recovered. */
    private static final Duration MAX_WAIT_STEP = Duration.ofSeconds(2);

    private final Configuration configuration;
    private final AtomicReference<Connection> established = new AtomicReference<>();
    private final BackendErrors errors;

    @Inject
    public RecoveringConnectionPool(RabbitMQConnectionFactory factory, Configuration configuration, BackendErrors errors) {
        super(factory, configuration);
        this.configuration = configuration;
        this.errors = errors;
        errors.know("rabbitmq", "connection-lost", "channel-closed");
    }

    /** Signals that the connection is closed and the client is recovering it. */
    static class BeingRecovered extends IOException {
        BeingRecovered() {
            super("the RabbitMQ connection is being recovered");
        }
    }

    @Override
    public Mono<Connection> getResilientConnection() {
        return Mono.defer(this::connection)
            .retryWhen(Retry.backoff(configuration.getNumRetries(), configuration.getInitialDelay())
                .maxBackoff(MAX_WAIT_STEP)
                .filter(BeingRecovered.class::isInstance)
                .onRetryExhaustedThrow((spec, signal) -> signal.failure())
                .scheduler(Schedulers.boundedElastic()));
    }

    private Mono<Connection> connection() {
        Connection current = established.get();
        if (current != null && current.isOpen()) {
            return Mono.just(current);
        }
        if (current != null && beingRecovered(current)) {
            return Mono.error(new BeingRecovered());
        }
        // The first connection, or one replacing a connection nobody recovers: James's way,
        // reconnection handlers included.
        return super.getResilientConnection().doOnNext(connection -> {
            if (established.getAndSet(connection) != connection) {
                // the client keeps a recovered connection's listeners: each loss counts once
                connection.addShutdownListener(cause -> {
                    if (!cause.isInitiatedByApplication()) {
                        errors.count("rabbitmq", "connection-lost");
                    }
                });
            }
        });
    }

    /** Whether the RabbitMQ client is recovering {@code connection} by itself. */
    static boolean beingRecovered(Connection connection) {
        if (!(connection instanceof AutorecoveringConnection)) {
            return false;
        }
        ShutdownSignalException reason = connection.getCloseReason();
        return reason == null || AutorecoveringConnection.DEFAULT_CONNECTION_RECOVERY_TRIGGERING_CONDITION.test(reason);
    }

    @Override
    public Mono<Boolean> tryConnection() {
        return Mono.defer(this::connection)
            .timeout(Duration.ofSeconds(1))
            .hasElement()
            .onErrorResume(any -> Mono.just(false));
    }

    @Override
    public Mono<RabbitMQServerVersion> version() {
        return Mono.defer(this::connection)
            .timeout(Duration.ofSeconds(1))
            .flatMap(connection -> Mono.justOrEmpty(connection.getServerProperties().get("version")))
            .map(version -> RabbitMQServerVersion.of(version.toString()))
            .onErrorResume(any -> Mono.empty());
    }
}
