package org.mailcluster.queue.mailets;


import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.lifecycle.api.LifecycleUtil;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.queue.api.MailQueueFactory;
import org.apache.james.queue.api.MailQueueName;
import org.mailcluster.queue.QueueHandOff;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;

/**
 * Hands a mail, with the recipients it still has, to the next tier's queue, where that tier's
 * spooler starts processing it from the root processor. The mail ends here (GHOST) only once
 * the queue has it.
 *
 * <p>A failed enqueue (RabbitMQ restarting, a connection being recovered) is retried here with
 * back-off for about two minutes: a broker restart takes tens of seconds, and James's own
 * handling of a mailet error would store the mail in the error repository at once, where it
 * waits for an operator instead of being delivered. Only then does the mailet throw; declared
 * with {@code onMailetException=propagate}, the exception reaches the spooler, which puts the
 * mail back on this tier's queue a few more times before giving up.
 *
 * <pre>{@code <mailet match="RecipientIsLocal" class="org.mailcluster.queue.mailets.HandOff">
 *     <queue>delivery</queue>
 *     <onMailetException>propagate</onMailetException>
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
            QueueHandOff.enqueue(queue, next);
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
