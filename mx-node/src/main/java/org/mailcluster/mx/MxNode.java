package org.mailcluster.mx;

import org.apache.james.GuiceJamesServer;
import org.apache.james.JamesServerMain;
import org.apache.james.modules.protocols.ProtocolHandlerModule;
import org.apache.james.modules.protocols.SMTPServerModule;
import org.apache.james.server.core.configuration.ConfigurationProvider;
import org.mailcluster.mx.relay.RelayDeliveryModule;
import org.mailcluster.node.NodeServer;
import org.mailcluster.queue.QueueTopology;
import org.mailcluster.scanning.ScanningModule;

/**
 * The inbound MX node (Postfix's smtpd + cleanup + the first leg of qmgr), in one of two roles
 * ({@code MC_MX_ROLE}):
 *
 * <ul>
 *   <li>{@code primary} (default): SMTP on port 25 ({@code conf/smtpserver.xml}) for hosted
 *       and routed domains, unknown recipients refused at RCPT, no relaying; the message is in
 *       the {@code mx-spool} queue before the {@code 250}. Its spooler
 *       ({@code conf/mailetcontainer.xml}) rewrites recipients and routes each one
 *       ({@code InboundRouting}: a mailbox tier's delivery queue, the {@code relay} queue, a
 *       catch-all mailbox); its relay delivery sends the {@code relay} queue to the routes'
 *       hosts ({@link RelayDeliveryModule});</li>
 *   <li>{@code backup}: published at a higher MX preference; the same SMTP checks, but what it
 *       accepts waits in its own queues ({@code backup-spool}, then {@code backup-forward},
 *       {@code conf/mailetcontainer-backup.xml}) and is forwarded over SMTP to the primary MX
 *       set once one answers. It never delivers into mailboxes itself.</li>
 * </ul>
 * Plus what every node runs: {@link NodeServer}. No IMAP, no mailbox storage.
 */
public final class MxNode {

    private MxNode() {
    }

    public static void main(String[] args) throws Exception {
        String role = System.getenv().getOrDefault("MC_MX_ROLE", "primary").trim();
        boolean backup = switch (role) {
            case "primary", "" -> false;
            case "backup" -> true;
            default -> throw new IllegalArgumentException("MC_MX_ROLE must be primary or backup (was \"" + role + "\")");
        };
        GuiceJamesServer server = NodeServer.compose(backup ? QueueTopology.BACKUP_MX : QueueTopology.MX,
            new ProtocolHandlerModule(),
            new SMTPServerModule(),
            new ScanningModule(),
            new RelayDeliveryModule(backup));
        if (backup) {
            server = server.overrideWith(binder -> binder.bind(ConfigurationProvider.class).to(BackupMxConfiguration.class));
        }
        JamesServerMain.main(server);
    }
}
