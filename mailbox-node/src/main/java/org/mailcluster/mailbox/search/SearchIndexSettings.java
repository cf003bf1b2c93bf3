package org.mailcluster.mailbox.search;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import org.apache.commons.configuration2.Configuration;
import org.mailcluster.backends.PropertyValues;

/**
 * Where the message index lives, from {@code conf/opensearch.properties}:
 *
 * <pre>
 * opensearch.url            http://host:port of an OpenSearch node, or of several, comma-separated
 *                           (one scheme for all): the client spreads its requests over them and
 *                           moves away from one that stops answering (it discovers no others)
 * opensearch.index.name     base name; the index is NAME-vVERSION, reached only through the
 *                           aliases NAME-read and NAME-write
 * opensearch.index.shards   primary shards of a new index (cannot change later without reindex)
 * opensearch.index.replicas copies of each shard (0 on a one-node OpenSearch)
 * opensearch.user           optional: HTTP Basic user (the security plugin's, or an
 *                           authenticating proxy's); needs https:// urls
 * opensearch.password       its password (from the environment: MC_OPENSEARCH_PASSWORD)
 * opensearch.ca             optional: PEM file of the certificates (CA) that OpenSearch's TLS
 *                           certificate must chain to; empty: the JVM's trusted CAs. The host
 *                           name is always verified against the certificate.
 * </pre>
 *
 * <p>{@link #MAPPING_VERSION} is the version of {@code message-index.json}. Bumping it makes the
 * next node start create the new index and point writes at it while searches keep reading the
 * old one; once a webadmin reindex has filled it, {@code POST /search/index/switch} moves the
 * read alias over (see docs/search.md).
 */
record SearchIndexSettings(List<URI> urls, String name, int shards, int replicas, Optional<Credentials> credentials,
                           Optional<Path> trustedCertificates) {
    static final int MAPPING_VERSION = 1;

    /** HTTP Basic credentials; toString() leaves the password out (settings get logged). */
    record Credentials(String user, String password) {
        @Override
        public String toString() {
            return "Credentials[user=" + user + "]";
        }
    }

    static SearchIndexSettings from(Configuration configuration) {
        List<URI> urls = urls(configuration);
        URI url = urls.get(0);
        if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
            throw new IllegalStateException("conf/opensearch.properties: opensearch.url must be http:// or https://, not " + url);
        }
        for (URI other : urls) {
            if (!url.getScheme().equals(other.getScheme()) || other.getHost() == null || other.getPort() < 0) {
                throw new IllegalStateException("conf/opensearch.properties: opensearch.url: every node is scheme://host:port, "
                    + "with one scheme for all, not " + other);
            }
        }
        String user = PropertyValues.optional(configuration, "opensearch.user").orElse("");
        String password = PropertyValues.optional(configuration, "opensearch.password").orElse("");
        String ca = PropertyValues.optional(configuration, "opensearch.ca").orElse("");
        if (user.isEmpty() != password.isEmpty()) {
            throw new IllegalStateException("conf/opensearch.properties: opensearch.user and opensearch.password go together "
                + "(MC_OPENSEARCH_USER, MC_OPENSEARCH_PASSWORD)");
        }
        if (!user.isEmpty() && !"https".equals(url.getScheme())) {
            throw new IllegalStateException("conf/opensearch.properties: opensearch.user needs an https:// opensearch.url "
                + "(the password would travel in clear to " + url + ")");
        }
        if (!ca.isEmpty() && !"https".equals(url.getScheme())) {
            throw new IllegalStateException("conf/opensearch.properties: opensearch.ca is set but opensearch.url " + url + " is not https://");
        }
        if (!ca.isEmpty() && !Files.isReadable(Path.of(ca))) {
            throw new IllegalStateException("conf/opensearch.properties: opensearch.ca " + ca + " is not a readable file");
        }
        return new SearchIndexSettings(urls,
            configuration.getString("opensearch.index.name", "mailcluster-messages"),
            configuration.getInt("opensearch.index.shards", 1),
            configuration.getInt("opensearch.index.replicas", 0),
            user.isEmpty() ? Optional.empty() : Optional.of(new Credentials(user, password)),
            ca.isEmpty() ? Optional.empty() : Optional.of(Path.of(ca)));
    }

    /** The nodes, whether the file's list or one variable's value holds the commas. */
    private static List<URI> urls(Configuration configuration) {
        List<String> values = Arrays.stream(configuration.getStringArray("opensearch.url"))
            .flatMap(value -> Arrays.stream(value.split(",")))
            .map(String::trim)
            .filter(value -> !value.isEmpty())
            .toList();
        if (values.isEmpty() || values.stream().anyMatch(value -> value.contains("${"))) {
            throw new IllegalStateException("conf/opensearch.properties: opensearch.url is not set");
        }
        return values.stream().map(URI::create).toList();
    }

    String currentIndex() {
        return name + "-v" + MAPPING_VERSION;
    }

    String readAlias() {
        return name + "-read";
    }

    String writeAlias() {
        return name + "-write";
    }
}
