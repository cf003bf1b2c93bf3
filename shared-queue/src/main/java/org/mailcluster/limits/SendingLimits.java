package org.mailcluster.limits;

import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.bindMarker;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.deleteFrom;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.insertInto;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.selectFrom;
import static com.datastax.oss.driver.api.querybuilder.SchemaBuilder.timeWindowCompactionStrategy;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;

import javax.inject.Inject;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.core.Domain;
import org.apache.james.core.Username;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.type.DataTypes;
import com.datastax.oss.driver.api.core.uuid.Uuids;
import com.datastax.oss.driver.api.querybuilder.schema.compaction.TimeWindowCompactionStrategy;

/**
 * Sending limits that hold across every submission node, because their state is in
 * Cassandra rather than in a node: the limits set per user and per domain through webadmin
 * ({@code sending_limits}), and each user's messages of the last hour ({@code sent_messages},
 * one row per message, which Cassandra drops after an hour).
 *
 * <p>The hourly count is a sliding hour, not a clock hour: a user at the limit can send again
 * as soon as their oldest message of the hour is an hour old. Nodes check and then record
 * without a lock, so messages accepted at the same moment on several nodes can pass the limit
 * by as many; a limit guards a reputation, not an exact quota.
 *
 * <p>Defaults: {@code MC_LIMIT_MESSAGES_PER_HOUR} (500) and
 * {@code MC_LIMIT_RECIPIENTS_PER_MESSAGE} (100).
 */
public class SendingLimits {
    public static final String MESSAGES_PER_HOUR_ENV = "MC_LIMIT_MESSAGES_PER_HOUR";
    public static final String RECIPIENTS_PER_MESSAGE_ENV = "MC_LIMIT_RECIPIENTS_PER_MESSAGE";
    static final int DEFAULT_MESSAGES_PER_HOUR = 500;
    static final int DEFAULT_RECIPIENTS_PER_MESSAGE = 100;
    static final Duration WINDOW = Duration.ofHours(1);

    static final String LIMITS_TABLE = "sending_limits";
    static final String SCOPE = "scope";
    static final String NAME = "name";
    static final String MESSAGES_PER_HOUR = "messages_per_hour";
    static final String RECIPIENTS_PER_MESSAGE = "recipients_per_message";
    static final String SENT_TABLE = "sent_messages";
    static final String USER = "user";
    static final String SENT = "sent";

    public static final CassandraModule MODULE = CassandraModule.builder()
        .table(LIMITS_TABLE)
        .comment("Sending limits set through webadmin, per user and per domain (see SendingLimits).")
        .statement(statement -> types -> statement
            .withPartitionKey(SCOPE, DataTypes.TEXT)
            .withClusteringColumn(NAME, DataTypes.TEXT)
            .withColumn(MESSAGES_PER_HOUR, DataTypes.INT)
            .withColumn(RECIPIENTS_PER_MESSAGE, DataTypes.INT))
        .table(SENT_TABLE)
        .comment("One row per message a user sent, gone after an hour: the sliding hour of SendingLimits.")
        // Rows expire after the window; expired rows are purged an hour later, and whole
        // SSTables of expired rows are dropped by the time-window compaction.
        .options(options -> options
            .withDefaultTimeToLiveSeconds((int) WINDOW.toSeconds())
            .withGcGraceSeconds((int) WINDOW.toSeconds())
            .withCompaction(timeWindowCompactionStrategy()
                .withCompactionWindow(10, TimeWindowCompactionStrategy.CompactionWindowUnit.MINUTES)))
        .statement(statement -> types -> statement
            .withPartitionKey(USER, DataTypes.TEXT)
            .withClusteringColumn(SENT, DataTypes.TIMEUUID))
        .build();

    /** What a limit is set for. */
    public enum Scope {
        USER, DOMAIN;

        String column() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final CqlSession session;
    private final SendingLimit.Effective defaults;
    private final PreparedStatement insertLimit;
    private final PreparedStatement deleteLimit;
    private final PreparedStatement selectLimit;
    private final PreparedStatement selectScope;
    private final PreparedStatement insertSent;
    private final PreparedStatement countSent;

    @Inject
    public SendingLimits(CqlSession session) {
        this(session, new SendingLimit.Effective(
            SendingLimit.defaultFrom(MESSAGES_PER_HOUR_ENV, System.getenv(MESSAGES_PER_HOUR_ENV), DEFAULT_MESSAGES_PER_HOUR),
            SendingLimit.Source.DEFAULT,
            SendingLimit.defaultFrom(RECIPIENTS_PER_MESSAGE_ENV, System.getenv(RECIPIENTS_PER_MESSAGE_ENV), DEFAULT_RECIPIENTS_PER_MESSAGE),
            SendingLimit.Source.DEFAULT));
    }

    SendingLimits(CqlSession session, SendingLimit.Effective defaults) {
        this.session = session;
        this.defaults = defaults;
        this.insertLimit = session.prepare(insertInto(LIMITS_TABLE)
            .value(SCOPE, bindMarker(SCOPE)).value(NAME, bindMarker(NAME))
            .value(MESSAGES_PER_HOUR, bindMarker(MESSAGES_PER_HOUR))
            .value(RECIPIENTS_PER_MESSAGE, bindMarker(RECIPIENTS_PER_MESSAGE)).build());
        this.deleteLimit = session.prepare(deleteFrom(LIMITS_TABLE)
            .whereColumn(SCOPE).isEqualTo(bindMarker(SCOPE)).whereColumn(NAME).isEqualTo(bindMarker(NAME)).build());
        this.selectLimit = session.prepare(selectFrom(LIMITS_TABLE).columns(NAME, MESSAGES_PER_HOUR, RECIPIENTS_PER_MESSAGE)
            .whereColumn(SCOPE).isEqualTo(bindMarker(SCOPE)).whereColumn(NAME).isEqualTo(bindMarker(NAME)).build());
        this.selectScope = session.prepare(selectFrom(LIMITS_TABLE).columns(NAME, MESSAGES_PER_HOUR, RECIPIENTS_PER_MESSAGE)
            .whereColumn(SCOPE).isEqualTo(bindMarker(SCOPE)).build());
        this.insertSent = session.prepare(insertInto(SENT_TABLE)
            .value(USER, bindMarker(USER)).value(SENT, bindMarker(SENT)).build());
        this.countSent = session.prepare(selectFrom(SENT_TABLE).countAll()
            .whereColumn(USER).isEqualTo(bindMarker(USER)).whereColumn(SENT).isGreaterThan(bindMarker(SENT)).build());
    }

    public SendingLimit.Effective defaults() {
        return defaults;
    }

    public void set(Scope scope, String name, SendingLimit limit) {
        session.execute(insertLimit.bind()
            .setString(SCOPE, scope.column()).setString(NAME, name)
            .set(MESSAGES_PER_HOUR, boxed(limit.messagesPerHour()), Integer.class)
            .set(RECIPIENTS_PER_MESSAGE, boxed(limit.recipientsPerMessage()), Integer.class));
    }

    public void remove(Scope scope, String name) {
        session.execute(deleteLimit.bind().setString(SCOPE, scope.column()).setString(NAME, name));
    }

    public Optional<SendingLimit> get(Scope scope, String name) {
        return Optional.ofNullable(session.execute(selectLimit.bind().setString(SCOPE, scope.column()).setString(NAME, name)).one())
            .map(SendingLimits::limit);
    }

    public Map<String, SendingLimit> all(Scope scope) {
        Map<String, SendingLimit> all = new TreeMap<>();
        for (Row row : session.execute(selectScope.bind().setString(SCOPE, scope.column()))) {
            all.put(row.getString(NAME), limit(row));
        }
        return all;
    }

    /** The limits that apply to {@code user}: their own, their domain's, the defaults. */
    public SendingLimit.Effective effective(Username user) {
        return SendingLimit.resolve(
            get(Scope.USER, key(user)),
            user.getDomainPart().map(Domain::asString).flatMap(domain -> get(Scope.DOMAIN, domain)),
            defaults);
    }

    /** Messages {@code user} sent in the last hour, on any node. */
    public long sentInTheLastHour(Username user) {
        Row row = session.execute(countSent.bind()
            .setString(USER, key(user))
            .setUuid(SENT, Uuids.startOf(System.currentTimeMillis() - WINDOW.toMillis()))).one();
        return row == null ? 0 : row.getLong(0);
    }

    /** One more message sent by {@code user}. */
    public void recordSent(Username user) {
        session.execute(insertSent.bind().setString(USER, key(user)).setUuid(SENT, Uuids.timeBased()));
    }

    static String key(Username user) {
        return user.asString().toLowerCase(Locale.ROOT);
    }

    private static SendingLimit limit(Row row) {
        return new SendingLimit(unboxed(row.get(MESSAGES_PER_HOUR, Integer.class)), unboxed(row.get(RECIPIENTS_PER_MESSAGE, Integer.class)));
    }

    private static Integer boxed(OptionalInt value) {
        return value.isPresent() ? value.getAsInt() : null;
    }

    private static OptionalInt unboxed(Integer value) {
        return value == null ? OptionalInt.empty() : OptionalInt.of(value);
    }
}
