package org.mailcluster.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.util.OptionalInt;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SendingLimitTest {
    static final SendingLimit.Effective DEFAULTS =
        new SendingLimit.Effective(500, SendingLimit.Source.DEFAULT, 100, SendingLimit.Source.DEFAULT);

    static SendingLimit limit(Integer messages, Integer recipients) {
        return new SendingLimit(messages == null ? OptionalInt.empty() : OptionalInt.of(messages),
            recipients == null ? OptionalInt.empty() : OptionalInt.of(recipients));
    }

    @Test
    void parsesEitherFieldOrBoth() {
        assertThat(SendingLimit.parse("{\"messagesPerHour\":20}")).isEqualTo(limit(20, null));
        assertThat(SendingLimit.parse("{\"recipientsPerMessage\":5}")).isEqualTo(limit(null, 5));
        assertThat(SendingLimit.parse("{\"messagesPerHour\":20,\"recipientsPerMessage\":5}")).isEqualTo(limit(20, 5));
        assertThat(SendingLimit.parse("{\"messagesPerHour\":20,\"recipientsPerMessage\":null}")).isEqualTo(limit(20, null));
    }

    @Test
    void writesWhatItParses() {
        String json = "{\"messagesPerHour\":20,\"recipientsPerMessage\":5}";
        assertThat(SendingLimit.parse(json).toJson().toString()).isEqualTo(json);
        assertThat(limit(null, 3).toJson().toString()).isEqualTo("{\"recipientsPerMessage\":3}");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"messagesPerHour\":0}                       | messagesPerHour",
        "{\"messagesPerHour\":-5}                      | messagesPerHour",
        "{\"messagesPerHour\":2.5}                     | messagesPerHour",
        "{\"messagesPerHour\":\"20\"}                  | messagesPerHour",
        "{\"messagesPerHour\":99999999999}             | messagesPerHour",
        "{\"recipientsPerMessage\":true}               | recipientsPerMessage",
        "{\"messagesPerHour\":20,\"perDay\":100}       | perDay",
        "{}                                            | messagesPerHour or recipientsPerMessage",
        "[20]                                          | JSON object",
        "{\"messagesPerHour\":                         | not JSON",
        "''                                            | JSON object",
    })
    void refusesABodyNamingWhatIsWrong(String body, String named) {
        assertThatThrownBy(() -> SendingLimit.parse(body))
            .isInstanceOf(org.mailcluster.webadmin.JsonBody.Invalid.class)
            .hasMessageContaining(named);
    }

    @Test
    void withNothingSetTheDefaultsApply() {
        assertThat(SendingLimit.resolve(Optional.empty(), Optional.empty(), DEFAULTS)).isEqualTo(DEFAULTS);
    }

    @Test
    void theUsersLimitWinsOverTheDomainsFieldByField() {
        SendingLimit.Effective effective = SendingLimit.resolve(Optional.of(limit(10, null)), Optional.of(limit(50, 20)), DEFAULTS);
        assertThat(effective).isEqualTo(new SendingLimit.Effective(10, SendingLimit.Source.USER, 20, SendingLimit.Source.DOMAIN));
    }

    @Test
    void theDomainsLimitWinsOverTheDefault() {
        SendingLimit.Effective effective = SendingLimit.resolve(Optional.empty(), Optional.of(limit(null, 7)), DEFAULTS);
        assertThat(effective).isEqualTo(new SendingLimit.Effective(500, SendingLimit.Source.DEFAULT, 7, SendingLimit.Source.DOMAIN));
    }

    @Test
    void aDefaultFromTheEnvironmentIsAPositiveWholeNumber() {
        assertThat(SendingLimit.defaultFrom("V", null, 500)).isEqualTo(500);
        assertThat(SendingLimit.defaultFrom("V", " ", 500)).isEqualTo(500);
        assertThat(SendingLimit.defaultFrom("V", "40", 500)).isEqualTo(40);
        assertThatThrownBy(() -> SendingLimit.defaultFrom("MC_LIMIT_X", "0", 500)).hasMessageContaining("MC_LIMIT_X");
        assertThatThrownBy(() -> SendingLimit.defaultFrom("MC_LIMIT_X", "many", 500)).hasMessageContaining("MC_LIMIT_X");
    }
}
