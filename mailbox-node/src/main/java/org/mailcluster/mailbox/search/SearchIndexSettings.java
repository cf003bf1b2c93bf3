package org.mailcluster.mailbox.search;

import java.net.URI;

import org.apache.commons.configuration2.Configuration;

/**
 * Where the message index lives, from {@code conf/opensearch.properties}:
 *
 * <pre>
 * opensearch.url            http://host:port of one OpenSearch node (the client finds no others)
 * opensearch.index.name     base name; the index is NAME-vVERSION, reached only through the
 *                           aliases NAME-read and NAME-write
 * opensearch.index.shards   primary shards of a new index (cannot change later without reindex)
 * opensearch.index.replicas copies of each shard (0 on a one-node OpenSearch)
 * </pre>
 *
 * <p>{@link #MAPPING_VERSION} is the version of {@code message-index.json}. Bumping it makes the
 * next node start create the new index and point writes at it while searches keep reading the
 * old one; once a webadmin reindex has filled it, {@code POST /search/index/switch} moves the
 * read alias over (see docs/search.md).
 */
record SearchIndexSettings(URI url, String name, int shards, int replicas) {
    static final int MAPPING_VERSION = 1;

    static SearchIndexSettings from(Configuration configuration) {
        return new SearchIndexSettings(
            URI.create(required(configuration, "opensearch.url")),
            configuration.getString("opensearch.index.name", "mailcluster-messages"),
            configuration.getInt("opensearch.index.shards", 1),
            configuration.getInt("opensearch.index.replicas", 0));
    }

    private static String required(Configuration configuration, String key) {
        String value = configuration.getString(key, "");
        if (value.isBlank() || value.contains("${")) {
            throw new IllegalStateException("conf/opensearch.properties: " + key + " is not set");
        }
        return value;
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
