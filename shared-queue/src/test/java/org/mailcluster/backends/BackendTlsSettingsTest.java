package org.mailcluster.backends;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Map;

import javax.net.ssl.SSLHandshakeException;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.commons.configuration2.Configuration;
import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.junit.jupiter.api.Test;

/**
 * How rabbitmq.properties and cassandra.properties turn into TLS: the URI's scheme decides for
 * RabbitMQ (never a trust-all connection), a PEM CA becomes what the clients trust, and settings
 * that contradict each other stop the node with a message naming them.
 */
class BackendTlsSettingsTest {

    static Path testCa() throws URISyntaxException {
        return Path.of(BackendTlsSettingsTest.class.getResource("/tls/test-ca.pem").toURI());
    }

    static Configuration rabbitmq(Map<String, String> values) {
        BaseConfiguration configuration = new BaseConfiguration();
        configuration.setProperty("management.user", "guest");
        configuration.setProperty("management.password", "guest");
        values.forEach(configuration::setProperty);
        return configuration;
    }

    @Test
    void plainUrisMeanNoTlsAndAnUnsetCaFromTheEnvironmentIsNoCa() {
        Configuration file = rabbitmq(Map.of("uri", "amqp://rabbit:5672", "management.uri", "http://rabbit:15672",
            "tls.ca", "${env:MC_RABBITMQ_CA}"));
        RabbitMQTls tls = RabbitMQTls.from(file);
        assertThat(tls).isEqualTo(new RabbitMQTls(false, false, java.util.Optional.empty()));
        RabbitMQConfiguration james = RabbitMQConfiguration.from(tls.forJames(file));
        assertThat(james.useSsl()).isFalse();
        assertThat(james.useSslManagement()).isFalse();
    }

    @Test
    void amqpsAndHttpsTurnTlsOnWithTheCaAsJamesTrustStore() throws Exception {
        Configuration file = rabbitmq(Map.of("uri", "amqps://rabbit:5671", "management.uri", "https://rabbit:15671",
            "tls.ca", testCa().toString()));
        RabbitMQTls tls = RabbitMQTls.from(file);
        Configuration forJames = tls.forJames(file);
        RabbitMQConfiguration james = RabbitMQConfiguration.from(forJames);
        assertThat(james.useSsl()).isTrue();
        assertThat(james.useSslManagement()).isTrue();
        assertThat(james.getSslConfiguration().getStrategy()).isEqualTo(RabbitMQConfiguration.SSLConfiguration.SSLValidationStrategy.OVERRIDE);
        assertThat(james.getSslConfiguration().getHostNameVerifier()).isEqualTo(RabbitMQConfiguration.SSLConfiguration.HostNameVerifier.DEFAULT);

        Path store = Path.of(forJames.getString("ssl.truststore"));
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            trusted.load(in, forJames.getString("ssl.truststore.password").toCharArray());
        }
        assertThat(trusted.size()).isEqualTo(1);
        assertThat(Files.getPosixFilePermissions(store)).extracting(Object::toString).containsOnly("OWNER_READ", "OWNER_WRITE");
        assertThat(tls.managementContext()).isNotNull();
    }

    @Test
    void amqpsWithoutCaTrustsTheJvmsCasNotAnyCertificate() {
        Configuration file = rabbitmq(Map.of("uri", "amqps://rabbit:5671", "management.uri", "http://rabbit:15672"));
        RabbitMQConfiguration james = RabbitMQConfiguration.from(RabbitMQTls.from(file).forJames(file));
        assertThat(james.useSsl()).isTrue();
        assertThat(james.getSslConfiguration().getStrategy()).isEqualTo(RabbitMQConfiguration.SSLConfiguration.SSLValidationStrategy.DEFAULT);
    }

    @Test
    void contradictoryRabbitMQSettingsAreRefusedByName() throws Exception {
        assertThatThrownBy(() -> RabbitMQTls.from(rabbitmq(Map.of("uri", "amqp://rabbit:5672", "management.uri", "http://rabbit:15672",
                "tls.ca", testCa().toString()))))
            .hasMessageContaining("tls.ca (MC_RABBITMQ_CA) is set but neither uri is amqps://");
        assertThatThrownBy(() -> RabbitMQTls.from(rabbitmq(Map.of("uri", "amqps://rabbit:5671", "management.uri", "https://rabbit:15671",
                "ssl.validation.strategy", "ignore"))))
            .hasMessageContaining("ssl.validation.strategy is not set by hand");
        assertThatThrownBy(() -> RabbitMQTls.from(rabbitmq(Map.of("uri", "amqps://rabbit:5671", "management.uri", "https://rabbit:15671",
                "tls.ca", "/nonexistent/ca.pem"))))
            .hasMessageContaining("MC_RABBITMQ_CA /nonexistent/ca.pem is not a readable file");
    }

    @Test
    void cassandraTlsIsOffUnlessSaidAndItsCaNeedsIt() throws Exception {
        BaseConfiguration unset = new BaseConfiguration();
        unset.setProperty("cassandra.tls", "${env:MC_CASSANDRA_TLS}");
        unset.setProperty("cassandra.tls.ca", "${env:MC_CASSANDRA_CA}");
        assertThat(CassandraTls.from(unset).enabled()).isFalse();

        BaseConfiguration on = new BaseConfiguration();
        on.setProperty("cassandra.tls", "true");
        on.setProperty("cassandra.tls.ca", testCa().toString());
        assertThat(CassandraTls.from(on)).isEqualTo(new CassandraTls(true, java.util.Optional.of(testCa())));

        BaseConfiguration caOnly = new BaseConfiguration();
        caOnly.setProperty("cassandra.tls.ca", testCa().toString());
        assertThatThrownBy(() -> CassandraTls.from(caOnly)).hasMessageContaining("cassandra.tls.ca (MC_CASSANDRA_CA) is set but cassandra.tls is not true");

        BaseConfiguration typo = new BaseConfiguration();
        typo.setProperty("cassandra.tls", "yes");
        assertThatThrownBy(() -> CassandraTls.from(typo)).hasMessageContaining("must be true or false, not yes");
    }

    @Test
    void aFailedHandshakeIsExplainedWithTheCaSetting() throws Exception {
        CassandraTls tls = new CassandraTls(true, java.util.Optional.of(testCa()));
        RuntimeException failure = new RuntimeException("Could not reach any contact point",
            new SSLHandshakeException("PKIX path building failed"));
        assertThat(tls.explain(failure)).contains("not trusted by the CA in " + testCa() + " (MC_CASSANDRA_CA)");
        assertThat(tls.explain(new RuntimeException("connection refused"))).isEmpty();
    }

    @Test
    void aPemWithoutCertificatesIsRefused() throws Exception {
        Path empty = Files.createTempFile("empty", ".pem");
        try {
            assertThatThrownBy(() -> TrustedCertificates.context(java.util.Optional.of(empty), "MC_CASSANDRA_CA"))
                .hasMessageContaining("MC_CASSANDRA_CA " + empty + " holds no certificate");
        } finally {
            Files.delete(empty);
        }
    }
}
