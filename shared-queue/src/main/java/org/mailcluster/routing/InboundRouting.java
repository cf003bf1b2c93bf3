package org.mailcluster.routing;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;
import org.mailcluster.queue.QueueHandOff;
import org.mailcluster.queue.QueueTopology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routing decision for each recipient (Postfix's trivial-rewrite + transport map), made
 * from the cluster's {@link RoutingTable} after the recipient rewrite tables:
 * <ul>
 *   <li>a recipient with a {@code mailbox} route, or a user of a hosted domain without a
 *       route, goes to its mailbox tier's delivery queue
 *       ({@link QueueTopology#deliveryQueue}; {@code delivery} for the default tier);</li>
 *   <li>a recipient with an {@code smtp}/{@code lmtp} route goes to the {@code relay} queue,
 *       with its destination in the mail attribute {@link #RELAY_DESTINATION} (the decision
 *       made here holds even if the route changes while the mail waits);</li>
 *   <li>a recipient with a {@code catchall} route goes, in a copy of its own, to the catch-all
 *       mailbox's tier with the original recipient in an {@code X-Original-To} header.</li>
 * </ul>
 * Recipients none of these take (unknown users, other domains) stay in the mail for the next
 * mailets (unknown user, relaying). Every lookup is done before anything is handed on: a
 * failed lookup (Cassandra unreachable) throws with nothing handed over, for the
 * {@code deferred} processor to retry the whole mail later.
 */
public class InboundRouting extends GenericMailet {
    private static final Logger LOGGER = LoggerFactory.getLogger(InboundRouting.class);
    public static final AttributeName RELAY_DESTINATION = AttributeName.of("mailcluster-relay-destination");
    public static final String ORIGINAL_RECIPIENT_HEADER = "X-Original-To";
    /**
     * On a catch-all copy, the recipient it was sent to: the copies for several recipients of
     * one message are different deliveries to the same mailbox (the mailbox tier's delivery log
     * tells them apart by it), where a header could be forged by the sender.
     */
    public static final AttributeName ORIGINAL_RECIPIENT = AttributeName.of("mailcluster-original-recipient");

    private final RoutingTable routes;
    private final MailQueueFactory<?> queues;
    private final Map<String, MailQueue> opened = new ConcurrentHashMap<>();

    @Inject
    public InboundRouting(RoutingTable routes, MailQueueFactory<?> queues) {
        this.routes = routes;
        this.queues = queues;
    }

    private record CatchAllCopy(MailAddress original, MailAddress mailbox, String queue) {
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        Map<String, List<MailAddress>> byQueue = new LinkedHashMap<>();
        Map<Route.Relay, List<MailAddress>> byRelay = new LinkedHashMap<>();
        List<CatchAllCopy> catchAll = new ArrayList<>();
        List<MailAddress> left = new ArrayList<>();
        for (MailAddress recipient : mail.getRecipients()) {
            Route.Destination destination = routes.routeFor(recipient).map(Route::destination).orElse(null);
            if (destination instanceof Route.Relay relay) {
                byRelay.computeIfAbsent(relay, any -> new ArrayList<>()).add(recipient);
            } else if (destination instanceof Route.CatchAll all) {
                catchAll.add(new CatchAllCopy(recipient, all.mailbox(), QueueTopology.deliveryQueue(tierOf(all.mailbox()))));
            } else if (getMailetContext().isLocalEmail(recipient)) {
                String tier = destination instanceof Route.MailboxTier mailboxTier ? mailboxTier.tier() : Route.DEFAULT_TIER;
                byQueue.computeIfAbsent(QueueTopology.deliveryQueue(tier), any -> new ArrayList<>()).add(recipient);
            } else {
                left.add(recipient);
            }
        }

        for (Map.Entry<String, List<MailAddress>> group : byQueue.entrySet()) {
            handOn(mail, group.getValue(), group.getKey(), Optional.empty(), Optional.empty());
        }
        for (Map.Entry<Route.Relay, List<MailAddress>> group : byRelay.entrySet()) {
            Attribute destination = new Attribute(RELAY_DESTINATION, AttributeValue.of(RouteJson.asString(Route.of(group.getKey()))));
            handOn(mail, group.getValue(), QueueTopology.RELAY, Optional.of(destination), Optional.empty());
        }
        for (CatchAllCopy copy : catchAll) {
            handOn(mail, List.of(copy.mailbox()), copy.queue(), Optional.empty(), Optional.of(copy.original()));
        }
        if (left.size() != mail.getRecipients().size()) {
            LOGGER.debug("{}: {} recipients routed, {} left", mail.getName(), mail.getRecipients().size() - left.size(), left.size());
        }
        if (left.isEmpty()) {
            mail.setState(Mail.GHOST);
        } else {
            mail.setRecipients(left);
        }
    }

    /** The mailbox tier of a cluster address: its own route's, its domain's, or the default. */
    private String tierOf(MailAddress address) {
        return routes.routeFor(address)
            .map(Route::destination)
            .filter(Route.MailboxTier.class::isInstance)
            .map(destination -> ((Route.MailboxTier) destination).tier())
            .orElse(Route.DEFAULT_TIER);
    }

    private void handOn(Mail mail, Collection<MailAddress> recipients, String queueName, Optional<Attribute> attribute,
                        Optional<MailAddress> originalRecipient) throws MessagingException {
        Mail next = mail.duplicate();
        try {
            next.setState(Mail.DEFAULT);
            next.setRecipients(recipients);
            attribute.ifPresent(next::setAttribute);
            if (originalRecipient.isPresent()) {
                next.setAttribute(new Attribute(ORIGINAL_RECIPIENT, AttributeValue.of(originalRecipient.get().asString())));
                next.getMessage().setHeader(ORIGINAL_RECIPIENT_HEADER, originalRecipient.get().asString());
                next.getMessage().saveChanges();
            }
            QueueHandOff.enqueue(opened.computeIfAbsent(queueName, name -> queues.createQueue(MailQueueName.of(name))), next);
        } finally {
            LifecycleUtil.dispose(next);
        }
    }

    @Override
    public String getMailetInfo() {
        return "Routes each recipient to its mailbox tier, relay host or catch-all mailbox";
    }
}
