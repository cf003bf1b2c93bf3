package org.mailcluster.cluster;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;

/**
 * The cluster shape the routing tests need: two mailbox tiers ({@code default}: mailbox1,
 * {@code eu}: mailbox2) and a backup MX. {@code ./mailcluster up} with these flags is
 * idempotent and records the shape, so later test classes keep it.
 */
final class RoutingShape {
    static final String EU_NODE = "mailbox2";
    static final String BACKUP_NODE = "backupmx1";

    private RoutingShape() {
    }

    static ClusterEndpoints ensure(LocalCluster launcher) {
        LocalCluster.Result result = launcher.run(Duration.ofMinutes(15), "up", "--backup-mx", "--mailbox-tiers", "default:1,eu:1");
        if (!result.succeeded()) {
            throw new IllegalStateException("./mailcluster up --backup-mx --mailbox-tiers default:1,eu:1 failed:\n" + result.output());
        }
        return launcher.endpoints();
    }

    /** One webadmin client per node of the MX tier (primaries and the backup), in name order. */
    static List<WebAdmin> mxWebAdmins(ClusterEndpoints cluster) {
        return cluster.nodes().keySet().stream()
            .filter(name -> name.startsWith("mx") || name.startsWith("backupmx"))
            .map(name -> webAdmin(cluster, name))
            .toList();
    }

    static WebAdmin webAdmin(ClusterEndpoints cluster, String node) {
        URI base = cluster.webadmin(node);
        return new WebAdmin(base, cluster.webadminAuth());
    }
}
