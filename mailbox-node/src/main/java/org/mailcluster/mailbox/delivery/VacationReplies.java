package org.mailcluster.mailbox.delivery;

import java.time.ZonedDateTime;
import java.util.Locale;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.transport.mailets.VacationReply;
import org.apache.james.transport.util.MimeMessageBodyGenerator;
import org.apache.james.util.date.ZonedDateTimeProvider;
import org.apache.james.vacation.api.AccountId;
import org.apache.james.vacation.api.RecipientId;
import org.apache.james.vacation.api.Vacation;
import org.apache.james.vacation.api.VacationService;
import org.apache.mailet.Mail;
import org.apache.mailet.base.AutomaticallySentMailDetector;
import org.apache.mailet.base.GenericMailet;

import reactor.core.publisher.Mono;

/**
 * Sends each recipient's vacation (out-of-office) reply, as JMAP's vacation response defines
 * it: once per sender for the vacation's duration, never to a null sender, a
 * {@code ...-noreply} sender or automatically sent mail (mailing lists, bounces).
 *
 * <p>Why not James's {@code VacationMailet}: it logs and swallows every failure, so while
 * Cassandra was unreachable mail was delivered without the replies its users had asked for.
 * Here a failure to read a recipient's vacation or who was already answered fails the mailet,
 * and {@code onMailetException=deferred} retries the whole mail later (recipients already
 * stored are not stored twice, see {@link LocalDeliveryOnce}). A reply sent but not recorded
 * (Cassandra failed between the two) may be sent again on that retry.
 */
public class VacationReplies extends GenericMailet {
    private final VacationService vacations;
    private final ZonedDateTimeProvider now;
    private final AutomaticallySentMailDetector automaticallySent;
    private final MimeMessageBodyGenerator bodies;

    @Inject
    public VacationReplies(VacationService vacations, ZonedDateTimeProvider now,
                           AutomaticallySentMailDetector automaticallySent, MimeMessageBodyGenerator bodies) {
        this.vacations = vacations;
        this.now = now;
        this.automaticallySent = automaticallySent;
        this.bodies = bodies;
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        if (!mail.hasSender() || isNoReply(mail.getMaybeSender().get()) || automaticallySent.isAutomaticallySent(mail)
                || !hasReplyAddress(mail)) {
            return;
        }
        ZonedDateTime at = now.get();
        for (MailAddress recipient : mail.getRecipients()) {
            replyFor(recipient, mail, at);
        }
    }

    private void replyFor(MailAddress recipient, Mail mail, ZonedDateTime at) throws MessagingException {
        AccountId account = AccountId.fromString(recipient.asString());
        RecipientId sender = RecipientId.fromMailAddress(mail.getMaybeSender().get());
        // block(): a failure to read either is thrown here, to the mailet container.
        Vacation vacation = Mono.from(vacations.retrieveVacation(account)).block();
        if (vacation == null || !vacation.isActiveAtDate(at)) {
            return;
        }
        Boolean answered = Mono.from(vacations.isNotificationRegistered(account, sender)).block();
        if (Boolean.TRUE.equals(answered)) {
            return;
        }
        VacationReply reply = VacationReply.builder(mail)
            .receivedMailRecipient(recipient)
            .vacation(vacation)
            .build(bodies);
        getMailetContext().sendMail(MailAddress.nullSender(), reply.getRecipients(), reply.getMimeMessage());
        Mono.from(vacations.registerNotification(account, sender, vacation.getToDate())).block();
    }

    /** Reply-To, or From without it: a message with neither cannot be answered. */
    private static boolean hasReplyAddress(Mail mail) throws MessagingException {
        javax.mail.Address[] replyTo = mail.getMessage().getReplyTo();
        return replyTo != null && replyTo.length > 0;
    }

    private static boolean isNoReply(MailAddress sender) {
        return sender.getLocalPart().toLowerCase(Locale.US).endsWith("-noreply");
    }

    @Override
    public String getMailetInfo() {
        return "Vacation replies that defer the mail when its recipients' vacations cannot be read";
    }
}
