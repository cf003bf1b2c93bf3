package org.mailcluster.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

import com.datastax.oss.driver.api.core.CqlSession;

/** What a user sees of ./mailcluster up / down: data kept, nothing left running, clear failures. */
@ExtendWith(MailClusterExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LauncherLifecycleTest {

    @Test
    @Order(1)
    void downStopsEverythingAndUpBringsBackTheSameData(LocalCluster cluster, ClusterEndpoints endpoints) throws Exception {
        String marker = UUID.randomUUID().toString();
        try (CqlSession session = BackendServicesTest.cassandra(endpoints)) {
            session.execute("CREATE KEYSPACE IF NOT EXISTS launcher_test WITH replication = "
                + "{'class': 'SimpleStrategy', 'replication_factor': 1}");
            session.execute("CREATE TABLE IF NOT EXISTS launcher_test.markers (id text PRIMARY KEY, written text)");
            session.execute("INSERT INTO launcher_test.markers (id, written) VALUES ('kept', '" + marker + "')");
        }
        List<Long> pids = recordedPids(cluster.root());
        assertThat(pids).as("PIDs recorded by the launcher").isNotEmpty();

        cluster.down();

        assertThat(pids.stream().filter(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)))
            .as("processes the launcher had started that are still alive after down").isEmpty();
        assertThat(processesUnder(cluster.root().resolve("var")))
            .as("processes still running from the cluster's var/ folder").isEmpty();
        for (InetSocketAddress backend : List.of(endpoints.cassandra(), hostPort(endpoints.opensearch()),
                hostPort(endpoints.rabbitmq()), hostPort(java.net.URI.create(endpoints.get("MAILCLUSTER_RSPAMD"))),
                ClusterEndpoints.hostPort(endpoints.get("MAILCLUSTER_CLAMAV")))) {
            assertThat(listening(backend)).as(backend + " still accepts connections after down").isFalse();
        }

        cluster.up();

        try (CqlSession session = BackendServicesTest.cassandra(endpoints)) {
            String read = session.execute("SELECT written FROM launcher_test.markers WHERE id = 'kept'").one().getString(0);
            assertThat(read).isEqualTo(marker);
        }
    }

    @Test
    @Order(2)
    void upFailsNamingTheServiceWhosePortIsTaken(LocalCluster cluster, ClusterEndpoints endpoints) throws Exception {
        LocalCluster.Result stopped = cluster.script(Duration.ofMinutes(1), "launcher/services/dns.sh", "stop");
        assertThat(stopped.exitCode()).isZero();
        try (DatagramSocket squatter = new DatagramSocket(endpoints.dns())) {
            LocalCluster.Result up = cluster.run(Duration.ofMinutes(10), "up");
            assertThat(up.exitCode()).as(up.output()).isNotZero();
            assertThat(up.output()).contains("dns cannot start").contains(endpoints.get("MAILCLUSTER_DNS"));
        }
        cluster.up();
        assertThat(cluster.unhealthyComponents()).isEmpty();
    }

    @Test
    @Order(3)
    void theReplicatedBackendsWaitUntilTheSingleNodeOnesAreDown(LocalCluster cluster) {
        // What --ha runs (docs/ha.md): every backend instance on an address of its own.
        LocalCluster.Result ha = cluster.run(Duration.ofMinutes(1), java.util.Map.of("MC_HA", "1"), "env");
        assertThat(ha.output())
            .contains("MAILCLUSTER_RABBITMQ_NODES='127.0.3.1:5673,127.0.3.11:5673,127.0.3.21:5673'")
            .contains("MAILCLUSTER_CASSANDRA_NODES='127.0.3.2:9042,127.0.3.12:9042,127.0.3.22:9042'")
            .contains("MAILCLUSTER_OPENSEARCH_NODES='127.0.3.3:9200,127.0.3.13:9200'");
        assertThat(cluster.run(Duration.ofMinutes(1), "env").output())
            .contains("MAILCLUSTER_HA='0'").contains("MAILCLUSTER_CASSANDRA_NODES='127.0.3.2:9042'");

        // Both stacks use the same addresses with data of their own: switching takes a down.
        LocalCluster.Result up = cluster.run(Duration.ofMinutes(2), "up", "--ha");
        assertThat(up.exitCode()).as(up.output()).isNotZero();
        assertThat(up.output()).contains("the backends run single-node now").contains("./mailcluster down first");
        assertThat(cluster.run(Duration.ofMinutes(1), "env").output()).as("the recorded shape is unchanged")
            .contains("MAILCLUSTER_HA='0'");
        assertThat(cluster.unhealthyComponents()).isEmpty();
    }

    private static List<Long> recordedPids(Path root) throws IOException {
        List<Long> pids = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        try (Stream<Path> run = Files.list(root.resolve("var/run"))) {
            run.filter(p -> p.toString().endsWith(".pid")).forEach(files::add);
        }
        for (Path file : files) {
            String content = Files.readString(file).trim();
            if (!content.isEmpty()) {
                pids.add(Long.parseLong(content));
            }
        }
        return pids;
    }

    /** Processes whose command line names a path under the cluster's var/ folder. */
    private static List<String> processesUnder(Path var) throws IOException {
        String marker = var.toAbsolutePath().toString() + "/";
        List<String> found = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8)
                        .replace('\0', ' ');
                    if (cmdline.contains(marker)) {
                        found.add(proc.getFileName() + ": " + cmdline.substring(0, Math.min(200, cmdline.length())));
                    }
                } catch (IOException processEnded) {
                    // gone between listing and reading
                }
            }
        }
        return found;
    }

    private static InetSocketAddress hostPort(java.net.URI uri) {
        return new InetSocketAddress(uri.getHost(), uri.getPort());
    }

    private static boolean listening(InetSocketAddress address) {
        try (Socket socket = new Socket()) {
            socket.connect(address, 1000);
            return true;
        } catch (IOException refused) {
            return false;
        }
    }
}
