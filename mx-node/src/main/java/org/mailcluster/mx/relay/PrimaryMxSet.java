package org.mailcluster.mx.relay;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;

/**
 * A backup MX's legs: each recipient domain's MX hosts that rank above this node (RFC 5321
 * 5.1: a host that finds itself in the list uses only records of lower preference), in
 * preference order, on port 25. When this node is not in a domain's list (a routed domain
 * published elsewhere), every exchange that is not this node is a primary. No primary
 * reachable is a temporary failure: the mail waits here for them to return.
 */
public class PrimaryMxSet implements RelayDelivery.Legs {
    static final int SMTP_PORT = 25;

    private final MxLookup dns;
    private final Set<InetAddress> own;
    private final int port;

    public PrimaryMxSet(MxLookup dns, Set<InetAddress> ownAddresses) {
        this(dns, ownAddresses, SMTP_PORT);
    }

    PrimaryMxSet(MxLookup dns, Set<InetAddress> ownAddresses, int port) {
        this.dns = dns;
        this.own = ownAddresses;
        this.port = port;
    }

    @Override
    public List<RelayDelivery.Leg> legs(Mail mail) throws MxLookup.DnsUnavailable {
        Map<String, List<MailAddress>> byDomain = new LinkedHashMap<>();
        for (MailAddress recipient : mail.getRecipients()) {
            byDomain.computeIfAbsent(recipient.getDomain().asString(), any -> new ArrayList<>()).add(recipient);
        }
        List<RelayDelivery.Leg> legs = new ArrayList<>();
        for (Map.Entry<String, List<MailAddress>> domain : byDomain.entrySet()) {
            legs.add(new RelayDelivery.Leg(domain.getValue(), false, primaries(domain.getKey()),
                "no primary MX of " + domain.getKey() + " answered"));
        }
        return legs;
    }

    private List<InetSocketAddress> primaries(String domain) throws MxLookup.DnsUnavailable {
        List<MxLookup.Exchange> exchanges = dns.exchanges(domain);
        Map<MxLookup.Exchange, List<InetAddress>> addresses = new LinkedHashMap<>();
        for (MxLookup.Exchange exchange : exchanges) {
            addresses.put(exchange, dns.addresses(exchange.host()));
        }
        OptionalInt ownPreference = addresses.entrySet().stream()
            .filter(entry -> entry.getValue().stream().anyMatch(own::contains))
            .mapToInt(entry -> entry.getKey().preference())
            .min();
        List<InetSocketAddress> hosts = new ArrayList<>();
        addresses.forEach((exchange, hostAddresses) -> {
            boolean ranksAbove = ownPreference.isEmpty() || exchange.preference() < ownPreference.getAsInt();
            for (InetAddress address : hostAddresses) {
                if (ranksAbove && !own.contains(address)) {
                    hosts.add(new InetSocketAddress(address, port));
                }
            }
        });
        return hosts;
    }
}
