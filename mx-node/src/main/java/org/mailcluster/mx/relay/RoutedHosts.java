package org.mailcluster.mx.relay;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import javax.mail.MessagingException;

import org.apache.mailet.Mail;
import org.mailcluster.routing.InboundRouting;
import org.mailcluster.routing.Route;
import org.mailcluster.routing.RouteJson;

/**
 * A primary MX's relay legs: the route's host, chosen when the mail was routed
 * ({@link InboundRouting#RELAY_DESTINATION}). A host name with MX records is an MX-style name:
 * its exchanges are tried in preference order, each on the route's port; otherwise its own
 * addresses are.
 */
public class RoutedHosts implements RelayDelivery.Legs {
    private final MxLookup dns;

    public RoutedHosts(MxLookup dns) {
        this.dns = dns;
    }

    @Override
    public List<RelayDelivery.Leg> legs(Mail mail) throws MxLookup.DnsUnavailable, MessagingException {
        String json = mail.getAttribute(InboundRouting.RELAY_DESTINATION)
            .flatMap(attribute -> attribute.getValue().valueAs(String.class))
            .orElseThrow(() -> new MessagingException(mail.getName() + " is in the relay queue without a destination"));
        Route.Destination destination = RouteJson.parse(json).destination();
        if (!(destination instanceof Route.Relay relay)) {
            throw new MessagingException(mail.getName() + " has a relay destination that is not a relay: " + json);
        }
        List<InetSocketAddress> hosts = new ArrayList<>();
        List<MxLookup.Exchange> exchanges = relay.host().matches("[0-9.]+") ? List.of() : dns.exchanges(relay.host());
        if (exchanges.isEmpty()) {
            for (InetAddress address : dns.addresses(relay.host())) {
                hosts.add(new InetSocketAddress(address, relay.port()));
            }
        } else {
            for (MxLookup.Exchange exchange : exchanges) {
                for (InetAddress address : dns.addresses(exchange.host())) {
                    hosts.add(new InetSocketAddress(address, relay.port()));
                }
            }
        }
        return List.of(new RelayDelivery.Leg(List.copyOf(mail.getRecipients()), relay.protocol() == Route.Protocol.LMTP,
            hosts, "no address found for " + relay.host()));
    }
}
