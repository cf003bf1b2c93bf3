package org.mailcluster.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mailcluster.webadmin.JsonBody;

class DestinationLimitsTest {

    @Test
    void aBodyGivesTheConnections() {
        assertThat(DestinationLimits.parse("{\"connections\": 4}")).isEqualTo(4);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"connections\": 0}|connections must be a whole number from 1 to 1000 (was 0)",
        "{\"connections\": 1001}|connections must be a whole number from 1 to 1000",
        "{\"connections\": 2.5}|connections must be a whole number",
        "{\"connections\": \"4\"}|connections must be a whole number",
        "{\"connections\": null}|connections is missing",
        "{}|connections is missing",
        "{\"conections\": 4}|unknown field conections (known: connections)",
        "[4]|the body must be a JSON object",
        "{\"connections\": |the body is not JSON",
    })
    void aBadBodyIsRefusedNamingTheField(String body, String message) {
        assertThatThrownBy(() -> DestinationLimits.parse(body))
            .isInstanceOf(JsonBody.Invalid.class)
            .hasMessageContaining(message);
    }

    @Test
    void anEmptyBodyIsRefused() {
        assertThatThrownBy(() -> DestinationLimits.parse("")).isInstanceOf(JsonBody.Invalid.class);
        assertThatThrownBy(() -> DestinationLimits.parse(null)).isInstanceOf(JsonBody.Invalid.class);
    }
}
