package org.mailcluster.backends;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.Optional;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

import org.apache.commons.configuration2.Configuration;

import com.datastax.oss.driver.api.core.CqlSessionBuilder;
import com.datastax.oss.driver.api.core.metadata.EndPoint;
import com.datastax.oss.driver.api.core.ssl.SslEngineFactory;

/**
 * TLS to Cassandra's native port, as {@code conf/cassandra.properties} asks for it:
 *
 * <pre>
 * cassandra.tls     true: every connection over TLS (MC_CASSANDRA_TLS); default false
 * cassandra.tls.ca  optional: PEM file of the CA Cassandra's certificates chain to
 *                   (MC_CASSANDRA_CA); empty: the JVM's CAs
 * </pre>
 *
 * Each Cassandra node's certificate must name the address the driver reaches it at (its
 * rpc_address, an IP address in most clusters): the name is always verified, as a browser
 * would, without reverse DNS lookups.
 */
public record CassandraTls(boolean enabled, Optional<Path> ca) {

    public static CassandraTls from(Configuration configuration) {
        String enabled = PropertyValues.optional(configuration, "cassandra.tls").orElse("false");
        if (!enabled.equals("true") && !enabled.equals("false")) {
            throw new IllegalStateException("conf/cassandra.properties: cassandra.tls (MC_CASSANDRA_TLS) must be true or false, not " + enabled);
        }
        Optional<Path> ca = PropertyValues.optional(configuration, "cassandra.tls.ca").map(Path::of);
        if (ca.isPresent() && enabled.equals("false")) {
            throw new IllegalStateException("conf/cassandra.properties: cassandra.tls.ca (MC_CASSANDRA_CA) is set but cassandra.tls is not true");
        }
        ca.ifPresent(pem -> TrustedCertificates.keyStore(pem, "MC_CASSANDRA_CA"));
        return new CassandraTls(enabled.equals("true"), ca);
    }

    CqlSessionBuilder applyTo(CqlSessionBuilder builder) {
        if (!enabled) {
            return builder;
        }
        SSLContext context = TrustedCertificates.context(ca, "MC_CASSANDRA_CA");
        return builder.withSslEngineFactory(new SslEngineFactory() {
            @Override
            public SSLEngine newSslEngine(EndPoint endPoint) {
                SocketAddress address = endPoint.resolve();
                SSLEngine engine = address instanceof InetSocketAddress inet
                    // getHostString, not getHostName: the address as configured, no reverse lookup
                    ? context.createSSLEngine(inet.getHostString(), inet.getPort())
                    : context.createSSLEngine();
                engine.setUseClientMode(true);
                SSLParameters parameters = engine.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                engine.setSSLParameters(parameters);
                return engine;
            }

            @Override
            public void close() {
            }
        });
    }

    /** What a failed connection means when it failed in the TLS handshake; empty otherwise. */
    String explain(Throwable failure) {
        for (Throwable e = failure; e != null; e = e.getCause() == e ? null : e.getCause()) {
            if (e instanceof javax.net.ssl.SSLException || e instanceof java.security.cert.CertificateException) {
                return " (TLS failed: Cassandra's certificate is not trusted "
                    + ca.map(pem -> "by the CA in " + pem + " (MC_CASSANDRA_CA)").orElse("by the JVM's CAs (set MC_CASSANDRA_CA)")
                    + " or does not name the address it was reached at)";
            }
        }
        return "";
    }
}
