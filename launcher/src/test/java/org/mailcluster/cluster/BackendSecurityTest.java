package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * A node reaching every backend over TLS, as production runs them, with one restart of
 * mailbox1:
 * <ul>
 *   <li>RabbitMQ through its TLS listeners (amqps:// and the management API over https), trusting
 *       the local backends' CA (MC_RABBITMQ_CA): the broker lists the node's connections as TLS
 *       and the node's queue figures come through the https management API;</li>
 *   <li>Cassandra over TLS on its native port (MC_CASSANDRA_TLS, MC_CASSANDRA_CA): Cassandra
 *       lists the node's connections as TLS;</li>
 *   <li>OpenSearch behind a real nginx (Debian's) with TLS and HTTP Basic authentication, a
 *       certificate of its own and a password file (MC_OPENSEARCH_URL https, _USER, _PASSWORD,
 *       _CA): the node indexes and searches through it; when nginx's password changes the node
 *       is unhealthy saying OpenSearch refused its credentials, and when nginx presents a
 *       certificate from another CA, unhealthy saying the certificate is not trusted.</li>
 * </ul>
 * Mail delivered to and read from mailbox1 passes through all three. mailbox1 returns to its
 * usual configuration at the end.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackendSecurityTest {
    static final String FRONT = "127.0.12.1";
    static final int PORT = 9443;
    static final String COMPONENT = "OpenSearch mailbox search index";
    static final Duration STEP = Duration.ofMinutes(5);

    LocalCluster launcher;
    ClusterEndpoints cluster;
    Path dir;

    @BeforeAll
    void setUp(LocalCluster launcher, ClusterEndpoints cluster) throws Exception {
        this.launcher = launcher;
        this.cluster = cluster;
        dir = launcher.root().resolve("launcher/target/search-front");
        Files.createDirectories(dir.resolve("tmp"));
    }

    @Test
    void aNodeWorksWithEveryBackendOverTlsAndSaysWhatIsWrong() throws Exception {
        certificate("trusted");
        certificate("other");
        Files.copy(dir.resolve("trusted-cert.pem"), dir.resolve("cert.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(dir.resolve("trusted-key.pem"), dir.resolve("key.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        password("right-" + UUID.randomUUID());
        String rightPassword = Files.readString(dir.resolve("password"));
        Files.writeString(dir.resolve("nginx.conf"), nginxConf());
        Files.deleteIfExists(dir.resolve("access.log"));
        Process nginx = new ProcessBuilder("nginx", "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString(), "-g", "daemon off;")
            .redirectErrorStream(true).redirectOutput(dir.resolve("nginx.out").toFile()).start();
        try {
            awaitFront();
            launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "stop-one", "mailbox1");
            // No node uses the backends' TLS before: every TLS connection after is mailbox1's (the
            // backends see all nodes' connections coming from 127.0.0.1, so not by address).
            assertThat(rabbitConnectionsTls()).as("RabbitMQ connections over TLS before").doesNotContain(true).isNotEmpty();
            assertThat(cassandraConnectionsTls()).as("Cassandra connections over TLS before").doesNotContain(true).isNotEmpty();
            String backendsCa = cluster.backendsCa().toString();
            launcher.scriptMustSucceed(STEP, Map.of(
                    "MC_RABBITMQ_URI", cluster.rabbitmqTls().toString(),
                    "MC_RABBITMQ_MANAGEMENT_URI", cluster.rabbitmqManagementTls().toString(),
                    "MC_RABBITMQ_CA", backendsCa,
                    "MC_CASSANDRA_TLS", "true",
                    "MC_CASSANDRA_CA", backendsCa,
                    "MC_OPENSEARCH_URL", "https://" + FRONT + ":" + PORT,
                    "MC_OPENSEARCH_USER", "search",
                    "MC_OPENSEARCH_PASSWORD", rightPassword,
                    "MC_OPENSEARCH_CA", dir.resolve("trusted-cert.pem").toString()),
                "launcher/nodes.sh", "start-one", "mailbox1");

            // indexed and found through the front, as its user
            TestUser dora = TestUser.create(cluster, "dora");
            String token = "behindtls" + UUID.randomUUID().toString().replace("-", "");
            assertThat(Smtp.send(cluster.mx().get(0), "sender@outside.test", dora.address(),
                MailFlowTest.message("sender@outside.test", dora.address(), "through the front", "look for " + token))).isEqualTo(250);
            dora.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(token)), MailFlowTest.DELIVERY);
            try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), dora.address(), dora.password())) {
                assertThat(awaitFound(imap, "BODY " + token)).as("SEARCH through TLS and Basic authentication").hasSize(1);
            }
            assertThat(health(body -> true).body()).containsPattern(check("healthy"));

            // the backends see the node's connections as TLS
            assertThat(rabbitConnectionsTls()).as("RabbitMQ's connections over TLS (ssl)").contains(true);
            assertThat(cassandraConnectionsTls()).as("Cassandra's connections over TLS (ssl_enabled)").contains(true);
            String metrics = new WebAdmin(cluster.webadmin(), cluster.webadminAuth()).send("GET", "/metrics", null).body();
            assertThat(MetricsTest.series(metrics, "mailcluster_queue_metrics_up")).as("queue figures through the management API over https")
                .isEqualTo(1.0);
            // (its searches: the message may have been indexed by another mailbox node, one a
            // test started earlier in the run, whose index writes go to OpenSearch directly)
            assertThat(Files.readString(dir.resolve("access.log"))).as("the node's requests went through the front as its user")
                .contains(" search [").contains("/mailcluster-messages-read/_search");

            // nginx now wants another password: the node says its credentials are refused
            password("changed-" + UUID.randomUUID());
            reload(nginx);
            HttpResponse<String> refused = health(body -> body.contains("refused the credentials of user search"));
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
            assertThat(refused.body()).containsPattern(check("unhealthy")).contains("HTTP 401").doesNotContain(rightPassword);

            // the password is right again, but nginx presents a certificate of another CA
            password(rightPassword);
            Files.copy(dir.resolve("other-cert.pem"), dir.resolve("cert.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.copy(dir.resolve("other-key.pem"), dir.resolve("key.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            reload(nginx);
            HttpResponse<String> untrusted = health(body -> body.contains("certificate is not trusted"));
            assertThat(untrusted.statusCode()).as(untrusted.body()).isEqualTo(503);
            assertThat(untrusted.body()).containsPattern(check("unhealthy")).contains("MC_OPENSEARCH_CA");
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "stop-one", "mailbox1");
            nginx.destroy();
            nginx.waitFor(20, TimeUnit.SECONDS);
            launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "start-one", "mailbox1");
        }
    }

    /** Whether each AMQP connection RabbitMQ has is over TLS (its management API, plain). */
    java.util.List<Boolean> rabbitConnectionsTls() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(cluster.rabbitmqManagement().resolve("/api/connections?columns=ssl"))
                .header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString("guest:guest".getBytes(StandardCharsets.UTF_8)))
                .timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        java.util.List<Boolean> tls = new java.util.ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode connection : new com.fasterxml.jackson.databind.ObjectMapper().readTree(response.body())) {
            tls.add(connection.path("ssl").asBoolean());
        }
        return tls;
    }

    /** Whether each native-protocol connection Cassandra has is over TLS (system_views.clients). */
    java.util.List<Boolean> cassandraConnectionsTls() throws Exception {
        LocalCluster.Result rows = launcher.script(STEP, "launcher/services/cassandra.sh", "probe",
            "SELECT address, ssl_enabled FROM system_views.clients");
        assertThat(rows.succeeded()).as(rows.output()).isTrue();
        java.util.List<Boolean> tls = new java.util.ArrayList<>();
        for (String row : rows.output().split("\n")) {
            String[] columns = row.split("\t");
            if (columns.length == 2) {
                tls.add(Boolean.parseBoolean(columns[1].trim()));
            }
        }
        return tls;
    }

    static String check(String status) {
        return "\"componentName\":\"" + COMPONENT + "\"[^}]*\"status\":\"" + status + "\"";
    }

    String nginxConf() throws Exception {
        String user = new String(new ProcessBuilder("id", "-un").start().getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        URI openSearch = cluster.opensearch();
        return """
            # BackendSecurityTest's TLS and Basic-auth front of the cluster's OpenSearch.
            user %1$s;
            worker_processes 1;
            pid %2$s/nginx.pid;
            error_log %2$s/error.log;
            events { worker_connections 64; }
            http {
                access_log %2$s/access.log;
                client_body_temp_path %2$s/tmp/body;
                proxy_temp_path %2$s/tmp/proxy;
                fastcgi_temp_path %2$s/tmp/fastcgi;
                uwsgi_temp_path %2$s/tmp/uwsgi;
                scgi_temp_path %2$s/tmp/scgi;
                server {
                    listen %3$s:%4$d ssl;
                    ssl_certificate %2$s/cert.pem;
                    ssl_certificate_key %2$s/key.pem;
                    auth_basic "OpenSearch";
                    auth_basic_user_file %2$s/htpasswd;
                    location / {
                        proxy_pass http://%5$s:%6$d;
                        proxy_set_header Authorization "";
                    }
                }
            }
            """.formatted(user, dir, FRONT, PORT, openSearch.getHost(), openSearch.getPort());
    }

    /** A self-signed certificate (its own CA) for the front's address. */
    void certificate(String name) throws Exception {
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=search-front-" + name,
            "-addext", "subjectAltName=IP:" + FRONT,
            "-keyout", dir.resolve(name + "-key.pem").toString(), "-out", dir.resolve(name + "-cert.pem").toString());
    }

    void password(String password) throws Exception {
        Files.writeString(dir.resolve("password"), password);
        htpasswd(password);
    }

    void htpasswd(String password) throws Exception {
        String hash = run("openssl", "passwd", "-apr1", password).trim();
        Files.writeString(dir.resolve("htpasswd"), "search:" + hash + "\n");
    }

    static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(String.join(" ", command) + ": " + output).isZero();
        return output;
    }

    /** Makes nginx re-read its configuration, password file and certificate (SIGHUP to the process we started). */
    void reload(Process nginx) throws Exception {
        run("kill", "-HUP", Long.toString(nginx.pid()));
    }

    void awaitFront() throws Exception {
        for (int i = 0; i < 50; i++) {
            try (var socket = new java.net.Socket(FRONT, PORT)) {
                return;
            } catch (java.io.IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new AssertionError("nginx did not listen on " + FRONT + ":" + PORT + ": " + Files.readString(dir.resolve("nginx.out"))
            + (Files.exists(dir.resolve("error.log")) ? Files.readString(dir.resolve("error.log")) : ""));
    }

    /** mailbox1's /healthcheck once its body satisfies {@code wanted}, or the last one after two minutes. */
    HttpResponse<String> health(Predicate<String> wanted) throws Exception {
        HttpResponse<String> response = null;
        for (long end = System.nanoTime() + Duration.ofMinutes(2).toNanos(); System.nanoTime() < end; Thread.sleep(2000)) {
            response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(cluster.webadmin().resolve("/healthcheck")).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
            if (wanted.test(response.body())) {
                return response;
            }
        }
        return response;
    }

    static Set<Long> awaitFound(ImapFolderSession imap, String criteria) throws Exception {
        Set<Long> found = Set.of();
        for (long end = System.nanoTime() + Duration.ofSeconds(60).toNanos(); System.nanoTime() < end; Thread.sleep(1000)) {
            found = imap.uidSearch(criteria);
            if (!found.isEmpty()) {
                break;
            }
        }
        return found;
    }
}
