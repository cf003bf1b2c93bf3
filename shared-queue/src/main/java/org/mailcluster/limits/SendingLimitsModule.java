package org.mailcluster.limits;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

/**
 * Sending limits on every node type: their Cassandra tables, {@link SendingLimits} and
 * {@link DestinationLimits} and their webadmin routes, so an operator sets them through any
 * node. The submission tier's SMTP hook enforces the first, the outgoing queue's consumer
 * ({@link org.mailcluster.queue.DestinationConcurrency}) the second.
 */
public class SendingLimitsModule extends AbstractModule {
    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), CassandraModule.class).addBinding().toInstance(SendingLimits.MODULE);
        Multibinder.newSetBinder(binder(), CassandraModule.class).addBinding().toInstance(DestinationLimits.MODULE);
        bind(SendingLimits.class).in(Scopes.SINGLETON);
        bind(DestinationLimits.class).in(Scopes.SINGLETON);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(SendingLimitRoutes.class);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(DestinationLimitRoutes.class);
    }
}
