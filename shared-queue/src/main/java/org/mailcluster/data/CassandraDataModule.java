package org.mailcluster.data;

import javax.inject.Singleton;

import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.adapter.mailbox.DelegationStoreAuthorizator;
import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.domainlist.api.DomainListException;
import org.apache.james.domainlist.cassandra.CassandraDomainList;
import org.apache.james.domainlist.lib.DomainListConfiguration;
import org.apache.james.mailbox.Authorizator;
import org.apache.james.CoreDataModule;
import org.apache.james.rrt.api.AliasReverseResolver;
import org.apache.james.rrt.api.CanSendFrom;
import org.apache.james.rrt.api.RecipientRewriteTable;
import org.apache.james.rrt.cassandra.CassandraRRTModule;
import org.apache.james.rrt.cassandra.CassandraRecipientRewriteTable;
import org.apache.james.rrt.lib.AliasReverseResolverImpl;
import org.apache.james.rrt.lib.CanSendFromImpl;
import org.apache.james.server.core.configuration.ConfigurationProvider;
import org.apache.james.user.api.DelegationStore;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.user.cassandra.CassandraDelegationStore;
import org.apache.james.user.cassandra.CassandraRepositoryConfiguration;
import org.apache.james.user.cassandra.CassandraUsersDAO;
import org.apache.james.user.cassandra.CassandraUsersRepositoryModule;
import org.apache.james.user.lib.UsersDAO;
import org.apache.james.user.lib.UsersRepositoryImpl;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.TypeLiteral;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;

/**
 * Who the cluster serves, shared by every node through Cassandra: hosted domains
 * ({@code domainlist.xml}), users and their delegations ({@code usersrepository.xml}), and
 * recipient rewrites: aliases, forwards, groups ({@code recipientrewritetable.xml}).
 * The MX needs them to refuse relaying and unknown recipients at RCPT; submission to
 * authenticate and check sender identities; the mailbox tier to log users in.
 */
public class CassandraDataModule extends AbstractModule {

    @Override
    protected void configure() {
        install(new CoreDataModule());
        Multibinder<CassandraModule> tables = Multibinder.newSetBinder(binder(), CassandraModule.class);

        bind(CassandraDomainList.class).in(Scopes.SINGLETON);
        bind(DomainList.class).to(CassandraDomainList.class);
        tables.addBinding().toInstance(org.apache.james.domainlist.cassandra.CassandraDomainListModule.MODULE);

        bind(CassandraUsersDAO.class).in(Scopes.SINGLETON);
        bind(UsersDAO.class).to(CassandraUsersDAO.class);
        bind(new TypeLiteral<UsersRepositoryImpl<CassandraUsersDAO>>() {}).in(Scopes.SINGLETON);
        bind(UsersRepository.class).to(new TypeLiteral<UsersRepositoryImpl<CassandraUsersDAO>>() {});
        bind(DelegationStore.class).to(CassandraDelegationStore.class);
        bind(Authorizator.class).to(DelegationStoreAuthorizator.class);
        tables.addBinding().toInstance(CassandraUsersRepositoryModule.MODULE);

        bind(CassandraRecipientRewriteTable.class).in(Scopes.SINGLETON);
        bind(RecipientRewriteTable.class).to(CassandraRecipientRewriteTable.class);
        bind(AliasReverseResolver.class).to(AliasReverseResolverImpl.class);
        bind(CanSendFrom.class).to(CanSendFromImpl.class);
        tables.addBinding().toInstance(CassandraRRTModule.MODULE);
    }

    @Provides
    @Singleton
    CassandraRepositoryConfiguration usersConfiguration(ConfigurationProvider configuration) throws ConfigurationException {
        return CassandraRepositoryConfiguration.from(configuration.getConfiguration("usersrepository"));
    }

    @ProvidesIntoSet
    InitializationOperation configureDomains(DomainListConfiguration configuration, CassandraDomainList domains) {
        return InitilizationOperationBuilder.forClass(CassandraDomainList.class).init(() -> configureTogether(configuration, domains));
    }

    /**
     * James's configuration adds the default domain when it is missing, with a lightweight
     * transaction. Nodes that start together on a new cluster race there: the losers get
     * "already exists", which James logs and then leaves their default domain unset, and the
     * mailet container's start fails on it a moment later ("Null default domain"). The domain
     * exists by then, so configuring once more sets it.
     */
    static void configureTogether(DomainListConfiguration configuration, CassandraDomainList domains) throws Exception {
        domains.configure(configuration);
        if (configuration.getDefaultDomain() != null && !hasDefaultDomain(domains)) {
            domains.configure(configuration);
        }
    }

    private static boolean hasDefaultDomain(CassandraDomainList domains) {
        try {
            domains.getDefaultDomain();
            return true;
        } catch (DomainListException unset) {
            return false;
        }
    }

    @ProvidesIntoSet
    InitializationOperation configureUsers(ConfigurationProvider configuration, UsersRepositoryImpl<CassandraUsersDAO> users) {
        return InitilizationOperationBuilder.forClass(UsersRepositoryImpl.class)
            .init(() -> users.configure(configuration.getConfiguration("usersrepository")));
    }

    @ProvidesIntoSet
    InitializationOperation configureRecipientRewrites(ConfigurationProvider configuration, CassandraRecipientRewriteTable rewrites) {
        return InitilizationOperationBuilder.forClass(CassandraRecipientRewriteTable.class)
            .init(() -> rewrites.configure(configuration.getConfiguration("recipientrewritetable")));
    }
}
