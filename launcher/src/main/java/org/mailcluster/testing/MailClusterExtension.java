package org.mailcluster.testing;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Hands integration tests the endpoints of the real local cluster. Before each test class it
 * asks {@code ./mailcluster status}; if any component is not healthy it runs
 * {@code ./mailcluster up} (the same scripts a user runs). If that fails, the test class fails
 * with the launcher's message, which names the service and its log file. There is no silent
 * skip: a missing service is a failure.
 *
 * <p>Test methods and lifecycle methods may take {@link ClusterEndpoints} or
 * {@link LocalCluster} parameters.
 */
public class MailClusterExtension implements BeforeAllCallback, ParameterResolver {

    private static final LocalCluster CLUSTER = LocalCluster.locate();

    @Override
    public void beforeAll(ExtensionContext context) {
        if (!CLUSTER.unhealthyComponents().isEmpty()) {
            CLUSTER.up();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == ClusterEndpoints.class || type == LocalCluster.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == LocalCluster.class ? CLUSTER : CLUSTER.endpoints();
    }
}
