package org.mailcluster.submission;

import javax.inject.Inject;

import org.apache.mailet.Mail;
import org.mailcluster.scanning.ScanVerdict;
import org.mailcluster.scanning.Scanners;
import org.mailcluster.scanning.ScanningHook;

/**
 * Outbound scanning on the submission tier, before the {@code 250} to the user, so that the
 * cluster's addresses do not get blacklisted for what its users send: a virus {@code 554}, a
 * message whose rspamd score reaches {@code MC_OUTBOUND_SPAM_REJECT_SCORE} (default 10, below
 * the inbound reject threshold of 15) {@code 550} with a message saying nothing was sent, a
 * scanner away {@code 451}. Each verdict is logged with the authenticated user. Nothing is
 * added to an accepted message: its headers are the user's.
 */
public class OutboundScanning extends ScanningHook {
    static final double DEFAULT_REJECT_SCORE = 10;

    @Inject
    public OutboundScanning(Scanners scanners) {
        super(scanners, ScanVerdict.Policy.outbound(rejectScore()));
    }

    static double rejectScore() {
        String value = System.getenv("MC_OUTBOUND_SPAM_REJECT_SCORE");
        if (value == null || value.isBlank()) {
            return DEFAULT_REJECT_SCORE;
        }
        try {
            return Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("MC_OUTBOUND_SPAM_REJECT_SCORE must be a number (was \"" + value + "\")");
        }
    }

    @Override
    protected void accepted(Mail mail, ScanVerdict verdict) {
        // the verdict is in the log; the user's message leaves as written
    }
}
