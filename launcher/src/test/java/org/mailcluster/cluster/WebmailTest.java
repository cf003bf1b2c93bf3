package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * The webmail as a user meets it, in a real browser (Debian's chromium through Playwright's
 * library): a wrong password shows Roundcube's error; the right one shows the inbox with a
 * message that came through an MX; the message opens; a message composed and sent there
 * reaches another user (checked over IMAP). Roundcube reaches IMAP and SMTP over TLS,
 * verifying the cluster's certificate. The inbox's screenshot lands in
 * launcher/target/webmail-inbox.png.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebmailTest {

    LocalCluster launcher;
    ClusterEndpoints cluster;
    TestUser alice;
    TestUser bob;
    Path driver;

    @BeforeAll
    void start(LocalCluster launcher, ClusterEndpoints cluster) throws Exception {
        this.launcher = launcher;
        this.cluster = cluster;
        LocalCluster.Result started = launcher.run(Duration.ofMinutes(10), "start", "webmail");
        assertThat(started.succeeded()).as("./mailcluster start webmail:\n" + started.output()).isTrue();
        alice = TestUser.create(cluster, "alice");
        bob = TestUser.create(cluster, "bob");
        driver = launcher.root().resolve("launcher/target/roundcube.js");
        try (InputStream script = WebmailTest.class.getResourceAsStream("/roundcube.js")) {
            Files.write(driver, script.readAllBytes());
        }
    }

    @Test
    void aUserReadsAndSendsMailInTheBrowser() throws Exception {
        String seed = "for the webmail " + UUID.randomUUID();
        assertThat(Smtp.send(cluster.mx().get(0), "sender@outside.test", alice.address(),
            MailFlowTest.message("sender@outside.test", alice.address(), seed, "Read me in the browser."))).isEqualTo(250);
        alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(seed)), MailFlowTest.DELIVERY);
        String sent = "from the webmail " + UUID.randomUUID();
        Path screenshot = launcher.root().resolve("launcher/target/webmail-inbox.png");
        Files.deleteIfExists(screenshot);

        ProcessBuilder browser = new ProcessBuilder("node", driver.toString()).redirectErrorStream(true);
        browser.environment().putAll(Map.of(
            "NODE_PATH", launcher.root().resolve("var/npm/node_modules").toString(),
            "WEBMAIL_URL", cluster.get("MAILCLUSTER_WEBMAIL"),
            "USER", alice.address(), "PASSWORD", alice.password(),
            "SEED_SUBJECT", seed, "TO", bob.address(), "SEND_SUBJECT", sent,
            "SCREENSHOT", screenshot.toString()));
        Process process = browser.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("the browser session finished").isTrue();
        assertThat(process.exitValue()).as("the browser session:\n" + output).isZero();

        assertThat(output).as(output).contains("step: wrong password refused: Login failed.");
        assertThat(output).contains("step: opened: " + seed + " | Read me in the browser.");
        assertThat(screenshot).as("the inbox's screenshot").isNotEmptyFile();
        long sentAt = output.lines().filter(line -> line.startsWith("step: sent at "))
            .map(line -> Long.parseLong(line.substring("step: sent at ".length()).trim())).findFirst()
            .orElseThrow(() -> new AssertionError("the webmail did not send:\n" + output));

        List<String> bobs = bob.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(sent)), MailFlowTest.DELIVERY);
        long arrivedAt = System.currentTimeMillis();
        String received = bobs.stream().filter(m -> m.contains(sent)).findFirst()
            .orElseThrow(() -> new AssertionError("the message sent in the webmail did not reach " + bob.address()));
        assertThat(received).contains("Sent from the webmail in a real browser.").containsIgnoringCase("From: " + alice.address());
        System.out.printf("webmail: sent in the browser -> in the recipient's INBOX over IMAP: at most %d ms%n", arrivedAt - sentAt);
    }
}
