package org.mailcluster.mailbox.delivery;

import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.bindMarker;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.insertInto;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.literal;
import static com.datastax.oss.driver.api.querybuilder.QueryBuilder.update;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.inject.Inject;
import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.backends.cassandra.utils.CassandraAsyncExecutor;
import org.apache.james.core.MailAddress;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.mailcluster.routing.InboundRouting;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.type.DataTypes;

import reactor.core.publisher.Mono;

/**
 * Which recipients already have their copy of which message, so that a message that reaches
 * the mailbox tier twice is stored once.
 *
 * <p>Why a message arrives twice:
 * <ul>
 *   <li>RabbitMQ redelivers a queued mail whose acknowledgement it never got (a broker
 *       restart, a node's connection dropping, a node killed while working on it);</li>
 *   <li>a sender sends the same message again because it did not get our {@code 250} (the
 *       MX died after queueing it) or got a {@code 4xx} for a message that was in fact queued
 *       (the broker's confirm was lost). That resend is a new reception.</li>
 * </ul>
 * So a message is identified by what its copies share: its Message-ID, envelope sender and
 * body digest ({@link Delivery#of}); a resend within {@link #RETENTION} is recognised. A
 * message without a Message-ID is identified by its reception only (James's UUID), so its
 * resends are stored again, as Postfix would.
 *
 * <p>A recipient's row, each change a lightweight transaction so that two spoolers storing
 * copies at once (on one node or two) agree on which of them stores it:
 * <ol>
 *   <li>{@link #claim}: "being stored" until {@link #CLAIM_TIMEOUT} has passed; the claim's
 *       end time is its token. A copy that finds a live claim waits and tries again (the
 *       mailet's retries, then the deferred processor's);</li>
 *   <li>{@link #recordTarget}: before the store, the mailbox it goes to and the first UID the
 *       copy can get there;</li>
 *   <li>{@link #markStored}: "stored", kept for {@link #RETENTION}; later copies are dropped.</li>
 * </ol>
 * When the node storing a copy dies, its claim lapses and the next copy takes it over
 * ({@link Claim.Outcome#TAKEN_OVER}) with the target the first one recorded: the mailbox is
 * searched from that UID for the message before it is stored again, so a copy stored but not
 * marked is not stored twice. A failed store lapses its claim at once ({@link #release}), so
 * the retry does not wait and still checks the mailbox.
 */
public class DeliveryLog {
    static final String TABLE = "delivery_claims";
    static final String MESSAGE = "message";
    static final String RECIPIENT = "recipient";
    static final String STATE = "state";
    static final String CLAIMED_UNTIL = "claimed_until";
    static final String MAILBOX_ID = "mailbox_id";
    static final String UID_FROM = "uid_from";
    private static final String TOKEN = "expected_until";
    private static final String NEW_UNTIL = "new_until";
    private static final String CLAIMED = "claimed";
    private static final String STORED = "stored";

    /**
     * How long a delivery is remembered, and so the window in which a resend is recognised: far
     * longer than any redelivery takes (the deferred processor's retries last about 1 h 20 min)
     * and than a sender's usual retries after a lost {@code 250}.
     */
    static final Duration RETENTION = Duration.ofDays(3);

    /**
     * How long a copy being stored holds back the other copies: much longer than a store
     * takes (seconds, even with Cassandra slow), short enough that when the storing node dies
     * its copies are taken over by the deferred processor's third retry (about 100 s after the
     * first attempt) rather than minutes later. A store that outlasts it is not lost: its mark
     * fails and is logged, and a copy taking over first looks in the mailbox.
     */
    static final Duration CLAIM_TIMEOUT = Duration.ofMinutes(1);

    public static final CassandraModule MODULE = CassandraModule.table(TABLE)
        .comment("Recipients whose copy of a message is stored or being stored, and where it goes, so that a message reaching the mailbox tier twice is stored once. Rows expire.")
        .options(options -> options.withDefaultTimeToLiveSeconds((int) RETENTION.toSeconds()))
        .statement(statement -> types -> statement
            .withPartitionKey(MESSAGE, DataTypes.TEXT)
            .withPartitionKey(RECIPIENT, DataTypes.TEXT)
            .withColumn(STATE, DataTypes.TEXT)
            .withColumn(CLAIMED_UNTIL, DataTypes.TIMESTAMP)
            .withColumn(MAILBOX_ID, DataTypes.TEXT)
            .withColumn(UID_FROM, DataTypes.BIGINT))
        .build();

    /** Where a copy was about to be stored: the mailbox, and the first UID it could get there. */
    public record Target(String mailboxId, long uidFrom) {
    }

    /** What {@link #claim} found. */
    public record Claim(Outcome outcome, Instant token, Optional<Target> previousTarget) {
        public enum Outcome {
            /** This copy is the first: store it. */
            CLAIMED,
            /** An earlier copy's claim lapsed: look for it at its target, store only if it is not there. */
            TAKEN_OVER,
            /** The recipient has this message: drop this copy. */
            ALREADY_STORED,
            /** Another copy is being stored right now: try again later. */
            BEING_STORED
        }

        static Claim of(Outcome outcome) {
            return new Claim(outcome, Instant.EPOCH, Optional.empty());
        }
    }

    private final CassandraAsyncExecutor executor;
    private final Clock clock;
    private final PreparedStatement claim;
    private final PreparedStatement takeOver;
    private final PreparedStatement recordTarget;
    private final PreparedStatement markStored;
    private final PreparedStatement release;

    @Inject
    public DeliveryLog(CqlSession session) {
        this(session, Clock.systemUTC());
    }

    DeliveryLog(CqlSession session, Clock clock) {
        this.executor = new CassandraAsyncExecutor(session);
        this.clock = clock;
        this.claim = session.prepare(insertInto(TABLE)
            .value(MESSAGE, bindMarker(MESSAGE))
            .value(RECIPIENT, bindMarker(RECIPIENT))
            .value(STATE, literal(CLAIMED))
            .value(CLAIMED_UNTIL, bindMarker(NEW_UNTIL))
            .ifNotExists()
            .build());
        this.takeOver = session.prepare(update(TABLE)
            .setColumn(CLAIMED_UNTIL, bindMarker(NEW_UNTIL))
            .whereColumn(MESSAGE).isEqualTo(bindMarker(MESSAGE))
            .whereColumn(RECIPIENT).isEqualTo(bindMarker(RECIPIENT))
            .ifColumn(CLAIMED_UNTIL).isEqualTo(bindMarker(TOKEN))
            .ifColumn(STATE).isEqualTo(literal(CLAIMED))
            .build());
        this.recordTarget = session.prepare(update(TABLE)
            .setColumn(MAILBOX_ID, bindMarker(MAILBOX_ID))
            .setColumn(UID_FROM, bindMarker(UID_FROM))
            .whereColumn(MESSAGE).isEqualTo(bindMarker(MESSAGE))
            .whereColumn(RECIPIENT).isEqualTo(bindMarker(RECIPIENT))
            .ifColumn(CLAIMED_UNTIL).isEqualTo(bindMarker(TOKEN))
            .build());
        this.markStored = session.prepare(update(TABLE)
            .setColumn(STATE, literal(STORED))
            .whereColumn(MESSAGE).isEqualTo(bindMarker(MESSAGE))
            .whereColumn(RECIPIENT).isEqualTo(bindMarker(RECIPIENT))
            .ifColumn(CLAIMED_UNTIL).isEqualTo(bindMarker(TOKEN))
            .build());
        this.release = session.prepare(update(TABLE)
            .setColumn(CLAIMED_UNTIL, literal(Instant.EPOCH))
            .whereColumn(MESSAGE).isEqualTo(bindMarker(MESSAGE))
            .whereColumn(RECIPIENT).isEqualTo(bindMarker(RECIPIENT))
            .ifColumn(CLAIMED_UNTIL).isEqualTo(bindMarker(TOKEN))
            .ifColumn(STATE).isEqualTo(literal(CLAIMED))
            .build());
    }

    public Mono<Claim> claim(Delivery delivery) {
        Instant now = clock.instant();
        Instant until = now.plus(CLAIM_TIMEOUT);
        return executor.executeSingleRow(bind(claim, delivery).setInstant(NEW_UNTIL, until))
            .flatMap(row -> {
                if (row.getBoolean("[applied]")) {
                    return Mono.just(new Claim(Claim.Outcome.CLAIMED, until, Optional.empty()));
                }
                if (STORED.equals(row.getString(STATE))) {
                    return Mono.just(Claim.of(Claim.Outcome.ALREADY_STORED));
                }
                Instant held = Optional.ofNullable(row.getInstant(CLAIMED_UNTIL)).orElse(Instant.EPOCH);
                if (held.isAfter(now)) {
                    return Mono.just(Claim.of(Claim.Outcome.BEING_STORED));
                }
                Optional<Target> previous = target(row);
                return executor.executeReturnApplied(bind(takeOver, delivery)
                        .setInstant(NEW_UNTIL, until)
                        .setInstant(TOKEN, held))
                    .map(applied -> applied
                        ? new Claim(Claim.Outcome.TAKEN_OVER, until, previous)
                        : Claim.of(Claim.Outcome.BEING_STORED));
            });
    }

    private static Optional<Target> target(Row row) {
        String mailbox = row.getString(MAILBOX_ID);
        if (mailbox == null || row.isNull(UID_FROM)) {
            return Optional.empty();
        }
        return Optional.of(new Target(mailbox, row.getLong(UID_FROM)));
    }

    /** Records where the copy is about to go; false when the claim was lost meanwhile (then do not store). */
    public Mono<Boolean> recordTarget(Delivery delivery, Instant token, Target target) {
        return executor.executeReturnApplied(bind(recordTarget, delivery)
            .setString(MAILBOX_ID, target.mailboxId())
            .setLong(UID_FROM, target.uidFrom())
            .setInstant(TOKEN, token));
    }

    /**
     * Records that the recipient has the message. False when the claim had lapsed meanwhile
     * (the store took longer than {@link #CLAIM_TIMEOUT}) and another copy took it over.
     */
    public Mono<Boolean> markStored(Delivery delivery, Instant token) {
        return executor.executeReturnApplied(bind(markStored, delivery).setInstant(TOKEN, token));
    }

    /** Lapses a claim whose store failed, so that the next attempt takes it over at once (and looks in the mailbox first). */
    public Mono<Void> release(Delivery delivery, Instant token) {
        return executor.executeReturnApplied(bind(release, delivery).setInstant(TOKEN, token)).then();
    }

    private static BoundStatement bind(PreparedStatement statement, Delivery delivery) {
        return statement.bind()
            .setString(MESSAGE, delivery.message())
            .setString(RECIPIENT, delivery.recipient());
    }

    /**
     * One recipient's copy of one message.
     *
     * @param message the key every copy of the message shares (see {@link #of})
     * @param recipient the recipient's address (a catch-all copy: "MAILBOX as ORIGINAL-RECIPIENT")
     * @param messageId the Message-ID header, or empty
     * @param bodyDigest SHA-256 of the body as received (what a stored copy is compared on)
     */
    public record Delivery(String message, String recipient, String messageId, String bodyDigest) {
        /** A UUID, as in the names James gives received mail ("Mail1700000000000-UUID"). */
        private static final Pattern RECEIVED_ID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
        /** The body digest, computed once per mail and carried with it through retries. */
        static final AttributeName BODY_DIGEST = AttributeName.of("mailcluster.bodyDigest");

        public static Delivery of(Mail mail, MailAddress recipient) throws MessagingException {
            String messageId = Optional.ofNullable(mail.getMessage().getMessageID()).orElse("");
            String body = bodyDigest(mail);
            // A catch-all copy is one delivery per original recipient, all into the same mailbox.
            String deliveredAs = mail.getAttribute(InboundRouting.ORIGINAL_RECIPIENT)
                .flatMap(attribute -> attribute.getValue().valueAs(String.class))
                .map(original -> recipient.asString() + " as " + original)
                .orElse(recipient.asString());
            return new Delivery(key(messageId, mail.getMaybeSender().asString(), body, mail.getName()),
                deliveredAs, messageId, body);
        }

        /**
         * With a Message-ID: the Message-ID, envelope sender and body digest, so that a
         * resend of the message (a new reception, with its own Received header) has the same
         * key, while the same Message-ID with another body or sender (a list's copy, with its
         * footer and its own envelope sender) is another message. Without one: the reception.
         */
        static String key(String messageId, String sender, String bodyDigest, String mailName) {
            if (messageId.isBlank()) {
                return "reception " + receivedAs(mailName);
            }
            return "message " + sha256(messageId.strip() + "\n" + sender + "\n" + bodyDigest);
        }

        private static String bodyDigest(Mail mail) throws MessagingException {
            Optional<String> known = mail.getAttribute(BODY_DIGEST)
                .map(attribute -> attribute.getValue().value())
                .filter(String.class::isInstance)
                .map(String.class::cast);
            if (known.isPresent()) {
                return known.get();
            }
            String digest = bodyDigest(mail.getMessage());
            mail.setAttribute(new Attribute(BODY_DIGEST, AttributeValue.of(digest)));
            return digest;
        }

        /** SHA-256 of the message's body, without its headers (which each reception changes). */
        public static String bodyDigest(MimeMessage message) throws MessagingException {
            try (InputStream body = message.getRawInputStream()) {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                byte[] buffer = new byte[8192];
                int read;
                while ((read = body.read(buffer)) > 0) {
                    sha.update(buffer, 0, read);
                }
                return HexFormat.of().formatHex(sha.digest());
            } catch (IOException | NoSuchAlgorithmException e) {
                throw new MessagingException("cannot read the message body", e);
            }
        }

        private static String sha256(String text) {
            try {
                return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        /**
         * The identifier of the reception a mail copy comes from. James names a received mail
         * {@code Mail<millis>-<UUID>}, names each copy it makes {@code <name>-!<digits>} (new
         * digits each time, so a redelivered mail's copy is named differently), and a
         * recipient's failed delivery {@code error-<name>}; the UUID survives all of these.
         * Other names are taken without those prefixes and suffixes.
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
