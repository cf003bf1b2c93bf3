package org.mailcluster.mailbox.search;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.apache.commons.configuration2.MapConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SearchIndexSettingsTest {

    static SearchIndexSettings settings(Map<String, Object> values) {
        return SearchIndexSettings.from(new MapConfiguration(new HashMap<>(values)));
    }

    @Test
    void plainHttpWithoutCredentialsIsTheDefault() {
        SearchIndexSettings settings = settings(Map.of("opensearch.url", "http://127.0.3.3:9200",
            "opensearch.user", "", "opensearch.password", "", "opensearch.ca", ""));
        assertThat(settings.credentials()).isEmpty();
        assertThat(settings.trustedCertificates()).isEmpty();
        assertThat(settings.name()).isEqualTo("mailcluster-messages");
    }

    @Test
    void credentialsAndCaOverHttps(@TempDir Path directory) throws Exception {
        Path ca = Files.writeString(directory.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
        SearchIndexSettings settings = settings(Map.of("opensearch.url", "https://search.example.net:9200",
            "opensearch.user", "mailcluster", "opensearch.password", "s3cret", "opensearch.ca", ca.toString()));
        assertThat(settings.credentials()).hasValueSatisfying(c -> assertThat(c.user()).isEqualTo("mailcluster"));
        assertThat(settings.trustedCertificates()).contains(ca);
        assertThat(settings.toString()).as("settings may be logged").doesNotContain("s3cret");
    }

    @Test
    void severalNodesFromOneVariableOrTheFilesList() {
        // an environment variable's value reaches the configuration as one string, commas and all
        assertThat(settings(Map.of("opensearch.url", "http://127.0.3.3:9200, http://127.0.3.13:9200")).urls())
            .extracting(Object::toString).containsExactly("http://127.0.3.3:9200", "http://127.0.3.13:9200");
        assertThat(settings(Map.of("opensearch.url", java.util.List.of("https://a:9200", "https://b:9200"))).urls())
            .hasSize(2);
    }

    @Test
    void everyNodeHasTheSameSchemeAndAPort() {
        assertThatThrownBy(() -> settings(Map.of("opensearch.url", "https://a:9200,http://b:9200")))
            .hasMessageContaining("one scheme for all, not http://b:9200");
        assertThatThrownBy(() -> settings(Map.of("opensearch.url", "http://a:9200,http://b")))
            .hasMessageContaining("not http://b");
        assertThatThrownBy(() -> settings(Map.of("opensearch.url", " , ")))
            .hasMessageContaining("opensearch.url is not set");
    }

    @Test
    void aPasswordIsNeverSentOverPlainHttp() {
        assertThatThrownBy(() -> settings(Map.of("opensearch.url", "http://search:9200",
            "opensearch.user", "mailcluster", "opensearch.password", "s3cret")))
            .hasMessageContaining("opensearch.user needs an https:// opensearch.url");
    }

    @Test
    void aUserNeedsItsPasswordAndTheOtherWayRound() {
        assertThatThrownBy(() -> settings(Map.of("opensearch.url", "https://search:9200", "opensearch.user", "mailcluster")))
            .hasMessageContaining("opensearch.user and opensearch.password go together");
        assertThatThrownBy(() -> settings(Map.of("opensearch.url", "https://search:9200", "opensearch.password", "x")))
            .hasMessageContaining("go together");
    }

    @Test
    void aCaMustBeAReadableFileAndNeedsHttps(@TempDir Path directory) {
        assertThatThrownBy(() -> settings(Map.of("opensearch.url", "https://search:9200", "opensearch.ca", directory.resolve("none.pem").toString())))
            .hasMessageContaining("is not a readable file");
        assertThatThrownBy(() -> settings(Map.of("opensearch.url", "http://search:9200", "opensearch.ca", "/etc/hostname")))
            .hasMessageContaining("is not https://");
    }

    @Test
    void anUnsetEnvironmentVariableCountsAsEmpty() {
        SearchIndexSettings settings = settings(Map.of("opensearch.url", "http://search:9200",
            "opensearch.user", "${env:MC_OPENSEARCH_USER}", "opensearch.password", "${env:MC_OPENSEARCH_PASSWORD}"));
        assertThat(settings.credentials()).isEmpty();
    }

    @Test
    void onlyHttpAndHttpsUrls() {
        assertThatThrownBy(() -> settings(Map.of("opensearch.url", "search:9200"))).hasMessageContaining("must be http:// or https://");
    }
}
