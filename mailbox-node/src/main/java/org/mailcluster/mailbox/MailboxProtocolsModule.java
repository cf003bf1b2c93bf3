package org.mailcluster.mailbox;

import org.apache.james.modules.MailboxModule;
import org.apache.james.modules.protocols.IMAPServerModule;
import org.apache.james.modules.protocols.POP3ServerModule;
import org.apache.james.modules.protocols.ProtocolHandlerModule;
import org.apache.james.modules.server.MailboxRoutesModule;

import com.google.inject.AbstractModule;

/**
 * What the mailbox tier serves to the outside, built only from James's published modules:
 * <ul>
 *   <li>{@link MailboxModule}: mailbox-level services every protocol shares (ACL resolution,
 *       system mailboxes for delivery, pre-deletion hooks from {@code listeners.xml}, the
 *       mail-reception health check, probes);</li>
 *   <li>{@link IMAPServerModule}: the IMAP servers declared in {@code imapserver.xml};</li>
 *   <li>{@link POP3ServerModule}: the POP3 servers declared in {@code pop3server.xml} (110
 *       with STLS required before login, 995);</li>
 *   <li>{@link ProtocolHandlerModule}: the Guice-backed handler loader every James protocol
 *       server needs;</li>
 *   <li>{@link MailboxRoutesModule}: webadmin routes for mailboxes, quotas and event dead
 *       letters. Only the routes: the webadmin server itself, the task manager and the
 *       domain/user/queue routes are shared by all tiers and come from shared-queue.</li>
 * </ul>
 *
 * <p>Storage ({@link CassandraMailboxStorageModule}), search ({@code OpenSearchSearchModule})
 * and the backends are separate modules; JMAP, LMTP and POP3 are not served yet.
 *
 * <p>Beyond the storage and search modules, these need from the node: {@code EventBus} and a
 * {@code Set<EventBus>} (dead-letter redelivery), {@code EventDeadLetters}, {@code TaskManager},
 * {@code UsersRepository}, {@code DomainList}, {@code Authorizator}, and James's common
 * services ({@code FileSystem}, {@code MetricFactory}, {@code GaugeRegistry},
 * {@code ConfigurationProvider}, {@code RunArguments}, {@code KeystoreCreator}).
 */
public class MailboxProtocolsModule extends AbstractModule {

    @Override
    protected void configure() {
        install(new MailboxModule());
        install(new ProtocolHandlerModule());
        install(new IMAPServerModule());
        install(new POP3ServerModule());
        install(new MailboxRoutesModule());
    }
}
