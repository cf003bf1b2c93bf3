package org.mailcluster.dkim;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Instant;
import java.util.Base64;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One DKIM signing key of a sender domain: its selector, its RSA private key, and the DNS
 * record that publishes its public half ({@code SELECTOR._domainkey.DOMAIN TXT "v=DKIM1; k=rsa;
 * p=..."}, RFC 6376 3.6.1). {@link #toString()} never shows the private key.
 *
 * @param created when the key was added: a domain signs with its newest key
 * @param source  where the key comes from (a file of the node's key directory, or webadmin)
 */
public record DkimKey(String domain, String selector, PrivateKey privateKey, Instant created, Source source) {

    /** Where a key comes from. */
    public enum Source {
        /** A file under the node's key directory (a Kubernetes Secret, var/secrets/dkim locally). */
        FILE,
        /** Added through webadmin, kept in Cassandra. */
        WEBADMIN;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A selector is one DNS label (RFC 6376 3.1): letters, digits and inner hyphens. */
    private static final Pattern SELECTOR = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
    private static final Pattern PEM_ARMOUR = Pattern.compile("-----(BEGIN|END) PRIVATE KEY-----|\\s");
    static final int GENERATED_BITS = 2048;

    public DkimKey {
        domain = domain.toLowerCase(Locale.ROOT);
        if (!isSelector(selector)) {
            throw new IllegalArgumentException("not a DKIM selector (one DNS label): " + selector);
        }
        if (!(privateKey instanceof RSAPrivateCrtKey)) {
            throw new IllegalArgumentException("a DKIM key here is an RSA private key with its public exponent (PKCS#8)");
        }
    }

    public static boolean isSelector(String selector) {
        return selector != null && SELECTOR.matcher(selector).matches();
    }

    /** The DNS name its public key is published under. */
    public String dnsName() {
        return selector + "._domainkey." + domain;
    }

    /** The TXT record's text. */
    public String dnsValue() {
        return "v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(publicKey().getEncoded());
    }

    PublicKey publicKey() {
        RSAPrivateCrtKey rsa = (RSAPrivateCrtKey) privateKey;
        try {
            return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSA is not available", e);
        }
    }

    /** The DKIM-Signature template jDKIM fills in ({@code bh} and {@code b} empty). */
    String signatureTemplate() {
        return "v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + domain + "; s=" + selector
            + "; h=from:to:cc:subject:date:message-id:reply-to:mime-version:content-type:content-transfer-encoding"
            + "; bh=; b=;";
    }

    /** The key as PEM (PKCS#8), for Cassandra. */
    String privateKeyPem() {
        String base64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(privateKey.getEncoded());
        return "-----BEGIN PRIVATE KEY-----\n" + base64 + "\n-----END PRIVATE KEY-----\n";
    }

    /**
     * An RSA private key from PEM, PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}, what
     * {@code openssl genpkey -algorithm RSA} writes).
     *
     * @throws IllegalArgumentException saying what is wrong, never quoting the key
     */
    public static PrivateKey parsePem(String pem) {
        if (pem == null || !pem.contains("-----BEGIN PRIVATE KEY-----")) {
            throw new IllegalArgumentException("not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----; "
                + "convert an RSA key with: openssl pkcs8 -topk8 -nocrypt)");
        }
        byte[] der;
        try {
            der = Base64.getDecoder().decode(PEM_ARMOUR.matcher(pem).replaceAll(""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the PEM private key is not valid base64");
        }
        try {
            PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
            if (!(key instanceof RSAPrivateCrtKey rsa)) {
                throw new IllegalArgumentException("the private key lacks its public exponent");
            }
            if (rsa.getModulus().bitLength() < 1024) {
                throw new IllegalArgumentException("an RSA key of " + rsa.getModulus().bitLength()
                    + " bits is too short for DKIM (RFC 8301: at least 1024, 2048 recommended)");
            }
            return key;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not an RSA private key");
        }
    }

    /** A new {@value #GENERATED_BITS}-bit RSA key. */
    public static PrivateKey generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(GENERATED_BITS);
            return generator.generateKeyPair().getPrivate();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSA is not available", e);
        }
    }

    @Override
    public String toString() {
        BigInteger modulus = ((RSAPrivateCrtKey) privateKey).getModulus();
        return "DkimKey[" + dnsName() + ", rsa-" + modulus.bitLength() + ", " + source.label() + ", " + created + "]";
    }
}
