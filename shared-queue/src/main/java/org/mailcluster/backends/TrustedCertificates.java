package org.mailcluster.backends;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import java.util.Optional;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * What a node trusts when it reaches a backend over TLS: exactly the certificates of a PEM file
 * (the CA the backend's certificate chains to, as Kubernetes Secrets and cert-manager hand it
 * out), or, without one, the JVM's CAs. One PEM setting per backend (MC_OPENSEARCH_CA,
 * MC_RABBITMQ_CA, MC_CASSANDRA_CA); the messages name that setting.
 */
public final class TrustedCertificates {
    private TrustedCertificates() {
    }

    /** A TLS context trusting the certificates in {@code pem}, or the JVM's CAs when empty. */
    public static SSLContext context(Optional<Path> pem, String setting) {
        if (pem.isEmpty()) {
            try {
                return SSLContext.getDefault();
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("this JVM has no default TLS context", e);
            }
        }
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(keyStore(pem.get(), setting));
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(setting + " " + pem.get() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The certificates in {@code pem} as a PKCS#12 trust store file of this process's own (owner
     * only, removed at exit), for clients that take their trust only from a store file.
     */
    public static Path asTrustStoreFile(Path pem, String setting, char[] password) {
        try {
            Path file = Files.createTempFile("mailcluster-trust-", ".p12",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            file.toFile().deleteOnExit();
            try (OutputStream out = Files.newOutputStream(file)) {
                keyStore(pem, setting).store(out, password);
            }
            return file;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException(setting + " " + pem + " cannot be written as a trust store: " + e.getMessage(), e);
        }
    }

    static KeyStore keyStore(Path pem, String setting) {
        if (!Files.isReadable(pem)) {
            throw new IllegalStateException(setting + " " + pem + " is not a readable file");
        }
        try (InputStream in = Files.newInputStream(pem)) {
            Collection<? extends Certificate> certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certificates.isEmpty()) {
                throw new IllegalStateException(setting + " " + pem + " holds no certificate");
            }
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            int i = 0;
            for (Certificate certificate : certificates) {
                trusted.setCertificateEntry("trusted-" + i++, certificate);
            }
            return trusted;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException(setting + " " + pem + " cannot be read as PEM certificates: " + e.getMessage(), e);
        }
    }
}
