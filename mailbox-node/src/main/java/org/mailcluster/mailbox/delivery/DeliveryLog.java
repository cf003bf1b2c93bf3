package org.mailcluster.mailbox.delivery;

import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.bindMarker;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.deleteFrom;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.insertInto;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.literal;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.update;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.backends.cassandra.utils.CassandraAsyncExecutor;
import org.apache.james.core.MailAddress;
import org.apache.mailet.Mail;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.type.DataTypes;

import reactor.core.publisher.Mono;

/**
 * Which recipients already have their copy of which message, so that a message that reaches
 * the mailbox tier twice is stored once.
 *
 * <p>Why a message arrives twice: RabbitMQ redelivers a queued mail whose acknowledgement it
 * never got. When the broker restarts, or a node's connection drops, while a spooler is
 * working on a mail, that mail comes back: on the MX tier, which then hands the delivery
 * queue a second copy, or on this one, perhaps while the first copy is still being stored.
 * The broker cannot tell an unacknowledged mail that was stored from one that was not, so
 * each copy is checked here, per recipient, when it is stored.
 *
 * <p>A recipient's row goes through two states, each written with a lightweight transaction
 * so that two spoolers storing copies of the same message at the same moment (on one node or
 * two) agree on which of them stores it:
 * <ol>
 *   <li>{@link #claim}: "being stored", held for {@link #CLAIM_TIMEOUT}. A copy that finds
 *       this state waits and tries again (the mailet's retries, then the deferred
 *       processor's); if the node storing the first copy dies, the claim lapses and a later
 *       attempt stores the message. Nothing is lost; it is late.</li>
 *   <li>{@link #markStored}: "stored", kept for {@link #RETENTION}. Copies that find this
 *       state are dropped.</li>
 * </ol>
 * A failed store gives its claim back ({@link #release}), so the retry does not wait.
 */
public class DeliveryLog {
    static final String TABLE = "delivery_log";
    static final String MESSAGE = "message";
    static final String RECIPIENT = "recipient";
    static final String STORED = "stored";

    /**
     * How long a delivery is remembered: far longer than any redelivery takes. The latest a
     * copy can come back is the end of the deferred processor's retries (about 1 h 20 min
     * in all, see the mailbox node's mailetcontainer.xml) plus the time a queue is drained
     * after an outage.
     */
    static final Duration RETENTION = Duration.ofDays(3);

    /**
     * How long a copy being stored holds back the other copies: much longer than a store
     * takes (seconds, even with Cassandra slow), short enough that when the storing node dies
     * the message is stored by a later retry of the deferred processor (5 and 15 minutes).
     */
    static final Duration CLAIM_TIMEOUT = Duration.ofMinutes(5);

    public static final CassandraModule MODULE = CassandraModule.table(TABLE)
        .comment("Recipients whose copy of a message is stored or being stored, so that a redelivered message is stored once. Rows expire.")
        .options(options -> options.withDefaultTimeToLiveSeconds((int) RETENTION.toSeconds()))
        .statement(statement -> types -> statement
            .withPartitionKey(MESSAGE, DataTypes.TEXT)
            .withPartitionKey(RECIPIENT, DataTypes.TEXT)
            .withColumn(STORED, DataTypes.BOOLEAN))
        .build();

    /** What {@link #claim} found. */
    public enum Claim {
        /** This copy is the one to store. */
        CLAIMED,
        /** The recipient has this message: drop this copy. */
        ALREADY_STORED,
        /** Another copy is being stored right now: try again later. */
        BEING_STORED
    }

    private final CassandraAsyncExecutor executor;
    private final PreparedStatement claim;
    private final PreparedStatement markStored;
    private final PreparedStatement release;

    @Inject
    public DeliveryLog(CqlSession session) {
        this.executor = new CassandraAsyncExecutor(session);
        this.claim = session.prepare(insertInto(TABLE)
            .value(MESSAGE, bindMarker(MESSAGE))
            .value(RECIPIENT, bindMarker(RECIPIENT))
            .value(STORED, literal(false))
            .ifNotExists()
            .usingTtl((int) CLAIM_TIMEOUT.toSeconds())
            .build());
        this.markStored = session.prepare(update(TABLE)
            .usingTtl((int) RETENTION.toSeconds())
            .setColumn(STORED, literal(true))
            .whereColumn(MESSAGE).isEqualTo(bindMarker(MESSAGE))
            .whereColumn(RECIPIENT).isEqualTo(bindMarker(RECIPIENT))
            .ifExists()
            .build());
        this.release = session.prepare(deleteFrom(TABLE)
            .whereColumn(MESSAGE).isEqualTo(bindMarker(MESSAGE))
            .whereColumn(RECIPIENT).isEqualTo(bindMarker(RECIPIENT))
            .ifColumn(STORED).isEqualTo(literal(false))
            .build());
    }

    public Mono<Claim> claim(Delivery delivery) {
        return executor.executeSingleRow(bind(claim, delivery))
            .map(row -> {
                if (row.getBoolean("[applied]")) {
                    return Claim.CLAIMED;
                }
                return row.getBoolean(STORED) ? Claim.ALREADY_STORED : Claim.BEING_STORED;
            });
    }

    /**
     * Records that the recipient has the message. False when the claim had lapsed meanwhile
     * (the store took longer than {@link #CLAIM_TIMEOUT}); the row is then not written.
     */
    public Mono<Boolean> markStored(Delivery delivery) {
        return executor.executeReturnApplied(bind(markStored, delivery));
    }

    /** Gives back a claim whose store failed, so that the next attempt need not wait for it to lapse. */
    public Mono<Void> release(Delivery delivery) {
        return executor.executeReturnApplied(bind(release, delivery)).then();
    }

    private static BoundStatement bind(PreparedStatement statement, Delivery delivery) {
        return statement.bind()
            .setString(MESSAGE, delivery.message())
            .setString(RECIPIENT, delivery.recipient());
    }

    /**
     * One recipient's copy of one message.
     *
     * @param message what every copy of the same received message has in common: the
     *     identifier James gave it when it was received (kept in the names of the mail's
     *     copies; see {@link #receivedAs}) and its Message-ID header
     * @param recipient the recipient's address
     */
    public record Delivery(String message, String recipient) {
        /** A UUID, as in the names James gives received mail ("Mail1700000000000-UUID"). */
        private static final Pattern RECEIVED_ID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

        public static Delivery of(Mail mail, MailAddress recipient) throws MessagingException {
            String messageId = Optional.ofNullable(mail.getMessage().getMessageID()).orElse("");
            return new Delivery(receivedAs(mail.getName()) + " " + messageId, recipient.asString());
        }

        /**
         * The identifier of the reception a mail copy comes from. James names a received mail
         * {@code Mail<millis>-<UUID>}, names each copy it makes {@code <name>-!<digits>} (new
         * digits each time, so a redelivered mail's copy is named differently), and a
         * recipient's failed delivery {@code error-<name>}; the UUID survives all of these.
         * Other names are taken without those prefixes and suffixes.
         *
         * <p>The Message-ID is part of the key too: a mail built from another (a sieve
         * redirect is named {@code redirect-<name>}) keeps the original's UUID but, when its
         * content is new, has its own Message-ID.
         */
        static String receivedAs(String mailName) {
            Matcher uuid = RECEIVED_ID.matcher(mailName);
            if (uuid.find()) {
                return uuid.group().toLowerCase();
            }
            return mailName.replaceFirst("^(error-)+", "").replaceFirst("(-![0-9]+)+$", "");
        }
    }
}
