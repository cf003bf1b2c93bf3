package org.mailcluster.mailbox.search;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import javax.mail.Flags;

import org.apache.james.mailbox.MessageUid;
import org.apache.james.mailbox.exception.UnsupportedSearchException;
import org.apache.james.mailbox.model.SearchQuery;
import org.apache.james.mailbox.model.SearchQuery.Criterion;
import org.apache.james.mailbox.model.SearchQuery.DateResolution;
import org.opensearch.client.json.JsonData;
import org.opensearch.client.opensearch._types.FieldValue;
import org.opensearch.client.opensearch._types.SortOptions;
import org.opensearch.client.opensearch._types.SortOrder;
import org.opensearch.client.opensearch._types.query_dsl.Query;
import org.opensearch.client.opensearch._types.query_dsl.TextQueryType;

/**
 * Turns James's {@link SearchQuery} (what IMAP SEARCH/SORT and JMAP Email/query are parsed
 * into) into an OpenSearch query over the fields {@link IndexedMessage} writes.
 *
 * <p>Substring criteria (addresses, headers, subject) become case-insensitive wildcard
 * queries on keyword fields, exactly like the reference search's "contains"; body and text
 * criteria are word-based phrase queries, as a full-text index does. Dates are compared at
 * the criterion's resolution in UTC, as the reference does.
 */
final class SearchQueryTranslator {
    private SearchQueryTranslator() {
    }

    static Query toQuery(SearchQuery query) throws UnsupportedSearchException {
        List<Query> criteria = new java.util.ArrayList<>();
        for (Criterion criterion : query.getCriteria()) {
            criteria.add(toQuery(criterion, query.getRecentMessageUids()));
        }
        if (criteria.isEmpty()) {
            return Query.of(q -> q.matchAll(m -> m));
        }
        return Query.of(q -> q.bool(b -> b.filter(criteria)));
    }

    /** The requested order, then UID: the reference sort is stable over UID order. */
    static List<SortOptions> toSorts(SearchQuery query) {
        List<SortOptions> sorts = new java.util.ArrayList<>();
        for (SearchQuery.Sort sort : query.getSorts()) {
            SortOrder order = sort.isReverse() ? SortOrder.Desc : SortOrder.Asc;
            String field = sortField(sort.getSortClause());
            sorts.add(SortOptions.of(s -> s.field(f -> f.field(field).order(order))));
        }
        sorts.add(SortOptions.of(s -> s.field(f -> f.field("uid").order(SortOrder.Asc))));
        return sorts;
    }

    private static String sortField(SearchQuery.Sort.SortClause clause) {
        switch (clause) {
            case Arrival: return "internalDate";
            case MailboxCc: return "sortCc";
            case MailboxFrom: return "sortFrom";
            case MailboxTo: return "sortTo";
            case BaseSubject: return "sortSubject";
            case Size: return "size";
            case SentDate: return "sortSentDate";
            case Uid: return "uid";
            case Id: return "messageId";
            default: throw new IllegalArgumentException("unknown sort " + clause);
        }
    }

    private static Query toQuery(Criterion criterion, Collection<MessageUid> recent) throws UnsupportedSearchException {
        if (criterion instanceof SearchQuery.AllCriterion) {
            return Query.of(q -> q.matchAll(m -> m));
        } else if (criterion instanceof SearchQuery.ConjunctionCriterion) {
            return conjunction((SearchQuery.ConjunctionCriterion) criterion, recent);
        } else if (criterion instanceof SearchQuery.UidCriterion) {
            return uids(((SearchQuery.UidCriterion) criterion).getOperator().getRange());
        } else if (criterion instanceof SearchQuery.FlagCriterion) {
            return flag((SearchQuery.FlagCriterion) criterion, recent);
        } else if (criterion instanceof SearchQuery.CustomFlagCriterion) {
            SearchQuery.CustomFlagCriterion custom = (SearchQuery.CustomFlagCriterion) criterion;
            return isSetOrNot(term("flags.user", custom.getFlag()), custom.getOperator().isSet());
        } else if (criterion instanceof SearchQuery.SizeCriterion) {
            return numeric("size", ((SearchQuery.SizeCriterion) criterion).getOperator());
        } else if (criterion instanceof SearchQuery.ModSeqCriterion) {
            return numeric("modSeq", ((SearchQuery.ModSeqCriterion) criterion).getOperator());
        } else if (criterion instanceof SearchQuery.InternalDateCriterion) {
            return date("internalDate", ((SearchQuery.InternalDateCriterion) criterion).getOperator());
        } else if (criterion instanceof SearchQuery.SaveDateCriterion) {
            return date("saveDate", ((SearchQuery.SaveDateCriterion) criterion).getOperator());
        } else if (criterion instanceof SearchQuery.HeaderCriterion) {
            return header((SearchQuery.HeaderCriterion) criterion);
        } else if (criterion instanceof SearchQuery.SubjectCriterion) {
            return header(((SearchQuery.SubjectCriterion) criterion).asHeaderCriterion());
        } else if (criterion instanceof SearchQuery.MimeMessageIDCriterion) {
            return header(((SearchQuery.MimeMessageIDCriterion) criterion).asHeaderCriterion());
        } else if (criterion instanceof SearchQuery.TextCriterion) {
            return text((SearchQuery.TextCriterion) criterion);
        } else if (criterion instanceof SearchQuery.AttachmentCriterion) {
            return term("hasAttachment", ((SearchQuery.AttachmentCriterion) criterion).getOperator().isSet());
        } else if (criterion instanceof SearchQuery.MessageIdCriterion) {
            return term("messageId", ((SearchQuery.MessageIdCriterion) criterion).getMessageId().serialize());
        } else if (criterion instanceof SearchQuery.ThreadIdCriterion) {
            return term("threadId", ((SearchQuery.ThreadIdCriterion) criterion).getThreadId().serialize());
        }
        throw new UnsupportedSearchException();
    }

    private static Query conjunction(SearchQuery.ConjunctionCriterion conjunction, Collection<MessageUid> recent)
            throws UnsupportedSearchException {
        List<Query> parts = new java.util.ArrayList<>();
        for (Criterion criterion : conjunction.getCriteria()) {
            parts.add(toQuery(criterion, recent));
        }
        switch (conjunction.getType()) {
            case AND: return Query.of(q -> q.bool(b -> b.filter(parts)));
            case OR: return Query.of(q -> q.bool(b -> b.should(parts).minimumShouldMatch("1")));
            case NOR: return Query.of(q -> q.bool(b -> b.mustNot(parts)));
            default: throw new UnsupportedSearchException();
        }
    }

    private static Query uids(SearchQuery.UidRange[] ranges) {
        List<Query> parts = Arrays.stream(ranges)
            .map(range -> Query.of(q -> q.range(r -> r.field("uid")
                .gte(JsonData.of(range.getLowValue().asLong()))
                .lte(JsonData.of(range.getHighValue().asLong())))))
            .collect(Collectors.toList());
        return Query.of(q -> q.bool(b -> b.should(parts).minimumShouldMatch("1")));
    }

    private static Query flag(SearchQuery.FlagCriterion criterion, Collection<MessageUid> recent) {
        boolean set = criterion.getOperator().isSet();
        Flags.Flag flag = criterion.getFlag();
        if (flag == Flags.Flag.RECENT) {
            // \Recent is per IMAP session, not stored: the query carries the session's list.
            List<FieldValue> uids = recent.stream().map(uid -> FieldValue.of(uid.asLong())).collect(Collectors.toList());
            Query isRecent = Query.of(q -> q.terms(t -> t.field("uid").terms(v -> v.value(uids))));
            return isSetOrNot(isRecent, set);
        }
        String field = systemFlagField(flag);
        if (field == null) {
            // Like the reference: an unknown system flag matches nothing.
            return Query.of(q -> q.bool(b -> b.mustNot(m -> m.matchAll(a -> a))));
        }
        return term(field, set);
    }

    private static String systemFlagField(Flags.Flag flag) {
        if (flag == Flags.Flag.ANSWERED) {
            return "flags.answered";
        } else if (flag == Flags.Flag.DELETED) {
            return "flags.deleted";
        } else if (flag == Flags.Flag.DRAFT) {
            return "flags.draft";
        } else if (flag == Flags.Flag.FLAGGED) {
            return "flags.flagged";
        } else if (flag == Flags.Flag.SEEN) {
            return "flags.seen";
        }
        return null;
    }

    private static Query numeric(String field, SearchQuery.NumericOperator operator) throws UnsupportedSearchException {
        JsonData value = JsonData.of(operator.getValue());
        switch (operator.getType()) {
            case LESS_THAN: return Query.of(q -> q.range(r -> r.field(field).lt(value)));
            case GREATER_THAN: return Query.of(q -> q.range(r -> r.field(field).gt(value)));
            case EQUALS: return Query.of(q -> q.term(t -> t.field(field).value(FieldValue.of(operator.getValue()))));
            default: throw new UnsupportedSearchException();
        }
    }

    /** BEFORE/ON/AFTER at a resolution: compare whole units (days, hours...) in UTC. */
    private static Query date(String field, SearchQuery.DateOperator operator) throws UnsupportedSearchException {
        ZonedDateTime start = truncate(operator.getDate().toInstant(), operator.getDateResultion());
        ZonedDateTime end = next(start, operator.getDateResultion());
        JsonData from = JsonData.of(start.toInstant().toEpochMilli());
        JsonData to = JsonData.of(end.toInstant().toEpochMilli());
        switch (operator.getType()) {
            case BEFORE: return Query.of(q -> q.range(r -> r.field(field).lt(from)));
            case AFTER: return Query.of(q -> q.range(r -> r.field(field).gte(to)));
            case ON: return Query.of(q -> q.range(r -> r.field(field).gte(from).lt(to)));
            default: throw new UnsupportedSearchException();
        }
    }

    private static ZonedDateTime truncate(Instant instant, DateResolution resolution) {
        ZonedDateTime utc = instant.atZone(ZoneOffset.UTC);
        switch (resolution) {
            case Year: return utc.truncatedTo(ChronoUnit.DAYS).withDayOfYear(1);
            case Month: return utc.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1);
            case Day: return utc.truncatedTo(ChronoUnit.DAYS);
            case Hour: return utc.truncatedTo(ChronoUnit.HOURS);
            case Minute: return utc.truncatedTo(ChronoUnit.MINUTES);
            default: return utc.truncatedTo(ChronoUnit.SECONDS);
        }
    }

    private static ZonedDateTime next(ZonedDateTime start, DateResolution resolution) {
        switch (resolution) {
            case Year: return start.plusYears(1);
            case Month: return start.plusMonths(1);
            case Day: return start.plusDays(1);
            case Hour: return start.plusHours(1);
            case Minute: return start.plusMinutes(1);
            default: return start.plusSeconds(1);
        }
    }

    private static Query header(SearchQuery.HeaderCriterion criterion) throws UnsupportedSearchException {
        String name = criterion.getHeaderName().toLowerCase(Locale.US);
        SearchQuery.HeaderOperator operator = criterion.getOperator();
        if (operator instanceof SearchQuery.ExistsOperator) {
            return nestedHeader(Query.of(q -> q.term(t -> t.field("headers.name").value(FieldValue.of(name)))));
        } else if (operator instanceof SearchQuery.ContainsOperator) {
            String value = ((SearchQuery.ContainsOperator) operator).getValue();
            return nestedHeader(Query.of(q -> q.bool(b -> b
                .filter(f -> f.term(t -> t.field("headers.name").value(FieldValue.of(name))))
                .filter(contains("headers.value", value)))));
        } else if (operator instanceof SearchQuery.AddressOperator) {
            if (!List.of("from", "to", "cc", "bcc").contains(name)) {
                throw new UnsupportedSearchException();
            }
            return contains(name, ((SearchQuery.AddressOperator) operator).getAddress());
        } else if (operator instanceof SearchQuery.DateOperator) {
            if (!name.equals("date")) {
                // Only the Date header is kept as a date (IMAP SENT*); others are not indexed so.
                throw new UnsupportedSearchException();
            }
            return date("sentDate", (SearchQuery.DateOperator) operator);
        }
        throw new UnsupportedSearchException();
    }

    private static Query nestedHeader(Query inner) {
        return Query.of(q -> q.nested(n -> n.path("headers").query(inner)));
    }

    private static Query text(SearchQuery.TextCriterion criterion) throws UnsupportedSearchException {
        String value = criterion.getOperator().getValue();
        switch (criterion.getType()) {
            case BODY:
                // RFC 3501: the body is every part, so the text of attachments counts too.
                return phrase(value, "textBody", "htmlBody", "attachments.textContent");
            case FULL:
                return phrase(value, "textBody", "htmlBody", "headerText", "attachments.textContent",
                    "attachments.fileName.text");
            case ATTACHMENTS:
                return phrase(value, "attachments.textContent");
            case ATTACHMENT_FILE_NAME:
                return term("attachments.fileName", value);
            default:
                throw new UnsupportedSearchException();
        }
    }

    private static Query phrase(String value, String... fields) {
        return Query.of(q -> q.multiMatch(m -> m.query(value).fields(List.of(fields)).type(TextQueryType.Phrase)));
    }

    private static Query contains(String field, String value) {
        String pattern = "*" + escapeWildcard(value.toLowerCase(Locale.US)) + "*";
        return Query.of(q -> q.wildcard(w -> w.field(field).value(pattern).caseInsensitive(true)));
    }

    private static String escapeWildcard(String value) {
        return value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?");
    }

    private static Query term(String field, String value) {
        return Query.of(q -> q.term(t -> t.field(field).value(FieldValue.of(value))));
    }

    private static Query term(String field, boolean value) {
        return Query.of(q -> q.term(t -> t.field(field).value(FieldValue.of(value))));
    }

    private static Query isSetOrNot(Query query, boolean set) {
        return set ? query : Query.of(q -> q.bool(b -> b.mustNot(query)));
    }
}
