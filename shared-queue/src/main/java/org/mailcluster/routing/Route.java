package org.mailcluster.routing;

import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import org.apache.james.core.MailAddress;

/**
 * Where the mail for one domain or one address goes (Postfix's {@code transport} map entry),
 * and which of the domain's recipients the MX accepts at RCPT.
 *
 * @param destination the transport and its target
 * @param recipients  when present, the only local parts accepted at RCPT for the routed domain
 *                    (others get 550); absent, every recipient of a relay or catch-all domain is
 *                    accepted, and a domain delivered to a mailbox tier accepts its users
 */
public record Route(Destination destination, Optional<Set<String>> recipients) {

    /** The name of the mailbox tier that takes mail for hosted domains without a route. */
    public static final String DEFAULT_TIER = "default";

    public Route {
        recipients = recipients.map(Set::copyOf);
    }

    public static Route of(Destination destination) {
        return new Route(destination, Optional.empty());
    }

    /** Whether RCPT for {@code localPart} passes this route's recipient list. */
    public boolean lists(String localPart) {
        return recipients.map(list -> list.contains(localPart.toLowerCase(Locale.ROOT))).orElse(true);
    }

    public sealed interface Destination permits MailboxTier, Relay, CatchAll {
    }

    /** Store into the cluster's mailboxes, by the nodes of one mailbox tier. */
    public record MailboxTier(String tier) implements Destination {
    }

    /** Hand over to a host outside the cluster, over SMTP or LMTP. */
    public record Relay(Protocol protocol, String host, int port) implements Destination {
    }

    /** Every recipient of the domain into one mailbox, the original recipient kept in a header. */
    public record CatchAll(MailAddress mailbox) implements Destination {
    }

    public enum Protocol {
        SMTP, LMTP;

        public String asString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
