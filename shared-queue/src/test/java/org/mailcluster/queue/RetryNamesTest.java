package org.mailcluster.queue;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A mail tried again and again keeps a short name with its reception's UUID in it. */
class RetryNamesTest {
    private static final String RECEIVED = "Mail1796103877531-bc01c68d-6a33-4e06-9edc-f00a021abcf6";

    @Test
    void copiesAndErrorPrefixesAreDropped() {
        assertThat(RetryNames.retryName("error-error-" + RECEIVED + "-!5806086-!8687106", 1))
            .matches(RECEIVED.replace("-", "\\-") + "-d1-[0-9a-f]{5}");
    }

    @Test
    void anEarlierDeferralIsReplaced() {
        String once = RetryNames.retryName(RECEIVED + "-!1234567", 1);
        String twice = RetryNames.retryName("error-" + once + "-!7654321-!1111111", 2);
        assertThat(twice).startsWith(RECEIVED + "-d2-").hasSize(RECEIVED.length() + 9);
    }

    @Test
    void theNameStaysShortEnoughForJamesToKeepTheUuid() {
        String name = RECEIVED;
        for (int attempt = 1; attempt <= 7200; attempt++) {
            name = "error-" + RetryNames.retryName(name, attempt) + "-!1234567";
        }
        // James keeps the last 76 characters of a name and refuses one with more than 7 '!'.
        assertThat(name.length()).isLessThanOrEqualTo(76 + "error-".length());
        assertThat(name.chars().filter(c -> c == '!').count()).isLessThanOrEqualTo(1);
        assertThat(name).contains("bc01c68d-6a33-4e06-9edc-f00a021abcf6");
    }
}
