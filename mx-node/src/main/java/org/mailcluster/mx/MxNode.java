package org.mailcluster.mx;

import org.apache.james.JamesServerMain;
import org.apache.james.modules.protocols.ProtocolHandlerModule;
import org.apache.james.modules.protocols.SMTPServerModule;
import org.mailcluster.node.NodeServer;
import org.mailcluster.queue.QueueTopology;

/**
 * The inbound MX node (Postfix's smtpd + cleanup + the first leg of qmgr):
 *
 * <ul>
 *   <li>SMTP on port 25 ({@code conf/smtpserver.xml}): mail only for hosted domains, unknown
 *       local recipients refused at RCPT, no relaying; the message is in the {@code mx-spool}
 *       RabbitMQ queue before the {@code 250};</li>
 *   <li>its spooler ({@code conf/mailetcontainer.xml}) rewrites recipients and hands each
 *       local one to the {@code delivery} queue, consumed by the mailbox tier;</li>
 *   <li>plus what every node runs: {@link NodeServer}.</li>
 * </ul>
 * No IMAP, no mailbox storage.
 */
public final class MxNode {

    private MxNode() {
    }

    public static void main(String[] args) throws Exception {
        JamesServerMain.main(NodeServer.compose(QueueTopology.MX,
            new ProtocolHandlerModule(),
            new SMTPServerModule()));
    }
}
