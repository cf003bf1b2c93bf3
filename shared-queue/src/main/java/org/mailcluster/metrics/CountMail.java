package org.mailcluster.metrics;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;

/**
 * Counts the mail passing it, for {@link MailOutcomes}, and changes nothing. First in the
 * processors whose mail has an outcome an operator watches:
 *
 * <pre>{@code <processor state="bounces">
 *     <mailet match="All" class="org.mailcluster.metrics.CountMail">
 *         <outcome>bounced</outcome>        (bounced | failed)
 *         <label>remote-delivery</label>    (the reason of a bounce, the processor of a failure)
 *     </mailet>
 *     <mailet match="All" class="DSNBounce"/>
 * </processor>}</pre>
 */
public class CountMail extends GenericMailet {
    private final MailOutcomes outcomes;
    private MailOutcomes.Outcome outcome;
    private String label;

    @Inject
    public CountMail(MailOutcomes outcomes) {
        this.outcomes = outcomes;
    }

    @Override
    public void init() throws MessagingException {
        String name = getInitParameter("outcome", "");
        try {
            outcome = MailOutcomes.Outcome.valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new MessagingException("CountMail: outcome must be bounced or failed, not '" + name + "'");
        }
        label = getInitParameter("label", "");
        if (label.isBlank()) {
            throw new MessagingException("CountMail: label is required (the bounce's reason or the failing processor)");
        }
        outcomes.know(outcome, label);
    }

    @Override
    public void service(Mail mail) {
        outcomes.count(outcome, label);
    }

    @Override
    public String getMailetInfo() {
        return "Counts mail with an outcome (mailcluster_mail_bounced_total, mailcluster_mail_failed_total)";
    }
}
