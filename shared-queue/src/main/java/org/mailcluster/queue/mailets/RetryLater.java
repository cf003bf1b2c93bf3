package org.mailcluster.queue.mailets;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.james.util.DurationParser;
import org.apache.mailet.Attribute;
import org.apache.mailet.AttributeName;
import org.apache.mailet.AttributeValue;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;
import org.mailcluster.queue.RetryNames;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Postfix's "deferred" queue for one tier: a mail whose processing failed for a transient
 * reason (Cassandra restarting while a recipient is checked or a message stored) goes back to
 * this tier's own queue, to be processed again from the start after a delay, instead of
 * landing in the error repository on the first failure.
 *
 * <p>Mailets and matchers that can fail that way name the processor holding this mailet in
 * their {@code onMailetException} / {@code onMatchException}. After the last delay the mail
 * goes to the {@code error} processor (error repository), where an operator sees it.
 *
 * <pre>{@code <processor state="deferred">
 *     <mailet match="All" class="org.mailcluster.queue.mailets.RetryLater">
 *         <delays>10 seconds, 30 seconds, 1 minute, 5 minutes, 15 minutes, 1 hour</delays>
 *     </mailet>
 * </processor>}</pre>
 *
 * {@code <queue>} defaults to {@code spool}, which every tier maps to its own queue.
 */
public class RetryLater extends GenericMailet {
    private static final Logger LOGGER = LoggerFactory.getLogger(RetryLater.class);
    static final AttributeName DEFERRALS = AttributeName.of("mailcluster-deferrals");
    private static final String DEFAULT_DELAYS = "10 seconds, 30 seconds, 1 minute, 5 minutes, 15 minutes, 1 hour";

    private final MailQueueFactory<?> queues;
    private MailQueue queue;
    private List<Duration> delays;

    @Inject
    public RetryLater(MailQueueFactory<?> queues) {
        this.queues = queues;
    }

    @Override
    public void init() throws MessagingException {
        queue = queues.createQueue(MailQueueName.of(getInitParameter("queue", "spool")));
        delays = Arrays.stream(getInitParameter("delays", DEFAULT_DELAYS).split(","))
            .map(String::trim)
            .map(DurationParser::parse)
            .collect(Collectors.toUnmodifiableList());
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        int deferrals = mail.getAttribute(DEFERRALS)
            .flatMap(attribute -> attribute.getValue().valueAs(Integer.class))
            .orElse(0);
        if (deferrals >= delays.size()) {
            LOGGER.error("{} still failing after {} deferrals; to the error repository: {}",
                mail.getName(), deferrals, mail.getErrorMessage());
            mail.setState(Mail.ERROR);
            return;
        }
        Duration delay = delays.get(deferrals);
        String failedAs = mail.getName();
        // Renamed first: duplicate() appends to the name, and so does every pass through the
        // processors, until James refuses a name that long ("Possible loop in config.xml") and
        // the mail lands in the error repository after its fourth deferral.
        mail.setName(RetryNames.retryName(failedAs, deferrals + 1));
        Mail again = mail.duplicate();
        try {
            again.setState(Mail.DEFAULT);
            again.setAttribute(new Attribute(DEFERRALS, AttributeValue.of(deferrals + 1)));
            queue.enQueue(again, delay);
        } finally {
            LifecycleUtil.dispose(again);
        }
        LOGGER.warn("{} deferred for {} as {} (deferral {} of {}) after: {}", failedAs, delay, again.getName(),
            deferrals + 1, delays.size(), firstLine(mail.getErrorMessage()));
        mail.setState(Mail.GHOST);
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }

    @Override
    public String getMailetInfo() {
        return "Puts a mail back on this tier's queue after a delay";
    }
}
