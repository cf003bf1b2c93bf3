package org.mailcluster.queue.mailets;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;

/**
 * Hands a mail, with the recipients it still has, to the next tier's queue, where that tier's
 * spooler starts processing it from the root processor. The mail ends here (GHOST) only once
 * the queue has it: if enqueuing fails the mailet throws, the spooler does not acknowledge the
 * mail, and it is retried from this tier's own queue, so nothing is lost between tiers.
 *
 * <pre>{@code <mailet match="RecipientIsLocal" class="org.mailcluster.queue.mailets.HandOff">
 *     <queue>delivery</queue>
 * </mailet>}</pre>
 */
public class HandOff extends GenericMailet {

    private final MailQueueFactory<?> queues;
    private MailQueue queue;

    @Inject
    public HandOff(MailQueueFactory<?> queues) {
        this.queues = queues;
    }

    @Override
    public void init() throws MessagingException {
        String name = getInitParameter("queue");
        if (name == null || name.isBlank()) {
            throw new MessagingException("HandOff needs a <queue> parameter naming the next tier's queue");
        }
        queue = queues.createQueue(MailQueueName.of(name));
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        if (mail.getRecipients().isEmpty()) {
            return;
        }
        Mail next = mail.duplicate();
        try {
            next.setState(Mail.DEFAULT);
            queue.enQueue(next);
        } finally {
            LifecycleUtil.dispose(next);
        }
        mail.setState(Mail.GHOST);
    }

    @Override
    public String getMailetInfo() {
        return "Hands mail to the next tier's queue";
    }
}
