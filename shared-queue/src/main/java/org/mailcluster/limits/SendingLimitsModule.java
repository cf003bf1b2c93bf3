package org.mailcluster.limits;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

/**
 * Sending limits on every node type: their Cassandra tables, {@link SendingLimits} and their
 * webadmin routes ({@link SendingLimitRoutes}), so an operator sets them through any node. The
 * submission tier's SMTP hook enforces them.
 */
public class SendingLimitsModule extends AbstractModule {
    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), CassandraModule.class).addBinding().toInstance(SendingLimits.MODULE);
        bind(SendingLimits.class).in(Scopes.SINGLETON);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(SendingLimitRoutes.class);
    }
}
