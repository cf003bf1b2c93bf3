package org.mailcluster.mailbox.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;

import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.james.server.core.MailImpl;
import org.junit.jupiter.api.Test;

/** What makes two copies "the same message" for the delivery log, without a cluster. */
class DeliveryKeyTest {
    private static final String BODY = "Hello,\r\nthe same body.\r\n";

    private static MailImpl received(String name, String sender, String headers, String body) throws Exception {
        MimeMessage message = new MimeMessage(null, new ByteArrayInputStream((headers + "\r\n" + body).getBytes(StandardCharsets.UTF_8)));
        return MailImpl.builder()
            .name(name)
            .sender(new MailAddress(sender))
            .addRecipient(new MailAddress("alice@mail.test"))
            .mimeMessage(message)
            .build();
    }

    private static DeliveryLog.Delivery delivery(MailImpl mail) throws Exception {
        return DeliveryLog.Delivery.of(mail, new MailAddress("alice@mail.test"));
    }

    @Test
    void aResendThroughAnotherMxIsTheSameMessage() throws Exception {
        MailImpl first = received("Mail1-2b1e6b6e-3a3c-4f3e-9a55-0d2a7c1e0001", "bob@example.org",
            "Received: from a by mx1; Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\nSubject: hi\r\n", BODY);
        MailImpl resend = received("Mail2-2b1e6b6e-3a3c-4f3e-9a55-0d2a7c1e0002", "bob@example.org",
            "Received: from a by mx2; Mon, 30 Nov 2026 10:05:00 +0000\r\nMessage-ID: <m1@example.org>\r\nSubject: hi\r\n", BODY);

        assertThat(delivery(resend).message()).isEqualTo(delivery(first).message());
    }

    @Test
    void theSameMessageIdWithAnotherBodyOrSenderIsAnotherMessage() throws Exception {
        String headers = "Message-ID: <m1@example.org>\r\n";
        MailImpl original = received("Mail1-2b1e6b6e-3a3c-4f3e-9a55-0d2a7c1e0001", "bob@example.org", headers, BODY);
        MailImpl listCopy = received("Mail2-2b1e6b6e-3a3c-4f3e-9a55-0d2a7c1e0002", "list-bounces@lists.example.org", headers, BODY);
        MailImpl footer = received("Mail3-2b1e6b6e-3a3c-4f3e-9a55-0d2a7c1e0003", "bob@example.org", headers, BODY + "--\r\nfooter\r\n");

        assertThat(delivery(listCopy).message()).isNotEqualTo(delivery(original).message());
        assertThat(delivery(footer).message()).isNotEqualTo(delivery(original).message());
    }

    @Test
    void withoutMessageIdOnlyCopiesOfOneReceptionAreTheSame() throws Exception {
        String uuid = "2b1e6b6e-3a3c-4f3e-9a55-0d2a7c1e0001";
        MailImpl first = received("Mail1-" + uuid, "bob@example.org", "Subject: no id\r\n", BODY);
        MailImpl redelivered = received("error-Mail1-" + uuid + "-!123", "bob@example.org", "Subject: no id\r\n", BODY);
        MailImpl resend = received("Mail2-2b1e6b6e-3a3c-4f3e-9a55-0d2a7c1e0002", "bob@example.org", "Subject: no id\r\n", BODY);

        assertThat(delivery(redelivered).message()).isEqualTo(delivery(first).message());
        assertThat(delivery(resend).message()).isNotEqualTo(delivery(first).message());
    }

    @Test
    void eachRecipientHasItsOwnRow() throws Exception {
        MailImpl mail = received("Mail1-2b1e6b6e-3a3c-4f3e-9a55-0d2a7c1e0001", "bob@example.org", "Message-ID: <m1@example.org>\r\n", BODY);

        assertThat(DeliveryLog.Delivery.of(mail, new MailAddress("carol@mail.test")).recipient())
            .isNotEqualTo(delivery(mail).recipient());
    }

    @Test
    void theBodyDigestIgnoresHeaders() throws Exception {
        MimeMessage one = new MimeMessage(null, new ByteArrayInputStream(("A: 1\r\n\r\n" + BODY).getBytes(StandardCharsets.UTF_8)));
        MimeMessage two = new MimeMessage(null, new ByteArrayInputStream(("B: 2\r\nC: 3\r\n\r\n" + BODY).getBytes(StandardCharsets.UTF_8)));

        assertThat(DeliveryLog.Delivery.bodyDigest(one)).isEqualTo(DeliveryLog.Delivery.bodyDigest(two));
    }

    @Test
    void receptionIdentifiersSurviveJamesRenamings() {
        String uuid = "2b1e6b6e-3a3c-4f3e-9a55-0d2a7c1e0001";
        assertThat(DeliveryLog.Delivery.receivedAs("Mail1700000000000-" + uuid + "-!42")).isEqualTo(uuid);
        assertThat(DeliveryLog.Delivery.receivedAs("error-error-other-!1-!2")).isEqualTo("other");
    }
}
