package org.mailcluster.mailbox.search;

import javax.inject.Inject;

import org.apache.james.events.Event;
import org.mailcluster.events.DurableEventDeadLetters;
import org.mailcluster.events.KeptEventReplay;

import reactor.core.publisher.Mono;

/**
 * Applies the index updates that failed (OpenSearch or Cassandra away longer than the event
 * bus's retries) once OpenSearch answers again, so that mail delivered during an outage
 * becomes searchable without an operator.
 *
 * <p>The kept update is applied to the index here, by whichever mailbox node claims it, not
 * handed back through RabbitMQ: James's group redelivery publishes without confirms, and an
 * event it dropped (broker restarting) was lost for good once removed from the dead letters.
 * Indexing is idempotent (documents are keyed by mailbox and UID), so an update applied twice
 * is harmless.
 */
public class FailedIndexingRedelivery extends KeptEventReplay {
    private final OpenSearchMessageSearchIndex index;

    @Inject
    FailedIndexingRedelivery(DurableEventDeadLetters deadLetters, OpenSearchMessageSearchIndex index, MessageIndexLayout layout) {
        super(deadLetters, new OpenSearchMessageSearchIndex.SearchIndexGroup(), () -> searchAnswers(layout),
            "failed search index updates");
        this.index = index;
    }

    @Override
    protected Mono<Void> handBack(Event event) {
        return Mono.from(index.reactiveEvent(event));
    }

    private static boolean searchAnswers(MessageIndexLayout layout) {
        try {
            layout.ensureReady();
            return !"red".equals(layout.clusterStatus());
        } catch (Exception e) {
            return false;
        }
    }
}
