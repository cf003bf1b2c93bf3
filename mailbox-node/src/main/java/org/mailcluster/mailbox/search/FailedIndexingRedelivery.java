package org.mailcluster.mailbox.search;

import javax.inject.Inject;

import org.apache.james.events.EventBus;
import org.apache.james.events.EventDeadLetters;
import org.mailcluster.events.KeptEventReplay;

/**
 * Puts index updates that failed (OpenSearch was down longer than the event bus's retries)
 * back on the search index's group queue once OpenSearch answers again, so that mail
 * delivered during an outage becomes searchable without an operator.
 *
 * <p>Each node replays the dead letters it holds (they are kept per node, see
 * DistributedEventBusModule); the replayed event may then be indexed by any mailbox node.
 * An event is removed from the dead letters only after it was re-published.
 */
public class FailedIndexingRedelivery extends KeptEventReplay {

    @Inject
    FailedIndexingRedelivery(EventBus eventBus, EventDeadLetters deadLetters, MessageIndexLayout layout) {
        super(eventBus, deadLetters, new OpenSearchMessageSearchIndex.SearchIndexGroup(), () -> searchAnswers(layout),
            "failed search index updates");
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
