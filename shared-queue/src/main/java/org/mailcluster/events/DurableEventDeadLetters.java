package org.mailcluster.events;

import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.bindMarker;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.deleteFrom;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.insertInto;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.selectFrom;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.update;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

import javax.inject.Inject;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.backends.cassandra.utils.CassandraAsyncExecutor;
import org.apache.james.events.Event;
import org.apache.james.events.EventDeadLetters;
import org.apache.james.events.EventSerializer;
import org.apache.james.events.Group;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.type.DataTypes;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * Mailbox events a listener could not handle (after the event bus's retries), or that could
 * not be published at all, kept in Cassandra until they are handed back: James's
 * {@link EventDeadLetters}, durable and shared by every mailbox node.
 *
 * <p>Why not James's in-memory store: a node that died took the events it kept with it, and
 * the search index then missed those messages for good. Here any node can hand a kept event
 * back, and webadmin's {@code /events/deadLetter} shows the whole cluster's.
 *
 * <p>Storing is what the bus does when everything else failed, so it insists: a store that
 * fails (Cassandra restarting) is retried for {@link #STORE_PATIENCE}. The bus holds the
 * event's RabbitMQ delivery unacknowledged meanwhile, so a node that dies while waiting
 * leaves the event on its queue, not lost.
 *
 * <p>Several nodes replay kept events; {@link #claim} lets exactly one of them hand a given
 * event back at a time (a lightweight transaction on the event's row), so that a listener that
 * is not idempotent (quota) does not see it twice.
 */
public class DurableEventDeadLetters implements EventDeadLetters {
    private static final Logger LOGGER = LoggerFactory.getLogger(DurableEventDeadLetters.class);

    static final String TABLE = "event_dead_letters";
    static final String GROUP = "group_name";
    static final String INSERTION_ID = "insertion_id";
    static final String EVENT = "event";
    static final String CLAIMED_UNTIL = "claimed_until";

    /** A Cassandra restart under load takes well under a minute; an outage longer than this fails the event as James would. */
    static final Duration STORE_PATIENCE = Duration.ofMinutes(5);

    public static final CassandraModule MODULE = CassandraModule.table(TABLE)
        .comment("Mailbox events a listener failed on, or that could not be published, until they are handed back (see DurableEventDeadLetters).")
        .statement(statement -> types -> statement
            .withPartitionKey(GROUP, DataTypes.TEXT)
            .withClusteringColumn(INSERTION_ID, DataTypes.TIMEUUID)
            .withColumn(EVENT, DataTypes.TEXT)
            .withColumn(CLAIMED_UNTIL, DataTypes.TIMESTAMP))
        .build();

    private final CassandraAsyncExecutor executor;
    private final EventSerializer serializer;
    private final Clock clock;
    private final PreparedStatement insert;
    private final PreparedStatement deleteOne;
    private final PreparedStatement deleteGroup;
    private final PreparedStatement selectOne;
    private final PreparedStatement selectIds;
    private final PreparedStatement selectGroups;
    private final PreparedStatement selectAny;
    private final PreparedStatement claim;

    @Inject
    public DurableEventDeadLetters(CqlSession session, EventSerializer serializer) {
        this(session, serializer, Clock.systemUTC());
    }

    DurableEventDeadLetters(CqlSession session, EventSerializer serializer, Clock clock) {
        this.executor = new CassandraAsyncExecutor(session);
        this.serializer = serializer;
        this.clock = clock;
        this.insert = session.prepare(insertInto(TABLE)
            .value(GROUP, bindMarker(GROUP))
            .value(INSERTION_ID, bindMarker(INSERTION_ID))
            .value(EVENT, bindMarker(EVENT))
            .value(CLAIMED_UNTIL, bindMarker(CLAIMED_UNTIL))
            .build());
        this.deleteOne = session.prepare(deleteFrom(TABLE)
            .whereColumn(GROUP).isEqualTo(bindMarker(GROUP))
            .whereColumn(INSERTION_ID).isEqualTo(bindMarker(INSERTION_ID))
            .build());
        this.deleteGroup = session.prepare(deleteFrom(TABLE)
            .whereColumn(GROUP).isEqualTo(bindMarker(GROUP))
            .build());
        this.selectOne = session.prepare(selectFrom(TABLE).column(EVENT)
            .whereColumn(GROUP).isEqualTo(bindMarker(GROUP))
            .whereColumn(INSERTION_ID).isEqualTo(bindMarker(INSERTION_ID))
            .build());
        this.selectIds = session.prepare(selectFrom(TABLE).column(INSERTION_ID)
            .whereColumn(GROUP).isEqualTo(bindMarker(GROUP))
            .build());
        this.selectGroups = session.prepare(selectFrom(TABLE).distinct().column(GROUP).build());
        this.selectAny = session.prepare(selectFrom(TABLE).column(GROUP).limit(1).build());
        this.claim = session.prepare(update(TABLE)
            .setColumn(CLAIMED_UNTIL, bindMarker("hold_until"))
            .whereColumn(GROUP).isEqualTo(bindMarker(GROUP))
            .whereColumn(INSERTION_ID).isEqualTo(bindMarker(INSERTION_ID))
            .ifColumn(CLAIMED_UNTIL).isLessThan(bindMarker("at_time"))
            .build());
    }

    @Override
    public Mono<InsertionId> store(Group group, Event event) {
        InsertionId id = InsertionId.of(com.datastax.oss.driver.api.core.uuid.Uuids.timeBased());
        String json = serializer.toJson(event);
        return executor.executeVoid(insert.bind()
                .setString(GROUP, group.asString())
                .setUuid(INSERTION_ID, id.getId())
                .setString(EVENT, json)
                .setInstant(CLAIMED_UNTIL, Instant.EPOCH))
            .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(500))
                .maxBackoff(Duration.ofSeconds(15))
                .doBeforeRetry(signal -> {
                    if (signal.totalRetries() % 5 == 0) {
                        LOGGER.warn("keeping {} {} for {} failed ({}), trying again",
                            event.getClass().getSimpleName(), event.getEventId().getId(), group.asString(),
                            signal.failure().toString());
                    }
                }))
            .timeout(STORE_PATIENCE)
            .thenReturn(id);
    }

    @Override
    public Mono<Void> remove(Group group, InsertionId id) {
        return executor.executeVoid(deleteOne.bind()
            .setString(GROUP, group.asString())
            .setUuid(INSERTION_ID, id.getId()));
    }

    @Override
    public Mono<Void> remove(Group group) {
        return executor.executeVoid(deleteGroup.bind().setString(GROUP, group.asString()));
    }

    @Override
    public Mono<Event> failedEvent(Group group, InsertionId id) {
        return executor.executeSingleRow(selectOne.bind()
                .setString(GROUP, group.asString())
                .setUuid(INSERTION_ID, id.getId()))
            .map(row -> serializer.asEvent(row.getString(EVENT)));
    }

    @Override
    public Flux<InsertionId> failedIds(Group group) {
        return executor.executeRows(selectIds.bind().setString(GROUP, group.asString()))
            .map(row -> InsertionId.of(row.getUuid(INSERTION_ID)));
    }

    @Override
    public Flux<Group> groupsWithFailedEvents() {
        return executor.executeRows(selectGroups.bind())
            .map(row -> row.getString(GROUP))
            .flatMap(name -> {
                try {
                    return Mono.just(Group.deserialize(name));
                } catch (Group.GroupDeserializationException e) {
                    LOGGER.warn("event dead letters kept for an unknown group {}", name);
                    return Mono.empty();
                }
            });
    }

    @Override
    public Mono<Boolean> containEvents() {
        return executor.executeReturnExists(selectAny.bind());
    }

    /**
     * Takes the kept event for {@code hold}: true when no other node holds it now, in which
     * case no other node's claim succeeds until {@code hold} has passed (time enough to hand
     * it back and remove it; if this node dies meanwhile, another takes over afterwards).
     */
    public Mono<Boolean> claim(Group group, InsertionId id, Duration hold) {
        Instant now = clock.instant();
        return executor.executeReturnApplied(claim.bind()
            .setInstant("hold_until", now.plus(hold))
            .setString(GROUP, group.asString())
            .setUuid(INSERTION_ID, id.getId())
            .setInstant("at_time", now));
    }
}
