package org.mailcluster.mailbox.jmap;

import org.apache.james.jmap.draft.JMAPListenerModule;
import org.apache.james.modules.protocols.JMAPServerModule;

import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.multibindings.Multibinder;

/**
 * JMAP (RFC 8621) on the mailbox tier, configured by {@code conf/jmap.properties}:
 * <ul>
 *   <li>James's JMAP server and methods ({@code JMAPServerModule}; it also carries the draft
 *       protocol, which James cannot leave out, and needs a signing key: the node keystore's
 *       {@code james} entry);</li>
 *   <li>its listeners on the mailbox bus, as cluster-wide groups (changes, previews);</li>
 *   <li>its Cassandra stores ({@link JmapCassandraStoresModule});</li>
 *   <li>its own event bus on RabbitMQ ({@link JmapStateChangeBusModule});</li>
 *   <li>webadmin's {@code /users/USER/filters}, users' filtering rules ({@link FilterRulesRoutes}).</li>
 * </ul>
 * {@code Email/query} is answered by the mailbox search index (OpenSearch).
 */
public class JmapModule extends AbstractModule {

    @Override
    protected void configure() {
        install(new JMAPServerModule());
        install(new JMAPListenerModule());
        install(new JmapCassandraStoresModule());
        install(new JmapStateChangeBusModule());
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(FilterRulesRoutes.class);
    }
}
