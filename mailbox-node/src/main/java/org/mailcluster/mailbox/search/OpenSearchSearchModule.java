package org.mailcluster.mailbox.search;


import javax.inject.Named;
import javax.inject.Singleton;

import org.mailcluster.metrics.BackendErrors;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.events.EventListener;
import org.apache.james.mailbox.extractor.TextExtractor;
import org.apache.james.mailbox.indexer.ReIndexer;
import org.apache.james.mailbox.store.extractor.JsoupTextExtractor;
import org.apache.james.mailbox.store.search.ListeningMessageSearchIndex;
import org.apache.james.mailbox.store.search.ListeningMessageSearchIndex.SearchOverride;
import org.apache.james.mailbox.store.search.MessageSearchIndex;
import org.apache.james.modules.server.ReIndexingModule;
import org.apache.james.modules.server.WebAdminReIndexingTaskSerializationModule;
import org.apache.james.quota.search.QuotaSearcher;
import org.apache.james.server.task.json.dto.AdditionalInformationDTO;
import org.apache.james.server.task.json.dto.AdditionalInformationDTOModule;
import org.apache.james.task.TaskExecutionDetails;
import org.apache.james.webadmin.dto.DTOModuleInjections;
import org.apache.james.quota.search.scanning.ScanningQuotaSearcher;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;
import org.apache.james.utils.PropertiesProvider;
import org.apache.james.webadmin.Routes;
import org.apache.mailbox.tools.indexer.ReIndexerImpl;
import org.mailcluster.backends.RequiredProperties;
import org.mailcluster.events.DurableEventDeadLetters;
import org.mailcluster.events.KeepingFailuresListener;
import org.opensearch.client.RestClient;
import org.opensearch.client.json.jackson.JacksonJsonpMapper;
import org.opensearch.client.opensearch.OpenSearchAsyncClient;
import org.opensearch.client.transport.rest_client.RestClientTransport;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;

/**
 * Mailbox search on OpenSearch, for mailbox nodes only (the index listens to mailbox events,
 * which only this tier produces and consumes):
 * <ul>
 *   <li>{@link OpenSearchMessageSearchIndex}: James's {@code MessageSearchIndex} for IMAP
 *       SEARCH/SORT, registered as a group listener of the event bus;</li>
 *   <li>James's {@code ReIndexerImpl} and {@code ReIndexingModule}: the webadmin reindex tasks
 *       (all mailboxes, one user, one mailbox, one message) under {@code /tasks};</li>
 *   <li>{@link SearchIndexHealthCheck} (degraded, never unhealthy),
 *       {@link FailedIndexingRedelivery}, {@link SearchIndexRoutes} with the consistency check
 *       and repair ({@link IndexConsistencyTask});</li>
 *   <li>{@code conf/opensearch.properties}, described in {@link SearchIndexSettings}.</li>
 * </ul>
 * Quota search still scans users: it is small, and not what this module is about.
 */
public class OpenSearchSearchModule extends AbstractModule {
    private static final String PROPERTIES = "opensearch";

    @Override
    protected void configure() {
        bind(OpenSearchMessageSearchIndex.class).in(Scopes.SINGLETON);
        bind(MessageSearchIndex.class).to(OpenSearchMessageSearchIndex.class);
        bind(ListeningMessageSearchIndex.class).to(OpenSearchMessageSearchIndex.class);

        Multibinder.newSetBinder(binder(), SearchOverride.class);

        // HTML parts and text attachments; other attachment types would need Tika.
        bind(JsoupTextExtractor.class).in(Scopes.SINGLETON);
        bind(TextExtractor.class).to(JsoupTextExtractor.class);

        bind(ReIndexerImpl.class).in(Scopes.SINGLETON);
        bind(ReIndexer.class).to(ReIndexerImpl.class);
        install(new ReIndexingModule());
        // Without it a finished reindex task shows "additionalInformation": null in /tasks.
        install(new WebAdminReIndexingTaskSerializationModule());

        bind(FailedIndexingRedelivery.class).in(Scopes.SINGLETON);
        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(SearchIndexHealthCheck.class);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(SearchIndexRoutes.class);

        bind(ScanningQuotaSearcher.class).in(Scopes.SINGLETON);
        bind(QuotaSearcher.class).to(ScanningQuotaSearcher.class);
    }

    /** The index listens to mailbox events; a failed update is kept durably, not given to James's unconfirmed retries. */
    @ProvidesIntoSet
    EventListener.ReactiveGroupEventListener indexListener(OpenSearchMessageSearchIndex index, DurableEventDeadLetters kept) {
        return new KeepingFailuresListener(index, kept);
    }

    @Named(DTOModuleInjections.WEBADMIN_DTO)
    @ProvidesIntoSet
    AdditionalInformationDTOModule<? extends TaskExecutionDetails.AdditionalInformation, ? extends AdditionalInformationDTO> consistencyReport() {
        return IndexConsistencyTask.DetailsDTO.module();
    }

    @Provides
    @Singleton
    SearchIndexSettings settings(PropertiesProvider properties) throws ConfigurationException {
        return SearchIndexSettings.from(RequiredProperties.load(properties, PROPERTIES));
    }

    @Provides
    @Singleton
    RestClient restClient(SearchIndexSettings settings, BackendErrors errors) {
        return SearchIndexConnection.restClient(settings, errors);
    }

    @Provides
    @Singleton
    OpenSearchAsyncClient client(RestClient restClient) {
        return new OpenSearchAsyncClient(new RestClientTransport(restClient, new JacksonJsonpMapper()));
    }

    @Provides
    @Singleton
    MessageIndexLayout layout(RestClient restClient, SearchIndexSettings settings) {
        return new MessageIndexLayout(restClient, settings);
    }

    @ProvidesIntoSet
    InitializationOperation prepareIndex(MessageIndexLayout layout, FailedIndexingRedelivery redelivery) {
        return InitilizationOperationBuilder.forClass(FailedIndexingRedelivery.class)
            .init(() -> {
                layout.tryAtStartup();
                redelivery.start();
            });
    }
}
