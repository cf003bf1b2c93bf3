package org.mailcluster.mailbox;

import org.apache.james.JamesServerMain;
import org.mailcluster.events.DistributedEventBusModule;
import org.mailcluster.mailbox.delivery.DeliveryLogModule;
import org.mailcluster.mailbox.jmap.JmapModule;
import org.mailcluster.mailbox.search.OpenSearchSearchModule;
import org.mailcluster.node.NodeServer;
import org.mailcluster.queue.QueueTopology;
import org.mailcluster.routing.Route;
import org.mailcluster.routing.RouteJson;

import com.google.inject.util.Modules;

/**
 * The mailbox node (Postfix's local + Dovecot):
 *
 * <ul>
 *   <li>its spooler consumes its mailbox tier's delivery queue ({@code MC_MAILBOX_TIER}, default
 *       {@code default}: the {@code delivery} queue; see {@link QueueTopology#deliveryQueue})
 *       ({@code conf/mailetcontainer.xml}) and
 *       delivers into Cassandra mailboxes ({@link CassandraMailboxStorageModule}), each
 *       recipient's copy of a message once even when the queue redelivers it
 *       ({@link DeliveryLogModule});</li>
 *   <li>IMAP on 143 (STARTTLS) and 993 ({@code conf/imapserver.xml}), webadmin routes for
 *       mailboxes ({@link MailboxProtocolsModule});</li>
 *   <li>IMAP SEARCH/SORT on an OpenSearch index fed by mailbox events, with webadmin
 *       reindex tasks ({@link OpenSearchSearchModule});</li>
 *   <li>JMAP (RFC 8621) over HTTP ({@code conf/jmap.properties}, {@link JmapModule}), with
 *       {@code Email/query} on the same index;</li>
 *   <li>mailbox events over RabbitMQ ({@link DistributedEventBusModule}), so every mailbox
 *       node sees what another delivered;</li>
 *   <li>plus what every node runs: {@link NodeServer}.</li>
 * </ul>
 */
public final class MailboxNode {

    private MailboxNode() {
    }

    /** The mailbox tier this node belongs to ({@code MC_MAILBOX_TIER}): which delivery queue it consumes. */
    static String tier() {
        String tier = System.getenv("MC_MAILBOX_TIER");
        return tier == null || tier.isBlank() ? Route.DEFAULT_TIER : RouteJson.tier(tier.trim());
    }

    public static void main(String[] args) throws Exception {
        JamesServerMain.main(NodeServer.compose(QueueTopology.mailbox(tier()),
            Modules.combine(
                new CassandraMailboxStorageModule(),
                new DeliveryLogModule(),
                new OpenSearchSearchModule(),
                new MailboxProtocolsModule(),
                new DistributedEventBusModule()))
            // JMAP brings its own JWT verifier, dequeue decorator and default processors, in
            // place of the ones NodeServer gives tiers without JMAP.
            .overrideWith(new JmapModule()));
    }
}
