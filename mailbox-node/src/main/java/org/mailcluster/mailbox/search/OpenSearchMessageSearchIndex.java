package org.mailcluster.mailbox.search;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.mail.Flags;

import org.apache.james.events.Group;
import org.apache.james.mailbox.MailboxManager;
import org.apache.james.mailbox.MailboxSession;
import org.apache.james.mailbox.MessageUid;
import org.apache.james.mailbox.SessionProvider;
import org.apache.james.mailbox.exception.UnsupportedSearchException;
import org.apache.james.mailbox.extractor.TextExtractor;
import org.apache.james.mailbox.model.Mailbox;
import org.apache.james.mailbox.model.MailboxId;
import org.apache.james.mailbox.model.MessageId;
import org.apache.james.mailbox.model.SearchQuery;
import org.apache.james.mailbox.model.UpdatedFlags;
import org.apache.james.mailbox.store.MailboxSessionMapperFactory;
import org.apache.james.mailbox.store.mail.model.MailboxMessage;
import org.apache.james.mailbox.store.search.ListeningMessageSearchIndex;
import org.opensearch.client.opensearch.OpenSearchAsyncClient;
import org.opensearch.client.opensearch._types.FieldValue;
import org.opensearch.client.opensearch._types.SortOptions;
import org.opensearch.client.opensearch._types.query_dsl.Query;
import org.opensearch.client.opensearch.core.BulkResponse;
import org.opensearch.client.opensearch.core.SearchResponse;
import org.opensearch.client.opensearch.core.bulk.BulkOperation;
import org.opensearch.client.opensearch.core.bulk.BulkResponseItem;
import org.opensearch.client.opensearch.core.search.Hit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * James's mailbox search index on OpenSearch. As a group listener of the distributed event
 * bus it runs once per event in the cluster, on whichever mailbox node takes it: message
 * added, flags updated, expunged, mailbox deleted (a rename keeps the mailbox id, so the
 * documents stay valid). A failure (OpenSearch down) makes the event bus retry the event and
 * then keep it as a dead letter, which {@link FailedIndexingRedelivery} replays once
 * OpenSearch answers again.
 *
 * <p>Documents are keyed by mailbox id and UID and routed by mailbox id, so a search in one
 * mailbox (all IMAP does) touches one shard.
 */
public class OpenSearchMessageSearchIndex extends ListeningMessageSearchIndex {
    /** The event bus group: one RabbitMQ queue, shared by all mailbox nodes. */
    public static class SearchIndexGroup extends Group {
    }

    private static final int PAGE_SIZE = 1000;

    private final OpenSearchAsyncClient client;
    private final MessageIndexLayout layout;
    private final SearchIndexSettings settings;
    private final TextExtractor textExtractor;
    private final MessageId.Factory messageIdFactory;

    @Inject
    OpenSearchMessageSearchIndex(MailboxSessionMapperFactory factory, SessionProvider sessionProvider,
                                 Set<SearchOverride> searchOverrides, OpenSearchAsyncClient client,
                                 MessageIndexLayout layout, SearchIndexSettings settings,
                                 TextExtractor textExtractor, MessageId.Factory messageIdFactory) {
        super(factory, searchOverrides, sessionProvider);
        this.client = client;
        this.layout = layout;
        this.settings = settings;
        this.textExtractor = textExtractor;
        this.messageIdFactory = messageIdFactory;
    }

    @Override
    public Group getDefaultGroup() {
        return new SearchIndexGroup();
    }

    @Override
    public EnumSet<MailboxManager.SearchCapabilities> getSupportedCapabilities(EnumSet<MailboxManager.MessageCapabilities> messageCapabilities) {
        return EnumSet.of(MailboxManager.SearchCapabilities.MultimailboxSearch,
            MailboxManager.SearchCapabilities.Text,
            MailboxManager.SearchCapabilities.FullText,
            MailboxManager.SearchCapabilities.Attachment,
            MailboxManager.SearchCapabilities.AttachmentFileName);
    }

    // ---- writes (from events, and from the reindex tasks) ----

    @Override
    public Mono<Void> add(MailboxSession session, Mailbox mailbox, MailboxMessage message) {
        return ready()
            .then(Mono.fromCallable(() -> IndexedMessage.from(message, textExtractor))
                .subscribeOn(Schedulers.boundedElastic()))
            .flatMap(document -> call(() -> client.index(request -> request
                .index(settings.writeAlias())
                .id(IndexedMessage.documentId(message.getMailboxId().serialize(), message.getUid().asLong()))
                .routing(message.getMailboxId().serialize())
                .document(document))))
            .then();
    }

    @Override
    public Mono<Void> delete(MailboxSession session, MailboxId mailboxId, Collection<MessageUid> expungedUids) {
        if (expungedUids.isEmpty()) {
            return Mono.empty();
        }
        String mailbox = mailboxId.serialize();
        List<BulkOperation> operations = expungedUids.stream()
            .map(uid -> BulkOperation.of(op -> op.delete(d -> d
                .index(settings.writeAlias())
                .id(IndexedMessage.documentId(mailbox, uid.asLong()))
                .routing(mailbox))))
            .collect(Collectors.toList());
        return bulk(operations);
    }

    @Override
    public Mono<Void> deleteAll(MailboxSession session, MailboxId mailboxId) {
        String mailbox = mailboxId.serialize();
        return ready()
            .then(call(() -> client.deleteByQuery(request -> request
                .index(settings.writeAlias())
                .routing(mailbox)
                .conflicts(org.opensearch.client.opensearch._types.Conflicts.Proceed)
                .query(q -> q.term(t -> t.field("mailboxId").value(FieldValue.of(mailbox)))))))
            .then();
    }

    @Override
    public Mono<Void> update(MailboxSession session, MailboxId mailboxId, List<UpdatedFlags> updatedFlagsList) {
        if (updatedFlagsList.isEmpty()) {
            return Mono.empty();
        }
        String mailbox = mailboxId.serialize();
        List<BulkOperation> operations = updatedFlagsList.stream()
            .map(updated -> {
                Map<String, Object> partial = IndexedMessage.flagsDocument(updated.getNewFlags(), updated.getModSeq().asLong());
                return BulkOperation.of(op -> op.update(u -> u
                    .index(settings.writeAlias())
                    .id(IndexedMessage.documentId(mailbox, updated.getUid().asLong()))
                    .routing(mailbox)
                    .document(partial)));
            })
            .collect(Collectors.toList());
        return bulk(operations);
    }

    /**
     * A 404 on one item is expected (the message was expunged, or not indexed yet, in which
     * case its add reads the current flags from Cassandra); any other failure fails the event
     * so that it is retried.
     */
    private Mono<Void> bulk(List<BulkOperation> operations) {
        return ready()
            .then(call(() -> client.bulk(request -> request.operations(operations))))
            .flatMap(response -> {
                List<String> failures = failures(response);
                return failures.isEmpty()
                    ? Mono.<Void>empty()
                    : Mono.error(new IllegalStateException("search index bulk failed: " + failures));
            });
    }

    private static List<String> failures(BulkResponse response) {
        List<String> failures = new ArrayList<>();
        if (response.errors()) {
            for (BulkResponseItem item : response.items()) {
                if (item.error() != null && item.status() != 404) {
                    failures.add(item.id() + ": " + item.error().reason());
                }
            }
        }
        return failures;
    }

    @Override
    public Mono<Flags> retrieveIndexedFlags(Mailbox mailbox, MessageUid uid) {
        String mailboxId = mailbox.getMailboxId().serialize();
        return call(() -> client.get(request -> request
                .index(settings.readAlias())
                .id(IndexedMessage.documentId(mailboxId, uid.asLong()))
                .routing(mailboxId), ObjectNode.class))
            .filter(response -> response.found() && response.source() != null)
            .map(response -> toFlags(response.source().path("flags")));
    }

    private static Flags toFlags(JsonNode flags) {
        Flags result = new Flags();
        addIf(result, flags, "answered", Flags.Flag.ANSWERED);
        addIf(result, flags, "deleted", Flags.Flag.DELETED);
        addIf(result, flags, "draft", Flags.Flag.DRAFT);
        addIf(result, flags, "flagged", Flags.Flag.FLAGGED);
        addIf(result, flags, "seen", Flags.Flag.SEEN);
        flags.path("user").forEach(user -> result.add(user.asText()));
        return result;
    }

    private static void addIf(Flags result, JsonNode flags, String field, Flags.Flag flag) {
        if (flags.path(field).asBoolean(false)) {
            result.add(flag);
        }
    }

    // ---- searches ----

    @Override
    protected Flux<MessageUid> doSearch(MailboxSession session, Mailbox mailbox, SearchQuery searchQuery) throws UnsupportedSearchException {
        String mailboxId = mailbox.getMailboxId().serialize();
        Query criteria = SearchQueryTranslator.toQuery(searchQuery);
        Query inMailbox = Query.of(q -> q.bool(b -> b
            .filter(f -> f.term(t -> t.field("mailboxId").value(FieldValue.of(mailboxId))))
            .filter(criteria)));
        return allHits(inMailbox, SearchQueryTranslator.toSorts(searchQuery), mailboxId)
            .map(hit -> MessageUid.of(hit.path("uid").asLong()));
    }

    @Override
    public Flux<MessageId> search(MailboxSession session, Collection<MailboxId> mailboxIds, SearchQuery searchQuery, long limit)
            throws UnsupportedSearchException {
        if (mailboxIds.isEmpty()) {
            return Flux.empty();
        }
        List<FieldValue> mailboxes = mailboxIds.stream()
            .map(id -> FieldValue.of(id.serialize()))
            .collect(Collectors.toList());
        Query criteria = SearchQueryTranslator.toQuery(searchQuery);
        Query inMailboxes = Query.of(q -> q.bool(b -> b
            .filter(f -> f.terms(t -> t.field("mailboxId").terms(v -> v.value(mailboxes))))
            .filter(criteria)));
        // The same message in two mailboxes is one result.
        return allHits(inMailboxes, SearchQueryTranslator.toSorts(searchQuery), null)
            .map(hit -> hit.path("messageId").asText())
            .distinct()
            .take(limit)
            .map(messageIdFactory::fromString);
    }

    /** What the index holds for one mailbox: each document's UID and the modseq it was indexed at, by UID. */
    public Flux<IndexedState> indexedStates(MailboxId mailboxId) {
        String mailbox = mailboxId.serialize();
        Query inMailbox = Query.of(q -> q.term(t -> t.field("mailboxId").value(FieldValue.of(mailbox))));
        List<SortOptions> byUid = List.of(SortOptions.of(s -> s.field(f -> f.field("uid"))));
        return allHits(inMailbox, byUid, mailbox, "uid", "modSeq")
            .map(hit -> new IndexedState(MessageUid.of(hit.path("uid").asLong()), hit.path("modSeq").asLong()));
    }

    /** One document of the index, as {@link #indexedStates} lists it. */
    public record IndexedState(MessageUid uid, long modSeq) {
    }

    /** Every matching hit in order, page after page (search_after on the sort values). */
    private Flux<JsonNode> allHits(Query query, List<SortOptions> sorts, String routing) {
        return allHits(query, sorts, routing, "uid", "messageId", "mailboxId");
    }

    private Flux<JsonNode> allHits(Query query, List<SortOptions> sorts, String routing, String... fields) {
        return page(query, sorts, routing, null, fields)
            .expand(response -> {
                List<Hit<ObjectNode>> hits = response.hits().hits();
                if (hits.size() < PAGE_SIZE) {
                    return Mono.empty();
                }
                return page(query, sorts, routing, hits.get(hits.size() - 1).sort(), fields);
            })
            .concatMapIterable(response -> response.hits().hits())
            .map(hit -> (JsonNode) hit.source());
    }

    private Mono<SearchResponse<ObjectNode>> page(Query query, List<SortOptions> sorts, String routing, List<String> after, String... fields) {
        return call(() -> client.search(request -> {
            request.index(settings.readAlias())
                .query(query)
                .sort(sorts)
                .size(PAGE_SIZE)
                .trackTotalHits(t -> t.enabled(false))
                .source(s -> s.filter(f -> f.includes(List.of(fields))));
            if (routing != null) {
                request.routing(routing);
            }
            if (after != null) {
                request.searchAfter(after);
            }
            return request;
        }, ObjectNode.class));
    }

    private Mono<Void> ready() {
        return Mono.fromCallable(() -> {
            layout.ensureReady();
            return true;
        }).subscribeOn(Schedulers.boundedElastic()).then();
    }

    private interface ClientCall<T> {
        CompletableFuture<T> start() throws java.io.IOException;
    }

    private static <T> Mono<T> call(ClientCall<T> call) {
        return Mono.defer(() -> {
            try {
                return Mono.fromFuture(call.start());
            } catch (java.io.IOException e) {
                return Mono.error(e);
            }
        });
    }
}
