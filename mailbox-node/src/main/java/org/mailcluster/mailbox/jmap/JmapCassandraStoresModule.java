package org.mailcluster.mailbox.jmap;

import javax.inject.Singleton;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.eventsourcing.Event;
import org.apache.james.eventsourcing.eventstore.EventStore;
import org.apache.james.eventsourcing.eventstore.cassandra.dto.EventDTO;
import org.apache.james.eventsourcing.eventstore.cassandra.dto.EventDTOModule;
import org.apache.james.jmap.api.access.AccessTokenRepository;
import org.apache.james.jmap.api.change.EmailChangeRepository;
import org.apache.james.jmap.api.change.Limit;
import org.apache.james.jmap.api.change.MailboxChangeRepository;
import org.apache.james.jmap.api.change.State;
import org.apache.james.jmap.api.filtering.FilteringManagement;
import org.apache.james.jmap.cassandra.filtering.FilteringRuleSetDefineDTOModules;
import org.apache.james.jmap.api.filtering.impl.EventSourcingFilteringManagement;
import org.apache.james.jmap.api.filtering.impl.FilterUsernameChangeTaskStep;
import org.apache.james.jmap.api.identity.CustomIdentityDAO;
import org.apache.james.jmap.api.projections.EmailQueryView;
import org.apache.james.jmap.api.projections.MessageFastViewProjection;
import org.apache.james.jmap.api.projections.MessageFastViewProjectionHealthCheck;
import org.apache.james.jmap.api.pushsubscription.PushSubscriptionRepository;
import org.apache.james.jmap.api.upload.UploadRepository;
import org.apache.james.jmap.cassandra.access.CassandraAccessModule;
import org.apache.james.jmap.cassandra.access.CassandraAccessTokenRepository;
import org.apache.james.jmap.cassandra.change.CassandraEmailChangeModule;
import org.apache.james.jmap.cassandra.change.CassandraEmailChangeRepository;
import org.apache.james.jmap.cassandra.change.CassandraMailboxChangeModule;
import org.apache.james.jmap.cassandra.change.CassandraMailboxChangeRepository;
import org.apache.james.jmap.cassandra.change.CassandraStateFactory;
import org.apache.james.jmap.cassandra.change.EmailChangeRepositoryDAO;
import org.apache.james.jmap.cassandra.change.MailboxChangeRepositoryDAO;
import org.apache.james.jmap.cassandra.filtering.CassandraFilteringProjectionModule;
import org.apache.james.jmap.cassandra.identity.CassandraCustomIdentityDAO;
import org.apache.james.jmap.cassandra.identity.CassandraCustomIdentityModule;
import org.apache.james.jmap.cassandra.projections.CassandraEmailQueryView;
import org.apache.james.jmap.cassandra.projections.CassandraEmailQueryViewModule;
import org.apache.james.jmap.cassandra.projections.CassandraMessageFastViewProjection;
import org.apache.james.jmap.cassandra.projections.CassandraMessageFastViewProjectionModule;
import org.apache.james.jmap.cassandra.pushsubscription.CassandraPushSubscriptionModule;
import org.apache.james.jmap.cassandra.pushsubscription.CassandraPushSubscriptionRepository;
import org.apache.james.jmap.cassandra.upload.CassandraUploadRepository;
import org.apache.james.jmap.cassandra.upload.UploadConfiguration;
import org.apache.james.jmap.cassandra.upload.UploadDAO;
import org.apache.james.jmap.cassandra.upload.UploadModule;
import org.apache.james.user.api.UsernameChangeTaskStep;
import org.apache.james.vacation.api.NotificationRegistry;
import org.apache.james.vacation.api.VacationRepository;
import org.apache.james.vacation.api.VacationService;
import org.apache.james.vacation.cassandra.CassandraNotificationRegistry;
import org.apache.james.vacation.cassandra.CassandraNotificationRegistryModule;
import org.apache.james.vacation.cassandra.CassandraVacationModule;
import org.apache.james.vacation.cassandra.CassandraVacationRepository;
import org.apache.james.DefaultVacationService;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.TypeLiteral;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.name.Names;

/**
 * What JMAP keeps, in the cluster's Cassandra keyspace, so that any mailbox node answers any
 * client: change logs ({@code Email/changes}, {@code Mailbox/changes}), uploads (blobs in weekly
 * buckets, kept 7 days), identities, push subscriptions, filtering rules (event-sourced in the
 * shared event store), message previews, vacation replies, and the draft protocol's access
 * tokens. Each store contributes its tables, created at start like every other table.
 */
class JmapCassandraStoresModule extends AbstractModule {

    private static final Limit CHANGES_PER_PAGE = Limit.of(256);

    @Override
    protected void configure() {
        Multibinder<CassandraModule> tables = Multibinder.newSetBinder(binder(), CassandraModule.class);

        bind(EmailChangeRepositoryDAO.class).in(Scopes.SINGLETON);
        bind(MailboxChangeRepositoryDAO.class).in(Scopes.SINGLETON);
        bind(EmailChangeRepository.class).to(CassandraEmailChangeRepository.class);
        bind(MailboxChangeRepository.class).to(CassandraMailboxChangeRepository.class);
        // The change tables order states by time: states must be time UUIDs.
        bind(State.Factory.class).to(CassandraStateFactory.class);
        bind(Limit.class).annotatedWith(Names.named(CassandraEmailChangeRepository.LIMIT_NAME)).toInstance(CHANGES_PER_PAGE);
        bind(Limit.class).annotatedWith(Names.named(CassandraMailboxChangeRepository.LIMIT_NAME)).toInstance(CHANGES_PER_PAGE);
        tables.addBinding().toInstance(CassandraEmailChangeModule.MODULE);
        tables.addBinding().toInstance(CassandraMailboxChangeModule.MODULE);

        bind(UploadDAO.class).in(Scopes.SINGLETON);
        bind(UploadConfiguration.class).toInstance(UploadConfiguration.SINGLETON);
        bind(UploadRepository.class).to(CassandraUploadRepository.class).in(Scopes.SINGLETON);
        tables.addBinding().toInstance(UploadModule.MODULE);

        bind(CustomIdentityDAO.class).to(CassandraCustomIdentityDAO.class).in(Scopes.SINGLETON);
        tables.addBinding().toInstance(CassandraCustomIdentityModule.MODULE());

        bind(PushSubscriptionRepository.class).to(CassandraPushSubscriptionRepository.class).in(Scopes.SINGLETON);
        tables.addBinding().toInstance(CassandraPushSubscriptionModule.MODULE);

        bind(MessageFastViewProjection.class).to(CassandraMessageFastViewProjection.class).in(Scopes.SINGLETON);
        tables.addBinding().toInstance(CassandraMessageFastViewProjectionModule.MODULE);
        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(MessageFastViewProjectionHealthCheck.class);

        bind(EmailQueryView.class).to(CassandraEmailQueryView.class).in(Scopes.SINGLETON);
        tables.addBinding().toInstance(CassandraEmailQueryViewModule.MODULE);

        Multibinder<EventDTOModule<? extends Event, ? extends EventDTO>> events = Multibinder.newSetBinder(binder(), new TypeLiteral<>() {});
        events.addBinding().toInstance(FilteringRuleSetDefineDTOModules.FILTERING_RULE_SET_DEFINED);
        events.addBinding().toInstance(FilteringRuleSetDefineDTOModules.FILTERING_INCREMENT);
        tables.addBinding().toInstance(CassandraFilteringProjectionModule.MODULE);
        Multibinder.newSetBinder(binder(), UsernameChangeTaskStep.class).addBinding().to(FilterUsernameChangeTaskStep.class);

        bind(VacationService.class).to(DefaultVacationService.class).in(Scopes.SINGLETON);
        bind(VacationRepository.class).to(CassandraVacationRepository.class).in(Scopes.SINGLETON);
        bind(NotificationRegistry.class).to(CassandraNotificationRegistry.class).in(Scopes.SINGLETON);
        tables.addBinding().toInstance(CassandraVacationModule.MODULE);
        tables.addBinding().toInstance(CassandraNotificationRegistryModule.MODULE);

        bind(AccessTokenRepository.class).to(CassandraAccessTokenRepository.class).in(Scopes.SINGLETON);
        tables.addBinding().toInstance(CassandraAccessModule.MODULE);
    }

    /** Rules are read back from their events; a read projection is an optimisation we skip. */
    @Provides
    @Singleton
    FilteringManagement filtering(EventStore events) {
        return new EventSourcingFilteringManagement(events, new EventSourcingFilteringManagement.NoReadProjection(events));
    }
}
