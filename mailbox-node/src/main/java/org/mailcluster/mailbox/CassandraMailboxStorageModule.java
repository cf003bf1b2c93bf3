package org.mailcluster.mailbox;

import static org.apache.james.modules.Names.MAILBOXMANAGER_NAME;

import java.io.FileNotFoundException;

import javax.inject.Singleton;

import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.adapter.mailbox.ACLUsernameChangeTaskStep;
import org.apache.james.adapter.mailbox.MailboxUsernameChangeTaskStep;
import org.apache.james.adapter.mailbox.QuotaUsernameChangeTaskStep;
import org.apache.james.adapter.mailbox.UserRepositoryAuthenticator;
import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.backends.cassandra.init.configuration.CassandraConfiguration;
import org.apache.james.backends.cassandra.versions.CassandraSchemaVersionManager;
import org.apache.james.blob.api.BlobReferenceSource;
import org.apache.james.events.EventListener;
import org.apache.james.eventsourcing.Event;
import org.apache.james.eventsourcing.eventstore.cassandra.CassandraEventStore;
import org.apache.james.eventsourcing.eventstore.cassandra.CassandraEventStoreModule;
import org.apache.james.eventsourcing.eventstore.cassandra.EventStoreDao;
import org.apache.james.eventsourcing.eventstore.cassandra.JsonEventSerializer;
import org.apache.james.eventsourcing.eventstore.cassandra.dto.EventDTO;
import org.apache.james.eventsourcing.eventstore.cassandra.dto.EventDTOModule;
import org.apache.james.mailbox.AttachmentContentLoader;
import org.apache.james.mailbox.AttachmentManager;
import org.apache.james.mailbox.Authenticator;
import org.apache.james.mailbox.MailboxManager;
import org.apache.james.mailbox.MailboxPathLocker;
import org.apache.james.mailbox.MessageIdManager;
import org.apache.james.mailbox.RightManager;
import org.apache.james.mailbox.SessionProvider;
import org.apache.james.mailbox.SubscriptionManager;
import org.apache.james.mailbox.cassandra.CassandraMailboxManager;
import org.apache.james.mailbox.cassandra.CassandraMailboxSessionMapperFactory;
import org.apache.james.mailbox.cassandra.CassandraThreadIdGuessingAlgorithm;
import org.apache.james.mailbox.cassandra.DeleteMessageListener;
import org.apache.james.mailbox.cassandra.ids.CassandraId;
import org.apache.james.mailbox.cassandra.ids.CassandraMessageId;
import org.apache.james.mailbox.cassandra.mail.ACLMapper;
import org.apache.james.mailbox.cassandra.mail.AttachmentBlobReferenceSource;
import org.apache.james.mailbox.cassandra.mail.CassandraACLDAOV1;
import org.apache.james.mailbox.cassandra.mail.CassandraACLDAOV2;
import org.apache.james.mailbox.cassandra.mail.CassandraACLMapper;
import org.apache.james.mailbox.cassandra.mail.CassandraApplicableFlagDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraAttachmentDAOV2;
import org.apache.james.mailbox.cassandra.mail.CassandraAttachmentMessageIdDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraDeletedMessageDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraFirstUnseenDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraMailboxCounterDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraMailboxDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraMailboxMapper;
import org.apache.james.mailbox.cassandra.mail.CassandraMailboxPathV3DAO;
import org.apache.james.mailbox.cassandra.mail.CassandraMailboxRecentsDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraMessageDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraMessageDAOV3;
import org.apache.james.mailbox.cassandra.mail.CassandraMessageIdDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraMessageIdToImapUidDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraModSeqProvider;
import org.apache.james.mailbox.cassandra.mail.CassandraThreadDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraThreadLookupDAO;
import org.apache.james.mailbox.cassandra.mail.CassandraUidProvider;
import org.apache.james.mailbox.cassandra.mail.CassandraUserMailboxRightsDAO;
import org.apache.james.mailbox.cassandra.mail.MessageBlobReferenceSource;
import org.apache.james.mailbox.cassandra.mail.eventsourcing.acl.ACLModule;
import org.apache.james.mailbox.cassandra.modules.CassandraAclModule;
import org.apache.james.mailbox.cassandra.modules.CassandraAnnotationModule;
import org.apache.james.mailbox.cassandra.modules.CassandraApplicableFlagsModule;
import org.apache.james.mailbox.cassandra.modules.CassandraAttachmentModule;
import org.apache.james.mailbox.cassandra.modules.CassandraDeletedMessageModule;
import org.apache.james.mailbox.cassandra.modules.CassandraFirstUnseenModule;
import org.apache.james.mailbox.cassandra.modules.CassandraMailboxCounterModule;
import org.apache.james.mailbox.cassandra.modules.CassandraMailboxRecentsModule;
import org.apache.james.mailbox.cassandra.modules.CassandraMessageModule;
import org.apache.james.mailbox.cassandra.modules.CassandraModSeqModule;
import org.apache.james.mailbox.cassandra.modules.CassandraSubscriptionModule;
import org.apache.james.mailbox.cassandra.modules.CassandraThreadModule;
import org.apache.james.mailbox.cassandra.modules.CassandraUidModule;
import org.apache.james.mailbox.model.MailboxId;
import org.apache.james.mailbox.model.MessageId;
import org.apache.james.mailbox.store.BatchSizes;
import org.apache.james.mailbox.store.MailboxSessionMapperFactory;
import org.apache.james.mailbox.store.NoMailboxPathLocker;
import org.apache.james.mailbox.store.SessionProviderImpl;
import org.apache.james.mailbox.store.StoreAttachmentManager;
import org.apache.james.mailbox.store.StoreMailboxManager;
import org.apache.james.mailbox.store.StoreMessageIdManager;
import org.apache.james.mailbox.store.StoreRightManager;
import org.apache.james.mailbox.store.StoreSubscriptionManager;
import org.apache.james.mailbox.store.event.MailboxAnnotationListener;
import org.apache.james.mailbox.store.mail.AttachmentMapperFactory;
import org.apache.james.mailbox.store.mail.MailboxMapperFactory;
import org.apache.james.mailbox.store.mail.MessageMapperFactory;
import org.apache.james.mailbox.store.mail.ModSeqProvider;
import org.apache.james.mailbox.store.mail.ThreadIdGuessingAlgorithm;
import org.apache.james.mailbox.store.mail.UidProvider;
import org.apache.james.mailbox.store.user.SubscriptionMapperFactory;
import org.apache.james.user.api.UsernameChangeTaskStep;
import org.apache.james.utils.MailboxManagerDefinition;
import org.apache.james.utils.PropertiesProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.datastax.oss.driver.api.core.CqlSession;
import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.TypeLiteral;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;
import com.google.inject.name.Names;

/**
 * James's mailbox stack (mailboxes, messages, ACLs, subscriptions, annotations, threads,
 * quotas) stored in Cassandra, for the mailbox tier only: the MX and submission tiers never
 * touch mailboxes, so none of these tables exist in their injectors.
 *
 * <p>What this module does <em>not</em> provide, and expects from elsewhere:
 * <ul>
 *   <li>shared-queue: {@link CqlSession} (with the aggregated {@code Set<CassandraModule>} schema
 *       applied), {@link CassandraConfiguration}, {@link CassandraSchemaVersionManager},
 *       {@code BlobStore}, {@code BlobId.Factory}, {@code UsersRepository}, {@code Authorizator},
 *       {@code EventBus} (distributed), {@code EventDeadLetters}, {@code MetricFactory};</li>
 *   <li>James's {@code CommonServicesModule}: {@code Clock}, {@code PropertiesProvider},
 *       {@code ConfigurationProvider}, {@code GuiceGenericLoader};</li>
 *   <li>James's {@code MailboxModule}: {@code MailboxACLResolver}, {@code Set<PreDeletionHook>};</li>
 *   <li>a search module (today {@link ScanningSearchModule}): {@code MessageSearchIndex},
 *       {@code TextExtractor}, {@code ReIndexer}, {@code QuotaSearcher}.</li>
 * </ul>
 *
 * <p>Left out on purpose: the in-VM event bus James installs next to its Cassandra mailbox
 * (the cluster's bus is distributed and comes from shared-queue), and the JMAP change
 * repositories ({@code MailboxChangeRepository}, {@code EmailChangeRepository},
 * {@code State.Factory}): only JMAP code injects them, so they belong with a JMAP module.
 */
public class CassandraMailboxStorageModule extends AbstractModule {
    private static final Logger LOGGER = LoggerFactory.getLogger(CassandraMailboxStorageModule.class);

    /** Name James's JMX and CLI tooling show for the mailbox manager; kept for familiarity. */
    private static final String MAILBOX_MANAGER_DEFINITION_NAME = "cassandra-mailboxmanager";
    private static final String BATCH_SIZES_FILE = "batchsizes";

    @Override
    protected void configure() {
        install(new MailboxQuotaModule());
        install(new MailboxListenersModule());

        bindDataAccessObjects();
        bindMailboxApi();
        bindThreading();
        contributeSchema();
        contributeListeners();
        contributeToSharedRegistries();
    }

    /**
     * The DAOs are stateless apart from their prepared statements: one of each per node,
     * otherwise every injection point would prepare its statements again.
     */
    private void bindDataAccessObjects() {
        bind(CassandraMailboxDAO.class).in(Scopes.SINGLETON);
        bind(CassandraMailboxPathV3DAO.class).in(Scopes.SINGLETON);
        bind(CassandraMailboxCounterDAO.class).in(Scopes.SINGLETON);
        bind(CassandraMailboxRecentsDAO.class).in(Scopes.SINGLETON);
        bind(CassandraFirstUnseenDAO.class).in(Scopes.SINGLETON);
        bind(CassandraDeletedMessageDAO.class).in(Scopes.SINGLETON);
        bind(CassandraApplicableFlagDAO.class).in(Scopes.SINGLETON);
        // Messages: V3 is what new writes use; the V2 DAO is still read (and purged by
        // DeleteMessageListener) for data written by older James versions.
        bind(CassandraMessageDAO.class).in(Scopes.SINGLETON);
        bind(CassandraMessageDAOV3.class).in(Scopes.SINGLETON);
        bind(CassandraMessageIdDAO.class).in(Scopes.SINGLETON);
        bind(CassandraMessageIdToImapUidDAO.class).in(Scopes.SINGLETON);
        bind(CassandraAttachmentDAOV2.class).in(Scopes.SINGLETON);
        bind(CassandraAttachmentMessageIdDAO.class).in(Scopes.SINGLETON);
        // ACLs: V1 and V2 coexist; CassandraACLMapper picks by schema version.
        bind(CassandraACLDAOV1.class).in(Scopes.SINGLETON);
        bind(CassandraACLDAOV2.class).in(Scopes.SINGLETON);
        bind(CassandraUserMailboxRightsDAO.class).in(Scopes.SINGLETON);
        bind(CassandraMailboxMapper.class).in(Scopes.SINGLETON);

        // UID and MODSEQ allocation go through Cassandra lightweight transactions, which is
        // what makes concurrent appends from several mailbox nodes safe.
        bind(CassandraModSeqProvider.class).in(Scopes.SINGLETON);
        bind(CassandraUidProvider.class).in(Scopes.SINGLETON);
        bind(ModSeqProvider.class).to(CassandraModSeqProvider.class);
        bind(UidProvider.class).to(CassandraUidProvider.class);

        bind(ACLMapper.class).to(CassandraACLMapper.class);

        bind(CassandraMailboxSessionMapperFactory.class).in(Scopes.SINGLETON);
        bind(MailboxSessionMapperFactory.class).to(CassandraMailboxSessionMapperFactory.class);
        bind(MessageMapperFactory.class).to(CassandraMailboxSessionMapperFactory.class);
        bind(MailboxMapperFactory.class).to(CassandraMailboxSessionMapperFactory.class);
        bind(AttachmentMapperFactory.class).to(CassandraMailboxSessionMapperFactory.class);
        bind(SubscriptionMapperFactory.class).to(CassandraMailboxSessionMapperFactory.class);

        bind(CassandraId.Factory.class).in(Scopes.SINGLETON);
        bind(CassandraMessageId.Factory.class).in(Scopes.SINGLETON);
        bind(MailboxId.Factory.class).to(CassandraId.Factory.class);
        bind(MessageId.Factory.class).to(CassandraMessageId.Factory.class);
    }

    /** The mailbox API the protocols (IMAP, LMTP/LocalDelivery, webadmin) program against. */
    private void bindMailboxApi() {
        bind(CassandraMailboxManager.class).in(Scopes.SINGLETON);
        bind(MailboxManager.class).to(CassandraMailboxManager.class);
        bind(StoreMailboxManager.class).to(CassandraMailboxManager.class);
        bind(MailboxManager.class).annotatedWith(Names.named(MAILBOXMANAGER_NAME)).to(MailboxManager.class);

        bind(StoreSubscriptionManager.class).in(Scopes.SINGLETON);
        bind(SubscriptionManager.class).to(StoreSubscriptionManager.class);
        bind(StoreMessageIdManager.class).in(Scopes.SINGLETON);
        bind(MessageIdManager.class).to(StoreMessageIdManager.class);
        bind(StoreAttachmentManager.class).in(Scopes.SINGLETON);
        bind(AttachmentManager.class).to(StoreAttachmentManager.class);
        bind(AttachmentContentLoader.class).to(AttachmentManager.class);
        bind(StoreRightManager.class).in(Scopes.SINGLETON);
        bind(RightManager.class).to(StoreRightManager.class);

        bind(SessionProviderImpl.class).in(Scopes.SINGLETON);
        bind(SessionProvider.class).to(SessionProviderImpl.class);
        // Passwords are checked against the shared UsersRepository, so a user can log in on
        // whichever mailbox node the load balancer picks.
        bind(UserRepositoryAuthenticator.class).in(Scopes.SINGLETON);
        bind(Authenticator.class).to(UserRepositoryAuthenticator.class);

        // Cassandra gives no cross-node lock anyway; correctness rests on LWTs in the DAOs.
        bind(NoMailboxPathLocker.class).in(Scopes.SINGLETON);
        bind(MailboxPathLocker.class).to(NoMailboxPathLocker.class);
    }

    /** Threads (JMAP threadId, and IMAP THREAD later) are guessed from stored headers. */
    private void bindThreading() {
        bind(CassandraThreadDAO.class).in(Scopes.SINGLETON);
        bind(CassandraThreadLookupDAO.class).in(Scopes.SINGLETON);
        bind(CassandraThreadIdGuessingAlgorithm.class).in(Scopes.SINGLETON);
        bind(ThreadIdGuessingAlgorithm.class).to(CassandraThreadIdGuessingAlgorithm.class);
    }

    /**
     * Tables this tier needs. The Cassandra session module (shared-queue) aggregates the set
     * and creates every table IF NOT EXISTS, so only injectors that install this module
     * create mailbox tables.
     */
    private void contributeSchema() {
        Multibinder<CassandraModule> schema = Multibinder.newSetBinder(binder(), CassandraModule.class);
        // The event store table may also be contributed by shared-queue (for its own
        // event-sourced stores); tolerate the same element twice rather than fail.
        schema.permitDuplicates();

        addTables(schema,
            org.apache.james.mailbox.cassandra.modules.CassandraMailboxModule.MODULE,
            CassandraMessageModule.MODULE,
            CassandraAttachmentModule.MODULE,
            CassandraAclModule.MODULE,
            CassandraMailboxCounterModule.MODULE,
            CassandraMailboxRecentsModule.MODULE,
            CassandraFirstUnseenModule.MODULE,
            CassandraDeletedMessageModule.MODULE,
            CassandraApplicableFlagsModule.MODULE,
            CassandraAnnotationModule.MODULE,
            CassandraSubscriptionModule.MODULE,
            CassandraModSeqModule.MODULE,
            CassandraUidModule.MODULE,
            CassandraThreadModule.MODULE);
        // ACL v2 appends its history to the generic event store table (see aclMapper()). Added
        // as James's own instance so that a second contribution of it is recognised as equal.
        schema.addBinding().toInstance(CassandraEventStoreModule.MODULE());
    }

    /** Mailbox tables (shared-queue's CassandraStorageModule makes their options Cassandra 5 compatible). */
    static void addTables(Multibinder<CassandraModule> schema, CassandraModule... modules) {
        for (CassandraModule module : modules) {
            schema.addBinding().toInstance(module);
        }
    }

    /**
     * Listeners that keep derived mailbox data consistent. They only run once
     * {@link MailboxListenersModule} registers them on the event bus.
     */
    private void contributeListeners() {
        Multibinder.newSetBinder(binder(), EventListener.GroupEventListener.class)
            .addBinding().to(MailboxAnnotationListener.class);
        // Deleting a mailbox or the last reference to a message removes its rows and blobs
        // asynchronously, off the IMAP request path.
        bind(DeleteMessageListener.class).in(Scopes.SINGLETON);
        Multibinder.newSetBinder(binder(), EventListener.ReactiveGroupEventListener.class)
            .addBinding().to(DeleteMessageListener.class);
        // Extension point (e.g. a deleted-messages vault); none today, but the set must exist.
        Multibinder.newSetBinder(binder(), DeleteMessageListener.DeletionCallback.class);
    }

    /** Sets owned by other modules that the mailbox stack adds to. */
    private void contributeToSharedRegistries() {
        // Lets an event-sourced store built elsewhere (shared EventStore) read ACL events too.
        Multibinder.newSetBinder(binder(), new TypeLiteral<EventDTOModule<? extends Event, ? extends EventDTO>>() {})
            .addBinding().toInstance(ACLModule.ACL_UPDATE);

        // Blob garbage collection must know which blobs messages and attachments still use.
        Multibinder<BlobReferenceSource> blobReferences = Multibinder.newSetBinder(binder(), BlobReferenceSource.class);
        blobReferences.addBinding().to(AttachmentBlobReferenceSource.class);
        blobReferences.addBinding().to(MessageBlobReferenceSource.class);

        // Renaming a user (webadmin) must carry their mailboxes, ACLs and quotas along.
        Multibinder<UsernameChangeTaskStep> usernameChange = Multibinder.newSetBinder(binder(), UsernameChangeTaskStep.class);
        usernameChange.addBinding().to(MailboxUsernameChangeTaskStep.class);
        usernameChange.addBinding().to(ACLUsernameChangeTaskStep.class);
        usernameChange.addBinding().to(QuotaUsernameChangeTaskStep.class);
    }

    /**
     * The v2 ACL store is event sourced. It gets its own event store instance whose
     * serializer knows only ACL events, so it does not depend on which other event DTOs the
     * node happens to register in the shared set.
     */
    @Provides
    @Singleton
    CassandraACLMapper aclMapper(CassandraUserMailboxRightsDAO rightsDAO,
                                 CassandraACLDAOV1 aclDAOV1,
                                 CassandraACLDAOV2 aclDAOV2,
                                 CqlSession session,
                                 CassandraSchemaVersionManager schemaVersionManager,
                                 CassandraConfiguration cassandraConfiguration) {
        JsonEventSerializer aclEventsOnly = JsonEventSerializer.forModules(ACLModule.ACL_UPDATE).withoutNestedType();
        CassandraEventStore aclEventStore = new CassandraEventStore(new EventStoreDao(session, aclEventsOnly));
        return new CassandraACLMapper(
            new CassandraACLMapper.StoreV1(rightsDAO, aclDAOV1),
            new CassandraACLMapper.StoreV2(rightsDAO, aclDAOV2, aclEventStore),
            schemaVersionManager,
            cassandraConfiguration);
    }

    @ProvidesIntoSet
    MailboxManagerDefinition mailboxManagerDefinition(CassandraMailboxManager mailboxManager) {
        return new MailboxManagerDefinition(MAILBOX_MANAGER_DEFINITION_NAME, mailboxManager);
    }

    /**
     * How many messages the mailbox manager reads or copies per Cassandra round trip.
     * Optional {@code batchsizes.properties}; James's defaults otherwise.
     */
    @Provides
    @Singleton
    BatchSizes batchSizes(PropertiesProvider propertiesProvider) throws ConfigurationException {
        try {
            Configuration configuration = propertiesProvider.getConfiguration(BATCH_SIZES_FILE);
            return BatchSizes.builder()
                .fetchMetadata(configuration.getInt("fetch.metadata", BatchSizes.DEFAULT_BATCH_SIZE))
                .fetchHeaders(configuration.getInt("fetch.headers", BatchSizes.DEFAULT_BATCH_SIZE))
                .fetchFull(configuration.getInt("fetch.full", BatchSizes.DEFAULT_BATCH_SIZE))
                .copyBatchSize(configuration.getInt("copy", BatchSizes.DEFAULT_BATCH_SIZE))
                .moveBatchSize(configuration.getInt("move", BatchSizes.DEFAULT_BATCH_SIZE))
                .build();
        } catch (FileNotFoundException e) {
            LOGGER.info("No {}.properties, using default mailbox batch sizes", BATCH_SIZES_FILE);
            return BatchSizes.defaultValues();
        }
    }
}
