package org.mailcluster.mailbox.search;

import java.net.URI;
import java.util.List;

import javax.net.ssl.SSLContext;

import org.apache.http.HttpHost;
import org.apache.http.HttpResponseInterceptor;
import org.apache.http.auth.AuthScope;
import org.apache.http.auth.UsernamePasswordCredentials;
import org.apache.http.impl.client.BasicCredentialsProvider;
import org.mailcluster.backends.TrustedCertificates;
import org.mailcluster.metrics.BackendErrors;
import org.opensearch.client.Node;
import org.opensearch.client.RestClient;

/**
 * The HTTP connection to OpenSearch as the settings describe it: plain or TLS (verifying the
 * server's certificate and host name, against {@code opensearch.ca} when given), with HTTP Basic
 * credentials when given. Every use of OpenSearch (indexing, searches, the index layout, the
 * health check) goes through the one RestClient made here.
 */
final class SearchIndexConnection {
    private SearchIndexConnection() {
    }

    static RestClient restClient(SearchIndexSettings settings, BackendErrors errors) {
        List<URI> urls = settings.urls();
        errors.know("opensearch", "unreachable", "http-4xx", "http-5xx");
        SSLContext tls = "https".equals(urls.get(0).getScheme())
            ? TrustedCertificates.context(settings.trustedCertificates(), "MC_OPENSEARCH_CA") : null;
        return RestClient.builder(urls.stream().map(url -> new HttpHost(url.getHost(), url.getPort(), url.getScheme()))
                .toArray(HttpHost[]::new))
            // Short enough that an IMAP SEARCH during an outage fails fast instead of hanging.
            .setRequestConfigCallback(config -> config.setConnectTimeout(2_000).setSocketTimeout(30_000))
            .setHttpClientConfigCallback(client -> {
                settings.credentials().ifPresent(credentials -> {
                    BasicCredentialsProvider provider = new BasicCredentialsProvider();
                    for (URI url : urls) {
                        provider.setCredentials(new AuthScope(url.getHost(), url.getPort()),
                            new UsernamePasswordCredentials(credentials.user(), credentials.password()));
                    }
                    client.setDefaultCredentialsProvider(provider);
                });
                if (tls != null) {
                    client.setSSLContext(tls);
                }
                // 404 is how the index layout learns an index or alias is not there yet
                client.addInterceptorLast((HttpResponseInterceptor) (response, context) -> {
                    int status = response.getStatusLine().getStatusCode();
                    if (status >= 500) {
                        errors.count("opensearch", "http-5xx");
                    } else if (status >= 400 && status != 404) {
                        errors.count("opensearch", "http-4xx");
                    }
                });
                return client;
            })
            .setFailureListener(new RestClient.FailureListener() {
                @Override
                public void onFailure(Node node) {
                    errors.count("opensearch", "unreachable");
                }
            })
            .build();
    }
}
