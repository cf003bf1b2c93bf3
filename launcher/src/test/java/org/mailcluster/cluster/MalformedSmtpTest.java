package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

/** Bad SMTP input gets a clear protocol error from the MX, never a crash, a hang or a delivery. */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedSmtpTest {

    ClusterEndpoints cluster;
    TestUser alice;

    @BeforeAll
    void createUser(ClusterEndpoints cluster) {
        this.cluster = cluster;
        alice = TestUser.create(cluster, "alice");
    }

    @Test
    void malformedCommandsGetProtocolErrors() throws Exception {
        try (Smtp smtp = Smtp.connect(cluster.mx().get(0))) {
            assertThat(smtp.ehlo("client.test")).isEqualTo(250);
            assertThat(smtp.client.sendCommand("FOO", "bar")).isEqualTo(500);
            assertThat(smtp.rcptTo(alice.address())).as("RCPT before MAIL").isEqualTo(503);
            assertThat(smtp.client.sendCommand("MAIL FROM:<not an address>")).isEqualTo(501);
            assertThat(smtp.client.sendCommand("MAIL FROM:<sender@outside.test> SIZE=60000000"))
                .as("a declared size over the 50 MiB limit").isEqualTo(552);
            // the session is still usable afterwards
            assertThat(smtp.mailFrom("sender@outside.test")).isEqualTo(250);
        }
    }

    @Test
    void anOversizedMessageIsRefusedAndNotDelivered() throws Exception {
        String subject = "oversized " + UUID.randomUUID();
        StringBuilder body = new StringBuilder(52 * 1024 * 1024);
        String line = "x".repeat(998) + "\r\n";
        while (body.length() < 51 * 1024 * 1024) {
            body.append(line);
        }
        try (Smtp smtp = Smtp.connect(cluster.mx().get(0))) {
            smtp.ehlo("client.test");
            assertThat(smtp.mailFrom("sender@outside.test")).isEqualTo(250);
            assertThat(smtp.rcptTo(alice.address())).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message("sender@outside.test", alice.address(), subject, body.toString())))
                .as("end of DATA for a 51 MiB message").isEqualTo(552);
        }
        assertThat(Smtp.send(cluster.mx().get(0), "sender@outside.test", alice.address(),
            MailFlowTest.message("sender@outside.test", alice.address(), "after " + subject, "small"))).isEqualTo(250);
        assertNotDeliveredThoughDeliveryWorks(subject);
    }

    @Test
    void bareLineFeedsInDataAreRefusedAndNothingIsDelivered() throws Exception {
        String subject = "bare lf " + UUID.randomUUID();
        InetSocketAddress mx = cluster.mx().get(0);
        try (Socket socket = new Socket(mx.getAddress(), mx.getPort())) {
            socket.setSoTimeout(20_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = socket.getOutputStream();
            assertThat(reply(in)).startsWith("220");
            for (String command : new String[] {"HELO client.test", "MAIL FROM:<sender@outside.test>",
                "RCPT TO:<" + alice.address() + ">"}) {
                out.write((command + "\r\n").getBytes(StandardCharsets.US_ASCII));
                assertThat(reply(in)).startsWith("250");
            }
            out.write("DATA\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(reply(in)).startsWith("354");
            // An SMTP smuggling attempt: a bare-LF "end of data" followed by a second message.
            out.write(("Subject: " + subject + "\nTo: <" + alice.address() + ">\n\nfirst\n.\nMAIL FROM:<evil@outside.test>\r\n"
                + "\r\n.\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(reply(in)).startsWith("500").contains("CRLF");
        }
        assertThat(Smtp.send(mx, "sender@outside.test", alice.address(),
            MailFlowTest.message("sender@outside.test", alice.address(), "after " + subject, "small"))).isEqualTo(250);
        assertNotDeliveredThoughDeliveryWorks(subject);
    }

    /**
     * The refused message is not in the mailbox, checked once a control message sent after it
     * has arrived: without that proof, a broken delivery would pass for a refusal.
     */
    void assertNotDeliveredThoughDeliveryWorks(String subject) throws Exception {
        List<String> inbox = alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains("after " + subject)),
            MailFlowTest.DELIVERY);
        assertThat(inbox).as("the control message sent after the refused one").anyMatch(m -> m.contains("after " + subject));
        assertThat(inbox).as("the refused message").noneMatch(m -> m.contains("Subject: " + subject));
    }

    /** The last line of a (possibly multi-line) SMTP reply. */
    static String reply(BufferedReader in) throws Exception {
        String line;
        do {
            line = in.readLine();
            assertThat(line).as("the server closed the connection without replying").isNotNull();
        } while (line.length() > 3 && line.charAt(3) == '-');
        return line;
    }
}
