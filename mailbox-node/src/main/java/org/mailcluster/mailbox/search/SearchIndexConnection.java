package org.mailcluster.mailbox.search;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.apache.http.HttpHost;
import org.apache.http.auth.AuthScope;
import org.apache.http.auth.UsernamePasswordCredentials;
import org.apache.http.impl.client.BasicCredentialsProvider;
import org.opensearch.client.RestClient;

/**
 * The HTTP connection to OpenSearch as the settings describe it: plain or TLS (verifying the
 * server's certificate and host name, against {@code opensearch.ca} when given), with HTTP Basic
 * credentials when given. Every use of OpenSearch (indexing, searches, the index layout, the
 * health check) goes through the one RestClient made here.
 */
final class SearchIndexConnection {
    private SearchIndexConnection() {
    }

    static RestClient restClient(SearchIndexSettings settings) {
        URI url = settings.url();
        SSLContext tls = settings.trustedCertificates().map(SearchIndexConnection::trusting).orElse(null);
        return RestClient.builder(new HttpHost(url.getHost(), url.getPort(), url.getScheme()))
            // Short enough that an IMAP SEARCH during an outage fails fast instead of hanging.
            .setRequestConfigCallback(config -> config.setConnectTimeout(2_000).setSocketTimeout(30_000))
            .setHttpClientConfigCallback(client -> {
                settings.credentials().ifPresent(credentials -> {
                    BasicCredentialsProvider provider = new BasicCredentialsProvider();
                    provider.setCredentials(new AuthScope(url.getHost(), url.getPort()),
                        new UsernamePasswordCredentials(credentials.user(), credentials.password()));
                    client.setDefaultCredentialsProvider(provider);
                });
                if (tls != null) {
                    client.setSSLContext(tls);
                }
                return client;
            })
            .build();
    }

    /** A TLS context trusting exactly the certificates of a PEM file (the CA of OpenSearch's certificate). */
    static SSLContext trusting(Path pem) {
        try (InputStream in = Files.newInputStream(pem)) {
            Collection<? extends Certificate> certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certificates.isEmpty()) {
                throw new IllegalStateException("opensearch.ca " + pem + " holds no certificate");
            }
            KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            int i = 0;
            for (Certificate certificate : certificates) {
                trusted.setCertificateEntry("opensearch-ca-" + i++, certificate);
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("opensearch.ca " + pem + " cannot be read as PEM certificates: " + e.getMessage(), e);
        }
    }
}
