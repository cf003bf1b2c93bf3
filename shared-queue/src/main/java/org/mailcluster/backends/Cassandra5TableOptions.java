package org.mailcluster.backends;

import java.lang.reflect.Field;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.backends.cassandra.components.CassandraTable;
import org.apache.james.backends.cassandra.components.CassandraType;
import org.apache.james.backends.cassandra.init.CassandraTypesProvider;

import com.datastax.oss.driver.api.querybuilder.schema.CreateTableWithOptions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;

/**
 * Makes James 3.8.1 table definitions acceptable to Cassandra 5.0, which the cluster runs.
 *
 * <p>A few James tables (the mailbox table and the message metadata table among them) ask
 * for LZ4 compression through the 4.x driver's {@code withLZ4Compression(chunkKb, crcChance)},
 * which emits {@code compression = {'class':..., 'chunk_length_kb':8, 'crc_check_chance':1.0}}.
 * Cassandra 5.0 rejects both sub-options ("Unknown compression options"): the chunk size is
 * now spelled {@code chunk_length_in_kb} and {@code crc_check_chance} is a table option.
 * Without this rewrite the mailbox node cannot create its schema at all.
 *
 * <p>{@link CassandraTable} keeps its statement factory private and offers no way to derive
 * a modified table, so the factory is read by reflection. James is pinned at 3.8.1, and a
 * change of that field fails at start-up with a clear message, not silently.
 */
public final class Cassandra5TableOptions {
    private static final String COMPRESSION = "compression";
    private static final String OLD_CHUNK_LENGTH = "chunk_length_kb";
    private static final String CHUNK_LENGTH = "chunk_length_in_kb";
    private static final String CRC_CHECK_CHANCE = "crc_check_chance";

    private static final Field CREATE_STATEMENT = statementField();

    private Cassandra5TableOptions() {
    }

    /** The same tables and types, each table created with Cassandra 5 compatible options. */
    public static CassandraModule compatible(CassandraModule module) {
        List<CassandraTable> tables = module.moduleTables().stream()
            .map(Cassandra5TableOptions::compatible)
            .collect(ImmutableList.toImmutableList());
        List<CassandraType> types = module.moduleTypes();
        return new CassandraModule() {
            @Override
            public List<CassandraTable> moduleTables() {
                return tables;
            }

            @Override
            public List<CassandraType> moduleTypes() {
                return types;
            }
        };
    }

    private static CassandraTable compatible(CassandraTable table) {
        Function<CassandraTypesProvider, CreateTableWithOptions> original = statementOf(table);
        return new CassandraTable(table.getName(), original.andThen(Cassandra5TableOptions::rewriteOptions));
    }

    static CreateTableWithOptions rewriteOptions(CreateTableWithOptions statement) {
        Object compression = statement.getOptions().get(COMPRESSION);
        if (!(compression instanceof Map)) {
            return statement;
        }
        Map<?, ?> legacy = (Map<?, ?>) compression;
        if (!legacy.containsKey(OLD_CHUNK_LENGTH) && !legacy.containsKey(CRC_CHECK_CHANCE)) {
            return statement;
        }
        ImmutableMap.Builder<String, Object> modern = ImmutableMap.builder();
        Object crcCheckChance = null;
        for (Map.Entry<?, ?> entry : legacy.entrySet()) {
            String key = String.valueOf(entry.getKey());
            if (key.equals(OLD_CHUNK_LENGTH)) {
                modern.put(CHUNK_LENGTH, entry.getValue());
            } else if (key.equals(CRC_CHECK_CHANCE)) {
                crcCheckChance = entry.getValue();
            } else {
                modern.put(key, entry.getValue());
            }
        }
        // withOption replaces an option already present.
        CreateTableWithOptions rewritten = statement.withOption(COMPRESSION, modern.build());
        if (crcCheckChance != null) {
            rewritten = rewritten.withOption(CRC_CHECK_CHANCE, crcCheckChance);
        }
        return rewritten;
    }

    @SuppressWarnings("unchecked")
    private static Function<CassandraTypesProvider, CreateTableWithOptions> statementOf(CassandraTable table) {
        try {
            return (Function<CassandraTypesProvider, CreateTableWithOptions>) CREATE_STATEMENT.get(table);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("Cannot read the create statement of Cassandra table " + table.getName(), e);
        }
    }

    private static Field statementField() {
        try {
            Field field = CassandraTable.class.getDeclaredField("createStatement");
            field.setAccessible(true);
            return field;
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException("CassandraTable no longer has a 'createStatement' field: "
                + "the James version changed, revisit " + Cassandra5TableOptions.class.getSimpleName(), e);
        }
    }
}
