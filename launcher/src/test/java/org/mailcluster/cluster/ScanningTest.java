package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * Inbound scanning on the MX tier with the real scanners ./mailcluster runs (rspamd, clamd):
 * what a sender sees at the end of DATA, and what the recipient finds.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ScanningTest {
    static final String GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
    static final String EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    static final String SENDER = "sender@outside.test";

    LocalCluster launcher;
    ClusterEndpoints cluster;
    TestUser alice;

    @BeforeAll
    void setUp(LocalCluster launcher, ClusterEndpoints cluster) {
        this.launcher = launcher;
        this.cluster = cluster;
        alice = TestUser.create(cluster, "scanned");
    }

    /** The reply code at the end of DATA, and the reply text. */
    record Reply(int code, String text) {
    }

    Reply send(InetSocketAddress mx, String message) throws Exception {
        try (Smtp smtp = Smtp.connect(mx)) {
            smtp.ehlo("client.test");
            assertThat(smtp.mailFrom(SENDER)).isEqualTo(250);
            assertThat(smtp.rcptTo(alice.address())).isEqualTo(250);
            int code = smtp.data(message);
            return new Reply(code, smtp.lastReply());
        }
    }

    String clean(String subject) {
        return MailFlowTest.message(SENDER, alice.address(), subject, "an ordinary message");
    }

    /** The last MX node: the second where there are two, so both scan; the only one on a small box. */
    java.net.InetSocketAddress lastMx() {
        return cluster.mx().get(cluster.mx().size() - 1);
    }

    /** A control message, sent after the refused one: it arrives, so the refused one had every chance to. */
    void assertControlArrivesWithoutTheRefused(String refusedSubject) throws Exception {
        String control = "control " + UUID.randomUUID();
        assertThat(send(cluster.mx().get(0), clean(control)).code()).isEqualTo(250);
        List<String> inbox = alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(control)), Duration.ofSeconds(60));
        assertThat(inbox).as("the control message").anyMatch(m -> m.contains(control));
        assertThat(inbox).as("the refused message").noneMatch(m -> m.contains(refusedSubject));
    }

    @Test
    void aCleanMessageIsDeliveredWithTheVerdictAndASendersOwnVerdictIsReplaced() throws Exception {
        String subject = "clean " + UUID.randomUUID();
        String forged = "X-Spam: Yes\r\nX-Spam-Status: Yes, score=99\r\n" + clean(subject);
        Reply reply = send(lastMx(), forged);
        assertThat(reply.code()).as(reply.text()).isEqualTo(250);
        List<String> inbox = alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), Duration.ofSeconds(60));
        String delivered = inbox.stream().filter(m -> m.contains(subject)).findFirst().orElseThrow();
        assertThat(delivered)
            .contains("X-Spam: No")
            .containsPattern("X-Spam-Status: No, score=-?[0-9.]+ required=15.00 action=no action")
            .contains("X-Virus-Scanned: ClamAV, clean")
            .doesNotContain("score=99");
    }

    /** One message from {@code sender} (envelope and From:), to alice through mx1. */
    Reply sendAs(String sender, String subject) throws Exception {
        try (Smtp smtp = Smtp.connect(cluster.mx().get(0))) {
            smtp.ehlo("client.test");
            assertThat(smtp.mailFrom(sender)).isEqualTo(250);
            assertThat(smtp.rcptTo(alice.address())).isEqualTo(250);
            int code = smtp.data(MailFlowTest.message(sender, alice.address(), subject, "from " + sender));
            return new Reply(code, smtp.lastReply());
        }
    }

    @Test
    void spfAndDmarcAreCheckedThroughTheClustersDnsAndADmarcRejectIsRefused() throws Exception {
        // spf-pass.test's SPF record allows the loopback network the test sends from.
        String passing = "spf pass " + UUID.randomUUID();
        Reply accepted = sendAs("news@spf-pass.test", passing);
        assertThat(accepted.code()).as(accepted.text()).isEqualTo(250);
        String delivered = alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(passing)), Duration.ofSeconds(60))
            .stream().filter(m -> m.contains(passing)).findFirst().orElseThrow();
        assertThat(delivered).containsPattern("Authentication-Results: [^\\r\\n]*(\\r\\n\\s[^\\r\\n]*)*spf=pass");

        // dmarc-reject.test allows only 192.0.2.1 and publishes p=reject.
        String failing = "dmarc reject " + UUID.randomUUID();
        Reply refused = sendAs("ceo@dmarc-reject.test", failing);
        assertThat(refused.code()).as(refused.text()).isEqualTo(550);
        assertThat(refused.text()).contains("5.7.1").contains("DMARC");
        assertControlArrivesWithoutTheRefused(failing);
    }

    @Test
    void gtubeIsRefusedAtTheEndOfData() throws Exception {
        String subject = "gtube " + UUID.randomUUID();
        Reply reply = send(cluster.mx().get(0), MailFlowTest.message(SENDER, alice.address(), subject, GTUBE));
        assertThat(reply.code()).as(reply.text()).isEqualTo(550);
        assertThat(reply.text()).contains("5.7.1").contains("spam");
        assertControlArrivesWithoutTheRefused(subject);
    }

    @Test
    void eicarAsABase64AttachmentIsRefusedNamingTheVirus() throws Exception {
        String subject = "eicar " + UUID.randomUUID();
        String boundary = "b-" + UUID.randomUUID();
        String message = "From: <" + SENDER + ">\r\nTo: <" + alice.address() + ">\r\nSubject: " + subject + "\r\n"
            + "Message-ID: <" + UUID.randomUUID() + "@client.test>\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n"
            + "--" + boundary + "\r\nContent-Type: text/plain\r\n\r\nsee the attachment\r\n"
            + "--" + boundary + "\r\nContent-Type: application/octet-stream; name=\"eicar.com\"\r\n"
            + "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"eicar.com\"\r\n\r\n"
            + Base64.getMimeEncoder().encodeToString(EICAR.getBytes(StandardCharsets.US_ASCII)) + "\r\n"
            + "--" + boundary + "--\r\n";
        assertThat(message).doesNotContain(EICAR);
        Reply reply = send(lastMx(), message);
        assertThat(reply.code()).as(reply.text()).isEqualTo(554);
        assertThat(reply.text()).contains("5.7.1").contains("Eicar");
        assertControlArrivesWithoutTheRefused(subject);
    }

    @Test
    void spamBelowTheRejectThresholdIsFiledInTheSpamFolder() throws Exception {
        String subject = "MAILCLUSTER-TEST-ADD-HEADER " + UUID.randomUUID();
        Reply reply = send(cluster.mx().get(0), clean(subject));
        assertThat(reply.code()).as(reply.text()).isEqualTo(250);
        List<String> spam = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (spam.isEmpty() && System.nanoTime() < deadline) {
            try (ImapFolderSession folder = new ImapFolderSession(cluster.imap(), alice.address(), alice.password(), "Spam")) {
                for (ImapFolderSession.Fetched message : folder.fetchAll()) {
                    String text = new String(message.content(), StandardCharsets.UTF_8);
                    if (text.contains(subject)) {
                        spam.add(text);
                    }
                }
            } catch (javax.mail.FolderNotFoundException notYet) {
                // created with the first spam delivered
            } catch (javax.mail.MessagingException notYet) {
                // the same, when the folder goes missing between JavaMail's LIST and its SELECT
                if (!String.valueOf(notYet.getMessage()).contains("No such mailbox")) {
                    throw notYet;
                }
            }
            Thread.sleep(500);
        }
        assertThat(spam).as("the message in the Spam folder").hasSize(1);
        assertThat(spam.get(0)).contains("X-Spam: Yes").contains("action=add header");
        assertThat(alice.inbox(cluster).messages()).as("INBOX").noneMatch(m -> m.contains(subject));
    }

    /** A user's submission (STARTTLS, AUTH) to a remote recipient; the reply code at the end of DATA. */
    Reply submit(String recipient, String message) throws Exception {
        try (Smtp smtp = Smtp.connect(cluster.submission())) {
            smtp.ehlo("laptop.test");
            smtp.startTls();
            smtp.ehlo("laptop.test");
            assertThat(smtp.authPlain(alice.address(), alice.password())).isEqualTo(235);
            assertThat(smtp.mailFrom(alice.address())).isEqualTo(250);
            assertThat(smtp.rcptTo(recipient)).isEqualTo(250);
            int code = smtp.data(message);
            return new Reply(code, smtp.lastReply());
        }
    }

    @Test
    void gtubeAndEicarSentByAUserAreRefusedAndNothingLeaves() throws Exception {
        String recipient = "dan@" + cluster.remoteDomain();
        String spam = "outbound gtube " + UUID.randomUUID();
        String virus = "outbound eicar " + UUID.randomUUID();
        String control = "outbound clean " + UUID.randomUUID();
        try (RemoteMx remote = RemoteMx.start(ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_REMOTE_MX")))) {
            Reply refusedSpam = submit(recipient, MailFlowTest.message(alice.address(), recipient, spam, GTUBE));
            assertThat(refusedSpam.code()).as(refusedSpam.text()).isEqualTo(550);
            assertThat(refusedSpam.text()).contains("5.7.1").contains("not sent");
            Reply refusedVirus = submit(recipient, MailFlowTest.message(alice.address(), recipient, virus, EICAR));
            assertThat(refusedVirus.code()).as(refusedVirus.text()).isEqualTo(554);
            assertThat(refusedVirus.text()).contains("Eicar");
            Reply sent = submit(recipient, MailFlowTest.message(alice.address(), recipient, control, "an ordinary message"));
            assertThat(sent.code()).as(sent.text()).isEqualTo(250);

            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (remote.received().stream().noneMatch(m -> m.contains(control)) && System.nanoTime() < deadline) {
                Thread.sleep(300);
            }
            assertThat(remote.received()).as("the clean message at the remote peer").anyMatch(m -> m.contains(control));
            assertThat(remote.received()).as("refused messages at the remote peer").noneMatch(m -> m.contains(spam) || m.contains(virus));
        }
    }

    @Test
    void withAScannerDownTheMxAnswers451AndAcceptsAgainOnceItIsBack() throws Exception {
        for (String scanner : List.of("rspamd", "clamav")) {
            String subject = "while " + scanner + " is down " + UUID.randomUUID();
            launcher.scriptMustSucceed(Duration.ofMinutes(1), "launcher/services/" + scanner + ".sh", "stop");
            try {
                Reply reply = send(cluster.mx().get(0), clean(subject));
                assertThat(reply.code()).as(scanner + " stopped: " + reply.text()).isEqualTo(451);
                assertThat(reply.text()).contains("4.7.1");
                String health = RoutingShape.webAdmin(cluster, "mx1").get("/healthcheck");
                assertThat(health).as("mx1's health with " + scanner + " down").contains("degraded").contains("does not answer");
            } finally {
                launcher.scriptMustSucceed(Duration.ofMinutes(2), "launcher/services/" + scanner + ".sh", "start");
            }
            Reply reply = send(cluster.mx().get(0), clean(subject));
            assertThat(reply.code()).as(scanner + " back: " + reply.text()).isEqualTo(250);
            alice.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), Duration.ofSeconds(60));
        }
    }
}
