package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

/**
 * POP3 on the mailbox tier as a user's client meets it: Python's poplib, trusting the
 * cluster's certificate (MAILCLUSTER_TLS_CERT). A message that arrived through an MX is listed
 * and retrieved after STLS; DELE and QUIT remove it from the mailbox IMAP shows; USER before
 * STLS is refused; 995 speaks TLS from the first byte.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Pop3Test {

    ClusterEndpoints cluster;
    TestUser alice;
    Path client;

    @BeforeAll
    void start(ClusterEndpoints cluster) throws Exception {
        this.cluster = cluster;
        alice = TestUser.create(cluster, "alice");
        client = Files.createTempFile("pop3_client", ".py");
        try (InputStream script = Pop3Test.class.getResourceAsStream("/pop3_client.py")) {
            Files.write(client, script.readAllBytes());
        }
    }

    @AfterAll
    void stop() throws Exception {
        Files.deleteIfExists(client);
    }

    @Test
    void aMessageFromAnMxIsRetrievedAfterStlsAndDeleGoesFromTheMailbox() throws Exception {
        String subject = "pop3 " + UUID.randomUUID();
        String kept = "pop3 kept " + UUID.randomUUID();
        for (String each : List.of(subject, kept)) {
            assertThat(Smtp.send(cluster.mx().get(0), "sender@outside.test", alice.address(),
                MailFlowTest.message("sender@outside.test", alice.address(), each, "for a POP3 client"))).isEqualTo(250);
        }
        Mailbox inbox = alice.inbox(cluster);
        List<String> before = inbox.awaitMessages(all -> all.stream().filter(m -> m.contains(subject) || m.contains(kept)).count() == 2,
            MailFlowTest.DELIVERY);
        assertThat(before).as("both messages in the INBOX over IMAP").anyMatch(m -> m.contains(subject)).anyMatch(m -> m.contains(kept));

        String output = pop3(cluster.get("MAILCLUSTER_POP3"), "fetch-delete", subject);

        assertThat(output).as(output).contains("listed 2").contains("retrieved").contains("Subject: " + subject)
            .contains("for a POP3 client").contains("deleted");
        List<String> after = inbox.messages();
        assertThat(after).as("after DELE and QUIT, over IMAP").noneMatch(m -> m.contains(subject));
        assertThat(after).as("the other message stays").anyMatch(m -> m.contains(kept));
    }

    @Test
    void aLoginBeforeStlsIsRefused() throws Exception {
        String output = pop3(cluster.get("MAILCLUSTER_POP3"), "plain-login", null);
        assertThat(output).as("the answer to USER on a plain connection").startsWith("-ERR").contains("STLS");
    }

    @Test
    void pop3sSpeaksTlsFromTheFirstByte() throws Exception {
        String subject = "pop3s " + UUID.randomUUID();
        assertThat(Smtp.send(cluster.mx().get(0), "sender@outside.test", alice.address(),
            MailFlowTest.message("sender@outside.test", alice.address(), subject, "hello"))).isEqualTo(250);
        alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY);

        String output = pop3(cluster.get("MAILCLUSTER_POP3S"), "implicit-stat", null);

        assertThat(output).as(output).matches("stat [1-9]\\d* \\d+\\s*");
    }

    /** Runs the poplib client; a refusal or a TLS failure fails the test with the client's output. */
    String pop3(String address, String action, String argument) throws Exception {
        Path cert = Path.of(cluster.get("MAILCLUSTER_TLS_CERT"));
        assertThat(cert).as("the cluster's certificate (MAILCLUSTER_TLS_CERT)").isReadable();
        List<String> command = new ArrayList<>(List.of("/usr/bin/python3", client.toString(), address, cert.toString(),
            alice.address(), alice.password(), action));
        if (argument != null) {
            command.add(argument);
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the POP3 client finished").isTrue();
        assertThat(process.exitValue()).as("the POP3 client's exit; it said:\n" + output).isZero();
        return output;
    }
}
