package org.mailcluster.dkim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Mail;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Signing and the key material, without a cluster: a signed message verifies with jDKIM's own
 * verifier given the record {@link DkimKey#dnsValue()} publishes (the suite's DkimTest verifies
 * through the cluster's DNS with an independent verifier).
 */
class DkimSignTest {
    private static final PrivateKey KEY = DkimKey.generate();
    private static final DkimKey EXAMPLE = new DkimKey("Example.COM", "s1", KEY, Instant.EPOCH, DkimKey.Source.WEBADMIN);

    private static final String MESSAGE = "From: Alice <alice@example.com>\n"
        + "To: carol@remote.test\n"
        + "Subject: hello\n"
        + "Message-ID: <1@example.com>\n"
        + "Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
        + "Content-Type: text/plain; charset=utf-8\n"
        + "\n"
        + "hello Carol\n";

    static Mail mail(String raw) throws Exception {
        MimeMessage message = new MimeMessage(Session.getDefaultInstance(new Properties()),
            new ByteArrayInputStream(raw.getBytes(StandardCharsets.UTF_8)));
        return MailImpl.builder().name("m1").sender(new MailAddress("bounce@lists.example.org"))
            .addRecipient(new MailAddress("carol@remote.test")).mimeMessage(message).build();
    }

    static byte[] wire(Mail mail) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        mail.getMessage().writeTo(out);
        return DkimSign.withCrlf(out.toByteArray());
    }

    static List<?> verify(byte[] message, DkimKey key) throws Exception {
        DKIMVerifier verifier = new DKIMVerifier((method, selector, domain) -> {
            assertThat(selector + "._domainkey." + domain).isEqualTo(key.dnsName());
            return List.of(key.dnsValue());
        });
        return verifier.verify(new ByteArrayInputStream(message));
    }

    @Test
    void aSignedMessageVerifiesWithThePublishedRecordAndFailsOnceChanged() throws Exception {
        Mail mail = mail(MESSAGE);
        new DkimSign(domain -> domain.equals("example.com") ? Optional.of(EXAMPLE) : Optional.empty()).service(mail);

        byte[] signed = wire(mail);
        String text = new String(signed, StandardCharsets.US_ASCII);
        assertThat(text).contains("DKIM-Signature:");
        assertThat(verify(signed, EXAMPLE)).hasSize(1);

        byte[] tampered = text.replace("hello Carol", "hello Dave").getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> verify(tampered, EXAMPLE)).isInstanceOf(PermFailException.class);
    }

    @Test
    void aMailProcessedAgainIsNotSignedTwice() throws Exception {
        Mail mail = mail(MESSAGE);
        DkimSign sign = new DkimSign(domain -> Optional.of(EXAMPLE));
        sign.service(mail);
        sign.service(mail);
        assertThat(mail.getMessage().getHeader("DKIM-Signature")).hasSize(1);
    }

    @Test
    void aDomainWithoutKeyLeavesUnsigned() throws Exception {
        Mail mail = mail(MESSAGE);
        new DkimSign(domain -> Optional.empty()).service(mail);
        assertThat(mail.getMessage().getHeader("DKIM-Signature")).isNull();
    }

    @Test
    void theAuthorsDomainSignsNotTheEnvelopes() throws Exception {
        Mail mail = mail(MESSAGE);
        StringBuilder asked = new StringBuilder();
        new DkimSign(domain -> {
            asked.append(domain);
            return Optional.empty();
        }).service(mail);
        assertThat(asked.toString()).isEqualTo("example.com");

        Mail withoutFrom = mail(MESSAGE.replace("From: Alice <alice@example.com>\n", ""));
        StringBuilder askedWithoutFrom = new StringBuilder();
        new DkimSign(domain -> {
            askedWithoutFrom.append(domain);
            return Optional.empty();
        }).service(withoutFrom);
        assertThat(askedWithoutFrom.toString()).isEqualTo("lists.example.org");
    }

    @Test
    void theRecordPublishesThePublicHalf() {
        assertThat(EXAMPLE.domain()).isEqualTo("example.com");
        assertThat(EXAMPLE.dnsName()).isEqualTo("s1._domainkey.example.com");
        assertThat(EXAMPLE.dnsValue()).startsWith("v=DKIM1; k=rsa; p=MIIBIjAN");
        assertThat(EXAMPLE.toString()).doesNotContain(EXAMPLE.privateKeyPem().substring(40, 80));
    }

    @Test
    void aKeyRoundTripsThroughPem() {
        PrivateKey parsed = DkimKey.parsePem(EXAMPLE.privateKeyPem());
        assertThat(parsed.getEncoded()).isEqualTo(KEY.getEncoded());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "not a key", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"})
    void whatIsNotAPkcs8RsaKeyIsRefusedWithoutQuotingIt(String pem) {
        assertThatThrownBy(() -> DkimKey.parsePem(pem))
            .isInstanceOf(IllegalArgumentException.class)
            .satisfies(e -> assertThat(e.getMessage()).doesNotContain("AAAA").doesNotContain("!!!"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"s1", "mail", "s2026-12", "A1"})
    void selectors(String selector) {
        assertThat(DkimKey.isSelector(selector)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "has space", "-lead", "trail-", "a.b", "x;y"})
    void notSelectors(String selector) {
        assertThat(DkimKey.isSelector(selector)).isFalse();
    }

    @Test
    void tagsAreReadFromAFoldedSignature() {
        String signature = "v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n\td=example.com; s=s1;\r\n\th=from:to; bh=abc; b=def";
        String unfolded = signature.replaceAll("\\s+", " ");
        assertThat(DkimSign.tag(unfolded, "d")).isEqualTo("example.com");
        assertThat(DkimSign.tag(unfolded, "s")).isEqualTo("s1");
        assertThat(DkimSign.tag(unfolded, "x")).isNull();
    }

    @Test
    void lineEndsBecomeCrlf() {
        assertThat(new String(DkimSign.withCrlf("a\nb\r\nc\rd".getBytes(StandardCharsets.US_ASCII)), StandardCharsets.US_ASCII))
            .isEqualTo("a\r\nb\r\nc\r\nd");
    }
}
