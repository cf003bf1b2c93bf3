package org.mailcluster.cluster;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Properties;
import java.util.SortedSet;
import java.util.TreeSet;

import javax.mail.FetchProfile;
import javax.mail.Flags;
import javax.mail.Folder;
import javax.mail.Message;
import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.Store;
import javax.mail.UIDFolder;
import javax.mail.internet.MimeMessage;

import com.sun.mail.iap.Argument;
import com.sun.mail.iap.ProtocolException;
import com.sun.mail.iap.Response;
import com.sun.mail.imap.AppendUID;
import com.sun.mail.imap.IMAPFolder;
import com.sun.mail.imap.protocol.IMAPResponse;

/**
 * One user's INBOX over IMAP (STARTTLS), with what the search tests need from a real client:
 * APPEND with a chosen internal date and flags, raw {@code UID SEARCH}, FETCH of everything
 * the reference search needs, STORE and EXPUNGE.
 */
final class ImapFolderSession implements AutoCloseable {

    /** What the server holds for one message. */
    record Fetched(long uid, Flags flags, Date internalDate, long size, byte[] content) {
    }

    private final Store store;
    private final IMAPFolder inbox;

    ImapFolderSession(InetSocketAddress imap, String user, String password) throws MessagingException {
        this(imap, user, password, "INBOX");
    }

    /** One folder of the user's (it must exist). */
    ImapFolderSession(InetSocketAddress imap, String user, String password, String folder) throws MessagingException {
        Properties props = new Properties();
        props.put("mail.imap.starttls.enable", "true");
        props.put("mail.imap.starttls.required", "true");
        props.put("mail.imap.ssl.trust", "*");
        props.put("mail.imap.connectiontimeout", "10000");
        props.put("mail.imap.timeout", "120000");
        // Reading content must not set \Seen: the flags are part of what is searched.
        props.put("mail.imap.peek", "true");
        store = Session.getInstance(props).getStore("imap");
        store.connect(imap.getHostString(), imap.getPort(), user, password);
        inbox = (IMAPFolder) store.getFolder(folder);
        inbox.open(Folder.READ_WRITE);
    }

    long append(byte[] content, Date internalDate, Flags flags) throws MessagingException {
        MimeMessage message = new MimeMessage(null, new ByteArrayInputStream(content)) {
            @Override
            public Date getReceivedDate() {
                return internalDate;
            }
        };
        message.setFlags(flags, true);
        AppendUID[] uids = inbox.appendUIDMessages(new Message[] {message});
        return uids[0].uid;
    }

    /** The UID the next message appended or delivered will get. */
    long uidNext() throws MessagingException {
        return inbox.getUIDNext();
    }

    /** {@code UID SEARCH <criteria>} exactly as typed; the UIDs the server answers. */
    SortedSet<Long> uidSearch(String criteria) throws MessagingException {
        return searchCommand("UID SEARCH " + criteria, null);
    }

    /** {@code UID SORT <criteria>}: the UIDs in the order the server gives them. */
    List<Long> uidSort(String criteria) throws MessagingException {
        return new ArrayList<>(numbers("UID SORT " + criteria, null, "SORT"));
    }

    /** {@code UID SEARCH CHARSET UTF-8 <key> <literal value>}, for non-ASCII values. */
    SortedSet<Long> uidSearchUtf8(String key, String value) throws Exception {
        Argument arguments = new Argument();
        arguments.writeAtom("CHARSET");
        arguments.writeAtom("UTF-8");
        arguments.writeAtom(key);
        arguments.writeString(value, "UTF-8");
        return searchCommand("UID SEARCH", arguments);
    }

    private SortedSet<Long> searchCommand(String command, Argument arguments) throws MessagingException {
        return new TreeSet<>(numbers(command, arguments, "SEARCH"));
    }

    /** The numbers of the untagged {@code * KEY ...} answers, in the order received. */
    @SuppressWarnings("unchecked")
    private List<Long> numbers(String command, Argument arguments, String key) throws MessagingException {
        return (List<Long>) inbox.doCommand(protocol -> {
            Response[] responses = protocol.command(command, arguments);
            Response status = responses[responses.length - 1];
            if (!status.isOK()) {
                throw new ProtocolException(command + " -> " + status);
            }
            List<Long> uids = new ArrayList<>();
            for (Response response : responses) {
                if (response instanceof IMAPResponse && ((IMAPResponse) response).keyEquals(key)) {
                    String number;
                    while ((number = response.readAtomString()) != null && !number.isEmpty()) {
                        uids.add(Long.parseLong(number));
                    }
                }
            }
            return uids;
        });
    }

    List<Fetched> fetchAll() throws Exception {
        Message[] messages = inbox.getMessages();
        FetchProfile profile = new FetchProfile();
        profile.add(UIDFolder.FetchProfileItem.UID);
        profile.add(FetchProfile.Item.FLAGS);
        profile.add(FetchProfile.Item.ENVELOPE);
        profile.add(FetchProfile.Item.SIZE);
        inbox.fetch(messages, profile);
        List<Fetched> result = new ArrayList<>();
        for (Message message : messages) {
            ByteArrayOutputStream content = new ByteArrayOutputStream();
            message.writeTo(content);
            result.add(new Fetched(inbox.getUID(message), message.getFlags(), message.getReceivedDate(),
                message.getSize(), content.toByteArray()));
        }
        return result;
    }

    void setFlags(long[] uids, Flags flags, boolean set) throws MessagingException {
        inbox.setFlags(inbox.getMessagesByUID(uids), flags, set);
    }

    void expunge() throws MessagingException {
        inbox.expunge();
    }

    @Override
    public void close() throws MessagingException {
        try {
            inbox.close(false);
        } finally {
            store.close();
        }
    }
}
