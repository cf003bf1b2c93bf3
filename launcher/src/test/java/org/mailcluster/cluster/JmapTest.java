package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.UUID;

import javax.mail.Flags;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** JMAP (RFC 8621) on the mailbox tier: who may log in, and mail delivered through the MX, seen and changed over JMAP. */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JmapTest {
    ClusterEndpoints cluster;
    TestUser user;

    @BeforeAll
    void createUser(ClusterEndpoints cluster) {
        this.cluster = cluster;
        // A password whose Basic credentials' Base64 has a '+' or '/' (James 3.8.1's own Basic
        // authentication refused those). In ASCII text only a '>', '?' or '~' at every third
        // byte gives one, so one is tried at each of three positions.
        String address = "jmap-" + UUID.randomUUID().toString().substring(0, 8) + "@" + cluster.domain();
        String password = "pw-" + UUID.randomUUID() + "?";
        while (!Jmap.basic(address, password).matches(".*[+/].*")) {
            password = "x" + password;
        }
        this.user = new TestUser(address, password);
        new WebAdmin(cluster).createUser(address, password);
    }

    @Test
    void theSessionNeedsTheUsersPassword() throws Exception {
        assertThat(Jmap.session(cluster.jmap(), null).statusCode()).as("no credentials").isEqualTo(401);
        assertThat(Jmap.session(cluster.jmap(), Jmap.basic(user.address(), user.password() + "x")).statusCode())
            .as("wrong password").isEqualTo(401);
        assertThat(Jmap.session(cluster.jmap(), Jmap.basic("nobody@" + cluster.domain(), user.password())).statusCode())
            .as("unknown user").isEqualTo(401);
        assertThat(Jmap.session(cluster.jmap(), "Basic %%%not-base64").statusCode()).as("malformed header").isEqualTo(401);

        var session = Jmap.session(cluster.jmap(), Jmap.basic(user.address(), user.password()));
        assertThat(session.statusCode()).as("right password (Base64 with + or /)").isEqualTo(200);
        JsonNode body = Jmap.JSON.readTree(session.body());
        assertThat(body.get("username").asText()).isEqualTo(user.address());
        assertThat(body.get("apiUrl").asText()).startsWith(cluster.jmap().toString());
    }

    @Test
    void mailDeliveredThroughTheMxIsReadAndMarkedSeenOverJmap() throws Exception {
        String subject = "over jmap " + UUID.randomUUID();
        int code = Smtp.send(cluster.mx().get(0), "sender@outside.test", user.address(),
            MailFlowTest.message("sender@outside.test", user.address(), subject, "Hello from the MX tier"));
        assertThat(code).isEqualTo(250);
        user.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(subject)), MailFlowTest.DELIVERY);

        Jmap jmap = Jmap.login(cluster.jmap(), user.address(), user.password());
        String inbox = jmap.mailboxId("inbox");
        List<String> ids = awaitQuery(jmap, inbox, "{\"subject\":\"" + subject + "\"}", 1);
        JsonNode email = jmap.get(ids, "subject", "from", "preview", "keywords").get(0);
        assertThat(email.get("subject").asText()).isEqualTo(subject);
        assertThat(email.get("from").get(0).get("email").asText()).isEqualTo("sender@outside.test");
        assertThat(email.get("preview").asText()).contains("Hello from the MX tier");
        assertThat(email.get("keywords").has("$seen")).isFalse();

        ObjectNode update = Jmap.JSON.createObjectNode();
        update.putObject("update").putObject(ids.get(0)).put("keywords/$seen", true);
        JsonNode set = jmap.call("Email/set", update);
        assertThat(set.get("updated").has(ids.get(0))).as("Email/set answer " + set).isTrue();

        // The same message over IMAP now carries \Seen.
        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), user.address(), user.password())) {
            List<ImapFolderSession.Fetched> seen = imap.fetchAll().stream()
                .filter(m -> new String(m.content()).contains(subject)).toList();
            assertThat(seen).hasSize(1);
            assertThat(seen.get(0).flags().contains(Flags.Flag.SEEN)).isTrue();
        }
    }

    /** JMAP's signing key must not become the certificate IMAP clients are shown. */
    @Test
    void imapsStillPresentsTheClustersCertificate() throws Exception {
        javax.net.ssl.SSLContext trustAll = javax.net.ssl.SSLContext.getInstance("TLS");
        trustAll.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
            public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType) {
            }

            public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType) {
            }

            public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                return new java.security.cert.X509Certificate[0];
            }
        }}, null);
        var imaps = ClusterEndpoints.hostPort(cluster.get("MAILCLUSTER_IMAPS"));
        try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) trustAll.getSocketFactory()
                .createSocket(imaps.getHostString(), imaps.getPort())) {
            socket.startHandshake();
            var certificate = (java.security.cert.X509Certificate) socket.getSession().getPeerCertificates()[0];
            assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=" + cluster.domain());
        }
    }

    private static List<String> awaitQuery(Jmap jmap, String mailbox, String filter, int expected) throws Exception {
        long deadline = System.nanoTime() + MailFlowTest.DELIVERY.toNanos();
        List<String> ids = jmap.query(mailbox, filter, null);
        while (ids.size() != expected && System.nanoTime() < deadline) {
            Thread.sleep(500);
            ids = jmap.query(mailbox, filter, null);
        }
        assertThat(ids).as("Email/query " + filter).hasSize(expected);
        return ids;
    }
}
