package org.mailcluster.mx.relay;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import javax.inject.Singleton;

import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.util.DurationParser;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;
import org.apache.mailet.MailetContext;
import org.mailcluster.queue.QueueTopology;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.multibindings.ProvidesIntoSet;

/**
 * Relay delivery on an MX node, in its role's shape:
 * <ul>
 *   <li>a primary MX consumes {@code relay}: mail for smtp/lmtp routes, to the route's host,
 *       retried after {@code MC_REMOTE_DELIVERY_DELAYS} (the remote delivery ladder; default
 *       5 minutes, 10 minutes, 45 minutes, 2 hours, 3 hours, 6 hours), then a DSN;</li>
 *   <li>a backup MX consumes {@code backup-forward}: what it accepted, to the primary MX set,
 *       retried after {@code MC_BACKUP_FORWARD_DELAYS} (default 10 seconds, 30 seconds,
 *       1 minute), the last delay repeated for 5 days (Postfix's
 *       {@code maximal_queue_lifetime}), then a DSN. A short ladder: the primaries are usually
 *       back within minutes, and the mail should follow them within a minute; a waiting mail costs one connection attempt a minute.</li>
 * </ul>
 * Also read: {@code MC_DNS_SERVER} (the cluster's resolver), {@code MC_HOSTNAME} (EHLO name),
 * {@code MC_BIND_ADDRESS} (this node's address, which a backup MX leaves out of the primaries),
 * {@code MC_REMOTE_DELIVERY_THREADS} (parallel deliveries, default 8).
 */
public class RelayDeliveryModule extends AbstractModule {
    static final String RELAY_DELAYS = "5 minutes, 10 minutes, 45 minutes, 2 hours, 3 hours, 6 hours";
    static final String BACKUP_DELAYS = "10 seconds, 30 seconds, 1 minute";
    static final Duration BACKUP_KEEPS_TRYING = Duration.ofDays(5);

    private final boolean backup;

    public RelayDeliveryModule(boolean backup) {
        this.backup = backup;
    }

    @Provides
    @Singleton
    RelayDelivery relayDelivery(MailQueueFactory<?> queues, MailetContext context) {
        MxLookup dns = new MxLookup(env("MC_DNS_SERVER", "127.0.0.1"));
        SmtpRelayClient client = new SmtpRelayClient(env("MC_HOSTNAME", "localhost"));
        int threads = Integer.parseInt(env("MC_REMOTE_DELIVERY_THREADS", "8"));
        if (backup) {
            return new RelayDelivery(queues.createQueue(MailQueueName.of(QueueTopology.BACKUP_FORWARD)),
                new PrimaryMxSet(dns, ownAddresses()), client, context,
                new RelayDelivery.Schedule(delays(env("MC_BACKUP_FORWARD_DELAYS", BACKUP_DELAYS)), BACKUP_KEEPS_TRYING),
                threads, Clock.systemUTC());
        }
        return new RelayDelivery(queues.createQueue(MailQueueName.of(QueueTopology.RELAY)),
            new RoutedHosts(dns), client, context,
            new RelayDelivery.Schedule(delays(env("MC_REMOTE_DELIVERY_DELAYS", RELAY_DELAYS)), Duration.ZERO),
            threads, Clock.systemUTC());
    }

    @ProvidesIntoSet
    InitializationOperation startRelayDelivery(RelayDelivery delivery) {
        return InitilizationOperationBuilder.forClass(RelayDelivery.class).init(delivery::start);
    }

    static List<Duration> delays(String list) {
        List<Duration> delays = Arrays.stream(list.split(","))
            .map(String::trim)
            .filter(delay -> !delay.isEmpty())
            .map(DurationParser::parse)
            .toList();
        if (delays.isEmpty()) {
            throw new IllegalArgumentException("a retry schedule needs at least one delay (was \"" + list + "\")");
        }
        return delays;
    }

    private static Set<InetAddress> ownAddresses() {
        try {
            return Set.of(InetAddress.getByName(env("MC_BIND_ADDRESS", "127.0.0.1")));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("MC_BIND_ADDRESS is not an address", e);
        }
    }

    private static String env(String name, String byDefault) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? byDefault : value.trim();
    }
}
