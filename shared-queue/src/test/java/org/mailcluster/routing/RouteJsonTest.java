package org.mailcluster.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.util.Set;

import org.apache.james.core.MailAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RouteJsonTest {

    @Test
    void mailboxRouteDefaultsToTheDefaultTier() {
        assertThat(RouteJson.parse("{\"transport\":\"mailbox\"}")).isEqualTo(Route.of(new Route.MailboxTier("default")));
        assertThat(RouteJson.parse("{\"transport\":\"mailbox\",\"tier\":\"eu\"}")).isEqualTo(Route.of(new Route.MailboxTier("eu")));
    }

    @Test
    void relayRoutesTakeTheirProtocolsDefaultPort() {
        assertThat(RouteJson.parse("{\"transport\":\"smtp\",\"host\":\"MX.Example.NET\"}"))
            .isEqualTo(Route.of(new Route.Relay(Route.Protocol.SMTP, "mx.example.net", 25)));
        assertThat(RouteJson.parse("{\"transport\":\"lmtp\",\"host\":\"10.0.0.7\"}"))
            .isEqualTo(Route.of(new Route.Relay(Route.Protocol.LMTP, "10.0.0.7", 24)));
        assertThat(RouteJson.parse("{\"transport\":\"smtp\",\"host\":\"relay.test\",\"port\":2525}"))
            .isEqualTo(Route.of(new Route.Relay(Route.Protocol.SMTP, "relay.test", 2525)));
    }

    @Test
    void catchAllAndRecipientsAreNormalised() throws Exception {
        Route route = RouteJson.parse("{\"transport\":\"catchall\",\"mailbox\":\"All@Hosted.Test\",\"recipients\":[\"Alice\",\"bob\"]}");
        assertThat(route).isEqualTo(new Route(new Route.CatchAll(new MailAddress("all@hosted.test")), Optional.of(Set.of("alice", "bob"))));
        assertThat(route.lists("ALICE")).isTrue();
        assertThat(route.lists("carol")).isFalse();
        assertThat(Route.of(new Route.MailboxTier("default")).lists("anyone")).isTrue();
    }

    @Test
    void whatIsWrittenReadsBackTheSame() {
        for (String json : new String[] {
            "{\"transport\":\"mailbox\",\"tier\":\"eu\"}",
            "{\"transport\":\"smtp\",\"host\":\"relay.test\",\"port\":25,\"recipients\":[\"a\",\"b\"]}",
            "{\"transport\":\"lmtp\",\"host\":\"127.0.0.1\",\"port\":24}",
            "{\"transport\":\"catchall\",\"mailbox\":\"all@hosted.test\"}"}) {
            Route route = RouteJson.parse(json);
            assertThat(RouteJson.asString(route)).isEqualTo(json);
            assertThat(RouteJson.parse(RouteJson.asString(route))).isEqualTo(route);
        }
    }

    @ParameterizedTest(name = "{0} -> names {1}")
    @CsvSource(delimiter = '|', value = {
        "not json                                              | not JSON",
        "[]                                                    | JSON object",
        "{}                                                    | transport is required",
        "{\"transport\":\"pigeon\"}                            | transport must be one of",
        "{\"transport\":42}                                    | transport is required",
        "{\"transport\":\"smtp\"}                              | host is required",
        "{\"transport\":\"smtp\",\"host\":\"\"}                | host must be a non-empty string",
        "{\"transport\":\"smtp\",\"host\":\"no spaces.test\"}  | host must be a host name",
        "{\"transport\":\"smtp\",\"host\":\"300.1.1.1\"}       | host must be a host name or an IPv4",
        "{\"transport\":\"smtp\",\"host\":\"a.test\",\"port\":0}        | port must be a number from 1 to 65535",
        "{\"transport\":\"smtp\",\"host\":\"a.test\",\"port\":65536}    | port must be a number from 1 to 65535",
        "{\"transport\":\"smtp\",\"host\":\"a.test\",\"port\":\"25\"}   | port must be a number",
        "{\"transport\":\"smtp\",\"hots\":\"a.test\"}          | hots is not a field of transport smtp",
        "{\"transport\":\"mailbox\",\"host\":\"a.test\"}       | host is not a field of transport mailbox",
        "{\"transport\":\"mailbox\",\"tier\":\"EU West\"}      | tier must be",
        "{\"transport\":\"catchall\"}                          | mailbox is required",
        "{\"transport\":\"catchall\",\"mailbox\":\"nobody\"}   | mailbox must be an address",
        "{\"transport\":\"catchall\",\"mailbox\":\"a@b..c\"}   | mailbox's domain must be a domain name",
        "{\"transport\":\"smtp\",\"host\":\"a.test\",\"recipients\":[]}          | recipients must be a non-empty array",
        "{\"transport\":\"smtp\",\"host\":\"a.test\",\"recipients\":\"alice\"}   | recipients must be a non-empty array",
        "{\"transport\":\"smtp\",\"host\":\"a.test\",\"recipients\":[\"a@b\"]}   | recipients must hold local parts",
    })
    void badInputIsRefusedNamingTheField(String body, String message) {
        assertThatThrownBy(() -> RouteJson.parse(body))
            .isInstanceOf(RouteJson.InvalidRoute.class)
            .hasMessageContaining(message.trim());
    }

    @ParameterizedTest
    @CsvSource({"example.com,example.com", "Example.COM.,example.com", "localhost,localhost", "a-b.c-d.test,a-b.c-d.test"})
    void domainsInPathsAreNormalised(String given, String expected) {
        assertThat(RouteJson.domain(given, "domain")).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({"'not a domain'", "-bad.test", "bad-.test", "a..b", "''", "under_score.test", "é.test"})
    void whatIsNotADomainIsRefused(String given) {
        assertThatThrownBy(() -> RouteJson.domain(given, "domain"))
            .isInstanceOf(RouteJson.InvalidRoute.class)
            .hasMessageStartingWith("domain must be a domain name");
    }

    @Test
    void addressesInPathsAreCheckedAndLowerCased() {
        assertThat(RouteJson.address("Info@Example.COM", "address").asString()).isEqualTo("info@example.com");
        assertThatThrownBy(() -> RouteJson.address("info@", "address")).hasMessageStartingWith("address must be an address");
        assertThatThrownBy(() -> RouteJson.address("@example.com", "address")).hasMessageStartingWith("address must be an address");
        assertThatThrownBy(() -> RouteJson.address("in fo@example.com", "address")).hasMessageStartingWith("address must be an address");
    }
}
