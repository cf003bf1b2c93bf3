package org.mailcluster.mailbox;

import org.apache.james.mailbox.extractor.TextExtractor;
import org.apache.james.mailbox.indexer.ReIndexer;
import org.apache.james.mailbox.store.extractor.JsoupTextExtractor;
import org.apache.james.mailbox.store.search.MessageSearchIndex;
import org.apache.james.mailbox.store.search.SimpleMessageSearchIndex;
import org.apache.james.quota.search.QuotaSearcher;
import org.apache.james.quota.search.scanning.ScanningQuotaSearcher;
import org.apache.mailbox.tools.indexer.ThrowsReIndexer;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;

/**
 * Search without an index: IMAP SEARCH (and the webadmin quota search) read the data
 * straight from Cassandra. Correct but linear in mailbox size, so a stop-gap until the
 * OpenSearch module exists; that module will replace this one as a whole (not override it),
 * binding the same four keys.
 *
 * <p>Kept apart from {@link CassandraMailboxStorageModule} for that reason: the node picks
 * exactly one search module.
 */
public class ScanningSearchModule extends AbstractModule {

    @Override
    protected void configure() {
        bind(SimpleMessageSearchIndex.class).in(Scopes.SINGLETON);
        bind(MessageSearchIndex.class).to(SimpleMessageSearchIndex.class);

        // Used by the scanning index to match BODY/TEXT criteria inside HTML parts. Tika
        // would also read attachments, but its Guice wiring is not published.
        bind(JsoupTextExtractor.class).in(Scopes.SINGLETON);
        bind(TextExtractor.class).to(JsoupTextExtractor.class);

        // With no index there is nothing to rebuild. James's ReIndexerImpl needs a
        // ListeningMessageSearchIndex, which a scanning search does not have; a re-index
        // request through webadmin therefore fails loudly instead of pretending to work.
        bind(ReIndexer.class).to(ThrowsReIndexer.class);

        bind(ScanningQuotaSearcher.class).in(Scopes.SINGLETON);
        bind(QuotaSearcher.class).to(ScanningQuotaSearcher.class);
    }
}
