package org.mailcluster.mailbox.delivery;

import org.apache.james.backends.cassandra.components.CassandraModule;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

/** The delivery log that lets {@link LocalDeliveryOnce} store each recipient's copy once. */
public class DeliveryLogModule extends AbstractModule {
    @Override
    protected void configure() {
        bind(DeliveryLog.class).in(Scopes.SINGLETON);
        Multibinder.newSetBinder(binder(), CassandraModule.class).addBinding().toInstance(DeliveryLog.MODULE);
    }
}
