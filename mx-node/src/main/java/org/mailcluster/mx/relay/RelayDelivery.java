package org.mailcluster.mx.relay;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.annotation.PreDestroy;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.lifecycle.api.Startable;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.transport.mailets.remote.delivery.Bouncer;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.MailetContext;
import org.mailcluster.queue.RetryNames;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Delivery over SMTP or LMTP to hosts the cluster hands mail to (Postfix's smtp/lmtp client
 * reading its own queue): it consumes one queue ({@code relay} on a primary MX, the routes'
 * hosts; {@code backup-forward} on a backup MX, the primary MX set), and for each mail asks its
 * {@link Legs} where each recipient goes.
 *
 * <p>Each recipient ends one of three ways: accepted by a host (done); refused for good (5xx:
 * a DSN to the sender through the {@code relay-bounces} processor); or not yet (4xx, no host
 * reachable, DNS failing): the mail goes back to the same queue, with those recipients only,
 * after the next delay of the {@link Schedule}, and when the schedule is over, the sender gets
 * a DSN. The delay is kept by RabbitMQ ({@code DelayedRetryQueue}), not by a waiting thread.
 */
public class RelayDelivery implements Startable {
    private static final Logger LOGGER = LoggerFactory.getLogger(RelayDelivery.class);
    static final AttributeName ATTEMPTS = AttributeName.of("mailcluster-relay-attempts");
    static final AttributeName FIRST_FAILURE = AttributeName.of("mailcluster-relay-first-failure");
    public static final String BOUNCE_PROCESSOR = "relay-bounces";

    /** Where each recipient of a mail goes: groups of recipients, each with the hosts to try in order. */
    public interface Legs {
        List<Leg> legs(Mail mail) throws MxLookup.DnsUnavailable, MessagingException;
    }

    /**
     * Recipients that go to the same hosts.
     *
     * @param hosts   in the order to try; empty means nowhere to go yet (a temporary failure)
     * @param why     what to say when no host took the mail (for logs and DSNs)
     */
    public record Leg(List<MailAddress> recipients, boolean lmtp, List<InetSocketAddress> hosts, String why) {
    }

    /**
     * When to try again: after each of {@code delays} in turn; then, while the mail is younger
     * than {@code keepTrying} (counted from its first failure), after the last delay again.
     */
    public record Schedule(List<Duration> delays, Duration keepTrying) {
        Optional<Duration> next(int failedAttempts, Instant firstFailure, Instant now) {
            if (failedAttempts <= delays.size()) {
                return Optional.of(delays.get(failedAttempts - 1));
            }
            Duration last = delays.get(delays.size() - 1);
            return now.plus(last).isBefore(firstFailure.plus(keepTrying)) ? Optional.of(last) : Optional.empty();
        }
    }

    private final MailQueue queue;
    private final Legs legs;
    private final SmtpRelayClient client;
    private final MailetContext context;
    private final Schedule schedule;
    private final int threads;
    private final Clock clock;
    private Disposable consumer;
    private Scheduler workers;

    public RelayDelivery(MailQueue queue, Legs legs, SmtpRelayClient client, MailetContext context, Schedule schedule,
                         int threads, Clock clock) {
        this.queue = queue;
        this.legs = legs;
        this.client = client;
        this.context = context;
        this.schedule = schedule;
        this.threads = threads;
        this.clock = clock;
    }

    public void start() {
        workers = Schedulers.newBoundedElastic(threads, 1000, "relay-delivery-" + queue.getName().asString());
        consumer = Flux.from(queue.deQueue())
            .flatMap(item -> Mono.fromRunnable(() -> handle(item)).subscribeOn(workers), threads)
            .onErrorContinue((error, item) -> LOGGER.error("relay delivery from {} failed", queue.getName().asString(), error))
            .subscribe();
        LOGGER.info("relay delivery consumes {} with {} threads", queue.getName().asString(), threads);
    }

    @PreDestroy
    public void stop() {
        if (consumer != null) {
            consumer.dispose();
        }
        if (workers != null) {
            workers.dispose();
        }
    }

    private void handle(MailQueue.MailQueueItem item) {
        Mail mail = item.getMail();
        try {
            deliver(mail);
            item.done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);
        } catch (Exception e) {
            // Nothing decided for this mail (a retry or bounce could not be queued): the queue gives it back.
            LOGGER.error("relay delivery of {} failed; the queue hands it out again", mail.getName(), e);
            try {
                item.done(MailQueue.MailQueueItem.CompletionStatus.RETRY);
            } catch (Exception ignored) {
                // the reference stays unacknowledged and returns when the channel closes
            }
        } finally {
            LifecycleUtil.dispose(mail);
        }
    }

    void deliver(Mail mail) throws MessagingException, MailQueue.MailQueueException {
        Map<MailAddress, String> temporary = new LinkedHashMap<>();
        Map<MailAddress, String> permanent = new LinkedHashMap<>();
        List<Leg> planned;
        try {
            planned = legs.legs(mail);
        } catch (MxLookup.DnsUnavailable e) {
            mail.getRecipients().forEach(recipient -> temporary.put(recipient, e.getMessage()));
            planned = List.of();
        }
        for (Leg leg : planned) {
            attempt(mail, leg, temporary, permanent);
        }
        if (!permanent.isEmpty()) {
            bounce(mail, permanent);
        }
        if (!temporary.isEmpty()) {
            retryOrBounce(mail, temporary);
        }
    }

    private void attempt(Mail mail, Leg leg, Map<MailAddress, String> temporary, Map<MailAddress, String> permanent)
            throws MessagingException {
        if (leg.hosts().isEmpty()) {
            leg.recipients().forEach(recipient -> temporary.put(recipient, leg.why()));
            return;
        }
        String lastFailure = leg.why();
        for (InetSocketAddress host : leg.hosts()) {
            SmtpRelayClient.Outcome outcome = client.send(host, leg.lmtp(), mail.getMaybeSender(), leg.recipients(), mail.getMessage());
            if (outcome instanceof SmtpRelayClient.Answered answered) {
                answered.replies().forEach((recipient, reply) -> {
                    if (reply.positive()) {
                        LOGGER.info("{} to {} delivered to {}: {}", mail.getName(), recipient.asString(), host, reply);
                    } else if (reply.permanent()) {
                        LOGGER.info("{} to {} refused by {}: {}", mail.getName(), recipient.asString(), host, reply);
                        permanent.put(recipient, reply.toString());
                    } else {
                        temporary.put(recipient, host + " said: " + reply);
                    }
                });
                return;
            }
            SmtpRelayClient.HostFailed failed = (SmtpRelayClient.HostFailed) outcome;
            LOGGER.info("{}: {}", mail.getName(), failed.reason());
            if (failed.permanent()) {
                leg.recipients().forEach(recipient -> permanent.put(recipient, failed.reason()));
                return;
            }
            lastFailure = failed.reason();
        }
        String reason = lastFailure;
        leg.recipients().forEach(recipient -> temporary.put(recipient, reason));
    }

    private void retryOrBounce(Mail mail, Map<MailAddress, String> temporary) throws MessagingException, MailQueue.MailQueueException {
        int attempts = mail.getAttribute(ATTEMPTS).flatMap(a -> a.getValue().valueAs(Integer.class)).orElse(0) + 1;
        Instant now = clock.instant();
        Instant firstFailure = mail.getAttribute(FIRST_FAILURE).flatMap(a -> a.getValue().valueAs(Long.class))
            .map(Instant::ofEpochMilli).orElse(now);
        Optional<Duration> delay = schedule.next(attempts, firstFailure, now);
        if (delay.isEmpty()) {
            Map<MailAddress, String> gaveUp = new LinkedHashMap<>();
            temporary.forEach((recipient, reason) -> gaveUp.put(recipient, "gave up after " + attempts + " attempts; last: " + reason));
            bounce(mail, gaveUp);
            return;
        }
        String triedAs = mail.getName();
        mail.setName(RetryNames.retryName(triedAs, attempts));
        Mail again = mail.duplicate();
        try {
            again.setRecipients(new ArrayList<>(temporary.keySet()));
            again.setAttribute(new Attribute(ATTEMPTS, AttributeValue.of(attempts)));
            again.setAttribute(new Attribute(FIRST_FAILURE, AttributeValue.of(firstFailure.toEpochMilli())));
            queue.enQueue(again, delay.get());
        } finally {
            LifecycleUtil.dispose(again);
        }
        LOGGER.info("{} to {} deferred for {} as {} (attempt {}): {}", triedAs, temporary.keySet(), delay.get(), again.getName(), attempts,
            temporary.values().iterator().next());
    }

    /**
     * A DSN to the sender for each distinct failure (James's {@code DSNBounce} reports one error
     * per notification): the failure, the server's reply when there was one, is the DSN's
     * status and diagnostic, as in James's own remote delivery bounces.
     */
    private void bounce(Mail mail, Map<MailAddress, String> failures) throws MessagingException {
        LOGGER.info("{} to {} failed for good: {}", mail.getName(), failures.keySet(), failures.values().iterator().next());
        if (!mail.hasSender()) {
            LOGGER.info("{} has a null sender: no DSN", mail.getName());
            return;
        }
        Map<String, List<MailAddress>> byReason = new LinkedHashMap<>();
        failures.forEach((recipient, reason) -> byReason.computeIfAbsent(reason, any -> new ArrayList<>()).add(recipient));
        for (Map.Entry<String, List<MailAddress>> failure : byReason.entrySet()) {
            Mail failed = mail.duplicate();
            try {
                failed.setRecipients(failure.getValue());
                failed.setErrorMessage(failure.getKey());
                failed.setAttribute(new Attribute(Bouncer.DELIVERY_ERROR, AttributeValue.of(failure.getKey())));
                failed.setAttribute(new Attribute(Bouncer.IS_DELIVERY_PERMANENT_ERROR, AttributeValue.of(true)));
                context.sendMail(failed, BOUNCE_PROCESSOR);
            } finally {
                LifecycleUtil.dispose(failed);
            }
        }
    }
}
