package org.mailcluster.mx.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DnsblTest {
    @Test
    void zonesAreCommaSeparatedTrimmedAndWithoutTheRootDot() {
        assertThat(Dnsbl.zones("zen.spamhaus.org, bl.mail.test.,  ,b.barracudacentral.org"))
            .containsExactly("zen.spamhaus.org", "bl.mail.test", "b.barracudacentral.org");
    }

    @Test
    void noSettingOrAnEmptyOneMeansNoZones() {
        assertThat(Dnsbl.zones(null)).isEmpty();
        assertThat(Dnsbl.zones("")).isEmpty();
        assertThat(Dnsbl.zones(" , ")).isEmpty();
    }
}
