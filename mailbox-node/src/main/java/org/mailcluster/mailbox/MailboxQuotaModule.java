package org.mailcluster.mailbox;

import javax.inject.Singleton;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.core.quota.QuotaCountLimit;
import org.apache.james.core.quota.QuotaCountUsage;
import org.apache.james.core.quota.QuotaSizeLimit;
import org.apache.james.core.quota.QuotaSizeUsage;
import org.apache.james.events.EventBus;
import org.apache.james.events.EventListener;
import org.apache.james.mailbox.cassandra.quota.CassandraCurrentQuotaManager;
import org.apache.james.mailbox.cassandra.quota.CassandraGlobalMaxQuotaDao;
import org.apache.james.mailbox.cassandra.quota.CassandraPerDomainMaxQuotaDao;
import org.apache.james.mailbox.cassandra.quota.CassandraPerUserMaxQuotaDao;
import org.apache.james.mailbox.cassandra.quota.CassandraPerUserMaxQuotaManager;
import org.apache.james.mailbox.exception.MailboxException;
import org.apache.james.mailbox.model.Quota;
import org.apache.james.mailbox.model.QuotaRoot;
import org.apache.james.mailbox.quota.CurrentQuotaManager;
import org.apache.james.mailbox.quota.MaxQuotaManager;
import org.apache.james.mailbox.quota.QuotaManager;
import org.apache.james.mailbox.quota.QuotaRootDeserializer;
import org.apache.james.mailbox.quota.QuotaRootResolver;
import org.apache.james.mailbox.quota.UserQuotaRootResolver;
import org.apache.james.mailbox.store.quota.DefaultUserQuotaRootResolver;
import org.apache.james.mailbox.store.quota.ListeningCurrentQuotaUpdater;
import org.apache.james.mailbox.store.quota.QuotaUpdater;
import org.apache.james.mailbox.store.quota.StoreQuotaManager;
import org.reactivestreams.Publisher;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

import reactor.core.publisher.Mono;

/**
 * Per-user mailbox quotas kept in Cassandra: limits (global, per domain, per user) and the
 * current usage counters. Installed by {@link CassandraMailboxStorageModule}.
 *
 * <p>Usage is not updated inline by the mailbox manager: {@link ListeningCurrentQuotaUpdater}
 * follows added/expunged events on the event bus. With the distributed bus that listener
 * runs in a RabbitMQ consumer group, so each event is counted once across all mailbox nodes.
 *
 * <p>James's updater then reads the user's quotas back (current usage and the global, domain
 * and user limits) to publish a {@code QuotaUsageUpdatedEvent} on the event bus. Nothing in
 * this cluster consumes that event (James's quota-threshold mailing is not installed, and
 * 3.8.1's IMAP and JMAP do not push quota changes), yet it cost every delivered message four
 * Cassandra reads and a second event-bus message (docs/benchmarks/profile.md). The updater is
 * given a {@link QuotaManager} whose reactive read finds nothing, so it counts and stops there;
 * quota checks at append and GETQUOTAROOT read the real manager.
 */
class MailboxQuotaModule extends AbstractModule {

    @Override
    protected void configure() {
        bind(CassandraGlobalMaxQuotaDao.class).in(Scopes.SINGLETON);
        bind(CassandraPerDomainMaxQuotaDao.class).in(Scopes.SINGLETON);
        bind(CassandraPerUserMaxQuotaDao.class).in(Scopes.SINGLETON);
        bind(CassandraPerUserMaxQuotaManager.class).in(Scopes.SINGLETON);
        bind(MaxQuotaManager.class).to(CassandraPerUserMaxQuotaManager.class);

        bind(CassandraCurrentQuotaManager.class).in(Scopes.SINGLETON);
        bind(CurrentQuotaManager.class).to(CassandraCurrentQuotaManager.class);

        bind(StoreQuotaManager.class).in(Scopes.SINGLETON);
        bind(QuotaManager.class).to(StoreQuotaManager.class);

        // One quota root per user ("#private&user@domain"): all of a user's mailboxes share it.
        bind(DefaultUserQuotaRootResolver.class).in(Scopes.SINGLETON);
        bind(QuotaRootResolver.class).to(DefaultUserQuotaRootResolver.class);
        bind(UserQuotaRootResolver.class).to(DefaultUserQuotaRootResolver.class);
        bind(QuotaRootDeserializer.class).to(DefaultUserQuotaRootResolver.class);

        bind(QuotaUpdater.class).to(ListeningCurrentQuotaUpdater.class);
        Multibinder.newSetBinder(binder(), EventListener.ReactiveGroupEventListener.class)
            .addBinding().to(ListeningCurrentQuotaUpdater.class);

        CassandraMailboxStorageModule.addTables(Multibinder.newSetBinder(binder(), CassandraModule.class),
            org.apache.james.mailbox.cassandra.modules.CassandraQuotaModule.MODULE);
    }

    @Provides
    @Singleton
    ListeningCurrentQuotaUpdater quotaUpdater(CurrentQuotaManager usage, QuotaRootResolver roots, EventBus eventBus,
                                              QuotaManager quotas) {
        return new ListeningCurrentQuotaUpdater(usage, roots, eventBus, new NothingToPublish(quotas));
    }

    /** The quotas as the updater sees them: nothing to publish after counting (see above). */
    static final class NothingToPublish implements QuotaManager {
        private final QuotaManager quotas;

        NothingToPublish(QuotaManager quotas) {
            this.quotas = quotas;
        }

        @Override
        public Publisher<Quotas> getQuotasReactive(QuotaRoot quotaRoot) {
            return Mono.empty();
        }

        @Override
        public Quota<QuotaCountLimit, QuotaCountUsage> getMessageQuota(QuotaRoot quotaRoot) throws MailboxException {
            return quotas.getMessageQuota(quotaRoot);
        }

        @Override
        public Quota<QuotaSizeLimit, QuotaSizeUsage> getStorageQuota(QuotaRoot quotaRoot) throws MailboxException {
            return quotas.getStorageQuota(quotaRoot);
        }

        @Override
        public Quotas getQuotas(QuotaRoot quotaRoot) throws MailboxException {
            return quotas.getQuotas(quotaRoot);
        }
    }
}
