package org.mailcluster.mailbox.imap;

import java.nio.charset.Charset;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.UnsupportedCharsetException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import javax.inject.Inject;

import org.apache.james.imap.api.Tag;
import org.apache.james.imap.api.display.HumanReadableText;
import org.apache.james.imap.api.message.request.SearchKey;
import org.apache.james.imap.api.message.response.StatusResponse;
import org.apache.james.imap.api.message.response.StatusResponseFactory;
import org.apache.james.imap.api.process.ImapSession;
import org.apache.james.imap.decode.DecodingException;
import org.apache.james.imap.decode.ImapRequestLineReader;
import org.apache.james.imap.api.ImapCommand;
import org.apache.james.imap.decode.parser.SearchCommandParser;
import org.apache.james.imap.api.ImapMessage;
import org.apache.james.mailbox.model.SearchQuery;
import org.apache.james.mailbox.model.SearchQuery.Sort.Order;
import org.apache.james.mailbox.model.SearchQuery.Sort.SortClause;

/**
 * Decodes {@code SORT (REVERSE SUBJECT DATE) UTF-8 <search keys>}. It extends James's SEARCH
 * parser for two reasons: SORT then accepts exactly the keys SEARCH does, and James's
 * {@code UID} prefix only dispatches to parsers of that (package-private) family.
 */
public class SortCommandParser extends SearchCommandParser {

    @Inject
    public SortCommandParser(StatusResponseFactory statusResponseFactory) {
        super(statusResponseFactory);
    }

    @Override
    public ImapCommand getCommand() {
        return SortRequest.COMMAND;
    }

    @Override
    protected ImapMessage decode(ImapRequestLineReader request, Tag tag, boolean useUids, ImapSession session) throws DecodingException {
        List<SearchQuery.Sort> sorts = sortCriteria(request);
        request.nextWordChar();
        Charset charset;
        try {
            charset = Charset.forName(request.astring());
        } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
            return taggedNo(tag, SortRequest.COMMAND, HumanReadableText.BAD_CHARSET, StatusResponse.ResponseCode.badCharset());
        }
        return new SortRequest(tag, sorts, searchKeys(session, request, charset), useUids);
    }

    private static List<SearchQuery.Sort> sortCriteria(ImapRequestLineReader request) throws DecodingException {
        request.nextWordChar();
        request.consumeChar('(');
        List<SearchQuery.Sort> sorts = new ArrayList<>();
        Order order = Order.NATURAL;
        while (request.nextWordChar() != ')') {
            String word = request.atom().toUpperCase(Locale.US);
            if (word.equals("REVERSE")) {
                order = Order.REVERSE;
                continue;
            }
            sorts.add(new SearchQuery.Sort(sortKey(word), order));
            order = Order.NATURAL;
        }
        request.consumeChar(')');
        if (sorts.isEmpty()) {
            throw new DecodingException(HumanReadableText.ILLEGAL_ARGUMENTS, "SORT needs at least one sort key");
        }
        return sorts;
    }

    private static SortClause sortKey(String word) throws DecodingException {
        switch (word) {
            case "ARRIVAL": return SortClause.Arrival;
            case "CC": return SortClause.MailboxCc;
            case "DATE": return SortClause.SentDate;
            case "FROM": return SortClause.MailboxFrom;
            case "SIZE": return SortClause.Size;
            case "SUBJECT": return SortClause.BaseSubject;
            case "TO": return SortClause.MailboxTo;
            default: throw new DecodingException(HumanReadableText.ILLEGAL_ARGUMENTS, "Unknown sort key " + word);
        }
    }

    /** James's SEARCH key grammar, with the charset SORT names up front. */
    private SearchKey searchKeys(ImapSession session, ImapRequestLineReader request, Charset charset) throws DecodingException {
        Context context = new Context();
        context.setCharset(charset);
        List<SearchKey> keys = new ArrayList<>();
        request.nextWordChar();
        keys.add(searchKey(session, request, context, false));
        while (request.nextChar() == ' ') {
            request.nextWordChar();
            keys.add(searchKey(session, request, context, false));
        }
        request.eol();
        return keys.size() == 1 ? keys.get(0) : SearchKey.buildAnd(keys);
    }
}
