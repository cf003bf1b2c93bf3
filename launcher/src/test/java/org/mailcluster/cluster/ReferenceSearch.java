package org.mailcluster.cluster;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.apache.james.core.Username;
import org.apache.james.mailbox.MailboxSession;
import org.apache.james.mailbox.MessageUid;
import org.apache.james.mailbox.ModSeq;
import org.apache.james.mailbox.inmemory.InMemoryId;
import org.apache.james.mailbox.inmemory.InMemoryMessageId;
import org.apache.james.mailbox.model.Content;
import org.apache.james.mailbox.model.SearchQuery;
import org.apache.james.mailbox.model.ThreadId;
import org.apache.james.mailbox.store.extractor.JsoupTextExtractor;
import org.apache.james.mailbox.store.mail.model.MailboxMessage;
import org.apache.james.mailbox.store.mail.model.impl.PropertyBuilder;
import org.apache.james.mailbox.store.mail.model.impl.SimpleMailboxMessage;
import org.apache.james.mailbox.store.search.MessageSearches;
import org.apache.james.mailbox.store.search.SimpleMessageSearchIndex;

/**
 * The answer James's in-memory scanning search ({@link MessageSearches}, what a James without
 * an index runs) gives for a query over the messages as the server holds them (fetched over
 * IMAP), in this JVM. The search tests compare the cluster's answers with it.
 */
final class ReferenceSearch {
    private static final MailboxSession SESSION = new MailboxSession(MailboxSession.SessionId.of(1),
        Username.of("reference"), Optional.empty(), List.of(Locale.ENGLISH), '.', MailboxSession.SessionType.System);

    private final List<MailboxMessage> messages = new ArrayList<>();

    ReferenceSearch(List<ImapFolderSession.Fetched> fetched) {
        for (ImapFolderSession.Fetched message : fetched) {
            InMemoryMessageId messageId = InMemoryMessageId.of(message.uid());
            byte[] content = message.content();
            messages.add(SimpleMailboxMessage.builder()
                .messageId(messageId)
                .threadId(ThreadId.fromBaseMessageId(messageId))
                .mailboxId(InMemoryId.of(1))
                .uid(MessageUid.of(message.uid()))
                .modseq(ModSeq.of(1))
                .internalDate(message.internalDate())
                .size(content.length)
                .bodyStartOctet(bodyStart(content))
                .content(new BytesContent(content))
                .flags(message.flags())
                .properties(new PropertyBuilder())
                .build());
        }
    }

    /** UIDs in the order the reference sorts them (UID order unless the query sorts). */
    List<Long> search(SearchQuery query) throws Exception {
        Iterator<SimpleMessageSearchIndex.SearchResult> results = new MessageSearches(messages.iterator(), query,
            new JsoupTextExtractor(), null, SESSION).iterator();
        List<Long> uids = new ArrayList<>();
        results.forEachRemaining(result -> uids.add(result.getMessageUid().asLong()));
        return uids;
    }

    private static int bodyStart(byte[] content) {
        for (int i = 0; i + 3 < content.length; i++) {
            if (content[i] == '\r' && content[i + 1] == '\n' && content[i + 2] == '\r' && content[i + 3] == '\n') {
                return i + 4;
            }
        }
        return content.length;
    }

    private record BytesContent(byte[] bytes) implements Content {
        @Override
        public InputStream getInputStream() {
            return new ByteArrayInputStream(bytes);
        }

        @Override
        public long size() {
            return bytes.length;
        }
    }
}
