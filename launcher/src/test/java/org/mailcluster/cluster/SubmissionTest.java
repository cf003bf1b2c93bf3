package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

/** Users sending through the submission tier: AUTH over TLS only, local and remote delivery. */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SubmissionTest {

    ClusterEndpoints cluster;
    String alice;
    String bob;
    String password;
    TestUser bobUser;

    @BeforeAll
    void createUsers(ClusterEndpoints cluster) {
        this.cluster = cluster;
        TestUser aliceUser = TestUser.create(cluster, "alice");
        bobUser = TestUser.create(cluster, "bob");
        alice = aliceUser.address();
        password = aliceUser.password();
        bob = bobUser.address();
    }

    /** EHLO, STARTTLS, EHLO, AUTH PLAIN: what a mail client does on 587. */
    Smtp authenticated() throws Exception {
        Smtp smtp = Smtp.connect(cluster.submission());
        assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
        assertThat(smtp.startTls()).as("STARTTLS: " + smtp.lastReply()).isEqualTo(220);
        assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
        assertThat(smtp.authPlain(alice, password)).as("AUTH PLAIN: " + smtp.lastReply()).isEqualTo(235);
        return smtp;
    }

    @Test
    void mailWithoutAuthenticationIsRefused() throws Exception {
        try (Smtp smtp = Smtp.connect(cluster.submission())) {
            smtp.ehlo("laptop.test");
            assertThat(smtp.startTls()).isEqualTo(220);
            smtp.ehlo("laptop.test");
            int mail = smtp.mailFrom(alice);
            assertThat(mail).as(smtp.lastReply()).isEqualTo(530);
            assertThat(smtp.rcptTo("someone@" + cluster.remoteDomain())).isGreaterThanOrEqualTo(500);
        }
    }

    @Test
    void authenticationBeforeStartTlsIsRefused() throws Exception {
        try (Smtp smtp = Smtp.connect(cluster.submission())) {
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.lastReply()).as("AUTH must not be offered in clear text").doesNotContain("AUTH");
            int auth = smtp.client.sendCommand("AUTH", "PLAIN " + java.util.Base64.getEncoder()
                .encodeToString(("\0" + alice + "\0" + password).getBytes()));
            assertThat(auth).as("AUTH before STARTTLS: " + smtp.lastReply()).isGreaterThanOrEqualTo(500);
        }
    }

    @Test
    void badPasswordIsRefused() throws Exception {
        try (Smtp smtp = Smtp.connect(cluster.submission())) {
            smtp.ehlo("laptop.test");
            smtp.startTls();
            smtp.ehlo("laptop.test");
            assertThat(smtp.authPlain(alice, "wrong-password")).isEqualTo(535);
        }
    }

    @Test
    void implicitTlsOn465AcceptsAuthenticatedMail() throws Exception {
        InetSocketAddress port465 = new InetSocketAddress(cluster.submission().getAddress(), 465);
        try (Smtp smtp = Smtp.connect(port465, true)) {
            assertThat(smtp.ehlo("laptop.test")).isEqualTo(250);
            assertThat(smtp.authPlain(alice, password)).isEqualTo(235);
            assertThat(smtp.mailFrom(alice)).isEqualTo(250);
        }
    }

    @Test
    void authenticatedMailToALocalUserArrivesOverImap() throws Exception {
        String subject = "submitted " + UUID.randomUUID();
        try (Smtp smtp = authenticated()) {
            assertThat(smtp.mailFrom(alice)).isEqualTo(250);
            assertThat(smtp.rcptTo(bob)).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message(alice, bob, subject, "hello Bob"))).as(smtp.lastReply()).isEqualTo(250);
        }
        List<String> messages = bobUser.inbox(cluster)
            .awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY);
        assertThat(messages).anyMatch(m -> m.contains(subject) && m.contains("hello Bob"));
    }

    @Test
    void authenticatedMailToAnotherDomainReachesItsMxWithTheRightEnvelope() throws Exception {
        InetSocketAddress remoteMxAddress = ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_REMOTE_MX"));
        String recipient = "carol@" + cluster.remoteDomain();
        String subject = "outbound " + UUID.randomUUID();
        try (RemoteMx remoteMx = RemoteMx.start(remoteMxAddress); Smtp smtp = authenticated()) {
            assertThat(smtp.mailFrom(alice)).isEqualTo(250);
            assertThat(smtp.rcptTo(recipient)).isEqualTo(250);
            assertThat(smtp.data(MailFlowTest.message(alice, recipient, subject, "hello Carol"))).isEqualTo(250);

            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            String delivered = null;
            while (delivered == null && System.nanoTime() < deadline) {
                delivered = remoteMx.received().stream().filter(m -> m.contains(subject)).findFirst().orElse(null);
                Thread.sleep(300);
            }
            assertThat(delivered).as("message at the remote MX " + remoteMxAddress).isNotNull();
            assertThat(delivered)
                .contains("X-Mail-Args: <" + alice + ">")
                .contains("X-Rcpt-Args: <" + recipient + ">")
                .contains("hello Carol");
        }
    }

    @Test
    void aSenderCannotPretendToBeAnotherUser() throws Exception {
        try (Smtp smtp = authenticated()) {
            int mail = smtp.mailFrom(bob);
            int rcpt = mail == 250 ? smtp.rcptTo("dave@" + cluster.remoteDomain()) : mail;
            assertThat(Math.max(mail, rcpt)).as(smtp.lastReply()).isGreaterThanOrEqualTo(500);
        }
    }
}
