package org.mailcluster.mx.smtp;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.mailet.Mail;
import org.mailcluster.scanning.ScanVerdict;
import org.mailcluster.scanning.Scanners;
import org.mailcluster.scanning.ScanningHook;

/**
 * Inbound scanning on the MX tier (primaries and the backup MX), with rspamd's own thresholds:
 * a virus {@code 554}, rspamd's reject {@code 550}, a scanner away {@code 451}. An accepted
 * message carries the verdict in {@code X-Spam}, {@code X-Spam-Status} and
 * {@code X-Virus-Scanned} (any copies the sender wrote are replaced); {@code X-Spam: Yes}
 * (rspamd's add-header action) has the mailbox tier file it in the recipient's Spam folder.
 * See docs/scanning.md.
 */
public class InboundScanning extends ScanningHook {

    @Inject
    public InboundScanning(Scanners scanners) {
        super(scanners, ScanVerdict.Policy.INBOUND);
    }

    /** A sender's own X-Spam headers go before rspamd sees the message (they would count as spam signs). */
    @Override
    protected void beforeScan(Mail mail) throws MessagingException {
        removeVerdict(mail.getMessage());
    }

    @Override
    protected void accepted(Mail mail, ScanVerdict verdict) throws MessagingException {
        writeVerdict(mail.getMessage(), verdict);
    }
}
