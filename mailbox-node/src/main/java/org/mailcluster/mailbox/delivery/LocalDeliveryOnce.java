package org.mailcluster.mailbox.delivery;

import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;

import javax.inject.Inject;
import javax.inject.Named;
import javax.mail.Flags;
import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.james.mailbox.MailboxManager;
import org.apache.james.mailbox.MailboxSession;
import org.apache.james.mailbox.MessageManager;
import org.apache.james.mailbox.MessageManager.AppendResult;
import org.apache.james.mailbox.MessageManager.MailboxMetaData;
import org.apache.james.mailbox.MessageUid;
import org.apache.james.mailbox.exception.MailboxExistsException;
import org.apache.james.mailbox.exception.MailboxNotFoundException;
import org.apache.james.mailbox.exception.OverQuotaException;
import org.apache.james.mailbox.indexer.ReIndexer;
import org.apache.james.mailbox.model.FetchGroup;
import org.apache.james.mailbox.model.MailboxConstants;
import org.apache.james.mailbox.model.MailboxId;
import org.apache.james.mailbox.model.MailboxPath;
import org.apache.james.mailbox.model.MessageRange;
import org.apache.james.mailbox.model.MessageResult;
import org.apache.james.metrics.api.Metric;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.task.Task;
import org.apache.james.transport.mailets.LocalDelivery;
import org.apache.james.transport.mailets.delivery.MailDispatcher;
import org.apache.james.transport.mailets.delivery.MailStore;
import org.apache.james.transport.mailets.delivery.MailboxAppenderImpl;
import org.apache.james.transport.mailets.delivery.SimpleMailStore;
import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.user.api.UsersRepository;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;
import org.apache.mailet.base.MailetUtil;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * James's {@link LocalDelivery} (each recipient's copy into their INBOX, or the folder a
 * filter chose, with the same parameters: {@code consume}, {@code onMailetException},
 * {@code retries}), storing each recipient's copy of a message once however many times the
 * message reaches this tier ({@link DeliveryLog} says why it can).
 *
 * <p>A recipient over their quota is not retried: their copy goes to the processor
 * {@code overQuotaProcessor} names ({@value #OVER_QUOTA} by default), which returns it to the
 * sender with a DSN "5.2.2 mailbox full", as Dovecot's LMTP answers 552 by default. Retrying
 * would only hold the mail back for hours and end in the error repository, the sender none the
 * wiser.
 *
 * <pre>{@code <mailet match="All" class="org.mailcluster.mailbox.delivery.LocalDeliveryOnce">
 *     <onMailetException>deferred</onMailetException>
 * </mailet>}</pre>
 */
public class LocalDeliveryOnce extends GenericMailet {
    private static final Logger LOGGER = LoggerFactory.getLogger(LocalDeliveryOnce.class);
    /** Counts copies not stored because the recipient already had them. */
    public static final String SKIPPED_DUPLICATES_METRIC = "localDeliveryDuplicatesSkipped";

    private final UsersRepository users;
    private final MailboxManager mailboxes;
    private final MetricFactory metrics;
    private final DeliveryLog log;
    private final ReIndexer reIndexer;
    private final MailboxId.Factory mailboxIds;
    private MailDispatcher dispatcher;
    static final String OVER_QUOTA = "over-quota";
    private String overQuotaProcessor;

    @Inject
    public LocalDeliveryOnce(UsersRepository users, @Named("mailboxmanager") MailboxManager mailboxes,
                             MetricFactory metrics, DeliveryLog log, ReIndexer reIndexer, MailboxId.Factory mailboxIds) {
        this.users = users;
        this.mailboxes = mailboxes;
        this.metrics = metrics;
        this.log = log;
        this.reIndexer = reIndexer;
        this.mailboxIds = mailboxIds;
    }

    @Override
    public void init() throws MessagingException {
        overQuotaProcessor = getInitParameter("overQuotaProcessor", OVER_QUOTA);
        dispatcher = MailDispatcher.builder()
            .mailStore(new OncePerRecipient(this))
            .consume(getInitParameter("consume", true))
            .onMailetException(getInitParameter("onMailetException", Mail.ERROR))
            .retries(MailetUtil.getInitParameterAsInteger(getInitParameter("retries"), Optional.of(MailDispatcher.RETRIES)))
            .mailetContext(getMailetContext())
            .build();
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        dispatcher.dispatch(mail);
    }

    @Override
    public String getMailetInfo() {
        return "Local delivery, once per recipient and message";
    }

    static boolean overQuota(Throwable failure) {
        for (Throwable e = failure; e != null; e = e.getCause() == e ? null : e.getCause()) {
            if (e instanceof OverQuotaException) {
                return true;
            }
        }
        return false;
    }

    /** The recipient's copy, to the over-quota processor (its DSN); the delivery of the others goes on. */
    private Mono<Void> returnOverQuota(MailAddress recipient, Mail mail) {
        return Mono.<Void>fromRunnable(() -> {
            Mail copy = null;
            try {
                copy = mail.duplicate();
                copy.setRecipients(List.of(recipient));
                copy.setErrorMessage("552 5.2.2 Mailbox full: " + recipient.asString() + " is over quota");
                getMailetContext().sendMail(copy, overQuotaProcessor);
                LOGGER.info("{} is over quota: {} returned to its sender", recipient.asString(), mail.getName());
            } catch (MessagingException e) {
                throw new IllegalStateException("Could not return " + mail.getName() + " for " + recipient.asString(), e);
            } finally {
                LifecycleUtil.dispose(copy);
            }
        }).subscribeOn(Schedulers.boundedElastic());
    }

    /** Stores a recipient's copy when the delivery log lets this copy through (see {@link DeliveryLog}). */
    static final class OncePerRecipient implements MailStore {
        /** A failed log write is retried briefly: the copy is stored by then and is never re-stored for it. */
        private static final Retry LOG_WRITE_RETRIES = Retry.backoff(3, Duration.ofMillis(200));

        private final LocalDeliveryOnce delivery;
        private final Metric skipped;
        private final Metric delivered;

        OncePerRecipient(LocalDeliveryOnce delivery) {
            this.delivery = delivery;
            this.skipped = delivery.metrics.generate(SKIPPED_DUPLICATES_METRIC);
            this.delivered = delivery.metrics.generate(LocalDelivery.LOCAL_DELIVERED_MAILS_METRIC_NAME);
        }

        @Override
        public Publisher<Void> storeMail(MailAddress recipient, Mail mail) {
            // Deferred: MailDispatcher retries a failed store by subscribing again, and each
            // attempt must ask the log afresh.
            return Mono.defer(() -> {
                DeliveryLog.Delivery copy;
                try {
                    copy = DeliveryLog.Delivery.of(mail, recipient);
                } catch (MessagingException e) {
                    return Mono.error(e);
                }
                return delivery.log.claim(copy).flatMap(claim -> switch (claim.outcome()) {
                    case CLAIMED -> store(recipient, mail, copy, claim.token());
                    case TAKEN_OVER -> alreadyThere(recipient, copy, claim)
                        .flatMap(found -> {
                            LOGGER.info("{} already has its copy of {} ({}), stored before its storing node stopped: not stored again",
                                recipient.asString(), mail.getName(), copy.messageId());
                            skipped.increment();
                            return delivery.log.markStored(copy, claim.token()).thenReturn(true);
                        })
                        // (thenReturn: an empty result here would read as "not there" and store it again)
                        .switchIfEmpty(Mono.defer(() -> store(recipient, mail, copy, claim.token()).thenReturn(false)))
                        .then();
                    case ALREADY_STORED -> {
                        skipped.increment();
                        LOGGER.info("{} already has its copy of {} ({}): not stored again",
                            recipient.asString(), mail.getName(), copy.messageId());
                        yield Mono.empty();
                    }
                    case BEING_STORED -> Mono.error(new MessagingException("Another copy of " + mail.getName()
                        + " is being stored for " + recipient.asString() + " at this moment; this one waits"));
                });
            });
        }

        private Mono<Void> store(MailAddress recipient, Mail mail, DeliveryLog.Delivery copy, Instant token) {
            MailStore store = SimpleMailStore.builder()
                .mailboxAppender(new TargetRecordingAppender(delivery.mailboxes, delivery.log, copy, token))
                .usersRepository(delivery.users)
                .folder(MailboxConstants.INBOX)
                .metric(delivered)
                .build();
            return Mono.from(store.storeMail(recipient, mail))
                .onErrorResume(failure -> delivery.log.release(copy, token)
                    .onErrorResume(e -> Mono.empty())
                    .then(Mono.error(failure)))
                .then(Mono.defer(() -> markStored(copy, token, mail)))
                .onErrorResume(LocalDeliveryOnce::overQuota, failure -> delivery.returnOverQuota(recipient, mail));
        }

        /**
         * The message, if a copy whose claim lapsed reached its recorded target: a message with
         * the same Message-ID and body at or above the UID the copy could get there. It is
         * indexed again, since the node that stored it may have died before its "added" event
         * was published.
         */
        private Mono<MessageUid> alreadyThere(MailAddress recipient, DeliveryLog.Delivery copy, DeliveryLog.Claim claim) {
            if (claim.previousTarget().isEmpty()) {
                // The earlier copy stopped before choosing a mailbox, so before storing anything.
                return Mono.empty();
            }
            DeliveryLog.Target target = claim.previousTarget().get();
            return Mono.fromCallable(() -> delivery.mailboxes.createSystemSession(delivery.users.getUsername(recipient)))
                .flatMap(session -> findCopy(session, target, copy))
                .subscribeOn(Schedulers.boundedElastic());
        }

        private Mono<MessageUid> findCopy(MailboxSession session, DeliveryLog.Target target, DeliveryLog.Delivery copy) {
            return Mono.from(delivery.mailboxes.getMailboxReactive(delivery.mailboxIds.fromString(target.mailboxId()), session))
                .onErrorResume(MailboxNotFoundException.class, e -> Mono.empty())
                .flatMapMany(mailbox -> Flux.from(mailbox.getMessagesReactive(
                        MessageRange.from(MessageUid.of(target.uidFrom())), FetchGroup.FULL_CONTENT, session))
                    .filter(message -> isCopy(message, copy))
                    .map(MessageResult::getUid)
                    .take(1)
                    .publishOn(Schedulers.boundedElastic())
                    .flatMap(uid -> reIndex(mailbox.getId(), uid).thenReturn(uid)))
                .next();
        }

        private Mono<Void> reIndex(MailboxId mailbox, MessageUid uid) {
            // A failed reindex ends PARTIAL rather than throwing; either way the message stays
            // stored, and the index consistency check finds it.
            return Mono.fromCallable(() -> delivery.reIndexer.reIndex(mailbox, uid).run())
                .doOnNext(result -> {
                    if (result != Task.Result.COMPLETED) {
                        LOGGER.warn("could not index message {} of mailbox {} again", uid, mailbox);
                    }
                })
                .doOnError(e -> LOGGER.warn("could not index message {} of mailbox {} again: {}", uid, mailbox, e.toString()))
                .onErrorResume(e -> Mono.empty())
                .then();
        }

        private static boolean isCopy(MessageResult message, DeliveryLog.Delivery copy) {
            try (InputStream content = message.getFullContent().getInputStream()) {
                MimeMessage stored = new MimeMessage(null, content);
                String storedId = Optional.ofNullable(stored.getMessageID()).orElse("");
                return storedId.strip().equals(copy.messageId().strip())
                    && DeliveryLog.Delivery.bodyDigest(stored).equals(copy.bodyDigest());
            } catch (Exception e) {
                LOGGER.warn("could not compare message {} with {}: {}", message.getUid(), copy.messageId(), e.toString());
                return false;
            }
        }

        private Mono<Void> markStored(DeliveryLog.Delivery copy, Instant token, Mail mail) {
            return delivery.log.markStored(copy, token)
                .retryWhen(LOG_WRITE_RETRIES)
                .doOnNext(recorded -> {
                    if (!recorded) {
                        LOGGER.warn("{} was stored for {} after its claim lapsed; a redelivery of it could be stored again",
                            mail.getName(), copy.recipient());
                    }
                })
                .onErrorResume(e -> {
                    LOGGER.warn("{} was stored for {} but could not be logged as stored; a redelivery of it could be stored again: {}",
                        mail.getName(), copy.recipient(), e.getMessage());
                    return Mono.empty();
                })
                .then();
        }
    }

    /**
     * James's appender, which first records in the delivery log the mailbox the copy goes to
     * and the first UID it can get there, so that the next copy can look for it if this node
     * dies before marking it stored. The mailbox is created here when missing (a folder a
     * filter names), as James's appender would.
     */
    static final class TargetRecordingAppender extends MailboxAppenderImpl {
        private final MailboxManager mailboxes;
        private final DeliveryLog log;
        private final DeliveryLog.Delivery copy;
        private final Instant token;

        TargetRecordingAppender(MailboxManager mailboxes, DeliveryLog log, DeliveryLog.Delivery copy, Instant token) {
            super(mailboxes);
            this.mailboxes = mailboxes;
            this.log = log;
            this.copy = copy;
            this.token = token;
        }

        @Override
        protected Mono<AppendResult> appendMessageToMailbox(MimeMessage mail, MailboxSession session, MailboxPath path, Optional<Flags> flags) {
            return existingOrCreated(session, path)
                .flatMap(mailbox -> {
                    try {
                        return mailbox.getMetaDataReactive(MailboxMetaData.RecentMode.IGNORE, session, EnumSet.of(MailboxMetaData.Item.NextUid))
                            .map(metaData -> new DeliveryLog.Target(mailbox.getId().serialize(), metaData.getUidNext().asLong()));
                    } catch (Exception e) {
                        return Mono.error(e);
                    }
                })
                .flatMap(target -> log.recordTarget(copy, token, target))
                .flatMap(recorded -> recorded
                    ? super.appendMessageToMailbox(mail, session, path, flags)
                    : Mono.error(new MessagingException("the claim on " + copy.messageId() + " for " + copy.recipient() + " lapsed before its store")));
        }

        private Mono<MessageManager> existingOrCreated(MailboxSession session, MailboxPath path) {
            return Mono.from(mailboxes.getMailboxReactive(path, session))
                .onErrorResume(MailboxNotFoundException.class, missing ->
                    Mono.from(mailboxes.createMailboxReactive(path, MailboxManager.CreateOption.CREATE_SUBSCRIPTION, session))
                        .onErrorResume(MailboxExistsException.class, raced -> Mono.empty())
                        .then(Mono.from(mailboxes.getMailboxReactive(path, session))));
        }
    }
}
