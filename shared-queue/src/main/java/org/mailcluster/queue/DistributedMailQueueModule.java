package org.mailcluster.queue;

import javax.inject.Named;
import javax.inject.Singleton;

import org.apache.commons.configuration2.Configuration;
import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.blob.api.BlobReferenceSource;
import org.apache.james.blob.mail.MimeMessageStore;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.eventsourcing.Event;
import org.apache.james.eventsourcing.eventstore.EventStore;
import org.apache.james.eventsourcing.eventstore.cassandra.CassandraEventStore;
import org.apache.james.eventsourcing.eventstore.cassandra.dto.EventDTO;
import org.apache.james.eventsourcing.eventstore.cassandra.dto.EventDTOModule;
import org.apache.james.json.DTO;
import org.apache.james.json.DTOModule;
import org.apache.james.lifecycle.api.StartUpCheck;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.ManageableMailQueue;
import org.apache.james.queue.rabbitmq.view.RabbitMQMailQueueConfiguration;
import org.apache.james.queue.rabbitmq.view.api.MailQueueView;
import org.apache.james.queue.rabbitmq.view.cassandra.BrowseStartHealthCheck;
import org.apache.james.queue.rabbitmq.view.cassandra.CassandraMailQueueView;
import org.apache.james.queue.rabbitmq.view.cassandra.CassandraMailQueueViewStartUpCheck;
import org.apache.james.queue.rabbitmq.view.cassandra.MailQueueViewBlobReferenceSource;
import org.apache.james.queue.rabbitmq.view.cassandra.configuration.CassandraMailQueueViewConfiguration;
import org.apache.james.queue.rabbitmq.view.cassandra.configuration.CassandraMailQueueViewConfigurationModule;
import org.apache.james.webadmin.Routes;
import org.mailcluster.backends.RabbitMQConnectionModule;
import org.mailcluster.metrics.MailOutcomes;
import org.mailcluster.limits.DestinationLimits;
import org.mailcluster.limits.SendingLimit;

import com.google.common.collect.ImmutableSet;
import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.TypeLiteral;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.name.Names;

import reactor.rabbitmq.Sender;


/**
 * Durable mail queues for a tier: RabbitMQ carries the queue (publisher confirms before the
 * SMTP {@code 250}), the Cassandra blob store the payload, and a Cassandra view lets webadmin
 * browse, count and remove queued mail. The tier decides which queue "spool" means.
 */
public class DistributedMailQueueModule extends AbstractModule {

    private final QueueTopology tier;

    static final String REMOTE_DELIVERY_THREADS_ENV = "MC_REMOTE_DELIVERY_THREADS";

    public DistributedMailQueueModule(QueueTopology tier) {
        this.tier = tier;
    }

    @Override
    protected void configure() {
        bind(QueueTopology.class).toInstance(tier);
        bind(TierMailQueueFactory.class).in(Scopes.SINGLETON);
        bind(MimeMessageStore.Factory.class).to(QueuedMessageStores.class).in(Scopes.SINGLETON);

        Multibinder<CassandraModule> tables = Multibinder.newSetBinder(binder(), CassandraModule.class);
        tables.addBinding().toInstance(org.apache.james.queue.rabbitmq.view.cassandra.CassandraMailQueueViewModule.MODULE);
        // The view's own configuration (slices, buckets) is event-sourced: it must not change
        // under queued mail, and every node must agree on it.
        tables.addBinding().toInstance(org.apache.james.eventsourcing.eventstore.cassandra.CassandraEventStoreModule.MODULE());
        bind(CassandraEventStore.class).in(Scopes.SINGLETON);
        bind(EventStore.class).to(CassandraEventStore.class);
        Multibinder.newSetBinder(binder(), new TypeLiteral<EventDTOModule<? extends Event, ? extends EventDTO>>() {})
            .addBinding().toInstance(CassandraMailQueueViewConfigurationModule.MAIL_QUEUE_VIEW_CONFIGURATION);
        bind(new TypeLiteral<java.util.Set<DTOModule<?, ? extends DTO>>>() {})
            .annotatedWith(Names.named("EventNestedTypes"))
            .toInstance(ImmutableSet.of());

        Multibinder.newSetBinder(binder(), StartUpCheck.class).addBinding().to(CassandraMailQueueViewStartUpCheck.class);
        Multibinder.newSetBinder(binder(), BlobReferenceSource.class).addBinding().to(MailQueueViewBlobReferenceSource.class);
        // (James's RabbitMQMailQueueDeadLetterQueueHealthCheck is left out: it watches the
        // dead letters of a queue literally named "spool", which no tier has.)
        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(BrowseStartHealthCheck.class);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(DeadLetteredMailRoutes.class);

        // No spooler restart on reconnection (James's own distributed app registers one): the
        // RabbitMQ client recovers the connection with its channels and consumers by itself,
        // and a restart on top of that left two consumers on the spool, one of them orphaned
        // with its prefetched mail unacknowledged (seen after a broker restart).
    }

    @Provides
    @Singleton
    MailQueueView.Factory queueView(CassandraMailQueueView.Factory cassandraView) {
        return cassandraView;
    }

    @Provides
    @Singleton
    CassandraMailQueueViewConfiguration queueViewConfiguration(@Named(RabbitMQConnectionModule.CONFIGURATION) Configuration rabbitmq) {
        return CassandraMailQueueViewConfiguration.from(rabbitmq);
    }

    @Provides
    @Singleton
    RabbitMQMailQueueConfiguration queueConfiguration(@Named(RabbitMQConnectionModule.CONFIGURATION) Configuration rabbitmq) {
        return RabbitMQMailQueueConfiguration.from(rabbitmq);
    }

    @Provides
    @Singleton
    DelayedRetryQueue.Backend delayedRetries(Sender sender, MimeMessageStore.Factory messageStores, MetricFactory metrics,
                                             MailQueueView.Factory views, RabbitMQMailQueueConfiguration configuration,
                                             java.time.Clock clock, MailOutcomes outcomes, RabbitMQConfiguration broker) {
        return new DelayedRetryQueue.Backend(sender, messageStores, metrics, views, configuration, clock, outcomes, broker);
    }

    /**
     * The outgoing queue's gate: {@code MC_REMOTE_DELIVERY_THREADS} deliveries at once on this
     * node (8 when unset), at most each destination domain's limit of them to one domain.
     */
    @Provides
    @Singleton
    DestinationConcurrency outgoingDeliveries(DestinationLimits limits) {
        return new DestinationConcurrency(
            SendingLimit.defaultFrom(REMOTE_DELIVERY_THREADS_ENV, System.getenv(REMOTE_DELIVERY_THREADS_ENV), 8),
            limits::connectionsTo);
    }

    // James components ask for the queue factory under several generic types; all are this tier's.

    @Provides
    @Singleton
    MailQueueFactory<? extends ManageableMailQueue> manageableQueues(TierMailQueueFactory queues) {
        return queues;
    }

    @Provides
    @Singleton
    MailQueueFactory<?> anyQueues(TierMailQueueFactory queues) {
        return queues;
    }

    @Provides
    @Singleton
    MailQueueFactory<? extends MailQueue> mailQueues(TierMailQueueFactory queues) {
        return queues;
    }
}
