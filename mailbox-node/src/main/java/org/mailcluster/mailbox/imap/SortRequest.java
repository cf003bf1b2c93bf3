package org.mailcluster.mailbox.imap;

import java.util.List;

import org.apache.james.imap.api.ImapCommand;
import org.apache.james.imap.api.Tag;
import org.apache.james.imap.api.message.request.SearchKey;
import org.apache.james.imap.message.request.AbstractImapRequest;
import org.apache.james.mailbox.model.SearchQuery;

/** {@code [UID] SORT (criteria) charset search-keys} (RFC 5256), decoded. */
public class SortRequest extends AbstractImapRequest {
    static final ImapCommand COMMAND = ImapCommand.selectedStateCommand("SORT");

    private final List<SearchQuery.Sort> sorts;
    private final SearchKey searchKey;
    private final boolean useUids;

    SortRequest(Tag tag, List<SearchQuery.Sort> sorts, SearchKey searchKey, boolean useUids) {
        super(tag, COMMAND);
        this.sorts = List.copyOf(sorts);
        this.searchKey = searchKey;
        this.useUids = useUids;
    }

    List<SearchQuery.Sort> sorts() {
        return sorts;
    }

    SearchKey searchKey() {
        return searchKey;
    }

    boolean useUids() {
        return useUids;
    }
}
