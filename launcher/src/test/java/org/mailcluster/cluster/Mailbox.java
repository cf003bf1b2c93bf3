package org.mailcluster.cluster;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.Predicate;

import javax.mail.Folder;
import javax.mail.Message;
import javax.mail.Session;
import javax.mail.Store;

/** Reads a user's INBOX over IMAP (STARTTLS, then LOGIN) with a real client (Jakarta Mail). */
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
        Properties props = new Properties();
        props.put("mail.imap.starttls.enable", "true");
        props.put("mail.imap.starttls.required", "true");
        props.put("mail.imap.ssl.trust", "*");
        props.put("mail.imap.connectiontimeout", "10000");
        props.put("mail.imap.timeout", "60000");
        Session session = Session.getInstance(props);
        Store store = session.getStore("imap");
        store.connect(imap.getHostString(), imap.getPort(), user, password);
        try {
            Folder inbox = store.getFolder("INBOX");
            inbox.open(Folder.READ_ONLY);
            List<String> result = new ArrayList<>();
            for (Message message : inbox.getMessages()) {
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                message.writeTo(out);
                result.add(out.toString(java.nio.charset.StandardCharsets.UTF_8));
            }
            inbox.close(false);
            return result;
        } finally {
            store.close();
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
