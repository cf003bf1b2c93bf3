package org.mailcluster.mx.smtp;

import java.util.Arrays;

import javax.inject.Inject;

import org.apache.commons.configuration2.Configuration;
import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.smtpserver.fastfail.DNSRBLHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DNS block lists on the MX tier: James's {@link DNSRBLHandler} (the client's reversed address
 * looked up in each zone, through the cluster's DNS; a listed client gets {@code 554 5.7.1} at
 * MAIL FROM, with the zone's TXT record as the reason), its zones read from
 * {@code MC_DNSBL_ZONES} (comma-separated, e.g. {@code zen.spamhaus.org}) instead of the XML,
 * so that each deployment sets its own. No zones: no check.
 */
public class Dnsbl extends DNSRBLHandler {
    private static final Logger LOGGER = LoggerFactory.getLogger(Dnsbl.class);

    @Inject
    public Dnsbl(DNSService dns) {
        super(dns);
    }

    @Override
    public void init(Configuration config) {
        String[] zones = zones(System.getenv("MC_DNSBL_ZONES"));
        if (zones.length > 0) {
            setBlacklist(zones);
        }
        setGetDetail(true);
        LOGGER.info("DNS block lists: {}", zones.length == 0 ? "none (MC_DNSBL_ZONES is empty)" : String.join(", ", zones));
    }

    static String[] zones(String value) {
        if (value == null) {
            return new String[0];
        }
        return Arrays.stream(value.split(","))
            .map(String::trim)
            .filter(zone -> !zone.isEmpty())
            .map(zone -> zone.endsWith(".") ? zone.substring(0, zone.length() - 1) : zone)
            .toArray(String[]::new);
    }
}
