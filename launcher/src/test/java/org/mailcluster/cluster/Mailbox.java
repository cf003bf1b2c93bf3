package org.mailcluster.cluster;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** Reads a user's INBOX over IMAP (STARTTLS, then LOGIN) with a real client ({@link ImapFolderSession}). */
final class Mailbox {

    private final InetSocketAddress imap;
    private final String user;
    private final String password;

    Mailbox(InetSocketAddress imap, String user, String password) {
        this.imap = imap;
        this.user = user;
        this.password = password;
    }

    /** Raw RFC 822 text of every message in INBOX. */
    List<String> messages() throws Exception {
        try (ImapFolderSession session = new ImapFolderSession(imap, user, password)) {
            List<String> result = new ArrayList<>();
            for (ImapFolderSession.Fetched message : session.fetchAll()) {
                result.add(new String(message.content(), java.nio.charset.StandardCharsets.UTF_8));
            }
            return result;
        }
    }

    /** Polls INBOX until the predicate holds on its messages, or the timeout passes. */
    List<String> awaitMessages(Predicate<List<String>> done, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> last = List.of();
        while (System.nanoTime() < deadline) {
            last = messages();
            if (done.test(last)) {
                return last;
            }
            Thread.sleep(500);
        }
        return last;
    }
}
