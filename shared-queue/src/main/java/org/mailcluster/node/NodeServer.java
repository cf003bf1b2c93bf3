package org.mailcluster.node;

import org.apache.commons.configuration2.BaseHierarchicalConfiguration;
import org.apache.james.GuiceJamesServer;
import org.apache.james.modules.MailetProcessingModule;
import org.apache.james.modules.server.DataRoutesModules;
import org.apache.james.modules.server.MailetContainerModule;
import org.apache.james.modules.server.MailQueueRoutesModule;
import org.apache.james.modules.server.MailRepositoriesRoutesModule;
import org.apache.james.modules.server.NoJwtModule;
import org.apache.james.modules.server.RawPostDequeueDecoratorModule;
import org.apache.james.modules.server.TaskManagerModule;
import org.apache.james.modules.server.WebAdminServerModule;
import org.apache.james.modules.mailbox.BlobStoreAPIModule;
import org.apache.james.server.core.configuration.Configuration;
import org.mailcluster.backends.CassandraBlobStoreModule;
import org.mailcluster.backends.CassandraStorageModule;
import org.mailcluster.backends.RabbitMQConnectionModule;
import org.mailcluster.data.CassandraDataModule;
import org.mailcluster.queue.CassandraMailRepositoryModule;
import org.mailcluster.queue.DistributedMailQueueModule;
import org.mailcluster.queue.QueueTopology;
import org.mailcluster.dkim.DkimModule;
import org.mailcluster.limits.SendingLimitsModule;
import org.mailcluster.metrics.MetricsModule;
import org.mailcluster.routing.RoutingModule;
import org.mailcluster.webadmin.WebAdminSecurityModule;

import com.google.inject.Module;
import com.google.inject.util.Modules;

/**
 * What every node type runs, whatever its tier: the shared backends (Cassandra storage and
 * blobs, users/domains/rewrites, RabbitMQ mail queues, mail repositories, the routing table), James's mailet
 * container consuming the tier's spool, and webadmin (behind a shared secret) with the routes
 * for domains, users, queues and repositories. A node's main adds its protocols.
 *
 * <p>Configuration comes from the folder {@code conf/} under the working directory
 * ({@code -Dworking.directory}); what differs per deployment comes from the environment.
 */
public final class NodeServer {

    private NodeServer() {
    }

    public static GuiceJamesServer compose(QueueTopology tier, Module... protocols) {
        Module shared = Modules.combine(
            new CassandraStorageModule(),
            new CassandraBlobStoreModule(),
            new BlobStoreAPIModule(),
            new CassandraDataModule(),
            new RabbitMQConnectionModule(),
            new DistributedMailQueueModule(tier),
            new CassandraMailRepositoryModule(),
            new RoutingModule(),
            new DkimModule(),
            new SendingLimitsModule(),
            new MetricsModule(),
            new MailetProcessingModule(),
            new RawPostDequeueDecoratorModule(),
            // Every tier ships its own mailetcontainer.xml; no built-in processors.
            binder -> binder.bind(MailetContainerModule.DefaultProcessorsConfigurationSupplier.class)
                .toInstance(BaseHierarchicalConfiguration::new),
            new TaskManagerModule(),
            new WebAdminServerModule(),
            new NoJwtModule(),
            new DataRoutesModules(),
            new MailQueueRoutesModule(),
            new MailRepositoriesRoutesModule());

        return GuiceJamesServer.forConfiguration(Configuration.builder().useWorkingDirectoryEnvProperty().build())
            .combineWith(shared)
            .combineWith(protocols)
            .overrideWith(new WebAdminSecurityModule());
    }
}
