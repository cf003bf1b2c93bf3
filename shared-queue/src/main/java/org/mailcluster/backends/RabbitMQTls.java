package org.mailcluster.backends;

import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.SSLContext;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.commons.configuration2.CompositeConfiguration;
import org.apache.commons.configuration2.Configuration;

/**
 * TLS to RabbitMQ, as {@code conf/rabbitmq.properties} asks for it:
 *
 * <pre>
 * uri             amqps://host:port: the mail queues and the event bus over TLS
 * management.uri  https://host:port: the management API (queue sizes) over TLS
 * tls.ca          optional: PEM file of the CA the broker's certificates chain to (from the
 *                 environment: MC_RABBITMQ_CA); empty: the JVM's CAs
 * </pre>
 *
 * The broker's host name is always verified against its certificate.
 *
 * <p>Why the settings James reads ({@code ssl.enabled}, {@code ssl.management.enabled},
 * {@code ssl.validation.strategy}, {@code ssl.truststore}) are derived here instead of written in
 * the file: James's connection factory takes trust only from a key-store file with a password,
 * where the operator has a PEM CA; and with an amqps:// URI but {@code ssl.enabled} left unset,
 * the RabbitMQ client quietly trusts any certificate. So the scheme alone decides, and a CA
 * becomes a trust store file of the node's own.
 */
public record RabbitMQTls(boolean amqp, boolean management, Optional<Path> ca) {
    static final String CA = "tls.ca";
    static final List<String> DERIVED = List.of("ssl.enabled", "ssl.management.enabled", "ssl.validation.strategy",
        "ssl.truststore", "ssl.truststore.password");

    public static RabbitMQTls from(Configuration configuration) {
        for (String key : DERIVED) {
            if (configuration.containsKey(key)) {
                throw new IllegalStateException("conf/rabbitmq.properties: " + key + " is not set by hand here; TLS follows the "
                    + "schemes of uri (amqps://) and management.uri (https://), trusting tls.ca (MC_RABBITMQ_CA)");
            }
        }
        boolean amqp = "amqps".equals(scheme(configuration, "uri"));
        boolean management = "https".equals(scheme(configuration, "management.uri"));
        Optional<Path> ca = PropertyValues.optional(configuration, CA).map(Path::of);
        if (ca.isPresent() && !amqp && !management) {
            throw new IllegalStateException("conf/rabbitmq.properties: tls.ca (MC_RABBITMQ_CA) is set but neither uri is amqps:// "
                + "nor management.uri https://");
        }
        ca.ifPresent(pem -> TrustedCertificates.keyStore(pem, "MC_RABBITMQ_CA"));
        return new RabbitMQTls(amqp, management, ca);
    }

    private static String scheme(Configuration configuration, String key) {
        return PropertyValues.optional(configuration, key).map(URI::create).map(URI::getScheme).orElse("");
    }

    /** The configuration James's RabbitMQ classes read: the file's, with the ssl.* keys this TLS needs. */
    public Configuration forJames(Configuration configuration) {
        BaseConfiguration derived = new BaseConfiguration();
        derived.setProperty("ssl.enabled", amqp);
        derived.setProperty("ssl.management.enabled", management);
        if (ca.isPresent() && (amqp || management)) {
            char[] password = password();
            derived.setProperty("ssl.validation.strategy", "override");
            derived.setProperty("ssl.truststore", TrustedCertificates.asTrustStoreFile(ca.get(), "MC_RABBITMQ_CA", password).toString());
            derived.setProperty("ssl.truststore.password", new String(password));
        }
        CompositeConfiguration both = new CompositeConfiguration();
        both.addConfiguration(derived);
        both.addConfiguration(configuration);
        return both;
    }

    /** What the management API's certificate must chain to. */
    public SSLContext managementContext() {
        return TrustedCertificates.context(ca, "MC_RABBITMQ_CA");
    }

    private static char[] password() {
        SecureRandom random = new SecureRandom();
        char[] password = new char[24];
        for (int i = 0; i < password.length; i++) {
            password[i] = (char) ('a' + random.nextInt(26));
        }
        return password;
    }
}
