package org.mailcluster.mx.relay;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.xbill.DNS.ARecord;
import org.xbill.DNS.Cache;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * MX and address lookups in the cluster's DNS ({@code MC_DNS_SERVER}), with the MX preferences
 * James's DNS service does not give: a backup MX must know which hosts rank above it.
 * Nothing is cached, so a changed zone counts at the next attempt.
 */
public class MxLookup {

    /** One MX record: its preference and the host it names. */
    public record Exchange(int preference, String host) {
    }

    private final Resolver resolver;

    public MxLookup(String server) {
        try {
            this.resolver = new SimpleResolver(server);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("MC_DNS_SERVER: cannot use DNS server " + server, e);
        }
    }

    /**
     * The domain's MX records, lowest preference first, hosts of equal preference in random
     * order (RFC 5321 5.1, so that senders spread over them). Empty when the domain has none.
     */
    public List<Exchange> exchanges(String domain) throws DnsUnavailable {
        Record[] records = lookup(domain, Type.MX);
        Map<Integer, List<Exchange>> byPreference = new TreeMap<>();
        for (Record record : records) {
            MXRecord mx = (MXRecord) record;
            byPreference.computeIfAbsent(mx.getPriority(), any -> new ArrayList<>())
                .add(new Exchange(mx.getPriority(), withoutDot(mx.getTarget().toString())));
        }
        List<Exchange> ordered = new ArrayList<>();
        byPreference.values().forEach(same -> {
            Collections.shuffle(same);
            ordered.addAll(same);
        });
        return ordered;
    }

    /** A host's IPv4 addresses; an address literal is its own answer. */
    public List<InetAddress> addresses(String host) throws DnsUnavailable {
        if (host.matches("[0-9.]+")) {
            try {
                return List.of(InetAddress.getByName(host));
            } catch (UnknownHostException e) {
                throw new DnsUnavailable(host + " is not an address");
            }
        }
        List<InetAddress> addresses = new ArrayList<>();
        for (Record record : lookup(host, Type.A)) {
            addresses.add(((ARecord) record).getAddress());
        }
        addresses.sort(Comparator.comparing(InetAddress::getHostAddress));
        return addresses;
    }

    private Record[] lookup(String name, int type) throws DnsUnavailable {
        Lookup lookup;
        try {
            lookup = new Lookup(Name.fromString(name.endsWith(".") ? name : name + "."), type);
        } catch (TextParseException e) {
            throw new DnsUnavailable(name + " is not a domain name");
        }
        lookup.setResolver(resolver);
        lookup.setCache(new Cache());
        Record[] records = lookup.run();
        return switch (lookup.getResult()) {
            case Lookup.SUCCESSFUL -> records;
            case Lookup.HOST_NOT_FOUND, Lookup.TYPE_NOT_FOUND -> new Record[0];
            default -> throw new DnsUnavailable("DNS lookup of " + Type.string(type) + " " + name + " failed: " + lookup.getErrorString());
        };
    }

    private static String withoutDot(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }

    /** The DNS could not answer (a temporary failure for the mail waiting on it). */
    public static final class DnsUnavailable extends Exception {
        public DnsUnavailable(String message) {
            super(message);
        }
    }
}
