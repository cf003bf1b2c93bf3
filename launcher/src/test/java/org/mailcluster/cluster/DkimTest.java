package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * DKIM signing on the submission tier, checked as a receiver would: the message as the
 * outside world's MX received it is verified by an independent verifier (Debian's
 * python3-dkim) against the key the cluster's DNS publishes; the same message sent to our own
 * MX gets {@code dkim=pass} from rspamd, a tampered copy {@code dkim=fail}. A key rotated in
 * through webadmin signs the next message, and verifies against the record webadmin gives.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DkimTest {
    private static final Pattern SELECTOR = Pattern.compile("DKIM-Signature:[^\\r\\n]*(?:\\r?\\n[ \\t][^\\r\\n]*)*?[;\\s]s=([A-Za-z0-9-]+)");

    ClusterEndpoints cluster;
    TestUser alice;
    TestUser bob;
    RemoteMx remoteMx;
    Path verifier;

    @BeforeAll
    void start(ClusterEndpoints cluster) throws Exception {
        this.cluster = cluster;
        alice = TestUser.create(cluster, "alice");
        bob = TestUser.create(cluster, "bob");
        remoteMx = RemoteMx.start(ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_REMOTE_MX")));
        verifier = Files.createTempFile("dkim_verify", ".py");
        try (InputStream script = DkimTest.class.getResourceAsStream("/dkim_verify.py")) {
            Files.write(verifier, script.readAllBytes());
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (remoteMx != null) {
            remoteMx.close();
        }
        if (verifier != null) {
            Files.deleteIfExists(verifier);
        }
    }

    @Test
    void outboundMailIsSignedWithItsDomainsKeyAndVerifiesAgainstTheClusterDns() throws Exception {
        String subject = "signed " + UUID.randomUUID();
        String received = submitToTheOutside(subject);

        assertThat(received).contains("DKIM-Signature:").containsPattern("d=" + Pattern.quote(cluster.domain()) + ";");
        assertThat(verify(received)).as("python3-dkim on the message as received").isEqualTo("pass");
        // The verifier can fail: one changed body line.
        assertThat(verify(received.replace("hello from the cluster", "hello from someone else")))
            .as("python3-dkim on a tampered copy").startsWith("fail");

        // Inbound: the signed message sent to our own MX passes rspamd's DKIM check, a tampered
        // copy fails it.
        String asSent = withoutSinkHeaders(received);
        String passing = deliveredThroughMx(asSent, subject);
        assertThat(passing).containsPattern("Authentication-Results: [^\\r\\n]*(\\r?\\n\\s[^\\r\\n]*)*dkim=pass");
        String failing = deliveredThroughMx(asSent.replace("hello from the cluster", "hello, tampered"), subject);
        assertThat(failing).containsPattern("Authentication-Results: [^\\r\\n]*(\\r?\\n\\s[^\\r\\n]*)*dkim=fail");
    }

    @Test
    void aKeyRotatedInThroughWebadminSignsTheNextMessages() throws Exception {
        WebAdmin webadmin = new WebAdmin(cluster);
        String domain = cluster.domain();
        String selector = "rot" + UUID.randomUUID().toString().substring(0, 8);

        HttpResponse<String> added = webadmin.send("PUT", "/dkim/domains/" + domain, "{\"selector\":\"" + selector + "\"}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        assertThat(added.body()).doesNotContain("PRIVATE");
        JsonNode keys = new ObjectMapper().readTree(added.body());
        assertThat(keys.path("signingSelector").asText()).isEqualTo(selector);
        JsonNode record = keys.path("keys").get(0).path("dnsRecord");
        assertThat(record.path("name").asText()).isEqualTo(selector + "._domainkey." + domain);
        assertThat(record.path("value").asText()).startsWith("v=DKIM1; k=rsa; p=");
        try {
            awaitSigningSelectorOnTheSubmissionNodes(domain, selector);
            String received = submitToTheOutside("rotated " + UUID.randomUUID());
            assertThat(selectorOf(received)).isEqualTo(selector);
            assertThat(verify(received, record.path("name").asText() + "=" + record.path("value").asText()))
                .as("python3-dkim with the record webadmin gave").isEqualTo("pass");
        } finally {
            HttpResponse<String> removed = webadmin.send("DELETE", "/dkim/domains/" + domain + "/selectors/" + selector, null);
            assertThat(removed.statusCode()).as(removed.body()).isEqualTo(204);
        }
        // Back to the key of the file, which the cluster DNS publishes.
        String fileSelector = new ObjectMapper().readTree(webadmin.get("/dkim/domains/" + domain)).path("signingSelector").asText();
        assertThat(fileSelector).isNotEqualTo(selector);
        awaitSigningSelectorOnTheSubmissionNodes(domain, fileSelector);
        String received = submitToTheOutside("after rotation " + UUID.randomUUID());
        assertThat(selectorOf(received)).isEqualTo(fileSelector);
        assertThat(verify(received)).isEqualTo("pass");
    }

    @Test
    void badRequestsNameTheField() {
        WebAdmin webadmin = new WebAdmin(cluster);
        String domain = cluster.domain();
        assertBadRequest(webadmin.send("PUT", "/dkim/domains/" + domain, "{\"selector\":\"has space\"}"), "selector");
        assertBadRequest(webadmin.send("PUT", "/dkim/domains/" + domain, "{\"selector\":\"s1\",\"privateKey\":\"not a key\"}"), "privateKey");
        assertBadRequest(webadmin.send("PUT", "/dkim/domains/" + domain, "{\"selector\":\"s1\",\"color\":\"red\"}"), "color");
        assertBadRequest(webadmin.send("PUT", "/dkim/domains/" + domain, "{\"selector\":"), "JSON");
        assertBadRequest(webadmin.send("PUT", "/dkim/domains/not-hosted.test", "{\"selector\":\"s1\"}"), "not hosted");
        String fileSelector;
        try {
            fileSelector = new ObjectMapper().readTree(webadmin.get("/dkim/domains/" + domain)).path("signingSelector").asText();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        assertBadRequest(webadmin.send("DELETE", "/dkim/domains/" + domain + "/selectors/" + fileSelector, null), "file");
        assertThat(webadmin.send("GET", "/dkim/domains/not-hosted.test", null).statusCode()).isEqualTo(404);
    }

    private static void assertBadRequest(HttpResponse<String> response, String named) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
        assertThat(response.body()).contains(named);
    }

    /** Alice sends to the outside world through submission; the message as its MX got it. */
    String submitToTheOutside(String subject) throws Exception {
        String recipient = "carol@" + cluster.remoteDomain();
        try (Smtp smtp = Smtp.connect(cluster.submission())) {
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.startTls()).isEqualTo(220);
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.authPlain(alice.address(), alice.password())).as(smtp.lastReply()).isEqualTo(235);
            assertThat(smtp.mailFrom(alice.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(recipient)).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message(alice.address(), recipient, subject, "hello from the cluster"))).isEqualTo(250);
        }
        long deadline = System.nanoTime() + MailFlowTest.DELIVERY.toNanos();
        while (System.nanoTime() < deadline) {
            for (String message : remoteMx.received()) {
                if (message.contains(subject)) {
                    return message;
                }
            }
            Thread.sleep(300);
        }
        throw new AssertionError("\"" + subject + "\" did not reach the remote MX within " + MailFlowTest.DELIVERY);
    }

    /** What the sending node transmitted: smtp-sink puts its own X- lines first. */
    static String withoutSinkHeaders(String received) {
        int start = received.indexOf("DKIM-Signature:");
        return received.substring(start);
    }

    /** Sends {@code message} to bob through mx1 and returns it as bob's INBOX has it. */
    String deliveredThroughMx(String message, String subject) throws Exception {
        String marker = "X-Test-Copy: " + UUID.randomUUID();
        try (Smtp smtp = Smtp.connect(cluster.mx().get(0))) {
            assertThat(smtp.ehlo("relay.test")).isEqualTo(250);
            assertThat(smtp.mailFrom(alice.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(bob.address())).isEqualTo(250);
            // An unsigned header of its own tells the copies apart without breaking the signature.
            assertThat(smtp.data(marker + "\r\n" + message.replace("\r\n", "\n").replace("\n", "\r\n"))).as(smtp.lastReply()).isEqualTo(250);
        }
        return bob.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(marker)), MailFlowTest.DELIVERY)
            .stream().filter(m -> m.contains(marker)).findFirst()
            .orElseThrow(() -> new AssertionError("the copy " + marker + " of \"" + subject + "\" did not reach bob"));
    }

    /**
     * Waits until every submission node signs with {@code selector}: the node that takes the
     * message is not always the one that signs it, since the outbound queue is shared by all.
     */
    void awaitSigningSelectorOnTheSubmissionNodes(String domain, String selector) throws Exception {
        List<String> submissionNodes = cluster.nodes().keySet().stream().filter(name -> name.startsWith("submission")).toList();
        assertThat(submissionNodes).as("the cluster's submission nodes").isNotEmpty();
        for (String name : submissionNodes) {
            WebAdmin node = new WebAdmin(cluster.webadmin(name), cluster.webadminAuth());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            String seen = null;
            while (!selector.equals(seen)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(name + " signs " + domain + " with " + seen + ", not " + selector);
                }
                Thread.sleep(seen == null ? 0 : 500);
                seen = new ObjectMapper().readTree(node.get("/dkim/domains/" + domain)).path("signingSelector").asText();
            }
        }
    }

    static String selectorOf(String message) {
        Matcher matcher = SELECTOR.matcher(message);
        assertThat(matcher.find()).as("a DKIM-Signature with s= in:\n" + message).isTrue();
        return matcher.group(1);
    }

    /** python3-dkim's verdict on {@code message}: "pass" or "fail: ...". */
    String verify(String message, String... records) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/python3", verifier.toString(), cluster.get("MAILCLUSTER_DNS")));
        command.addAll(List.of(records));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().write(message.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("python3-dkim finished").isTrue();
        if (process.exitValue() == 2) {
            throw new IllegalStateException("the DKIM verifier could not run: " + output);
        }
        return output;
    }
}
