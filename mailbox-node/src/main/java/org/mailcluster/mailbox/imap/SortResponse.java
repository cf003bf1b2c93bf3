package org.mailcluster.mailbox.imap;

import java.util.List;

import org.apache.james.imap.api.message.response.ImapResponseMessage;

/** {@code * SORT n n n}: UIDs or message sequence numbers, in the requested order. */
public class SortResponse implements ImapResponseMessage {
    private final List<Long> ids;

    SortResponse(List<Long> ids) {
        this.ids = List.copyOf(ids);
    }

    List<Long> ids() {
        return ids;
    }
}
