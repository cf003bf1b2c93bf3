package org.mailcluster.queue;

import org.apache.commons.configuration2.BaseHierarchicalConfiguration;
import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.blob.api.BlobReferenceSource;
import org.apache.james.mailrepository.api.MailRepositoryFactory;
import org.apache.james.mailrepository.api.MailRepositoryUrlStore;
import org.apache.james.mailrepository.api.Protocol;
import org.apache.james.mailrepository.cassandra.CassandraMailRepository;
import org.apache.james.mailrepository.cassandra.CassandraMailRepositoryFactory;
import org.apache.james.mailrepository.cassandra.CassandraMailRepositoryUrlModule;
import org.apache.james.mailrepository.cassandra.CassandraMailRepositoryUrlStore;
import org.apache.james.mailrepository.cassandra.MailRepositoryBlobReferenceSource;
import org.apache.james.mailrepository.memory.MailRepositoryStoreConfiguration;

import com.google.common.collect.ImmutableList;
import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

/**
 * Mail repositories (where a tier parks mail it could not process: errors, relay denials,
 * bounces it could not send) in Cassandra, so an operator sees and re-queues them through
 * webadmin from any node. URLs look like {@code cassandra://var/mail/error/}.
 */
public class CassandraMailRepositoryModule extends AbstractModule {

    @Override
    protected void configure() {
        bind(CassandraMailRepositoryUrlStore.class).in(Scopes.SINGLETON);
        bind(MailRepositoryUrlStore.class).to(CassandraMailRepositoryUrlStore.class);
        bind(MailRepositoryStoreConfiguration.Item.class).toProvider(() -> new MailRepositoryStoreConfiguration.Item(
            ImmutableList.of(new Protocol("cassandra")), CassandraMailRepository.class.getName(),
            new BaseHierarchicalConfiguration()));

        Multibinder<CassandraModule> tables = Multibinder.newSetBinder(binder(), CassandraModule.class);
        tables.addBinding().toInstance(org.apache.james.mailrepository.cassandra.CassandraMailRepositoryModule.MODULE);
        tables.addBinding().toInstance(CassandraMailRepositoryUrlModule.MODULE);
        Multibinder.newSetBinder(binder(), BlobReferenceSource.class).addBinding().to(MailRepositoryBlobReferenceSource.class);
        Multibinder.newSetBinder(binder(), MailRepositoryFactory.class).addBinding().to(CassandraMailRepositoryFactory.class);
    }
}
