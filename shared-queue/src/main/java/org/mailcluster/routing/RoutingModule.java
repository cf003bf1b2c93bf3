package org.mailcluster.routing;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

/**
 * The routing table on every node type: its Cassandra table, the in-memory copy each node
 * routes from ({@link RoutingTable}), and its webadmin routes ({@link RoutingTableRoutes}).
 * The {@link InboundRouting} mailet and the MX's RCPT check read it.
 */
public class RoutingModule extends AbstractModule {
    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), CassandraModule.class).addBinding().toInstance(RoutingTable.MODULE);
        bind(RoutingTable.class).in(Scopes.SINGLETON);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(RoutingTableRoutes.class);
    }
}
