package org.mailcluster.queue;

import org.apache.james.queue.api.MailQueueFactory;
import org.mailcluster.routing.Route;

/**
 * The one place that says which mail queue each tier produces and consumes, like Postfix's
 * master.cf says which daemon reads which queue. All queues are RabbitMQ mail queues (payload in
 * the Cassandra blob store, browse/size view in Cassandra), so every queue survives the loss of
 * any node: a message is in a queue before the SMTP {@code 250}, and leaves it only when the
 * next tier has it.
 *
 * <pre>
 *   tier            SMTP writes to    its spooler consumes   its mailets produce to
 *   mx              mx-spool          mx-spool               delivery[-TIER], relay, outgoing
 *   mx              -                 relay (RelayDelivery)  (routed hosts; DSNs to mx-spool)
 *   backup mx       backup-spool      backup-spool           backup-forward
 *   backup mx       -                 backup-forward         (the primary MX set, over SMTP)
 *   submission      submission-spool  submission-spool       delivery[-TIER], relay, outgoing
 *   submission      -                 outgoing (remote del.) (the Internet; bounces to delivery),
 *                                     at most N per destination domain at once (DestinationConcurrency)
 *   mailbox TIER    -                 delivery[-TIER]        (mailboxes in Cassandra)
 * </pre>
 *
 * <p>Mailbox tiers: the tier {@code default} consumes {@code delivery}; a tier NAME consumes
 * {@code delivery-NAME} ({@link #deliveryQueue}). Which tier a recipient's mail goes to is the
 * routing table's answer ({@link org.mailcluster.routing.RoutingTable}).
 *
 * <p>James's SMTP server and spooler both speak of "the spool" ({@link MailQueueFactory#SPOOL}).
 * Each tier maps that name to its own queue, so that several node types sharing one RabbitMQ
 * never consume each other's spool; a mailbox tier's spool <em>is</em> its delivery queue.
 */
public record QueueTopology(String tier, String spool) {
    public static final QueueTopology MX = new QueueTopology("mx", "mx-spool");
    /** A backup MX (published at a higher MX preference): keeps mail and forwards it to the primaries. */
    public static final QueueTopology BACKUP_MX = new QueueTopology("backup-mx", "backup-spool");
    public static final QueueTopology SUBMISSION = new QueueTopology("submission", "submission-spool");

    /** Mail for the default mailbox tier's mailboxes. */
    public static final String DELIVERY = "delivery";
    /** Mail for other domains, consumed by the submission tier's remote delivery. */
    public static final String OUTGOING = "outgoing";
    /** Mail for domains and addresses routed to a host outside the cluster (smtp/lmtp routes), consumed by the MX tier's relay delivery. */
    public static final String RELAY = "relay";
    /** Mail a backup MX accepted, waiting to be forwarded to the primary MX set. */
    public static final String BACKUP_FORWARD = "backup-forward";

    /**
     * Whether a queue's consumer takes its mail through {@link DestinationConcurrency}: the
     * outgoing queue, so remote delivery opens at most a destination's limit of connections to
     * it from one node.
     */
    public static boolean limitedPerDestination(String queue) {
        return OUTGOING.equals(queue);
    }

    /** The mailbox tier NAME: its nodes consume its delivery queue. */
    public static QueueTopology mailbox(String tier) {
        return new QueueTopology("mailbox " + tier, deliveryQueue(tier));
    }

    /** The delivery queue of a mailbox tier: {@code delivery} for the default tier, {@code delivery-NAME} for the others. */
    public static String deliveryQueue(String tier) {
        return Route.DEFAULT_TIER.equals(tier) ? DELIVERY : DELIVERY + "-" + tier;
    }

    /** The real queue name behind a name a James component asks for on this tier. */
    public String resolve(String requested) {
        return MailQueueFactory.SPOOL.asString().equals(requested) ? spool : requested;
    }
}
