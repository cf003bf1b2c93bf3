package org.mailcluster.backends;

import java.io.FileNotFoundException;
import java.util.Arrays;
import java.util.Set;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.utils.PropertiesProvider;

/**
 * A node's backend settings: unlike James's optional files, a missing one stops the node. A key
 * whose value comes from an environment variable that is unset (or is blank) is left out, as if
 * the file did not have it, so that one file can name every optional setting
 * ({@code cassandra.user=${env:MC_CASSANDRA_USER}}) and James's defaults apply where the
 * environment gives nothing. The keys listing a cluster's nodes are split at commas, as James
 * expects them, also when one variable gives them all ({@code MC_CASSANDRA_NODES=c1:9042,c2:9042}):
 * commons configuration splits a file's value, never a variable's.
 */
public final class RequiredProperties {
    static final Set<String> NODE_LISTS = Set.of("cassandra.nodes", "hosts");


    private RequiredProperties() {
    }

    public static Configuration load(PropertiesProvider properties, String name) throws ConfigurationException {
        try {
            return withoutUnset(properties.getConfiguration(name));
        } catch (FileNotFoundException e) {
            throw new IllegalStateException("conf/" + name + ".properties is missing: a node cannot run without it", e);
        }
    }

    /** The keys of {@code file} that have a value, with their values resolved. */
    static Configuration withoutUnset(Configuration file) {
        BaseConfiguration set = new BaseConfiguration();
        file.getKeys().forEachRemaining(key -> {
            String[] values = NODE_LISTS.contains(key)
                ? Arrays.stream(file.getStringArray(key)).flatMap(value -> Arrays.stream(value.split(","))).map(String::trim)
                    .filter(value -> !value.isEmpty()).toArray(String[]::new)
                : file.getStringArray(key);
            boolean unset = values.length == 0
                || Arrays.stream(values).allMatch(value -> value.isBlank() || value.contains("${"));
            if (!unset) {
                set.setProperty(key, values.length == 1 ? values[0] : Arrays.asList(values));
            }
        });
        return set;
    }
}
