package org.mailcluster.mailbox.delivery;

import java.time.Duration;
import java.util.Optional;

import javax.inject.Inject;
import javax.inject.Named;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.mailbox.MailboxManager;
import org.apache.james.mailbox.model.MailboxConstants;
import org.apache.james.metrics.api.Metric;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.transport.mailets.LocalDelivery;
import org.apache.james.transport.mailets.delivery.MailDispatcher;
import org.apache.james.transport.mailets.delivery.MailStore;
import org.apache.james.transport.mailets.delivery.MailboxAppenderImpl;
import org.apache.james.transport.mailets.delivery.SimpleMailStore;
import org.apache.james.user.api.UsersRepository;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;
import org.apache.mailet.base.MailetUtil;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * James's {@link LocalDelivery} (each recipient's copy into their INBOX, with the same
 * parameters: {@code consume}, {@code onMailetException}, {@code retries}), storing each
 * recipient's copy of a message once however many times the message reaches this tier
 * ({@link DeliveryLog} says why it can).
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
    private MailDispatcher dispatcher;

    @Inject
    public LocalDeliveryOnce(UsersRepository users, @Named("mailboxmanager") MailboxManager mailboxes,
                             MetricFactory metrics, DeliveryLog log) {
        this.users = users;
        this.mailboxes = mailboxes;
        this.metrics = metrics;
        this.log = log;
    }

    @Override
    public void init() throws MessagingException {
        MailStore inbox = SimpleMailStore.builder()
            .mailboxAppender(new MailboxAppenderImpl(mailboxes))
            .usersRepository(users)
            .folder(MailboxConstants.INBOX)
            .metric(metrics.generate(LocalDelivery.LOCAL_DELIVERED_MAILS_METRIC_NAME))
            .build();
        dispatcher = MailDispatcher.builder()
            .mailStore(new OncePerRecipient(inbox, log, metrics.generate(SKIPPED_DUPLICATES_METRIC)))
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

    /** Stores a recipient's copy when the delivery log lets this copy through (see {@link DeliveryLog}). */
    static final class OncePerRecipient implements MailStore {
        /** A failed log write is retried briefly: the copy is stored by then and is never re-stored for it. */
        private static final Retry LOG_WRITE_RETRIES = Retry.backoff(3, Duration.ofMillis(200));

        private final MailStore store;
        private final DeliveryLog log;
        private final Metric skipped;

        OncePerRecipient(MailStore store, DeliveryLog log, Metric skipped) {
            this.store = store;
            this.log = log;
            this.skipped = skipped;
        }

        @Override
        public Publisher<Void> storeMail(MailAddress recipient, Mail mail) {
            // Deferred: MailDispatcher retries a failed store by subscribing again, and each
            // attempt must ask the log afresh.
            return Mono.defer(() -> {
                DeliveryLog.Delivery delivery;
                try {
                    delivery = DeliveryLog.Delivery.of(mail, recipient);
                } catch (MessagingException e) {
                    return Mono.error(e);
                }
                return log.claim(delivery).flatMap(claim -> switch (claim) {
                    case CLAIMED -> Mono.from(store.storeMail(recipient, mail))
                        .onErrorResume(failure -> log.release(delivery)
                            .onErrorResume(e -> Mono.empty())
                            .then(Mono.error(failure)))
                        .then(Mono.defer(() -> markStored(delivery, mail)));
                    case ALREADY_STORED -> {
                        skipped.increment();
                        LOGGER.info("{} already has its copy of {} ({}): not stored again",
                            recipient.asString(), mail.getName(), delivery.message());
                        yield Mono.empty();
                    }
                    case BEING_STORED -> Mono.error(new MessagingException("Another copy of " + mail.getName()
                        + " is being stored for " + recipient.asString() + " at this moment; this one waits"));
                });
            });
        }

        private Mono<Void> markStored(DeliveryLog.Delivery delivery, Mail mail) {
            return log.markStored(delivery)
                .retryWhen(LOG_WRITE_RETRIES)
                .doOnNext(recorded -> {
                    if (!recorded) {
                        LOGGER.warn("{} was stored for {} after its claim lapsed; a redelivery of it could be stored again",
                            mail.getName(), delivery.recipient());
                    }
                })
                .onErrorResume(e -> {
                    LOGGER.warn("{} was stored for {} but could not be logged as stored; a redelivery of it could be stored again: {}",
                        mail.getName(), delivery.recipient(), e.getMessage());
                    return Mono.empty();
                })
                .then();
        }
    }
}
