package org.mailcluster.queue;

import org.apache.james.queue.api.MailQueueFactory;

/**
 * The one place that says which mail queue each tier produces and consumes, like Postfix's
 * master.cf says which daemon reads which queue. All queues are RabbitMQ mail queues (payload in
 * the Cassandra blob store, browse/size view in Cassandra), so every queue survives the loss of
 * any node: a message is in a queue before the SMTP {@code 250}, and leaves it only when the
 * next tier has it.
 *
 * <pre>
 *   tier        SMTP writes to        its spooler consumes   its mailets produce to
 *   mx          mx-spool              mx-spool               delivery
 *   submission  submission-spool      submission-spool       delivery, outgoing
 *   submission  -                     outgoing (remote del.) (the Internet; bounces to delivery)
 *   mailbox     -                     delivery               (mailboxes in Cassandra)
 * </pre>
 *
 * <p>James's SMTP server and spooler both speak of "the spool" ({@link MailQueueFactory#SPOOL}).
 * Each tier maps that name to its own queue, so that several node types sharing one RabbitMQ
 * never consume each other's spool; the mailbox tier's spool <em>is</em> the delivery queue.
 */
public enum QueueTopology {
    MX("mx-spool"),
    SUBMISSION("submission-spool"),
    MAILBOX(QueueTopology.DELIVERY);

    /** Mail for the cluster's own mailboxes, consumed by every mailbox node. */
    public static final String DELIVERY = "delivery";
    /** Mail for other domains, consumed by the submission tier's remote delivery. */
    public static final String OUTGOING = "outgoing";

    private final String spool;

    QueueTopology(String spool) {
        this.spool = spool;
    }

    /** The queue this tier's SMTP server writes to and its spooler consumes. */
    public String spool() {
        return spool;
    }

    /** The real queue name behind a name a James component asks for on this tier. */
    public String resolve(String requested) {
        return MailQueueFactory.SPOOL.asString().equals(requested) ? spool : requested;
    }
}
