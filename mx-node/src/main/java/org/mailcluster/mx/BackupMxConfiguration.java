package org.mailcluster.mx;

import javax.inject.Inject;

import org.apache.commons.configuration2.HierarchicalConfiguration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.commons.configuration2.tree.ImmutableNode;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.server.core.configuration.Configuration;
import org.apache.james.server.core.configuration.FileConfigurationProvider;
import org.apache.james.server.core.configuration.ConfigurationProvider;
import org.apache.james.util.LoggingLevel;

/**
 * A backup MX reads the MX node's configuration folder, except its mailet container:
 * {@code conf/mailetcontainer-backup.xml} (keep everything, forward to the primaries) in place of
 * {@code conf/mailetcontainer.xml} (route and deliver). One distribution serves both roles.
 */
public class BackupMxConfiguration implements ConfigurationProvider {
    static final String MAILET_CONTAINER = "mailetcontainer";

    private final FileConfigurationProvider files;

    @Inject
    BackupMxConfiguration(FileSystem fileSystem, Configuration configuration) {
        this.files = new FileConfigurationProvider(fileSystem, configuration);
    }

    @Override
    public HierarchicalConfiguration<ImmutableNode> getConfiguration(String component, LoggingLevel loggingLevelOnError)
            throws ConfigurationException {
        String file = component.equals(MAILET_CONTAINER) || component.startsWith(MAILET_CONTAINER + ".")
            ? "mailetcontainer-backup" + component.substring(MAILET_CONTAINER.length())
            : component;
        return files.getConfiguration(file, loggingLevelOnError);
    }
}
