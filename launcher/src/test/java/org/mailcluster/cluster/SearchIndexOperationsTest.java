package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.mail.Flags;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * What an operator lives through with the search index: OpenSearch going away (mail keeps
 * flowing, search comes back complete) and an index that lost documents (a webadmin reindex
 * task puts them back). Each test leaves OpenSearch running.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SearchIndexOperationsTest {
    static final Duration STEP = Duration.ofMinutes(5);
    static final Duration FINDABLE_WITHIN = Duration.ofMinutes(4);
    static final String COMPONENT = "OpenSearch mailbox search index";

    LocalCluster launcher;
    ClusterEndpoints cluster;
    WebAdmin webAdmin;

    @BeforeAll
    void setUp(LocalCluster launcher, ClusterEndpoints cluster) {
        this.launcher = launcher;
        this.cluster = cluster;
        this.webAdmin = new WebAdmin(cluster);
    }

    @Test
    void withOpenSearchDownMailIsDeliveredAndReadableAndBecomesFindableWhenItReturns() throws Exception {
        TestUser bob = TestUser.create(cluster, "bob");
        String token = "outage" + UUID.randomUUID().toString().replace("-", "");
        launcher.scriptMustSucceed(STEP, "launcher/services/opensearch.sh", "stop");
        try {
            int code = Smtp.send(cluster.mx().get(0), "sender@outside.test", bob.address(),
                MailFlowTest.message("sender@outside.test", bob.address(), "during the search outage", "look for " + token));
            assertThat(code).as("SMTP reply with OpenSearch down").isEqualTo(250);

            List<String> inbox = bob.inbox(cluster).awaitMessages(messages -> !messages.isEmpty(), Duration.ofMinutes(1));
            assertThat(inbox).as("delivered and readable over IMAP while OpenSearch is down").hasSize(1);
            assertThat(inbox.get(0)).contains(token);

            String health = healthOfMailboxNode();
            assertThat(health).as("/healthcheck with OpenSearch down")
                .contains("\"status\":\"degraded\"")
                .containsPattern("\"componentName\":\"" + COMPONENT + "\"[^}]*\"status\":\"degraded\"");

            try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), bob.address(), bob.password())) {
                assertThatThrownBy(() -> imap.uidSearch("BODY " + token))
                    .as("SEARCH fails loudly rather than answering 'nothing found'")
                    .hasMessageContaining("NO");
            }
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/services/opensearch.sh", "start");
        }

        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), bob.address(), bob.password())) {
            assertThat(awaitFound(imap, "BODY " + token, 1))
                .as("found by SEARCH within " + FINDABLE_WITHIN + " of OpenSearch's return").hasSize(1);
        }
        assertThat(healthOfMailboxNode()).as("/healthcheck once OpenSearch is back")
            .containsPattern("\"componentName\":\"" + COMPONENT + "\"[^}]*\"status\":\"healthy\"");
    }

    @Test
    void aReindexTaskPutsBackWhatTheIndexLost() throws Exception {
        TestUser carol = TestUser.create(cluster, "carol");
        String token = "reindex" + UUID.randomUUID().toString().replace("-", "");
        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), carol.address(), carol.password())) {
            for (int i = 0; i < 5; i++) {
                String message = MailFlowTest.message("x@outside.test", carol.address(), "reindex " + i, token + " number " + i);
                imap.append(message.getBytes(java.nio.charset.StandardCharsets.UTF_8), new Date(), new Flags());
            }
            assertThat(awaitFound(imap, "BODY " + token, 5)).hasSize(5);

            // The index loses this user's documents (an operator's mistake, a lost shard...).
            HttpResponse<String> deleted = openSearch("POST", "/mailcluster-messages-write/_delete_by_query?refresh=true",
                "{\"query\":{\"match\":{\"textBody\":\"" + token + "\"}}}");
            assertThat(deleted.body()).contains("\"deleted\":5");
            assertThat(imap.uidSearch("BODY " + token)).as("search after the loss").isEmpty();

            HttpResponse<String> submitted = webAdmin.send("POST", "/users/" + carol.address() + "/mailboxes?task=reIndex", null);
            assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(201);
            String taskId = field(submitted.body(), "taskId");
            String task = webAdmin.get("/tasks/" + taskId + "/await?timeout=2minutes");
            assertThat(task).as("task " + taskId).contains("\"status\":\"completed\"")
                .contains("\"successfullyReprocessedMailCount\":5")
                .contains("\"failedReprocessedMailCount\":0");
            assertThat(webAdmin.get("/tasks?status=completed")).as("listed under /tasks").contains(taskId);

            assertThat(awaitFound(imap, "BODY " + token, 5)).as("found again after the reindex").hasSize(5);
        }
    }

    private java.util.SortedSet<Long> awaitFound(ImapFolderSession imap, String criteria, int expected) throws Exception {
        long deadline = System.nanoTime() + FINDABLE_WITHIN.toNanos();
        java.util.SortedSet<Long> found = java.util.Collections.emptySortedSet();
        while (System.nanoTime() < deadline) {
            try {
                found = imap.uidSearch(criteria);
                if (found.size() == expected) {
                    return found;
                }
            } catch (Exception searchNotBackYet) {
                // OpenSearch still starting: SEARCH answers NO; keep polling.
            }
            Thread.sleep(2000);
        }
        return found;
    }

    private String healthOfMailboxNode() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(cluster.webadmin().resolve("/healthcheck")).timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("a degraded search index must not make the node unhealthy: " + response.body())
            .isEqualTo(200);
        return response.body();
    }

    private HttpResponse<String> openSearch(String method, String path, String body) throws Exception {
        URI uri = cluster.opensearch().resolve(path);
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri)
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    private static String field(String json, String name) {
        Matcher matcher = Pattern.compile("\"" + name + "\":\"([^\"]+)\"").matcher(json);
        assertThat(matcher.find()).as(name + " in " + json).isTrue();
        return matcher.group(1);
    }
}
