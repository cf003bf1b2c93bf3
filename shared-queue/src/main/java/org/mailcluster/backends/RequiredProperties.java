package org.mailcluster.backends;

import java.io.FileNotFoundException;

import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.utils.PropertiesProvider;

/** A node's backend settings: unlike James's optional files, a missing one stops the node. */
public final class RequiredProperties {

    private RequiredProperties() {
    }

    public static Configuration load(PropertiesProvider properties, String name) throws ConfigurationException {
        try {
            return properties.getConfiguration(name);
        } catch (FileNotFoundException e) {
            throw new IllegalStateException("conf/" + name + ".properties is missing: a node cannot run without it", e);
        }
    }
}
