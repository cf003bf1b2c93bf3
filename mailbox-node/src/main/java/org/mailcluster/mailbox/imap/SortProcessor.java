package org.mailcluster.mailbox.imap;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import javax.inject.Inject;

import org.apache.james.imap.api.message.Capability;
import org.apache.james.imap.api.message.request.SearchOperation;
import org.apache.james.imap.api.message.response.ImapResponseMessage;
import org.apache.james.imap.api.message.response.StatusResponse;
import org.apache.james.imap.api.message.response.StatusResponseFactory;
import org.apache.james.imap.api.process.ImapSession;
import org.apache.james.imap.api.process.SelectedMailbox;
import org.apache.james.imap.message.request.SearchRequest;
import org.apache.james.imap.message.response.SearchResponse;
import org.apache.james.imap.processor.AbstractMailboxProcessor;
import org.apache.james.imap.processor.CapabilityImplementingProcessor;
import org.apache.james.imap.processor.SearchProcessor;
import org.apache.james.mailbox.MailboxManager;
import org.apache.james.mailbox.MessageUid;
import org.apache.james.mailbox.model.SearchQuery;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.util.MDCBuilder;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * IMAP SORT (RFC 5256), which James 3.8.1 does not have. Two steps, so that SORT selects
 * exactly what SEARCH selects and orders it with the search index's sort keys:
 * <ol>
 *   <li>the search keys are run by James's own {@link SearchProcessor} (in UID mode), whose
 *       untagged side responses (EXPUNGE...) are passed on to the client;</li>
 *   <li>the mailbox's UIDs are read from the index in the requested order (base subject,
 *       first address, sent date... then UID) and kept if the search selected them.</li>
 * </ol>
 */
public class SortProcessor extends AbstractMailboxProcessor<SortRequest> implements CapabilityImplementingProcessor {
    private static final List<Capability> CAPABILITIES = List.of(Capability.of("SORT"));

    private final SearchProcessor search;

    @Inject
    public SortProcessor(MailboxManager mailboxManager, StatusResponseFactory factory, MetricFactory metricFactory) {
        super(SortRequest.class, mailboxManager, factory, metricFactory);
        this.search = new SearchProcessor(mailboxManager, factory, metricFactory);
    }

    @Override
    public List<Capability> getImplementedCapabilities(ImapSession session) {
        return CAPABILITIES;
    }

    @Override
    protected Mono<Void> processRequestReactive(SortRequest request, ImapSession session, Responder responder) {
        AtomicReference<Set<Long>> selected = new AtomicReference<>();
        AtomicReference<StatusResponse> searchStatus = new AtomicReference<>();
        Responder searchResponder = new Responder() {
            @Override
            public void respond(ImapResponseMessage message) {
                if (message instanceof SearchResponse) {
                    Set<Long> uids = new HashSet<>();
                    ((SearchResponse) message).getIds().forEach(uids::add);
                    selected.set(uids);
                } else if (message instanceof StatusResponse && ((StatusResponse) message).getTag() != null) {
                    searchStatus.set((StatusResponse) message);
                } else {
                    responder.respond(message);
                }
            }

            @Override
            public void flush() {
                responder.flush();
            }
        };
        SearchRequest searchRequest = new SearchRequest(new SearchOperation(request.searchKey(), List.of()), true, request.getTag());
        return search.processReactive(searchRequest, searchResponder, session)
            .then(Mono.defer(() -> {
                StatusResponse status = searchStatus.get();
                if (selected.get() == null || status == null || status.getServerResponseType() != StatusResponse.Type.OK) {
                    // The search's own NO/BAD says what went wrong (bad message set, index down...).
                    if (status != null) {
                        responder.respond(status);
                    }
                    return Mono.empty();
                }
                return inOrder(request, session, selected.get())
                    .doOnNext(ids -> {
                        responder.respond(new SortResponse(ids));
                        okComplete(request, responder);
                    })
                    .then();
            }));
    }

    private Mono<List<Long>> inOrder(SortRequest request, ImapSession session, Set<Long> selectedUids) {
        SelectedMailbox selectedMailbox = session.getSelected();
        SearchQuery everythingSorted = SearchQuery.builder()
            .andCriteria(SearchQuery.all())
            .sorts(request.sorts())
            .build();
        return getSelectedMailboxReactive(session)
            .flatMapMany(mailbox -> {
                try {
                    return Flux.from(mailbox.search(everythingSorted, session.getMailboxSession()));
                } catch (Exception e) {
                    return Flux.error(e);
                }
            })
            .filter(uid -> selectedUids.contains(uid.asLong()))
            .map(uid -> request.useUids() ? uid.asLong() : sequenceNumber(selectedMailbox, uid))
            .filter(id -> id > 0)
            .collect(ArrayList::new, List::add);
    }

    private static long sequenceNumber(SelectedMailbox selected, MessageUid uid) {
        return selected.msn(uid).asInt().map(Integer::longValue).orElse(0L);
    }

    @Override
    protected MDCBuilder mdc(SortRequest request) {
        return MDCBuilder.create().addToContext(MDCBuilder.ACTION, "SORT");
    }
}
