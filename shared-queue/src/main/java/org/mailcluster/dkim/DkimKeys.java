package org.mailcluster.dkim;

import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.bindMarker;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.deleteFrom;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.insertInto;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.selectFrom;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

import javax.annotation.PreDestroy;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.mailcluster.backends.PeriodicallyReloaded;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.type.DataTypes;

/**
 * The DKIM keys the cluster signs with, per sender domain, from two sources:
 * <ul>
 *   <li><b>files</b>: {@code KEYS_DIR/DOMAIN/SELECTOR.pem} (PKCS#8 PEM), the directory given by
 *       {@code MC_DKIM_KEYS} (a mounted Secret in Kubernetes, {@code var/secrets/dkim} in the
 *       local cluster, where {@code ./mailcluster up} generates the cluster domain's key); a
 *       file's modification time is its key's date;</li>
 *   <li><b>webadmin</b>: keys an operator added or had generated through {@code /dkim}, kept in
 *       Cassandra so that every submission node signs with them.</li>
 * </ul>
 * A domain signs with its newest key: rotating is adding a key under a new selector, publishing
 * its record, and removing the old one once mail signed with it has been delivered.
 *
 * <p>Like the routing table, each node reads both sources at start and every {@link #REFRESH}.
 * A node that could not read them yet refuses to say (mail is deferred, not sent unsigned);
 * after that it signs with what it last read. Private keys are never logged.
 */
public class DkimKeys {
    private static final Logger LOGGER = LoggerFactory.getLogger(DkimKeys.class);

    public static final Duration REFRESH = Duration.ofSeconds(5);
    static final String TABLE = "dkim_keys";
    static final String DOMAIN = "domain";
    static final String SELECTOR = "selector";
    static final String PRIVATE_KEY = "private_key";
    static final String CREATED = "created";

    public static final CassandraModule MODULE = CassandraModule.table(TABLE)
        .comment("DKIM signing keys added through webadmin, per sender domain and selector (see DkimKeys).")
        .statement(statement -> types -> statement
            .withPartitionKey(DOMAIN, DataTypes.TEXT)
            .withClusteringColumn(SELECTOR, DataTypes.TEXT)
            .withColumn(PRIVATE_KEY, DataTypes.TEXT)
            .withColumn(CREATED, DataTypes.TIMESTAMP))
        .build();

    /** The keys could not be read yet. */
    public static final class KeysUnavailable extends IllegalStateException {
        KeysUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final CqlSession session;
    private final Optional<Path> directory;
    private final PreparedStatement insert;
    private final PreparedStatement delete;
    private final PreparedStatement selectAll;
    private final PeriodicallyReloaded<Map<String, List<DkimKey>>> byDomain;

    public DkimKeys(CqlSession session, Optional<Path> directory) {
        this.session = session;
        this.directory = directory;
        this.insert = session.prepare(insertInto(TABLE)
            .value(DOMAIN, bindMarker(DOMAIN)).value(SELECTOR, bindMarker(SELECTOR))
            .value(PRIVATE_KEY, bindMarker(PRIVATE_KEY)).value(CREATED, bindMarker(CREATED)).build());
        this.delete = session.prepare(deleteFrom(TABLE)
            .whereColumn(DOMAIN).isEqualTo(bindMarker(DOMAIN)).whereColumn(SELECTOR).isEqualTo(bindMarker(SELECTOR)).build());
        this.selectAll = session.prepare(selectFrom(TABLE).columns(DOMAIN, SELECTOR, PRIVATE_KEY, CREATED).build());
        this.byDomain = new PeriodicallyReloaded<>("the DKIM keys", REFRESH, this::load,
            lastFailure -> new KeysUnavailable("the DKIM keys have not been read yet", lastFailure));
    }

    @PreDestroy
    public void stop() {
        byDomain.stop();
    }

    /** The key {@code domain} signs with: its newest. */
    public Optional<DkimKey> signingKey(String domain) {
        return keysOf(domain).stream().findFirst();
    }

    /** Every key of {@code domain}, newest first. */
    public List<DkimKey> keysOf(String domain) {
        return loaded().getOrDefault(domain.toLowerCase(Locale.ROOT), List.of());
    }

    /** Every domain's keys, newest first. */
    public Map<String, List<DkimKey>> all() {
        return new TreeMap<>(loaded());
    }

    /** Adds a key through webadmin (this node sees it at once, the others within {@link #REFRESH}). */
    public DkimKey add(String domain, String selector, java.security.PrivateKey privateKey) {
        DkimKey key = new DkimKey(domain, selector, privateKey, Instant.now(), DkimKey.Source.WEBADMIN);
        session.execute(insert.bind()
            .setString(DOMAIN, key.domain()).setString(SELECTOR, key.selector())
            .setString(PRIVATE_KEY, key.privateKeyPem()).setInstant(CREATED, key.created()));
        refreshOrFail();
        return key;
    }

    /** Removes a key added through webadmin. */
    public void remove(String domain, String selector) {
        session.execute(delete.bind().setString(DOMAIN, domain.toLowerCase(Locale.ROOT)).setString(SELECTOR, selector));
        refreshOrFail();
    }

    public void refreshOrFail() {
        byDomain.reloadOrFail();
    }

    private Map<String, List<DkimKey>> load() {
        Map<String, List<DkimKey>> keys = new TreeMap<>();
        directory.ifPresent(dir -> readFiles(dir).forEach(key -> keys.computeIfAbsent(key.domain(), d -> new ArrayList<>()).add(key)));
        for (Row row : session.execute(selectAll.bind())) {
            String domain = row.getString(DOMAIN);
            String selector = row.getString(SELECTOR);
            try {
                DkimKey key = new DkimKey(domain, selector, DkimKey.parsePem(row.getString(PRIVATE_KEY)),
                    Optional.ofNullable(row.getInstant(CREATED)).orElse(Instant.EPOCH), DkimKey.Source.WEBADMIN);
                keys.computeIfAbsent(key.domain(), d -> new ArrayList<>()).add(key);
            } catch (IllegalArgumentException e) {
                LOGGER.error("ignoring the unreadable DKIM key {}._domainkey.{} in Cassandra: {}", selector, domain, e.getMessage());
            }
        }
        keys.replaceAll((domain, list) -> list.stream()
            .sorted(Comparator.comparing(DkimKey::created).reversed().thenComparing(DkimKey::selector))
            .toList());
        return Map.copyOf(keys);
    }

    /** {@code DIR/DOMAIN/SELECTOR.pem}; a file that cannot be read is named in the log and skipped. */
    static List<DkimKey> readFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<DkimKey> keys = new ArrayList<>();
        try (Stream<Path> domains = Files.list(dir)) {
            for (Path domainDir : domains.filter(Files::isDirectory).toList()) {
                try (Stream<Path> files = Files.list(domainDir)) {
                    for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".pem")).sorted().toList()) {
                        String name = file.getFileName().toString();
                        String selector = name.substring(0, name.length() - ".pem".length());
                        try {
                            keys.add(new DkimKey(domainDir.getFileName().toString(), selector,
                                DkimKey.parsePem(Files.readString(file, StandardCharsets.US_ASCII)),
                                Files.getLastModifiedTime(file).toInstant(), DkimKey.Source.FILE));
                        } catch (IOException | IllegalArgumentException e) {
                            LOGGER.error("ignoring the DKIM key file {}: {}", file, e.getMessage());
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("reading the DKIM key directory " + dir, e);
        }
        return keys;
    }

    private Map<String, List<DkimKey>> loaded() {
        return byDomain.get();
    }
}
