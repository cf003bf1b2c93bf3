package org.mailcluster.scanning;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;

import javax.inject.Inject;

import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.metrics.api.TimeMetric;
import org.apache.mailet.Mail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scanning at the end of DATA, before the message is queued and the {@code 250} given
 * (Postfix's before-queue content filter): the client waits, so what is refused is refused in
 * SMTP and nobody gets a bounce. A virus gets {@code 554 5.7.1}, spam over the policy's limit
 * {@code 550 5.7.1}, a scanner that does not answer {@code 451 4.7.1} unless the operator made
 * it fail-open ({@link Scanners}). What a tier does with an accepted message's verdict is the
 * subclass's {@link #accepted}. Declared in a tier's {@code smtpserver.xml} before James's core
 * handlers, whose last message hook queues the mail.
 */
public abstract class ScanningHook implements JamesMessageHook {
    private static final Logger LOGGER = LoggerFactory.getLogger(ScanningHook.class);

    /**
     * The headers the cluster writes on what it accepts. A sender's copies are removed: an
     * Authentication-Results a sender wrote could otherwise pass for the cluster's.
     */
    static final List<String> VERDICT_HEADERS = List.of(ScanVerdict.SPAM_FLAG, ScanVerdict.SPAM_STATUS,
        ScanVerdict.VIRUS_SCANNED, ScanVerdict.AUTHENTICATION_RESULTS);
    private static final String ERROR_COUNTER = "mailcluster_scan_error";

    private final Scanners scanners;
    private final ScanVerdict.Policy policy;
    /** Null where no injector made the hook (unit tests): nothing is counted then. */
    private MetricFactory metrics;

    protected ScanningHook(Scanners scanners, ScanVerdict.Policy policy) {
        this.scanners = scanners;
        this.policy = policy;
    }

    /**
     * Where verdicts and scan times are counted (webadmin's {@code /metrics}):
     * {@code mailcluster_scan_<decision>_total} per decision (accept, accept_as_spam, refuse_virus,
     * refuse_spam, try_later), {@code mailcluster_scan_error_total} and the timer
     * {@code mailcluster_scan_time}. Injected by Guice after construction.
     */
    @Inject
    public void setMetrics(MetricFactory metrics) {
        this.metrics = metrics;
        // Every counter exists from the start, at 0: an alert on scan errors or try-laters reads
        // a series that is there before the first failure, not one that appears with it.
        for (ScanVerdict.Decision decision : ScanVerdict.Decision.values()) {
            metrics.generate(counterName(decision));
        }
        metrics.generate(ERROR_COUNTER);
    }

    private static String counterName(ScanVerdict.Decision decision) {
        return "mailcluster_scan_" + decision.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** An accepted message, before it is queued: e.g. write the verdict into its headers. */
    protected abstract void accepted(Mail mail, ScanVerdict verdict) throws MessagingException;

    /** The message before it is scanned (by default as received). */
    protected void beforeScan(Mail mail) throws MessagingException {
    }

    @Override
    public HookResult onMessage(SMTPSession session, Mail mail) {
        long start = System.nanoTime();
        RspamdClient.Envelope envelope = envelope(session, mail);
        ScanVerdict verdict;
        TimeMetric timer = metrics == null ? null : metrics.timer("mailcluster_scan_time");
        try {
            beforeScan(mail);
            verdict = scanners.scan(bytes(mail.getMessage()), envelope, policy);
            if (timer != null) {
                timer.stopAndPublish();
            }
            count(counterName(verdict.decision()));
        } catch (MessagingException | RuntimeException e) {
            count(ERROR_COUNTER);
            LOGGER.error("{}: could not scan the message", mail.getName(), e);
            return answer(HookReturnCode.denySoft(), "451 4.7.1 Message not scanned (local error), try again later");
        }
        LOGGER.info("{} from {} (client {}{}) scanned in {} ms: {} -> {}", mail.getName(), mail.getMaybeSender().asString(),
            envelope.clientAddress(), envelope.authenticatedUser() == null ? "" : ", user " + envelope.authenticatedUser(),
            (System.nanoTime() - start) / 1_000_000, verdict.summary(), verdict.decision());
        switch (verdict.decision()) {
            case REFUSE_VIRUS:
            case REFUSE_SPAM:
                return answer(HookReturnCode.deny(), verdict.reply());
            case TRY_LATER:
                return answer(HookReturnCode.denySoft(), verdict.reply());
            default:
                try {
                    accepted(mail, verdict);
                } catch (MessagingException | RuntimeException e) {
                    LOGGER.error("{}: could not record the scan's verdict", mail.getName(), e);
                    return answer(HookReturnCode.denySoft(), "451 4.7.1 Message not scanned (local error), try again later");
                }
                return HookResult.DECLINED;
        }
    }

    private void count(String metric) {
        if (metrics != null) {
            metrics.generate(metric).increment();
        }
    }

    /** Removes the verdict headers a sender wrote: only the cluster's own are to be believed (and scanned). */
    protected static void removeVerdict(MimeMessage message) throws MessagingException {
        for (String name : VERDICT_HEADERS) {
            message.removeHeader(name);
        }
        message.saveChanges();
    }

    /** Sets the verdict's headers on the message, removing any copies the sender wrote first. */
    protected static void writeVerdict(MimeMessage message, ScanVerdict verdict) throws MessagingException {
        for (String name : VERDICT_HEADERS) {
            message.removeHeader(name);
        }
        for (var header : verdict.headers().entrySet()) {
            message.setHeader(header.getKey(), header.getValue());
        }
        message.saveChanges();
    }

    static RspamdClient.Envelope envelope(SMTPSession session, Mail mail) {
        String helo = session.getAttachment(SMTPSession.CURRENT_HELO_NAME, ProtocolSession.State.Connection).orElse(null);
        String user = session.getUsername() == null ? null : session.getUsername().asString();
        List<String> recipients = mail.getRecipients().stream().map(MailAddress::asString).toList();
        return new RspamdClient.Envelope(session.getRemoteAddress().getAddress().getHostAddress(), helo,
            mail.getMaybeSender().asString(""), recipients, user, session.getConfiguration().getHelloName());
    }

    private static byte[] bytes(MimeMessage message) throws MessagingException {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(message.getSize(), 1024) + 1024);
            message.writeTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new MessagingException("could not read the message", e);
        }
    }

    private static HookResult answer(HookReturnCode code, String reply) {
        return HookResult.builder()
            .hookReturnCode(code)
            .smtpReturnCode(reply.substring(0, 3))
            .smtpDescription(reply.substring(4))
            .build();
    }
}
