package org.mailcluster.submission;

import javax.inject.Inject;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.core.Username;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MailHook;
import org.apache.james.protocols.smtp.hook.RcptHook;
import org.apache.james.smtpserver.JamesMessageHook;
import org.apache.mailet.Mail;
import org.mailcluster.limits.SendingLimit;
import org.mailcluster.limits.SendingLimits;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sending limits ({@link SendingLimits}) at SMTP time, on every submission node with the
 * same shared count:
 * <ul>
 *   <li>MAIL FROM: a user who sent their hourly number of messages gets
 *       {@code 450 4.7.1} naming the limit and who it is set for, and retries later;</li>
 *   <li>RCPT TO: past the recipients a message may have, {@code 452 4.7.1}; a client sends the
 *       remaining recipients in another message (RFC 5321 4.5.3.1.10);</li>
 *   <li>end of DATA (placed after the scanner in the handler chain, so only a message that is
 *       about to be accepted counts): the message is counted.</li>
 * </ul>
 * Cassandra unreachable: {@code 451 4.3.0}, never unlimited sending.
 */
public class EnforceSendingLimits implements MailHook, RcptHook, JamesMessageHook {
    private static final Logger LOGGER = LoggerFactory.getLogger(EnforceSendingLimits.class);
    static final ProtocolSession.AttachmentKey<SendingLimit.Effective> LIMITS =
        ProtocolSession.AttachmentKey.of("mailcluster.sendingLimits", SendingLimit.Effective.class);

    private final SendingLimits limits;

    @Inject
    public EnforceSendingLimits(SendingLimits limits) {
        this.limits = limits;
    }

    @Override
    public HookResult doMail(SMTPSession session, MaybeSender sender) {
        Username user = session.getUsername();
        if (user == null) {
            return HookResult.DECLINED;
        }
        try {
            SendingLimit.Effective effective = limits.effective(user);
            session.setAttachment(LIMITS, effective, ProtocolSession.State.Transaction);
            long sent = limits.sentInTheLastHour(user);
            if (sent >= effective.messagesPerHour()) {
                LOGGER.info("{} is at the sending limit: {} messages in the last hour (limit {}, set for the {})",
                    user.asString(), sent, effective.messagesPerHour(), effective.messagesPerHourSource().label());
                return answer(HookReturnCode.denySoft(), "450", "4.7.1 Sending limit reached: "
                    + effective.messagesPerHour() + " messages per hour (set for the " + effective.messagesPerHourSource().label()
                    + "); try again later");
            }
            return HookResult.DECLINED;
        } catch (RuntimeException e) {
            return unavailable(user, e);
        }
    }

    @Override
    public HookResult doRcpt(SMTPSession session, MaybeSender sender, MailAddress rcpt) {
        return session.getAttachment(LIMITS, ProtocolSession.State.Transaction)
            .filter(effective -> session.getRcptCount() >= effective.recipientsPerMessage())
            .map(effective -> answer(HookReturnCode.denySoft(), "452", "4.7.1 Too many recipients: at most "
                + effective.recipientsPerMessage() + " per message (set for the " + effective.recipientsPerMessageSource().label()
                + "); send the others in another message"))
            .orElse(HookResult.DECLINED);
    }

    @Override
    public HookResult onMessage(SMTPSession session, Mail mail) {
        Username user = session.getUsername();
        if (user == null) {
            return HookResult.DECLINED;
        }
        try {
            limits.recordSent(user);
            return HookResult.DECLINED;
        } catch (RuntimeException e) {
            return unavailable(user, e);
        }
    }

    private static HookResult unavailable(Username user, RuntimeException e) {
        LOGGER.warn("sending limits of {} unavailable: {}", user.asString(), e.toString());
        return answer(HookReturnCode.denySoft(), "451", "4.3.0 Sending limits unavailable, try again later");
    }

    private static HookResult answer(HookReturnCode code, String smtpCode, String description) {
        return HookResult.builder().hookReturnCode(code).smtpReturnCode(smtpCode).smtpDescription(description).build();
    }
}
