package org.mailcluster.backends;

import java.util.Optional;

import org.apache.commons.configuration2.Configuration;

/** Reading the nodes' properties files, whose values mostly come from the environment. */
public final class PropertyValues {
    private PropertyValues() {
    }

    /**
     * An optional key: absent, blank, or set from an environment variable that is unset (commons
     * configuration then leaves the {@code ${env:...}} text in place) all mean "not given".
     */
    public static Optional<String> optional(Configuration configuration, String key) {
        String value = configuration.getString(key, "").trim();
        return value.isEmpty() || value.contains("${") ? Optional.empty() : Optional.of(value);
    }
}
