package org.mailcluster.submission;

import org.apache.james.JamesServerMain;
import org.apache.james.modules.protocols.ProtocolHandlerModule;
import org.apache.james.modules.protocols.SMTPServerModule;
import org.mailcluster.node.NodeServer;
import org.mailcluster.queue.QueueTopology;
import org.mailcluster.scanning.ScanningModule;

/**
 * The submission node (Postfix's submission smtpd + the smtp client):
 *
 * <ul>
 *   <li>SMTP on 587 (STARTTLS) and 465 (implicit TLS) ({@code conf/smtpserver.xml}): AUTH
 *       only over TLS, and no mail at all without AUTH ({@link RequireAuthentication}); the
 *       message is in the {@code submission-spool} queue before the {@code 250};</li>
 *   <li>its spooler ({@code conf/mailetcontainer.xml}) hands local recipients to the
 *       {@code delivery} queue and sends the others through remote delivery, which consumes
 *       the {@code outgoing} queue (also fed by MX forwards) and finds the recipients' MX
 *       through the cluster's DNS;</li>
 *   <li>plus what every node runs: {@link NodeServer}.</li>
 * </ul>
 */
public final class SubmissionNode {

    private SubmissionNode() {
    }

    public static void main(String[] args) throws Exception {
        JamesServerMain.main(NodeServer.compose(QueueTopology.SUBMISSION,
            new ProtocolHandlerModule(),
            new SMTPServerModule(),
            new ScanningModule()));
    }
}
