package org.mailcluster.mailbox;

import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.events.EventListener;
import org.apache.james.modules.mailbox.ListenersConfiguration;
import org.apache.james.modules.mailbox.MailboxListenerFactory;
import org.apache.james.modules.mailbox.MailboxListenersLoader;
import org.apache.james.modules.mailbox.MailboxListenersLoaderImpl;
import org.apache.james.server.core.configuration.ConfigurationProvider;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.Singleton;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;

/**
 * Subscribes the mailbox group listeners (quota updater, message deletion, annotations, and
 * any extra ones from {@code listeners.xml}) to whichever {@code EventBus} the node binds.
 *
 * <p>In James this registration lives in {@code DefaultEventModule}, together with the
 * in-VM bus itself. We cannot install that module (shared-queue binds the distributed bus,
 * and the two would clash), yet without the registration the listeners never run: quotas
 * would stop counting and deleted messages would keep their blobs. So this module takes
 * only the registration half. It binds no {@code EventBus}.
 *
 * <p>{@code listeners.xml} may set {@code <executeGroupListeners>false</executeGroupListeners>}
 * for a node that should serve clients without consuming the group queues.
 */
class MailboxListenersModule extends AbstractModule {
    private static final String LISTENERS_FILE = "listeners";

    @Override
    protected void configure() {
        bind(MailboxListenerFactory.class).in(Scopes.SINGLETON);
        bind(MailboxListenersLoaderImpl.class).in(Scopes.SINGLETON);
        bind(MailboxListenersLoader.class).to(MailboxListenersLoaderImpl.class);

        // Declared so the sets exist (possibly empty) whatever else is installed.
        Multibinder.newSetBinder(binder(), EventListener.GroupEventListener.class);
        Multibinder.newSetBinder(binder(), EventListener.ReactiveGroupEventListener.class);
    }

    @Provides
    @Singleton
    ListenersConfiguration listenersConfiguration(ConfigurationProvider configurationProvider) throws ConfigurationException {
        return ListenersConfiguration.from(configurationProvider.getConfiguration(LISTENERS_FILE));
    }

    /**
     * Runs at start-up, after the event bus it depends on was provisioned and started
     * (James orders initialisation by provisioning order).
     */
    @ProvidesIntoSet
    InitializationOperation registerMailboxListeners(MailboxListenersLoaderImpl loader, ListenersConfiguration configuration) {
        return InitilizationOperationBuilder
            .forClass(MailboxListenersLoaderImpl.class)
            .init(() -> loader.configure(configuration));
    }
}
