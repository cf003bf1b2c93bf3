package org.mailcluster.dkim;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.inject.Inject;
import javax.mail.Address;
import javax.mail.MessagingException;
import javax.mail.internet.InternetAddress;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.james.jdkim.DKIMSigner;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signs outgoing mail with DKIM (RFC 6376) using the key of its author's domain: the domain of
 * the {@code From:} address (the one DMARC aligns with), or of the envelope sender when there is
 * no {@code From:}. Mail of a domain without a key leaves unsigned. Put it just before remote
 * delivery, after every mailet that changes the message.
 *
 * <p>A mail processed again (deferred and retried from the queue) is not signed twice: a
 * signature of the same domain and selector is already there. When the keys could not be read
 * yet, the mail is deferred rather than sent unsigned (the exception goes to the processor's
 * {@code onMailetException}).
 */
public class DkimSign extends GenericMailet {
    private static final Logger LOGGER = LoggerFactory.getLogger(DkimSign.class);
    private static final String HEADER = "DKIM-Signature";
    private static final Pattern TAG = Pattern.compile("(?:^|;)\\s*([a-z]+)\\s*=\\s*([^;]*)");

    private final Function<String, Optional<DkimKey>> signingKeys;

    @Inject
    public DkimSign(DkimKeys keys) {
        this(keys::signingKey);
    }

    /** @param signingKeys the key a domain signs with */
    DkimSign(Function<String, Optional<DkimKey>> signingKeys) {
        this.signingKeys = signingKeys;
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        MimeMessage message = mail.getMessage();
        Optional<String> domain = authorDomain(message).or(() -> mail.getMaybeSender().asOptional().map(sender -> sender.getDomain().asString()));
        if (domain.isEmpty()) {
            return;
        }
        Optional<DkimKey> key = signingKeys.apply(domain.get());
        if (key.isEmpty()) {
            LOGGER.debug("{}: no DKIM key for {}, sent unsigned", mail.getName(), domain.get());
            return;
        }
        if (alreadySigned(message, key.get())) {
            return;
        }
        // Headers JavaMail would add or rewrite when the message is next saved (MIME-Version,
        // Content-Transfer-Encoding...) are settled now, or they would break the signature.
        message.saveChanges();
        String signature;
        try {
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            message.writeTo(raw);
            signature = new DKIMSigner(key.get().signatureTemplate(), key.get().privateKey())
                .sign(new ByteArrayInputStream(withCrlf(raw.toByteArray())));
        } catch (Exception e) {
            throw new MessagingException("DKIM signing of " + mail.getName() + " as " + key.get().dnsName() + " failed: " + e.getMessage(), e);
        }
        prepend(message, signature);
        LOGGER.debug("{} signed as {}", mail.getName(), key.get().dnsName());
    }

    static Optional<String> authorDomain(MimeMessage message) {
        try {
            Address[] from = message.getFrom();
            if (from == null || from.length == 0 || !(from[0] instanceof InternetAddress address)) {
                return Optional.empty();
            }
            return Optional.of(new MailAddress(address.getAddress()).getDomain().asString().toLowerCase(Locale.ROOT));
        } catch (Exception e) {
            // An unparsable From: is signed by the envelope sender's domain, if any.
            return Optional.empty();
        }
    }

    /** Whether the message carries a signature by {@code key}'s domain and selector. */
    static boolean alreadySigned(MimeMessage message, DkimKey key) throws MessagingException {
        String[] signatures = message.getHeader(HEADER);
        if (signatures == null) {
            return false;
        }
        for (String signature : signatures) {
            String unfolded = signature.replaceAll("\\s+", " ");
            if (key.domain().equalsIgnoreCase(tag(unfolded, "d")) && key.selector().equals(tag(unfolded, "s"))) {
                return true;
            }
        }
        return false;
    }

    static String tag(String signature, String name) {
        Matcher matcher = TAG.matcher(signature);
        while (matcher.find()) {
            if (matcher.group(1).equals(name)) {
                return matcher.group(2).trim();
            }
        }
        return null;
    }

    /** The message as it goes on the wire: every line ending CRLF (what the signature covers). */
    static byte[] withCrlf(byte[] raw) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length + raw.length / 40);
        for (int i = 0; i < raw.length; i++) {
            byte b = raw[i];
            if (b == '\n' && (i == 0 || raw[i - 1] != '\r')) {
                out.write('\r');
            }
            if (b == '\r' && (i + 1 == raw.length || raw[i + 1] != '\n')) {
                out.write(b);
                out.write('\n');
                continue;
            }
            out.write(b);
        }
        return out.toByteArray();
    }

    /** Puts the signature header first, as signers do (headers are read top down). */
    private static void prepend(MimeMessage message, String signatureLine) throws MessagingException {
        List<String> lines = Collections.list(message.getAllHeaderLines());
        Set<String> names = new LinkedHashSet<>();
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                names.add(line.substring(0, colon).trim());
            }
        }
        for (String name : names) {
            message.removeHeader(name);
        }
        message.addHeaderLine(signatureLine);
        for (String line : lines) {
            message.addHeaderLine(line);
        }
    }

    @Override
    public String getMailetInfo() {
        return "Signs outgoing mail with the DKIM key of its author's domain";
    }
}
